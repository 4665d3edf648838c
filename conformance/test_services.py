"""Compute services (``/os-services``) on every backend: the list and its filters against
Tempest's schemas at the versions that change them (2.11 ``forced_down``, 2.53 uuids, 2.75
closed queries), the actions before 2.53 and the update from 2.53 with Nova's faults word
for word, a disabled or forced-down host taking no new servers, the zone detail read from
the same records, deleting a service, and the ``openstack compute service`` CLI.

Every test that changes a service puts it back as it found it (the other tests share the
emulator); deleting one takes an emulator of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from tempest.lib.services.compute.services_client import ServicesClient

from conformance.bios_image import boot_image
from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.polling import settle
from conformance.schemas import for_version, validate
from conformance.test_aggregates import fault
from conformance.test_server_group_placement import zone_of
from conformance.test_servers import Servers, image_id, unique  # noqa: F401

COMPUTE = "nova-compute"
NO_VALID_HOST = "No valid host was found. "


def services(admin: ApiSession, version: str | None = None,
             **params: str) -> list[dict[str, Any]]:
    response = admin.compute("GET", "/os-services", version=version, params=params)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["services"]
    return listed


def compute_service(admin: ApiSession, host: str, version: str = "2.53") -> dict[str, Any]:
    [found] = services(admin, version, host=host, binary=COMPUTE)
    return found


def update(admin: ApiSession, service_id: str, version: str = "2.53",
           **body: Any) -> httpx.Response:
    return admin.compute("PUT", f"/os-services/{service_id}", json=body, version=version)


@contextmanager
def changed(admin: ApiSession, hosts: list[str], **body: Any) -> Iterator[None]:
    """``hosts``' compute services updated with ``body`` (2.53) for the block, then
    enabled and up again."""
    ids = [compute_service(admin, host)["id"] for host in hosts]
    try:
        for service_id in ids:
            response = update(admin, service_id, **body)
            assert response.status_code == 200, response.text
        yield
    finally:
        for service_id in ids:
            restored = update(admin, service_id, status="enabled", forced_down=False)
            assert restored.status_code == 200, restored.text


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:  # noqa: F811
    made = Servers(admin, image_id)
    yield made
    made.remove()


# -- the list ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["2.1", "2.10", "2.11", "2.52", "2.53", "2.69", "latest"])
def test_the_list_at_each_version(admin: ApiSession, version: str) -> None:
    """Each service once, in Tempest's schema for the version: integer ids before 2.53,
    uuids from it, ``forced_down`` from 2.11; the control services in the internal zone,
    each compute service in its host's zone (the zone detail's)."""
    schema = for_version(ServicesClient, version if version != "latest" else "2.100")
    listed = validate(admin.compute("GET", "/os-services", version=version),
                      schema.list_services)["services"]
    binaries = {s["binary"] for s in listed}
    assert {"nova-scheduler", "nova-conductor", COMPUTE} <= binaries
    assert len({(s["host"], s["binary"]) for s in listed}) == len(listed)
    uuid_ids = version in ("2.53", "2.69", "latest")
    assert all(isinstance(s["id"], str if uuid_ids else int) for s in listed)
    if uuid_ids:
        assert all(str(uuid.UUID(s["id"])) == s["id"] for s in listed)
    assert all(("forced_down" in s) == (version not in ("2.1", "2.10")) for s in listed)
    zones = {host: z["zoneName"] for z in admin.compute(
        "GET", "/os-availability-zone/detail").json()["availabilityZoneInfo"]
        for host in (z["hosts"] or {})}
    for service in listed:
        assert service["zone"] == (zones[service["host"]] if service["binary"] == COMPUTE
                                   else "internal")
        assert (service["status"], service["state"], service["updated_at"] is not None) == \
            ("enabled", "up", True)


def test_one_compute_service_per_hypervisor(admin: ApiSession) -> None:
    hypervisors = admin.compute("GET", "/os-hypervisors").json()["hypervisors"]
    assert sorted(s["host"] for s in services(admin, binary=COMPUTE)) == \
        sorted(h["hypervisor_hostname"] for h in hypervisors)


def test_filters(admin: ApiSession) -> None:
    """Exact host and binary; a filter nothing matches lists nothing; an unknown parameter
    is ignored until 2.75 and refused from it."""
    everything = services(admin)
    host = compute_service(admin, everything[-1]["host"])["host"]
    assert {s["host"] for s in services(admin, host=host)} == {host}
    assert {s["binary"] for s in services(admin, binary="nova-scheduler")} == \
        {"nova-scheduler"}
    assert services(admin, host=host, binary="xxx") == []
    assert services(admin, host="xxx", binary=COMPUTE) == []
    assert len(services(admin, "2.74", xxx=COMPUTE)) == len(everything)
    refused = admin.compute("GET", "/os-services", params={"xxx": "1"}, version="2.75")
    assert fault(refused, 400) == \
        "Additional properties are not allowed ('xxx' was unexpected)"


@pytest.mark.parametrize(("method", "path", "version", "rule"), [
    ("GET", "/os-services", None, "list"),
    ("PUT", "/os-services/disable", None, "update"),
    ("PUT", f"/os-services/{uuid.UUID(int=1)}", "2.53", "update"),
    ("DELETE", "/os-services/1", None, "delete"),
])
def test_only_admins(member: ApiSession, method: str, path: str, version: str | None,
                     rule: str) -> None:
    body = {"host": "h", "binary": COMPUTE} if version is None else {"status": "enabled"}
    response = member.compute(method, path, version=version,
                              json=body if method == "PUT" else None)
    assert fault(response, 403) == \
        f"Policy doesn't allow os_compute_api:os-services:{rule} to be performed."


# -- the actions before 2.53 ----------------------------------------------------------------

def test_the_actions_before_2_53(admin: ApiSession) -> None:
    """Each answers what it set, in Tempest's schema; the list shows it."""
    host = compute_service(admin, services(admin, binary=COMPUTE)[0]["host"])["host"]
    who = {"host": host, "binary": COMPUTE}
    v211 = for_version(ServicesClient, "2.11")
    try:
        logged = validate(admin.compute("PUT", "/os-services/disable-log-reason", json={
            **who, "disabled_reason": "maintenance"}), v211.disable_log_reason)
        assert logged["service"] == {**who, "status": "disabled",
                                     "disabled_reason": "maintenance"}
        shown = compute_service(admin, host, "2.11")
        assert (shown["status"], shown["disabled_reason"]) == ("disabled", "maintenance")
        down = validate(admin.compute("PUT", "/os-services/force-down", version="2.11",
                                      json={**who, "forced_down": True}),
                        v211.update_forced_down)
        assert down["service"] == {**who, "forced_down": True}
        assert compute_service(admin, host, "2.11")["state"] == "down"
        disabled = validate(admin.compute("PUT", "/os-services/disable", json=who),
                            v211.enable_disable_service)
        assert disabled["service"] == {**who, "status": "disabled"}
        assert compute_service(admin, host)["disabled_reason"] is None
    finally:
        admin.compute("PUT", "/os-services/force-down", version="2.11",
                      json={**who, "forced_down": False})
        enabled = admin.compute("PUT", "/os-services/enable", json=who)
    assert validate(enabled, v211.enable_disable_service)["service"] == \
        {**who, "status": "enabled"}
    shown = compute_service(admin, host)
    assert (shown["status"], shown["state"], shown["forced_down"]) == ("enabled", "up", False)


