"""Resize claims: the scheduler's ``ignore_hosts``, the move to another host (new flavor on
the destination, old one kept on the source as the migration's allocation), what confirm
and revert release, and the same allocations rebuilt from the records at start-up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from backends.simulated import SimulatedBackend, default_hosts
from emulator.clock import Clock
from emulator.compute import resizes
from emulator.compute.aggregates import AggregateService
from emulator.compute.claims import Claims, migration, resources
from emulator.compute.instances import Instances
from emulator.compute.models import Instance
from emulator.db import Database
from emulator.placement import MEMORY_MB, Placement, Scheduler

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GB = 1024


@dataclass
class Domain:
    """The parts of the compute domain a resize claim touches, on one database."""

    db: Database
    backend: SimulatedBackend
    placement: Placement
    claims: Claims
    instances: Instances
    zones: AggregateService


def domain_of(hosts: int, memory_mb: int = 8 * GB) -> Domain:
    db = Database("sqlite://")
    backend = SimulatedBackend(default_hosts([("nova", hosts)], vcpus=8, memory_mb=memory_mb,
                                             local_gb=100, cpu_allocation_ratio=1.0),
                               clock=Clock())
    placement = Placement()
    claims = Claims(db, placement, Scheduler(placement), backend.hosts)
    zones = AggregateService(db, backend.hosts, images=lambda _ctx, _image: None)
    return Domain(db, backend, placement, claims, Instances(db), zones)


def resizing(domain: Domain, host: str, old_mb: int, new_mb: int) -> str:
    """A server on ``host`` accepted for a resize from ``old_mb`` to ``new_mb`` of RAM: the
    row has the new flavor in place (the old one kept), placement still the old one."""
    server_id = str(uuid.uuid4())
    with domain.db.session() as s:
        s.add(Instance(uuid=server_id, display_name="s", hostname="s", project_id="p",
                       user_id="u", flavor_id="new", vm_state="active", created_at=T0,
                       launched_at=T0, host=host, node=host, availability_zone="nova",
                       vcpus=1, memory_mb=new_mb, root_gb=1, old_flavor_id="old",
                       old_vcpus=1, old_memory_mb=old_mb, old_root_gb=1))
    domain.placement.allocate(server_id, host, resources(1, old_mb, 1, 0))
    return server_id


def memory(domain: Domain) -> dict[str, int]:
    """MEMORY_MB used per host (hosts with none left out)."""
    return {p.name: p.used[MEMORY_MB] for p in domain.placement.providers()
            if p.used[MEMORY_MB]}


def test_ignore_hosts_skips_the_hosts_named() -> None:
    domain = domain_of(2)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=1 * GB)
    # Without same_host the resize's own host is ignored: the other one is chosen.
    assert domain.claims.claim_resize(sid) == "compute-002"


def test_a_resize_moves_and_holds_both_flavors_until_confirmed() -> None:
    domain = domain_of(2)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=2 * GB)
    assert domain.claims.claim_resize(sid) == "compute-002"
    row = domain.instances.get(sid)
    assert row is not None
    assert (row.host, row.node, row.source_host, row.source_node) == \
        ("compute-002", "compute-002", "compute-001", "compute-001")
    # The new flavor on the destination, the old one kept on the source (the migration's).
    assert memory(domain) == {"compute-002": 2 * GB, "compute-001": 1 * GB}
    assert domain.placement.allocations(migration(sid)) == {
        "compute-001": resources(1, 1 * GB, 1, 0)}
    # A restart rebuilds the same allocations from the records.
    domain.claims.rebuild()
    assert memory(domain) == {"compute-002": 2 * GB, "compute-001": 1 * GB}
    domain.claims.confirm(sid)
    domain.instances.set_state(sid, **resizes.CONFIRMED)
    assert memory(domain) == {"compute-002": 2 * GB}
    domain.claims.rebuild()
    assert memory(domain) == {"compute-002": 2 * GB}


def test_a_revert_moves_back_and_releases_the_destination() -> None:
    domain = domain_of(2)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=2 * GB)
    assert domain.claims.claim_resize(sid) is not None
    row = domain.instances.get(sid)
    assert row is not None
    domain.claims.revert(sid)
    domain.instances.set_state(sid, **resizes.reverted_columns(row, domain.zones.host_zone))
    row = domain.instances.get(sid)
    assert row is not None
    assert (row.host, row.node, row.source_host, row.flavor_id, row.memory_mb) == \
        ("compute-001", "compute-001", None, "old", 1 * GB)
    assert memory(domain) == {"compute-001": 1 * GB}
    assert domain.placement.allocations(sid) == {"compute-001": resources(1, 1 * GB, 1, 0)}
    domain.claims.rebuild()
    assert memory(domain) == {"compute-001": 1 * GB}


def test_no_other_host_is_no_valid_host_and_changes_nothing() -> None:
    domain = domain_of(1)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=2 * GB)
    assert domain.claims.claim_resize(sid) is None
    row = domain.instances.get(sid)
    assert row is not None and (row.host, row.source_host) == ("compute-001", None)
    # Every allocation as before: the old flavor, the server's.
    assert domain.placement.allocations(sid) == {"compute-001": resources(1, 1 * GB, 1, 0)}
    assert domain.placement.allocations(migration(sid)) == {}


def test_the_destination_must_hold_the_new_flavor() -> None:
    domain = domain_of(2, memory_mb=4 * GB)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=2 * GB)
    resizing(domain, "compute-002", old_mb=3 * GB, new_mb=3 * GB)  # 3 GiB used there
    assert domain.claims.claim_resize(sid) is None


def test_same_host_allowed_holds_both_flavors_there() -> None:
    # NOTE: as Nova's migration allocations, a resize on the same host holds the old and
    # the new flavor there until confirm or revert (not the larger of the two).
    domain = domain_of(1, memory_mb=6 * GB)
    sid = resizing(domain, "compute-001", old_mb=3 * GB, new_mb=2 * GB)
    assert domain.claims.claim_resize(sid, same_host=True) == "compute-001"
    row = domain.instances.get(sid)
    assert row is not None and (row.host, row.source_host) == ("compute-001", None)
    assert memory(domain)["compute-001"] == 5 * GB
    # 1 GiB is left beside both flavors: a 2 GiB resize does not fit, a 1 GiB one does.
    bigger = resizing(domain, "compute-001", old_mb=0, new_mb=2 * GB)
    assert domain.claims.claim_resize(bigger, same_host=True) is None
    domain.claims.release(bigger)
    other = resizing(domain, "compute-001", old_mb=0, new_mb=1 * GB)
    assert domain.claims.claim_resize(other, same_host=True) == "compute-001"
    domain.claims.confirm(sid)
    assert memory(domain)["compute-001"] == 3 * GB
