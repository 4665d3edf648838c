"""The domain of the operator's smaller APIs: simple tenant usage's window and arithmetic
(Nova's ``_hours_for``, its query over live and deleted servers, the totals, paging by
project and uuid), the audit log's periods, the hosts' rows, and the delivery codes of
external events."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from emulator.cloud import Cloud
from emulator.compute import usage as usage_module
from emulator.compute.audit_log import last_completed_month, parse_before
from emulator.compute.external_events import Event, ExternalEvents
from emulator.compute.models import Instance
from emulator.compute.services.hosts import topic
from emulator.compute.usage import TenantUsage, Window, hours_in, parse_time
from emulator.config import Config
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Forbidden, InvalidInput, NotFound, NotImplementedYet


def exactly(text: str) -> str:
    return f"^{re.escape(text)}$"


ADMIN = RequestContext("admin-user", "admin-project", frozenset({"admin", "member", "reader"}))
MEMBER = RequestContext("user", "p1", frozenset({"member", "reader"}))
SERVICE = RequestContext("neutron", "service", frozenset({"service"}))
T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=10)


# -- the audit log's period -------------------------------------------------------------------

@pytest.mark.parametrize(("before", "period"), [
    (datetime(2026, 8, 21, 12), (datetime(2026, 7, 1), datetime(2026, 8, 1))),
    (datetime(2026, 8, 1), (datetime(2026, 6, 1), datetime(2026, 7, 1))),
    (datetime(2026, 8, 1, 0, 0, 0, 1), (datetime(2026, 7, 1), datetime(2026, 8, 1))),
    (datetime(2026, 1, 15), (datetime(2025, 12, 1), datetime(2026, 1, 1))),
    (datetime(2026, 1, 1), (datetime(2025, 11, 1), datetime(2025, 12, 1))),
    (datetime(2026, 2, 1), (datetime(2025, 12, 1), datetime(2026, 1, 1))),
])
def test_the_last_completed_month(before: datetime,
                                  period: tuple[datetime, datetime]) -> None:
    """Nova's ``last_completed_audit_period('month')``: a period ending at ``before`` is
    not yet completed."""
    assert last_completed_month(before) == period


@pytest.mark.parametrize(("text", "parsed"), [
    ("2026-03-15 10:00:00", datetime(2026, 3, 15, 10)),
    ("2026-03-15 10:00:00.25", datetime(2026, 3, 15, 10, 0, 0, 250000)),
])
def test_the_audit_log_times(text: str, parsed: datetime) -> None:
    assert parse_before(text) == parsed


@pytest.mark.parametrize("text", ["2026-03-15", "2026-03-15T10:00:00", "x.y"])
def test_other_audit_log_times_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match=exactly(f"Invalid timestamp for date {text}")):
        parse_before(text)


# -- usage: times and hours ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "parsed"), [
    ("2026-03-01T10:00:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ("2026-03-01T10:00:00.5", datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ("2026-03-01 10:00:00.000001", datetime(2026, 3, 1, 10, 0, 0, 1, tzinfo=UTC)),
])
def test_usage_times(text: str, parsed: datetime) -> None:
    assert parse_time(text) == parsed


@pytest.mark.parametrize("text", ["2026-03-01", "2026-03-01 10:00:00",
                                  "2026-03-01T10:00:00Z", "2026-03-01T10:00:00+00:00"])
def test_other_usage_times_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput,
                       match=exactly("Invalid datetime string: Datetime is in invalid "
                                     "format")):
        parse_time(text)


def test_no_usage_time_is_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(usage_module, "now", lambda: NOW)
    assert parse_time(None) == parse_time("") == NOW


H = timedelta(hours=1)


@pytest.mark.parametrize(("launched", "terminated", "hours"), [
    (T0 + H, None, 9.0),              # launched in the window, still running: to its end
    (T0 - H, None, 10.0),             # launched before: from the start
    (T0 + H, T0 + 3 * H, 2.0),        # its whole life
    (T0 - H, T0 + 3 * H, 3.0),        # terminated in the window
    (T0 - 2 * H, T0 - H, 0),          # terminated before the window
    (T0 + 11 * H, None, 0),           # launched after it
    (None, None, 0),                  # never launched
])
def test_hours_in_a_window(launched: datetime | None, terminated: datetime | None,
                           hours: float) -> None:
    got = hours_in(launched, terminated, T0, T0 + 10 * H)
    assert (got, type(got)) == (hours, type(hours))


def test_a_window_ending_before_it_starts_gives_negative_hours() -> None:
    """NOTE: Nova's quirk when the start is in the future (the stop is cut to now)."""
    assert hours_in(T0 - H, None, T0 + 2 * H, T0 + H) == -1.0


