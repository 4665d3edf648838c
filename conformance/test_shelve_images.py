"""The image a shelve makes, and ``shelved_offload_time``.

Shelving a server booted from an image makes Nova's snapshot image ``<name>-shelved``
(``image_type`` snapshot, owned by the caller's project); an unshelve that succeeds deletes
it, and so does deleting the shelved server; an offloaded server whose image is gone
cannot be unshelved. With ``shelved_offload_time`` > 0 a shelved server keeps its host
until that time has passed on the cloud's clock (Nova's ``_poll_shelved_instances``), also
across a restart; < 0 never offloads it. The clock's tests need the simulated cloud.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w

from conformance.client import ApiSession
from conformance.conftest import dedicated_emulator, seeded_accounts
from conformance.manual_cloud import ManualCloud
from conformance.polling import settle
from conformance.test_servers import Servers, gone, image_id  # noqa: F401
from conformance.volume_client import cinder

NEEDS_CLOCK = pytest.mark.simulated_only(reason="needs the simulated cloud's manual clock")


def act(session: ApiSession, server_id: str, body: dict[str, Any]) -> httpx.Response:
    return session.compute("POST", f"/servers/{server_id}/action", json=body)


def glance(session: ApiSession, method: str, path: str) -> httpx.Response:
    return session.request(method, f"{session.endpoint('image')}/v2{path}")


def shelved_images(session: ApiSession, server_name: str) -> list[dict[str, Any]]:
    listed = glance(session, "GET", f"/images?name={server_name}-shelved")
    assert listed.status_code == 200, listed.text
    images: list[dict[str, Any]] = listed.json()["images"]
    return images


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:  # noqa: F811
    created = Servers(admin, image_id)
    yield created
    created.remove()


def shelved(servers: Servers, member: ApiSession,
            shelver: ApiSession | None = None) -> tuple[str, dict[str, Any]]:
    """A member's server shelved (by ``shelver``, else the member) and offloaded; its id
    and the one image named after it."""
    server = servers.boot(member)
    response = act(shelver or member, server["id"], {"shelve": None})
    assert response.status_code == 202, response.text
    settle(member, server["id"], "SHELVED_OFFLOADED")
    images = shelved_images(shelver or member, server["name"])
    assert len(images) == 1, images
    return server["id"], images[0]


# -- the image ----------------------------------------------------------------------------


def test_shelve_makes_a_snapshot_image_and_unshelve_deletes_it(
        servers: Servers, member: ApiSession, image_id: str) -> None:  # noqa: F811
    sid, image = shelved(servers, member)
    assert image["status"] == "active"
    assert (image["owner"], image["visibility"]) == (member.project_id, "private")
    # Nova's create_image: what a createImage of the server would carry.
    assert (image["image_type"], image["instance_uuid"], image["user_id"]) == \
        ("snapshot", sid, member.user_id)
    assert image["base_image_ref"] == image_id
    assert image["size"] and image["disk_format"] and image["checksum"]
    # Made without an import: no task worked on it.
    tasks = glance(member, "GET", f"/images/{image['id']}/tasks")
    assert (tasks.status_code, tasks.json()) == (200, {"tasks": []})

    assert act(member, sid, {"unshelve": None}).status_code == 202
    settle(member, sid, "ACTIVE")
    assert glance(member, "GET", f"/images/{image['id']}").status_code == 404


def test_deleting_a_shelved_server_deletes_its_image(servers: Servers,
                                                     member: ApiSession) -> None:
    sid, image = shelved(servers, member)
    assert member.compute("DELETE", f"/servers/{sid}").status_code == 204
    gone(member, sid)
    assert glance(member, "GET", f"/images/{image['id']}").status_code == 404


def test_an_offloaded_server_without_its_image_cannot_be_unshelved(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    sid, image = shelved(servers, member)
    assert glance(member, "DELETE", f"/images/{image['id']}").status_code == 204
    response = act(member, sid, {"unshelve": None})
    assert response.status_code == 202, response.text
    server = settle(member, sid, "ERROR")
    assert server["fault"]["message"] == \
        f"Unshelve attempted but the image {image['id']} cannot be found."
    request_id = response.headers["x-openstack-request-id"]
    events = admin.compute("GET", f"/servers/{sid}/os-instance-actions/{request_id}",
                           version="2.51").json()["instanceAction"]["events"]
    assert ("get_image_info", "Error") in [(e["event"], e["result"]) for e in events]


def test_an_admins_shelve_shares_the_image_with_the_servers_project(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    sid, image = shelved(servers, member, shelver=admin)
    # Nova's: the caller's image, shared with the server's owner.
    assert (image["owner"], image["visibility"]) == (admin.project_id, "shared")
    members = glance(admin, "GET", f"/images/{image['id']}/members").json()["members"]
    assert [m["member_id"] for m in members] == [member.project_id]
    # The member may boot from it (unshelve) but not delete it: Nova only logs that.
    assert act(member, sid, {"unshelve": None}).status_code == 202
    settle(member, sid, "ACTIVE")
    assert glance(admin, "GET", f"/images/{image['id']}").status_code == 200
    assert glance(admin, "DELETE", f"/images/{image['id']}").status_code == 204


@pytest.mark.emulator_only
def test_a_volume_backed_server_gets_no_image_and_is_offloaded_at_once(
        http: httpx.Client, target: Any) -> None:
    never = tomli_w.dumps({"compute": {"shelved_offload_time": -1}})
    with dedicated_emulator(target, never) as process:
        member = ApiSession(seeded_accounts(process.url)["member"], http)
        name = f"vb-{uuid.uuid4().hex[:8]}"
        volume = cinder(member, "POST", "/volumes", json={"volume": {"size": 1}})
        assert volume.status_code == 202, volume.text
        response = member.compute("POST", "/servers", json={"server": {
            "name": name, "flavorRef": "1", "block_device_mapping_v2": [{
                "boot_index": 0, "uuid": volume.json()["volume"]["id"],
                "source_type": "volume", "destination_type": "volume"}]}})
        assert response.status_code == 202, response.text
        sid = response.json()["server"]["id"]
        settle(member, sid, "ACTIVE")
        response = act(member, sid, {"shelve": None})
        assert response.status_code == 202, response.text
        # Nova's shelve_offload_instance straight away, whatever shelved_offload_time says.
        settle(member, sid, "SHELVED_OFFLOADED")
        assert shelved_images(member, name) == []
        events = member.compute(
            "GET", f"/servers/{sid}/os-instance-actions/"
            f"{response.headers['x-openstack-request-id']}",
            version="2.51").json()["instanceAction"]["events"]
        assert [e["event"] for e in events] == ["compute_shelve_offload_instance"]
        assert act(member, sid, {"unshelve": None}).status_code == 202
        settle(member, sid, "ACTIVE")


# -- shelved_offload_time on the manual clock ----------------------------------------------

SPAWN, SHELVE, SNAPSHOT, OFFLOAD, UNSHELVE = 10.0, 10.0, 6.0, 2.0, 8.0
#: A shelved server keeps its host this long.
KEEP = 100


def clock_config(offload_time: int) -> str:
    stages = {"spawn": SPAWN, "shelve": SHELVE, "snapshot": SNAPSHOT,
              "shelve_offload": OFFLOAD, "unshelve": UNSHELVE, "destroy": 1.0}
    return tomli_w.dumps({
        "compute": {"shelved_offload_time": offload_time},
        "simulated": {"progression": "manual", "seed": 1,
                      "stages": {verb: {"delay": delay, "jitter": 0.0}
                                 for verb, delay in stages.items()},
                      "zones": [{"name": "nova", "hosts": 1}]}})


class Cloud(ManualCloud):
    def shelved(self) -> tuple[str, str]:
        """A new server of the member's, shelved (not offloaded); its id and host."""
        sid = self.boot("sh")
        self.advance(SPAWN)
        response = self.act(sid, {"shelve": None})
        assert response.status_code == 202, response.text
        self.advance(SHELVE + SNAPSHOT)
        assert self.states(sid) == ("SHELVED", None)
        host = self.show(sid, self.admin)["OS-EXT-SRV-ATTR:host"]
        assert host
        return sid, str(host)

    def states(self, server_id: str) -> tuple[str, str | None]:
        server = self.show(server_id)
        return server["status"], server["OS-EXT-STS:task_state"]


