"""Compute services (``/os-services``), as Nova's ``HostAPI`` and ``ServiceController``:
each operation checks in Nova's order and commits before it answers.

The service records are the one truth of whether a compute host is enabled and up:
``hosts()`` is the backend's hosts as the records say they are (disabled, forced down,
or gone with a deleted service), which the aggregates, server views and claims read;
``on_change(host)`` tells the cloud to make placement follow (a host that is disabled,
forced down or gone takes no new servers).

Rows are mirrored in memory (rebuilt at start, kept after each change made here), so a
list or the overlay costs no query. NOTE: several API processes would each keep their own
mirror, as for the aggregates.

Heartbeats: a Nova service reports every ``report_interval`` (10 s) and its
``updated_at`` moves with each report. Here a service whose host is alive has reported at
every whole interval since this process started; its ``updated_at`` is the later of that
and its last change. A host the backend reports down sends nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from backends.base import HostInfo
from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.records import now, utc
from emulator.compute.services.models import ComputeNode, Service
from emulator.compute.services.records import (
    COMPUTE,
    INTERNAL_ZONE,
    NodeRecord,
    ServiceRecord,
    integer_id,
    is_uuid_like,
)
from emulator.compute.services.seeding import seed_services
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger("nova_emulator.services")

#: Nova's ``report_interval``.
REPORT_INTERVAL = timedelta(seconds=10)

#: ``leave_aggregates(ctx, host)``: take a host whose compute service goes out of every
#: aggregate (Nova's service delete does).
AggregateExit = Callable[[RequestContext, str], None]


def _rule(name: str) -> str:
    return f"os_compute_api:os-services:{name}"


@dataclass(frozen=True)
class _Stored:
    """A row as the mirror keeps it."""

    id: int
    uuid: str
    host: str
    binary: str
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    updated_at: datetime | None

    @classmethod
    def of(cls, row: Service) -> _Stored:
        assert row.id is not None
        return cls(id=row.id, uuid=row.uuid, host=row.host, binary=row.binary,
                   disabled=row.disabled, disabled_reason=row.disabled_reason,
                   forced_down=row.forced_down,
                   updated_at=utc(row.updated_at) if row.updated_at else None)


class Services:
    def __init__(self, db: Database, reported: Callable[[], list[HostInfo]],
                 zone_of: Callable[[str], str]) -> None:
        self.db = db
        #: The hosts as the backend reports them.
        self.reported = reported
        self.zone_of = zone_of
        self.on_change: Callable[[str], None] | None = None
        self.leave_aggregates: AggregateExit | None = None
        #: Whether evacuations from a host are ``done`` and not yet cleaned up after.
        self.done_evacuations: Callable[[str], bool] | None = None
        #: Whether a move from or to a host is under way (its migration in progress).
        self.moves_on: Callable[[str], bool] | None = None
        #: What a compute service does when it starts reporting again (cleans up after
        #: the evacuations from its host).
        self.on_restart: Callable[[str], None] | None = None
        self.started = now()
        #: Bumped on every change to the rows (the hypervisors' caches follow it).
        self.generation = 0
        self._rows: dict[int, _Stored] = {}
        self._compute: dict[str, int] = {}
        self._nodes: dict[str, NodeRecord] = {}
        #: Hosts whose record says otherwise than the backend (disabled or enabled against
        #: it, forced down, no service): ``hosts()`` rewrites only these.
        self._differs: set[str] = set()
        self._reported_by_name: dict[str, HostInfo] | None = None
        #: Hosts whose compute service stopped reporting (the control plane took them
        #: down): their service is down, whatever the backend says of the host.
        self._silent: set[str] = set()

    # -- the mirror ------------------------------------------------------------------------

    def seed(self) -> None:
        """Register the services that start with the emulator (see ``seeding``)."""
        seed_services(self.db, self.reported())
        with self.db.session() as s:
            rows = s.exec(select(Service)).all()
            nodes = s.exec(select(ComputeNode)).all()
        self._rows = {r.id: _Stored.of(r) for r in rows if r.id is not None}
        self._nodes = {n.host: NodeRecord(id=n.id or 0, host=n.host,
                                          hypervisor_hostname=n.hypervisor_hostname,
                                          service_id=n.service_id) for n in nodes}
        self._reindex(h.name for h in self.reported())

    def _reindex(self, hosts: Iterable[str]) -> None:
        self.generation += 1
        self._compute = {r.host: r.id for r in self._rows.values() if r.binary == COMPUTE}
        by_name = {h.name: h for h in self.reported()}
        for host in hosts:
            reported = by_name.get(host)
            stored = self._compute_row(host)
            if reported is not None and (stored is None or stored.forced_down
                                         or stored.disabled == reported.enabled
                                         or host in self._silent):
                self._differs.add(host)
            else:
                self._differs.discard(host)

    def _compute_row(self, host: str) -> _Stored | None:
        service_id = self._compute.get(host)
        return None if service_id is None else self._rows[service_id]

    def _changed(self, host: str) -> None:
        self._reindex([host])
        if self.on_change is not None:
            self.on_change(host)

    # -- what the rest of the cloud reads ------------------------------------------------------

    def hosts(self) -> list[HostInfo]:
        """The compute hosts with a service, enabled and up as their records say."""
        reported = self.reported()
        if not self._differs:
            return reported
        return [h for host in reported if (h := self._as_recorded(host)) is not None]

    def host(self, name: str) -> HostInfo | None:
        """One compute host of ``hosts()`` by name, without a pass over them all (the
        backend's hosts are fixed for its life: the map of them is made once)."""
        if self._reported_by_name is None:
            self._reported_by_name = {h.name: h for h in self.reported()}
        host = self._reported_by_name.get(name)
        return None if host is None else self._as_recorded(host)

    def _as_recorded(self, host: HostInfo) -> HostInfo | None:
        """``host`` as its service record says (None: it has no service)."""
        if host.name not in self._differs:
            return host
        stored = self._compute_row(host.name)
        if stored is None:
            return None
        return dataclasses.replace(host, enabled=not stored.disabled,
                                   up=host.up and not stored.forced_down
                                   and host.name not in self._silent)

    def schedulable(self, host: str) -> bool:
        """Whether new servers may go to ``host``: its compute service is enabled and up
        (one host: ``hosts()`` answers for all at once)."""
        stored = self._compute_row(host)
        if stored is None or stored.disabled or stored.forced_down:
            return False
        return host not in self._silent and any(h.up for h in self.reported()
                                                if h.name == host)

    def _heartbeat(self) -> datetime:
        beats = (now() - self.started) // REPORT_INTERVAL
        return self.started + beats * REPORT_INTERVAL

    def _record(self, stored: _Stored, alive: dict[str, bool]) -> ServiceRecord:
        compute = stored.binary == COMPUTE
        living = alive.get(stored.host, False) if compute else True
        times = [t for t in (stored.updated_at, self._heartbeat() if living else None) if t]
        return ServiceRecord(
            id=stored.id, uuid=stored.uuid, host=stored.host, binary=stored.binary,
            zone=self.zone_of(stored.host) if compute else INTERNAL_ZONE,
            disabled=stored.disabled, disabled_reason=stored.disabled_reason,
            forced_down=stored.forced_down, up=living and not stored.forced_down,
            updated_at=max(times) if times else None)

    def _alive(self) -> dict[str, bool]:
        return {h.name: h.up and h.name not in self._silent for h in self.reported()}

    def set_reporting(self, host: str, up: bool) -> bool:
        """The control plane's switch: ``host``'s compute service stops (or starts again)
        reporting, as when a hypervisor fails (Nova then sees the service down: evacuate
        is allowed, the scheduler skips the host). False for a host with no service."""
        if self._compute_row(host) is None:
            return False
        if up:
            restarted = host in self._silent
            self._silent.discard(host)
            if restarted and self.on_restart is not None:
                self.on_restart(host)
        else:
            self._silent.add(host)
        self._changed(host)
        return True

    def silent(self) -> list[str]:
        return sorted(self._silent)

    def all(self) -> list[ServiceRecord]:
        """Every service, in the order they registered (no policy: the zones read it)."""
        alive = self._alive()
        return [self._record(self._rows[i], alive) for i in sorted(self._rows)]

    def compute_services(self, hosts: Iterable[str]) -> dict[str, ServiceRecord]:
        """host -> its compute service, for those of ``hosts`` that have one."""
        alive = self._alive()
        return {host: self._record(self._rows[self._compute[host]], alive)
                for host in hosts if host in self._compute}

    def nodes(self) -> list[NodeRecord]:
        """The compute nodes whose service is there, by id."""
        return sorted((n for n in self._nodes.values() if n.host in self._compute),
                      key=lambda n: n.id)

    # -- the API's operations -------------------------------------------------------------

    def authorize(self, ctx: RequestContext, operation: str) -> None:
        authorize(ctx, _rule(operation))

    def list_services(self, ctx: RequestContext, host: str | None = None,
                      binary: str | None = None) -> list[ServiceRecord]:
        """Nova's filters: an empty ``host`` or ``binary`` filters nothing."""
        authorize(ctx, _rule("list"))
        return [r for r in self.all()
                if (not host or r.host == host) and (not binary or r.binary == binary)]

    def update_by_host(self, ctx: RequestContext, host: str, binary: str, *,
                       disabled: bool | None = None, disabled_reason: str | None = None,
                       forced_down: bool | None = None) -> ServiceRecord:
        """The actions before 2.53 (``enable``, ``disable``, ``disable-log-reason``,
        ``force-down``): a ``nova-compute`` service named by host and binary."""
        authorize(ctx, _rule("update"))
        self._only_compute(binary)
        stored = self._compute_row(host)
        if stored is None:
            # NOTE: Nova looks the host's cell up first: only compute hosts have one.
            raise NotFound(f"Host '{host}' is not mapped to any cell")
        changes: dict[str, object] = {}
        if disabled is not None:
            changes.update(disabled=disabled, disabled_reason=disabled_reason)
        if forced_down is not None:
            if not forced_down:
                self._check_evacuations(host)
            changes["forced_down"] = forced_down
        return self._save(stored, changes)

    @staticmethod
    def _only_compute(binary: str) -> None:
        if binary != COMPUTE:
            raise InvalidInput(f"Updating a {binary} service is not supported. Only "
                               "nova-compute services can be updated.")

    def update(self, ctx: RequestContext, service_id: str, *, status: str | None = None,
               disabled_reason: str | None = None,
               forced_down: bool | None = None) -> ServiceRecord:
        """2.53's ``PUT /os-services/{uuid}``: ``status`` (with an optional reason when
        disabling) and/or ``forced_down``, in Nova's order of checks."""
        if not is_uuid_like(service_id):
            raise InvalidInput(f"Invalid uuid {service_id}")
        authorize(ctx, _rule("update"))
        stored = self._find(service_id)
        if stored is None:
            raise NotFound(f"Service {service_id} could not be found.")
        self._only_compute(stored.binary)
        changes: dict[str, object] = {}
        if status == "enabled":
            if disabled_reason:
                raise InvalidInput("Specifying 'disabled_reason' with status 'enabled' is "
                                   "invalid.")
            changes.update(disabled=False, disabled_reason=None)
        elif status == "disabled":
            changes.update(disabled=True, disabled_reason=disabled_reason)
        if forced_down is not None:
            if not forced_down:
                self._check_evacuations(stored.host)
            changes["forced_down"] = forced_down
        if not changes:
            raise InvalidInput("No updates were requested. Fields 'status' or "
                               "'forced_down' should be specified.")
        return self._save(stored, changes)

    def _check_evacuations(self, host: str) -> None:
        """Nova's 400 on forcing a host up while evacuations from it are ``done`` (its
        compute service has not restarted to clean up after them)."""
        if self.done_evacuations is not None and self.done_evacuations(host):
            # NOTE: Nova's TODO says 409 under a new microversion; a 400 until then.
            raise InvalidInput(
                f"Unable to force up host {host} as `done` evacuation migration records "
                "remain associated with the host. Ensure the compute service has been "
                "restarted, allowing these records to move to `completed` before retrying "
                "this request.")

    def _find(self, service_id: str) -> _Stored | None:
        """By uuid when it looks like one, else by integer id (Nova's lookup)."""
        if is_uuid_like(service_id):
            wanted = str(uuid.UUID(service_id))
            return next((r for r in self._rows.values() if r.uuid == wanted), None)
        number = integer_id(service_id)
        return None if number is None else self._rows.get(number)

    def _save(self, stored: _Stored, changes: dict[str, object]) -> ServiceRecord:
        at = now()
        with self.db.session() as s:
            s.execute(update(Service).where(col(Service.id) == stored.id)
                      .values(**changes, updated_at=at))
        stored = dataclasses.replace(stored, updated_at=at, **changes)  # type: ignore[arg-type]
        self._rows[stored.id] = stored
        self._changed(stored.host)
        return self._record(stored, self._alive())

    def delete(self, ctx: RequestContext, service_id: str, uuid_ids: bool) -> None:
        """Nova's checks: the id's form (a uuid from 2.53, else an integer), the service,
        then for a compute service no servers on its host and no resize from it. It leaves
        its aggregates, takes its node (the hypervisor) with it and its host takes no new
        servers (Nova deletes the resource provider)."""
        authorize(ctx, _rule("delete"))
        if uuid_ids and not is_uuid_like(service_id):
            raise InvalidInput(f"Invalid uuid {service_id}")
        if not uuid_ids and integer_id(service_id) is None:
            raise InvalidInput("Invalid input received: id must be an integer")
        stored = self._find(service_id)
        if stored is None:
            raise NotFound(f"Service {service_id} not found.")
        if stored.binary == COMPUTE:
            self._refuse_busy_host(stored.host)
            if self.leave_aggregates is not None:
                self.leave_aggregates(ctx, stored.host)
        with self.db.session() as s:
            s.execute(delete(ComputeNode).where(col(ComputeNode.service_id) == stored.id))
            s.execute(delete(Service).where(col(Service.id) == stored.id))
        del self._rows[stored.id]
        if stored.binary == COMPUTE:
            del self._nodes[stored.host]
        log.info("service %s (%s on %s) deleted", stored.id, stored.binary, stored.host)
        self._changed(stored.host)

    def _refuse_busy_host(self, host: str) -> None:
        """Nova's 409s: servers on the host, or a move from or to it under way (a resize
        not yet confirmed or reverted, a migration in progress)."""
        live = Instance.deleted == False  # noqa: E712
        with self.db.session() as s:
            hosting = s.exec(select(func.count()).select_from(Instance)
                             .where(Instance.host == host, live)).one()
            moving = s.exec(select(func.count()).select_from(Instance)
                            .where(Instance.source_host == host, live)).one()
        if hosting:
            raise Conflict("Unable to delete compute service that is hosting instances. "
                           "Migrate or delete the instances first.")
        if moving or (self.moves_on is not None and self.moves_on(host)):
            raise Conflict("Unable to delete compute service that has in-progress "
                           "migrations. Complete the migrations or delete the instances "
                           "first.")
