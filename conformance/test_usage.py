"""Simple tenant usage (``/os-simple-tenant-usage``) and the instance usage audit log
(``/os-instance_usage_audit_log``) on every backend, against Tempest's schemas: Nova's
arithmetic over a window (hours of a live and of a deleted server, the totals), the
``detailed`` flag, 2.40's paging by server, who may see what, Nova's faults word for word,
the audit log's periods and hosts, and ``openstack usage list/show``.

Windows are built from the servers' own ``launched_at`` and the usage's ``stop`` (the
cloud's now), so no test depends on the client's clock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import (
    instance_usage_audit_logs as audit_schema,
)
from tempest.lib.api_schema.response.compute.v2_1 import tenant_usages as schema

from conformance.cli import openstack_json
from conformance.client import ApiSession
from conformance.polling import TIMEOUT
from conformance.schemas import validate
from conformance.test_aggregates import fault
from conformance.test_servers import Servers, gone, image_id, servers  # noqa: F401
from conformance.test_services import COMPUTE, services

FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
START_AFTER_END = "Invalid start time. The start time cannot occur after the end time."


def stamp(value: datetime) -> str:
    return value.strftime(FORMAT)


def parse(value: str) -> datetime:
    return datetime.strptime(value, FORMAT)


def usages(session: ApiSession, version: str | None = None, **params: str) -> httpx.Response:
    return session.compute("GET", "/os-simple-tenant-usage", version=version, params=params)


def usage(session: ApiSession, project: str, version: str | None = None,
          **params: str) -> httpx.Response:
    return session.compute("GET", f"/os-simple-tenant-usage/{project}", version=version,
                           params=params)


def launched(admin: ApiSession, server_id: str) -> datetime:
    shown = admin.compute("GET", f"/servers/{server_id}").json()["server"]
    return parse(shown["OS-SRV-USG:launched_at"])


def past(session: ApiSession, project: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The project's usage over ``[start, end]`` once the cloud's now is past ``end`` (the
    usage's ``stop`` is then ``end`` itself)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        shown = validate(usage(session, project, start=stamp(start), end=stamp(end)),
                         schema.get_tenant_usage)["tenant_usage"]
        if shown and shown["stop"] == stamp(end):
            return dict(shown)
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)


def of_server(tenant: dict[str, Any], server_id: str) -> dict[str, Any]:
    [found] = [u for u in tenant["server_usages"] if u["instance_id"] == server_id]
    return dict(found)


# -- the arithmetic -------------------------------------------------------------------------

def test_a_live_server_counts_its_part_of_the_window(member: ApiSession,
                                                     servers: Servers) -> None:  # noqa: F811
    """One second of a server's life: its hours and the totals are the flavor's figures
    times 1/3600; its row says what it is."""
    server = servers.boot(member)
    flavor = member.compute("GET", "/flavors/1").json()["flavor"]
    start = launched(member, server["id"])
    tenant = past(member, server["tenant_id"], start, start + timedelta(seconds=1))
    hours = 1 / 3600
    mine = of_server(tenant, server["id"])
    assert mine == {
        "instance_id": server["id"], "name": server["name"], "tenant_id": server["tenant_id"],
        "flavor": flavor["name"], "hours": pytest.approx(hours), "vcpus": flavor["vcpus"],
        "memory_mb": flavor["ram"], "local_gb": flavor["disk"] + flavor[
            "OS-FLV-EXT-DATA:ephemeral"], "started_at": stamp(start), "ended_at": None,
        "state": "active", "uptime": mine["uptime"]}
    assert mine["uptime"] >= 1
    assert (tenant["start"], tenant["stop"]) == (stamp(start), stamp(start + timedelta(
        seconds=1)))
    for total, figure in (("total_vcpus_usage", "vcpus"), ("total_memory_mb_usage",
                                                           "memory_mb"),
                          ("total_local_gb_usage", "local_gb")):
        assert tenant[total] == pytest.approx(
            sum(u["hours"] * u[figure] for u in tenant["server_usages"]))
    assert tenant["total_hours"] == pytest.approx(
        sum(u["hours"] for u in tenant["server_usages"]))


def test_a_deleted_server_still_counts(admin: ApiSession, member: ApiSession,
                                       servers: Servers) -> None:  # noqa: F811
    """Terminated within the window: ``terminated``, its end, the hours of its life."""
    server = servers.boot(member)
    start = launched(member, server["id"])
    assert member.compute("DELETE", f"/servers/{server['id']}").status_code == 204
    gone(member, server["id"])
    tenant = validate(usage(admin, server["tenant_id"], start=stamp(start - timedelta(
        hours=1)), end=stamp(start + timedelta(days=1))), schema.get_tenant_usage)[
        "tenant_usage"]
    mine = of_server(tenant, server["id"])
    ended = parse(mine["ended_at"])
    assert (mine["state"], mine["started_at"]) == ("terminated", stamp(start))
    assert mine["hours"] == pytest.approx((ended - start).total_seconds() / 3600)
    assert mine["uptime"] == int((ended - start).total_seconds())
    after = usage(admin, server["tenant_id"], start=stamp(ended + timedelta(seconds=1)),
                  end=stamp(ended + timedelta(days=1)))
    assert server["id"] not in {u["instance_id"] for u in
                                after.json()["tenant_usage"].get("server_usages", [])}


def test_the_window_up_to_now(admin: ApiSession, member: ApiSession,
                              servers: Servers) -> None:  # noqa: F811
    """An end in the future stops at now: a live server's hours run from its launch (or
    the start) to that stop."""
    server = servers.boot(member)
    start = launched(member, server["id"])
    tenant = validate(usage(admin, server["tenant_id"], start=stamp(start - timedelta(
        days=1)), end=stamp(start + timedelta(days=1))), schema.get_tenant_usage)[
        "tenant_usage"]
    mine = of_server(tenant, server["id"])
    assert mine["hours"] == pytest.approx(
        (parse(tenant["stop"]) - start).total_seconds() / 3600)
    assert tenant["total_hours"] == pytest.approx(sum(u["hours"]
                                                      for u in tenant["server_usages"]))


def test_nothing_before_a_server_was_launched(member: ApiSession,
                                              servers: Servers) -> None:  # noqa: F811
    server = servers.boot(member)
    start = launched(member, server["id"])
    tenant = validate(usage(member, server["tenant_id"], start="2000-01-01T00:00:00",
                            end=stamp(start - timedelta(seconds=1))),
                      schema.get_tenant_usage)["tenant_usage"]
    assert server["id"] not in {u["instance_id"] for u in tenant.get("server_usages", [])}


# -- the list, detailed or not, and paging ---------------------------------------------------

@pytest.mark.parametrize(("detailed", "listed"), [("1", True), ("0", False),
                                                  ("true", False), (None, False)])
def test_the_list_for_all_projects(admin: ApiSession, member: ApiSession,
                                   servers: Servers, detailed: str | None,  # noqa: F811
                                   listed: bool) -> None:
    """Every project with usage, sorted by project; servers only with ``detailed=1``."""
    server = servers.boot(member)
    start = launched(member, server["id"]) - timedelta(seconds=1)
    params = {"start": stamp(start)} | ({"detailed": detailed} if detailed else {})
    tenants = validate(usages(admin, **params), schema.list_tenant_usage)["tenant_usages"]
    assert [t["tenant_id"] for t in tenants] == sorted(t["tenant_id"] for t in tenants)
    [mine] = [t for t in tenants if t["tenant_id"] == server["tenant_id"]]
    assert ("server_usages" in mine) == listed
    if listed:
        assert server["id"] in {u["instance_id"] for u in mine["server_usages"]}


def test_paging_by_server_from_2_40(admin: ApiSession, member: ApiSession,
                                    servers: Servers) -> None:  # noqa: F811
    """``limit=1`` pages through the servers by uuid, each page with a ``next`` link whose
    marker is its server; before 2.40 neither is read."""
    made = [servers.boot(member)["id"] for _ in range(2)]
    project = member.project_id
    start = stamp(min(launched(member, s) for s in made) - timedelta(seconds=1))
    everything = validate(usage(member, project, "2.40", start=start),
                          schema.get_tenant_usage)
    ids = [u["instance_id"] for u in everything["tenant_usage"]["server_usages"]]
    assert ids == sorted(ids) and set(made) <= set(ids)
    assert "tenant_usage_links" not in everything
    seen: list[str] = []
    params: dict[str, str] = {"start": start, "limit": "1"}
    while True:
        page = usage(member, project, "2.40", **params).json()
        seen += [u["instance_id"] for u in page["tenant_usage"].get("server_usages", [])]
        if "tenant_usage_links" not in page:
            break
        [link] = page["tenant_usage_links"]
        assert link["rel"] == "next"
        url = urlsplit(link["href"])
        assert url.path.endswith(f"/os-simple-tenant-usage/{project}")
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        assert params["marker"] == seen[-1]
    assert seen == ids
    old = usage(member, project, "2.39", start=start, limit="1").json()
    assert len(old["tenant_usage"]["server_usages"]) == len(ids)
    listed = usages(admin, "2.40", start=start, limit="1", detailed="1").json()
    [link] = listed["tenant_usages_links"]
    assert "/os-simple-tenant-usage?" in link["href"]


def test_a_project_with_no_usage_is_empty(admin: ApiSession) -> None:
    """NOTE: an empty object, which Tempest's schema (all totals required) would refuse."""
    response = usage(admin, "0" * 32, start="2000-01-01T00:00:00")
    assert (response.status_code, response.json()) == (200, {"tenant_usage": {}})


