"""Server sub-resources: metadata, tags, IPs and instance actions, over the wire and through
openstacksdk and the ``openstack`` CLI, checked against Tempest's response schemas."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import servers as base_schema
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.schemas import for_version, validate

#: Microversions where these resources change shape (and the newest).
ACTION_VERSIONS = [None, "2.1", "2.21", "2.51", "2.58", "2.62", "2.66", "2.84", "latest"]
TAG_VERSIONS = ["2.26", "2.62", "2.98", "latest"]
#: Tempest's newest schema module with the tag schemas (its 2.99+ modules lack them).
LAST_TAG_SCHEMAS = "2.98"


def _latest(session: ApiSession) -> str:
    return str(session.http.get(f"{session.compute_url}/").json()["version"]["version"])


def _schema(session: ApiSession, version: str | None) -> Any:
    if version == "latest":
        version = _latest(session)
    return for_version(ServersClient, version)


def _tag_schema(session: ApiSession, version: str) -> Any:
    module = _schema(session, version)
    if not hasattr(module, "list_tags"):
        module = for_version(ServersClient, LAST_TAG_SCHEMAS)
    return module


def _first_image(session: ApiSession) -> str:
    response = session.request("GET", f"{session.endpoint('image')}/v2/images")
    assert response.status_code == 200, response.text
    images = response.json()["images"]
    assert images, "the cloud has no image to boot"
    return str(images[0]["id"])


def _wait(session: ApiSession, server_id: str, statuses: set[str],
          timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = session.compute("GET", f"/servers/{server_id}")
        assert response.status_code == 200, response.text
        server: dict[str, Any] = response.json()["server"]
        if server["status"] in statuses and server.get("OS-EXT-STS:task_state") is None:
            return server
        assert time.monotonic() < deadline, f"server {server_id} stuck in {server['status']}"
        time.sleep(0.2)


def _wait_gone(session: ApiSession, server_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while session.compute("GET", f"/servers/{server_id}").status_code != 404:
        assert time.monotonic() < deadline, f"server {server_id} never went away"
        time.sleep(0.2)


def _create(session: ApiSession, flavor: str = "1", version: str | None = None,
            **extra: Any) -> tuple[str, str]:
    """Boot a server; its id and the request id of the create."""
    body = {"server": {"name": f"conf-sub-{uuid.uuid4().hex[:8]}", "flavorRef": flavor,
                       "imageRef": _first_image(session), **extra}}
    response = session.compute("POST", "/servers", json=body, version=version)
    assert response.status_code == 202, response.text
    return str(response.json()["server"]["id"]), response.headers["x-compute-request-id"]


@pytest.fixture(scope="module")
def booted(member: ApiSession) -> Iterator[tuple[str, str]]:
    """An ACTIVE server of the member's, and the request id that created it."""
    server_id, request_id = _create(member)
    _wait(member, server_id, {"ACTIVE"})
    yield server_id, request_id
    member.compute("DELETE", f"/servers/{server_id}")


@pytest.fixture
def server(booted: tuple[str, str], member: ApiSession) -> Iterator[str]:
    """The booted server with no metadata and no tags (left as found)."""
    server_id = booted[0]
    assert member.compute("PUT", f"/servers/{server_id}/metadata",
                          json={"metadata": {}}).status_code == 200
    assert member.compute("DELETE", f"/servers/{server_id}/tags",
                          version="2.26").status_code == 204
    yield server_id


@pytest.fixture(scope="module")
def errored(member: ApiSession, admin: ApiSession) -> Iterator[str]:
    """A server in ERROR: its flavor's disk fits no host (an admin makes the flavor).

    Disk, because Nova has no disk quota: the create is accepted and the build fails.
    """
    name = f"conf-huge-{uuid.uuid4().hex[:8]}"
    response = admin.compute("POST", "/flavors", json={"flavor": {
        "name": name, "ram": 64, "vcpus": 1, "disk": 1024 * 1024}})
    assert response.status_code == 200, response.text
    flavor_id = response.json()["flavor"]["id"]
    server_id, _ = _create(member, flavor=flavor_id)
    _wait(member, server_id, {"ERROR"})
    yield server_id
    member.compute("DELETE", f"/servers/{server_id}")
    admin.compute("DELETE", f"/flavors/{flavor_id}")


