"""Nova's volume side: ``os-volume_attachments`` (attach, list, show, update, swap,
detach) per microversion, the server view's ``os-extended-volumes:volumes_attached``,
what a server delete does to its volumes, Nova's and Cinder's refusals, and the
``openstack server add/remove volume`` CLI. Bodies are checked against Tempest's schemas."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import servers as base_schema
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.conftest import Target
from conformance.polling import settle
from conformance.schemas import for_version, validate
from conformance.volume_client import (  # noqa: F401
    VolumeFactory,
    cinder,
    fault,
    make_volume,
    wait_volume,
)

ServerFactory = Callable[..., str]
#: Where the attachment view changes shape (None: no microversion header).
VIEW_VERSIONS = [None, "2.49", "2.70", "2.79", "2.89"]


def _first_image(session: ApiSession) -> str:
    """The free guest where the cloud has it (on QEMU, the image whose OS sees a disk come
    and go), else the first image (another test's snapshot may come first)."""
    images = f"{session.endpoint('image')}/v2/images"
    found = session.request("GET", images, params={"name": "nova-emulator-guest"})
    assert found.status_code == 200, found.text
    response = session.request("GET", images)
    assert response.status_code == 200, response.text
    return str((found.json()["images"] or response.json()["images"])[0]["id"])


def wait_guest(session: ApiSession, server_id: str, timeout: float = 120.0) -> None:
    """Wait until the guest OS is up (a QEMU guest's console says ``GUEST-READY``): a
    guest still booting ignores a hot-unplug request, as a real one does."""
    deadline = time.monotonic() + timeout
    while True:
        output = session.compute("POST", f"/servers/{server_id}/action",
                                 json={"os-getConsoleOutput": {}}).json()["output"]
        if "GUEST-READY" in output:
            return
        assert time.monotonic() < deadline, f"{server_id}: the guest never came up"
        time.sleep(0.5)


@pytest.fixture
def make_server(member: ApiSession, target: Target) -> Iterator[ServerFactory]:
    """Boot ACTIVE servers (as ``member`` unless told), their guest up; deleted at the
    end."""
    made: list[tuple[ApiSession, str]] = []

    def make(session: ApiSession | None = None, flavor: str = "1") -> str:
        owner = session or member
        body = {"server": {"name": f"conf-vol-{uuid.uuid4().hex[:8]}", "flavorRef": flavor,
                           "imageRef": _first_image(owner)}}
        response = owner.compute("POST", "/servers", json=body)
        assert response.status_code == 202, response.text
        server_id = str(response.json()["server"]["id"])
        made.append((owner, server_id))
        settle(owner, server_id, "ACTIVE")
        if target.backend == "qemu":
            wait_guest(owner, server_id)
        return server_id

    yield make
    for owner, server_id in made:
        owner.compute("DELETE", f"/servers/{server_id}")
    for owner, server_id in made:
        deadline = time.monotonic() + 60
        while owner.compute("GET", f"/servers/{server_id}").status_code != 404:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def attach(session: ApiSession, server_id: str, volume_id: str,
           version: str | None = None, **fields: Any) -> httpx.Response:
    return session.compute("POST", f"/servers/{server_id}/os-volume_attachments",
                           version=version,
                           json={"volumeAttachment": {"volumeId": volume_id, **fields}})


def detach(session: ApiSession, server_id: str, volume_id: str,
           version: str | None = None) -> httpx.Response:
    return session.compute("DELETE", f"/servers/{server_id}/os-volume_attachments/{volume_id}",
                           version=version)


def nova_fault(response: httpx.Response, status: int) -> str:
    names = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest"}
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [names[status]], body
    return str(body[names[status]]["message"])


@pytest.mark.parametrize("version", VIEW_VERSIONS)
def test_attach_list_show_detach(member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                                 make_server: ServerFactory,
                                 version: str | None) -> None:
    schema = for_version(ServersClient, version)
    server_id, volume = make_server(), make_volume()
    extra: dict[str, Any] = {}
    if version in ("2.49", "2.70", "2.79", "2.89"):
        extra["tag"] = "data"
    if version in ("2.79", "2.89"):
        extra["delete_on_termination"] = True
    attached = validate(attach(member, server_id, volume["id"], version, **extra),
                        schema.attach_volume)["volumeAttachment"]
    assert attached["device"] == "/dev/vdb"
    assert (attached["volumeId"], attached["serverId"]) == (volume["id"], server_id)
    shown_volume = wait_volume(member, volume["id"], "in-use")
    (cinder_attachment,) = shown_volume["attachments"]
    assert cinder_attachment["server_id"] == server_id
    assert cinder_attachment["device"] == "/dev/vdb"

    listed = validate(member.compute("GET", f"/servers/{server_id}/os-volume_attachments",
                                     version=version),
                      schema.list_volume_attachments)["volumeAttachments"]
    shown = validate(member.compute(
        "GET", f"/servers/{server_id}/os-volume_attachments/{volume['id']}", version=version),
        schema.show_volume_attachment)["volumeAttachment"]
    assert listed == [shown]
    if version in ("2.70", "2.79", "2.89"):
        assert shown["tag"] == "data"
    if version in ("2.79", "2.89"):
        assert shown["delete_on_termination"] is True
    if version == "2.89":
        assert "id" not in shown
        assert shown["attachment_id"] == cinder_attachment["attachment_id"]
    else:
        assert shown["id"] == volume["id"]

    validate(detach(member, server_id, volume["id"], version), base_schema.detach_volume)
    assert wait_volume(member, volume["id"], "available")["attachments"] == []
    assert member.compute("GET", f"/servers/{server_id}/os-volume_attachments").json() == \
        {"volumeAttachments": []}
    actions = member.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    assert [a["action"] for a in actions["instanceActions"]][:2] == \
        ["detach_volume", "attach_volume"]


def test_attach_from_2_101_answers_202_without_a_body(member: ApiSession,
                                                      make_volume: VolumeFactory,  # noqa: F811
                                                      make_server: ServerFactory) -> None:
    server_id, volume = make_server(), make_volume()
    response = attach(member, server_id, volume["id"], "2.101")
    assert response.status_code == 202 and response.content == b""
    wait_volume(member, volume["id"], "in-use")
    shown = member.compute("GET", f"/servers/{server_id}/os-volume_attachments/{volume['id']}",
                           version="2.101").json()["volumeAttachment"]
    assert shown["device"] == "/dev/vdb"
    # Nova's checks still answer at once (the volume is attached already) ...
    assert nova_fault(attach(member, server_id, volume["id"], "2.101"), 400).startswith(
        "Invalid volume:")
    # ... but Cinder's refusal of the reservation comes after the 202: nothing happens.
    reserved = make_volume()
    other = cinder(member, "POST", "/attachments", version="3.44", json={
        "attachment": {"volume_uuid": reserved["id"], "instance_uuid": str(uuid.uuid4())}})
    assert other.status_code == 200, other.text
    response = attach(member, server_id, reserved["id"], "2.101")
    assert response.status_code == 202, response.text
    listed = member.compute("GET", f"/servers/{server_id}/os-volume_attachments").json()
    assert [a["volumeId"] for a in listed["volumeAttachments"]] == [volume["id"]]
    actions = member.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    assert [a["action"] for a in actions["instanceActions"]].count("attach_volume") == 1


def test_devices_are_named_in_order_and_shown_in_the_server(member: ApiSession,
                                                            make_volume: VolumeFactory,  # noqa: F811
                                                            make_server: ServerFactory) -> None:
    server_id = make_server()
    first, second = make_volume(), make_volume()
    assert attach(member, server_id, first["id"]).json()["volumeAttachment"]["device"] == \
        "/dev/vdb"
    assert attach(member, server_id, second["id"], "2.79", delete_on_termination=True
                  ).json()["volumeAttachment"]["device"] == "/dev/vdc"
    for volume in (first, second):
        wait_volume(member, volume["id"], "in-use")
    schema = for_version(ServersClient, "2.3")
    server = validate(member.compute("GET", f"/servers/{server_id}", version="2.3"),
                      schema.get_server)["server"]
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": first["id"], "delete_on_termination": False},
        {"id": second["id"], "delete_on_termination": True}]
    legacy = member.compute("GET", f"/servers/{server_id}").json()["server"]
    assert legacy["os-extended-volumes:volumes_attached"] == [{"id": first["id"]},
                                                              {"id": second["id"]}]
    detail = member.compute("GET", "/servers/detail", version="2.3").json()["servers"]
    (mine,) = [s for s in detail if s["id"] == server_id]
    assert len(mine["os-extended-volumes:volumes_attached"]) == 2
    paged = member.compute("GET", f"/servers/{server_id}/os-volume_attachments?limit=1"
                           "&offset=1").json()["volumeAttachments"]
    assert [a["volumeId"] for a in paged] == [second["id"]]


