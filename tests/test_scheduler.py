"""The scheduler pipeline over placement: filters, weighers, groups, hints, forced hosts,
Nova's NoValidHost reasons, claims against generations, and all-or-nothing requests."""

from __future__ import annotations

from collections import Counter

import pytest

from emulator.placement import (
    AFFINITY,
    ANTI_AFFINITY,
    DEFAULT_WEIGHERS,
    DISK_GB,
    MEMORY_MB,
    NOT_ENOUGH_HOSTS,
    SOFT_AFFINITY,
    SOFT_ANTI_AFFINITY,
    VCPU,
    Candidate,
    Decision,
    GroupSpec,
    Inventory,
    NoValidHost,
    Placement,
    Provider,
    RequestSpec,
    Scheduler,
    SchedulerConfig,
)
from emulator.placement.filters import FILTERS, spec_matches
from emulator.placement.weighers import normalize

ALL_FILTERS = tuple(FILTERS)
PACK = tuple((name, -1.0 if name == "RAMWeigher" else 0.0) for name, _m in DEFAULT_WEIGHERS)


def cloud(hosts: int = 4, memory_mb: int = 4096, zones: tuple[str, ...] = ("nova",),
          **config: object) -> tuple[Placement, Scheduler]:
    placement = Placement()
    for i in range(hosts):
        placement.add_provider(
            f"h{i}", {VCPU: Inventory(8), MEMORY_MB: Inventory(memory_mb),
                      DISK_GB: Inventory(100)},
            zone=zones[i % len(zones)],
            capabilities={"hypervisor_type": "QEMU", "cpu_arch": "x86_64", "vm_mode": "hvm",
                          "host_ip": f"10.0.{i // 2}.{i + 1}"})
    return placement, Scheduler(placement, SchedulerConfig(**config))  # type: ignore[arg-type]


def spec(memory_mb: int = 1024, **fields: object) -> RequestSpec:
    return RequestSpec(resources={VCPU: 1, MEMORY_MB: memory_mb, DISK_GB: 1},
                       **fields)  # type: ignore[arg-type]


def hosts_of(placement: Placement, consumers: list[str]) -> list[str | None]:
    return [placement.host_of(c) for c in consumers]


# -- Nova's extra_specs_ops ---------------------------------------------------------------

@pytest.mark.parametrize(("value", "requirement", "matches"), [
    ("4", "= 4", True), ("8", "= 4", True), ("2", "= 4", False),
    ("4", "== 4", True), ("4.0", "== 4", True), ("5", "!= 4", True),
    ("4", ">= 4", True), ("3", "<= 2", False),
    ("ssd,fast", "<in> ssd", True), ("hdd", "<in> ssd", False),
    ("a b c", "<all-in> a c", True),
    ("x", "<or> x <or> y", True), ("z", "<or> x <or> y", False),
    ("abc", "s== abc", True), ("abc", "s!= abc", False), ("b", "s> a", True),
    ("true", "true", True), ("false", "true", False),
    (None, "= 4", False), ("fast", ">= 4", False),
])
def test_spec_matches_as_nova_extra_specs_ops(value: str | None, requirement: str,
                                              matches: bool) -> None:
    assert spec_matches(value, requirement) is matches


# -- weighers and choosing ----------------------------------------------------------------

def test_normalize_scales_to_zero_one_and_equal_values_to_zero() -> None:
    assert normalize([2.0, 4.0, 6.0]) == [0.0, 0.5, 1.0]
    assert normalize([3.0, 3.0]) == [0.0, 0.0]
    assert normalize([]) == []


def test_default_weighers_spread_and_a_negative_ram_multiplier_packs() -> None:
    placement, spread = cloud(3)
    placement.allocate("x", "h0", {MEMORY_MB: 2048})
    placement.allocate("y", "h1", {MEMORY_MB: 1024})
    assert spread.schedule(["a"], spec())[0].host == "h2"  # the most free RAM
    placement, pack = cloud(3, weighers=PACK)
    placement.allocate("x", "h0", {MEMORY_MB: 2048})
    placement.allocate("y", "h1", {MEMORY_MB: 1024})
    assert pack.schedule(["a"], spec())[0].host == "h0"  # the least free RAM that fits
    assert pack.schedule(["b"], spec(memory_mb=2048))[0].host == "h1"


