"""Host aggregates (``/os-aggregates``) and the availability zones they make, as Nova's
``AggregateAPI``: every operation checks the policy, then the id, then Nova's rules in
Nova's order, and commits before it answers.

The zone of a host, the zones there are and each host's aggregates are answered from an
index kept in memory (rebuilt from the database at start and after every change made
here), so the scheduler may ask them on every decision. NOTE: several API processes would
each keep their own index; a change made through one is seen by the others only after
their restart (Nova caches a host's zone for an hour).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from backends.base import HostInfo
from emulator.compute.aggregates.models import Aggregate, AggregateHost, AggregateMetadata
from emulator.compute.aggregates.records import (
    DEFAULT_ZONE,
    ZONE_KEY,
    AggregateInfo,
    AggregateRecord,
)
from emulator.compute.aggregates.rules import host_move_refused, refusal, zone_change_refused
from emulator.compute.aggregates.seeding import seed_zones
from emulator.compute.checks import ImageLookup
from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.records import now
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, EmulatorError, InvalidInput, NotFound
from emulator.ids import new_uuid

log = logging.getLogger("nova_emulator.aggregates")

#: ``on_change(host)``: called after a change to the aggregates of ``host`` (it joined or
#: left one, or one it is in changed its name, metadata or zone).
ChangeListener = Callable[[str], None]


def _rule(name: str) -> str:
    return f"os_compute_api:os-aggregates:{name}"


def _int_id(aggregate_id: str) -> int:
    """Nova's ``validate_integer(id, 'id')`` (``int(str(value))``)."""
    try:
        return int(str(aggregate_id))
    except ValueError:
        raise InvalidInput("Invalid input received: id must be an integer") from None


