"""What the dashboard shows, read in one go: the hosts with their capacity and usage per
resource class and the servers on them, the servers' states, server groups, aggregates,
each project's quota usage, the simulated clock. No HTTP.

A simulated cloud can have thousands of hosts and servers: every list is capped (the
first ``Caps`` of each, by name, groups in creation order) with its total beside it.
Usage is placement's (kept incrementally); the servers are one capped query, their count
per host one grouped count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func
from sqlalchemy import select as sa_select

from emulator.compute.aggregates import AggregateRecord, AggregateService
from emulator.compute.models import Instance
from emulator.compute.quotas import Detail, QuotaService
from emulator.compute.server_groups import ServerGroupRecord, ServerGroupService
from emulator.compute.server_groups.models import InstanceGroup
from emulator.compute.states import status_of
from emulator.context import RequestContext
from emulator.control.simulation import ClockState, Simulation
from emulator.db import Database, table_of
from emulator.identity.models import Project
from emulator.placement import Placement, ProviderView

T = TypeVar("T")

#: Who reads: an admin of no project (every project's groups and quotas).
READER = RequestContext(user_id="nova-emulator-dashboard", project_id=None,
                        roles=frozenset({"admin"}))

_INSTANCE, _GROUP, _PROJECT = table_of(Instance), table_of(InstanceGroup), table_of(Project)
_LIVE = _INSTANCE.c.deleted == False  # noqa: E712
_SERVERS = sa_select(
    _INSTANCE.c.uuid, _INSTANCE.c.display_name, _INSTANCE.c.vm_state, _INSTANCE.c.task_state,
    _INSTANCE.c.host, _INSTANCE.c.project_id, _INSTANCE.c.vcpus, _INSTANCE.c.memory_mb,
).where(_LIVE).order_by(_INSTANCE.c.display_name, _INSTANCE.c.uuid)
_SERVER_COUNT = sa_select(func.count()).select_from(_INSTANCE).where(_LIVE)
_BY_HOST = sa_select(_INSTANCE.c.host, func.count()).where(
    _LIVE, _INSTANCE.c.host.is_not(None)).group_by(_INSTANCE.c.host)
_GROUP_COUNT = sa_select(func.count()).select_from(_GROUP)
_PROJECTS = sa_select(_PROJECT.c.id, _PROJECT.c.name).order_by(_PROJECT.c.name, _PROJECT.c.id)
_PROJECT_COUNT = sa_select(func.count()).select_from(_PROJECT)


@dataclass(frozen=True)
class Caps:
    """How many of each list a snapshot holds."""

    hosts: int = 200
    servers: int = 500
    groups: int = 100
    aggregates: int = 100
    projects: int = 20


@dataclass(frozen=True)
class Capped(Generic[T]):
    """The first ``len(items)`` of ``total``."""

    items: list[T]
    total: int


@dataclass(frozen=True)
class ServerFacts:
    id: str
    name: str
    status: str
    vm_state: str
    task_state: str | None
    host: str | None
    project_id: str
    vcpus: int
    memory_mb: int


@dataclass(frozen=True)
class HostFacts:
    #: Its resource provider: capacity (allocation ratios applied) and usage per class.
    provider: ProviderView
    #: Live servers whose host this is.
    servers: int


@dataclass(frozen=True)
class ProjectQuotas:
    id: str
    name: str
    quotas: Mapping[str, Detail]


@dataclass(frozen=True)
class Snapshot:
    backend: str
    #: The simulated clock (None on other backends).
    clock: ClockState | None
    hosts: Capped[HostFacts]
    servers: Capped[ServerFacts]
    groups: Capped[ServerGroupRecord]
    aggregates: Capped[AggregateRecord]
    projects: Capped[ProjectQuotas]


class Dashboard:
    """Reads a ``Snapshot`` of the cloud (see the module docstring)."""

    def __init__(self, db: Database, placement: Placement, groups: ServerGroupService,
                 aggregates: AggregateService, quotas: QuotaService,
                 simulation: Simulation, caps: Caps | None = None) -> None:
        self.db = db
        self.placement = placement
        self.groups = groups
        self.aggregates = aggregates
        self.quotas = quotas
        self.simulation = simulation
        self.caps = caps or Caps()

    def snapshot(self) -> Snapshot:
        caps, simulation = self.caps, self.simulation
        with self.db.reading() as connection:
            servers = [ServerFacts(id=r.uuid, name=r.display_name,
                                   status=status_of(r.vm_state, r.task_state),
                                   vm_state=r.vm_state, task_state=r.task_state, host=r.host,
                                   project_id=r.project_id, vcpus=r.vcpus,
                                   memory_mb=r.memory_mb)
                       for r in connection.execute(_SERVERS.limit(caps.servers))]
            server_total = int(connection.execute(_SERVER_COUNT).scalar_one())
            by_host = {host: int(n) for host, n in connection.execute(_BY_HOST)}
            group_total = int(connection.execute(_GROUP_COUNT).scalar_one())
            projects = list(connection.execute(_PROJECTS.limit(caps.projects)))
            project_total = int(connection.execute(_PROJECT_COUNT).scalar_one())
        providers = sorted(self.placement.providers(), key=lambda p: p.name)
        hosts = [HostFacts(p, by_host.get(p.name, 0)) for p in providers[:caps.hosts]]
        groups = self.groups.list_groups(READER, all_projects=True, limit=caps.groups)
        aggregates = sorted(self.aggregates.list_aggregates(READER), key=lambda a: a.name)
        quotas = [ProjectQuotas(id=p.id, name=p.name,
                                quotas=self.quotas.detail(READER, p.id))
                  for p in projects]
        return Snapshot(
            backend=simulation.health().backend,
            clock=simulation.clock() if simulation.simulated else None,
            hosts=Capped(hosts, len(providers)), servers=Capped(servers, server_total),
            groups=Capped(groups, group_total),
            aggregates=Capped(aggregates[:caps.aggregates], len(aggregates)),
            projects=Capped(quotas, project_total))