def test_the_build_failure_weigher_avoids_a_failing_host() -> None:
    placement, scheduler = cloud(2)
    placement.record_build("h0", failed=True)
    assert [scheduler.schedule([f"s{i}"], spec())[0].host for i in range(3)] == ["h1"] * 3
    placement.record_build("h0", failed=False)
    assert scheduler.schedule(["t"], spec())[0].host == "h0"  # more free RAM again


def test_host_subset_size_picks_at_random_among_the_best() -> None:
    chosen: Counter[str] = Counter()
    placement, scheduler = cloud(6, host_subset_size=3, seed=5)
    for i in range(300):
        selection = scheduler.schedule([f"s{i}"], spec(memory_mb=1))[0]
        chosen[selection.host] += 1
        placement.release(selection.consumer)
    assert set(chosen) == {"h0", "h1", "h2"}  # all equal: the first three by index
    assert min(chosen.values()) > 50


# -- filters --------------------------------------------------------------------------------

def test_zone_and_disabled_hosts_are_request_filters() -> None:
    placement, scheduler = cloud(4, zones=("nova", "az2"))
    assert {scheduler.schedule([f"s{i}"], spec(zone="az2"))[0].host
            for i in range(4)} <= {"h1", "h3"}
    placement.set_enabled("h1", False)
    placement.set_enabled("h3", False)
    with pytest.raises(NoValidHost) as refused:
        scheduler.schedule(["t"], spec(zone="az2"))
    assert refused.value.message == "No valid host was found. "


def test_nothing_fits_is_placements_empty_answer() -> None:
    _placement, scheduler = cloud(2)
    with pytest.raises(NoValidHost) as refused:
        scheduler.schedule(["a"], spec(memory_mb=999_999))
    assert refused.value.message == "No valid host was found. "


def test_filtered_out_is_not_enough_hosts() -> None:
    _placement, scheduler = cloud(2)
    with pytest.raises(NoValidHost) as refused:
        scheduler.schedule(["a"], spec(image_properties={"hw_architecture": "aarch64"}))
    assert refused.value.message == f"No valid host was found. {NOT_ENOUGH_HOSTS}"


def test_image_properties_and_capabilities_filters() -> None:
    _placement, scheduler = cloud(1, filters=ALL_FILTERS)
    assert scheduler.schedule(["a"], spec(image_properties={
        "hw_architecture": "x86_64", "img_hv_type": "qemu"}))
    assert scheduler.schedule(["b"], spec(flavor_extra_specs={
        "capabilities:cpu_arch": "x86_64"}))
    with pytest.raises(NoValidHost):
        scheduler.schedule(["c"], spec(flavor_extra_specs={
            "capabilities:hypervisor_type": "s== xen"}))


def test_aggregate_extra_specs_and_tenant_isolation() -> None:
    placement, scheduler = cloud(3, filters=ALL_FILTERS)
    scheduler.aggregate_metadata.update({
        "ssd": {"disk": "ssd"}, "private": {"filter_tenant_id": "p1,p2"}})
    placement.set_aggregates("h1", ["ssd"], zone="nova")
    placement.set_aggregates("h2", ["private"], zone="nova")
    assert scheduler.schedule(["a"], spec(flavor_extra_specs={
        "aggregate_instance_extra_specs:disk": "ssd"}))[0].host == "h1"
    # h2 takes only p1 and p2; h0 and h1 anyone.
    placed = {scheduler.schedule([f"o{i}"], spec(project_id="other"))[0].host
              for i in range(6)}
    assert "h2" not in placed
    placement.set_enabled("h0", False)
    placement.set_enabled("h1", False)
    assert scheduler.schedule(["p"], spec(project_id="p2"))[0].host == "h2"
    with pytest.raises(NoValidHost):
        scheduler.schedule(["q"], spec(project_id="other"))


