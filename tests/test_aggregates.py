"""The aggregates domain: Nova's rules and faults, the zones made of aggregates, the seeding
of the backend's zones, and the scheduler's view (``host_aggregates``, ``on_change``)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from backends.base import HostInfo
from backends.simulated import default_hosts
from emulator.compute.aggregates import AggregateInfo, AggregateService
from emulator.compute.aggregates.seeding import seed_zones
from emulator.compute.checks import ImageInfo
from emulator.compute.models import Instance
from emulator.compute.zones import ServiceState, ZoneService
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput, NotFound

ADMIN = RequestContext("admin-user", "admin-project", frozenset({"admin", "member", "reader"}))
MEMBER = RequestContext("user", "project", frozenset({"member", "reader"}))
IMAGE = "5b4e3f0e-7d8c-4a55-9a43-43a1c0a4e0a1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
#: compute-001, 002 in nova; compute-003, 004 in az2.
HOSTS = default_hosts([("nova", 2), ("az2", 2)])


def images(_ctx: RequestContext, image_id: str) -> ImageInfo | None:
    return ImageInfo(IMAGE, "active", 0, 0) if image_id == IMAGE else None


class Cloud:
    """An aggregates service over a database and a host list the test may change."""

    def __init__(self, db: Database | None = None) -> None:
        self.db = db or Database("sqlite://")
        self.hosts: list[HostInfo] = list(HOSTS)
        self.changes: list[str] = []
        self.service = self.start()

    def start(self) -> AggregateService:
        """A service as the emulator builds one at start-up (seeded), listened to."""
        service = AggregateService(self.db, lambda: self.hosts, images)
        service.seed()
        service.on_change = self.changes.append
        return service

    def server_on(self, host: str) -> str:
        server_id = str(uuid.uuid4())
        with self.db.session() as s:
            s.add(Instance(uuid=server_id, display_name="s", hostname="s", project_id="p",
                           user_id="u", flavor_id="1", vm_state="active", created_at=T0,
                           host=host, node=host,
                           availability_zone=self.service.host_zone(host)))
        return server_id

    def aggregate(self, name: str, zone: str | None = None, *hosts: str) -> int:
        record = self.service.create(ADMIN, name, zone)
        for host in hosts:
            self.service.add_host(ADMIN, str(record.id), host)
        return record.id


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    yield Cloud()


# -- seeding and zones ------------------------------------------------------------------

def test_the_backends_zones_are_seeded_as_aggregates(cloud: Cloud) -> None:
    """One aggregate per zone but the default one, named after it, holding its hosts."""
    [az2] = cloud.service.list_aggregates(ADMIN)
    assert (az2.name, az2.availability_zone, az2.hosts) == \
        ("az2", "az2", ("compute-003", "compute-004"))
    assert [cloud.service.host_zone(h.name) for h in HOSTS] == ["nova", "nova", "az2", "az2"]
    assert cloud.service.zones() == ["az2", "nova"]


def test_seeding_is_once_per_host_across_restarts(cloud: Cloud) -> None:
    """A restart seeds nothing twice, and keeps what the API changed (a host moved out of
    its seeded zone stays out); a host new to the state is seeded."""
    [az2] = cloud.service.list_aggregates(ADMIN)
    cloud.service.remove_host(ADMIN, str(az2.id), "compute-004")
    restarted = cloud.start()
    assert [(a.name, a.hosts) for a in restarted.list_aggregates(ADMIN)] == \
        [("az2", ("compute-003",))]
    assert restarted.host_zone("compute-004") == "nova"
    cloud.hosts.append(HostInfo("compute-009", "az2", "QEMU", 8, 8192, 100))
    cloud.hosts.append(HostInfo("compute-010", "az3", "QEMU", 8, 8192, 100))
    again = cloud.start()
    assert [(a.name, a.availability_zone, a.hosts) for a in again.list_aggregates(ADMIN)] == [
        ("az2", "az2", ("compute-003", "compute-009")), ("az3", "az3", ("compute-010",))]


def test_a_host_no_longer_reported_leaves_its_aggregates(cloud: Cloud) -> None:
    cloud.aggregate("mine", None, "compute-001", "compute-003")
    cloud.hosts = [h for h in cloud.hosts if h.name not in ("compute-003", "compute-001")]
    restarted = cloud.start()
    assert [(a.name, a.hosts) for a in restarted.list_aggregates(ADMIN)] == [
        ("az2", ("compute-004",)), ("mine", ())]
    assert set(restarted.host_aggregates()) == {"compute-004"}


def test_a_zone_whose_name_is_taken_is_not_seeded() -> None:
    db = Database("sqlite://")
    first = AggregateService(db, lambda: [], images)
    first.create(ADMIN, "az2", None)
    assert seed_zones(db, HOSTS, "nova") == []
    assert [(a.name, a.hosts) for a in first.list_aggregates(ADMIN)] == [("az2", ())]


def test_zones_are_those_of_enabled_hosts(cloud: Cloud) -> None:
    cloud.hosts = [HostInfo(h.name, h.availability_zone, "QEMU", 8, 8192, 100,
                            enabled=h.name != "compute-003" and h.name != "compute-004")
                   for h in HOSTS]
    assert cloud.service.zones() == ["nova"]


# -- create, show, update, delete ---------------------------------------------------------

def test_create_refuses_a_name_taken(cloud: Cloud) -> None:
    created = cloud.service.create(ADMIN, "agg1", "zone1")
    assert (created.name, created.availability_zone, created.hosts, created.updated_at) == \
        ("agg1", "zone1", (), None)
    with pytest.raises(Conflict, match=r"^Aggregate agg1 already exists\.$"):
        cloud.service.create(ADMIN, "agg1", None)


@pytest.mark.parametrize("call", [
    lambda s: s.list_aggregates(MEMBER),
    lambda s: s.create(MEMBER, "x", None),
    lambda s: s.get(MEMBER, "1"),
    lambda s: s.update(MEMBER, "1", {"name": "y"}),
    lambda s: s.delete(MEMBER, "1"),
    lambda s: s.add_host(MEMBER, "1", "compute-001"),
    lambda s: s.remove_host(MEMBER, "1", "compute-001"),
    lambda s: s.set_metadata(MEMBER, "1", {"a": "b"}),
])
def test_every_operation_is_for_admins(cloud: Cloud, call: object) -> None:
    with pytest.raises(Forbidden, match=r"^Policy doesn't allow os_compute_api:os-aggregates:"):
        call(cloud.service)  # type: ignore[operator]
    with pytest.raises(Forbidden, match="compute:aggregates:images"):
        cloud.service.cache_images(MEMBER, "1", [IMAGE])


def test_ids_are_integers_and_must_exist(cloud: Cloud) -> None:
    with pytest.raises(InvalidInput, match=r"^Invalid input received: id must be an integer$"):
        cloud.service.get(ADMIN, "abc")
    with pytest.raises(NotFound, match=r"^Aggregate 99 could not be found\.$"):
        cloud.service.get(ADMIN, "99")


def test_delete_needs_an_empty_aggregate_and_ids_are_not_reused(cloud: Cloud) -> None:
    full = cloud.aggregate("full", None, "compute-001")
    with pytest.raises(InvalidInput, match=(
            rf"^Cannot remove host from aggregate {full}\. "
            r"Reason: Host aggregate is not empty\.$")):
        cloud.service.delete(ADMIN, str(full))
    last = cloud.aggregate("last")
    cloud.service.delete(ADMIN, str(last))
    with pytest.raises(NotFound):
        cloud.service.get(ADMIN, str(last))
    assert cloud.aggregate("next") == last + 1


def test_update_renames_and_moves_the_zone(cloud: Cloud) -> None:
    agg = cloud.aggregate("old", "z1", "compute-001")
    renamed = cloud.service.update(ADMIN, str(agg), {"name": "new"})
    assert renamed.name == "new" and renamed.updated_at is not None
    moved = cloud.service.update(ADMIN, str(agg), {"availability_zone": "z2"})
    assert moved.availability_zone == "z2" and moved.updated_at is not None
    assert cloud.service.host_zone("compute-001") == "z2"
    with pytest.raises(Conflict, match=r"^Aggregate az2 already exists\.$"):
        cloud.service.update(ADMIN, str(agg), {"name": "az2"})


def test_a_rename_stays_when_the_zone_is_refused(cloud: Cloud) -> None:
    """Nova saves the name before it checks the zone."""
    agg = cloud.aggregate("old", None, "compute-003")
    cloud.changes.clear()
    with pytest.raises(InvalidInput, match=(
            rf"^Cannot update aggregate {agg}\. Reason: One or more hosts already in "
            r"availability zone\(s\) \['az2'\]\.$")):
        cloud.service.update(ADMIN, str(agg), {"name": "new", "availability_zone": "z9"})
    assert cloud.service.get(ADMIN, str(agg)).name == "new"
    assert cloud.changes == ["compute-003"]  # the rename reached the scheduler's view
    assert [a.name for a in cloud.service.aggregates_of("compute-003")] == ["az2", "new"]


def test_only_a_rename_stores_updated_at(cloud: Cloud) -> None:
    """Nova shows ``updated_at`` as now after a metadata change, but keeps it unset."""
    agg = cloud.aggregate("agg")
    assert cloud.service.set_metadata(ADMIN, str(agg), {"k": "v"}).updated_at is not None
    assert cloud.service.get(ADMIN, str(agg)).updated_at is None
    cloud.service.update(ADMIN, str(agg), {"name": "renamed"})
    assert cloud.service.get(ADMIN, str(agg)).updated_at is not None


# -- hosts --------------------------------------------------------------------------------

def test_add_host_refusals_in_novas_order(cloud: Cloud) -> None:
    agg = cloud.aggregate("agg", "z1", "compute-001")
    with pytest.raises(NotFound, match=r"^Compute host nowhere could not be found\.$"):
        cloud.service.add_host(ADMIN, "99", "nowhere")
    with pytest.raises(NotFound, match=r"^Aggregate 99 could not be found\.$"):
        cloud.service.add_host(ADMIN, "99", "compute-001")
    with pytest.raises(Conflict, match=(
            rf"^Cannot add host to aggregate {agg}\. Reason: One or more hosts already in "
            r"availability zone\(s\) \['az2'\]\.$")):
        cloud.service.add_host(ADMIN, str(agg), "compute-003")
    with pytest.raises(Conflict, match=rf"^Aggregate {agg} already has host compute-001\.$"):
        cloud.service.add_host(ADMIN, str(agg), "compute-001")


def test_a_host_in_a_zone_may_join_aggregates_without_one(cloud: Cloud) -> None:
    plain = cloud.aggregate("plain", None, "compute-003")
    same = cloud.aggregate("same", "az2", "compute-003")
    assert cloud.service.get(ADMIN, str(plain)).hosts == ("compute-003",)
    assert cloud.service.get(ADMIN, str(same)).hosts == ("compute-003",)
    assert cloud.service.host_zone("compute-003") == "az2"


def test_a_host_with_servers_keeps_its_zone(cloud: Cloud) -> None:
    cloud.server_on("compute-001")
    zoned = cloud.aggregate("zoned", "z1")
    with pytest.raises(Conflict, match=(
            rf"^Cannot add host to aggregate {zoned}\. Reason: The host cannot be added to "
            r"the aggregate as the availability zone of the host would change from 'None' "
            r"to 'z1' but the host already has 1 instance\(s\)\. .* to achieve this\.\.$")):
        cloud.service.add_host(ADMIN, str(zoned), "compute-001")
    plain = cloud.aggregate("plain", None, "compute-001")  # no zone: nothing moves
    cloud.service.remove_host(ADMIN, str(plain), "compute-001")
    cloud.server_on("compute-003")
    [az2] = [a for a in cloud.service.list_aggregates(ADMIN) if a.name == "az2"]
    with pytest.raises(Conflict, match=(
            rf"^Cannot remove host from aggregate {az2.id}\. Reason: The host cannot be "
            r"removed from the aggregate as the availability zone of the host would change "
            r"from 'az2' to 'None' but the host already has 1 instance\(s\)\.")):
        cloud.service.remove_host(ADMIN, str(az2.id), "compute-003")


def test_remove_host_words_every_miss_alike(cloud: Cloud) -> None:
    agg = cloud.aggregate("agg")
    for aggregate_id, host in ((str(agg), "compute-001"), (str(agg), "nowhere"),
                               ("99", "compute-001")):
        with pytest.raises(NotFound, match=(
                rf"^Cannot remove host {host} in aggregate {aggregate_id}$")):
            cloud.service.remove_host(ADMIN, aggregate_id, host)


# -- metadata -----------------------------------------------------------------------------

def test_set_metadata_sets_and_deletes_keys(cloud: Cloud) -> None:
    agg = str(cloud.aggregate("agg", None, "compute-001"))
    cloud.service.set_metadata(ADMIN, agg, {"a": "1", "b": "2"})
    record = cloud.service.set_metadata(ADMIN, agg, {"a": None, "b": "3", "gone": None})
    assert dict(record.metadata) == {"b": "3"}
    record = cloud.service.set_metadata(ADMIN, agg, {"availability_zone": "z1"})
    assert record.availability_zone == "z1"
    assert cloud.service.host_zone("compute-001") == "z1"
    assert cloud.service.zones() == ["az2", "nova", "z1"]


@pytest.mark.parametrize("zone", [None, ""])
def test_a_zone_may_not_be_emptied(cloud: Cloud, zone: str | None) -> None:
    [az2] = cloud.service.list_aggregates(ADMIN)
    with pytest.raises(InvalidInput, match=(
            rf"^Cannot update metadata of aggregate {az2.id}\. Reason: Aggregate az2 does "
            r"not support empty named availability zone\.$")):
        cloud.service.set_metadata(ADMIN, str(az2.id), {"availability_zone": zone})
    with pytest.raises(InvalidInput, match=rf"^Cannot update aggregate {az2.id}\. "):
        cloud.service.update(ADMIN, str(az2.id), {"availability_zone": zone})


def test_a_zone_change_is_refused_for_hosts_with_servers(cloud: Cloud) -> None:
    [az2] = cloud.service.list_aggregates(ADMIN)
    cloud.server_on("compute-003")
    with pytest.raises(InvalidInput, match=(
            rf"^Cannot update metadata of aggregate {az2.id}\. Reason: One or more hosts "
            r"contain instances in this zone\.$")):
        cloud.service.set_metadata(ADMIN, str(az2.id), {"availability_zone": "az3"})
    # the same zone again changes nothing: allowed
    cloud.service.set_metadata(ADMIN, str(az2.id), {"availability_zone": "az2"})
    other = cloud.aggregate("other", None, "compute-003")
    with pytest.raises(InvalidInput, match=r"already in availability zone\(s\) \['az2'\]"):
        cloud.service.set_metadata(ADMIN, str(other), {"availability_zone": "az3"})


# -- images (2.81) --------------------------------------------------------------------------

def test_the_image_cache_request_checks_as_nova(cloud: Cloud) -> None:
    agg = str(cloud.aggregate("agg"))
    with pytest.raises(InvalidInput, match=r"^Duplicate images in request$"):
        cloud.service.cache_images(ADMIN, "99", [IMAGE, IMAGE])
    with pytest.raises(NotFound, match=r"^Aggregate 99 could not be found\.$"):
        cloud.service.cache_images(ADMIN, "99", [IMAGE])
    other = str(uuid.uuid4())
    with pytest.raises(InvalidInput, match=rf"^Image {other} could not be found\.$"):
        cloud.service.cache_images(ADMIN, agg, [IMAGE, other])
    cloud.service.cache_images(ADMIN, agg, [IMAGE])


# -- the scheduler's view -----------------------------------------------------------------

def test_host_aggregates_lists_each_hosts_aggregates(cloud: Cloud) -> None:
    agg = cloud.aggregate("ssd", None, "compute-003")
    cloud.service.set_metadata(ADMIN, str(agg), {"ssd": "true", "filter_tenant_id": "p1"})
    found = cloud.service.host_aggregates()
    assert set(found) == {"compute-003", "compute-004"}
    az2, ssd = found["compute-003"]
    assert (az2.name, dict(az2.metadata), az2.availability_zone) == \
        ("az2", {"availability_zone": "az2"}, "az2")
    assert ssd == AggregateInfo(cloud.service.get(ADMIN, str(agg)).uuid, "ssd",
                                {"ssd": "true", "filter_tenant_id": "p1"})
    assert [a.name for a in found["compute-004"]] == ["az2"]
    assert cloud.service.aggregates_of("compute-003") == found["compute-003"]
    assert cloud.service.aggregates_of("compute-001") == []
    found["compute-004"].clear()  # a copy: the service's index is not the caller's
    assert len(cloud.service.host_aggregates()["compute-004"]) == 1


def test_on_change_names_each_host_touched(cloud: Cloud) -> None:
    agg = str(cloud.aggregate("agg"))
    assert cloud.changes == []  # an empty aggregate touches no host
    cloud.service.add_host(ADMIN, agg, "compute-001")
    cloud.service.add_host(ADMIN, agg, "compute-002")
    assert cloud.changes == ["compute-001", "compute-002"]
    cloud.changes.clear()
    cloud.service.set_metadata(ADMIN, agg, {"k": "v"})
    cloud.service.update(ADMIN, agg, {"availability_zone": "z1"})
    cloud.service.update(ADMIN, agg, {"name": "renamed"})
    assert cloud.changes == ["compute-001", "compute-002"] * 3
    cloud.changes.clear()
    cloud.service.remove_host(ADMIN, agg, "compute-001")
    assert cloud.changes == ["compute-001"]
    cloud.service.remove_host(ADMIN, agg, "compute-002")
    cloud.changes.clear()
    cloud.service.delete(ADMIN, agg)
    with pytest.raises(Conflict):
        cloud.service.create(ADMIN, "az2", None)
    assert cloud.changes == []  # refused and empty-aggregate changes touch no host


def test_a_refused_change_calls_no_listener(cloud: Cloud) -> None:
    [az2] = cloud.service.list_aggregates(ADMIN)
    cloud.server_on("compute-003")
    with pytest.raises(InvalidInput):
        cloud.service.set_metadata(ADMIN, str(az2.id), {"availability_zone": "az3"})
    assert cloud.changes == []
    assert cloud.service.host_zone("compute-003") == "az2"


# -- os-availability-zone ------------------------------------------------------------------

def test_the_zone_listing_answers_from_the_aggregates(cloud: Cloud) -> None:
    """A zone is available when one of its hosts is enabled (up or not), unavailable when
    all are disabled; hosts are listed where the aggregates put them."""
    zones = ZoneService(lambda: cloud.hosts, cloud.service)
    cloud.aggregate("moved", "z1", "compute-001")
    cloud.hosts = [dataclasses.replace(h, enabled=h.name != "compute-001",
                                       up=h.name != "compute-002") for h in HOSTS]
    assert [(z.name, z.available) for z in zones.zones(MEMBER)] == \
        [("az2", True), ("nova", True), ("z1", False)]
    detail = {z.name: z for z in zones.zones_detail(ADMIN)}
    assert sorted(detail) == ["az2", "internal", "nova", "z1"]
    nova = detail["nova"].hosts
    assert nova is not None and sorted(nova) == ["compute-002"]
    assert nova["compute-002"]["nova-compute"] == ServiceState(available=False, active=True)
    assert detail["z1"].hosts is None and not detail["z1"].available
    with pytest.raises(Forbidden):
        zones.zones_detail(MEMBER)


def test_a_listener_reads_the_new_state(cloud: Cloud) -> None:
    """The index is rebuilt before the listener is called: what it reads is the change."""
    seen: list[tuple[str, list[str], str]] = []
    cloud.service.on_change = lambda host: seen.append(
        (host, [a.name for a in cloud.service.aggregates_of(host)],
         cloud.service.host_zone(host)))
    agg = str(cloud.aggregate("agg", None, "compute-001"))
    cloud.service.set_metadata(ADMIN, agg, {"availability_zone": "z1"})
    cloud.service.remove_host(ADMIN, agg, "compute-001")
    assert seen == [("compute-001", ["agg"], "nova"), ("compute-001", ["agg"], "z1"),
                    ("compute-001", [], "nova")]
