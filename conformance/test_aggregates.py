"""Host aggregates (``/os-aggregates``) and the availability zones made of them: every
response against Tempest's schemas at the versions that change them (2.41 adds ``uuid``),
Nova's faults word for word, zones a server is built in, the backend's zones seeded as
aggregates, and the ``openstack`` CLI.

Every aggregate a test makes is deleted (its hosts removed first) when the test ends, so
the zones the other tests see are the backend's own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import availability_zone as az_schema
from tempest.lib.services.compute.aggregates_client import AggregatesClient

from conformance.bios_image import boot_image
from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.polling import settle
from conformance.schemas import for_version, validate

UNKNOWN_IMAGE = "8d8d5b5d-1a53-4bd1-a3d3-3e1c7a6a2c9f"


def unique(prefix: str = "agg") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def fault(response: httpx.Response, status: int) -> str:
    """The message of a Nova fault with ``status``."""
    assert response.status_code == status, response.text
    (inner,) = response.json().values()
    assert inner["code"] == status
    return str(inner["message"])


def zone_hosts(admin: ApiSession) -> dict[str, list[str]]:
    """zone -> its compute hosts, from the admin's zone detail (the internal zone left out)."""
    body = admin.compute("GET", "/os-availability-zone/detail").json()
    return {z["zoneName"]: sorted(z["hosts"] or {}) for z in body["availabilityZoneInfo"]
            if z["zoneName"] != "internal"}


def free_host(admin: ApiSession) -> str:
    """A host of the default zone (in no aggregate with a zone)."""
    return zone_hosts(admin)["nova"][0]


class Aggregates:
    """Makes aggregates as the admin; ``clean`` empties and deletes them all."""

    def __init__(self, admin: ApiSession) -> None:
        self.admin = admin
        self.made: list[int] = []

    def create(self, zone: str | None = None, name: str | None = None,
               version: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name or unique()}
        if zone is not None:
            body["availability_zone"] = zone
        response = self.admin.compute("POST", "/os-aggregates", json={"aggregate": body},
                                      version=version)
        assert response.status_code == 200, response.text
        created: dict[str, Any] = response.json()["aggregate"]
        self.made.append(created["id"])
        return created

    def act(self, aggregate_id: int, action: str, version: str | None = None,
            **body: Any) -> httpx.Response:
        return self.admin.compute("POST", f"/os-aggregates/{aggregate_id}/action",
                                  json={action: body}, version=version)

    def clean(self) -> None:
        for aggregate_id in self.made:
            shown = self.admin.compute("GET", f"/os-aggregates/{aggregate_id}")
            if shown.status_code == 404:
                continue
            for host in shown.json()["aggregate"]["hosts"]:
                removed = self.act(aggregate_id, "remove_host", host=host)
                assert removed.status_code == 200, removed.text
            deleted = self.admin.compute("DELETE", f"/os-aggregates/{aggregate_id}")
            assert deleted.status_code == 200, deleted.text


@pytest.fixture
def aggregates(admin: ApiSession) -> Iterator[Aggregates]:
    made = Aggregates(admin)
    yield made
    made.clean()


@pytest.fixture(scope="module")
def image_id(member: ApiSession, admin: ApiSession, target: Target) -> str:
    return str(boot_image(member, admin, target.backend)["id"])


def delete_server(admin: ApiSession, server_id: str) -> None:
    admin.compute("DELETE", f"/servers/{server_id}")
    deadline = time.monotonic() + 60
    while admin.compute("GET", f"/servers/{server_id}").status_code != 404:
        assert time.monotonic() < deadline, f"{server_id} was not deleted"
        time.sleep(0.05)


# -- every operation, against Tempest's schemas -------------------------------------------