def test_attached_volumes_refuse_a_second_attach_and_a_delete(member: ApiSession,
                                                              make_volume: VolumeFactory,  # noqa: F811
                                                              make_server: ServerFactory) -> None:
    server_id, other = make_server(), make_server()
    volume = make_volume()
    assert attach(member, server_id, volume["id"]).status_code == 200
    wait_volume(member, volume["id"], "in-use")
    again = nova_fault(attach(member, server_id, volume["id"]), 400)
    assert again == (f"Invalid volume: volume {volume['id']} is already attached to "
                     f"instances: {server_id}")
    elsewhere = nova_fault(attach(member, other, volume["id"]), 400)
    assert elsewhere.startswith("Invalid volume:")
    refused = fault(cinder(member, "DELETE", f"/volumes/{volume['id']}"), 400, "badRequest")
    assert "in-use" in refused or "attached" in refused
    # Cinder may not drop an attachment Nova holds.
    attachment = wait_volume(member, volume["id"], "in-use")["attachments"][0]
    held = cinder(member, "DELETE", f"/attachments/{attachment['attachment_id']}",
                  version="3.44")
    assert held.status_code == 409, held.text


def test_a_volume_cinder_reserved_is_refused(member: ApiSession,
                                             make_volume: VolumeFactory,  # noqa: F811
                                             make_server: ServerFactory) -> None:
    server_id, volume = make_server(), make_volume()
    reserved = cinder(member, "POST", "/attachments", version="3.44", json={
        "attachment": {"volume_uuid": volume["id"], "instance_uuid": str(uuid.uuid4())}})
    assert reserved.status_code == 200, reserved.text
    message = nova_fault(attach(member, server_id, volume["id"]), 400)
    assert message.startswith("Invalid input received: Invalid volume: Volume "), message
    assert "status must be available" in message