# -- usage: the query, totals and paging ---------------------------------------------------------

class Usage:
    def __init__(self) -> None:
        self.db = Database("sqlite://")
        self.usage = TenantUsage(self.db)

    def add(self, project: str, launched: datetime | None, terminated: datetime | None = None,
            flavor: tuple[int, int, int, int] = (1, 512, 1, 0),
            vm_state: str = "active") -> str:
        vcpus, ram, root, ephemeral = flavor
        server_id = str(uuid.uuid4())
        with self.db.session() as s:
            s.add(Instance(uuid=server_id, display_name=f"s-{server_id[:4]}", hostname="s",
                           project_id=project, user_id="u", flavor_id="1",
                           flavor_name="m1.tiny", vcpus=vcpus, memory_mb=ram, root_gb=root,
                           ephemeral_gb=ephemeral, vm_state=vm_state, created_at=T0,
                           launched_at=launched, terminated_at=terminated,
                           deleted=terminated is not None, host="compute-001"))
        return server_id


@pytest.fixture
def u(monkeypatch: pytest.MonkeyPatch) -> Usage:
    monkeypatch.setattr(usage_module, "now", lambda: NOW)
    return Usage()


def window(**kw: object) -> Window:
    return Window(start=(T0 - H).strftime("%Y-%m-%dT%H:%M:%S"), **kw)  # type: ignore[arg-type]


def test_live_and_deleted_servers_count(u: Usage) -> None:
    """Deleted ones too ("terminated", with their end); never launched ones and those
    terminated before the window do not; each project once, sorted, with its totals."""
    running = u.add("p1", T0, flavor=(2, 1024, 10, 5))
    deleted = u.add("p1", T0, terminated=T0 + 2 * H)
    u.add("p1", None, vm_state="error")
    u.add("p1", T0 - 3 * H, terminated=T0 - 2 * H)
    other = u.add("p0", T0 + H)
    report = u.usage.list_usages(ADMIN, window(), detailed=True)
    assert [t.tenant_id for t in report.tenants] == ["p0", "p1"]
    p0, p1 = report.tenants
    assert [s.instance_id for s in p0.server_usages or []] == [other]
    by_id = {s.instance_id: s for s in p1.server_usages or []}
    assert set(by_id) == {running, deleted}
    live_hours = (NOW - T0).total_seconds() / 3600
    assert (by_id[running].hours, by_id[running].state, by_id[running].ended_at,
            by_id[running].local_gb) == (live_hours, "active", None, 15)
    assert (by_id[deleted].hours, by_id[deleted].state, by_id[deleted].ended_at,
            by_id[deleted].uptime) == (2.0, "terminated", T0 + 2 * H, 7200)
    assert p1.total_hours == live_hours + 2
    assert p1.total_vcpus_usage == 2 * live_hours + 2
    assert p1.total_memory_mb_usage == 1024 * live_hours + 512 * 2
    assert p1.total_local_gb_usage == 15 * live_hours + 2
    assert (p1.start, p1.stop) == (T0 - H, NOW)


def test_not_detailed_has_no_servers(u: Usage) -> None:
    u.add("p1", T0)
    [tenant] = u.usage.list_usages(ADMIN, window(), detailed=False).tenants
    assert tenant.server_usages is None


def test_show_is_one_project_and_its_readers(u: Usage) -> None:
    u.add("p1", T0)
    u.add("p2", T0)
    assert [t.tenant_id for t in u.usage.show_usage(MEMBER, "p1", window()).tenants] == \
        ["p1"]
    assert u.usage.show_usage(ADMIN, "p3", window()).tenants == []
    with pytest.raises(Forbidden):
        u.usage.show_usage(MEMBER, "p2", window())
    with pytest.raises(Forbidden):
        u.usage.list_usages(MEMBER, window(), detailed=True)


def test_pages_follow_project_then_uuid(u: Usage) -> None:
    made = sorted((project, u.add(project, T0)) for project in ("p2", "p1", "p1", "p2"))
    seen: list[tuple[str, str]] = []
    marker = None
    while True:
        page = u.usage.list_usages(ADMIN, window(limit=3, marker=marker), detailed=True)
        seen += [(s.tenant_id, s.instance_id) for s in page.servers]
        if len(page.servers) < 3:
            break
        marker = page.servers[-1].instance_id
    assert seen == made