def test_same_host_and_different_host_hints() -> None:
    placement, scheduler = cloud(3, filters=ALL_FILTERS)
    placement.allocate("first", "h1", {MEMORY_MB: 1})
    assert scheduler.schedule(["a"], spec(same_host=("first",)))[0].host == "h1"
    placed = scheduler.schedule(["b", "c"], spec(different_host=("first",)))
    assert "h1" not in {s.host for s in placed}


def test_a_forced_host_skips_the_filters_a_requested_one_does_not() -> None:
    _placement, scheduler = cloud(2)
    foreign = {"hw_architecture": "aarch64"}
    assert scheduler.schedule(["a"], spec(force_host="h1",
                                          image_properties=foreign))[0].host == "h1"
    with pytest.raises(NoValidHost):
        scheduler.schedule(["b"], spec(requested_host="h1", image_properties=foreign))
    assert scheduler.schedule(["c"], spec(requested_host="h0"))[0].host == "h0"
    with pytest.raises(NoValidHost):
        scheduler.schedule(["d"], spec(requested_host="nowhere"))


def test_ignore_hosts() -> None:
    _placement, scheduler = cloud(2)
    assert scheduler.schedule(["a"], spec(ignore_hosts=frozenset({"h0"})))[0].host == "h1"
    with pytest.raises(NoValidHost):
        scheduler.schedule(["b"], spec(ignore_hosts=frozenset({"h0", "h1"})))


def test_json_filter_reads_the_query_hint() -> None:
    placement, scheduler = cloud(3, filters=("JsonFilter",))
    placement.allocate("x", "h0", {MEMORY_MB: 3500})
    query = '["and", [">=", "$free_ram_mb", 1024], ["in", "$host", "h0", "h1"]]'
    assert {scheduler.schedule([f"s{i}"], spec(hints={"query": query}))[0].host
            for i in range(2)} == {"h1"}
    decoded = ["or", ["=", "$host", "h2"], ["not", ["=", "$host", "h2"]]]
    assert scheduler.schedule(["t"], spec(hints={"query": decoded}))
    with pytest.raises(NoValidHost):
        scheduler.schedule(["u"], spec(hints={"query": '["<", "$vcpus_total", 1]'}))
    with pytest.raises(NoValidHost):  # not JSON: no host passes
        scheduler.schedule(["v"], spec(hints={"query": "[free_ram"}))


def test_the_query_hint_means_nothing_without_json_filter() -> None:
    _placement, scheduler = cloud(2)
    assert scheduler.schedule(["a"], spec(hints={"query": '["<", "$vcpus_total", 1]'}))


def test_build_near_host_ip_keeps_to_the_cidr() -> None:
    _placement, scheduler = cloud(4, filters=("SimpleCIDRAffinityFilter",))
    # h0 10.0.0.1, h1 10.0.0.2, h2 10.0.1.3, h3 10.0.1.4
    near = {"build_near_host_ip": "10.0.1.9", "cidr": "/24"}
    assert {scheduler.schedule([f"s{i}"], spec(hints=near))[0].host
            for i in range(4)} == {"h2", "h3"}
    wide = {"build_near_host_ip": "10.0.1.9", "cidr": "/16"}
    assert {scheduler.schedule([f"w{i}"], spec(hints=wide))[0].host
            for i in range(8)} == {"h0", "h1", "h2", "h3"}


# -- server groups and all-or-nothing -------------------------------------------------------

def test_anti_affinity_over_two_hosts_refuses_the_third_and_leaves_nothing() -> None:
    placement, scheduler = cloud(2)
    group = GroupSpec("g", ANTI_AFFINITY, members=("a", "b", "c"))
    with pytest.raises(NoValidHost) as refused:
        scheduler.schedule(["a", "b", "c"], spec(group=group))
    assert refused.value.message == f"No valid host was found. {NOT_ENOUGH_HOSTS}"
    assert placement.consumers() == []  # the request's claims were undone
    assert sorted(s.host for s in scheduler.schedule(["a", "b"], spec(group=group))) == \
        ["h0", "h1"]
    with pytest.raises(NoValidHost):  # one by one, the third still has nowhere to go
        scheduler.schedule(["c"], spec(group=group))