def _fault(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    name = {400: "badRequest", 403: "forbidden", 404: "itemNotFound",
            409: "conflictingRequest"}[status]
    body = response.json()[name]
    assert body["code"] == status
    return str(body["message"])


# -- metadata -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "2.1", "latest"])
def test_metadata_round_trip(member: ApiSession, server: str, version: str | None) -> None:
    path = f"/servers/{server}/metadata"
    put = validate(member.compute("PUT", path, version=version,
                                  json={"metadata": {"a": "1", "b": "2"}}),
                   base_schema.set_server_metadata)
    assert put == {"metadata": {"a": "1", "b": "2"}}
    post = validate(member.compute("POST", path, version=version,
                                   json={"metadata": {"b": "3", "c": "4"}}),
                    base_schema.update_server_metadata)
    assert post == {"metadata": {"a": "1", "b": "3", "c": "4"}}
    listed = validate(member.compute("GET", path, version=version),
                      base_schema.list_server_metadata)
    assert listed == post
    item = validate(member.compute("GET", f"{path}/b", version=version),
                    base_schema.set_show_server_metadata_item)
    assert item == {"meta": {"b": "3"}}
    updated = validate(member.compute("PUT", f"{path}/d", version=version,
                                      json={"meta": {"d": "5"}}),
                       base_schema.set_show_server_metadata_item)
    assert updated == {"meta": {"d": "5"}}
    deleted = member.compute("DELETE", f"{path}/a", version=version)
    validate(deleted, base_schema.delete_server_metadata_item)
    assert deleted.content == b""
    assert member.compute("GET", path).json() == {"metadata": {"b": "3", "c": "4", "d": "5"}}
    shown = member.compute("GET", f"/servers/{server}").json()["server"]
    assert shown["metadata"] == {"b": "3", "c": "4", "d": "5"}
    replaced = member.compute("PUT", path, json={"metadata": {"z": "9"}}).json()
    assert replaced == {"metadata": {"z": "9"}}


def test_metadata_given_at_create_is_listed(member: ApiSession) -> None:
    server_id, _ = _create(member, metadata={"role": "web"})
    try:
        _wait(member, server_id, {"ACTIVE"})
        body = validate(member.compute("GET", f"/servers/{server_id}/metadata"),
                        base_schema.list_server_metadata)
        assert body == {"metadata": {"role": "web"}}
    finally:
        member.compute("DELETE", f"/servers/{server_id}")


def test_metadata_item_errors(member: ApiSession, server: str) -> None:
    path = f"/servers/{server}/metadata"
    mismatch = member.compute("PUT", f"{path}/a", json={"meta": {"b": "1"}})
    assert _fault(mismatch, 400) == "Request body and URI mismatch"
    two = member.compute("PUT", f"{path}/a", json={"meta": {"a": "1", "b": "2"}})
    assert "has too many properties" in _fault(two, 400)
    none = member.compute("PUT", f"{path}/a", json={"meta": {}})
    assert _fault(none, 400).startswith("Invalid input for field/attribute meta.")
    missing = member.compute("GET", f"{path}/nope")
    assert _fault(missing, 404) == "Metadata item was not found"
    gone = member.compute("DELETE", f"{path}/nope")
    assert _fault(gone, 404) == "Metadata item was not found"


@pytest.mark.parametrize("body", [
    {"metadata": {"": "empty key"}},
    {"metadata": {"k": "v" * 256}},
    {"metadata": {"k": 1}},
    {"metadata": ["k"]},
    {"meta": {"k": "v"}},
])
def test_metadata_bodies_are_validated(member: ApiSession, server: str,
                                       body: dict[str, Any]) -> None:
    for method in ("POST", "PUT"):
        response = member.compute(method, f"/servers/{server}/metadata", json=body)
        _fault(response, 400)


def test_metadata_quota_is_128_items(member: ApiSession, server: str) -> None:
    path = f"/servers/{server}/metadata"
    items = {f"k{i}": "v" for i in range(128)}
    assert member.compute("PUT", path, json={"metadata": items}).status_code == 200
    over = member.compute("POST", path, json={"metadata": {"one-more": "v"}})
    assert _fault(over, 403) == "Maximum number of metadata items exceeds 128"
    too_many = {f"k{i}": "v" for i in range(129)}
    response = member.compute("PUT", path, json={"metadata": too_many})
    assert _fault(response, 403) == "Maximum number of metadata items exceeds 128"
    item = member.compute("PUT", f"{path}/new", json={"meta": {"new": "v"}})
    assert _fault(item, 403) == "Maximum number of metadata items exceeds 128"
    # An existing key can still change: the count does not grow.
    assert member.compute("PUT", f"{path}/k0", json={"meta": {"k0": "w"}}).status_code == 200
    assert len(member.compute("GET", path).json()["metadata"]) == 128


def test_metadata_changes_need_a_settled_state(member: ApiSession, errored: str) -> None:
    path = f"/servers/{errored}/metadata"
    expected = f"Cannot 'update metadata' instance {errored} while it is in vm_state error"
    for method, sub, body in (("POST", "", {"metadata": {"a": "1"}}),
                              ("PUT", "", {"metadata": {"a": "1"}}),
                              ("PUT", "/a", {"meta": {"a": "1"}})):
        assert _fault(member.compute(method, path + sub, json=body), 409) == expected
    # Reading is fine, and a missing key is a 404 before the state is looked at.
    assert member.compute("GET", path).json() == {"metadata": {}}
    assert _fault(member.compute("DELETE", f"{path}/a"), 404) == "Metadata item was not found"


def test_reader_rules_do_not_stop_the_owner(member: ApiSession, server: str) -> None:
    """The member passes every metadata rule (reader to read, member to write)."""
    path = f"/servers/{server}/metadata"
    for method, sub, body in (("GET", "", None), ("POST", "", {"metadata": {"x": "1"}}),
                              ("GET", "/x", None), ("DELETE", "/x", None)):
        assert member.compute(method, path + sub, json=body).status_code in (200, 204)


# -- tags ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", TAG_VERSIONS)
def test_tags_round_trip(member: ApiSession, server: str, version: str) -> None:
    schema = _tag_schema(member, version)
    path = f"/servers/{server}/tags"
    empty = validate(member.compute("GET", path, version=version), schema.list_tags)
    assert empty == {"tags": []}
    replaced = validate(member.compute("PUT", path, version=version,
                                       json={"tags": ["b", "a", "a"]}),
                        schema.update_all_tags)
    assert sorted(replaced["tags"]) == ["a", "b"]
    added = member.compute("PUT", f"{path}/c", version=version)
    validate(added, schema.update_tag)
    assert added.status_code == 201 and added.content == b""
    assert added.headers["location"] == f"{member.compute_url}/servers/{server}/tags/c"
    again = member.compute("PUT", f"{path}/c", version=version)
    assert again.status_code == 204 and "location" not in again.headers
    validate(member.compute("GET", f"{path}/c", version=version), schema.check_tag_existence)
    listed = validate(member.compute("GET", path, version=version), schema.list_tags)
    assert sorted(listed["tags"]) == ["a", "b", "c"]
    shown = member.compute("GET", f"/servers/{server}", version=version).json()["server"]
    assert sorted(shown["tags"]) == ["a", "b", "c"]
    validate(member.compute("DELETE", f"{path}/a", version=version), schema.delete_tag)
    assert sorted(member.compute("GET", path, version=version).json()["tags"]) == ["b", "c"]
    validate(member.compute("DELETE", path, version=version), schema.delete_all_tags)
    assert member.compute("GET", path, version=version).json() == {"tags": []}


def test_tags_need_2_26(member: ApiSession, server: str) -> None:
    for method, sub in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/a"),
                        ("PUT", "/a"), ("DELETE", "/a")):
        response = member.compute(method, f"/servers/{server}/tags{sub}", version="2.25",
                                  json={"tags": []} if (method, sub) == ("PUT", "") else None)
        assert _fault(response, 404) == "The resource could not be found."