# -- who may see what, and the faults ----------------------------------------------------------

def test_a_member_sees_its_own_project_only(member: ApiSession, alt: ApiSession) -> None:
    assert usage(member, member.project_id).status_code == 200
    assert fault(usage(member, alt.project_id), 403) == \
        "Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed."
    assert fault(usages(member, detailed="1"), 403) == \
        "Policy doesn't allow os_compute_api:os-simple-tenant-usage:list to be performed."


@pytest.mark.parametrize(("params", "version", "message"), [
    ({"start": "2026-01-02T00:00:00", "end": "2026-01-01T00:00:00"}, None, START_AFTER_END),
    ({"start": "2026-01-01T00:00:00", "end": "2026-01-01T00:00:00"}, None, START_AFTER_END),
    ({"start": "2026-01-01T00:00:00Z"}, None,
     "Invalid datetime string: Datetime is in invalid format"),
    ({"end": "yesterday"}, None, "Invalid datetime string: Datetime is in invalid format"),
    ({"start": "2026-01-01", "xxx": "1"}, "2.75",
     "Additional properties are not allowed ('xxx' was unexpected)"),
    ({"limit": "-1"}, "2.40",
     "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'"),
    ({"start": "2000-01-01T00:00:00", "marker": "nope"}, "2.40",
     "Marker nope could not be found."),
])
@pytest.mark.parametrize("shown", [False, True])
def test_faults(admin: ApiSession, params: dict[str, str], version: str | None,
                message: str, shown: bool) -> None:
    response = usage(admin, admin.project_id, version, **params) if shown \
        else usages(admin, version, **params)
    assert fault(response, 400) == message