@pytest.mark.parametrize(("action", "version", "body", "status", "message"), [
    ("disable", "2.1", {"host": "xxx", "binary": COMPUTE}, 404,
     "Host 'xxx' is not mapped to any cell"),
    ("disable", "2.1", {"host": "controller", "binary": "nova-scheduler"}, 400,
     "Updating a nova-scheduler service is not supported. Only nova-compute services can "
     "be updated."),
    ("disable-log-reason", "2.1", {"host": "xxx", "binary": COMPUTE}, 400,
     "Missing disabled reason field"),
    ("force-down", "2.11", {"host": "xxx", "binary": COMPUTE}, 400,
     "Missing forced_down field"),
    ("force-down", "2.10", {"host": "xxx", "binary": COMPUTE}, 404, "Unknown action"),
    ("reboot", "2.1", {"host": "xxx", "binary": COMPUTE}, 404, "Unknown action"),
    ("force-down", "2.10", {"host": "xxx", "binary": COMPUTE, "forced_down": True}, 400,
     "Additional properties are not allowed ('forced_down' was unexpected)"),
    ("enable", "2.1", {"host": "xxx"}, 400, "'binary' is a required property"),
])
def test_action_faults(admin: ApiSession, action: str, version: str, body: dict[str, Any],
                       status: int, message: str) -> None:
    response = admin.compute("PUT", f"/os-services/{action}", version=version, json=body)
    assert fault(response, status) == message


