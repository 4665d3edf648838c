"""A live migration while it runs: the server shows MIGRATING, ``servers/{id}/migrations``
lists and shows it with its progress (Nova's response schema), ``force_complete`` ends it
at once, ``DELETE`` aborts it (the server stays on its source, the migration
``cancelled``). Nova's refusals word for word, and the route windows (2.22-2.24).

On the simulated cloud the migration waits on the manual clock (and a failing stage
fails it); on the QEMU backend it is a real one between the two hosts' QEMUs, slowed down
with ``[qemu] live_migration_bandwidth`` (Nova's libvirt option) so that it is seen
running: the free guest's memory at 1 MiB/s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
import tomli_w

from conformance.cli import openstack_json, run_openstack
from conformance.conftest import dedicated_emulator
from conformance.manual_cloud import ManualCloud
from conformance.polling import TIMEOUT
from emulator.qemu import GUEST_IMAGE_NAME

#: The free guest's console line once it has booted (QEMU backend).
GUEST_READY = "GUEST-READY"

pytestmark = pytest.mark.emulator_only
SIMULATED_ONLY = pytest.mark.simulated_only(reason="the simulated cloud's stages and clock")

SPAWN, LIVE = 10.0, 20.0
CONFIG = tomli_w.dumps({"simulated": {
    "progression": "manual", "seed": 1,
    "stages": {"spawn": {"delay": SPAWN, "jitter": 0.0},
               "live_migrate": {"delay": LIVE, "jitter": 0.0},
               "destroy": {"delay": 1.0, "jitter": 0.0}},
    "zones": [{"name": "nova", "hosts": 2}]},
    "qemu": {"hosts": 2, "live_migration_bandwidth": 1}})

#: Nova's ``_migration_response`` (server_migrations.py) at 2.80: the progress is at least
#: 1 or null.
_BYTES = {"type": ["integer", "null"], "minimum": 1}
MIGRATION_V280 = {
    "type": "object",
    "properties": {
        "created_at": {"type": "string"}, "dest_compute": {"type": ["string", "null"]},
        "dest_host": {"type": ["string", "null"]}, "dest_node": {"type": ["string", "null"]},
        **{f"{kind}_{part}_bytes": _BYTES for kind in ("disk", "memory")
           for part in ("processed", "remaining", "total")},
        "id": {"type": "integer"}, "server_uuid": {"type": "string"},
        "source_compute": {"type": ["string", "null"]},
        "source_node": {"type": ["string", "null"]}, "status": {"type": "string"},
        "updated_at": {"type": "string"}, "uuid": {"type": "string"},
        "project_id": {"type": "string"}, "user_id": {"type": "string"},
    },
    "additionalProperties": False,
}
MIGRATION_V280["required"] = sorted(MIGRATION_V280["properties"])  # type: ignore[arg-type]


class Cloud(ManualCloud):
    def image_id(self) -> str:
        """On QEMU the free guest (a real kernel whose memory takes a while to copy)."""
        images = self.member.request("GET", f"{self.member.endpoint('image')}/v2/images")
        found = [i["id"] for i in images.json()["images"] if i["name"] == GUEST_IMAGE_NAME]
        return str(found[0]) if found and not self.manual else super().image_id()

    def running(self, server_id: str | None = None) -> tuple[str, str]:
        """A server of the member's (``server_id``, else a new one), ACTIVE, then
        live-migrating (its migration listed as running); its id and source host."""
        sid = server_id or self.ready()
        source = self.host(sid)
        self.migrate_live(sid)
        server = self.show(sid)
        assert (server["status"], server["OS-EXT-STS:task_state"]) == ("MIGRATING",
                                                                       "migrating")
        deadline = time.monotonic() + TIMEOUT
        while not self.listed(sid):  # accepted, until the scheduler has picked a host
            assert time.monotonic() < deadline, "the live migration never ran"
            time.sleep(0.05)
        return sid, source

    def ready(self) -> str:
        """A new server of the member's, ACTIVE and (on QEMU) its guest booted."""
        sid = self.boot("lm")
        if self.manual:
            self.advance(SPAWN)
        else:
            self.wait_console(sid, GUEST_READY)
        return sid

    def migrate_live(self, server_id: str) -> None:
        response = self.act(server_id, {"os-migrateLive": {"host": None,
                                                           "block_migration": "auto"}},
                            session=self.admin, version="2.25")
        assert response.status_code == 202, response.text

    def wait_console(self, server_id: str, marker: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while marker not in (self.act(server_id, {"os-getConsoleOutput": {}}).json()
                             .get("output") or ""):
            assert time.monotonic() < deadline, f"{server_id} never showed {marker}"
            time.sleep(0.2)

    def host(self, server_id: str) -> str:
        return str(self.show(server_id, self.admin)["OS-EXT-SRV-ATTR:host"])

    def listed(self, server_id: str, version: str = "2.80") -> list[dict[str, Any]]:
        response = self.admin.compute("GET", f"/servers/{server_id}/migrations",
                                      version=version)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["migrations"]
        return found

    def migration_status(self, server_id: str) -> str:
        response = self.admin.compute("GET", "/os-migrations",
                                      params={"instance_uuid": server_id})
        return str(response.json()["migrations"][-1]["status"])


@pytest.fixture(scope="module")
def cloud(http: httpx.Client, target: Any) -> Iterator[Cloud]:
    with dedicated_emulator(target, CONFIG) as process:
        yield Cloud(process, http)


@pytest.fixture
def fresh(cloud: Cloud) -> Cloud:
    cloud.reset()
    return cloud


def test_a_running_live_migration_is_listed_with_its_progress(fresh: Cloud) -> None:
    sid, source = fresh.running()
    (migration,) = fresh.listed(sid)
    jsonschema.validate(migration, MIGRATION_V280)
    assert (migration["status"], migration["source_compute"]) == ("running", source)
    assert migration["dest_compute"] not in (None, source)
    if fresh.manual:
        assert migration["memory_total_bytes"] == 512 * 2**20  # flavor 1: 512 MiB
        assert migration["memory_processed_bytes"] is None  # nothing copied yet
        fresh.advance(LIVE / 2)
        (halfway,) = fresh.listed(sid)
        assert halfway["memory_processed_bytes"] == halfway["memory_remaining_bytes"]
    else:  # QEMU's own figures: its RAM (flavor 1's 512 MiB and a little more)
        deadline = time.monotonic() + TIMEOUT
        while not (halfway := fresh.listed(sid)[0])["memory_processed_bytes"]:
            assert time.monotonic() < deadline, halfway
            time.sleep(0.1)
        assert halfway["memory_total_bytes"] >= 512 * 2**20
        assert 0 < halfway["memory_processed_bytes"] < halfway["memory_total_bytes"]
    shown = fresh.admin.compute("GET", f"/servers/{sid}/migrations/{migration['id']}",
                                version="2.23")
    assert shown.status_code == 200, shown.text
    assert set(shown.json()["migration"]) == set(MIGRATION_V280["properties"]) - {
        "uuid", "project_id", "user_id"}
    # os-migrations links to it while it runs
    listed = fresh.admin.compute("GET", "/os-migrations", version="2.23",
                                 params={"instance_uuid": sid})
    (entry,) = listed.json()["migrations"]
    assert entry["links"][0]["href"].endswith(f"/servers/{sid}/migrations/{migration['id']}")
    # it ends on its own: the rest of the stage, or (QEMU) a force to spare the wait
    if fresh.manual:
        fresh.advance(LIVE / 2)
    else:
        assert fresh.admin.compute("POST", f"/servers/{sid}/migrations/{migration['id']}"
                                   "/action", json={"force_complete": None},
                                   version="2.22").status_code == 202
    assert fresh.settled(sid)["status"] == "ACTIVE"
    assert fresh.host(sid) == migration["dest_compute"]
    assert fresh.listed(sid) == []
    gone = fresh.admin.compute("GET", f"/servers/{sid}/migrations/{migration['id']}",
                               version="2.23")
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["message"] == (
        f"Live migration {migration['id']} for server {sid} is not in progress.")


def test_force_complete_ends_it_now(fresh: Cloud) -> None:
    sid, source = fresh.running()
    (migration,) = fresh.listed(sid)
    url = f"/servers/{sid}/migrations/{migration['id']}/action"
    response = fresh.admin.compute("POST", url, json={"force_complete": None}, version="2.22")
    assert response.status_code == 202, response.text
    assert fresh.settled(sid)["status"] == "ACTIVE"
    assert fresh.host(sid) != source
    assert fresh.migration_status(sid) == "completed"
    actions = fresh.admin.compute("GET", f"/servers/{sid}/os-instance-actions")
    assert actions.json()["instanceActions"][0]["action"] == "live_migration_force_complete"


def test_abort_leaves_the_server_on_its_source(fresh: Cloud) -> None:
    sid, source = fresh.running()
    (migration,) = fresh.listed(sid)
    url = f"/servers/{sid}/migrations/{migration['id']}"
    response = fresh.admin.compute("DELETE", url, version="2.24")
    assert response.status_code == 202, response.text
    server = fresh.settled(sid)
    assert (server["status"], fresh.host(sid)) == ("ACTIVE", source)
    assert fresh.migration_status(sid) == "cancelled"
    assert "fault" not in fresh.show(sid, fresh.admin)
    again = fresh.admin.compute("DELETE", url, version="2.24")
    assert again.status_code == 409, again.text  # no longer migrating


def test_an_abort_as_the_migration_begins_still_cancels_it(fresh: Cloud) -> None:
    """The migration is ``running`` as soon as its host is claimed, a moment before the
    copy begins: an abort sent then waits for the copy and cancels it."""
    sid = fresh.ready()
    source = fresh.host(sid)
    fresh.migrate_live(sid)
    listed = fresh.admin.compute("GET", "/os-migrations", params={"instance_uuid": sid})
    (migration,) = listed.json()["migrations"]
    url = f"/servers/{sid}/migrations/{migration['id']}"
    deadline = time.monotonic() + TIMEOUT
    while (answer := fresh.admin.compute("DELETE", url, version="2.24")).status_code == 400:
        assert "Cannot abort live migration" in answer.text, answer.text  # not running yet
        assert time.monotonic() < deadline, "the live migration never ran"
    assert answer.status_code == 202, answer.text
    server = fresh.settled(sid)
    assert (server["status"], fresh.host(sid)) == ("ACTIVE", source)
    assert fresh.migration_status(sid) == "cancelled"


@SIMULATED_ONLY
def test_a_failing_stage_fails_the_migration(fresh: Cloud) -> None:
    response = fresh.control("PUT", "/stages/live_migrate", json={"fails": True})
    assert response.status_code == 200, response.text
    sid, source = fresh.running()
    fresh.advance(LIVE)
    assert (fresh.show(sid)["status"], fresh.host(sid)) == ("ACTIVE", source)
    assert fresh.migration_status(sid) == "failed"


def test_refusals_and_windows(fresh: Cloud) -> None:
    sid, _ = fresh.running()
    (migration,) = fresh.listed(sid)
    one = f"/servers/{sid}/migrations/{migration['id']}"
    for method, path, version in (("GET", f"/servers/{sid}/migrations", "2.22"),
                                  ("GET", one, "2.22"), ("DELETE", one, "2.23"),
                                  ("POST", one + "/action", "2.21")):
        early = fresh.admin.compute(method, path, version=version,
                                    json={"force_complete": None} if method == "POST"
                                    else None)
        assert early.status_code == 404, (method, path, version, early.text)
    missing = fresh.admin.compute("POST", f"/servers/{sid}/migrations/9999/action",
                                  json={"force_complete": None}, version="2.22")
    assert missing.status_code == 400
    assert missing.json()["badRequest"]["message"] == (
        f"Migration 9999 not found for instance {sid}")
    # the destination's compute service cannot go while the move to it runs
    services = fresh.admin.compute("GET", "/os-services", version="2.53", params={
        "host": migration["dest_compute"], "binary": "nova-compute"}).json()["services"]
    busy = fresh.admin.compute("DELETE", f"/os-services/{services[0]['id']}", version="2.53")
    assert busy.status_code == 409, busy.text
    assert busy.json()["conflictingRequest"]["message"] == (
        "Unable to delete compute service that has in-progress migrations. Complete the "
        "migrations or delete the instances first.")
    member = fresh.member.compute("GET", f"/servers/{sid}/migrations", version="2.23")
    assert member.status_code == 403
    bad_body = fresh.admin.compute("POST", one + "/action", json={"force_complete": 1},
                                   version="2.22")
    assert bad_body.status_code == 400
    if fresh.manual:
        fresh.advance(LIVE)
    else:
        assert fresh.admin.compute("DELETE", one, version="2.24").status_code == 202
    fresh.settled(sid)
    stopped = fresh.admin.compute("DELETE", one, version="2.24")
    assert stopped.status_code == 409


@SIMULATED_ONLY
def test_a_live_migration_cut_short_by_a_restart_ends_in_error(
        target: Any, durable_state: str, http: httpx.Client) -> None:
    """A restart in the middle of a live migration: the server is back on its source with
    no task, its migration ``error`` (Nova's compute errors out what its restart cut
    short); a resize waiting for confirm keeps its ``finished`` migration."""
    with dedicated_emulator(target, CONFIG, state=durable_state) as process:
        cloud = Cloud(process, http)
        resized = cloud.boot("rs")
        cloud.advance(SPAWN)
        assert cloud.act(resized, {"migrate": None}, session=cloud.admin).status_code == 202
        cloud.advance(30.0)
        assert cloud.show(resized)["status"] == "VERIFY_RESIZE"
        sid, source = cloud.running()
        process.restart()
        cloud = Cloud(process, http)
        server = cloud.show(sid, cloud.admin)
        assert (server["status"], server["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
        assert server["OS-EXT-SRV-ATTR:host"] == source
        assert cloud.migration_status(sid) == "error"
        assert cloud.migration_status(resized) == "finished"
        assert cloud.act(resized, {"confirmResize": None},
                         session=cloud.admin).status_code == 204


def test_cli_migration_show_force_complete_and_abort(fresh: Cloud) -> None:
    """``server migration show``, ``force complete`` and ``abort`` as an operator types
    them, on running live migrations."""
    account = fresh.admin.account
    sid, source = fresh.running()
    (migration,) = fresh.listed(sid)
    mid = str(migration["id"])
    # NOTE: by uuid (2.59): python-openstackclient 10.5 hands openstacksdk 4.22 a numeric
    # id and the server the wrong way round (GET servers/<id>/migrations/<server>).
    shown = openstack_json(account, "--os-compute-api-version", "2.59", "server",
                           "migration", "show", sid, migration["uuid"])
    assert (shown["ID"], shown["Status"], shown["Source Compute"]) == (
        migration["id"], "running", source)
    done = run_openstack(account, "--os-compute-api-version", "2.24", "server",
                         "migration", "abort", sid, mid)
    assert done.returncode == 0, done.stderr
    assert fresh.settled(sid)["status"] == "ACTIVE"
    assert (fresh.host(sid), fresh.migration_status(sid)) == (source, "cancelled")
    fresh.running(sid)  # the same server again
    (second,) = fresh.listed(sid)
    done = run_openstack(account, "--os-compute-api-version", "2.22", "server",
                         "migration", "force", "complete", sid, str(second["id"]))
    assert done.returncode == 0, done.stderr
    fresh.settled(sid)
    assert (fresh.host(sid), fresh.migration_status(sid)) == (second["dest_compute"],
                                                              "completed")
