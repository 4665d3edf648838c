"""Hypervisors (``/os-hypervisors``): each compute service's compute node, as Nova's
``HostAPI`` shows them, with its usage from placement.

The raw totals (``vcpus``, ``memory_mb``, ``local_gb``, not times the allocation ratio)
are the host's as the backend reports them; the ``*_used`` figures are what placement
holds there (a resize's old flavor on its source included, as Nova's resource tracker
counts its migration); the uuid from 2.53 is the host's resource provider's (Nova's
compute node uuid is its provider's). ``running_vms`` counts the servers whose host it is
and ``current_workload`` those of them with a task under way (Nova's resource tracker
counts instances, not migrations): one indexed query per page, never a pass over every
server.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from backends.base import HostInfo
from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.records import now
from emulator.compute.services.records import (
    NodeRecord,
    ServiceRecord,
    integer_id,
    is_uuid_like,
)
from emulator.compute.services.service import Services
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import InvalidInput, NotFound
from emulator.placement import DISK_GB, MEMORY_MB, VCPU, Placement

#: ``hypervisor_version`` by ``hypervisor_type``: Nova's fake driver reports "1.0"
#: (``convert_version_to_int``); NOTE: a backend that does not say its version shows 0.
HYPERVISOR_VERSIONS = {"fake": 1000}
#: Hosts whose servers are counted with a list of names; more: one pass over them all.
PAGE = 1000


def _rule(name: str) -> str:
    return f"os_compute_api:os-hypervisors:{name}"


@dataclass(frozen=True)
class Usage:
    """What a hypervisor has (the host's raw totals), what placement holds there, and what
    runs there; Nova's statistics are their sum."""

    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int
    current_workload: int

    @property
    def free_ram_mb(self) -> int:
        return self.memory_mb - self.memory_mb_used

    @property
    def free_disk_gb(self) -> int:
        return self.local_gb - self.local_gb_used

    @property
    def disk_available_least(self) -> int:
        """NOTE: thick disks: what is left is what the flavors leave."""
        return self.free_disk_gb

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


NO_USAGE = Usage(0, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class HypervisorRecord:
    """One hypervisor (Nova's ``ComputeNode`` with its service)."""

    id: int
    uuid: str
    hypervisor_hostname: str
    service: ServiceRecord
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str
    usage: Usage
    #: What the virt driver says of the CPU (an object from 2.28, a JSON text before).
    cpu_info: Mapping[str, Any]
    #: The host's ``uptime`` line (None: the host does not answer).
    uptime: str | None
    #: (name, uuid) of each server on it, when asked for.
    servers: tuple[tuple[str, str], ...] | None = None

    @property
    def cpu_info_text(self) -> str:
        return json.dumps(self.cpu_info)


@dataclass(frozen=True)
class Statistics:
    """Nova's ``compute_node_statistics``: sums over the enabled compute services."""

    count: int
    usage: Usage


def uptime_line(booted: datetime, at: datetime) -> str:
    """What ``uptime`` prints (procps' format, which the ``openstack`` CLI parses): the
    time, how long since ``booted``, no user, no load."""
    minutes = int((at - booted).total_seconds()) // 60
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    since = f"{days} day{'s' if days != 1 else ''}, " if days else ""
    since += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    return f" {at:%H:%M:%S} up {since} 0 users,  load average: 0.00, 0.00, 0.00"


def _matcher(pattern: str) -> re.Pattern[str]:
    """SQL's ``LIKE '%pattern%'`` as Nova's query runs it: ``%`` and ``_`` are wildcards,
    case ignored (MySQL's default collation)."""
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


class Hypervisors:
    def __init__(self, db: Database, services: Services, placement: Placement) -> None:
        self.db = db
        self.services = services
        self.placement = placement
        #: Lookups by id and by uuid, as of the services' ``generation``.
        self._indexed = -1
        self._by_id: dict[int, NodeRecord] = {}
        self._by_uuid: dict[str, NodeRecord] = {}

    # -- reading ---------------------------------------------------------------------------

    def _records(self, nodes: Sequence[NodeRecord],
                 with_servers: bool = False) -> list[HypervisorRecord]:
        """``nodes`` dressed with their service, totals, usage and servers (one query for
        the counts, one for the servers)."""
        if not nodes:
            return []
        hosts = [n.host for n in nodes]
        named = hosts if len(hosts) <= PAGE else None
        counts = self._counts(named)
        servers = self._servers(named) if with_servers else None
        reported = {h.name: h for h in self.services.reported()}
        services = self.services.compute_services(hosts)
        at = now()
        records = []
        for node in nodes:
            service = services.get(node.host)
            host = reported.get(node.host)
            if service is None or host is None:
                continue
            running, busy = counts.get(node.host, (0, 0))
            records.append(self._record(node, service, host, running, busy, at,
                                        None if servers is None
                                        else tuple(servers.get(node.host, ()))))
        return records

    def _record(self, node: NodeRecord, service: ServiceRecord, host: HostInfo,
                running: int, busy: int, at: datetime,
                servers: tuple[tuple[str, str], ...] | None) -> HypervisorRecord:
        provider = self.placement.get(node.host)
        used: Mapping[str, int] = {} if provider is None else provider.used
        return HypervisorRecord(
            id=node.id, uuid="" if provider is None else provider.uuid,
            hypervisor_hostname=node.hypervisor_hostname, service=service,
            hypervisor_type=host.hypervisor_type,
            hypervisor_version=HYPERVISOR_VERSIONS.get(host.hypervisor_type, 0),
            host_ip=host.host_ip,
            usage=Usage(vcpus=host.vcpus, memory_mb=host.memory_mb, local_gb=host.local_gb,
                        vcpus_used=used.get(VCPU, 0), memory_mb_used=used.get(MEMORY_MB, 0),
                        local_gb_used=used.get(DISK_GB, 0), running_vms=running,
                        current_workload=busy),
            cpu_info={"arch": "x86_64", "model": "Nehalem", "vendor": "Intel",
                      "features": ["pge", "clflush"],
                      "topology": {"cores": host.vcpus, "threads": 1, "sockets": 1}},
            # NOTE: the host came up with this process (what a forced-down service's host
            # still answers; a host the backend reports down does not).
            uptime=uptime_line(self.services.started, at) if host.up else None,
            servers=servers)

    def _counts(self, hosts: Sequence[str] | None) -> dict[str, tuple[int, int]]:
        """host -> (servers on it, those with a task under way), for ``hosts`` (None: every
        host, one pass over the host index rather than a list too long to send)."""
        query = (select(Instance.host, func.count(), func.count(col(Instance.task_state)))
                 .where(Instance.deleted == False)  # noqa: E712
                 .group_by(col(Instance.host)))
        if hosts is not None:
            query = query.where(col(Instance.host).in_(hosts))
        with self.db.session() as s:
            rows = s.exec(query).all()
        return {host: (running, busy) for host, running, busy in rows if host is not None}

    def _servers(self, hosts: Sequence[str] | None) -> dict[str, list[tuple[str, str]]]:
        """host -> (name, uuid) of its servers, oldest first (Nova's ``get_by_host``), for
        ``hosts`` (None: every host)."""
        found: dict[str, list[tuple[str, str]]] = {}
        query = (select(Instance.host, Instance.display_name, Instance.uuid)
                 .where(Instance.deleted == False)  # noqa: E712
                 .order_by(col(Instance.id)))
        if hosts is not None:
            query = query.where(col(Instance.host).in_(hosts))
        with self.db.session() as s:
            rows = s.exec(query).all()
        for host, name, server_id in rows:
            if host is not None:
                found.setdefault(host, []).append((name, server_id))
        return found

    def _matching(self, pattern: str) -> list[NodeRecord]:
        """Nodes whose hypervisor hostname matches, or Nova's 404."""
        matcher = _matcher(pattern)
        nodes = [n for n in self.services.nodes() if matcher.search(n.hypervisor_hostname)]
        if not nodes:
            raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
        return nodes

    def _node(self, hypervisor_id: str) -> NodeRecord | None:
        """By provider uuid when it looks like one, else by integer id (Nova's lookup)."""
        if self._indexed != self.services.generation:
            nodes = self.services.nodes()
            self._by_id = {n.id: n for n in nodes}
            self._by_uuid = {p.uuid: n for n in nodes
                             if (p := self.placement.get(n.host)) is not None}
            self._indexed = self.services.generation
        if is_uuid_like(hypervisor_id):
            return self._by_uuid.get(str(uuid.UUID(hypervisor_id)))
        number = integer_id(hypervisor_id)
        return None if number is None else self._by_id.get(number)

    def _get(self, hypervisor_id: str, uuid_ids: bool) -> NodeRecord:
        """Nova's ``_validate_id`` then lookup: from 2.53 a uuid (else 400), before it an
        integer (else, as an unknown one, 404)."""
        missing = NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
        if uuid_ids and not is_uuid_like(hypervisor_id):
            raise InvalidInput(f"Invalid uuid {hypervisor_id}")
        if not uuid_ids and integer_id(hypervisor_id) is None:
            raise missing
        node = self._node(hypervisor_id)
        if node is None:
            raise missing
        return node

    # -- the API's operations -------------------------------------------------------------

    def authorize(self, ctx: RequestContext, operation: str) -> None:
        authorize(ctx, _rule(operation))

    def list_hypervisors(self, ctx: RequestContext, *, detail: bool,
                         limit: int | None = None, marker: str | None = None,
                         pattern: str | None = None,
                         with_servers: bool = False) -> list[HypervisorRecord]:
        """A page by id after ``marker`` (an id or a uuid), or those matching ``pattern``
        (no paging then: the API refuses both at once)."""
        authorize(ctx, _rule("list-detail" if detail else "list"))
        if pattern is not None:
            return self._records(self._matching(pattern), with_servers)
        nodes = self.services.nodes()
        if marker is not None:
            found = self._node(marker)
            if found is None:
                raise InvalidInput(f"marker [{marker}] not found")
            nodes = [n for n in nodes if n.id > found.id]
        if limit is not None:
            nodes = nodes[:limit]
        return self._records(nodes, with_servers)

    def _one(self, hypervisor_id: str, uuid_ids: bool,
             with_servers: bool = False) -> HypervisorRecord:
        records = self._records([self._get(hypervisor_id, uuid_ids)], with_servers)
        if not records:
            raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
        return records[0]

    def of_host(self, host: str) -> HypervisorRecord | None:
        """The hypervisor of ``host``'s compute service (None: it has none); no policy,
        for the domain's other readers (``os-hosts``)."""
        node = next((n for n in self.services.nodes() if n.host == host), None)
        records = [] if node is None else self._records([node])
        return records[0] if records else None

    def get(self, ctx: RequestContext, hypervisor_id: str, uuid_ids: bool,
            with_servers: bool = False) -> HypervisorRecord:
        authorize(ctx, _rule("show"))
        return self._one(hypervisor_id, uuid_ids, with_servers)

    def uptime(self, ctx: RequestContext, hypervisor_id: str,
               uuid_ids: bool) -> HypervisorRecord:
        """The hypervisor with its host's uptime; a service that is down cannot say
        (Nova's 400)."""
        authorize(ctx, _rule("uptime"))
        record = self._one(hypervisor_id, uuid_ids)
        if not record.service.up or record.uptime is None:
            raise InvalidInput(f"Compute service of {record.service.host} is unavailable "
                               "at this time.")
        return record

    def search(self, ctx: RequestContext, pattern: str,
               with_servers: bool) -> list[HypervisorRecord]:
        """The routes before 2.53: ``/{pattern}/search`` and ``/{pattern}/servers``."""
        authorize(ctx, _rule("servers" if with_servers else "search"))
        return self._records(self._matching(pattern), with_servers)

    def statistics(self, ctx: RequestContext) -> Statistics:
        authorize(ctx, _rule("statistics"))
        nodes = self.services.nodes()
        services = self.services.compute_services(n.host for n in nodes)
        records = self._records([n for n in nodes if not services[n.host].disabled])
        return Statistics(count=len(records),
                          usage=sum((r.usage for r in records), NO_USAGE))
