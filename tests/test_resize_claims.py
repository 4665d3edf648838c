"""Resize claims: the scheduler's ``ignore_hosts``, the move to another host (new flavor on
the destination, old one kept on the source), and what confirm and revert release."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from backends.simulated import SimulatedBackend, default_hosts
from emulator.clock import Clock
from emulator.compute import resizes
from emulator.compute.aggregates import AggregateService
from emulator.compute.claims import Claims
from emulator.compute.instances import Instances
from emulator.compute.models import Instance
from emulator.compute.scheduler import HostRequest, Usage, select_host
from emulator.db import Database

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GB = 1024


@dataclass
class Domain:
    """The parts of the compute domain a resize claim touches, on one database."""

    db: Database
    backend: SimulatedBackend
    claims: Claims
    instances: Instances
    zones: AggregateService


def domain_of(hosts: int, memory_mb: int = 8 * GB) -> Domain:
    db = Database("sqlite://")
    backend = SimulatedBackend(default_hosts([("nova", hosts)], vcpus=8, memory_mb=memory_mb,
                                             local_gb=100, cpu_allocation_ratio=1.0),
                               clock=Clock())
    zones = AggregateService(db, backend.hosts, images=lambda _ctx, _image: None)
    return Domain(db, backend, Claims(db, backend.hosts, zones), Instances(db), zones)


def resizing(domain: Domain, host: str, old_mb: int, new_mb: int) -> str:
    """A server on ``host`` accepted for a resize from ``old_mb`` to ``new_mb`` of RAM."""
    server_id = str(uuid.uuid4())
    with domain.db.session() as s:
        s.add(Instance(uuid=server_id, display_name="s", hostname="s", project_id="p",
                       user_id="u", flavor_id="new", vm_state="active", created_at=T0,
                       launched_at=T0, host=host, node=host, availability_zone="nova",
                       vcpus=1, memory_mb=new_mb, root_gb=1, old_flavor_id="old",
                       old_vcpus=1, old_memory_mb=old_mb, old_root_gb=1))
    return server_id


def usage(domain: Domain) -> dict[str, Usage]:
    with domain.db.session() as s:
        return Claims.usage(s)


def test_ignore_hosts_filter_skips_the_hosts_named() -> None:
    hosts = default_hosts([("nova", 2)])
    request = HostRequest(vcpus=1, memory_mb=1, disk_gb=1)
    assert select_host(hosts, {}, request) is not None
    ignored = HostRequest(vcpus=1, memory_mb=1, disk_gb=1,
                          ignore_hosts=frozenset({hosts[0].name}))
    assert select_host(hosts, {}, ignored) == hosts[1]
    everything = HostRequest(vcpus=1, memory_mb=1, disk_gb=1,
                             ignore_hosts=frozenset(h.name for h in hosts))
    assert select_host(hosts, {}, everything) is None


def test_a_resize_moves_and_holds_both_flavors_until_confirmed() -> None:
    domain = domain_of(2)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=2 * GB)
    host = domain.claims.claim_resize(sid)
    assert host is not None and host.name == "compute-002"
    row = domain.instances.get(sid)
    assert row is not None
    assert (row.host, row.node, row.source_host, row.source_node) == \
        ("compute-002", "compute-002", "compute-001", "compute-001")
    held = usage(domain)
    assert held["compute-002"].memory_mb == 2 * GB  # the new flavor on the destination
    assert held["compute-001"].memory_mb == 1 * GB  # the old one kept on the source
    domain.instances.set_state(sid, **resizes.CONFIRMED)
    held = usage(domain)
    assert held["compute-002"].memory_mb == 2 * GB
    assert "compute-001" not in held


def test_a_revert_moves_back_and_releases_the_destination() -> None:
    domain = domain_of(2)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=2 * GB)
    assert domain.claims.claim_resize(sid) is not None
    row = domain.instances.get(sid)
    assert row is not None
    domain.instances.set_state(sid, **resizes.reverted_columns(row, domain.zones.host_zone))
    row = domain.instances.get(sid)
    assert row is not None
    assert (row.host, row.node, row.source_host, row.flavor_id, row.memory_mb) == \
        ("compute-001", "compute-001", None, "old", 1 * GB)
    assert usage(domain) == {"compute-001": Usage(1, 1 * GB, 1)}


def test_no_other_host_is_no_valid_host_and_changes_nothing() -> None:
    domain = domain_of(1)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=2 * GB)
    assert domain.claims.claim_resize(sid) is None
    row = domain.instances.get(sid)
    assert row is not None and (row.host, row.source_host) == ("compute-001", None)


def test_the_destination_must_hold_the_new_flavor() -> None:
    domain = domain_of(2, memory_mb=4 * GB)
    sid = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=2 * GB)
    resizing(domain, "compute-002", old_mb=3 * GB, new_mb=3 * GB)  # 3 GiB used there
    assert domain.claims.claim_resize(sid) is None


def test_same_host_allowed_holds_the_larger_flavor_there() -> None:
    domain = domain_of(1, memory_mb=4 * GB)
    sid = resizing(domain, "compute-001", old_mb=3 * GB, new_mb=2 * GB)
    host = domain.claims.claim_resize(sid, same_host=True)
    assert host is not None and host.name == "compute-001"
    row = domain.instances.get(sid)
    assert row is not None and (row.host, row.source_host) == ("compute-001", None)
    assert usage(domain)["compute-001"].memory_mb == 3 * GB
    # The host has 1 GiB left beside the larger flavor held there.
    other = resizing(domain, "compute-001", old_mb=1 * GB, new_mb=1 * GB)
    assert domain.claims.claim_resize(other, same_host=True) is not None