def test_tag_errors(member: ApiSession, server: str) -> None:
    path = f"/servers/{server}/tags"
    missing = member.compute("GET", f"{path}/nope", version="2.26")
    assert _fault(missing, 404) == f"Server {server} has no tag 'nope'"
    gone = member.compute("DELETE", f"{path}/nope", version="2.26")
    assert _fault(gone, 404) == f"Instance {server} has no tag 'nope'"
    long = "x" * 61
    response = member.compute("PUT", f"{path}/{long}", version="2.26")
    assert _fault(response, 400) == (
        f"Tag '{long}' is invalid. It must be a non empty string without characters '/' "
        f"and ','. Validation error message: '{long}' is too long")
    comma = member.compute("PUT", f"{path}/a,b", version="2.26")
    assert _fault(comma, 400).endswith("Validation error message: 'a,b' does not match "
                                       "'^[^,/]*$'")
    body = member.compute("PUT", f"{path}/ok", version="2.26", json={})
    assert _fault(body, 400) == "{} is not of type 'null'"
    bad_list = member.compute("PUT", path, version="2.26", json={"tags": ["a/b"]})
    assert _fault(bad_list, 400).startswith("Invalid input for field/attribute 0.")
    no_key = member.compute("PUT", path, version="2.26", json={"tag": []})
    assert _fault(no_key, 400) == "'tags' is a required property"


