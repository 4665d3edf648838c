"""Moving servers on every backend: cold migration (``migrate``, 2.56 ``host``) with
confirm and revert, live migration (``os-migrateLive``, a running and a paused server),
evacuation from a host whose compute service is down (2.95: ends stopped), and the
migration records ``os-migrations`` lists (Tempest's schemas at 2.1, 2.23, 2.59, 2.80;
2.59 paging). Nova's refusals word for word. On the QEMU backend the suite's emulator has
two hosts (``[qemu] hosts``): every move here is a real one between qemu processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tempest.lib.services.compute.migrations_client import MigrationsClient

from backends.qemu.process import InstancePaths
from backends.qemu.qmp import Monitor
from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.conftest import Target
from conformance.polling import settle
from conformance.schemas import for_version, validate
from conformance.test_server_actions_more import console_server
from conformance.test_servers import Servers, image_id  # noqa: F401

pytestmark = pytest.mark.emulator_only


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:  # noqa: F811
    made = Servers(admin, image_id)
    yield made
    made.remove()


def act(session: ApiSession, server_id: str, body: Any,
        version: str | None = None) -> httpx.Response:
    return session.compute("POST", f"/servers/{server_id}/action", json=body,
                           version=version)


def host_of(admin: ApiSession, server_id: str) -> str:
    server = admin.compute("GET", f"/servers/{server_id}").json()["server"]
    return str(server["OS-EXT-SRV-ATTR:host"])


def migrations_of(admin: ApiSession, server_id: str,
                  version: str = "2.80") -> list[dict[str, Any]]:
    response = admin.compute("GET", "/os-migrations", version=version,
                             params={"instance_uuid": server_id})
    assert response.status_code == 200, response.text
    validate(response, for_version(MigrationsClient, version).list_migrations)
    found: list[dict[str, Any]] = response.json()["migrations"]
    return found


def fault(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    (name,) = body
    return str(body[name]["message"])


def other_hosts(admin: ApiSession, host: str) -> list[str]:
    services = admin.compute("GET", "/os-services", params={"binary": "nova-compute"})
    return sorted(s["host"] for s in services.json()["services"]
                  if s["host"] != host and s["state"] == "up" and s["status"] == "enabled")


# -- cold migration -------------------------------------------------------------------------


def test_cold_migration_moves_then_confirm_keeps_it_there(servers: Servers,
                                                          admin: ApiSession) -> None:
    server = servers.boot(admin)
    source = host_of(admin, server["id"])
    response = act(admin, server["id"], {"migrate": None})
    assert response.status_code == 202, response.text
    assert response.content == b""
    settle(admin, server["id"], "VERIFY_RESIZE")
    destination = host_of(admin, server["id"])
    assert destination != source
    (migration,) = migrations_of(admin, server["id"])
    assert (migration["status"], migration["migration_type"]) == ("finished", "migration")
    assert (migration["source_compute"], migration["dest_compute"]) == (source, destination)
    assert migration["old_instance_type_id"] == migration["new_instance_type_id"]
    assert act(admin, server["id"], {"confirmResize": None}).status_code == 204
    settle(admin, server["id"], "ACTIVE")
    assert host_of(admin, server["id"]) == destination
    assert migrations_of(admin, server["id"])[0]["status"] == "confirmed"
    actions = admin.compute("GET", f"/servers/{server['id']}/os-instance-actions")
    assert [a["action"] for a in actions.json()["instanceActions"]][:2] == [
        "confirmResize", "migrate"]


def test_cold_migration_to_a_named_host_then_revert(servers: Servers,
                                                     admin: ApiSession) -> None:
    server = servers.boot(admin)
    source = host_of(admin, server["id"])
    target = other_hosts(admin, source)[-1]
    response = act(admin, server["id"], {"migrate": {"host": target}}, version="2.56")
    assert response.status_code == 202, response.text
    settle(admin, server["id"], "VERIFY_RESIZE")
    assert host_of(admin, server["id"]) == target
    assert act(admin, server["id"], {"revertResize": None}).status_code == 202
    settle(admin, server["id"], "ACTIVE")
    assert host_of(admin, server["id"]) == source
    assert migrations_of(admin, server["id"])[0]["status"] == "reverted"


def test_cold_migration_refusals(servers: Servers, admin: ApiSession,
                                 member: ApiSession) -> None:
    server = servers.boot(admin)
    source = host_of(admin, server["id"])
    same = act(admin, server["id"], {"migrate": {"host": source}}, version="2.56")
    assert fault(same, 400) == "Cannot migrate to the host where the server exists."
    unknown = act(admin, server["id"], {"migrate": {"host": "no-such-host"}}, version="2.56")
    assert fault(unknown, 400) == "Compute host no-such-host could not be found."
    mine = servers.boot(member)
    assert fault(act(member, mine["id"], {"migrate": None}), 403) == (
        "Policy doesn't allow os_compute_api:os-migrate-server:migrate to be performed.")
    assert act(admin, server["id"], {"os-stop": None}).status_code == 202
    settle(admin, server["id"], "SHUTOFF")
    assert act(admin, server["id"], {"pause": None}).status_code == 409
    assert migrations_of(admin, server["id"]) == []


@pytest.mark.parametrize("body", [{}, {"host": "no-such-host"}], ids=["empty", "host"])
def test_cold_migration_before_2_56_takes_any_body(servers: Servers, admin: ApiSession,
                                                   body: dict[str, Any]) -> None:
    """Nova validates ``migrate`` only from 2.56: before, Tempest's ``{"migrate": {}}`` is
    accepted and a host is ignored (the scheduler picks one)."""
    server = servers.boot(admin)
    source = host_of(admin, server["id"])
    response = act(admin, server["id"], {"migrate": body}, version="2.55")
    assert response.status_code == 202, response.text
    settle(admin, server["id"], "VERIFY_RESIZE")
    assert host_of(admin, server["id"]) not in (source, "no-such-host")


# -- live migration -------------------------------------------------------------------------


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_live_migration_moves_the_guest_and_keeps_its_state(
        servers: Servers, admin: ApiSession, paused: bool) -> None:
    server = servers.boot(admin)
    source = host_of(admin, server["id"])
    if paused:
        assert act(admin, server["id"], {"pause": None}).status_code == 202
        settle(admin, server["id"], "PAUSED")
    response = act(admin, server["id"], {"os-migrateLive": {
        "host": None, "block_migration": "auto"}}, version="2.25")
    assert response.status_code == 202, response.text
    settle(admin, server["id"], "PAUSED" if paused else "ACTIVE")
    destination = host_of(admin, server["id"])
    assert destination != source
    (migration,) = migrations_of(admin, server["id"])
    assert (migration["status"], migration["migration_type"]) == (
        "completed", "live-migration")
    assert (migration["source_compute"], migration["dest_compute"]) == (source, destination)
    # A finished live migration is not "in progress": no links, none listed for the server.
    assert "links" not in migration
    listed = admin.compute("GET", f"/servers/{server['id']}/migrations", version="2.23")
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"migrations": []}
    actions = admin.compute("GET", f"/servers/{server['id']}/os-instance-actions")
    assert actions.json()["instanceActions"][0]["action"] == "live-migration"


def test_live_migration_to_a_named_host_forced(servers: Servers, admin: ApiSession) -> None:
    server = servers.boot(admin)
    target = other_hosts(admin, host_of(admin, server["id"]))[0]
    response = act(admin, server["id"], {"os-migrateLive": {
        "host": target, "block_migration": False, "force": True}}, version="2.30")
    assert response.status_code == 202, response.text
    settle(admin, server["id"], "ACTIVE")
    assert host_of(admin, server["id"]) == target


def test_live_migration_refusals(servers: Servers, admin: ApiSession) -> None:
    server = servers.boot(admin)
    sid = server["id"]
    forced = act(admin, sid, {"os-migrateLive": {"host": None, "block_migration": "auto",
                                                 "force": True}}, version="2.30")
    assert fault(forced, 400) == "Can't force to a non-provided destination"
    unknown = act(admin, sid, {"os-migrateLive": {"host": "nowhere", "block_migration": False,
                                                  "disk_over_commit": False}})
    assert fault(unknown, 400) == "Compute host nowhere could not be found."
    # 2.68 took force away again; 2.1 needs disk_over_commit.
    assert act(admin, sid, {"os-migrateLive": {"host": None, "block_migration": "auto",
                                               "force": False}},
               version="2.68").status_code == 400
    assert act(admin, sid, {"os-migrateLive": {"host": None, "block_migration": False}}
               ).status_code == 400
    assert act(admin, sid, {"os-stop": None}).status_code == 202
    settle(admin, sid, "SHUTOFF")
    stopped = act(admin, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}},
                  version="2.25")
    assert fault(stopped, 409) == (
        f"Cannot 'os-migrateLive' instance {sid} while it is in vm_state stopped")


# -- evacuation -----------------------------------------------------------------------------


@pytest.fixture
def host_down(admin: ApiSession, target: Target) -> Iterator[Any]:
    """Takes a host's compute service down through the control plane (as a failed
    hypervisor: its heartbeat stops); every host is up again afterwards."""
    assert target.emulator is not None
    control = f"{target.emulator.url}/_emulator/hosts"
    downed: list[str] = []

    def down(host: str) -> None:
        response = admin.request("PUT", f"{control}/{host}", json={"up": False})
        assert response.status_code == 200, response.text
        downed.append(host)

    yield down
    for host in downed:
        admin.request("PUT", f"{control}/{host}", json={"up": True})


def test_evacuate_is_refused_while_the_host_is_up(servers: Servers, admin: ApiSession) -> None:
    server = servers.boot(admin)
    host = host_of(admin, server["id"])
    up = act(admin, server["id"], {"evacuate": {}}, version="2.14")
    assert fault(up, 400) == f"Compute service of {host} is still in use."
    same = act(admin, server["id"], {"evacuate": {"host": host}}, version="2.14")
    assert fault(same, 400) == "The target host can't be the same one."
    unknown = act(admin, server["id"], {"evacuate": {"host": "nowhere"}}, version="2.14")
    assert fault(unknown, 404) == "Compute host nowhere not found."


@pytest.mark.parametrize("version,status", [("2.14", "ACTIVE"), ("2.95", "SHUTOFF")])
def test_evacuate_rebuilds_the_server_on_another_host(
        servers: Servers, admin: ApiSession, host_down: Any, version: str,
        status: str) -> None:
    server = servers.boot(admin)
    source = host_of(admin, server["id"])
    host_down(source)
    services = admin.compute("GET", "/os-services", params={"host": source,
                                                           "binary": "nova-compute"})
    assert services.json()["services"][0]["state"] == "down"
    down = act(admin, server["id"], {"migrate": None})
    assert fault(down, 409) == "Service is unavailable at this time."
    response = act(admin, server["id"], {"evacuate": {}}, version=version)
    assert response.status_code == 200, response.text
    assert response.content == b""
    settle(admin, server["id"], status)
    assert host_of(admin, server["id"]) != source
    (migration,) = migrations_of(admin, server["id"])
    assert (migration["status"], migration["migration_type"]) == ("done", "evacuation")
    assert migration["source_compute"] == source


def test_evacuate_before_2_14_answers_the_password(servers: Servers, admin: ApiSession,
                                                   host_down: Any) -> None:
    server = servers.boot(admin)
    host_down(host_of(admin, server["id"]))
    response = act(admin, server["id"], {"evacuate": {"onSharedStorage": False,
                                                      "adminPass": "s3cret"}})
    assert response.status_code == 200, response.text
    assert response.json() == {"adminPass": "s3cret"}
    settle(admin, server["id"], "ACTIVE")
    shared = act(admin, server["id"], {"evacuate": {"onSharedStorage": True,
                                                    "adminPass": "x"}})
    assert fault(shared, 400) == "admin password can't be changed on existing disk"


# -- os-migrations ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.1", "2.23", "2.59", "2.80"])
def test_os_migrations_matches_tempest_at_each_version(servers: Servers, admin: ApiSession,
                                                       version: str) -> None:
    server = servers.boot(admin)
    assert act(admin, server["id"], {"migrate": None}).status_code == 202
    settle(admin, server["id"], "VERIFY_RESIZE")
    (migration,) = migrations_of(admin, server["id"], version)
    assert ("migration_type" in migration) == (version != "2.1")
    assert ("uuid" in migration) == (version in ("2.59", "2.80"))
    assert ("project_id" in migration) == (version == "2.80")
    if version == "2.80":
        assert migration["project_id"] == admin.project_id
        assert migration["user_id"] == admin.user_id


def test_os_migrations_pages_newest_first(servers: Servers, admin: ApiSession) -> None:
    server = servers.boot(admin)
    for _ in range(2):
        assert act(admin, server["id"], {"migrate": None}).status_code == 202
        settle(admin, server["id"], "VERIFY_RESIZE")
        assert act(admin, server["id"], {"confirmResize": None}).status_code == 204
        settle(admin, server["id"], "ACTIVE")
    first = admin.compute("GET", "/os-migrations", version="2.59",
                          params={"instance_uuid": server["id"], "limit": "1"})
    # NOTE: Tempest's 2.59 schema has no migrations_links (Nova's own has): a full page
    # is checked by hand, the last one against Tempest.
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"migrations", "migrations_links"}
    (newest,) = first.json()["migrations"]
    (link,) = first.json()["migrations_links"]
    assert link["rel"] == "next" and f"marker={newest['uuid']}" in link["href"]
    rest = admin.compute("GET", "/os-migrations", version="2.59",
                         params={"instance_uuid": server["id"], "marker": newest["uuid"]})
    validate(rest, for_version(MigrationsClient, "2.59").list_migrations)
    (older,) = rest.json()["migrations"]
    assert older["id"] < newest["id"]
    assert "migrations_links" not in rest.json()
    bad = admin.compute("GET", "/os-migrations", version="2.59", params={"marker": "nope"})
    assert fault(bad, 400) == "Marker nope could not be found."
    unknown = admin.compute("GET", "/os-migrations", version="2.59", params={"foo": "1"})
    assert unknown.status_code == 400


def test_os_migrations_filters_and_policy(servers: Servers, admin: ApiSession,
                                          member: ApiSession) -> None:
    server = servers.boot(admin)
    source = host_of(admin, server["id"])
    assert act(admin, server["id"], {"migrate": None}).status_code == 202
    settle(admin, server["id"], "VERIFY_RESIZE")
    by_host = admin.compute("GET", "/os-migrations", params={"host": source})
    assert server["id"] in {m["instance_uuid"] for m in by_host.json()["migrations"]}
    by_type = admin.compute("GET", "/os-migrations", version="2.23",
                            params={"migration_type": "live-migration",
                                    "instance_uuid": server["id"]})
    assert by_type.json()["migrations"] == []
    forbidden = member.compute("GET", "/os-migrations")
    assert fault(forbidden, 403) == (
        "Policy doesn't allow os_compute_api:os-migrations:index to be performed.")
    before = admin.compute("GET", "/os-migrations", version="2.66", params={
        "changes-since": "2030-01-01T00:00:00Z", "changes-before": "2020-01-01T00:00:00Z"})
    assert fault(before, 400) == (
        "The value of changes-since must be less than or equal to changes-before.")


def test_a_host_is_not_forced_up_until_its_service_cleans_up_after_evacuations(
        servers: Servers, admin: ApiSession, host_down: Any, target: Target) -> None:
    server = servers.boot(admin)
    source = host_of(admin, server["id"])
    host_down(source)
    assert act(admin, server["id"], {"evacuate": {}}, version="2.14").status_code == 200
    settle(admin, server["id"], "ACTIVE")
    (service,) = admin.compute("GET", "/os-services", version="2.53", params={
        "host": source, "binary": "nova-compute"}).json()["services"]
    refused = admin.compute("PUT", f"/os-services/{service['id']}", version="2.53",
                            json={"forced_down": False})
    assert fault(refused, 400) == (
        f"Unable to force up host {source} as `done` evacuation migration records remain "
        "associated with the host. Ensure the compute service has been restarted, allowing "
        "these records to move to `completed` before retrying this request.")
    # The service comes back (the control plane's switch): it cleans up after the move.
    assert target.emulator is not None
    back = admin.request("PUT", f"{target.emulator.url}/_emulator/hosts/{source}",
                         json={"up": True})
    assert back.status_code == 200, back.text
    assert migrations_of(admin, server["id"])[0]["status"] == "completed"
    allowed = admin.compute("PUT", f"/os-services/{service['id']}", version="2.53",
                            json={"forced_down": False})
    assert allowed.status_code == 200, allowed.text


# -- the guest across a live migration --------------------------------------------------------


def qmp_status(run_dir: Path, host: str, server_id: str) -> str | None:
    """``query-status`` on the QEMU of ``server_id`` on ``host`` (its observer monitor);
    None when no QEMU of it runs there."""
    sock = InstancePaths(run_dir / host / server_id).observer_sock
    if not sock.exists():
        return None

    async def ask() -> str:
        monitor = Monitor(sock, "observer")
        async with monitor.session(timeout=5.0):
            return await monitor.status()

    return asyncio.run(ask())


@pytest.mark.emulator_only  # the emulator's images, and on qemu its processes
def test_a_live_migrated_guest_runs_on_without_a_reboot(
        servers: Servers, admin: ApiSession, target: Target) -> None:
    """The guest keeps running across the move: its uptime goes on and its console shows
    one boot; on the QEMU backend its QEMU runs on the destination host (``query-status``
    running there) and none is left on the source."""
    server = console_server(servers, admin, str(target.backend))
    sid = server["id"]
    source = host_of(admin, sid)
    before = admin.compute("GET", f"/servers/{sid}/diagnostics", version="2.48").json()
    console = act(admin, sid, {"os-getConsoleOutput": {}}).json()["output"]
    response = act(admin, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}},
                   version="2.25")
    assert response.status_code == 202, response.text
    settle(admin, sid, "ACTIVE")
    destination = host_of(admin, sid)
    assert destination != source
    after = admin.compute("GET", f"/servers/{sid}/diagnostics", version="2.48").json()
    assert after["state"] == "running"
    assert after["uptime"] >= before["uptime"]
    output = act(admin, sid, {"os-getConsoleOutput": {}}).json()["output"]
    assert output.startswith(console.rstrip("\n"))
    if target.backend == "qemu":
        assert output.count("GUEST-BANNER") == 1
        assert target.emulator is not None and target.emulator.run_dir is not None
        run_dir = target.emulator.run_dir
        assert qmp_status(run_dir, destination, sid) == "running"
        assert qmp_status(run_dir, source, sid) is None
        (process,) = [p for p in target.emulator.qemu_processes() if sid in p]
        assert f"{run_dir / destination / sid}/" in process


# -- the openstack CLI ------------------------------------------------------------------------


def test_cli_migrate_confirm_live_migrate_and_list(servers: Servers, admin: ApiSession) -> None:
    """``server migrate`` + ``server resize confirm``, ``server migrate --live-migration
    --host`` (2.30) and ``server migration list``, as an operator types them."""
    account = admin.account
    server = servers.boot(admin)
    sid, source = server["id"], host_of(admin, server["id"])
    done = run_openstack(account, "server", "migrate", "--wait", sid)
    assert done.returncode == 0, done.stderr
    assert admin.compute("GET", f"/servers/{sid}").json()["server"]["status"] == \
        "VERIFY_RESIZE"
    moved = host_of(admin, sid)
    assert moved != source
    done = run_openstack(account, "server", "resize", "confirm", sid)
    assert done.returncode == 0, done.stderr
    settle(admin, sid, "ACTIVE")
    target = other_hosts(admin, moved)[0]
    done = run_openstack(account, "--os-compute-api-version", "2.30", "server", "migrate",
                         "--live-migration", "--host", target, "--wait", sid)
    assert done.returncode == 0, done.stderr
    assert host_of(admin, sid) == target
    listed = openstack_json(account, "--os-compute-api-version", "2.80", "server",
                            "migration", "list", "--server", sid)
    assert sorted((m["Type"], m["Status"]) for m in listed) == [
        ("live-migration", "completed"), ("migration", "confirmed")]


def test_cli_evacuate(servers: Servers, admin: ApiSession, host_down: Any) -> None:
    server = servers.boot(admin)
    sid, source = server["id"], host_of(admin, server["id"])
    refused = run_openstack(admin.account, "server", "evacuate", sid)
    assert refused.returncode != 0
    assert f"Compute service of {source} is still in use." in refused.stderr
    host_down(source)
    # NOTE: not --wait: python-openstackclient 10.5 waits for "ACTIVE" among lower-cased
    # statuses, which never comes (against Nova as well).
    shown = openstack_json(admin.account, "--os-compute-api-version", "2.29", "server",
                           "evacuate", sid)
    assert shown["id"] == sid
    settle(admin, sid, "ACTIVE")
    assert host_of(admin, sid) != source
