"""Hosts (``/os-hosts``, until 2.42) on every backend: the list (enabled services, with
their topic and zone, and its ``zone`` filter), a compute host's resources against the
hypervisor's figures and the servers on it, the update and power actions as Nova answers
them with the libvirt driver (the status echoed, the service untouched; 501 for
maintenance mode and power actions), Nova's faults word for word, the 404 from 2.43, and
the ``openstack host`` CLI. Responses are checked against Tempest's schemas.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import hosts as schema

from conformance.cli import openstack_json
from conformance.client import ApiSession
from conformance.schemas import validate
from conformance.test_aggregates import fault
from conformance.test_server_group_placement import zone_of
from conformance.test_servers import Servers, image_id, servers  # noqa: F401
from conformance.test_services import COMPUTE, changed, compute_service, services

NOT_SUPPORTED = "The requested functionality is not supported."


def hosts(admin: ApiSession, version: str | None = None, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = validate(
        admin.compute("GET", "/os-hosts", version=version, params=params),
        schema.list_hosts)["hosts"]
    return found


def resources(admin: ApiSession, host: str) -> dict[str, dict[str, Any]]:
    """``project`` -> its resource row of the host."""
    shown = validate(admin.compute("GET", f"/os-hosts/{host}"), schema.get_host_detail)
    rows = [item["resource"] for item in shown["host"]]
    assert all(row["host"] == host for row in rows)
    return {row["project"]: row for row in rows}


def a_compute_host(admin: ApiSession) -> str:
    return next(h["host_name"] for h in hosts(admin) if h["service"] == "compute")


def update(admin: ApiSession, host_name: str, **body: str) -> httpx.Response:
    return admin.compute("PUT", f"/os-hosts/{host_name}", json=body)


# -- the list -------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [None, "2.42"])
def test_the_list_is_each_enabled_service(admin: ApiSession, version: str | None) -> None:
    """One row per service in ``os-services`` order: its host, its topic (the binary
    without ``nova-``) and its zone."""
    listed = hosts(admin, version)
    assert [(h["host_name"], h["service"], h["zone"]) for h in listed] == [
        (s["host"], s["binary"].removeprefix("nova-"), s["zone"])
        for s in services(admin) if s["status"] == "enabled"]
    assert {"compute", "scheduler", "conductor"} <= {h["service"] for h in listed}


def test_a_disabled_service_is_left_out(admin: ApiSession) -> None:
    host = a_compute_host(admin)
    with changed(admin, [host], status="disabled", disabled_reason="out"):
        assert host not in {h["host_name"] for h in hosts(admin)}
    assert host in {h["host_name"] for h in hosts(admin)}


def test_the_zone_filter(admin: ApiSession) -> None:
    """An exact zone; an empty one filters nothing; an unknown one lists nothing; the
    control services are in the internal zone."""
    everything = hosts(admin)
    zone, zone_hosts = zone_of(admin)
    assert sorted(h["host_name"] for h in hosts(admin, zone=zone)) == sorted(zone_hosts)
    assert hosts(admin, zone="") == everything
    assert hosts(admin, zone="xxx") == []
    assert {h["service"] for h in hosts(admin, zone="internal")} == {"scheduler", "conductor"}


# -- show ---------------------------------------------------------------------------------

def test_show_is_the_hypervisor_and_its_servers(admin: ApiSession,
                                                servers: Servers) -> None:  # noqa: F811
    """``(total)`` and ``(used_now)`` are the hypervisor's figures; one row per project
    adds up the flavors of its servers on the host, and ``(used_max)`` all of them."""
    zone, zone_hosts = zone_of(admin)
    host = zone_hosts[0]
    servers.boot(admin, availability_zone=f"{zone}:{host}")
    rows = resources(admin, host)
    [hypervisor] = [h for h in admin.compute("GET", "/os-hypervisors/detail").json()[
        "hypervisors"] if h["hypervisor_hostname"] == host]
    figures = ("cpu", "memory_mb", "disk_gb")
    assert [rows["(total)"][k] for k in figures] == \
        [hypervisor[k] for k in ("vcpus", "memory_mb", "local_gb")]
    assert [rows["(used_now)"][k] for k in figures] == \
        [hypervisor[k] for k in ("vcpus_used", "memory_mb_used", "local_gb_used")]
    on_host = admin.compute("GET", "/servers/detail", version="2.47", params={
        "all_tenants": "1", "host": host}).json()["servers"]
    expected: dict[str, list[int]] = {}
    for server in on_host:
        flavor = server["flavor"]
        sums = expected.setdefault(server["tenant_id"], [0, 0, 0])
        for i, size in enumerate((flavor["vcpus"], flavor["ram"],
                                  flavor["disk"] + flavor["ephemeral"])):
            sums[i] += size
    assert {name: [row[k] for k in figures] for name, row in rows.items()
            if not name.startswith("(")} == expected
    assert [rows["(used_max)"][k] for k in figures] == \
        [sum(column) for column in zip(*expected.values(), strict=True)]


# -- update and power actions ----------------------------------------------------------------

@pytest.mark.parametrize("status", ["disable", "Enable", "ENABLE"])
def test_update_answers_the_status_and_leaves_the_service(admin: ApiSession,
                                                          status: str) -> None:
    """NOTE: Nova's libvirt compute answers without changing the service record."""
    host = a_compute_host(admin)
    done = validate(update(admin, host, status=status), schema.update_host)
    assert done == {"host": host, "status": f"{status.lower()}d"}
    assert compute_service(admin, host)["status"] == "enabled"