def test_fifty_tags_at_most(member: ApiSession, server: str) -> None:
    path = f"/servers/{server}/tags"
    fifty = [f"t{i}" for i in range(50)]
    assert member.compute("PUT", path, version="2.26", json={"tags": fifty}).status_code == 200
    one_more = member.compute("PUT", f"{path}/t50", version="2.26")
    assert _fault(one_more, 400) == "The number of tags exceeded the per-server limit 50"
    # NOTE: Nova counts before it looks, so even a tag the server has is refused.
    existing = member.compute("PUT", f"{path}/t0", version="2.26")
    assert _fault(existing, 400) == "The number of tags exceeded the per-server limit 50"
    too_many = member.compute("PUT", path, version="2.26", json={"tags": [*fifty, "t50"]})
    assert "is too long" in _fault(too_many, 400)


def test_tag_changes_need_a_settled_state(member: ApiSession, errored: str) -> None:
    path = f"/servers/{errored}/tags"
    for method, sub, action in (("PUT", "/a", "update tag"), ("DELETE", "/a", "delete tag"),
                                ("DELETE", "", "delete tags")):
        response = member.compute(method, path + sub, version="2.26")
        assert _fault(response, 409) == (
            f"Cannot '{action}' instance {errored} while it is in vm_state error")
    replace = member.compute("PUT", path, version="2.26", json={"tags": ["a"]})
    assert _fault(replace, 409) == (
        f"Cannot 'update tags' instance {errored} while it is in vm_state error")
    assert member.compute("GET", path, version="2.26").json() == {"tags": []}


def test_tags_given_at_create(member: ApiSession) -> None:
    server_id, _ = _create(member, version="2.52", tags=["red", "blue"], networks="auto")
    try:
        _wait(member, server_id, {"ACTIVE"})
        listed = member.compute("GET", f"/servers/{server_id}/tags", version="2.52").json()
        assert sorted(listed["tags"]) == ["blue", "red"]
    finally:
        member.compute("DELETE", f"/servers/{server_id}")


