"""The attachments API as Nova drives it (reserve, connect, complete, delete), what an
attached volume refuses (a second attachment, delete, extend before 3.42, a snapshot
without ``force`` before 3.66), and tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from conformance.client import ApiSession
from conformance.volume_client import (  # noqa: F401
    VolumeFactory,
    cinder,
    fault,
    make_volume,
    wait_volume,
)

#: A host's connector as Nova sends it (os-brick's ``get_connector_properties``).
CONNECTOR = {"initiator": "iqn.1993-08.org.debian:01:cad181614cec", "ip": "192.168.1.20",
             "platform": "x86_64", "host": "compute-1", "os_type": "linux",
             "multipath": False, "mountpoint": "/dev/vdb"}
ATTACHMENT_KEYS = {"id", "status", "instance", "volume_id", "attached_at", "detached_at",
                   "attach_mode", "connection_info"}


def attach(session: ApiSession, volume_id: str, server: str | None = None,
           version: str = "3.44", **fields: Any) -> httpx.Response:
    body: dict[str, Any] = {"volume_uuid": volume_id, **fields}
    if server is not None:
        body["instance_uuid"] = server
    return cinder(session, "POST", "/attachments", version=version, json={"attachment": body})


def attached_volume(session: ApiSession, volume_id: str) -> tuple[str, str]:
    """Attach the volume as Nova does; (server id, attachment id)."""
    server = str(uuid.uuid4())
    reserved = attach(session, volume_id, server)
    assert reserved.status_code == 200, reserved.text
    attachment_id = reserved.json()["attachment"]["id"]
    updated = cinder(session, "PUT", f"/attachments/{attachment_id}", version="3.44",
                     json={"attachment": {"connector": CONNECTOR}})
    assert updated.status_code == 200, updated.text
    complete = cinder(session, "POST", f"/attachments/{attachment_id}/action",
                      version="3.44", json={"os-complete": None})
    assert complete.status_code == 204, complete.text
    return server, attachment_id


def test_nova_attach_flow(member: ApiSession, admin: ApiSession,
                          make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume()
    server = str(uuid.uuid4())
    reserved = attach(member, volume["id"], server)
    assert reserved.status_code == 200
    attachment = reserved.json()["attachment"]
    assert set(attachment) == ATTACHMENT_KEYS
    assert (attachment["status"], attachment["instance"]) == ("reserved", server)
    assert attachment["connection_info"] == {} and attachment["attached_at"] == ""
    assert wait_volume(member, volume["id"], "reserved")["attachments"] == []

    updated = cinder(member, "PUT", f"/attachments/{attachment['id']}", version="3.44",
                     json={"attachment": {"connector": CONNECTOR}})
    assert updated.status_code == 200, updated.text
    connected = updated.json()["attachment"]
    assert connected["status"] == "attaching" and connected["attach_mode"] == "rw"
    info = connected["connection_info"]
    assert info["driver_volume_type"] and info["attachment_id"] == attachment["id"]
    assert info["access_mode"] == "rw" and info["encrypted"] is False
    assert cinder(member, "GET", f"/volumes/{volume['id']}").json()["volume"]["status"] == \
        "attaching"

    done = cinder(member, "POST", f"/attachments/{attachment['id']}/action", version="3.44",
                  json={"os-complete": None})
    assert done.status_code == 204
    shown = wait_volume(member, volume["id"], "in-use")
    (entry,) = shown["attachments"]
    assert entry == {"id": volume["id"], "attachment_id": attachment["id"],
                     "volume_id": volume["id"], "server_id": server, "host_name": None,
                     "device": "/dev/vdb", "attached_at": entry["attached_at"]}
    assert entry["attached_at"]
    as_admin = cinder(admin, "GET", f"/volumes/{volume['id']}").json()["volume"]
    assert as_admin["attachments"][0]["host_name"] == "compute-1"
    listed = cinder(member, "GET", f"/attachments/detail?volume_id={volume['id']}",
                    version="3.44").json()["attachments"]
    assert [(a["id"], a["status"]) for a in listed] == [(attachment["id"], "attached")]
    by_server = cinder(member, "GET", f"/attachments?instance_id={server}",
                       version="3.44").json()["attachments"]
    assert by_server == [{"id": attachment["id"], "status": "attached", "instance": server,
                          "volume_id": volume["id"]}]

    deleted = cinder(member, "DELETE", f"/attachments/{attachment['id']}", version="3.44")
    assert deleted.status_code == 200 and deleted.json() == {"attachments": []}
    assert wait_volume(member, volume["id"], "available")["attachments"] == []
    gone = cinder(member, "GET", f"/attachments/{attachment['id']}", version="3.44")
    assert fault(gone, 404, "itemNotFound") == (
        f"Volume attachment could not be found with filter: attachment_id = "
        f"{attachment['id']}.")


def test_create_with_a_connector_connects_at_once(member: ApiSession,
                                                  make_volume: VolumeFactory  # noqa: F811
                                                  ) -> None:
    volume = make_volume()
    created = attach(member, volume["id"], str(uuid.uuid4()), version="3.54",
                     connector=CONNECTOR, mode="ro")
    attachment = created.json()["attachment"]
    assert attachment["status"] == "attaching" and attachment["attach_mode"] == "ro"
    assert attachment["connection_info"]["attachment_id"] == attachment["id"]
    bad_mode = attach(member, volume["id"], str(uuid.uuid4()), version="3.54", mode="rx")
    fault(bad_mode, 400, "badRequest")


def test_an_in_use_volume_refuses_another_server(member: ApiSession,
                                                 make_volume: VolumeFactory  # noqa: F811
                                                 ) -> None:
    volume = make_volume()
    server, _attachment = attached_volume(member, volume["id"])
    second = attach(member, volume["id"], str(uuid.uuid4()))
    assert fault(second, 400, "badRequest") == (
        f"Invalid volume: Volume {volume['id']} status must be available or downloading to "
        "reserve, but the current status is in-use.")
    listed = cinder(member, "GET", f"/attachments?volume_id={volume['id']}",
                    version="3.44").json()["attachments"]
    assert len(listed) == 1, "nothing half-created"
    # The same server again (a move of it) may reserve a second attachment.
    again = attach(member, volume["id"], server)
    assert again.status_code == 200
    assert wait_volume(member, volume["id"], "in-use")


def test_an_attached_volume_refuses_delete_extend_and_snapshot(member: ApiSession,
                                                               make_volume: VolumeFactory  # noqa: F811
                                                               ) -> None:
    volume = make_volume()
    attached_volume(member, volume["id"])
    path = f"/volumes/{volume['id']}"
    deleted = cinder(member, "DELETE", path)
    assert fault(deleted, 400, "badRequest").startswith(
        "Invalid volume: Volume status must be available or error")
    extend = cinder(member, "POST", f"{path}/action", version="3.41",
                    json={"os-extend": {"new_size": 2}})
    assert fault(extend, 400, "badRequest") == (
        f"Invalid volume: Volume {volume['id']} status must be '{{'status': 'available'}}' "
        "to extend, currently in-use.")
    grown = cinder(member, "POST", f"{path}/action", version="3.42",
                   json={"os-extend": {"new_size": 2}})
    assert grown.status_code == 202
    shown = wait_volume(member, volume["id"], "in-use")
    assert shown["size"] == 2
    snapshot = cinder(member, "POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    assert fault(snapshot, 400, "badRequest") == (
        f"Invalid volume: Volume {volume['id']} status must be available, but current "
        "status is: in-use.")
    no_force = cinder(member, "POST", "/snapshots", version="3.66",
                      json={"snapshot": {"volume_id": volume["id"], "force": False}})
    assert fault(no_force, 400, "badRequest").startswith(
        "Since microversion 3.66 the 'force' flag is invalid for this request.")
    forced = cinder(member, "POST", "/snapshots",
                    json={"snapshot": {"volume_id": volume["id"], "force": True}})
    assert forced.status_code == 202
    in_use = cinder(member, "POST", "/snapshots", version="3.66",
                    json={"snapshot": {"volume_id": volume["id"]}})
    assert in_use.status_code == 202
    assert wait_volume(member, volume["id"], "in-use")


def test_complete_needs_3_44_and_errors_refuse_attachments(member: ApiSession,
                                                           admin: ApiSession,
                                                           make_volume: VolumeFactory  # noqa: F811
                                                           ) -> None:
    volume = make_volume()
    attachment = attach(member, volume["id"], str(uuid.uuid4()), version="3.27").json()
    early = cinder(member, "POST", f"/attachments/{attachment['attachment']['id']}/action",
                   version="3.43", json={"os-complete": None})
    fault(early, 404, "itemNotFound")
    other = make_volume()
    cinder(admin, "POST", f"/volumes/{other['id']}/action",
           json={"os-reset_status": {"status": "error"}})
    refused = attach(member, other["id"], str(uuid.uuid4()))
    assert fault(refused, 400, "badRequest") == (
        "Invalid volume: Volume attachments can not be created if the volume is in an error "
        f"state. The Volume {other['id']} currently has a status of: error ")


def test_another_projects_volume_cannot_be_attached(member: ApiSession, alt: ApiSession,
                                                    make_volume: VolumeFactory  # noqa: F811
                                                    ) -> None:
    volume = make_volume()
    theirs = attach(alt, volume["id"], str(uuid.uuid4()))
    assert fault(theirs, 404, "itemNotFound") == f"Volume {volume['id']} could not be found."
    _server, attachment_id = attached_volume(member, volume["id"])
    for method in ("GET", "DELETE"):
        response = cinder(alt, method, f"/attachments/{attachment_id}", version="3.44")
        fault(response, 404, "itemNotFound")
    assert cinder(alt, "GET", "/attachments", version="3.44").json()["attachments"] == []
