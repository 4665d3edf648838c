"""Hypervisors (``/os-hypervisors``) on every backend: list, detail and show against
Tempest's schemas at each version that changes them (2.28 ``cpu_info`` object, 2.33 paging,
2.53 uuids and queries, 2.75 empty ``servers``) and against Nova's field list at 2.88; the
usage a server adds; paging, hostname patterns and ``with_servers``; uptime, statistics,
search and servers in their windows; Nova's faults word for word; the ``openstack
hypervisor`` CLI.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tempest.lib.services.compute.hypervisor_client import HypervisorClient

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.polling import settle
from conformance.schemas import for_version, validate
from conformance.test_aggregates import fault
from conformance.test_servers import Servers, image_id  # noqa: F401
from conformance.test_services import changed, services

#: What a hypervisor's details hold from 2.88 (Nova's ``detail_response_v288``).
DETAIL_V288 = {"id", "hypervisor_hostname", "state", "status", "hypervisor_type",
               "hypervisor_version", "host_ip", "service", "uptime"}
USAGE = ("vcpus_used", "memory_mb_used", "local_gb_used", "running_vms")


def listed(admin: ApiSession, path: str = "/os-hypervisors", version: str | None = None,
           **params: str) -> list[dict[str, Any]]:
    response = admin.compute("GET", path, version=version, params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["hypervisors"]
    return found


def at_least(version: str, wanted: str) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split("."))

    return parts(version) >= parts(wanted)


def schema_for(version: str) -> Any:
    return for_version(HypervisorClient, version if version != "latest" else "2.87")


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:  # noqa: F811
    made = Servers(admin, image_id)
    yield made
    made.remove()


# -- list, detail, show at each version -------------------------------------------------

@pytest.mark.parametrize("version", ["2.1", "2.27", "2.28", "2.32", "2.33", "2.52", "2.53",
                                     "2.74", "2.75", "2.87"])
def test_every_view_at_each_version(admin: ApiSession, version: str) -> None:
    schema = schema_for(version)
    summaries = validate(admin.compute("GET", "/os-hypervisors", version=version),
                         schema.list_search_hypervisors)["hypervisors"]
    details = validate(admin.compute("GET", "/os-hypervisors/detail", version=version),
                       schema.list_hypervisors_detail)["hypervisors"]
    assert [{k: d[k] for k in ("id", "hypervisor_hostname", "state", "status")}
            for d in details] == summaries
    shown = validate(admin.compute("GET", f"/os-hypervisors/{summaries[0]['id']}",
                                   version=version), schema.get_hypervisor)["hypervisor"]
    assert shown == details[0]
    uuid_ids = at_least(version, "2.53")
    assert all(isinstance(d["id"], str if uuid_ids else int)
               and isinstance(d["service"]["id"], str if uuid_ids else int) for d in details)
    assert isinstance(shown["cpu_info"], dict if at_least(version, "2.28") else str)
    assert all("servers" not in d for d in details)


def test_the_details_are_the_services(admin: ApiSession) -> None:
    """One hypervisor per compute service, named after its host, in its state and status,
    with the host's totals."""
    details = listed(admin, "/os-hypervisors/detail", "2.53")
    computes = {s["host"]: s for s in services(admin, "2.53", binary="nova-compute")}
    assert sorted(d["hypervisor_hostname"] for d in details) == sorted(computes)
    for detail in details:
        service = computes[detail["hypervisor_hostname"]]
        assert detail["service"] == {"id": service["id"], "host": service["host"],
                                     "disabled_reason": service["disabled_reason"]}
        assert (detail["state"], detail["status"]) == (service["state"], service["status"])
        assert detail["vcpus"] > 0 and detail["memory_mb"] > 0 and detail["local_gb"] > 0
        assert detail["free_ram_mb"] == detail["memory_mb"] - detail["memory_mb_used"]
        assert detail["free_disk_gb"] == detail["local_gb"] - detail["local_gb_used"]