# -- ips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "2.1", "latest"])
def test_ips(member: ApiSession, booted: tuple[str, str], version: str | None) -> None:
    server_id = booted[0]
    body = validate(member.compute("GET", f"/servers/{server_id}/ips", version=version),
                    base_schema.list_addresses)
    addresses = body["addresses"]
    assert addresses, "an ACTIVE server on the default network has an address"
    shown = member.compute("GET", f"/servers/{server_id}").json()["server"]["addresses"]
    for network, entries in addresses.items():
        assert all(set(e) == {"addr", "version"} for e in entries)
        assert [(e["addr"], e["version"]) for e in entries] == [
            (e["addr"], e["version"]) for e in shown[network]]
        one = validate(member.compute("GET", f"/servers/{server_id}/ips/{network}",
                                      version=version),
                       base_schema.list_addresses_by_network)
        assert one == {network: entries}
    unknown = member.compute("GET", f"/servers/{server_id}/ips/no-such-net", version=version)
    assert _fault(unknown, 404) == "Instance is not a member of specified network"


def test_strict_queries_from_2_102(member: ApiSession, booted: tuple[str, str]) -> None:
    server_id = booted[0]
    for sub in ("metadata", "ips", f"os-instance-actions/{booted[1]}"):
        path = f"/servers/{server_id}/{sub}"
        assert member.compute("GET", path, params={"x": "1"}, version="2.101").status_code == 200
        response = member.compute("GET", path, params={"x": "1"}, version="2.102")
        assert "Additional properties are not allowed" in _fault(response, 400)
    # NOTE: the tag GETs never became strict.
    tags = member.compute("GET", f"/servers/{server_id}/tags", params={"x": "1"},
                          version="2.102")
    assert tags.status_code == 200


# -- instance actions ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ACTION_VERSIONS)
def test_actions_list_validates(member: ApiSession, booted: tuple[str, str],
                                version: str | None) -> None:
    server_id, request_id = booted
    response = member.compute("GET", f"/servers/{server_id}/os-instance-actions",
                              version=version)
    body = validate(response, _schema(member, version).list_instance_actions)
    (create,) = [a for a in body["instanceActions"] if a["request_id"] == request_id]
    assert create["action"] == "create"
    assert create["instance_uuid"] == server_id
    assert create["project_id"] == member.project_id
    assert create["user_id"] == member.user_id
    assert create["message"] is None
    assert ("updated_at" in create) == (version in ("2.58", "2.62", "2.66", "2.84", "latest"))


@pytest.mark.parametrize("version", ACTION_VERSIONS)
@pytest.mark.parametrize("who", ["member", "admin"])
def test_action_show_validates(member: ApiSession, admin: ApiSession, booted: tuple[str, str],
                               version: str | None, who: str) -> None:
    server_id, request_id = booted
    session = member if who == "member" else admin
    response = session.compute("GET", f"/servers/{server_id}/os-instance-actions/{request_id}",
                               version=version)
    body = validate(response, _schema(session, version).show_instance_action)
    action = body["instanceAction"]
    assert action["action"] == "create" and action["request_id"] == request_id
    number = None if version is None else (_latest(member) if version == "latest" else version)
    minor = int(number.split(".")[1]) if number else 1
    if who == "member" and minor < 51:
        assert "events" not in action
        return
    (event,) = action["events"]
    assert event["event"] == "compute__do_build_and_run_instance"
    assert event["result"] == "Success" and event["finish_time"] is not None
    assert ("traceback" in event) == (who == "admin")
    assert ("hostId" in event) == (minor >= 62)
    assert ("host" in event) == (who == "admin" and minor >= 62)
    assert ("details" in event) == (who == "admin" and minor >= 84)
    if minor >= 62:
        server = member.compute("GET", f"/servers/{server_id}").json()["server"]
        assert event["hostId"] == server["hostId"] != ""


