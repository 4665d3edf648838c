"""Snapshots: create (refused for an in-use volume without ``force`` before 3.66), show,
list and detail with Tempest's schemas, paging, update, metadata, delete; a volume made
from a snapshot; quota; tenant isolation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tempest.lib.api_schema.response.volume import snapshots as schema

from conformance.client import ApiSession
from conformance.schemas import validate
from conformance.volume_client import (  # noqa: F401
    VolumeFactory,
    cinder,
    fault,
    make_volume,
    unique,
    wait_gone,
    wait_snapshot,
)

SnapshotFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_snapshot(member: ApiSession) -> Iterator[SnapshotFactory]:
    """Snapshot volumes (as ``member``); whatever is left is deleted at the end (before
    ``make_volume`` deletes the volumes, fixtures ending in reverse order)."""
    made: list[str] = []

    def make(volume_id: str, **fields: Any) -> dict[str, Any]:
        body = {"snapshot": {"volume_id": volume_id, "name": unique("conf-snap"), **fields}}
        response = cinder(member, "POST", "/snapshots", json=body)
        assert response.status_code == 202, response.text
        snapshot: dict[str, Any] = response.json()["snapshot"]
        made.append(snapshot["id"])
        return wait_snapshot(member, snapshot["id"], "available")

    yield make
    for snapshot_id in made:
        cinder(member, "DELETE", f"/snapshots/{snapshot_id}")


def test_create_show_list_update_delete(member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                                        make_snapshot: SnapshotFactory) -> None:
    volume = make_volume(size=2)
    response = cinder(member, "POST", "/snapshots",
                      json={"snapshot": {"volume_id": volume["id"], "name": "s1",
                                         "description": "first", "metadata": {"k": "v"}}})
    created = validate(response, schema.create_snapshot)["snapshot"]
    assert created["status"] in ("creating", "available")
    assert created["size"] == 2 and created["volume_id"] == volume["id"]
    snapshot = wait_snapshot(member, created["id"], "available")
    shown = validate(cinder(member, "GET", f"/snapshots/{created['id']}"),
                     schema.show_snapshot)["snapshot"]
    assert shown["os-extended-snapshot-attributes:project_id"] == member.project_id
    assert shown["os-extended-snapshot-attributes:progress"] == "100%"
    assert shown["metadata"] == {"k": "v"} and snapshot["name"] == "s1"
    brief = validate(cinder(member, "GET", "/snapshots"), schema.list_snapshots_no_detail)
    assert created["id"] in [s["id"] for s in brief["snapshots"]]
    detail = validate(cinder(member, "GET", "/snapshots/detail"),
                      schema.list_snapshots_with_detail)
    assert created["id"] in [s["id"] for s in detail["snapshots"]]
    updated = cinder(member, "PUT", f"/snapshots/{created['id']}",
                     json={"snapshot": {"name": "s2", "description": "second"}})
    body = validate(updated, schema.update_snapshot)["snapshot"]
    assert (body["name"], body["description"]) == ("s2", "second")
    deleted = cinder(member, "DELETE", f"/snapshots/{created['id']}")
    validate(deleted, schema.delete_snapshot)
    wait_gone(member, f"/snapshots/{created['id']}")
    with_user = cinder(member, "GET", f"/volumes/{volume['id']}")
    assert with_user.status_code == 200, "the volume stays"


def test_snapshot_fields_by_microversion(member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                                         make_snapshot: SnapshotFactory) -> None:
    snapshot = make_snapshot(make_volume()["id"])
    base = cinder(member, "GET", f"/snapshots/{snapshot['id']}").json()["snapshot"]
    assert "user_id" not in base and "group_snapshot_id" not in base
    new = cinder(member, "GET", f"/snapshots/{snapshot['id']}", version="3.65").json()
    assert new["snapshot"]["user_id"] == member.user_id
    assert new["snapshot"]["group_snapshot_id"] is None
    assert new["snapshot"]["consumes_quota"] is True


def test_list_filters_sort_and_paging(member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                                      make_snapshot: SnapshotFactory) -> None:
    volume = make_volume()
    made = [make_snapshot(volume["id"], name=f"page-{i}") for i in range(3)]
    query = f"volume_id={volume['id']}"
    names = [s["name"] for s in cinder(member, "GET", f"/snapshots?{query}&sort=name:asc",
                                       version="3.30").json()["snapshots"]]
    assert names == ["page-0", "page-1", "page-2"]
    newest = [s["id"] for s in cinder(member, "GET",
                                      f"/snapshots?{query}").json()["snapshots"]]
    assert newest == [s["id"] for s in reversed(made)]
    first = cinder(member, "GET", f"/snapshots?{query}&limit=2").json()
    assert len(first["snapshots"]) == 2
    (link,) = first["snapshots_links"]
    rest = member.request("GET", link["href"]).json()["snapshots"]
    assert [s["id"] for s in rest] == [made[0]["id"]]
    assert cinder(member, "GET", f"/snapshots?{query}&limit=0").json()["snapshots"] == []
    named = cinder(member, "GET", f"/snapshots?name=page-1&{query}").json()["snapshots"]
    assert [s["id"] for s in named] == [made[1]["id"]]
    assert cinder(member, "GET", "/snapshots?status=nonsense").json()["snapshots"] == []


def test_snapshot_metadata(member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                           make_snapshot: SnapshotFactory) -> None:
    snapshot = make_snapshot(make_volume()["id"], metadata={"a": "1"})
    base = f"/snapshots/{snapshot['id']}/metadata"
    merged = cinder(member, "POST", base, json={"metadata": {"b": "2"}})
    assert validate(merged, schema.create_snapshot_metadata)["metadata"] == {"a": "1",
                                                                             "b": "2"}
    replaced = cinder(member, "PUT", base, json={"metadata": {"c": "3"}})
    assert validate(replaced, schema.update_snapshot_metadata)["metadata"] == {"c": "3"}
    item = cinder(member, "PUT", f"{base}/c", json={"meta": {"c": "4"}})
    assert validate(item, schema.update_snapshot_metadata_item)["meta"] == {"c": "4"}
    shown = cinder(member, "GET", f"{base}/c")
    assert validate(shown, schema.show_snapshot_metadata_item)["meta"] == {"c": "4"}
    validate(cinder(member, "DELETE", f"{base}/c"), schema.delete_snapshot_metadata_item)
    assert fault(cinder(member, "GET", f"{base}/c"), 404, "itemNotFound") == \
        f"Snapshot {snapshot['id']} has no metadata with key c."


def test_a_volume_from_a_snapshot(member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                                  make_snapshot: SnapshotFactory) -> None:
    source = make_volume(size=2)
    snapshot = make_snapshot(source["id"])
    volume = make_volume(snapshot_id=snapshot["id"], size=None)
    assert volume["snapshot_id"] == snapshot["id"] and volume["size"] == 2
    smaller = cinder(member, "POST", "/volumes",
                     json={"volume": {"size": 1, "snapshot_id": snapshot["id"]}})
    assert fault(smaller, 400, "badRequest") == (
        "Invalid input received: Volume size '1'GB cannot be smaller than the snapshot size "
        "2GB. They must be >= original snapshot size.")
    both = cinder(member, "POST", "/volumes",
                  json={"volume": {"size": 2, "snapshot_id": snapshot["id"],
                                   "source_volid": source["id"]}})
    assert fault(both, 400, "badRequest") == \
        "Invalid input received: May specify only one of backup, imageRef, snapshot, " \
        "source volume"


def test_bad_snapshot_requests(member: ApiSession, alt: ApiSession,
                               make_volume: VolumeFactory) -> None:  # noqa: F811
    unknown = "a3a0e2b1-9f1e-4b41-8a3a-2b1f0f0c1d2e"
    missing = cinder(member, "POST", "/snapshots", json={"snapshot": {"volume_id": unknown}})
    assert fault(missing, 404, "itemNotFound") == f"Volume {unknown} could not be found."
    no_volume = cinder(member, "POST", "/snapshots", json={"snapshot": {"name": "x"}})
    assert fault(no_volume, 400, "badRequest") == (
        "Invalid input for field/attribute snapshot. Value: {'name': 'x'}. 'volume_id' is a "
        "required property")
    volume = make_volume()
    theirs = cinder(alt, "POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    fault(theirs, 404, "itemNotFound")
    gone = cinder(member, "GET", f"/snapshots/{unknown}")
    assert fault(gone, 404, "itemNotFound") == f"Snapshot {unknown} could not be found."


def test_another_projects_snapshot_is_not_found(member: ApiSession, alt: ApiSession,
                                                make_volume: VolumeFactory,  # noqa: F811
                                                make_snapshot: SnapshotFactory) -> None:
    snapshot = make_snapshot(make_volume()["id"])
    for method in ("GET", "DELETE"):
        fault(cinder(alt, method, f"/snapshots/{snapshot['id']}"), 404, "itemNotFound")
    listed = cinder(alt, "GET", "/snapshots").json()["snapshots"]
    assert snapshot["id"] not in [s["id"] for s in listed]


def test_snapshots_count_in_the_quota(admin: ApiSession, alt: ApiSession,
                                      make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(session=alt)
    assert cinder(admin, "PUT", f"/os-quota-sets/{alt.project_id}",
                  json={"quota_set": {"snapshots": 0}}).status_code == 200
    try:
        refused = cinder(alt, "POST", "/snapshots",
                         json={"snapshot": {"volume_id": volume["id"]}})
        assert fault(refused, 413, "overLimit") == \
            "SnapshotLimitExceeded: Maximum number of snapshots allowed (0) exceeded"
        assert cinder(alt, "GET", "/snapshots").json()["snapshots"] == []
    finally:
        cinder(admin, "DELETE", f"/os-quota-sets/{alt.project_id}")


def test_snapshot_admin_actions(member: ApiSession, admin: ApiSession,
                                make_volume: VolumeFactory,  # noqa: F811
                                make_snapshot: SnapshotFactory) -> None:
    snapshot = make_snapshot(make_volume()["id"])
    path = f"/snapshots/{snapshot['id']}/action"
    body = {"os-reset_status": {"status": "error"}}
    refused = cinder(member, "POST", path, json=body)
    assert fault(refused, 403, "forbidden") == (
        "Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be "
        "performed.")
    assert cinder(admin, "POST", path, json=body).status_code == 202
    assert wait_snapshot(member, snapshot["id"], "error")
    bad = cinder(admin, "POST", path, json={"os-reset_status": {"status": "sleepy"}})
    assert fault(bad, 400, "badRequest").startswith("Snapshot status: sleepy is invalid")
    cinder(admin, "POST", path, json={"os-reset_status": {"status": "creating"}})
    update = cinder(member, "POST", path, json={"os-update_snapshot_status": {
        "status": "available", "progress": "90%"}})
    assert update.status_code == 202
    shown = wait_snapshot(member, snapshot["id"], "available")
    assert shown["os-extended-snapshot-attributes:progress"] == "90%"
    wrong = cinder(member, "POST", path, json={"os-update_snapshot_status": {
        "status": "error"}})
    assert fault(wrong, 400, "badRequest") == \
        "Snapshot status available not allowed for update_snapshot_status"
    cinder(admin, "POST", path, json={"os-reset_status": {"status": "deleting"}})
    plain = cinder(member, "DELETE", f"/snapshots/{snapshot['id']}")
    assert fault(plain, 400, "badRequest") == (
        "Invalid snapshot: Snapshot status must be available or error and must not be part "
        "of a group.")
    forced = cinder(admin, "POST", path, json={"os-force_delete": {}})
    assert forced.status_code == 202
    wait_gone(member, f"/snapshots/{snapshot['id']}")
    unsorted = cinder(member, "GET", "/snapshots?sort_key=invalid")
    assert fault(unsorted, 400, "badRequest") == "Invalid input received: Invalid sort key"
