"""The services domain: the services that register at start, the records that decide
whether a compute host is enabled and up (``hosts()``, ``on_change``), Nova's checks and
faults for updates and deletes, heartbeats, and the zones read from the records."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from backends.base import HostInfo
from backends.simulated import default_hosts
from emulator.cloud import Cloud
from emulator.compute.models import Instance
from emulator.compute.services import CONTROLLER_HOST, ServiceRecord, Services
from emulator.compute.services import service as service_module
from emulator.compute.zones import ServiceState, ZoneService
from emulator.config import Config
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput, NotFound

ADMIN = RequestContext("admin-user", "admin-project", frozenset({"admin", "member", "reader"}))
MEMBER = RequestContext("user", "project", frozenset({"member", "reader"}))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
#: compute-001, 002 in nova; compute-003 in az2.
HOSTS = default_hosts([("nova", 2), ("az2", 1)])


class Domain:
    """Services over a database and a host list the test may change, as the emulator
    starts them; ``changes`` records every ``on_change``."""

    def __init__(self, db: Database | None = None,
                 hosts: list[HostInfo] | None = None) -> None:
        self.db = db or Database("sqlite://")
        self.hosts = list(HOSTS if hosts is None else hosts)
        self.changes: list[str] = []
        self.left: list[str] = []
        self.services = self.start()

    def start(self) -> Services:
        services = Services(self.db, lambda: self.hosts,
                            zone_of=lambda host: "az2" if host == "compute-003" else "nova")
        services.seed()
        services.on_change = self.changes.append
        services.leave_aggregates = lambda _ctx, host: self.left.append(host)
        return services

    def compute(self, host: str) -> ServiceRecord:
        return self.services.compute_services([host])[host]

    def server_on(self, host: str | None, source: str | None = None) -> str:
        server_id = str(uuid.uuid4())
        with self.db.session() as s:
            s.add(Instance(uuid=server_id, display_name="s", hostname="s", project_id="p",
                           user_id="u", flavor_id="1", vm_state="active", created_at=T0,
                           host=host, node=host, source_host=source))
        return server_id


@pytest.fixture
def d() -> Iterator[Domain]:
    yield Domain()


# -- registration -------------------------------------------------------------------------

def test_the_controller_and_each_host_register_a_service(d: Domain) -> None:
    """Control services first (on the controller, in the internal zone), then a compute
    service per host in the backend's order, each in its host's zone, with its node."""
    listed = d.services.list_services(ADMIN)
    assert [(s.id, s.host, s.binary, s.zone) for s in listed] == [
        (1, CONTROLLER_HOST, "nova-scheduler", "internal"),
        (2, CONTROLLER_HOST, "nova-conductor", "internal"),
        (3, "compute-001", "nova-compute", "nova"),
        (4, "compute-002", "nova-compute", "nova"),
        (5, "compute-003", "nova-compute", "az2"),
    ]
    assert all((s.status, s.state, s.forced_down) == ("enabled", "up", False) for s in listed)
    assert len({s.uuid for s in listed}) == 5
    assert [(n.id, n.host, n.service_id) for n in d.services.nodes()] == [
        (1, "compute-001", 3), (2, "compute-002", 4), (3, "compute-003", 5)]


def test_a_host_the_backend_reports_disabled_registers_disabled() -> None:
    hosts = [dataclasses.replace(h, enabled=h.name != "compute-002") for h in HOSTS]
    d = Domain(hosts=hosts)
    assert d.compute("compute-002").disabled
    assert not d.compute("compute-001").disabled


def test_a_restart_keeps_the_records_and_registers_what_is_new(d: Domain) -> None:
    d.services.update_by_host(ADMIN, "compute-001", "nova-compute", disabled=True,
                              disabled_reason="maintenance")
    d.hosts.append(HostInfo("compute-009", "nova", "fake", 8, 8192, 100))
    restarted = d.start()
    assert [(s.id, s.host, s.disabled_reason) for s in restarted.list_services(ADMIN)][2:] == [
        (3, "compute-001", "maintenance"), (4, "compute-002", None),
        (5, "compute-003", None), (6, "compute-009", None)]
    assert [n.id for n in restarted.nodes()] == [1, 2, 3, 4]


def test_a_host_no_longer_reported_loses_its_service_and_node(d: Domain) -> None:
    d.hosts = [h for h in d.hosts if h.name != "compute-002"]
    restarted = d.start()
    assert [s.host for s in restarted.list_services(ADMIN, binary="nova-compute")] == [
        "compute-001", "compute-003"]
    assert [n.host for n in restarted.nodes()] == ["compute-001", "compute-003"]


def test_filters_match_exactly_and_empty_ones_filter_nothing(d: Domain) -> None:
    assert [s.binary for s in d.services.list_services(ADMIN, host=CONTROLLER_HOST)] == [
        "nova-scheduler", "nova-conductor"]
    assert [s.host for s in d.services.list_services(ADMIN, host="compute-00")] == []
    assert len(d.services.list_services(ADMIN, host="", binary="")) == 5
    assert d.services.list_services(ADMIN, host="compute-001", binary="xxx") == []
    with pytest.raises(Forbidden, match="os_compute_api:os-services:list"):
        d.services.list_services(MEMBER)


# -- the records decide -----------------------------------------------------------------

def test_hosts_are_the_backends_until_a_record_says_otherwise(d: Domain) -> None:
    assert d.services.hosts() is d.hosts  # nothing to rewrite: the backend's own list
    d.services.update_by_host(ADMIN, "compute-001", "nova-compute", disabled=True)
    d.services.update_by_host(ADMIN, "compute-002", "nova-compute", forced_down=True)
    shown = {h.name: (h.enabled, h.up) for h in d.services.hosts()}
    assert shown == {"compute-001": (False, True), "compute-002": (True, False),
                     "compute-003": (True, True)}
    assert [d.services.schedulable(h) for h in ("compute-001", "compute-002", "compute-003")
            ] == [False, False, True]
    assert d.changes == ["compute-001", "compute-002"]
    d.services.update_by_host(ADMIN, "compute-001", "nova-compute", disabled=False)
    d.services.update_by_host(ADMIN, "compute-002", "nova-compute", forced_down=False)
    assert d.services.hosts() == d.hosts


def test_a_host_the_backend_reports_down_is_down_and_not_schedulable(d: Domain) -> None:
    d.hosts = [dataclasses.replace(h, up=h.name != "compute-003") for h in HOSTS]
    assert (d.compute("compute-003").state, d.compute("compute-003").updated_at) == \
        ("down", None)
    assert not d.services.schedulable("compute-003")


def test_a_record_lasts_across_a_restart(d: Domain) -> None:
    d.services.update_by_host(ADMIN, "compute-002", "nova-compute", forced_down=True)
    restarted = d.start()
    assert [(h.name, h.up) for h in restarted.hosts()][1] == ("compute-002", False)
    assert restarted.compute_services(["compute-002"])["compute-002"].state == "down"


# -- heartbeats ---------------------------------------------------------------------------

def test_a_live_service_reports_every_interval(d: Domain,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    started = d.services.started
    assert d.compute("compute-001").updated_at == started
    monkeypatch.setattr(service_module, "now", lambda: started + timedelta(seconds=25))
    assert d.compute("compute-001").updated_at == started + timedelta(seconds=20)


def test_a_change_is_the_latest_update(d: Domain) -> None:
    before = d.compute("compute-001").updated_at
    changed = d.services.update_by_host(ADMIN, "compute-001", "nova-compute", disabled=True)
    assert before is not None and changed.updated_at is not None
    assert changed.updated_at > before
    assert d.compute("compute-001").updated_at == changed.updated_at


# -- updates before 2.53 --------------------------------------------------------------------

def test_updates_by_host_take_only_compute_services_of_known_hosts(d: Domain) -> None:
    with pytest.raises(InvalidInput) as refused:
        d.services.update_by_host(ADMIN, CONTROLLER_HOST, "nova-scheduler", disabled=True)
    assert refused.value.message == ("Updating a nova-scheduler service is not supported. "
                                     "Only nova-compute services can be updated.")
    with pytest.raises(NotFound) as missing:
        d.services.update_by_host(ADMIN, "nope", "nova-compute", disabled=True)
    assert missing.value.message == "Host 'nope' is not mapped to any cell"
    with pytest.raises(Forbidden):
        d.services.update_by_host(MEMBER, "compute-001", "nova-compute", disabled=True)


def test_enabling_clears_the_reason(d: Domain) -> None:
    d.services.update_by_host(ADMIN, "compute-001", "nova-compute", disabled=True,
                              disabled_reason="why")
    enabled = d.services.update_by_host(ADMIN, "compute-001", "nova-compute", disabled=False)
    assert (enabled.status, enabled.disabled_reason) == ("enabled", None)


# -- 2.53 updates -----------------------------------------------------------------------

def test_an_update_checks_the_uuid_before_the_policy(d: Domain) -> None:
    with pytest.raises(InvalidInput, match=r"^Invalid uuid 3$"):
        d.services.update(MEMBER, "3", status="disabled")
    with pytest.raises(Forbidden):
        d.services.update(MEMBER, d.compute("compute-001").uuid, status="disabled")
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound, match=f"^Service {unknown} could not be found.$"):
        d.services.update(ADMIN, unknown, status="disabled")


def test_an_update_sets_status_reason_and_forced_down(d: Domain) -> None:
    service_id = d.compute("compute-002").uuid
    disabled = d.services.update(ADMIN, service_id, status="disabled",
                                 disabled_reason="maintenance", forced_down=True)
    assert (disabled.status, disabled.disabled_reason, disabled.forced_down, disabled.state) \
        == ("disabled", "maintenance", True, "down")
    again = d.services.update(ADMIN, service_id, status="disabled")
    assert (again.disabled_reason, again.forced_down) == (None, True)
    up = d.services.update(ADMIN, service_id.upper(), forced_down=False)
    assert (up.status, up.state) == ("disabled", "up")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "No updates were requested. Fields 'status' or 'forced_down' should be "
         "specified."),
    ({"disabled_reason": "x"}, "No updates were requested. Fields 'status' or "
                               "'forced_down' should be specified."),
    ({"status": "enabled", "disabled_reason": "x"},
     "Specifying 'disabled_reason' with status 'enabled' is invalid."),
])
def test_an_update_refuses_nothing_and_a_reason_to_enable(d: Domain, kwargs: dict[str, str],
                                                         message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        d.services.update(ADMIN, d.compute("compute-001").uuid, **kwargs)
    assert refused.value.message == message


def test_only_compute_services_are_updated(d: Domain) -> None:
    scheduler = d.services.list_services(ADMIN, binary="nova-scheduler")[0]
    with pytest.raises(InvalidInput, match=r"^Updating a nova-scheduler service"):
        d.services.update(ADMIN, scheduler.uuid, status="disabled")


# -- delete -----------------------------------------------------------------------------

@pytest.mark.parametrize(("uuid_ids", "service_id", "message"), [
    (False, "abc", "Invalid input received: id must be an integer"),
    (True, "3", "Invalid uuid 3"),
])
def test_a_delete_checks_the_form_of_the_id(d: Domain, uuid_ids: bool, service_id: str,
                                           message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        d.services.delete(ADMIN, service_id, uuid_ids)
    assert refused.value.message == message


def test_a_delete_checks_the_policy_first_and_words_not_found_its_own_way(d: Domain) -> None:
    with pytest.raises(Forbidden):
        d.services.delete(MEMBER, "abc", uuid_ids=False)
    with pytest.raises(NotFound, match=r"^Service 99 not found.$"):
        d.services.delete(ADMIN, "99", uuid_ids=False)


def test_a_compute_service_with_servers_or_a_resize_from_it_stays(d: Domain) -> None:
    server = d.server_on("compute-001")
    d.server_on("compute-003", source="compute-002")
    with pytest.raises(Conflict, match=r"^Unable to delete compute service that is hosting"):
        d.services.delete(ADMIN, "3", uuid_ids=False)
    with pytest.raises(Conflict, match="that has in-progress migrations"):
        d.services.delete(ADMIN, d.compute("compute-002").uuid, uuid_ids=True)
    with d.db.session() as s:
        row = s.get(Instance, 1)
        assert row is not None and row.uuid == server
        row.deleted = True
        s.add(row)
    d.services.delete(ADMIN, "3", uuid_ids=False)
    assert d.left == ["compute-001"]


def test_a_deleted_compute_service_takes_its_host_away(d: Domain) -> None:
    d.services.delete(ADMIN, "4", uuid_ids=False)
    assert [n.host for n in d.services.nodes()] == ["compute-001", "compute-003"]
    assert [h.name for h in d.services.hosts()] == ["compute-001", "compute-003"]
    assert not d.services.schedulable("compute-002")
    assert (d.changes, d.left) == (["compute-002"], ["compute-002"])
    with pytest.raises(NotFound, match=r"^Host 'compute-002' is not mapped to any cell$"):
        d.services.update_by_host(ADMIN, "compute-002", "nova-compute", disabled=True)
    # A restarted compute service registers again, with a new id.
    restarted = d.start()
    assert [(s.id, s.host) for s in restarted.list_services(ADMIN)][-1] == (6, "compute-002")


def test_a_control_service_may_go(d: Domain) -> None:
    d.services.delete(ADMIN, "1", uuid_ids=False)
    assert [s.binary for s in d.services.list_services(ADMIN, host=CONTROLLER_HOST)] == [
        "nova-conductor"]
    assert d.left == []


# -- zones ------------------------------------------------------------------------------

def test_the_zones_read_the_records(d: Domain) -> None:
    """A zone with no enabled service is unavailable; the detail shows each enabled
    service with its state and last update, the control services in the internal zone."""
    zones = ZoneService(d.services.all)
    d.services.update_by_host(ADMIN, "compute-003", "nova-compute", disabled=True)
    forced = d.services.update_by_host(ADMIN, "compute-002", "nova-compute", forced_down=True)
    assert [(z.name, z.available) for z in zones.zones(MEMBER)] == [
        ("nova", True), ("az2", False)]
    detail = {z.name: z for z in zones.zones_detail(ADMIN)}
    assert sorted(detail) == ["az2", "internal", "nova"]
    assert detail["az2"].hosts is None
    nova = detail["nova"].hosts
    assert nova is not None
    assert nova["compute-002"]["nova-compute"] == ServiceState(
        available=False, active=True, updated_at=forced.updated_at)
    internal = detail["internal"].hosts
    assert internal is not None and sorted(internal[CONTROLLER_HOST]) == [
        "nova-conductor", "nova-scheduler"]


# -- the cloud wires placement to the records ---------------------------------------------------

def test_the_cloud_keeps_placement_to_the_records() -> None:
    cloud = Cloud(Config())
    try:
        host = "compute-002"
        cloud.services.update_by_host(ADMIN, host, "nova-compute", disabled=True)
        assert not cloud.placement.provider(host).enabled
        cloud.services.update_by_host(ADMIN, host, "nova-compute", disabled=False)
        assert cloud.placement.provider(host).enabled
        [aggregate] = [a for a in cloud.aggregates.list_aggregates(ADMIN) if a.hosts]
        member = aggregate.hosts[0]
        service = cloud.services.compute_services([member])[member]
        cloud.services.delete(ADMIN, service.uuid, uuid_ids=True)
        assert not cloud.placement.provider(member).enabled
        assert member not in cloud.aggregates.get(ADMIN, str(aggregate.id)).hosts
    finally:
        asyncio.run(cloud.stop())