def test_unknown_action_is_404(member: ApiSession, booted: tuple[str, str]) -> None:
    server_id = booted[0]
    response = member.compute("GET", f"/servers/{server_id}/os-instance-actions/req-nope")
    assert _fault(response, 404) == "Action req-nope not found"


def test_action_paging_and_filters(member: ApiSession, booted: tuple[str, str]) -> None:
    server_id, request_id = booted
    path = f"/servers/{server_id}/os-instance-actions"
    first = member.compute("GET", path, params={"limit": 1}, version="2.58")
    body = validate(first, _schema(member, "2.58").list_instance_actions)
    assert [a["request_id"] for a in body["instanceActions"]] == [request_id]
    (link,) = body["links"]
    assert link["rel"] == "next"
    assert link["href"] == (f"{member.compute_url}/servers/{server_id}/os-instance-actions"
                            f"?limit=1&marker={request_id}")
    rest = member.http.get(link["href"], headers={"X-Auth-Token": member.token,
                                                  "X-OpenStack-Nova-API-Version": "2.58"})
    assert rest.json() == {"instanceActions": []}
    whole = member.compute("GET", path, version="2.58").json()
    assert "links" not in whole
    assert member.compute("GET", path, params={"limit": 0}, version="2.58").json() == {
        "instanceActions": []}
    marker = member.compute("GET", path, params={"marker": "req-nope"}, version="2.58")
    assert _fault(marker, 400) == "Marker None could not be found."
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = member.compute("GET", path, params={"changes-since": future}, version="2.58")
    assert later.json() == {"instanceActions": []}
    since = member.compute("GET", path, params={"changes-since": past}, version="2.58").json()
    assert request_id in [a["request_id"] for a in since["instanceActions"]]
    before = member.compute("GET", path, params={"changes-before": past}, version="2.66")
    assert before.json() == {"instanceActions": []}
    crossed = member.compute("GET", path, params={"changes-since": future,
                                                  "changes-before": past}, version="2.66")
    assert _fault(crossed, 400) == ("The value of changes-since must be less than or equal "
                                    "to changes-before.")
    # Query checks: none before 2.58, strict from it; changes-before only from 2.66.
    assert member.compute("GET", path, params={"limit": "x"}, version="2.57").status_code == 200
    assert _fault(member.compute("GET", path, params={"limit": "x"}, version="2.58"), 400)
    unknown = member.compute("GET", path, params={"changes-before": past}, version="2.58")
    assert "Additional properties are not allowed" in _fault(unknown, 400)
    bad_time = member.compute("GET", path, params={"changes-since": "yesterday"},
                              version="2.58")
    assert _fault(bad_time, 400).startswith("Invalid input for query parameters changes-since")


def test_deleted_servers_actions_from_2_21(member: ApiSession) -> None:
    server_id, create_id = _create(member)
    _wait(member, server_id, {"ACTIVE"})
    deleted = member.compute("DELETE", f"/servers/{server_id}")
    assert deleted.status_code == 204
    delete_id = deleted.headers["x-compute-request-id"]
    _wait_gone(member, server_id)
    path = f"/servers/{server_id}/os-instance-actions"
    old = member.compute("GET", path, version="2.20")
    assert _fault(old, 404) == f"Instance {server_id} could not be found."
    body = validate(member.compute("GET", path, version="2.21"),
                    _schema(member, "2.21").list_instance_actions)
    actions = body["instanceActions"]
    assert [(a["action"], a["request_id"]) for a in actions] == [
        ("delete", delete_id), ("create", create_id)]
    shown = validate(member.compute("GET", f"{path}/{delete_id}", version="2.84"),
                     _schema(member, "2.84").show_instance_action)
    (event,) = shown["instanceAction"]["events"]
    assert event["event"] == "compute_terminate_instance" and event["result"] == "Success"
    # Everything else about a deleted server is gone.
    for sub in ("metadata", "ips"):
        gone = member.compute("GET", f"/servers/{server_id}/{sub}")
        assert _fault(gone, 404) == f"Instance {server_id} could not be found."
    tags = member.compute("GET", f"/servers/{server_id}/tags", version="2.26")
    assert _fault(tags, 404) == f"Instance {server_id} could not be found."