@pytest.mark.parametrize("version", ["2.1", "2.40", "2.41", "latest"])
def test_every_operation_at_each_version(admin: ApiSession, aggregates: Aggregates,
                                         version: str) -> None:
    schema = for_version(AggregatesClient, version if version != "latest" else "2.100")
    with_uuid = version in ("2.41", "latest")
    host = free_host(admin)
    name, zone = unique(), unique("zone")
    response = admin.compute("POST", "/os-aggregates", version=version, json={
        "aggregate": {"name": name, "availability_zone": zone}})
    created = validate(response, schema.create_aggregate)["aggregate"]
    aggregates.made.append(created["id"])
    assert (created["name"], created["availability_zone"], created["updated_at"]) == \
        (name, zone, None)
    assert ("uuid" in created) == with_uuid
    path = f"/os-aggregates/{created['id']}"

    shown = validate(admin.compute("GET", path, version=version),
                     schema.get_aggregate)["aggregate"]
    assert (shown["hosts"], shown["metadata"]) == ([], {"availability_zone": zone})
    assert (shown.get("uuid"), shown["deleted"], shown["deleted_at"]) == \
        (created.get("uuid"), False, None)

    listed = validate(admin.compute("GET", "/os-aggregates", version=version),
                      schema.list_aggregates)["aggregates"]
    assert [a for a in listed if a["id"] == created["id"]] == [shown]

    # An update's name may carry spaces; Nova strips them.
    updated = validate(admin.compute("PUT", path, version=version, json={
        "aggregate": {"name": f"  {name}-new "}}), schema.update_aggregate)["aggregate"]
    assert updated["name"] == f"{name}-new" and updated["updated_at"] is not None

    added = validate(aggregates.act(created["id"], "add_host", version, host=host),
                     schema.aggregate_add_remove_host)["aggregate"]
    assert added["hosts"] == [host]
    meta = validate(aggregates.act(created["id"], "set_metadata", version,
                                   metadata={"ssd": "true", "gone": None}),
                    schema.aggregate_set_metadata)["aggregate"]
    assert meta["metadata"] == {"availability_zone": zone, "ssd": "true"}
    assert meta["updated_at"] is not None
    removed = validate(aggregates.act(created["id"], "remove_host", version, host=host),
                       schema.aggregate_add_remove_host)["aggregate"]
    assert removed["hosts"] == []

    deleted = admin.compute("DELETE", path, version=version)
    validate(deleted, schema.delete_aggregate)
    assert deleted.content == b""
    assert fault(admin.compute("GET", path), 404) == \
        f"Aggregate {created['id']} could not be found."


def test_a_member_may_do_nothing(member: ApiSession, admin: ApiSession,
                                 aggregates: Aggregates) -> None:
    agg = aggregates.create()
    path = f"/os-aggregates/{agg['id']}"
    calls = [("GET", "/os-aggregates", None, "index"),
             ("POST", "/os-aggregates", {"aggregate": {"name": unique()}}, "create"),
             ("GET", path, None, "show"),
             ("PUT", path, {"aggregate": {"name": unique()}}, "update"),
             ("DELETE", path, None, "delete"),
             ("POST", f"{path}/action", {"add_host": {"host": free_host(admin)}}, "add_host"),
             ("POST", f"{path}/action", {"remove_host": {"host": "h"}}, "remove_host"),
             ("POST", f"{path}/action", {"set_metadata": {"metadata": {}}}, "set_metadata")]
    for method, url, body, rule in calls:
        assert fault(member.compute(method, url, json=body), 403) == \
            f"Policy doesn't allow os_compute_api:os-aggregates:{rule} to be performed."
    images = member.compute("POST", f"{path}/images", version="2.81",
                            json={"cache": [{"id": UNKNOWN_IMAGE}]})
    assert fault(images, 403) == \
        "Policy doesn't allow compute:aggregates:images to be performed."


# -- Nova's faults --------------------------------------------------------------------------

def test_create_faults(admin: ApiSession, aggregates: Aggregates) -> None:
    agg = aggregates.create()
    taken = admin.compute("POST", "/os-aggregates", json={"aggregate": {"name": agg["name"]}})
    assert fault(taken, 409) == f"Aggregate {agg['name']} already exists."
    for body, message in [
        ({"name": ""}, "Invalid input for field/attribute name. Value: . '' should be non-empty"),
        ({"name": " x"}, "An invalid 'name' value was provided. The name must be: "
                         "printable characters. Can not start or end with whitespace."),
        ({"name": "x" * 256}, f"Invalid input for field/attribute name. Value: {'x' * 256}. "
                              f"'{'x' * 256}' is too long"),
        ({"name": "x", "availability_zone": "a:b"},
         "Invalid input for field/attribute availability_zone. Value: a:b. 'a:b' is not "
         "valid under any of the given schemas"),
        ({"name": "x", "extra": 1}, "Invalid input for field/attribute aggregate. Value: "
                                    "{'name': 'x', 'extra': 1}. Additional properties are "
                                    "not allowed ('extra' was unexpected)"),
    ]:
        refused = admin.compute("POST", "/os-aggregates", json={"aggregate": body})
        assert fault(refused, 400) == message
    # A null zone is no zone.
    assert aggregates.create(zone=None)["availability_zone"] is None


