"""Claims: the compute domain's side of placement. A server's host and flavor in the
database are the record of its allocations; ``emulator.placement`` holds them in memory
(rebuilt from the records at start-up) and decides where servers go.

A build, a resize and an unshelve ask the scheduler (``claim_build``, ``claim_resize``,
``claim_host``) and write where it said in the same step; the end of an operation moves or
drops allocations with the record (``confirm``, ``revert``, ``release``).

A resize holds both flavors, as Nova's migration allocations do: the server's new flavor
on its destination, its old one on the source under the consumer ``migration-<uuid>``
(on the same host when it stays there: both count).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from backends.base import HostInfo
from emulator.compute.models import Instance
from emulator.compute.records import now
from emulator.compute.states import TaskState
from emulator.db import Database, table_of
from emulator.placement import (
    DISK_GB,
    MEMORY_MB,
    VCPU,
    Conflict,
    GroupSpec,
    Inventory,
    NoValidHost,
    Placement,
    RequestSpec,
    Scheduler,
    Selection,
)
from emulator.reads import KeyedRead, KeyedRow, Prebuilt

#: ``group_of(server_id)``: the server group the server is in, as the scheduler needs it
#: (None: none).
GroupLookup = Callable[[str], GroupSpec | None]
#: ``image_properties(image_id)``: what the image filters read of an image.
ImageProperties = Callable[[str], Mapping[str, str]]


_INSTANCE = table_of(Instance)
#: What a create's request spec reads of its first server (a row, no object).
_SPEC_ROW = KeyedRead(lambda match: sa_select(
    _INSTANCE.c.uuid, _INSTANCE.c.project_id, _INSTANCE.c.image_ref, _INSTANCE.c.vcpus,
    _INSTANCE.c.memory_mb, _INSTANCE.c.root_gb, _INSTANCE.c.ephemeral_gb,
    _INSTANCE.c.flavor_extra_specs, _INSTANCE.c.scheduler_hints,
    _INSTANCE.c.requested_availability_zone, _INSTANCE.c.requested_host,
).where(match(_INSTANCE.c.uuid)))
#: The servers of a claim deleted (or being deleted) since it was decided.
_GONE = KeyedRead(lambda match: sa_select(_INSTANCE.c.uuid).where(
    match(_INSTANCE.c.uuid),
    or_(_INSTANCE.c.deleted == True, _INSTANCE.c.task_state == TaskState.DELETING)))  # noqa: E712
#: Where a claimed server goes (one statement, executed for each server of a claim).
_RECORD = Prebuilt(update(_INSTANCE).where(_INSTANCE.c.uuid == bindparam("server")).values(
    host=bindparam("to"), node=bindparam("to"), availability_zone=bindparam("zone"),
    task_state=bindparam("task"), updated_at=bindparam("when")))


def migration(server_id: str) -> str:
    """The consumer that holds a resizing server's old flavor (Nova's migration record)."""
    return f"migration-{server_id}"


def resources(vcpus: int, memory_mb: int, root_gb: int, ephemeral_gb: int) -> dict[str, int]:
    """A flavor as placement counts it (swap lives on the compute host's disk: NOTE Nova
    counts it in DISK_GB only for some drivers; here, as the simulated cloud always did,
    root plus ephemeral)."""
    return {VCPU: vcpus, MEMORY_MB: memory_mb, DISK_GB: root_gb + ephemeral_gb}


def inventories(host: HostInfo) -> dict[str, Inventory]:
    """A compute host's inventory as its resource provider reports it."""
    return {
        VCPU: Inventory(host.vcpus, allocation_ratio=host.cpu_allocation_ratio),
        MEMORY_MB: Inventory(host.memory_mb, allocation_ratio=host.ram_allocation_ratio),
        DISK_GB: Inventory(host.local_gb, allocation_ratio=host.disk_allocation_ratio),
    }


def add_hosts(placement: Placement, hosts: Sequence[HostInfo]) -> None:
    """One resource provider per compute host (its zone, inventory and capabilities)."""
    for host in hosts:
        if placement.get(host.name) is None:
            placement.add_provider(
                host.name, inventories(host), zone=host.availability_zone,
                enabled=host.enabled and host.up,
                capabilities={"hypervisor_type": host.hypervisor_type, "cpu_arch": "x86_64",
                              "vm_mode": "hvm", "host_ip": host.host_ip})


@dataclass
class SchedulingStats:
    """What the scheduler has done since start (the metrics read them)."""

    #: Servers placed (a decision each).
    decisions: int = 0
    #: Requests nothing would take (NoValidHost).
    failures: int = 0
    #: Seconds spent deciding.
    seconds: float = 0.0