# -- the update from 2.53 -------------------------------------------------------------------

def test_the_update_from_2_53(admin: ApiSession) -> None:
    """Status with a reason, forced_down, both at once; the whole service in Tempest's
    schema, ``updated_at`` moving with each change."""
    schema = for_version(ServicesClient, "2.53").update_service
    before = compute_service(admin, services(admin, binary=COMPUTE)[-1]["host"])
    service_id = before["id"]
    try:
        disabled = validate(update(admin, service_id, status="disabled",
                                   disabled_reason="maintenance"), schema)["service"]
        assert {k: disabled[k] for k in ("id", "host", "binary", "zone")} == \
            {k: before[k] for k in ("id", "host", "binary", "zone")}
        assert (disabled["status"], disabled["disabled_reason"], disabled["state"]) == \
            ("disabled", "maintenance", "up")
        assert disabled["updated_at"] >= before["updated_at"]
        assert compute_service(admin, before["host"]) == disabled
        down = validate(update(admin, service_id, forced_down="yes"), schema)["service"]
        assert (down["forced_down"], down["state"], down["status"]) == \
            (True, "down", "disabled")
    finally:
        back = validate(update(admin, service_id, status="enabled", forced_down=False),
                        schema)["service"]
    assert (back["status"], back["disabled_reason"], back["forced_down"], back["state"]) == \
        ("enabled", None, False, "up")


@pytest.mark.parametrize(("service_id", "body", "status", "message"), [
    ("nope", {"status": "enabled"}, 400, "Invalid uuid nope"),
    ("1", {"status": "enabled"}, 400, "Invalid uuid 1"),
    (str(uuid.UUID(int=7)), {"status": "enabled"}, 404,
     f"Service {uuid.UUID(int=7)} could not be found."),
    ("COMPUTE", {}, 400,
     "No updates were requested. Fields 'status' or 'forced_down' should be specified."),
    ("COMPUTE", {"disabled_reason": "x"}, 400,
     "No updates were requested. Fields 'status' or 'forced_down' should be specified."),
    ("COMPUTE", {"status": "enabled", "disabled_reason": "x"}, 400,
     "Specifying 'disabled_reason' with status 'enabled' is invalid."),
    ("COMPUTE", {"status": "up"}, 400,
     "Invalid input for field/attribute status. Value: up. 'up' is not one of "
     "['enabled', 'disabled']"),
    ("COMPUTE", {"host": "x", "binary": COMPUTE}, 400,
     "Additional properties are not allowed ('binary', 'host' were unexpected)"),
    ("SCHEDULER", {"status": "disabled"}, 400,
     "Updating a nova-scheduler service is not supported. Only nova-compute services can "
     "be updated."),
])
def test_update_faults(admin: ApiSession, service_id: str, body: dict[str, Any], status: int,
                       message: str) -> None:
    listed = services(admin, "2.53")
    named = {"COMPUTE": next(s["id"] for s in listed if s["binary"] == COMPUTE),
             "SCHEDULER": next(s["id"] for s in listed if s["binary"] == "nova-scheduler")}
    response = update(admin, named.get(service_id, service_id), **body)
    assert fault(response, status) == message


# -- what a disabled or forced-down host means --------------------------------------------------

@pytest.mark.parametrize("change", [{"status": "disabled", "disabled_reason": "full"},
                                    {"forced_down": True}])