@pytest.mark.parametrize("method,suffix,body", [
    ("GET", "", None), ("PUT", "", {"aggregate": {"name": "x"}}), ("DELETE", "", None),
    ("POST", "/action", {"set_metadata": {"metadata": {}}})])
def test_ids_are_integers_that_exist(admin: ApiSession, method: str, suffix: str,
                                     body: Any) -> None:
    bad = admin.compute(method, f"/os-aggregates/abc{suffix}", json=body)
    assert fault(bad, 400) == "Invalid input received: id must be an integer"
    missing = admin.compute(method, f"/os-aggregates/987654{suffix}", json=body)
    assert fault(missing, 404) == "Aggregate 987654 could not be found."


def test_update_faults(admin: ApiSession, aggregates: Aggregates) -> None:
    one, two = aggregates.create(), aggregates.create(zone=unique("zone"))
    path = f"/os-aggregates/{one['id']}"
    taken = admin.compute("PUT", path, json={"aggregate": {"name": two["name"]}})
    assert fault(taken, 409) == f"Aggregate {two['name']} already exists."
    empty = admin.compute("PUT", path, json={"aggregate": {}})
    assert fault(empty, 400) == ("Invalid input for field/attribute aggregate. Value: {}. "
                                 "{} is not valid under any of the given schemas")
    unzoned = admin.compute("PUT", f"/os-aggregates/{two['id']}",
                            json={"aggregate": {"availability_zone": None}})
    assert fault(unzoned, 400) == (
        f"Cannot update aggregate {two['id']}. Reason: Aggregate {two['name']} does not "
        "support empty named availability zone.")


def test_host_actions_faults(admin: ApiSession, aggregates: Aggregates) -> None:
    host = free_host(admin)
    zone = unique("zone")
    first = aggregates.create(zone=zone)
    assert aggregates.act(first["id"], "add_host", host=host).status_code == 200
    again = aggregates.act(first["id"], "add_host", host=host)
    assert fault(again, 409) == f"Aggregate {first['id']} already has host {host}."
    other = aggregates.create(zone=unique("zone"))
    second_zone = aggregates.act(other["id"], "add_host", host=host)
    assert fault(second_zone, 409) == (
        f"Cannot add host to aggregate {other['id']}. Reason: One or more hosts already in "
        f"availability zone(s) ['{zone}'].")
    unknown = aggregates.act(other["id"], "add_host", host="no-such-host")
    assert fault(unknown, 404) == "Compute host no-such-host could not be found."
    not_member = aggregates.act(other["id"], "remove_host", host=host)
    assert fault(not_member, 404) == f"Cannot remove host {host} in aggregate {other['id']}"
    bad_host = aggregates.act(other["id"], "add_host", host="a/b")
    assert fault(bad_host, 400).startswith("Invalid input for field/attribute host.")
    full = admin.compute("DELETE", f"/os-aggregates/{first['id']}")
    assert fault(full, 400) == (f"Cannot remove host from aggregate {first['id']}. Reason: "
                                "Host aggregate is not empty.")
    unknown_action = admin.compute("POST", f"/os-aggregates/{first['id']}/action",
                                   json={"explode": {}})
    assert fault(unknown_action, 400) == "There is no such action: explode"


def test_set_metadata_sets_deletes_and_guards_the_zone(admin: ApiSession,
                                                       aggregates: Aggregates) -> None:
    agg = aggregates.create(zone=unique("zone"))
    set_ = aggregates.act(agg["id"], "set_metadata", metadata={"a": "1", "b": "2"})
    assert set_.json()["aggregate"]["metadata"] == {
        "availability_zone": agg["availability_zone"], "a": "1", "b": "2"}
    dropped = aggregates.act(agg["id"], "set_metadata", metadata={"a": None, "c": None})
    assert dropped.json()["aggregate"]["metadata"] == {
        "availability_zone": agg["availability_zone"], "b": "2"}
    moved = aggregates.act(agg["id"], "set_metadata", metadata={"availability_zone": "z2x"})
    assert moved.json()["aggregate"]["availability_zone"] == "z2x"
    emptied = aggregates.act(agg["id"], "set_metadata", metadata={"availability_zone": None})
    assert fault(emptied, 400) == (
        f"Cannot update metadata of aggregate {agg['id']}. Reason: Aggregate {agg['name']} "
        "does not support empty named availability zone.")
    bad_key = aggregates.act(agg["id"], "set_metadata", metadata={"a/b": "1"})
    assert fault(bad_key, 400) == (
        "Invalid input for field/attribute metadata. Value: {'a/b': '1'}. 'a/b' does not "
        "match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'")


