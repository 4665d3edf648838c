"""Simple tenant usage (``/os-simple-tenant-usage``): what each project's servers used in
a window, as Nova's ``SimpleTenantUsageController`` computes it.

The servers counted are those live in the window, deleted ones included: launched before
its end, and not terminated before its start (Nova's ``get_active_by_window_joined``,
which reads deleted rows too). A server's hours are the part of the window between its
launch and its termination (or the window's end); each total is its flavor's figure
times those hours. Servers come sorted by project then uuid, which is also how a page
(2.40) continues after its marker (a server uuid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import col, select

from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.records import now, utc
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import InvalidInput

#: The formats Nova tries, in its order (a zone suffix fits none: a 400).
FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _rule(name: str) -> str:
    return f"os_compute_api:os-simple-tenant-usage:{name}"


def parse_time(text: str | None) -> datetime:
    """Nova's ``_parse_datetime``: no value is now, else one of ``FORMATS``, taken as
    UTC. NOTE: with neither ``start`` nor ``end`` the window is the moment between two
    readings of the clock, as in Nova."""
    if not text:
        return now()
    for fmt in FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InvalidInput("Invalid datetime string: Datetime is in invalid format")


@dataclass(frozen=True)
class Window:
    """The period asked for, as Nova reads ``start``, ``end`` and paging."""

    start: str | None = None
    end: str | None = None
    #: At most this many servers (Nova's ``max_limit`` before 2.40).
    limit: int = 1000
    #: The uuid of the last server of the previous page (2.40).
    marker: str | None = None


@dataclass(frozen=True)
class ServerUsage:
    """One server's part of the window (a ``server_usages`` item)."""

    instance_id: str
    name: str
    tenant_id: str
    flavor: str
    #: A float of hours; the integer 0 when the server does not count (Nova's).
    hours: float
    memory_mb: int
    local_gb: int
    vcpus: int
    started_at: datetime
    ended_at: datetime | None
    #: ``terminated`` once it ended, else its vm_state.
    state: str
    uptime: int


@dataclass
class TenantUsageRecord:
    """One project's totals over the window (and its servers' usages when detailed)."""

    tenant_id: str
    start: datetime
    stop: datetime
    total_hours: float = 0
    total_local_gb_usage: float = 0
    total_vcpus_usage: float = 0
    total_memory_mb_usage: float = 0
    server_usages: list[ServerUsage] | None = None


@dataclass(frozen=True)
class UsageReport:
    tenants: list[TenantUsageRecord]
    #: Every server counted, in order (the page's ``*_links`` follow the last one).
    servers: list[ServerUsage] = field(default_factory=list)


def hours_in(launched: datetime | None, terminated: datetime | None, start: datetime,
             stop: datetime) -> float:
    """Nova's ``_hours_for``: the hours of ``[start, stop]`` between launch and
    termination. NOTE: a window whose stop (now, at most) comes before its start gives
    negative hours, as Nova's."""
    if terminated is not None and terminated < start:
        return 0
    if launched is None or launched > stop:
        return 0
    end = min(stop, terminated) if terminated is not None else stop
    return (end - max(launched, start)).total_seconds() / 3600.0


def server_usage(row: Instance, start: datetime, stop: datetime,
                 at: datetime) -> ServerUsage:
    launched = utc(row.launched_at) if row.launched_at else None
    terminated = utc(row.terminated_at) if row.terminated_at else None
    assert launched is not None, "the window's query reads launched servers only"
    ended_at = terminated
    return ServerUsage(
        instance_id=row.uuid, name=row.display_name, tenant_id=row.project_id,
        flavor=row.flavor_name, hours=hours_in(launched, terminated, start, stop),
        memory_mb=row.memory_mb, local_gb=row.root_gb + row.ephemeral_gb, vcpus=row.vcpus,
        started_at=launched, ended_at=ended_at,
        state="terminated" if ended_at is not None else row.vm_state,
        uptime=int(((ended_at or at) - launched).total_seconds()))


def summarize(usages: list[ServerUsage], start: datetime, stop: datetime,
              detailed: bool) -> list[TenantUsageRecord]:
    """Per project in the order its first server comes: the totals, and the servers'
    usages when ``detailed``."""
    tenants: dict[str, TenantUsageRecord] = {}
    for usage in usages:
        tenant = tenants.get(usage.tenant_id)
        if tenant is None:
            tenant = tenants[usage.tenant_id] = TenantUsageRecord(
                usage.tenant_id, start, stop, server_usages=[] if detailed else None)
        tenant.total_local_gb_usage += usage.local_gb * usage.hours
        tenant.total_vcpus_usage += usage.vcpus * usage.hours
        tenant.total_memory_mb_usage += usage.memory_mb * usage.hours
        tenant.total_hours += usage.hours
        if tenant.server_usages is not None:
            tenant.server_usages.append(usage)
    return list(tenants.values())


class TenantUsage:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list_usages(self, ctx: RequestContext, window: Window,
                    detailed: bool) -> UsageReport:
        """Every project's usage (admins)."""
        authorize(ctx, _rule("list"))
        return self._report(window, None, detailed)

    def show_usage(self, ctx: RequestContext, tenant_id: str, window: Window) -> UsageReport:
        """One project's usage, its servers' always listed (admins, or the project's
        readers); a project with none: no tenant at all."""
        authorize(ctx, _rule("show"), tenant_id)
        return self._report(window, tenant_id, detailed=True)

    def _report(self, window: Window, tenant_id: str | None, detailed: bool) -> UsageReport:
        """Nova's order: the times (400), start before end (400), the stop cut to now,
        then the servers (a marker not found: 400)."""
        start, stop = parse_time(window.start), parse_time(window.end)
        if not window.start and not window.end and stop <= start:
            # NOTE: two readings of the clock, Nova's window when neither time is given,
            # can fall in one microsecond here (Nova's path between them is longer):
            # the instant after the first, as Nova practically always sees it.
            stop = start + timedelta(microseconds=1)
        if not start < stop:
            raise InvalidInput("Invalid start time. The start time cannot occur after the "
                               "end time.")
        at = now()
        stop = min(stop, at)
        rows = self._live(start, stop, tenant_id, window.limit, window.marker)
        usages = [server_usage(row, start, stop, at) for row in rows]
        return UsageReport(summarize(usages, start, stop, detailed), usages)

    def _live(self, start: datetime, stop: datetime, tenant_id: str | None, limit: int,
              marker: str | None) -> list[Instance]:
        """The servers live in ``[start, stop]``, deleted or not, by project and uuid."""
        query = select(Instance).where(
            or_(col(Instance.terminated_at).is_(None), col(Instance.terminated_at) > start),
            col(Instance.launched_at) < stop)
        if tenant_id:
            query = query.where(Instance.project_id == tenant_id)
        with self.db.session() as s:
            if marker is not None:
                last = s.exec(select(Instance).where(Instance.uuid == marker)).first()
                if last is None:
                    raise InvalidInput(f"Marker {marker} could not be found.")
                query = query.where(or_(
                    col(Instance.project_id) > last.project_id,
                    and_(col(Instance.project_id) == last.project_id,
                         col(Instance.uuid) > last.uuid)))
            return list(s.exec(query.order_by(col(Instance.project_id), col(Instance.uuid))
                               .limit(limit)).all())