def test_a_host_that_is_disabled_or_down_takes_no_new_servers(
        admin: ApiSession, servers: Servers, change: dict[str, Any]) -> None:
    """In a zone of several hosts, servers land only on the one left; with none left (a
    one-host cloud), Nova's NoValidHost fault, and a zone with no enabled host is no zone
    to ask for."""
    zone, hosts = zone_of(admin)
    kept, taken = hosts[:1] if len(hosts) > 1 else [], hosts[1:] if len(hosts) > 1 else hosts
    with changed(admin, taken, **change):
        if kept:
            ids = [servers.boot(admin, wait=False, availability_zone=zone)["id"]
                   for _ in range(3)]
            placed = [settle(admin, server_id, "ACTIVE") for server_id in ids]
            assert {s["OS-EXT-SRV-ATTR:host"] for s in placed} == set(kept)
        else:
            asked = servers.post(admin, servers.body(availability_zone=zone))
            if "status" in change:
                assert fault(asked, 400) == "The requested availability zone is not available"
            else:
                assert asked.status_code == 202, asked.text
            server = servers.boot(admin, wait=False)
            shown = settle(admin, server["id"], "ERROR")
            assert shown["fault"]["code"] == 500
            assert shown["OS-EXT-SRV-ATTR:host"] is None
            # NOTE: placement leaves a disabled host out (no reason); Nova's ComputeFilter
            # refuses a forced-down one.
            assert shown["fault"]["message"] == (
                NO_VALID_HOST if "status" in change
                else f"{NO_VALID_HOST}There are not enough hosts available.")


def test_the_zone_detail_reads_the_records(admin: ApiSession) -> None:
    """A forced-down service is unavailable there with its last update; a zone whose every
    compute service is disabled is unavailable (and lists no host)."""
    zone, hosts = zone_of(admin)
    with changed(admin, [hosts[0]], forced_down=True):
        detail = {z["zoneName"]: z for z in admin.compute(
            "GET", "/os-availability-zone/detail").json()["availabilityZoneInfo"]}
        state = detail[zone]["hosts"][hosts[0]][COMPUTE]
        assert (state["available"], state["active"]) == (False, True)
        assert state["updated_at"] == compute_service(admin, hosts[0])["updated_at"]
    with changed(admin, hosts, status="disabled"):
        listed = admin.compute("GET", "/os-availability-zone").json()["availabilityZoneInfo"]
        assert {"zoneName": zone, "zoneState": {"available": False}, "hosts": None} in listed
    listed = admin.compute("GET", "/os-availability-zone").json()["availabilityZoneInfo"]
    assert {"zoneName": zone, "zoneState": {"available": True}, "hosts": None} in listed


# -- delete -------------------------------------------------------------------------------