def test_the_image_cache_request(admin: ApiSession, aggregates: Aggregates,
                                 image_id: str) -> None:
    agg = aggregates.create()
    path = f"/os-aggregates/{agg['id']}/images"
    body = {"cache": [{"id": image_id}]}
    before = admin.compute("POST", path, json=body, version="2.80")
    assert before.status_code == 404, before.text
    accepted = admin.compute("POST", path, json=body, version="2.81")
    assert (accepted.status_code, accepted.content) == (202, b"")
    twice = admin.compute("POST", path, version="2.81",
                          json={"cache": [{"id": image_id}, {"id": image_id}]})
    assert fault(twice, 400) == "Duplicate images in request"
    unknown = admin.compute("POST", path, version="2.81",
                            json={"cache": [{"id": UNKNOWN_IMAGE}]})
    assert fault(unknown, 400) == f"Image {UNKNOWN_IMAGE} could not be found."
    missing = admin.compute("POST", "/os-aggregates/987654/images", json=body,
                            version="2.81")
    assert fault(missing, 404) == "Aggregate 987654 could not be found."
    for bad in ({"cache": []}, {"cache": [{"id": "x"}]}, {}):
        assert admin.compute("POST", path, json=bad, version="2.81").status_code == 400


# -- zones ------------------------------------------------------------------------------------

def test_an_aggregate_with_a_zone_makes_a_zone_servers_are_built_in(
        admin: ApiSession, member: ApiSession, aggregates: Aggregates, image_id: str) -> None:
    """The zone appears (with its host) once a host is in it; a server asked in it lands
    on that host and shows the zone; the host cannot leave the zone while it holds the
    server (Nova's message), and can after."""
    zone = unique("zone")
    host = free_host(admin)
    agg = aggregates.create(zone=zone)
    assert zone not in zone_hosts(admin)  # no host yet: no zone
    hostless = member.compute("POST", "/servers", json={"server": {
        "name": unique("srv"), "imageRef": image_id, "flavorRef": "1",
        "availability_zone": zone}})
    assert fault(hostless, 400) == "The requested availability zone is not available"

    assert aggregates.act(agg["id"], "add_host", host=host).status_code == 200
    listed = validate(member.compute("GET", "/os-availability-zone"),
                      az_schema.list_availability_zone_list)["availabilityZoneInfo"]
    assert {"zoneName": zone, "zoneState": {"available": True}, "hosts": None} in listed
    assert zone_hosts(admin)[zone] == [host]
    assert host not in zone_hosts(admin).get("nova", [])  # (qemu: its one host moved)

    created = member.compute("POST", "/servers", json={"server": {
        "name": unique("srv"), "imageRef": image_id, "flavorRef": "1",
        "availability_zone": zone}})
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    try:
        server = settle(member, server_id, "ACTIVE")
        assert server["OS-EXT-AZ:availability_zone"] == zone
        shown = admin.compute("GET", f"/servers/{server_id}").json()["server"]
        assert shown["OS-EXT-SRV-ATTR:host"] == host
        leaving = aggregates.act(agg["id"], "remove_host", host=host)
        assert fault(leaving, 409) == (
            f"Cannot remove host from aggregate {agg['id']}. Reason: The host cannot be "
            f"removed from the aggregate as the availability zone of the host would change "
            f"from '{zone}' to 'None' but the host already has 1 instance(s). Changing the "
            "AZ of an existing instance is not supported by this action. Move the "
            "instances away from this host then try again. If you need to move the "
            "instances between AZs then you can use shelve_offload and unshelve to "
            "achieve this..")
        renamed = aggregates.act(agg["id"], "set_metadata",
                                 metadata={"availability_zone": unique("zone")})
        assert fault(renamed, 400) == (
            f"Cannot update metadata of aggregate {agg['id']}. Reason: One or more hosts "
            "contain instances in this zone.")
    finally:
        delete_server(admin, server_id)
    assert aggregates.act(agg["id"], "remove_host", host=host).status_code == 200
    assert zone not in zone_hosts(admin)


