"""Changing volumes: update, the metadata API, and the actions (extend, retype, bootable,
read-only, the admin's reset-status and force-delete), each with Cinder's refusals."""

from __future__ import annotations

import httpx
from tempest.lib.api_schema.response.volume import volumes as schema

from conformance.client import ApiSession
from conformance.schemas import validate
from conformance.volume_client import (  # noqa: F401
    VolumeFactory,
    cinder,
    fault,
    make_volume,
    wait_gone,
    wait_volume,
)


def action(session: ApiSession, volume_id: str, body: object,
           version: str | None = None) -> httpx.Response:
    return cinder(session, "POST", f"/volumes/{volume_id}/action", json=body, version=version)


def test_update_name_description_and_metadata(member: ApiSession,
                                              make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(metadata={"old": "1"})
    response = cinder(member, "PUT", f"/volumes/{volume['id']}",
                      json={"volume": {"name": " renamed ", "description": "new",
                                       "metadata": {"new": "2"}}})
    updated = validate(response, schema.update_volume)["volume"]
    assert (updated["name"], updated["description"]) == ("renamed", "new")
    assert updated["metadata"] == {"new": "2"}, "an update's metadata replaces it"
    cleared = cinder(member, "PUT", f"/volumes/{volume['id']}",
                     json={"volume": {"display_name": None}}).json()["volume"]
    assert cleared["name"] is None


def test_the_metadata_api(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(metadata={"a": "1"})
    base = f"/volumes/{volume['id']}/metadata"
    merged = cinder(member, "POST", base, json={"metadata": {"b": "2"}})
    assert validate(merged, schema.create_volume_metadata)["metadata"] == {"a": "1", "b": "2"}
    replaced = cinder(member, "PUT", base, json={"metadata": {"c": "3"}})
    assert validate(replaced, schema.update_volume_metadata)["metadata"] == {"c": "3"}
    item = cinder(member, "GET", f"{base}/c")
    assert validate(item, schema.show_volume_metadata_item)["meta"] == {"c": "3"}
    changed = cinder(member, "PUT", f"{base}/c", json={"meta": {"c": "4"}})
    assert validate(changed, schema.update_volume_metadata_item)["meta"] == {"c": "4"}
    mismatch = cinder(member, "PUT", f"{base}/c", json={"meta": {"d": "4"}})
    assert fault(mismatch, 400, "badRequest") == "Request body and URI mismatch"
    assert cinder(member, "DELETE", f"{base}/c").status_code == 200
    missing = cinder(member, "GET", f"{base}/c")
    assert fault(missing, 404, "itemNotFound") == \
        f"Volume {volume['id']} has no metadata with key c."
    assert cinder(member, "GET", base).json() == {"metadata": {}}


def test_extend_grows_only(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(size=1)
    response = action(member, volume["id"], {"os-extend": {"new_size": 3}})
    validate(response, schema.extend_volume)
    assert wait_volume(member, volume["id"], "available")["size"] == 3
    same = action(member, volume["id"], {"os-extend": {"new_size": 3}})
    assert fault(same, 400, "badRequest") == (
        "Invalid input received: New size for extend must be greater than current size. "
        "(current: 3, extended: 3).")
    bad = action(member, volume["id"], {"os-extend": {"new_size": "x"}})
    fault(bad, 400, "badRequest")


def test_retype_to_the_only_type_is_refused(member: ApiSession,
                                            make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume()
    same = action(member, volume["id"], {"os-retype": {"new_type": "__DEFAULT__"}})
    message = fault(same, 400, "badRequest")
    assert message.startswith("Invalid volume: Retype needs volume to be in available or "
                              "in-use state")
    unknown = action(member, volume["id"], {"os-retype": {"new_type": "gold"}})
    assert fault(unknown, 404, "itemNotFound") == (
        "Volume type with name gold could not be found.")


def test_bootable_and_readonly_flags(member: ApiSession,
                                     make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume()
    bootable = action(member, volume["id"], {"os-set_bootable": {"bootable": True}})
    validate(bootable, schema.set_bootable_volume)
    readonly = action(member, volume["id"], {"os-update_readonly_flag": {"readonly": True}})
    validate(readonly, schema.update_volume_readonly)
    shown = cinder(member, "GET", f"/volumes/{volume['id']}").json()["volume"]
    assert shown["bootable"] == "true"
    assert shown["metadata"]["readonly"] == "True"
    wrong = action(member, volume["id"], {"os-set_bootable": {"bootable": "maybe"}})
    fault(wrong, 400, "badRequest")


def test_unknown_and_malformed_actions(member: ApiSession,
                                       make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume()
    unknown = action(member, volume["id"], {"os-fly": {}})
    assert fault(unknown, 400, "badRequest") == (
        "There is no such action: os-fly. Verify the request body and Content-Type header "
        "and try again.")
    two = action(member, volume["id"], {"os-extend": {"new_size": 2}, "os-fly": {}})
    assert fault(two, 400, "badRequest") == "Malformed request body"


def test_reset_status_and_force_delete_are_for_admins(member: ApiSession, admin: ApiSession,
                                                      make_volume: VolumeFactory  # noqa: F811
                                                      ) -> None:
    volume = make_volume()
    body = {"os-reset_status": {"status": "error"}}
    refused = action(member, volume["id"], body)
    assert fault(refused, 403, "forbidden") == (
        "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be "
        "performed.")
    assert action(admin, volume["id"], body).status_code == 202
    assert cinder(member, "GET", f"/volumes/{volume['id']}").json()["volume"]["status"] == \
        "error"
    bad = action(admin, volume["id"], {"os-reset_status": {"status": "sleepy"}})
    assert fault(bad, 400, "badRequest").startswith(
        "Volume status: sleepy is invalid, valid statuses are: ('creating', 'available',")
    nothing = action(admin, volume["id"], {"os-reset_status": {}})
    assert fault(nothing, 400, "badRequest") == (
        "Must specify 'status', 'attach_status' or 'migration_status' for update.")
    in_use = action(admin, volume["id"], {"os-reset_status": {"status": "in-use"}})
    assert fault(in_use, 400, "badRequest") == (
        "Cannot reset-state to in-use because volume does not have any attachments.")
    action(admin, volume["id"], {"os-reset_status": {"status": "creating"}})
    plain = cinder(member, "DELETE", f"/volumes/{volume['id']}")
    fault(plain, 400, "badRequest")
    forced = action(admin, volume["id"], {"os-force_delete": {}})
    assert forced.status_code == 202
    wait_gone(member, f"/volumes/{volume['id']}")


def test_delete_refused_with_snapshots_unless_cascade(member: ApiSession,
                                                      make_volume: VolumeFactory  # noqa: F811
                                                      ) -> None:
    volume = make_volume()
    snap = cinder(member, "POST", "/snapshots",
                  json={"snapshot": {"volume_id": volume["id"], "name": "s"}})
    assert snap.status_code == 202
    refused = cinder(member, "DELETE", f"/volumes/{volume['id']}")
    assert fault(refused, 400, "badRequest") == (
        "Invalid volume: Volume status must be available or error or error_restoring or "
        "error_extending or error_managing and must not be migrating, attached, belong to "
        "a group, have snapshots, awaiting a transfer, or be disassociated from snapshots "
        "after volume transfer.")
    assert cinder(member, "GET", f"/volumes/{volume['id']}").json()["volume"]["status"] == \
        "available", "nothing half-done"
    bad = cinder(member, "DELETE", f"/volumes/{volume['id']}?cascade=perhaps")
    assert fault(bad, 400, "badRequest") == "Value 'perhaps' for 'cascade' is not a boolean."
    cascade = cinder(member, "DELETE", f"/volumes/{volume['id']}?cascade=true")
    validate(cascade, schema.delete_volume)
    wait_gone(member, f"/volumes/{volume['id']}")
    wait_gone(member, f"/snapshots/{snap.json()['snapshot']['id']}")


def test_the_attach_flow_before_attachments(member: ApiSession, admin: ApiSession,
                                            make_volume: VolumeFactory) -> None:  # noqa: F811
    """os-reserve, os-initialize_connection, os-attach, os-begin_detaching, os-detach."""
    volume = make_volume()
    vid = volume["id"]
    validate(action(member, vid, {"os-reserve": None}), schema.reserve_volume)
    assert wait_volume(member, vid, "attaching")
    again = action(member, vid, {"os-reserve": None})
    assert fault(again, 400, "badRequest") == (
        "Invalid volume: Volume status must be available to reserve, but the status is "
        "attaching.")
    connection = action(member, vid, {"os-initialize_connection": {
        "connector": {"host": "compute-1", "initiator": "iqn.x"}}})
    assert connection.status_code == 200
    info = connection.json()["connection_info"]
    assert info["driver_volume_type"] and info["data"]["access_mode"] == "rw"
    server = "9c1d1d1e-1f1f-4d4d-8e8e-0a0a0a0a0a0a"
    attached = action(member, vid, {"os-attach": {"instance_uuid": server,
                                                  "mountpoint": "/dev/vdb"}})
    validate(attached, schema.attach_volume)
    shown = wait_volume(member, vid, "in-use")
    assert [(a["server_id"], a["device"]) for a in shown["attachments"]] == [
        (server, "/dev/vdb")]
    assert shown["metadata"]["attached_mode"] == "rw"
    validate(action(member, vid, {"os-begin_detaching": None}), schema.detach_volume)
    assert wait_volume(member, vid, "detaching")
    action(member, vid, {"os-roll_detaching": None})
    assert wait_volume(member, vid, "in-use")
    validate(action(member, vid, {"os-detach": {}}), schema.detach_volume)
    assert wait_volume(member, vid, "available")["attachments"] == []
    unreserved = action(member, vid, {"os-unreserve": None})
    validate(unreserved, schema.unreserve_volume)
    assert wait_volume(member, vid, "available")


def test_legacy_actions_on_unknown_volumes_are_404s(member: ApiSession) -> None:
    unknown = "a3a0e2b1-9f1e-4b41-8a3a-2b1f0f0c1d2e"
    for body in ({"os-reserve": None}, {"os-unreserve": None}, {"os-detach": {}},
                 {"os-attach": {"instance_uuid": unknown, "mountpoint": "/dev/vdc"}}):
        fault(action(member, unknown, body), 404, "itemNotFound")