def test_unknown_and_foreign_volumes_and_servers(member: ApiSession, alt: ApiSession,
                                                 make_volume: VolumeFactory,  # noqa: F811
                                                 make_server: ServerFactory) -> None:
    server_id, volume = make_server(), make_volume()
    missing = str(uuid.uuid4())
    assert nova_fault(attach(member, server_id, missing), 404) == \
        f"Volume {missing} could not be found."
    assert nova_fault(member.compute(
        "GET", f"/servers/{server_id}/os-volume_attachments/{volume['id']}"), 404) == \
        f"Instance {server_id} is not attached to volume {volume['id']}"
    assert nova_fault(detach(member, server_id, volume["id"]), 404) == \
        f"Instance {server_id} is not attached to volume {volume['id']}"
    # Another project's volume is not found; neither is its server.
    alt_volume = make_volume(session=alt)
    assert nova_fault(attach(member, server_id, alt_volume["id"]), 404) == \
        f"Volume {alt_volume['id']} could not be found."
    assert nova_fault(attach(alt, server_id, alt_volume["id"]), 404) == \
        f"Instance {server_id} could not be found."
    assert attach(member, server_id, "not-a-uuid").status_code == 400
    bad_device = attach(member, server_id, volume["id"], device="vdb")
    assert bad_device.status_code == 400
    assert attach(member, server_id, volume["id"], "2.48", tag="t").status_code == 400


def test_state_rules(member: ApiSession, admin: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                     make_server: ServerFactory) -> None:
    server_id, volume = make_server(), make_volume()

    def act(action: str, status: str | None = None) -> None:
        response = member.compute("POST", f"/servers/{server_id}/action", json={action: None})
        assert response.status_code == 202, response.text
        if status is not None:
            settle(member, server_id, status)

    act("suspend", "SUSPENDED")
    assert nova_fault(attach(member, server_id, volume["id"]), 409) == \
        f"Cannot 'attach_volume' instance {server_id} while it is in vm_state suspended"
    act("resume", "ACTIVE")
    act("pause", "PAUSED")
    assert attach(member, server_id, volume["id"]).status_code == 200
    wait_volume(member, volume["id"], "in-use")
    # NOTE: a paused guest cannot release a disk (on QEMU the detach would time out).
    act("unpause", "ACTIVE")
    act("lock")
    assert nova_fault(detach(member, server_id, volume["id"]), 409) == \
        f"Instance {server_id} is locked"
    assert detach(admin, server_id, volume["id"]).status_code == 202
    wait_volume(member, volume["id"], "available")
    act("unlock")
    act("os-stop", "SHUTOFF")
    assert attach(member, server_id, volume["id"]).status_code == 200
    wait_volume(member, volume["id"], "in-use")