def test_an_unknown_marker(u: Usage) -> None:
    with pytest.raises(InvalidInput, match=exactly("Marker nope could not be found.")):
        u.usage.list_usages(ADMIN, window(marker="nope"), detailed=True)


def test_a_start_not_before_the_end(u: Usage) -> None:
    with pytest.raises(InvalidInput, match=exactly("Invalid start time. The start time "
                                                   "cannot occur after the end time.")):
        u.usage.list_usages(ADMIN, Window("2026-03-02T00:00:00", "2026-03-02T00:00:00"),
                            detailed=True)


# -- hosts and external events (on a cloud) ---------------------------------------------------

@pytest.fixture
def cloud() -> Iterator[Cloud]:
    made = Cloud(Config())
    try:
        yield made
    finally:
        asyncio.run(made.stop())


def test_topics() -> None:
    assert [topic(b) for b in ("nova-compute", "nova-scheduler", "nova-conductor")] == \
        ["compute", "scheduler", "conductor"]


def test_hosts_list_and_show(cloud: Cloud) -> None:
    listed = cloud.hosts.list_hosts(ADMIN)
    assert [(h.host_name, h.service) for h in listed[:2]] == \
        [("controller", "scheduler"), ("controller", "conductor")]
    assert cloud.hosts.list_hosts(ADMIN, "internal") == listed[:2]
    rows = cloud.hosts.show(ADMIN, "compute-001")
    assert [r.project for r in rows] == ["(total)", "(used_now)", "(used_max)"]
    assert (rows[2].cpu, rows[2].memory_mb, rows[2].disk_gb) == (0, 0, 0)
    with pytest.raises(NotFound, match=exactly("Host 'controller' is not mapped to any cell")):
        cloud.hosts.show(ADMIN, "controller")


def test_hosts_update_and_power(cloud: Cloud) -> None:
    assert cloud.hosts.update(ADMIN, "compute-001", False, None) == {"status": "disabled"}
    assert not cloud.services.compute_services(["compute-001"])["compute-001"].disabled
    with pytest.raises(NotImplementedYet):
        cloud.hosts.update(ADMIN, "compute-001", True, True)
    with pytest.raises(NotFound):
        cloud.hosts.update(ADMIN, "nope", None, True)
    with pytest.raises(NotImplementedYet):
        cloud.hosts.power_action(ADMIN, "compute-001", "reboot")
    with pytest.raises(Forbidden, match="os-hosts:start "):
        cloud.hosts.power_action(MEMBER, "compute-001", "startup")


def server_row(cloud: Cloud, host: str | None, vm_state: str = "active") -> str:
    server_id = str(uuid.uuid4())
    with cloud.db.session() as s:
        s.add(Instance(uuid=server_id, display_name="s", hostname="s", project_id="p1",
                       user_id="u", flavor_id="1", vm_state=vm_state, created_at=T0,
                       host=host))
    return server_id


def test_event_deliveries(cloud: Cloud) -> None:
    """Codes in the request's order: 404 (none or deleted), 400 (a tag needed), 422 (no
    host), 200; a service user may send them for any project's servers."""
    events: ExternalEvents = cloud.external_events
    hosted, homeless = server_row(cloud, "compute-001"), server_row(cloud, None, "error")
    sent = [Event("network-changed", str(uuid.UUID(int=1))),
            Event("volume-extended", hosted),
            Event("network-changed", homeless),
            Event("network-vif-plugged", hosted, "port-1")]
    assert [d.code for d in events.create(SERVICE, sent)] == [404, 400, 422, 200]
    with pytest.raises(Forbidden):
        events.create(MEMBER, sent)


def test_no_times_at_all_is_a_window_even_when_the_clock_reads_the_same(u: Usage) -> None:
    """Neither ``start`` nor ``end``: Nova's two clock readings; read alike (one
    microsecond), the window is still the instant after the first, not a 400."""
    assert u.usage.list_usages(ADMIN, Window(), detailed=False).tenants == []
    with pytest.raises(InvalidInput, match="start time cannot occur after"):
        u.usage.list_usages(ADMIN, Window(start=NOW.strftime("%Y-%m-%dT%H:%M:%S")),
                            detailed=False)
