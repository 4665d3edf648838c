"""The hypervisors domain: each compute service's node with the host's raw totals, its
usage from placement, its servers counted as Nova's resource tracker counts them, paging,
hostname patterns, id forms, uptime and the statistics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backends.simulated import default_hosts
from emulator.compute.claims import add_hosts, migration, resources
from emulator.compute.models import Instance
from emulator.compute.services import Hypervisors, Services
from emulator.compute.services.hypervisors import uptime_line
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Forbidden, InvalidInput, NotFound
from emulator.placement import Placement

ADMIN = RequestContext("admin-user", "admin-project", frozenset({"admin", "member", "reader"}))
MEMBER = RequestContext("user", "project", frozenset({"member", "reader"}))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
#: compute-001 ... compute-004: 8 vCPUs (ratio 4), 16 GiB, 100 GB each.
HOSTS = default_hosts([("nova", 4)], vcpus=8, memory_mb=16384, local_gb=100)


class Domain:
    def __init__(self) -> None:
        self.db = Database("sqlite://")
        self.services = Services(self.db, lambda: HOSTS, zone_of=lambda _host: "nova")
        self.services.seed()
        self.placement = Placement()
        add_hosts(self.placement, HOSTS)
        self.hypervisors = Hypervisors(self.db, self.services, self.placement)

    def server_on(self, host: str, name: str = "s", vcpus: int = 1, memory_mb: int = 512,
                  root_gb: int = 1, task_state: str | None = None) -> str:
        """A server on ``host``, its flavor allocated there as the claims do."""
        server_id = str(uuid.uuid4())
        with self.db.session() as s:
            s.add(Instance(uuid=server_id, display_name=name, hostname=name, project_id="p",
                           user_id="u", flavor_id="1", vm_state="active", created_at=T0,
                           host=host, node=host, task_state=task_state, vcpus=vcpus,
                           memory_mb=memory_mb, root_gb=root_gb))
        self.placement.allocate(server_id, host, resources(vcpus, memory_mb, root_gb, 0))
        return server_id


@pytest.fixture
def d() -> Iterator[Domain]:
    yield Domain()


def test_totals_are_the_hosts_and_usage_is_placements(d: Domain) -> None:
    """Raw totals (not times the allocation ratio); used is what placement holds, a
    resize's old flavor on its source included; running_vms counts servers only."""
    d.server_on("compute-001", vcpus=2, memory_mb=2048, root_gb=10)
    resizing = d.server_on("compute-002", vcpus=4, memory_mb=4096, root_gb=20,
                           task_state="resize_finish")
    d.placement.allocate(migration(resizing), "compute-001", resources(1, 1024, 5, 0))
    first = d.hypervisors.get(ADMIN, "1", uuid_ids=False).usage
    assert (first.vcpus, first.memory_mb, first.local_gb) == (8, 16384, 100)
    assert (first.vcpus_used, first.memory_mb_used, first.local_gb_used) == (3, 3072, 15)
    assert (first.free_ram_mb, first.free_disk_gb, first.disk_available_least) == \
        (13312, 85, 85)
    assert (first.running_vms, first.current_workload) == (1, 0)
    second = d.hypervisors.get(ADMIN, "2", uuid_ids=False).usage
    assert (second.running_vms, second.current_workload, second.vcpus_used) == (1, 1, 4)


def test_a_deleted_server_is_not_counted(d: Domain) -> None:
    server = d.server_on("compute-003")
    with d.db.session() as s:
        row = s.get(Instance, 1)
        assert row is not None and row.uuid == server
        row.deleted = True
        s.add(row)
    assert d.hypervisors.get(ADMIN, "3", uuid_ids=False).usage.running_vms == 0


def test_the_uuid_is_the_resource_providers(d: Domain) -> None:
    provider = d.placement.provider("compute-004").uuid
    found = d.hypervisors.get(ADMIN, provider, uuid_ids=True)
    assert (found.id, found.uuid, found.hypervisor_hostname) == (4, provider, "compute-004")
    assert d.hypervisors.get(ADMIN, provider.upper(), uuid_ids=True).id == 4


@pytest.mark.parametrize(("uuid_ids", "hypervisor_id", "error", "message"), [
    (False, "abc", NotFound, "Hypervisor with ID 'abc' could not be found."),
    (False, "99", NotFound, "Hypervisor with ID '99' could not be found."),
    (False, "5f0b3a1e-9c2d-4e7f-8a6b-1c2d3e4f5a6b", NotFound,
     "Hypervisor with ID '5f0b3a1e-9c2d-4e7f-8a6b-1c2d3e4f5a6b' could not be found."),
    (True, "1", InvalidInput, "Invalid uuid 1"),
    (True, "5f0b3a1e-9c2d-4e7f-8a6b-1c2d3e4f5a6b", NotFound,
     "Hypervisor with ID '5f0b3a1e-9c2d-4e7f-8a6b-1c2d3e4f5a6b' could not be found."),
])
def test_ids_are_checked_as_nova_does(d: Domain, uuid_ids: bool, hypervisor_id: str,
                                      error: type[Exception], message: str) -> None:
    with pytest.raises(error) as refused:
        d.hypervisors.get(ADMIN, hypervisor_id, uuid_ids=uuid_ids)
    assert str(refused.value) == message