class Claims:
    def __init__(self, db: Database, placement: Placement, scheduler: Scheduler,
                 hosts: Callable[[], list[HostInfo]],
                 groups: GroupLookup | None = None,
                 image_properties: ImageProperties | None = None) -> None:
        self.db = db
        self.placement = placement
        self.scheduler = scheduler
        self.hosts = hosts
        self.groups = groups
        self.image_properties = image_properties
        self.stats = SchedulingStats()
        add_hosts(placement, hosts())

    def _decide(self, server_ids: Sequence[str], spec: RequestSpec) -> list[Selection]:
        """The scheduler's decision for ``server_ids``, counted in ``stats``."""
        started = time.perf_counter()
        try:
            selections = self.scheduler.schedule(server_ids, spec)
        except NoValidHost:
            self.stats.failures += 1
            raise
        finally:
            self.stats.seconds += time.perf_counter() - started
        self.stats.decisions += len(selections)
        return selections

    # -- the record: rebuilt at start-up ----------------------------------------------------

    def rebuild(self) -> None:
        """Allocations from the servers' records: a hosted live server holds its flavor on
        its host; a resizing one its old flavor on its source too (one pass, at start)."""
        self.placement.clear()
        with self.db.session() as s:
            rows = s.exec(select(Instance).where(Instance.deleted == False,  # noqa: E712
                                                 col(Instance.host).is_not(None))).all()
        for row in rows:
            self._force(row.uuid, row.host, resources(row.vcpus, row.memory_mb, row.root_gb,
                                                     row.ephemeral_gb))
            if row.old_flavor_id is not None:
                self._force(migration(row.uuid), row.source_host or row.host,
                            resources(row.old_vcpus, row.old_memory_mb, row.old_root_gb,
                                      row.old_ephemeral_gb))

    def _force(self, consumer: str, host: str | None, wanted: dict[str, int]) -> None:
        """Record an allocation the database says exists, even if it no longer fits (the
        host's inventory shrank in the configuration): usage must say what is there."""
        if host is None or self.placement.get(host) is None:
            return
        try:
            self.placement.allocate(consumer, host, wanted)
        except Conflict:
            self.placement.allocate_over(consumer, host, wanted)

    # -- deciding --------------------------------------------------------------------------

    def _spec(self, row: Instance | KeyedRow, zone: str | None,
              image_properties: Mapping[str, str] | None = None, **extra: Any) -> RequestSpec:
        hints: Mapping[str, Any] = row.scheduler_hints or {}
        group = self.groups(row.uuid) if self.groups is not None else None

        def servers(hint: str) -> tuple[str, ...]:
            value = hints.get(hint) or ()
            return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

        image: dict[str, str] = {}
        if image_properties is not None:
            image = dict(image_properties)
        elif self.image_properties is not None and row.image_ref:
            image = dict(self.image_properties(row.image_ref))
        return RequestSpec(
            resources=resources(row.vcpus, row.memory_mb, row.root_gb, row.ephemeral_gb),
            zone=zone, group=group, same_host=servers("same_host"),
            different_host=servers("different_host"),
            flavor_extra_specs={k: str(v) for k, v in (row.flavor_extra_specs or {}).items()},
            image_properties=image, project_id=row.project_id, hints=dict(hints), **extra)

    def build_spec(self, server_id: str,
                   image_properties: Mapping[str, str] | None = None) -> RequestSpec | None:
        """What the servers of a create request ask (they share it); None if the first
        is gone. ``image_properties``: as the request read them (None: read them)."""
        with self.db.reading() as connection:
            found = _SPEC_ROW(connection, [server_id])
        if not found:
            return None
        row = found[0]
        return self._spec(row, row.requested_availability_zone, image_properties,
                          requested_host=row.requested_host)

    def schedule(self, server_ids: Sequence[str], spec: RequestSpec) -> list[Selection]:
        """Decide and claim for ``server_ids`` (in memory: ``record`` writes them down)."""
        return self._decide(server_ids, spec)

    def forget(self, selections: Sequence[Selection]) -> None:
        """Drop claims a request will not use (a later part of it found no host)."""
        for selection in selections:
            self.placement.release(selection.consumer, selection.host)

    def claim_host(self, server_id: str, task_state: str | None,
                   destination: str | None = None) -> str | None:
        """Schedule one server again (an unshelve: only ``destination``, Nova resets
        forced hosts) and record it; None when no host will do."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
        spec = self._spec(row, row.requested_availability_zone, requested_host=destination)
        try:
            selections = self._decide([server_id], spec)
        except NoValidHost:
            return None
        return selections[0].host if self.record(selections, task_state) else None

    def record(self, selections: Sequence[Selection], task_state: str | None) -> list[str]:
        """Write where the servers go (one transaction); the ones recorded. A server deleted
        since it was claimed is not: its claim is dropped."""
        with self.db.writing() as connection:
            gone = {row.uuid for row in _GONE(connection, [x.consumer for x in selections])}
            rows = []
            when = now()
            for selection in selections:
                if selection.consumer in gone:
                    self.placement.release(selection.consumer, selection.host)
                    continue
                rows.append({"server": selection.consumer, "to": selection.host,
                             "zone": self._zone(selection.host), "task": task_state,
                             "when": when})
            if rows:
                _RECORD(connection, rows)
        return [x.consumer for x in selections if x.consumer not in gone]

    def claim_resize(self, server_id: str, same_host: bool = False,
                     destination: str | None = None) -> str | None:
        """Schedule a resize or cold migration (the new flavor in place on the row, the old
        one kept; to ``destination`` if given, through the filters) and record it; None if
        nothing fits (Nova's NoValidHost), every allocation as before.

        Without ``same_host`` (Nova's ``allow_resize_to_same_host``) the server's own host
        is ignored. On another host the server moves there (``host``), its source kept in
        ``source_host``."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
        current = row.host
        spec = self._spec(row, row.pinned_availability_zone or row.requested_availability_zone,
                          requested_host=destination,
                          ignore_hosts=frozenset() if same_host or current is None
                          else frozenset({current}))
        self.placement.move(server_id, migration(server_id))
        try:
            selection = self._decide([server_id], spec)[0]
        except NoValidHost:
            self.placement.move(migration(server_id), server_id)
            return None
        if selection.host != current:
            with self.db.session() as s:
                s.execute(update(Instance).where(col(Instance.uuid) == server_id).values(
                    source_host=row.host, source_node=row.node, host=selection.host,
                    node=selection.host,
                    availability_zone=self._zone(selection.host),
                    updated_at=now()))
        return selection.host

    def claim_move(self, server_id: str, destination: str | None = None,
                   force: bool = False) -> str | None:
        """Schedule a live migration or an evacuation away from the server's host: to
        ``destination`` when given (through the filters; with ``force`` straight there, as
        Nova's forced moves), else where the scheduler says. The server's flavor is claimed
        on the destination and the source's allocation held by its migration consumer;
        the row is not changed (``moved`` writes the new host once the move is done). None
        if nothing fits, every allocation as before."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
        current = row.host
        self.placement.move(server_id, migration(server_id))
        try:
            if force and destination is not None:
                self.placement.allocate(server_id, destination, resources(
                    row.vcpus, row.memory_mb, row.root_gb, row.ephemeral_gb))
                return destination
            spec = self._spec(row, row.pinned_availability_zone
                              or row.requested_availability_zone,
                              requested_host=destination,
                              ignore_hosts=frozenset({current}) if current else frozenset())
            return self._decide([server_id], spec)[0].host
        except (NoValidHost, Conflict):
            self.placement.move(migration(server_id), server_id)
            return None

    def moved(self, server_id: str, host: str) -> None:
        """Write down that a live migration or evacuation put the server on ``host``."""
        with self.db.session() as s:
            s.execute(update(Instance).where(col(Instance.uuid) == server_id).values(
                host=host, node=host, availability_zone=self._zone(host), updated_at=now()))

    def host_ip(self, host: str) -> str | None:
        """The address of ``host``'s compute service (a migration's ``dest_host``)."""
        provider = self.placement.get(host)
        return provider.capabilities.get("host_ip") if provider is not None else None

    def _zone(self, host: str) -> str | None:
        provider = self.placement.get(host)
        return provider.zone if provider is not None else None

    # -- ending operations ----------------------------------------------------------------

    def confirm(self, server_id: str) -> None:
        """A confirmed resize: the source's old flavor goes."""
        self.placement.release(migration(server_id))

    def revert(self, server_id: str) -> None:
        """A reverted (or failed) resize: the new flavor goes, the old one is the server's
        again."""
        if not self.placement.allocations(migration(server_id)):
            return
        self.placement.release(server_id)
        self.placement.move(migration(server_id), server_id)

    def release(self, server_id: str) -> None:
        """A deleted or offloaded server holds nothing any more."""
        self.placement.release(server_id)
        self.placement.release(migration(server_id))