@pytest.mark.parametrize("version", ["2.88", "latest"])
def test_the_details_from_2_88(admin: ApiSession, version: str) -> None:
    """Nova's trimmed details: no usage figures, no cpu_info, the uptime instead; and the
    routes 2.88 took away answer 404."""
    details = listed(admin, "/os-hypervisors/detail", version)
    assert all(set(d) == DETAIL_V288 for d in details)
    assert all(d["uptime"].lstrip()[:2].isdigit() for d in details if d["state"] == "up")
    shown = admin.compute("GET", f"/os-hypervisors/{details[0]['id']}", version=version)
    assert set(shown.json()["hypervisor"]) == DETAIL_V288
    for path in ("/os-hypervisors/statistics", f"/os-hypervisors/{details[0]['id']}/uptime"):
        assert fault(admin.compute("GET", path, version=version), 404) == \
            "The resource could not be found."


# -- usage ----------------------------------------------------------------------------------

def test_a_server_adds_its_flavor_and_itself(admin: ApiSession, servers: Servers) -> None:
    server = servers.boot(admin, wait=False)
    host = settle(admin, server["id"], "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    flavor = admin.compute("GET", "/flavors/1").json()["flavor"]
    before = {d["hypervisor_hostname"]: d for d in listed(admin, "/os-hypervisors/detail")}
    admin.compute("DELETE", f"/servers/{server['id']}")
    servers.remove()
    after = {d["hypervisor_hostname"]: d for d in listed(admin, "/os-hypervisors/detail")}
    grew = {k: before[host][k] - after[host][k] for k in USAGE}
    assert grew == {"vcpus_used": flavor["vcpus"], "memory_mb_used": flavor["ram"],
                    "local_gb_used": flavor["disk"] + flavor["OS-FLV-EXT-DATA:ephemeral"],
                    "running_vms": 1}


def test_with_servers(admin: ApiSession, servers: Servers) -> None:
    """2.53 lists a hypervisor's servers when asked; an empty host shows ``servers: []``
    from 2.75 and nothing before."""
    server = settle(admin, servers.boot(admin, wait=False)["id"], "ACTIVE")
    host = server["OS-EXT-SRV-ATTR:host"]
    schema = schema_for("2.53")
    for path in ("/os-hypervisors", "/os-hypervisors/detail"):
        body = validate(admin.compute("GET", path, version="2.53",
                                      params={"with_servers": "true"}),
                        schema.list_search_hypervisors if path == "/os-hypervisors"
                        else schema.list_hypervisors_detail)["hypervisors"]
        [mine] = [h for h in body if h["hypervisor_hostname"] == host]
        assert {"name": server["name"], "uuid": server["id"]} in mine["servers"]
    hypervisor_id = mine["id"]
    shown = admin.compute("GET", f"/os-hypervisors/{hypervisor_id}", version="2.53",
                          params={"with_servers": "1"}).json()["hypervisor"]
    assert server["id"] in {s["uuid"] for s in shown["servers"]}
    plain = admin.compute("GET", f"/os-hypervisors/{hypervisor_id}", version="2.53",
                          params={"with_servers": "false"}).json()["hypervisor"]
    assert "servers" not in plain
    admin.compute("DELETE", f"/servers/{server['id']}")
    servers.remove()
    for version, expected in (("2.74", None), ("2.75", [])):
        shown = admin.compute("GET", f"/os-hypervisors/{hypervisor_id}", version=version,
                              params={"with_servers": "true"}).json()["hypervisor"]
        assert shown.get("servers") == expected


# -- paging and patterns ------------------------------------------------------------------

@pytest.mark.parametrize("version", ["2.33", "2.53"])
def test_paging(admin: ApiSession, version: str) -> None:
    """A full page links to the next by its last id (an integer before 2.53, a uuid from
    it); an unknown marker is a 400."""
    everything = listed(admin, version=version)
    first = admin.compute("GET", "/os-hypervisors", version=version, params={"limit": "1"})
    assert first.status_code == 200, first.text
    body = validate(first, schema_for(version).list_search_hypervisors)
    assert body["hypervisors"] == everything[:1]
    [link] = body["hypervisors_links"]
    query = parse_qs(urlsplit(link["href"]).query)
    assert (link["rel"], query) == ("next", {"limit": ["1"],
                                             "marker": [str(everything[0]["id"])]})
    rest = listed(admin, "/os-hypervisors/detail", version, marker=str(everything[0]["id"]))
    assert [h["id"] for h in rest] == [h["id"] for h in everything[1:]]
    assert "hypervisors_links" not in admin.compute(
        "GET", "/os-hypervisors", version=version).json()
    missing = str(uuid.UUID(int=5)) if version == "2.53" else "99999"
    assert fault(admin.compute("GET", "/os-hypervisors", version=version,
                               params={"marker": missing}), 400) == \
        f"marker [{missing}] not found"


def test_hostname_patterns(admin: ApiSession) -> None:
    everything = listed(admin, version="2.53")
    name = everything[-1]["hypervisor_hostname"]
    matching = listed(admin, version="2.53", hypervisor_hostname_pattern=name)
    assert name in {h["hypervisor_hostname"] for h in matching}
    assert all(name.lower() in h["hypervisor_hostname"].lower() for h in matching)
    paged = admin.compute("GET", "/os-hypervisors", version="2.53",
                          params={"hypervisor_hostname_pattern": name, "limit": "5"})
    assert fault(paged, 400) == ("Paging over hypervisors with the "
                                 "hypervisor_hostname_pattern query parameter is not "
                                 "supported.")
    nothing = admin.compute("GET", "/os-hypervisors/detail", version="2.53",
                            params={"hypervisor_hostname_pattern": "no-such-host"})
    assert fault(nothing, 404) == "No hypervisor matching 'no-such-host' could be found."


@pytest.mark.parametrize(("version", "params", "status"), [
    ("2.32", {"xxx": "1", "limit": "x"}, 200),
    ("2.33", {"xxx": "1"}, 200),
    ("2.33", {"limit": "-1"}, 400),
    ("2.53", {"xxx": "1"}, 400),
    ("2.53", {"with_servers": "maybe"}, 400),
])
def test_queries_by_version(admin: ApiSession, version: str, params: dict[str, str],
                            status: int) -> None:
    response = admin.compute("GET", "/os-hypervisors", version=version, params=params)
    assert response.status_code == status, response.text


# -- show, uptime, statistics, search, servers ---------------------------------------------

@pytest.mark.parametrize(("version", "hypervisor_id", "status", "message"), [
    ("2.1", str(uuid.UUID(int=3)), 404, f"Hypervisor with ID '{uuid.UUID(int=3)}' could not "
                                        "be found."),
    ("2.1", "99999", 404, "Hypervisor with ID '99999' could not be found."),
    ("2.53", "1", 400, "Invalid uuid 1"),
    ("2.53", str(uuid.UUID(int=3)), 404, f"Hypervisor with ID '{uuid.UUID(int=3)}' could not "
                                         "be found."),
])
def test_unknown_hypervisors(admin: ApiSession, version: str, hypervisor_id: str,
                             status: int, message: str) -> None:
    for path in (f"/os-hypervisors/{hypervisor_id}",
                 f"/os-hypervisors/{hypervisor_id}/uptime"):
        assert fault(admin.compute("GET", path, version=version), status) == message


@pytest.mark.parametrize("version", ["2.1", "2.53", "2.87"])
def test_uptime(admin: ApiSession, version: str) -> None:
    """The host's ``uptime`` line; a forced-down service cannot give it (Nova's 400)."""
    hypervisor = listed(admin, version=version)[0]
    path = f"/os-hypervisors/{hypervisor['id']}/uptime"
    shown = validate(admin.compute("GET", path, version=version),
                     schema_for(version).get_hypervisor_uptime)["hypervisor"]
    assert {k: shown[k] for k in hypervisor} == hypervisor
    assert " up " in shown["uptime"] and "load average: " in shown["uptime"]
    with changed(admin, [hypervisor["hypervisor_hostname"]], forced_down=True):
        assert fault(admin.compute("GET", path, version=version), 400) == \
            f"Compute service of {hypervisor['hypervisor_hostname']} is unavailable at " \
            "this time."


def test_statistics_sum_the_enabled_hypervisors(admin: ApiSession) -> None:
    schema = schema_for("2.1").get_hypervisor_statistics
    details = listed(admin, "/os-hypervisors/detail")
    fields = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
              "local_gb_used", "free_ram_mb", "free_disk_gb", "running_vms")
    stats = validate(admin.compute("GET", "/os-hypervisors/statistics"), schema)[
        "hypervisor_statistics"]
    assert stats["count"] == len(details)
    assert {f: stats[f] for f in fields} == {f: sum(d[f] for d in details) for f in fields}
    with changed(admin, [details[0]["hypervisor_hostname"]], status="disabled"):
        fewer = admin.compute("GET", "/os-hypervisors/statistics", version="2.87").json()[
            "hypervisor_statistics"]
    assert (fewer["count"], fewer["vcpus"]) == \
        (len(details) - 1, stats["vcpus"] - details[0]["vcpus"])