def test_failed_build_action(member: ApiSession, errored: str) -> None:
    path = f"/servers/{errored}/os-instance-actions"
    (create,) = member.compute("GET", path).json()["instanceActions"]
    assert create["action"] == "create" and create["message"] == "Error"
    body = validate(member.compute("GET", f"{path}/{create['request_id']}", version="2.84"),
                    _schema(member, "2.84").show_instance_action)
    for event in body["instanceAction"]["events"]:
        assert event["result"] in ("Error", None)


# -- another project's server -------------------------------------------------------------


def test_other_projects_server_is_not_found(alt: ApiSession, booted: tuple[str, str]) -> None:
    server_id, request_id = booted
    expected = f"Instance {server_id} could not be found."
    calls: list[tuple[str, str, Any]] = [
        ("GET", "metadata", None),
        ("POST", "metadata", {"metadata": {"a": "1"}}),
        ("PUT", "metadata", {"metadata": {"a": "1"}}),
        ("GET", "metadata/a", None),
        ("PUT", "metadata/a", {"meta": {"a": "1"}}),
        ("DELETE", "metadata/a", None),
        ("GET", "ips", None),
        ("GET", "ips/private", None),
        ("GET", "os-instance-actions", None),
        ("GET", f"os-instance-actions/{request_id}", None),
    ]
    for method, sub, body in calls:
        response = alt.compute(method, f"/servers/{server_id}/{sub}", json=body)
        assert _fault(response, 404) == expected, (method, sub)


def test_other_projects_server_tags_are_forbidden(alt: ApiSession,
                                                  booted: tuple[str, str]) -> None:
    """NOTE: Nova's tag controller checks its policy against the instance mapping's
    project before it reads the instance, so here another project gets a 403."""
    server_id = booted[0]
    calls = [("GET", "", "index"), ("PUT", "", "update_all"), ("DELETE", "", "delete_all"),
             ("GET", "/a", "show"), ("PUT", "/a", "update"), ("DELETE", "/a", "delete")]
    for method, sub, rule in calls:
        response = alt.compute(method, f"/servers/{server_id}/tags{sub}", version="2.26",
                               json={"tags": ["a"]} if (method, sub) == ("PUT", "") else None)
        assert _fault(response, 403) == (
            f"Policy doesn't allow os_compute_api:os-server-tags:{rule} to be performed.")


def test_unknown_server(member: ApiSession) -> None:
    missing = str(uuid.uuid4())
    for sub in ("metadata", "ips", "os-instance-actions"):
        response = member.compute("GET", f"/servers/{missing}/{sub}")
        assert _fault(response, 404) == f"Instance {missing} could not be found."
    tags = member.compute("GET", f"/servers/{missing}/tags", version="2.26")
    assert _fault(tags, 404) == f"Instance {missing} has no mapping to a cell."


def test_admin_reaches_other_projects_server(admin: ApiSession, member: ApiSession,
                                             server: str) -> None:
    path = f"/servers/{server}/metadata"
    assert admin.compute("POST", path, json={"metadata": {"by": "admin"}}).status_code == 200
    assert member.compute("GET", path).json() == {"metadata": {"by": "admin"}}
    added = admin.compute("PUT", f"/servers/{server}/tags/admin", version="2.26")
    assert added.status_code == 201
    assert member.compute("GET", f"/servers/{server}/tags", version="2.26").json() == {
        "tags": ["admin"]}
    assert admin.compute("GET", f"/servers/{server}/ips").status_code == 200
    assert admin.compute("GET", f"/servers/{server}/os-instance-actions").status_code == 200


