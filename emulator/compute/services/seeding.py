"""The services that start with the emulator, registered as Nova's register themselves.

Each service writes its row the first time it starts and keeps it afterwards: the
control services on the controller, a ``nova-compute`` (disabled if the backend reports
the host disabled) and its compute node for each host the backend reports. A compute
service whose host the backend no longer reports is gone with its node (the aggregates
forget such a host too); a service deleted through the API registers again at the next
start, as a restarted Nova service does (with a new id).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from backends.base import HostInfo
from emulator.compute.records import now
from emulator.compute.services.models import ComputeNode, Service
from emulator.compute.services.records import COMPUTE, CONTROL_BINARIES, CONTROLLER_HOST
from emulator.db import Database
from emulator.ids import new_uuid

log = logging.getLogger("nova_emulator.services")


def _register(s: Session, services: Sequence[tuple[str, str, bool]]) -> None:
    """Insert (host, binary, disabled) services, in that order (one statement)."""
    if services:
        at = now()
        s.execute(insert(Service), [
            {"uuid": new_uuid(), "host": host, "binary": binary, "disabled": disabled,
             "disabled_reason": None, "forced_down": False, "created_at": at}
            for host, binary, disabled in services])


def _forget(s: Session, reported: set[str]) -> list[str]:
    """Drop the compute services (and nodes) of hosts the backend no longer reports."""
    gone = sorted(set(s.exec(select(Service.host).where(Service.binary == COMPUTE)).all())
                  - reported)
    if gone:
        log.warning("compute hosts no longer reported, their services removed: %s", gone)
        s.execute(delete(ComputeNode).where(col(ComputeNode.host).in_(gone)))
        s.execute(delete(Service).where(col(Service.host).in_(gone),
                                        col(Service.binary) == COMPUTE))
    return gone


def seed_services(db: Database, hosts: Sequence[HostInfo]) -> list[str]:
    """Register what is missing (see the module docstring); the compute hosts whose
    service came or went."""
    with db.session() as s:
        changed = _forget(s, {h.name for h in hosts})
        present = {(host, binary) for host, binary in
                   s.exec(select(Service.host, Service.binary)).all()}
        _register(s, [(CONTROLLER_HOST, binary, False) for binary in CONTROL_BINARIES
                      if (CONTROLLER_HOST, binary) not in present])
        fresh = [h for h in hosts if (h.name, COMPUTE) not in present]
        _register(s, [(h.name, COMPUTE, not h.enabled) for h in fresh])
        if fresh:
            ids = dict(s.exec(select(Service.host, Service.id)
                              .where(Service.binary == COMPUTE)).all())
            at = now()
            s.execute(insert(ComputeNode), [
                {"service_id": ids[h.name], "host": h.name, "hypervisor_hostname": h.name,
                 "created_at": at} for h in fresh])
            changed += [h.name for h in fresh]
    if changed:
        log.info("compute services registered or removed: %d", len(changed))
    return changed