class AggregateService:
    def __init__(self, db: Database, hosts: Callable[[], list[HostInfo]],
                 images: ImageLookup, default_zone: str = DEFAULT_ZONE) -> None:
        self.db = db
        self.hosts = hosts
        self.images = images
        self.default_zone = default_zone
        self.on_change: ChangeListener | None = None
        self._by_host: dict[str, tuple[AggregateInfo, ...]] = {}
        self._zone_by_host: dict[str, str] = {}
        self._reindex()

    # -- reading -------------------------------------------------------------------------

    @staticmethod
    def _records(s: Session, rows: Sequence[Aggregate]) -> list[AggregateRecord]:
        """``rows`` with their hosts and metadata (one query per table)."""
        ids = [r.id for r in rows]
        hosts: dict[int | None, list[str]] = {i: [] for i in ids}
        for h in s.exec(select(AggregateHost).where(col(AggregateHost.aggregate_id).in_(ids))
                        .order_by(col(AggregateHost.id))):
            hosts[h.aggregate_id].append(h.host)
        metadata: dict[int | None, dict[str, str]] = {i: {} for i in ids}
        for m in s.exec(select(AggregateMetadata)
                        .where(col(AggregateMetadata.aggregate_id).in_(ids))
                        .order_by(col(AggregateMetadata.id))):
            metadata[m.aggregate_id][m.key] = m.value
        return [AggregateRecord(id=r.id or 0, uuid=r.uuid, name=r.name,
                                hosts=tuple(hosts[r.id]), metadata=metadata[r.id],
                                created_at=r.created_at, updated_at=r.updated_at)
                for r in rows]

    def _get(self, s: Session, aggregate_id: str) -> tuple[Aggregate, AggregateRecord]:
        row = s.get(Aggregate, _int_id(aggregate_id))
        if row is None:
            raise NotFound(f"Aggregate {aggregate_id} could not be found.")
        return row, self._records(s, [row])[0]

    def list_aggregates(self, ctx: RequestContext) -> list[AggregateRecord]:
        authorize(ctx, _rule("index"))
        with self.db.session() as s:
            return self._records(s, s.exec(select(Aggregate).order_by(col(Aggregate.id))).all())

    def get(self, ctx: RequestContext, aggregate_id: str) -> AggregateRecord:
        authorize(ctx, _rule("show"))
        with self.db.session() as s:
            return self._get(s, aggregate_id)[1]

    # -- the zone rules' facts -----------------------------------------------------------

    @staticmethod
    def _zoned(s: Session, hosts: Sequence[str]) -> list[tuple[int, str]]:
        """(id, zone) of each aggregate with a zone that holds one of ``hosts``."""
        if not hosts:
            return []
        found = s.exec(
            select(AggregateMetadata.aggregate_id, AggregateMetadata.value)
            .where(AggregateMetadata.key == ZONE_KEY,
                   col(AggregateMetadata.aggregate_id).in_(
                       select(AggregateHost.aggregate_id)
                       .where(col(AggregateHost.host).in_(hosts))))
            .order_by(col(AggregateMetadata.aggregate_id))).all()
        return [(agg_id, zone) for agg_id, zone in found]

    @staticmethod
    def _instances_on(s: Session, hosts: Sequence[str]) -> int:
        """Servers (not deleted) on ``hosts`` (Nova's ``InstanceList.get_by_host``)."""
        if not hosts:
            return 0
        return int(s.exec(select(func.count()).select_from(Instance)
                          .where(col(Instance.host).in_(hosts),
                                 Instance.deleted == False)).one())  # noqa: E712

    # -- writing -------------------------------------------------------------------------

    def create(self, ctx: RequestContext, name: str, zone: str | None) -> AggregateRecord:
        """A new aggregate, in ``zone`` if one is given (no host yet, so no rule applies)."""
        authorize(ctx, _rule("create"))
        with self.db.session() as s:
            if s.exec(select(Aggregate).where(Aggregate.name == name)).first() is not None:
                raise Conflict(f"Aggregate {name} already exists.")
            row = Aggregate(uuid=new_uuid(), name=name, created_at=now())
            s.add(row)
            s.flush()
            assert row.id is not None
            if zone:
                s.add(AggregateMetadata(aggregate_id=row.id, key=ZONE_KEY, value=zone))
            record = self._records(s, [row])[0]
        self._reindex()
        return record

    def update(self, ctx: RequestContext, aggregate_id: str,
               values: Mapping[str, str | None]) -> AggregateRecord:
        """A new ``name`` and/or ``availability_zone`` (Nova's ``update_aggregate``).

        NOTE: as Nova, a new name is saved before the zone is checked: a refused zone
        leaves the rename done. The answer shows ``updated_at`` as now when the zone was
        set, though only a rename stores it (Nova sets it on the object, not the row).
        """
        authorize(ctx, _rule("update"))
        renamed = False
        with self.db.session() as s:
            row, record = self._get(s, aggregate_id)
            name = values.get("name")
            if name is not None and name != row.name:
                if s.exec(select(Aggregate).where(Aggregate.name == name)).first():
                    raise Conflict(f"Aggregate {name} already exists.")
                row.name, row.updated_at = name, now()
                s.add(row)
                s.flush()
                record, renamed = self._records(s, [row])[0], True
        try:
            if ZONE_KEY in values:
                return self._set_metadata(record, {ZONE_KEY: values[ZONE_KEY]}, "update")
        except EmulatorError:
            if renamed:
                self._changed(record.hosts)
            raise
        if renamed:
            self._changed(record.hosts)
        return record

    def set_metadata(self, ctx: RequestContext, aggregate_id: str,
                     metadata: Mapping[str, str | None]) -> AggregateRecord:
        """Set each key of ``metadata`` (null deletes it); ``availability_zone`` moves the
        aggregate's hosts to that zone, under Nova's rules."""
        authorize(ctx, _rule("set_metadata"))
        with self.db.session() as s:
            record = self._get(s, aggregate_id)[1]
        return self._set_metadata(record, metadata, "set_metadata")

    def _set_metadata(self, record: AggregateRecord, metadata: Mapping[str, str | None],
                      operation: str) -> AggregateRecord:
        with self.db.session() as s:
            reason = zone_change_refused(
                metadata, record, self._zoned(s, record.hosts),
                instances=lambda: self._instances_on(s, record.hosts))
            if reason is not None:
                raise refusal(operation, record.id, reason)
            items = {m.key: m for m in s.exec(select(AggregateMetadata).where(
                AggregateMetadata.aggregate_id == record.id))}
            for key, value in metadata.items():
                item = items.get(key)
                if value is None:
                    if item is not None:
                        s.delete(item)
                elif item is None:
                    s.add(AggregateMetadata(aggregate_id=record.id, key=key, value=value))
                else:
                    item.value = value
                    s.add(item)
            s.flush()
            row = s.get(Aggregate, record.id)
            assert row is not None
            record = dataclasses.replace(self._records(s, [row])[0], updated_at=now())
        self._changed(record.hosts)
        return record

    def delete(self, ctx: RequestContext, aggregate_id: str) -> None:
        """Only an empty aggregate may go (so no host's aggregates change)."""
        authorize(ctx, _rule("delete"))
        with self.db.session() as s:
            row, record = self._get(s, aggregate_id)
            if record.hosts:
                raise refusal("delete", record.id, "Host aggregate is not empty")
            s.execute(delete(AggregateMetadata).where(
                col(AggregateMetadata.aggregate_id) == record.id))
            s.delete(row)
        self._reindex()

    def _known_host(self, host: str) -> bool:
        return any(h.name == host for h in self.hosts())

    def add_host(self, ctx: RequestContext, aggregate_id: str, host: str) -> AggregateRecord:
        """Nova's order: the host must exist, then the aggregate; the host may not enter a
        second zone, nor change zone with servers on it, nor join twice."""
        authorize(ctx, _rule("add_host"))
        _int_id(aggregate_id)
        if not self._known_host(host):
            raise NotFound(f"Compute host {host} could not be found.")
        with self.db.session() as s:
            row, record = self._get(s, aggregate_id)
            zoned = self._zoned(s, [host])
            reason = zone_change_refused(record.metadata, record, zoned) or host_move_refused(
                True, record, zoned, self._instances_on(s, [host]))
            if reason is not None:
                raise refusal("add_host", record.id, reason)
            if host in record.hosts:
                raise Conflict(f"Aggregate {record.id} already has host {host}.")
            s.add(AggregateHost(aggregate_id=record.id, host=host))
            s.flush()
            record = self._records(s, [row])[0]
        self._changed([host])
        return record

    def remove_host(self, ctx: RequestContext, aggregate_id: str,
                    host: str) -> AggregateRecord:
        """Nova's order: the host must exist, then the aggregate; a host with servers may
        not leave its zone (checked even before its membership: Nova's quirk); then it
        must be a member. Nova words every "not found" here alike."""
        authorize(ctx, _rule("remove_host"))
        _int_id(aggregate_id)
        missing = NotFound(f"Cannot remove host {host} in aggregate {aggregate_id}")
        if not self._known_host(host):
            raise missing
        with self.db.session() as s:
            try:
                row, record = self._get(s, aggregate_id)
            except NotFound:
                raise missing from None
            reason = host_move_refused(False, record, self._zoned(s, [host]),
                                       self._instances_on(s, [host]))
            if reason is not None:
                raise refusal("remove_host", record.id, reason)
            member = s.exec(select(AggregateHost).where(
                AggregateHost.aggregate_id == record.id, AggregateHost.host == host)).first()
            if member is None:
                raise missing
            s.delete(member)
            s.flush()
            record = self._records(s, [row])[0]
        self._changed([host])
        return record

    def cache_images(self, ctx: RequestContext, aggregate_id: str,
                     image_ids: Sequence[str]) -> None:
        """2.81's image cache request: Nova's checks, then nothing to do (no host here
        keeps an image cache), as a 202 would promise."""
        authorize(ctx, "compute:aggregates:images")
        _int_id(aggregate_id)
        if len(set(image_ids)) != len(image_ids):
            raise InvalidInput("Duplicate images in request")
        with self.db.session() as s:
            self._get(s, aggregate_id)
        for image_id in image_ids:
            if self.images(ctx, image_id) is None:
                raise InvalidInput(f"Image {image_id} could not be found.")

    # -- zones and the scheduler's view ----------------------------------------------------

    def _reindex(self) -> None:
        """Rebuild the in-memory index: each host's aggregates and zone."""
        with self.db.session() as s:
            records = self._records(s, s.exec(select(Aggregate).order_by(col(Aggregate.id)))
                                    .all())
        by_host: dict[str, list[AggregateInfo]] = {}
        zones: dict[str, str] = {}
        for r in records:
            info = AggregateInfo(uuid=r.uuid, name=r.name, metadata=r.metadata)
            for host in r.hosts:
                by_host.setdefault(host, []).append(info)
                if r.availability_zone:
                    zones.setdefault(host, r.availability_zone)
        self._by_host = {host: tuple(infos) for host, infos in by_host.items()}
        self._zone_by_host = zones

    def _changed(self, hosts: Sequence[str]) -> None:
        self._reindex()
        if self.on_change is not None:
            for host in hosts:
                self.on_change(host)

    def host_zone(self, host: str) -> str:
        """The zone of ``host`` (Nova's ``get_host_availability_zone``): the zone of the
        first aggregate with one that holds it, else the default zone."""
        return self._zone_by_host.get(host, self.default_zone)

    def zones(self) -> list[str]:
        """The zones there are (Nova's available zones): those of enabled hosts, sorted."""
        return sorted({self.host_zone(h.name) for h in self.hosts() if h.enabled})

    def host_aggregates(self) -> dict[str, list[AggregateInfo]]:
        """host -> the aggregates it is in (by aggregate id); hosts in none are absent."""
        return {host: list(infos) for host, infos in self._by_host.items()}

    def aggregates_of(self, host: str) -> list[AggregateInfo]:
        """The aggregates ``host`` is in (what an ``on_change(host)`` listener re-reads)."""
        return list(self._by_host.get(host, ()))

    def seed(self) -> None:
        """Put hosts the state sees for the first time in the aggregates of the zones
        the backend reports for them (see ``seeding``); forget hosts that are gone."""
        changed = seed_zones(self.db, self.hosts(), self.default_zone)
        if changed:
            self._changed(changed)
