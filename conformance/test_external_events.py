"""Server external events (``/os-server-external-events``) and assisted volume snapshots
(``/os-assisted-volume-snapshots``), the calls other services make, on every backend:
each event's code (200, 400 without a required tag, 404 for no such server, 422 for a
server with no host) and the 200/207 of the whole, the event names each microversion
accepts, ``power-update`` powering a server off and on with its instance actions,
``volume-extended``'s action, who may call, and the snapshot calls answered as Nova
answers them for a volume attached to no server.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import server_external_events as schema

from conformance.client import ApiSession
from conformance.polling import settle
from conformance.schemas import validate
from conformance.test_aggregates import fault
from conformance.test_servers import (  # noqa: F401
    Servers,
    errored,
    huge_flavor,
    image_id,
    made,
    servers,
)

UNKNOWN = str(uuid.UUID(int=42))
NAMES_BY_VERSION = [("volume-extended", "2.51"), ("power-update", "2.76"),
                    ("accelerator-request-bound", "2.82"), ("volume-reimaged", "2.93")]
NETWORK_EVENTS = ["network-changed", "network-vif-plugged", "network-vif-unplugged",
                  "network-vif-deleted"]


def send(session: ApiSession, *events: dict[str, Any],
         version: str | None = None) -> httpx.Response:
    return session.compute("POST", "/os-server-external-events",
                           json={"events": list(events)}, version=version)


def actions(session: ApiSession, server_id: str) -> list[str]:
    listed = session.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    return [a["action"] for a in listed["instanceActions"]]


def events_of(session: ApiSession, server_id: str, action: str) -> list[dict[str, Any]]:
    listed = session.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    request_id = next(a["request_id"] for a in listed["instanceActions"]
                      if a["action"] == action)
    shown = session.compute("GET", f"/servers/{server_id}/os-instance-actions/{request_id}")
    found: list[dict[str, Any]] = shown.json()["instanceAction"]["events"]
    return found


@pytest.fixture(scope="module")
def server(made: Servers, member: ApiSession) -> dict[str, Any]:  # noqa: F811
    return made.boot(member)


# -- delivery codes ------------------------------------------------------------------------

def test_network_events_are_delivered(admin: ApiSession, server: dict[str, Any]) -> None:
    """Tempest's schema; each event echoed with ``completed`` and 200, its status and tag
    as given (``in-progress`` is answered ``completed``)."""
    sent = [{"name": name, "server_uuid": server["id"], "tag": f"t{i}"}
            for i, name in enumerate(NETWORK_EVENTS)]
    sent[0]["status"] = "in-progress"
    answered = validate(send(admin, *sent), schema.create)["events"]
    assert answered == [{**event, "status": "completed", "code": 200} for event in sent]


def test_failures_make_a_207(admin: ApiSession, server: dict[str, Any],
                             errored: dict[str, Any]) -> None:  # noqa: F811
    """No such server: 404; a server with no host (it never found one): 422; a
    ``power-update`` with no tag: 400; the rest still 200."""
    response = send(admin,
                    {"name": "network-changed", "server_uuid": UNKNOWN},
                    {"name": "network-vif-plugged", "server_uuid": errored["id"]},
                    {"name": "power-update", "server_uuid": server["id"]},
                    {"name": "network-changed", "server_uuid": server["id"]},
                    version="2.76")
    assert response.status_code == 207, response.text
    assert [(e["code"], e["status"]) for e in response.json()["events"]] == [
        (404, "failed"), (422, "failed"), (400, "failed"), (200, "completed")]
    assert "tag" not in response.json()["events"][2]


def test_all_failed_is_still_207(admin: ApiSession) -> None:
    response = send(admin, {"name": "network-changed", "server_uuid": UNKNOWN})
    assert response.status_code == 207, response.text
    assert response.json() == {"events": [{"name": "network-changed",
                                           "server_uuid": UNKNOWN, "status": "failed",
                                           "code": 404}]}


@pytest.mark.parametrize(("name", "since"), NAMES_BY_VERSION)
def test_event_names_by_version(admin: ApiSession, server: dict[str, Any], name: str,
                                since: str) -> None:
    """Refused by the schema before the version that added it, delivered from it (the
    tag these need given)."""
    major, minor = since.split(".")
    before = f"{major}.{int(minor) - 1}"
    event = {"name": name, "server_uuid": server["id"], "tag": "vol-1"}
    refused = send(admin, event, version=before)
    assert fault(refused, 400).startswith("Invalid input for field/attribute name. "
                                          f"Value: {name}. '{name}' is not one of [")
    done = send(admin, event, version=since)
    assert (done.status_code, done.json()["events"][0]["code"]) == (200, 200), done.text


@pytest.mark.parametrize(("body", "message"), [
    ({"events": []}, "Invalid input for field/attribute events. Value: []. [] should be non-empty"),
    ({"events": [{"name": "network-changed", "server_uuid": "nope"}]},
     "Invalid input for field/attribute server_uuid. Value: nope. 'nope' is not a 'uuid'"),
    ({"events": [{"name": "network-changed", "server_uuid": UNKNOWN, "status": "done"}]},
     "Invalid input for field/attribute status. Value: done. 'done' is not one of "
     "['failed', 'completed', 'in-progress']"),
    ({"events": [{"name": "network-changed"}]},
     "Invalid input for field/attribute 0. Value: {'name': 'network-changed'}. "
     "'server_uuid' is a required property"),
])
def test_bad_requests(admin: ApiSession, body: dict[str, Any], message: str) -> None:
    response = admin.compute("POST", "/os-server-external-events", json=body)
    assert fault(response, 400) == message


def test_only_services_and_admins(member: ApiSession, server: dict[str, Any]) -> None:
    response = send(member, {"name": "network-changed", "server_uuid": server["id"]})
    assert fault(response, 403) == ("Policy doesn't allow "
                                    "os_compute_api:os-server-external-events:create to be "
                                    "performed.")


# -- what accepted events do ---------------------------------------------------------------------

@pytest.mark.emulator_only
def test_power_update_powers_the_server_off_and_on(admin: ApiSession, member: ApiSession,
                                                   servers: Servers) -> None:  # noqa: F811
    """POWER_OFF stops an active server and records ``stop`` with its
    ``compute_power_update`` event; POWER_ON starts it again (``start``); an event for the
    state it is already in changes nothing but is recorded all the same. (The emulator
    does what Ironic's driver does; a libvirt Nova records the actions and changes
    nothing.)"""
    server = servers.boot(member)
    off = {"name": "power-update", "server_uuid": server["id"], "tag": "POWER_OFF"}
    assert send(admin, off, version="2.76").status_code == 200
    stopped = settle(member, server["id"], "SHUTOFF")
    assert stopped["OS-EXT-STS:power_state"] == 4
    assert actions(member, server["id"])[0] == "stop"
    assert [(e["event"], e["result"]) for e in events_of(admin, server["id"], "stop")] == \
        [("compute_power_update", "Success")]
    assert send(admin, off, version="2.76").status_code == 200
    assert actions(member, server["id"])[:2] == ["stop", "stop"]
    assert settle(member, server["id"], "SHUTOFF")["OS-EXT-STS:power_state"] == 4
    assert send(admin, {**off, "tag": "POWER_ON"}, version="2.76").status_code == 200
    assert settle(member, server["id"], "ACTIVE")["OS-EXT-STS:power_state"] == 1
    assert actions(member, server["id"])[0] == "start"


def test_power_update_with_another_tag_does_nothing(admin: ApiSession,
                                                    server: dict[str, Any]) -> None:
    before = actions(admin, server["id"])
    response = send(admin, {"name": "power-update", "server_uuid": server["id"],
                            "tag": "POWER_SIDEWAYS"}, version="2.76")
    assert response.json()["events"][0]["code"] == 200
    assert actions(admin, server["id"]) == before


def test_volume_extended_records_its_action(admin: ApiSession,
                                            server: dict[str, Any]) -> None:
    response = send(admin, {"name": "volume-extended", "server_uuid": server["id"],
                            "tag": str(uuid.UUID(int=7))}, version="2.51")
    assert response.status_code == 200, response.text
    assert actions(admin, server["id"])[0] == "extend_volume"
    assert [(e["event"], e["result"]) for e in
            events_of(admin, server["id"], "extend_volume")] == \
        [("compute_extend_volume", "Success")]


# -- assisted volume snapshots ------------------------------------------------------------------

SNAPSHOT = {"snapshot": {"volume_id": "vol-1", "create_info": {
    "snapshot_id": "snap-1", "type": "qcow2", "new_file": "new.qcow2"}}}


def test_snapshot_create_of_a_volume_attached_nowhere(admin: ApiSession) -> None:
    response = admin.compute("POST", "/os-assisted-volume-snapshots", json=SNAPSHOT)
    assert fault(response, 400) == "No volume Block Device Mapping with id vol-1."


@pytest.mark.parametrize(("params", "message"), [
    ({}, "'delete_info'"),
    ({"delete_info": "{}"}, "'volume_id'"),
    ({"delete_info": "nojson"}, "Expecting value: line 1 column 1 (char 0)"),
    ({"delete_info": '{"volume_id": "vol-1"}'}, "No volume Block Device Mapping with id "
                                                "vol-1."),
])
def test_snapshot_delete(admin: ApiSession, params: dict[str, str], message: str) -> None:
    response = admin.compute("DELETE", "/os-assisted-volume-snapshots/snap-1", params=params)
    assert fault(response, 400) == message


@pytest.mark.parametrize(("body", "message"), [
    ({"snapshot": {"volume_id": "v"}},
     "Invalid input for field/attribute snapshot. Value: {'volume_id': 'v'}. "
     "'create_info' is a required property"),
    ({"snapshot": {**SNAPSHOT["snapshot"], "create_info": {
        "snapshot_id": "s", "type": "raw", "new_file": "f"}}},
     "Invalid input for field/attribute type. Value: raw. 'raw' is not one of ['qcow2']"),
])
def test_snapshot_create_schema(admin: ApiSession, body: dict[str, Any],
                                message: str) -> None:
    response = admin.compute("POST", "/os-assisted-volume-snapshots", json=body)
    assert fault(response, 400) == message


def test_snapshot_delete_query_is_closed_from_2_75(admin: ApiSession) -> None:
    response = admin.compute("DELETE", "/os-assisted-volume-snapshots/s", version="2.75",
                             params={"delete_info": "{}", "x": "1"})
    assert fault(response, 400) == "Additional properties are not allowed ('x' was unexpected)"


@pytest.mark.parametrize(("method", "rule"), [("POST", "create"), ("DELETE", "delete")])
def test_snapshots_only_services_and_admins(member: ApiSession, method: str,
                                            rule: str) -> None:
    path = "/os-assisted-volume-snapshots" + ("/s" if method == "DELETE" else "")
    response = member.compute(method, path, json=SNAPSHOT if method == "POST" else None)
    assert fault(response, 403) == ("Policy doesn't allow "
                                    f"os_compute_api:os-assisted-volume-snapshots:{rule} to "
                                    "be performed.")