def test_anti_affinity_max_server_per_host() -> None:
    placement, scheduler = cloud(2)
    group = GroupSpec("g", ANTI_AFFINITY, members=tuple("abcd"), max_server_per_host=2)
    placed = scheduler.schedule(list("abcd"), spec(group=group))
    assert Counter(s.host for s in placed) == {"h0": 2, "h1": 2}
    more = GroupSpec("g", ANTI_AFFINITY, members=tuple("abcde"), max_server_per_host=2)
    with pytest.raises(NoValidHost):
        scheduler.schedule(["e"], spec(group=more))
    assert placement.host_of("e") is None


def test_affinity_keeps_the_group_on_the_first_members_host() -> None:
    _placement, scheduler = cloud(3)
    group = GroupSpec("g", AFFINITY, members=tuple("abc"))
    hosts = {s.host for s in scheduler.schedule(["a", "b"], spec(group=group))}
    assert len(hosts) == 1
    (host,) = hosts
    assert scheduler.schedule(["c"], spec(group=group))[0].host == host
    # Once that host is full the group has nowhere to go, however empty the others.
    big = GroupSpec("g", AFFINITY, members=("a", "b", "c", "d"))
    with pytest.raises(NoValidHost):
        scheduler.schedule(["d"], spec(memory_mb=4096, group=big))


def test_soft_policies_weigh_instead_of_refusing() -> None:
    _placement, scheduler = cloud(2)
    soft_anti = GroupSpec("s", SOFT_ANTI_AFFINITY, members=tuple("abcd"))
    placed = scheduler.schedule(list("abcd"), spec(group=soft_anti))
    assert Counter(s.host for s in placed) == {"h0": 2, "h1": 2}
    # NOTE: with Nova's default multipliers (1.0 each) soft affinity only ties with the RAM
    # spread; Nova's docs say to raise its multiplier, as here.
    _placement, scheduler = cloud(2, weighers=(("RAMWeigher", 1.0),
                                              ("ServerGroupSoftAffinityWeigher", 2.0)))
    soft = GroupSpec("t", SOFT_AFFINITY, members=tuple("wxyz"))
    placed = scheduler.schedule(list("wxyz"), spec(memory_mb=1024, group=soft))
    assert len({s.host for s in placed}) == 1  # packed, while it fits
    more = scheduler.schedule(["v"], spec(memory_mb=1024, group=GroupSpec(
        "t", SOFT_AFFINITY, members=tuple("vwxyz"))))
    assert more[0].host != placed[0].host  # the group's host is full: not refused


def test_a_multi_create_that_does_not_fit_whole_claims_nothing() -> None:
    placement, scheduler = cloud(2, memory_mb=2048)
    with pytest.raises(NoValidHost):
        scheduler.schedule([f"s{i}" for i in range(5)], spec())
    assert placement.consumers() == []
    assert all(p.used[MEMORY_MB] == 0 for p in placement.providers())
    assert len(scheduler.schedule([f"s{i}" for i in range(4)], spec())) == 4


# -- claims and bounds ----------------------------------------------------------------------

def test_a_claim_whose_host_moved_is_written_while_it_fits_else_takes_the_next() -> None:
    placement, scheduler = cloud(2)
    candidates = scheduler.decide(spec())
    assert [c.host for c in candidates] == ["h0", "h1"]
    placement.allocate("someone", "h0", {MEMORY_MB: 1})  # h0's generation moves
    selection = scheduler.claim("a", spec(), candidates)
    assert selection is not None and selection.host == "h0"  # re-read: still fits
    assert placement.generation_retries == 1
    candidates = scheduler.decide(spec())
    placement.allocate("filler", "h0", {MEMORY_MB: placement.provider("h0").free[MEMORY_MB]})
    selection = scheduler.claim("b", spec(), candidates)  # h0 no longer fits: h1
    assert selection is not None and selection.host == "h1"
    placement.allocate("filler", "h1", {MEMORY_MB: placement.provider("h1").free[MEMORY_MB]})
    assert scheduler.claim("c", spec(), [Candidate("h0", -1), Candidate("h1", -1)]) is None


