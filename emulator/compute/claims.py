"""Claims of host resources until placement exists: each claim schedules a server and
records where it went in one transaction, so concurrent claims never overcommit a host
(every transaction runs on the event loop: see ``emulator.db``).

NOTE: usage is summed over every live instance at each claim; the placement issue
replaces this with incremental allocations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from backends.base import HostInfo
from emulator.compute.models import Instance
from emulator.compute.records import now
from emulator.compute.scheduler import HostRequest, Usage, select_host
from emulator.compute.states import TaskState
from emulator.compute.zones import HostZones
from emulator.db import Database


class Claims:
    def __init__(self, db: Database, hosts: Callable[[], list[HostInfo]],
                 zones: HostZones) -> None:
        self.db = db
        self.hosts = hosts
        self.zones = zones

    def _zoned_hosts(self) -> list[HostInfo]:
        """The hosts, each in the zone the aggregates give it (what the scheduler's zone
        filter reads)."""
        return [dataclasses.replace(h, availability_zone=self.zones.host_zone(h.name))
                for h in self.hosts()]

    @staticmethod
    def usage(s: Session, excluding: str | None = None) -> dict[str, Usage]:
        """Resources claimed on each host by live servers (but ``excluding``). A server in
        a resize holds its new flavor on ``host`` and its old one on ``source_host`` until
        confirm or revert; resized on the same host, it holds the larger of the two."""
        moved = col(Instance.source_host).is_not(None)

        def held(new: Any, old: Any) -> Any:
            return case((moved, new), (old > new, old), else_=new)

        live = (Instance.deleted == False)  # noqa: E712
        stmt = (
            select(Instance.host, func.sum(held(Instance.vcpus, Instance.old_vcpus)),
                   func.sum(held(Instance.memory_mb, Instance.old_memory_mb)),
                   func.sum(held(Instance.root_gb + Instance.ephemeral_gb,
                                 Instance.old_root_gb + Instance.old_ephemeral_gb)))
            .where(live, col(Instance.host).is_not(None))
            .group_by(Instance.host)
        )
        sources = (
            select(Instance.source_host, func.sum(Instance.old_vcpus),
                   func.sum(Instance.old_memory_mb),
                   func.sum(Instance.old_root_gb + Instance.old_ephemeral_gb))
            .where(live, moved)
            .group_by(Instance.source_host)
        )
        if excluding is not None:
            stmt = stmt.where(Instance.uuid != excluding)
            sources = sources.where(Instance.uuid != excluding)
        usage: dict[str, Usage] = {}
        for host, v, m, d in [*s.exec(stmt).all(), *s.exec(sources).all()]:
            if host:
                was = usage.get(host, Usage())
                usage[host] = Usage(was.vcpus + int(v or 0), was.memory_mb + int(m or 0),
                                    was.disk_gb + int(d or 0))
        return usage

    def claim_host(self, server_id: str, task_state: str | None = TaskState.NETWORKING,
                   destination: str | None = None) -> HostInfo | None:
        """Schedule ``server_id`` and record its claim atomically; None if nothing fits.

        A build honours the host and node asked for at create; a reschedule (an unshelve:
        ``task_state`` is its own) only ``destination`` (Nova resets forced destinations).
        """
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            build = task_state == TaskState.NETWORKING
            request = HostRequest(
                vcpus=row.vcpus, memory_mb=row.memory_mb, disk_gb=row.root_gb + row.ephemeral_gb,
                availability_zone=row.requested_availability_zone,
                host=row.requested_host if build else destination,
                node=row.requested_node if build else None,
            )
            host = select_host(self._zoned_hosts(), self.usage(s), request)
            if host is not None:
                row.host = row.node = host.name
                row.availability_zone = host.availability_zone
                row.task_state = task_state
                row.updated_at = now()
                s.add(row)
            return host

    def claim_resize(self, server_id: str, same_host: bool = False) -> HostInfo | None:
        """Schedule a resize (the server's new flavor is in place, the old one kept) and
        record its claim atomically; None if nothing fits (Nova's NoValidHost).

        Without ``same_host`` (Nova's ``allow_resize_to_same_host``) the server's own host
        is ignored. On another host the server moves there (``host``) and its old flavor
        stays claimed on ``source_host``; on its own host it holds the larger flavor.
        """
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            current = row.host
            usage = self.usage(s, excluding=row.uuid)
            if current is not None:
                was = usage.get(current, Usage())
                usage[current] = Usage(
                    was.vcpus + max(0, row.old_vcpus - row.vcpus),
                    was.memory_mb + max(0, row.old_memory_mb - row.memory_mb),
                    was.disk_gb + max(0, row.old_root_gb + row.old_ephemeral_gb
                                      - row.root_gb - row.ephemeral_gb))
            request = HostRequest(
                vcpus=row.vcpus, memory_mb=row.memory_mb,
                disk_gb=row.root_gb + row.ephemeral_gb,
                availability_zone=row.pinned_availability_zone
                or row.requested_availability_zone,
                ignore_hosts=frozenset() if same_host or current is None
                else frozenset({current}))
            host = select_host(self._zoned_hosts(), usage, request)
            if host is not None and host.name != current:
                row.source_host, row.source_node = row.host, row.node
                row.host = row.node = host.name
                row.availability_zone = host.availability_zone
                row.updated_at = now()
                s.add(row)
            return host