@pytest.fixture(scope="module")
def keeping(http: httpx.Client, target: Any) -> Iterator[Cloud]:
    with dedicated_emulator(target, clock_config(KEEP)) as process:
        yield Cloud(process, http)


@NEEDS_CLOCK
def test_a_shelved_server_is_offloaded_once_its_time_has_passed(keeping: Cloud) -> None:
    cloud = keeping.reset()
    sid, _host = cloud.shelved()
    name = cloud.show(sid)["name"]
    [image] = shelved_images(cloud.member, name)
    cloud.advance(KEEP - 1)
    assert cloud.states(sid) == ("SHELVED", None)
    cloud.advance(1)
    assert cloud.states(sid) == ("SHELVED", "shelving_offloading")
    cloud.advance(OFFLOAD)
    assert cloud.states(sid) == ("SHELVED_OFFLOADED", None)
    assert cloud.show(sid, cloud.admin)["OS-EXT-SRV-ATTR:host"] is None
    # NOTE: Nova's periodic task records no action; its event joins the shelve's.
    actions = cloud.admin.compute("GET", f"/servers/{sid}/os-instance-actions").json()
    latest = actions["instanceActions"][0]
    assert latest["action"] == "shelve"
    events = cloud.admin.compute(
        "GET", f"/servers/{sid}/os-instance-actions/{latest['request_id']}",
        version="2.51").json()["instanceAction"]["events"]
    assert sorted((e["event"], e["result"]) for e in events) == [
        ("compute_shelve_instance", "Success"),
        ("compute_shelve_offload_instance", "Success")]
    # Offloaded, it keeps its image until unshelved.
    assert glance(cloud.member, "GET", f"/images/{image['id']}").status_code == 200