def test_max_placement_results_bounds_the_candidates_examined() -> None:
    def only_the_last(provider: Provider, _decision: Decision) -> bool:
        return provider.name == "h9"

    placement = Placement()
    for i in range(10):
        placement.add_provider(f"h{i}", {VCPU: Inventory(8), MEMORY_MB: Inventory(4096 - i),
                                         DISK_GB: Inventory(100)})
    filters = {"OnlyTheLast": only_the_last}
    narrow = Scheduler(placement, SchedulerConfig(filters=("OnlyTheLast",),
                                                  max_placement_results=5), filters=filters)
    with pytest.raises(NoValidHost):  # h9 has the least RAM: never among the first five
        narrow.schedule(["a"], spec())
    wide = Scheduler(placement, SchedulerConfig(filters=("OnlyTheLast",),
                                                max_placement_results=10), filters=filters)
    assert wide.schedule(["a"], spec())[0].host == "h9"


def test_unknown_policy_names_are_refused() -> None:
    placement = Placement()
    with pytest.raises(ValueError, match="NoSuchFilter"):
        Scheduler(placement, SchedulerConfig(filters=("NoSuchFilter",)))


def test_tenants_limited_to_their_aggregates_as_nova_request_filter() -> None:
    placement, scheduler = cloud(4, limit_tenants_to_placement_aggregate=True)
    scheduler.aggregate_metadata.update({
        "p1-only": {"filter_tenant_id": "p1"}, "p2-too": {"filter_tenant_id2": "p2"},
        "other": {"color": "p1"}})
    placement.set_aggregates("h1", ["p1-only"], zone="nova")
    placement.set_aggregates("h2", ["p2-too", "other"], zone="nova")
    placement.set_aggregates("h3", ["other"], zone="nova")
    assert {scheduler.schedule([f"a{i}"], spec(project_id="p1"))[0].host
            for i in range(3)} == {"h1"}
    assert {scheduler.schedule([f"b{i}"], spec(project_id="p2"))[0].host
            for i in range(3)} == {"h2"}
    # A project no aggregate names goes anywhere (the others' hosts too: keeping it off
    # them is AggregateMultiTenancyIsolation's part), unless an aggregate is required.
    placement.set_enabled("h0", False)
    placement.set_enabled("h3", False)
    assert scheduler.schedule(["c"], spec(memory_mb=1, project_id="p3"))[0].host in {"h1", "h2"}
    placement.set_enabled("h0", True)
    strict = Scheduler(placement, SchedulerConfig(
        limit_tenants_to_placement_aggregate=True,
        placement_aggregate_required_for_tenants=True))
    strict.aggregate_metadata.update(scheduler.aggregate_metadata)
    with pytest.raises(NoValidHost) as refused:
        strict.schedule(["d"], spec(project_id="p3"))
    assert refused.value.message == ("No valid host was found. Scheduling failed: No hosts "
                                     "available for tenant")
    assert strict.schedule(["e"], spec(memory_mb=1, project_id="p1"))[0].host == "h1"


def test_hosts_enabled_and_added_after_the_first_decision() -> None:
    placement, scheduler = cloud(1)
    placement.set_enabled("h0", False)
    with pytest.raises(NoValidHost):
        scheduler.schedule(["a"], spec())
    placement.set_enabled("h0", True)
    assert scheduler.schedule(["a"], spec())[0].host == "h0"
    # A larger host changes the scale of every key: the index starts over.
    placement.add_provider("big", {VCPU: Inventory(64), MEMORY_MB: Inventory(65536),
                                   DISK_GB: Inventory(1000)})
    assert scheduler.schedule(["b"], spec())[0].host == "big"


def test_a_down_host_is_offered_but_compute_filter_refuses_it() -> None:
    placement, scheduler = cloud(1)
    placement.set_up("h0", False)
    with pytest.raises(NoValidHost) as refused:
        scheduler.schedule(["a"], spec())
    assert refused.value.message == f"No valid host was found. {NOT_ENOUGH_HOSTS}"
    placement.set_up("h0", True)
    assert scheduler.schedule(["a"], spec())[0].host == "h0"
