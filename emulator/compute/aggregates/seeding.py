"""The zones a backend reports, made aggregates at start-up, as an operator makes them in
Nova: one aggregate per zone, named after it, with that ``availability_zone``.

A host is seeded once, the first time the state sees it (``SeededHost``); afterwards the
aggregates API alone decides its zone, across restarts. Hosts of the default zone need
no aggregate (Nova's ``default_availability_zone`` is where hosts in no zone are). A host
the backend no longer reports is forgotten: out of its aggregates, as Nova takes a
deleted compute service out of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from backends.base import HostInfo
from emulator.compute.aggregates.models import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    SeededHost,
)
from emulator.compute.aggregates.records import ZONE_KEY
from emulator.compute.records import now
from emulator.db import Database
from emulator.ids import new_uuid

log = logging.getLogger("nova_emulator.aggregates")


def _zone_aggregate(s: Session, zone: str) -> int | None:
    """The aggregate of ``zone``: the first with that zone, else a new one named after
    it (None when an aggregate without that zone already has the name)."""
    found = s.exec(select(AggregateMetadata.aggregate_id)
                   .where(AggregateMetadata.key == ZONE_KEY, AggregateMetadata.value == zone)
                   .order_by(col(AggregateMetadata.aggregate_id))).first()
    if found is not None:
        return found
    if s.exec(select(Aggregate).where(Aggregate.name == zone)).first() is not None:
        log.warning("zone %s not seeded: an aggregate of that name has another zone", zone)
        return None
    row = Aggregate(uuid=new_uuid(), name=zone, created_at=now())
    s.add(row)
    s.flush()
    assert row.id is not None
    s.add(AggregateMetadata(aggregate_id=row.id, key=ZONE_KEY, value=zone))
    return row.id


def _forget(s: Session, names: set[str]) -> list[str]:
    """Take hosts the backend no longer reports out of the aggregates and the seeded
    hosts; the hosts taken out of an aggregate."""
    members = set(s.exec(select(AggregateHost.host).distinct()).all())
    seen = set(s.exec(select(SeededHost.host)).all())
    gone_members = sorted(members - names)
    gone = (seen - names) | set(gone_members)
    if gone:
        log.warning("hosts no longer reported, out of their aggregates: %s", sorted(gone))
        s.execute(delete(AggregateHost).where(col(AggregateHost.host).in_(gone)))
        s.execute(delete(SeededHost).where(col(SeededHost.host).in_(gone)))
    return gone_members


def seed_zones(db: Database, hosts: Sequence[HostInfo], default_zone: str) -> list[str]:
    """Seed the hosts the state has not seen (see the module docstring); the hosts whose
    aggregates changed."""
    changed: list[str] = []
    with db.session() as s:
        changed += _forget(s, {h.name for h in hosts})
        seen = set(s.exec(select(SeededHost.host)).all())
        fresh = [h for h in hosts if h.name not in seen]
        if not fresh:
            return changed
        s.execute(insert(SeededHost), [{"host": h.name, "zone": h.availability_zone}
                                       for h in fresh])
        by_zone: dict[str, list[str]] = {}
        for h in fresh:
            if h.availability_zone != default_zone:
                by_zone.setdefault(h.availability_zone, []).append(h.name)
        for zone, names in by_zone.items():
            aggregate_id = _zone_aggregate(s, zone)
            if aggregate_id is None:
                continue
            members = set(s.exec(select(AggregateHost.host)
                                 .where(AggregateHost.aggregate_id == aggregate_id)).all())
            joining = [n for n in names if n not in members]
            if joining:
                s.execute(insert(AggregateHost), [{"aggregate_id": aggregate_id, "host": n}
                                                  for n in joining])
                changed += joining
        log.info("seeded %d hosts: %s", len(fresh),
                 ", ".join(f"{z} ({len(n)})" for z, n in by_zone.items()) or "default zone")
    return changed