def test_a_forced_host_keeps_the_zone_only_if_the_host_is_in_it(
        admin: ApiSession, aggregates: Aggregates, image_id: str) -> None:
    """``zone:host`` (admins): the server goes to the host, in the aggregates' zone."""
    zone = unique("zone")
    host = free_host(admin)
    agg = aggregates.create(zone=zone)
    assert aggregates.act(agg["id"], "add_host", host=host).status_code == 200
    created = admin.compute("POST", "/servers", json={"server": {
        "name": unique("srv"), "imageRef": image_id, "flavorRef": "1",
        "availability_zone": f"{zone}:{host}"}})
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]
    try:
        server = settle(admin, server_id, "ACTIVE")
        assert (server["OS-EXT-SRV-ATTR:host"], server["OS-EXT-AZ:availability_zone"]) == \
            (host, zone)
    finally:
        delete_server(admin, server_id)


@pytest.mark.emulator_only
def test_the_backends_zones_are_aggregates(admin: ApiSession) -> None:
    """Each zone the backend reports but the default one is an aggregate named after it,
    with that zone, holding exactly the zone's hosts (the simulated cloud's ``az2``; none on
    the one-host qemu backend, whose host is in ``nova``)."""
    zones = zone_hosts(admin)
    listed = admin.compute("GET", "/os-aggregates").json()["aggregates"]
    seeded = {a["name"]: a for a in listed if a["name"] in zones}
    assert sorted(seeded) == sorted(z for z in zones if z != "nova")
    for name, agg in seeded.items():
        assert agg["availability_zone"] == name
        assert sorted(agg["hosts"]) == zones[name]


@pytest.mark.emulator_only
def test_aggregates_and_seeded_zones_survive_a_restart(target: Target, durable_state: str,
                                                       http: httpx.Client) -> None:
    with dedicated_emulator(target, state=durable_state) as process:
        admin = ApiSession(seeded_accounts(process.url)["admin"], http)
        made = Aggregates(admin)
        agg = made.create(zone="kept-zone")
        host = free_host(admin)
        assert made.act(agg["id"], "add_host", host=host).status_code == 200
        before = admin.compute("GET", "/os-aggregates").json()["aggregates"]
        zones_before = zone_hosts(admin)
        process.restart()
        admin = ApiSession(seeded_accounts(process.url)["admin"], http)
        assert admin.compute("GET", "/os-aggregates").json()["aggregates"] == before
        assert zone_hosts(admin) == zones_before
        assert zones_before["kept-zone"] == [host]


# -- the openstack CLI ---------------------------------------------------------------------

def test_openstack_cli_manages_aggregates_and_zones(admin: ApiSession) -> None:
    account = admin.account
    name, zone, zone2 = unique(), unique("zone"), unique("zone")
    host = free_host(admin)
    created = openstack_json(account, "aggregate", "create", "--zone", zone, name)
    assert (created["name"], created["availability_zone"]) == (name, zone)
    try:
        added = openstack_json(account, "aggregate", "add", "host", name, host)
        assert added["hosts"] == [host]
        set_ = run_openstack(account, "aggregate", "set", "--property", "ssd=true",
                             "--zone", zone2, name)
        assert set_.returncode == 0, set_.stderr
        shown = openstack_json(account, "aggregate", "show", name)
        assert (shown["availability_zone"], shown["hosts"]) == (zone2, [host])
        assert shown["properties"] == {"ssd": "true"}
        listed = openstack_json(account, "aggregate", "list", "--long")
        [row] = [r for r in listed if r["Name"] == name]
        assert (row["Availability Zone"], row["Properties"]) == (zone2, {"ssd": "true"})

        zones = openstack_json(account, "availability", "zone", "list", "--compute", "--long")
        [row] = [z for z in zones if z["Host Name"] == host]
        assert (row["Zone Name"], row["Zone Status"], row["Service Name"]) == \
            (zone2, "available", "nova-compute")
        assert row["Service Status"].startswith("enabled :-)")
        assert {z["Zone Name"] for z in zones} >= {zone2, "internal"}

        removed = openstack_json(account, "aggregate", "remove", "host", name, host)
        assert removed["hosts"] == []
        unset = run_openstack(account, "aggregate", "unset", "--property", "ssd", name)
        assert unset.returncode == 0, unset.stderr
        assert openstack_json(account, "aggregate", "show", name)["properties"] == {}
    finally:
        shown_now = admin.compute("GET", "/os-aggregates").json()["aggregates"]
        for agg in (a for a in shown_now if a["name"] == name):
            for member_host in agg["hosts"]:
                Aggregates(admin).act(agg["id"], "remove_host", host=member_host)
    deleted = run_openstack(account, "aggregate", "delete", name)
    assert deleted.returncode == 0, deleted.stderr
    assert name not in [a["Name"] for a in openstack_json(account, "aggregate", "list")]