def test_update_from_2_85_and_swap(member: ApiSession, admin: ApiSession,
                                   make_volume: VolumeFactory,  # noqa: F811
                                   make_server: ServerFactory) -> None:
    server_id, volume, other = make_server(), make_volume(), make_volume()
    assert attach(member, server_id, volume["id"], "2.79", tag="t").status_code == 200
    wait_volume(member, volume["id"], "in-use")
    url = f"/servers/{server_id}/os-volume_attachments/{volume['id']}"

    def put(session: ApiSession, version: str, **fields: Any) -> httpx.Response:
        body = {"volumeAttachment": {"volumeId": volume["id"], **fields}}
        return session.compute("PUT", url, version=version, json=body)

    validate(put(member, "2.85", delete_on_termination=True),
             base_schema.update_attached_volume)
    shown = member.compute("GET", url, version="2.85").json()["volumeAttachment"]
    assert shown["delete_on_termination"] is True
    assert nova_fault(put(member, "2.85", tag="other"), 400) == \
        "The tag property is not mutable"
    assert nova_fault(put(member, "2.85", device="/dev/vdz"), 400) == \
        "The device property is not mutable"
    assert put(member, "2.85", delete_on_termination="maybe").status_code == 400
    # Before 2.85 a PUT is a swap: Cinder's call (a service, or an admin) while it
    # migrates the volume; a volume that is not migrating is refused.
    swap = {"volumeAttachment": {"volumeId": other["id"]}}
    assert nova_fault(member.compute("PUT", url, json=swap), 403).startswith("Policy")
    assert nova_fault(member.compute("PUT", url, version="2.85", json=swap), 403) \
        .startswith("Policy")
    assert nova_fault(admin.compute("PUT", url, json=swap), 409) == (
        f"volume {volume['id']} is not migrating; this API should only be called by Cinder")
    missing = {"volumeAttachment": {"volumeId": str(uuid.uuid4())}}
    assert nova_fault(admin.compute("PUT", url, json=missing), 409).startswith("volume ")
    assert put(member, "2.84", delete_on_termination=True).status_code == 400


def test_server_delete_detaches_and_deletes_as_marked(member: ApiSession,
                                                      make_volume: VolumeFactory,  # noqa: F811
                                                      make_server: ServerFactory) -> None:
    server_id = make_server()
    kept, dropped = make_volume(), make_volume()
    assert attach(member, server_id, kept["id"]).status_code == 200
    assert attach(member, server_id, dropped["id"], "2.79",
                  delete_on_termination=True).status_code == 200
    for volume in (kept, dropped):
        wait_volume(member, volume["id"], "in-use")
    assert member.compute("DELETE", f"/servers/{server_id}").status_code == 204
    assert wait_volume(member, kept["id"], "available")["attachments"] == []
    deadline = time.monotonic() + 60
    while cinder(member, "GET", f"/volumes/{dropped['id']}").status_code != 404:
        assert time.monotonic() < deadline, "the delete_on_termination volume stayed"
        time.sleep(0.05)


def test_cli_server_add_and_remove_volume(member: ApiSession,
                                          make_volume: VolumeFactory,  # noqa: F811
                                          make_server: ServerFactory) -> None:
    server_id = make_server()
    volume = openstack_json(member.account, "volume", "create", "--size", "1",
                            f"conf-cli-{uuid.uuid4().hex[:6]}")
    try:
        wait_volume(member, volume["id"], "available")
        run_openstack(member.account, "server", "add", "volume", server_id, volume["id"])
        wait_volume(member, volume["id"], "in-use")
        shown = openstack_json(member.account, "server", "volume", "list", server_id)
        assert [v["Volume ID"] for v in shown] == [volume["id"]]
        run_openstack(member.account, "server", "remove", "volume", server_id, volume["id"])
        wait_volume(member, volume["id"], "available")
    finally:
        run_openstack(member.account, "volume", "delete", volume["id"])


def test_shelved_offloaded_servers_take_volumes_from_2_20(
        member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
        make_server: ServerFactory) -> None:
    server_id = make_server()
    first, second = make_volume(), make_volume()
    action = f"/servers/{server_id}/action"
    assert member.compute("POST", action, json={"shelve": None}).status_code == 202
    settle(member, server_id, "SHELVED_OFFLOADED")
    assert nova_fault(attach(member, server_id, first["id"], "2.19"), 409) == (
        f"Cannot 'attach_volume' instance {server_id} while it is in vm_state "
        "shelved_offloaded")
    assert nova_fault(attach(member, server_id, first["id"], "2.49", tag="t"), 400) == \
        "Tagged volume attachment is not supported for shelved-offloaded instances."
    attached = attach(member, server_id, first["id"], "2.20")
    assert attached.status_code == 200, attached.text
    assert attached.json()["volumeAttachment"]["device"] is None
    assert wait_volume(member, first["id"], "in-use")["attachments"][0]["server_id"] == \
        server_id
    shown = member.compute("GET", f"/servers/{server_id}/os-volume_attachments/{first['id']}",
                           version="2.20").json()["volumeAttachment"]
    assert "device" not in shown
    assert attach(member, server_id, second["id"], "2.20").status_code == 200
    assert detach(member, server_id, second["id"], "2.20").status_code == 202
    assert wait_volume(member, second["id"], "available")["attachments"] == []

    assert member.compute("POST", action, json={"unshelve": None}).status_code == 202
    settle(member, server_id, "ACTIVE")
    shown = member.compute("GET", f"/servers/{server_id}/os-volume_attachments/{first['id']}"
                           ).json()["volumeAttachment"]
    assert shown["device"] == "/dev/vdb"
    attachment = wait_volume(member, first["id"], "in-use")["attachments"][0]
    assert attachment["device"] == "/dev/vdb"