# -- real clients -------------------------------------------------------------------------


def test_openstacksdk(conn: Any, server: str) -> None:
    compute = conn.compute
    compute.set_server_metadata(server, colour="blue", size="large")
    assert compute.get_server_metadata(server).metadata == {"colour": "blue", "size": "large"}
    compute.delete_server_metadata(server, ["size"])
    assert compute.get_server_metadata(server).metadata == {"colour": "blue"}
    compute.add_tag_to_server(server, "sdk")
    assert compute.get_server(server).tags == ["sdk"]
    compute.remove_tag_from_server(server, "sdk")
    assert compute.get_server(server).tags == []
    actions = list(compute.server_actions(server))
    assert "create" in [a.action for a in actions]
    create = next(a for a in actions if a.action == "create")
    fetched = compute.get_server_action(create.request_id, server)
    assert fetched.action == "create" and fetched.events


def test_openstack_cli(member: ApiSession, server: str) -> None:
    account = member.account
    done = run_openstack(account, "server", "set", "--property", "k=v", "--property", "x=y",
                         "--tag", "cli", server)
    assert done.returncode == 0, done.stderr
    shown = openstack_json(account, "server", "show", server)
    assert shown["properties"] == {"k": "v", "x": "y"}
    assert member.compute("GET", f"/servers/{server}/tags", version="2.26").json() == {
        "tags": ["cli"]}
    done = run_openstack(account, "server", "unset", "--property", "k", "--tag", "cli", server)
    assert done.returncode == 0, done.stderr
    assert member.compute("GET", f"/servers/{server}/metadata").json() == {
        "metadata": {"x": "y"}}
    assert member.compute("GET", f"/servers/{server}/tags", version="2.26").json() == {
        "tags": []}
    events = openstack_json(account, "server", "event", "list", server)
    assert "create" in [e["Action"] for e in events]
    request_id = next(e["Request ID"] for e in events if e["Action"] == "create")
    event = openstack_json(account, "server", "event", "show", server, request_id)
    assert event["action"] == "create"


def test_a_tag_of_any_letters_answers_with_an_encoded_location(
        member: ApiSession, server: str) -> None:
    """A tag is any text but ``/`` and ``,``: one in Japanese is stored and its Location
    is the tag's URL, percent-encoded (a header carries ASCII only)."""
    path = f"/servers/{server}/tags"
    created = member.compute("PUT", f"{path}/日本", version="2.26")
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith(f"/servers/{server}/tags/%E6%97%A5%E6%9C%AC")
    assert member.compute("GET", f"{path}/%E6%97%A5%E6%9C%AC",
                          version="2.26").status_code == 204
    assert member.compute("GET", path, version="2.26").json() == {"tags": ["日本"]}


@pytest.mark.parametrize("tag", ["a%0D%0Ab", "a%0Ab", "a%00b", "%09tab", "a%7Fb"])
def test_a_tag_with_a_control_character_is_refused_and_not_stored(
        member: ApiSession, server: str, tag: str) -> None:
    """NOTE: Nova's tag pattern lets control characters through; we refuse them (400, the
    tag controller's words): a tag travels in URLs and headers, and a NUL cannot be
    stored in PostgreSQL."""
    path = f"/servers/{server}/tags"
    message = _fault(member.compute("PUT", f"{path}/{tag}", version="2.26"), 400)
    assert "contains a control character" in message
    raw = httpx.URL(f"http://x/{tag}").path[1:]
    refused = member.compute("PUT", path, version="2.26", json={"tags": ["ok", raw]})
    assert refused.status_code == 400, refused.text
    assert member.compute("GET", path, version="2.26").json() == {"tags": []}