def test_params_nova_reads_loosely(admin: ApiSession) -> None:
    """Unknown parameters are ignored before 2.75, the first non-empty value counts, and
    the 2.1 ``+`` spelling of a space is one of Nova's formats."""
    assert usages(admin, "2.74", xxx="1", start="2000-01-01T00:00:00").status_code == 200
    response = admin.compute("GET", "/os-simple-tenant-usage?start=&start=2026-01-02+"
                             "00:00:00.0&start=junk&end=2026-01-01T00:00:00")
    assert fault(response, 400) == START_AFTER_END


def test_an_empty_project_id_is_404(admin: ApiSession) -> None:
    """Tempest's ``test_get_usage_tenant_with_empty_tenant_id``: ``.../usage/`` is no
    route."""
    response = admin.compute("GET", "/os-simple-tenant-usage/",
                             params={"start": "2000-01-01T00:00:00"})
    assert response.status_code == 404


# -- the audit log -----------------------------------------------------------------------------

def compute_hosts(admin: ApiSession) -> list[str]:
    return sorted(s["host"] for s in services(admin, binary=COMPUTE))


def test_the_audit_log_of_the_last_month(admin: ApiSession) -> None:
    """No audit has run: every compute host (a disabled one too) is one that has not."""
    log = validate(admin.compute("GET", "/os-instance_usage_audit_log"),
                   audit_schema.list_instance_usage_audit_log)["instance_usage_audit_logs"]
    hosts = compute_hosts(admin)
    begin = datetime.strptime(log["period_beginning"], "%Y-%m-%d %H:%M:%S")
    end = datetime.strptime(log["period_ending"], "%Y-%m-%d %H:%M:%S")
    assert (begin.day, end.day, begin.time(), end.time()) == (1, 1, end.time(), begin.time())
    assert (end.year * 12 + end.month) - (begin.year * 12 + begin.month) == 1
    assert sorted(log["hosts_not_run"]) == hosts
    assert log == {**log, "num_hosts": len(hosts), "num_hosts_done": 0,
                   "num_hosts_running": 0, "num_hosts_not_run": len(hosts),
                   "total_instances": 0, "total_errors": 0, "log": {},
                   "overall_status": f"0 of {len(hosts)} hosts done. 0 errors."}