@pytest.mark.parametrize("body", [{"maintenance_mode": "enable"},
                                  {"status": "enable", "maintenance_mode": "disable"}])
def test_maintenance_mode_is_not_supported(admin: ApiSession, body: dict[str, str]) -> None:
    assert fault(update(admin, a_compute_host(admin), **body), 501) == NOT_SUPPORTED


@pytest.mark.parametrize("action", ["startup", "shutdown", "reboot"])
def test_power_actions_are_not_supported(admin: ApiSession, action: str) -> None:
    response = admin.compute("GET", f"/os-hosts/{a_compute_host(admin)}/{action}")
    assert fault(response, 501) == NOT_SUPPORTED


# -- faults --------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/os-hosts/{host}", None),
    ("PUT", "/os-hosts/{host}", {"status": "enable"}),
    ("PUT", "/os-hosts/{host}", {"maintenance_mode": "enable"}),
    ("GET", "/os-hosts/{host}/startup", None),
    ("GET", "/os-hosts/{host}/shutdown", None),
    ("GET", "/os-hosts/{host}/reboot", None),
])
@pytest.mark.parametrize("host", ["nonexistent_hostname", "controller"])
def test_a_host_with_no_compute_service_is_404(admin: ApiSession, method: str, path: str,
                                               body: dict[str, str] | None,
                                               host: str) -> None:
    response = admin.compute(method, path.format(host=host), json=body)
    assert fault(response, 404) == f"Host '{host}' is not mapped to any cell"


@pytest.mark.parametrize(("body", "message"), [
    ({}, "{} is not valid under any of the given schemas"),
    ({"status": "invalid", "maintenance_mode": "enable"},
     "Invalid input for field/attribute status. Value: invalid. 'invalid' is not one of "
     "['enable', 'disable', 'Enable', 'Disable', 'ENABLE', 'DISABLE']"),
    ({"status": "enable", "maintenance_mode": "invalid"},
     "Invalid input for field/attribute maintenance_mode. Value: invalid. 'invalid' is not "
     "one of ['enable', 'disable', 'Enable', 'Disable', 'ENABLE', 'DISABLE']"),
    ({"status": "enable", "name": "x"},
     "Additional properties are not allowed ('name' was unexpected)"),
])
def test_bad_updates(admin: ApiSession, body: dict[str, str], message: str) -> None:
    assert fault(update(admin, "nonexistent_hostname", **body), 400) == message


@pytest.mark.parametrize(("method", "path", "rule"), [
    ("GET", "/os-hosts", "list"),
    ("GET", "/os-hosts/{host}", "show"),
    ("PUT", "/os-hosts/{host}", "update"),
    ("GET", "/os-hosts/{host}/startup", "start"),
    ("GET", "/os-hosts/{host}/shutdown", "shutdown"),
    ("GET", "/os-hosts/{host}/reboot", "reboot"),
])
def test_only_admins(admin: ApiSession, member: ApiSession, method: str, path: str,
                     rule: str) -> None:
    body = {"status": "enable", "maintenance_mode": "enable"} if method == "PUT" else None
    response = member.compute(method, path.format(host=a_compute_host(admin)), json=body)
    assert fault(response, 403) == \
        f"Policy doesn't allow os_compute_api:os-hosts:{rule} to be performed."


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/os-hosts"), ("GET", "/os-hosts/{host}"), ("PUT", "/os-hosts/{host}"),
    ("GET", "/os-hosts/{host}/reboot"),
])
def test_gone_from_2_43(admin: ApiSession, method: str, path: str) -> None:
    response = admin.compute(method, path.format(host=a_compute_host(admin)),
                             version="2.43", json={"status": "enable"})
    assert fault(response, 404) == "The resource could not be found."


# -- the CLI --------------------------------------------------------------------------------

def test_the_cli(admin: ApiSession) -> None:
    """``openstack host list [--zone]`` and ``host show`` (the CLI asks for 2.1)."""
    account = admin.account
    listed = openstack_json(account, "host", "list")
    assert [(r["Host Name"], r["Service"], r["Zone"]) for r in listed] == \
        [(h["host_name"], h["service"], h["zone"]) for h in hosts(admin)]
    assert {r["Service"] for r in openstack_json(account, "host", "list", "--zone",
                                                  "internal")} == {"scheduler", "conductor"}
    host = next(s["host"] for s in services(admin, binary=COMPUTE))
    shown = openstack_json(account, "host", "show", host)
    assert [(r["Host"], r["Project"], r["CPU"], r["Memory MB"], r["Disk GB"])
            for r in shown][:3] == [(host, p, r["cpu"], r["memory_mb"], r["disk_gb"])
                                    for p, r in resources(admin, host).items()][:3]