def test_search_and_servers_until_2_52(admin: ApiSession, servers: Servers) -> None:
    server = servers.boot(admin, wait=False)
    host = settle(admin, server["id"], "ACTIVE")["OS-EXT-SRV-ATTR:host"]
    schema = schema_for("2.52")
    found = validate(admin.compute("GET", f"/os-hypervisors/{host}/search", version="2.52"),
                     schema.list_search_hypervisors)["hypervisors"]
    assert host in {h["hypervisor_hostname"] for h in found}
    with_servers = validate(admin.compute("GET", f"/os-hypervisors/{host}/servers"),
                            schema.get_hypervisors_servers)["hypervisors"]
    [mine] = [h for h in with_servers if h["hypervisor_hostname"] == host]
    assert server["id"] in {s["uuid"] for s in mine["servers"]}
    for route in ("search", "servers"):
        assert fault(admin.compute("GET", f"/os-hypervisors/no-such-host/{route}"), 404) == \
            "No hypervisor matching 'no-such-host' could be found."
        assert admin.compute("GET", f"/os-hypervisors/{host}/{route}",
                             version="2.53").status_code == 404


@pytest.mark.parametrize(("path", "rule"), [
    ("/os-hypervisors", "list"), ("/os-hypervisors/detail", "list-detail"),
    ("/os-hypervisors/1", "show"), ("/os-hypervisors/statistics", "statistics"),
    ("/os-hypervisors/1/uptime", "uptime"), ("/os-hypervisors/x/search", "search"),
    ("/os-hypervisors/x/servers", "servers"),
])
def test_only_admins(member: ApiSession, path: str, rule: str) -> None:
    assert fault(member.compute("GET", path), 403) == \
        f"Policy doesn't allow os_compute_api:os-hypervisors:{rule} to be performed."


# -- the CLI ------------------------------------------------------------------------------

def test_the_cli(admin: ApiSession) -> None:
    account = admin.account
    rows = openstack_json(account, "hypervisor", "list", "--long")
    details = {d["hypervisor_hostname"]: d for d in listed(admin, "/os-hypervisors/detail")}
    assert sorted(r["Hypervisor Hostname"] for r in rows) == sorted(details)
    name = rows[0]["Hypervisor Hostname"]
    assert (rows[0]["Host IP"], rows[0]["State"]) == \
        (details[name]["host_ip"], details[name]["state"])
    shown = openstack_json(account, "hypervisor", "show", name)
    assert (shown["service_host"], shown["state"], shown["status"]) == \
        (name, "up", "enabled")
    assert shown["users"] == "0" and shown["load_average"] == "0.00, 0.00, 0.00"
    stats = openstack_json(account, "hypervisor", "stats", "show")
    assert stats["count"] == len(details)
    assert stats["vcpus"] == sum(d["vcpus"] for d in details.values())
    old = run_openstack(account, "--os-compute-api-version", "2.1", "hypervisor", "show",
                        "-f", "json", name)
    assert old.returncode == 0, old.stderr
    assert old.json()["vcpus"] == details[name]["vcpus"]