def test_delete(target: Target) -> None:
    """Nova's checks (id form by version, unknown id, a host with servers), then the
    service goes with its hypervisor and out of its aggregates."""
    with dedicated_emulator(target) as process, httpx.Client(timeout=60.0) as http:
        admin = ApiSession(seeded_accounts(process.url)["admin"], http)
        image_id = str(boot_image(admin, admin, target.backend)["id"])  # this emulator's
        host = services(admin, binary=COMPUTE)[0]["host"]
        service = compute_service(admin, host, "2.1")
        assert fault(admin.compute("DELETE", "/os-services/abc"), 400) == \
            "Invalid input received: id must be an integer"
        assert fault(admin.compute("DELETE", "/os-services/1", version="2.53"), 400) == \
            "Invalid uuid 1"
        assert fault(admin.compute("DELETE", "/os-services/999"), 404) == \
            "Service 999 not found."
        aggregate = admin.compute("POST", "/os-aggregates", json={
            "aggregate": {"name": unique("svc")}}).json()["aggregate"]
        added = admin.compute("POST", f"/os-aggregates/{aggregate['id']}/action",
                              json={"add_host": {"host": host}})
        assert added.status_code == 200, added.text
        made = Servers(admin, image_id)
        server = made.boot(admin, wait=False, availability_zone=f"{service['zone']}:{host}")
        settle(admin, server["id"], "ACTIVE")
        assert fault(admin.compute("DELETE", f"/os-services/{service['id']}"), 409) == (
            "Unable to delete compute service that is hosting instances. Migrate or delete "
            "the instances first.")
        made.remove()
        deleted = admin.compute("DELETE", f"/os-services/{service['id']}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        assert [s for s in services(admin) if s["host"] == host] == []
        assert host not in {h["hypervisor_hostname"] for h in admin.compute(
            "GET", "/os-hypervisors").json()["hypervisors"]}
        assert admin.compute("GET", f"/os-aggregates/{aggregate['id']}").json()[
            "aggregate"]["hosts"] == []
        assert fault(admin.compute("DELETE", f"/os-services/{service['id']}"), 404) == \
            f"Service {service['id']} not found."
        scheduler = services(admin, "2.53", binary="nova-scheduler")[0]
        gone = admin.compute("DELETE", f"/os-services/{scheduler['id']}", version="2.53")
        assert gone.status_code == 204, gone.text
        assert services(admin, binary="nova-scheduler") == []


@pytest.mark.emulator_only
def test_the_records_survive_a_restart(target: Target, durable_state: str,
                                       http: httpx.Client) -> None:
    """Ids (the hypervisors' too), a disabled reason and a forced-down service outlive the
    process; the host stays out of the statistics (and of scheduling) after it."""
    with dedicated_emulator(target, state=durable_state) as process:
        admin = ApiSession(seeded_accounts(process.url)["admin"], http)
        before = services(admin, "2.53")
        hypervisors = {v: admin.compute("GET", "/os-hypervisors", version=v).json()
                       for v in ("2.1", "2.53")}
        count = admin.compute("GET", "/os-hypervisors/statistics").json()[
            "hypervisor_statistics"]["count"]
        compute = next(s for s in before if s["binary"] == COMPUTE)
        done = update(admin, compute["id"], status="disabled", disabled_reason="kept",
                      forced_down=True)
        assert done.status_code == 200, done.text

        process.restart()

        after = services(admin, "2.53")
        assert [(s["id"], s["host"], s["binary"]) for s in after] == \
            [(s["id"], s["host"], s["binary"]) for s in before]
        shown = compute_service(admin, compute["host"])
        assert (shown["status"], shown["disabled_reason"], shown["forced_down"],
                shown["state"]) == ("disabled", "kept", True, "down")
        for version, listed in hypervisors.items():
            again = admin.compute("GET", "/os-hypervisors", version=version).json()
            assert [h["id"] for h in again["hypervisors"]] == \
                [h["id"] for h in listed["hypervisors"]]
        assert admin.compute("GET", "/os-hypervisors/statistics").json()[
            "hypervisor_statistics"]["count"] == count - 1


# -- the CLI ------------------------------------------------------------------------------

def test_the_cli(admin: ApiSession) -> None:
    account = admin.account
    listed = openstack_json(account, "compute", "service", "list", "--long")
    assert {row["Binary"] for row in listed} >= {COMPUTE, "nova-scheduler", "nova-conductor"}
    row = next(r for r in listed if r["Binary"] == COMPUTE)
    host = row["Host"]
    assert (row["Status"], row["State"], row["Disabled Reason"]) == ("enabled", "up", None)
    try:
        done = run_openstack(account, "compute", "service", "set", "--disable",
                             "--disable-reason", "maintenance", host, COMPUTE)
        assert done.returncode == 0, done.stderr
        [shown] = openstack_json(account, "compute", "service", "list", "--long",
                                 "--host", host, "--service", COMPUTE)
        assert (shown["Status"], shown["Disabled Reason"]) == ("disabled", "maintenance")
        done = run_openstack(account, "--os-compute-api-version", "2.11", "compute",
                             "service", "set", "--down", host, COMPUTE)
        assert done.returncode == 0, done.stderr
        [shown] = openstack_json(account, "--os-compute-api-version", "2.11", "compute",
                                 "service", "list", "--long", "--host", host)
        assert (shown["State"], shown["Forced Down"]) == ("down", True)
    finally:
        run_openstack(account, "--os-compute-api-version", "2.11", "compute", "service",
                      "set", "--up", host, COMPUTE)
        done = run_openstack(account, "compute", "service", "set", "--enable", host, COMPUTE)
    assert done.returncode == 0, done.stderr
    [shown] = openstack_json(account, "compute", "service", "list", "--long", "--host", host)
    assert (shown["Status"], shown["State"], shown["Disabled Reason"]) == \
        ("enabled", "up", None)
