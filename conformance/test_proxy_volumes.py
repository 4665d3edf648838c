"""Nova's volume proxies until 2.35, over Cinder: ``/os-volumes`` and ``/os-snapshots`` in
Nova's camelCase shapes (one attachment or ``[{}]``), create (from a snapshot, its size by
default), delete, ``limit``/``offset``, Cinder's refusals as Nova's 400/404, each
project's own; ``/os-volumes_boot`` as the servers' alias (until 2.102, its own actions);
a 404 from 2.36."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import snapshots as tempest_snap
from tempest.lib.api_schema.response.compute.v2_1 import volumes as tempest_vol

from conformance.client import ApiSession
from conformance.schemas import validate
from conformance.test_aggregates import fault
from conformance.test_servers import Servers, gone, image_id, servers, wait_for  # noqa: F401
from conformance.test_volume_attachments import attached_volume
from conformance.volume_client import (  # noqa: F401
    VolumeFactory,
    cinder,
    make_volume,
    wait_gone,
    wait_snapshot,
    wait_volume,
)

V = "2.35"


def create(session: ApiSession, **volume: Any) -> dict[str, Any]:
    response = session.compute("POST", "/os-volumes", version=V, json={"volume": volume})
    made = validate(response, tempest_vol.create_get_volume)["volume"]
    assert response.headers["location"].endswith(f"/os-volumes/{made['id']}")
    return made  # type: ignore[no-any-return]


def remove(session: ApiSession, volume_id: str) -> None:
    validate(session.compute("DELETE", f"/os-volumes/{volume_id}", version=V),
             tempest_vol.delete_volume)
    wait_gone(session, f"/volumes/{volume_id}")


def test_create_show_list_delete(member: ApiSession, alt: ApiSession) -> None:
    made = create(member, size=1, display_name="proxied", display_description="d",
                  metadata={"k": "v"})
    assert (made["displayName"], made["displayDescription"]) == ("proxied", "d")
    assert (made["size"], made["metadata"], made["snapshotId"]) == (1, {"k": "v"}, None)
    assert made["attachments"] == [{}]
    wait_volume(member, made["id"], "available")
    shown = validate(member.compute("GET", f"/os-volumes/{made['id']}", version=V),
                     tempest_vol.create_get_volume)["volume"]
    cinder_view = cinder(member, "GET", f"/volumes/{made['id']}").json()["volume"]
    assert shown["status"] == "available"
    assert shown["volumeType"] == cinder_view["volume_type"]
    assert shown["availabilityZone"] == cinder_view["availability_zone"]
    assert shown["createdAt"].startswith(cinder_view["created_at"][:19])
    for path in ("/os-volumes", "/os-volumes/detail"):
        listed = validate(member.compute("GET", path, version=V),
                          tempest_vol.list_volumes)["volumes"]
        assert made["id"] in [v["id"] for v in listed]
    theirs = alt.compute("GET", "/os-volumes", version=V).json()["volumes"]
    assert made["id"] not in [v["id"] for v in theirs]
    assert fault(alt.compute("GET", f"/os-volumes/{made['id']}", version=V), 404) == (
        f"Volume {made['id']} could not be found.")
    assert fault(alt.compute("DELETE", f"/os-volumes/{made['id']}", version=V), 404)
    remove(member, made["id"])
    assert fault(member.compute("GET", f"/os-volumes/{made['id']}", version=V), 404)


def test_attached_volume(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    """An in-use volume shows its (first) attachment: the server and the device; Cinder's
    400 for deleting it is Nova's."""
    volume = make_volume()
    server, _attachment = attached_volume(member, volume["id"])
    wait_volume(member, volume["id"], "in-use")
    shown = validate(member.compute("GET", f"/os-volumes/{volume['id']}", version=V),
                     tempest_vol.create_get_volume)["volume"]
    assert shown["status"] == "in-use"
    assert shown["attachments"] == [{"id": volume["id"], "volumeId": volume["id"],
                                     "serverId": server, "device": "/dev/vdb"}]
    message = fault(member.compute("DELETE", f"/os-volumes/{volume['id']}", version=V), 400)
    assert message.startswith("Invalid input received: Invalid volume: ")