@NEEDS_CLOCK
def test_unshelve_and_delete_before_the_time_cancel_the_offload(keeping: Cloud) -> None:
    cloud = keeping.reset()
    sid, host = cloud.shelved()
    [image] = shelved_images(cloud.member, cloud.show(sid)["name"])
    assert cloud.act(sid, {"unshelve": None}).status_code == 202
    cloud.advance(UNSHELVE)
    assert cloud.states(sid) == ("ACTIVE", None)
    # Unshelved where it was; its image is gone.
    assert cloud.show(sid, cloud.admin)["OS-EXT-SRV-ATTR:host"] == host
    assert glance(cloud.member, "GET", f"/images/{image['id']}").status_code == 404
    cloud.advance(2 * KEEP)
    assert cloud.states(sid) == ("ACTIVE", None)

    doomed, _ = cloud.shelved()
    [image] = shelved_images(cloud.member, cloud.show(doomed)["name"])
    assert cloud.member.compute("DELETE", f"/servers/{doomed}").status_code == 204
    cloud.advance(1)
    assert cloud.member.compute("GET", f"/servers/{doomed}").status_code == 404
    assert glance(cloud.member, "GET", f"/images/{image['id']}").status_code == 404
    clock = cloud.control("GET", "/clock").json()
    assert clock["waiting"] == 0


@NEEDS_CLOCK
def test_the_offload_time_survives_a_restart(tmp_path: Path, http: httpx.Client,
                                             target: Any) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    with dedicated_emulator(target, clock_config(KEEP), state) as process:
        cloud = Cloud(process, http)
        sid, _host = cloud.shelved()
        process.restart()
        # The clock starts again at 0; the offload waits for what is left of its time.
        clock = cloud.control("GET", "/clock").json()
        assert (clock["now"], clock["waiting"]) == (0.0, 1)
        cloud.advance(KEEP / 2)
        assert cloud.states(sid) == ("SHELVED", None)
        cloud.advance(KEEP / 2 + OFFLOAD)
        assert cloud.states(sid) == ("SHELVED_OFFLOADED", None)


@NEEDS_CLOCK
def test_a_negative_offload_time_never_offloads(http: httpx.Client, target: Any) -> None:
    with dedicated_emulator(target, clock_config(-1)) as process:
        cloud = Cloud(process, http)
        sid, _host = cloud.shelved()
        cloud.advance(10 * KEEP)
        assert cloud.states(sid) == ("SHELVED", None)
        assert cloud.control("GET", "/clock").json()["waiting"] == 0
        # An admin still can.
        assert cloud.act(sid, {"shelveOffload": None}, cloud.admin).status_code == 202
        cloud.advance(OFFLOAD)
        assert cloud.states(sid) == ("SHELVED_OFFLOADED", None)