def test_pages_follow_the_node_ids(d: Domain) -> None:
    def page(limit: int | None, marker: str | None) -> list[int]:
        return [h.id for h in d.hypervisors.list_hypervisors(ADMIN, detail=False, limit=limit,
                                                             marker=marker)]

    assert page(None, None) == [1, 2, 3, 4]
    assert page(2, None) == [1, 2]
    assert page(2, "2") == [3, 4]
    assert page(None, d.placement.provider("compute-003").uuid) == [4]
    assert page(0, None) == []
    with pytest.raises(InvalidInput, match=r"^marker \[nope\] not found$"):
        page(None, "nope")


def test_patterns_match_as_sql_like(d: Domain) -> None:
    def matching(pattern: str) -> list[str]:
        return [h.hypervisor_hostname for h in
                d.hypervisors.list_hypervisors(ADMIN, detail=True, pattern=pattern)]

    assert matching("compute") == ["compute-001", "compute-002", "compute-003",
                                   "compute-004"]
    assert matching("COMPUTE-00_") == matching("compute")
    assert matching("te-%3") == ["compute-003"]
    assert matching("e-004") == ["compute-004"]
    with pytest.raises(NotFound, match=r"^No hypervisor matching 'nope' could be found.$"):
        matching("nope")


def test_servers_are_listed_oldest_first_when_asked(d: Domain) -> None:
    first = d.server_on("compute-002", name="first")
    second = d.server_on("compute-002", name="second")
    [found] = d.hypervisors.search(ADMIN, "compute-002", with_servers=True)
    assert found.servers == (("first", first), ("second", second))
    assert d.hypervisors.search(ADMIN, "compute-002", with_servers=False)[0].servers is None
    listed = d.hypervisors.list_hypervisors(ADMIN, detail=False, with_servers=True)
    assert [h.servers for h in listed] == [(), (("first", first), ("second", second)), (),
                                           ()]


def test_uptime_needs_the_service_up(d: Domain) -> None:
    assert d.hypervisors.uptime(ADMIN, "1", uuid_ids=False).uptime is not None
    d.services.update_by_host(ADMIN, "compute-001", "nova-compute", forced_down=True)
    with pytest.raises(InvalidInput,
                       match=r"^Compute service of compute-001 is unavailable at this time\.$"):
        d.hypervisors.uptime(ADMIN, "1", uuid_ids=False)


@pytest.mark.parametrize(("elapsed", "line"), [
    (timedelta(seconds=59), " 10:00:59 up 0 min,  0 users,  load average: 0.00, 0.00, 0.00"),
    (timedelta(hours=3, minutes=4),
     " 13:04:00 up  3:04,  0 users,  load average: 0.00, 0.00, 0.00"),
    (timedelta(days=1, minutes=5),
     " 10:05:00 up 1 day, 5 min,  0 users,  load average: 0.00, 0.00, 0.00"),
    (timedelta(days=2, hours=11, minutes=7),
     " 21:07:00 up 2 days, 11:07,  0 users,  load average: 0.00, 0.00, 0.00"),
])
def test_uptime_reads_as_procps_prints_it(elapsed: timedelta, line: str) -> None:
    booted = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert uptime_line(booted, booted + elapsed) == line


def test_statistics_sum_the_enabled_hypervisors(d: Domain) -> None:
    d.server_on("compute-001", vcpus=2, memory_mb=1024, root_gb=10)
    d.server_on("compute-004", vcpus=4, memory_mb=2048, root_gb=20, task_state="rebooting")
    d.services.update_by_host(ADMIN, "compute-004", "nova-compute", disabled=True)
    stats = d.hypervisors.statistics(ADMIN)
    summed = stats.usage
    assert (stats.count, summed.vcpus, summed.memory_mb, summed.local_gb) == (3, 24, 49152, 300)
    assert (summed.vcpus_used, summed.memory_mb_used, summed.local_gb_used) == (2, 1024, 10)
    assert (summed.running_vms, summed.current_workload, summed.free_disk_gb) == (1, 0, 290)


@pytest.mark.parametrize("operation", ["list", "list-detail", "show", "statistics", "uptime",
                                       "search", "servers"])
def test_every_operation_is_for_admins(d: Domain, operation: str) -> None:
    calls = {
        "list": lambda ctx: d.hypervisors.list_hypervisors(ctx, detail=False),
        "list-detail": lambda ctx: d.hypervisors.list_hypervisors(ctx, detail=True),
        "show": lambda ctx: d.hypervisors.get(ctx, "1", uuid_ids=False),
        "statistics": lambda ctx: d.hypervisors.statistics(ctx),
        "uptime": lambda ctx: d.hypervisors.uptime(ctx, "1", uuid_ids=False),
        "search": lambda ctx: d.hypervisors.search(ctx, "compute", with_servers=False),
        "servers": lambda ctx: d.hypervisors.search(ctx, "compute", with_servers=True),
    }
    calls[operation](ADMIN)
    with pytest.raises(Forbidden, match=f"os_compute_api:os-hypervisors:{operation} "):
        calls[operation](MEMBER)