def test_paging(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    for _ in range(2):
        make_volume()
    everything = member.compute("GET", "/os-volumes", version=V).json()["volumes"]
    assert len(everything) >= 2
    one = member.compute("GET", "/os-volumes", version=V, params={"limit": "1"}).json()
    assert one["volumes"] == everything[:1]
    rest = member.compute("GET", "/os-volumes/detail", version=V,
                          params={"offset": "1"}).json()
    assert rest["volumes"] == everything[1:]
    fault(member.compute("GET", "/os-volumes", version=V, params={"limit": "-1"}), 400)


@pytest.mark.parametrize("body", [
    {"volume": {}}, {"volume": {"size": 0}}, {"volume": {"size": "0"}},
    {"volume": {"size": "a"}}, {"volume": {"size": 1, "name": "x"}}, {"size": 1},
])
def test_create_refused(member: ApiSession, body: dict[str, Any]) -> None:
    fault(member.compute("POST", "/os-volumes", version=V, json=body), 400)


@pytest.mark.parametrize(("volume", "cinder_says"), [
    ({"size": 1, "metadata": {"a": 1}}, "Invalid input for field/attribute a. Value: 1. "),
    ({"size": 1, "display_name": "n" * 256}, "name has 256 characters, more than 255."),
    ({"size": 1, "availability_zone": "nowhere"}, "Availability zone 'nowhere' is invalid"),
])
def test_cinder_refusals(member: ApiSession, volume: dict[str, Any], cinder_says: str) -> None:
    """Cinder's 400 as Nova passes it on: cinderclient's text in Nova's ``InvalidInput``."""
    message = fault(member.compute("POST", "/os-volumes", version=V,
                                   json={"volume": volume}), 400)
    assert message.startswith("Invalid input received: "), message
    assert cinder_says in message and "(HTTP 400) (Request-ID: req-" in message


def test_missing_things(member: ApiSession) -> None:
    missing = str(uuid.uuid4())
    assert fault(member.compute("GET", f"/os-volumes/{missing}", version=V), 404) == (
        f"Volume {missing} could not be found.")
    assert fault(member.compute("DELETE", f"/os-volumes/{missing}", version=V), 404)
    assert fault(member.compute("POST", "/os-volumes", version=V,
                                json={"volume": {"size": 1, "snapshot_id": missing}}),
                 404) == f"Snapshot {missing} could not be found."
    assert fault(member.compute("GET", f"/os-snapshots/{missing}", version=V), 404) == (
        f"Snapshot {missing} could not be found.")
    assert fault(member.compute("DELETE", f"/os-snapshots/{missing}", version=V), 404)
    fault(member.compute("DELETE", "/os-volumes/", version=V), 404)


def test_snapshots(member: ApiSession, alt: ApiSession,
                   make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(size=2)
    response = member.compute("POST", "/os-snapshots", version=V, json={"snapshot": {
        "volume_id": volume["id"], "display_name": "snap", "display_description": "d"}})
    snap = validate(response, tempest_snap.create_get_snapshot)["snapshot"]
    assert (snap["volumeId"], snap["size"], snap["displayName"]) == (volume["id"], 2, "snap")
    wait_snapshot(member, snap["id"], "available")
    shown = validate(member.compute("GET", f"/os-snapshots/{snap['id']}", version=V),
                     tempest_snap.create_get_snapshot)["snapshot"]
    assert shown["status"] == "available"
    for path in ("/os-snapshots", "/os-snapshots/detail"):
        listed = validate(member.compute("GET", path, version=V),
                          tempest_snap.list_snapshots)["snapshots"]
        assert snap["id"] in [s["id"] for s in listed]
    assert snap["id"] not in [
        s["id"] for s in alt.compute("GET", "/os-snapshots", version=V).json()["snapshots"]]
    from_snapshot = create(member, snapshot_id=snap["id"], size="2")
    assert (from_snapshot["snapshotId"], from_snapshot["size"]) == (snap["id"], 2)
    wait_volume(member, from_snapshot["id"], "available")
    remove(member, from_snapshot["id"])
    # A volume with snapshots is Cinder's 400, as Nova passes it on.
    message = fault(member.compute("DELETE", f"/os-volumes/{volume['id']}", version=V), 400)
    assert message.startswith("Invalid input received: Invalid volume: ")
    assert "(HTTP 400) (Request-ID: req-" in message
    fault(member.compute("POST", "/os-snapshots", version=V,
                         json={"snapshot": {"volume_id": volume["id"], "force": "maybe"}}),
          400)
    validate(member.compute("DELETE", f"/os-snapshots/{snap['id']}", version=V),
             tempest_snap.delete_snapshot)
    wait_gone(member, f"/snapshots/{snap['id']}")


def test_volumes_boot_is_servers_alias(member: ApiSession) -> None:
    listed = member.compute("GET", "/servers", version=V).json()
    alias = member.compute("GET", "/os-volumes_boot", version=V)
    assert alias.status_code == 200, alias.text
    assert alias.json() == listed
    detail = member.compute("GET", "/os-volumes_boot/detail", version="2.102")
    assert detail.status_code == 200, detail.text
    missing = str(uuid.uuid4())
    fault(member.compute("GET", f"/os-volumes_boot/{missing}", version=V), 404)
    assert fault(member.compute("POST", f"/os-volumes_boot/{missing}/action", version=V,
                                json={"pause": None}), 400) == "There is no such action: pause"
    fault(member.compute("POST", f"/os-volumes_boot/{missing}/action", version=V,
                         json={"os-stop": None}), 404)
    fault(member.compute("GET", "/os-volumes_boot", version="2.103"), 404)


def test_volumes_boot_creates_and_deletes(member: ApiSession,
                                          servers: Servers) -> None:  # noqa: F811
    """``POST /os-volumes_boot`` is a server create; a server action of the alias's and a
    delete go through it too."""
    response = member.compute("POST", "/os-volumes_boot", version=V,
                              json={"server": servers.body(version=V)})
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    servers.made.append(server_id)
    wait_for(member, server_id, "ACTIVE")
    shown = member.compute("GET", f"/os-volumes_boot/{server_id}", version=V)
    assert shown.json() == member.compute("GET", f"/servers/{server_id}", version=V).json()
    stopped = member.compute("POST", f"/os-volumes_boot/{server_id}/action", version=V,
                             json={"os-stop": None})
    assert stopped.status_code == 202, stopped.text
    wait_for(member, server_id, "SHUTOFF")
    deleted = member.compute("DELETE", f"/os-volumes_boot/{server_id}", version=V)
    assert deleted.status_code == 204, deleted.text
    gone(member, server_id)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/os-volumes"), ("POST", "/os-volumes"), ("GET", "/os-volumes/detail"),
    ("GET", f"/os-volumes/{uuid.UUID(int=1)}"), ("DELETE", f"/os-volumes/{uuid.UUID(int=1)}"),
    ("GET", "/os-snapshots"), ("POST", "/os-snapshots"), ("GET", "/os-snapshots/detail"),
    ("GET", f"/os-snapshots/{uuid.UUID(int=1)}"),
    ("DELETE", f"/os-snapshots/{uuid.UUID(int=1)}"),
])
def test_gone_from_2_36(member: ApiSession, method: str, path: str) -> None:
    kwargs: dict[str, Any] = {"json": {}} if method == "POST" else {}
    fault(member.compute(method, path, version="2.36", **kwargs), 404)