@pytest.mark.parametrize(("before", "period"), [
    ("2026-03-15 10:00:00", ("2026-02-01 00:00:00", "2026-03-01 00:00:00")),
    ("2026-03-01 00:00:00", ("2026-01-01 00:00:00", "2026-02-01 00:00:00")),
    ("2026-01-20 00:00:00.5", ("2025-12-01 00:00:00", "2026-01-01 00:00:00")),
])
def test_the_audit_log_before_a_time(admin: ApiSession, before: str,
                                     period: tuple[str, str]) -> None:
    log = validate(admin.compute("GET", f"/os-instance_usage_audit_log/{before}"),
                   audit_schema.get_instance_usage_audit_log)["instance_usage_audit_log"]
    assert (log["period_beginning"], log["period_ending"]) == period


@pytest.mark.parametrize("before", ["invalid_time", "2026-03-15T10:00:00",
                                    "2026-03-15 10:00:00.x"])
def test_the_audit_log_refuses_other_times(admin: ApiSession, before: str) -> None:
    response = admin.compute("GET", f"/os-instance_usage_audit_log/{before}")
    assert fault(response, 400) == f"Invalid timestamp for date {before}"


def test_the_audit_log_is_admin_only_and_closed_from_2_102(admin: ApiSession,
                                                           member: ApiSession) -> None:
    for path, rule in (("", "list"), ("/2026-03-15 10:00:00", "show")):
        response = member.compute("GET", f"/os-instance_usage_audit_log{path}")
        assert fault(response, 403) == ("Policy doesn't allow os_compute_api:"
                                        f"os-instance-usage-audit-log:{rule} to be performed.")
        assert admin.compute("GET", f"/os-instance_usage_audit_log{path}", version="2.101",
                             params={"x": "1"}).status_code == 200
        refused = admin.compute("GET", f"/os-instance_usage_audit_log{path}",
                                version="2.102", params={"x": "1"})
        assert fault(refused, 400) == \
            "Additional properties are not allowed ('x' was unexpected)"


# -- the CLI --------------------------------------------------------------------------------

def test_the_cli(admin: ApiSession, member: ApiSession,
                 servers: Servers) -> None:  # noqa: F811
    """``openstack usage list`` (a row per project) and ``usage show`` (the caller's
    project) over the CLI's default window (four weeks ago to tomorrow). NOTE: the SDK
    asks for ``detailed=True``, which Nova (reading only ``1``) takes as not detailed: the
    list has no servers to count."""
    server = servers.boot(member)
    listed = openstack_json(admin.account, "usage", "list")
    [mine] = [row for row in listed if row["Project"] == member.project_id]
    assert (mine["Servers"], mine["RAM MB-Hours"] > 0) == (None, True)
    shown = openstack_json(member.account, "usage", "show")
    assert shown["Project"] == member.project_id
    assert server["id"] in {u["instance_id"] for u in shown["Servers"]}
    assert shown["RAM MB-Hours"] > 0
