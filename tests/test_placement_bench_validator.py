"""The placement benchmarks' validator, packing figures and Nova-style reference
(``benchmarks/placement_workloads.py``, ``benchmarks/nova_reference.py``): each check must
catch what it is there to catch, on small hand-made cases."""

from __future__ import annotations

import pytest

from benchmarks.nova_reference import NoValidHost, NovaReference
from benchmarks.placement_workloads import (
    DISK_GB,
    FLAVOR_MIX,
    MEMORY_MB,
    S1_MIX,
    SSD_EXTRA_SPEC,
    VCPU,
    Group,
    Host,
    Inv,
    Layout,
    Request,
    layout,
    packing,
    usage_mismatches,
    violations,
    workload,
)

SMALL = FLAVOR_MIX[0][0]  # 1 vCPU, 2,048 MB, 20 GB
HOST = {VCPU: Inv(4), MEMORY_MB: Inv(4096), DISK_GB: Inv(100)}
CLOUD = Layout(
    hosts=(Host("a", "az1", frozenset(), HOST), Host("b", "az1", frozenset({"ssd"}), HOST),
           Host("c", "az2", frozenset(), HOST, enabled=False)),
    zones=("az1", "az2"), aggregate_metadata={"ssd": {"ssd": "true"}})
GROUPS = {"anti": Group("anti", "anti-affinity", 3), "aff": Group("aff", "affinity", 3),
          "anti2": Group("anti2", "anti-affinity", 3, max_server_per_host=2)}


def req(name: str, zone: str | None = None, group: str | None = None,
        specs: dict[str, str] | None = None) -> Request:
    return Request(name, SMALL, zone, specs or {}, group)


def found(placed: dict[str, str], *requests: Request) -> list[str]:
    return violations(CLOUD, placed, {r.consumer: r for r in requests}, GROUPS)


def test_valid_placements_pass() -> None:
    requests = [req("x", "az1"), req("y", group="anti"), req("z", group="anti"),
                req("s", specs=dict(SSD_EXTRA_SPEC))]
    assert found({"x": "a", "y": "a", "z": "b", "s": "b"}, *requests) == []


def test_overcommit_is_found() -> None:
    # Two servers of 2,048 MB fill a 4,096 MB host; the third is over.
    requests = [req("x"), req("y"), req("z")]
    assert found({"x": "a", "y": "a"}, *requests) == []
    assert found({"x": "a", "y": "a", "z": "a"}, *requests) == [
        "a overcommitted: MEMORY_MB 6144 > 4096"]


def test_zone_aggregate_and_disabled_host_are_found() -> None:
    assert found({"x": "a"}, req("x", "az2")) == ["x asked for zone az2, got az1"]
    assert found({"s": "a"}, req("s", specs=dict(SSD_EXTRA_SPEC))) == [
        "s needs ssd=true, a has no such aggregate"]
    assert found({"x": "c"}, req("x")) == ["x on disabled host c"]
    assert violations(CLOUD, {"x": "c"}, {"x": req("x")}, GROUPS, disabled_ok={"c"}) == []
    assert found({"x": "nowhere"}, req("x")) == ["x on unknown host nowhere"]


def test_group_policies_are_found() -> None:
    anti = [req("y", group="anti"), req("z", group="anti")]
    assert found({"y": "a", "z": "a"}, *anti) == [
        "anti-affinity group anti: {'a': 2} (at most 1 a host)"]
    aff = [req("y", group="aff"), req("z", group="aff")]
    assert found({"y": "a", "z": "a"}, *aff) == []
    assert found({"y": "a", "z": "b"}, *aff) == ["affinity group aff on 2 hosts"]
    two = [req("y", group="anti2"), req("z", group="anti2")]
    assert found({"y": "a", "z": "a"}, *two) == []


def test_usage_mismatches() -> None:
    assert usage_mismatches({"a": {VCPU: 1}}, {"a": {VCPU: 1, DISK_GB: 0}, "b": {}}) == []
    assert usage_mismatches({"a": {VCPU: 1}}, {"a": {VCPU: 2}}) == [
        "a: engine says {'VCPU': 2}, placements sum to {'VCPU': 1}"]


def test_packing_figures_by_hand() -> None:
    # Four servers of 2,048 MB fill two hosts of 4,096 MB: memory binds, the bound is two
    # hosts; 80 of their 200 GB of disk are used, and that 60 % free is forced by the mix.
    requests = {f"v{i}": req(f"v{i}") for i in range(4)}
    placed = {"v0": "a", "v1": "a", "v2": "b", "v3": "b"}
    figures = packing(CLOUD, placed, requests)
    assert figures.hosts_used == 2
    assert figures.binding == MEMORY_MB  # 8,192 of 8,192 MB, 80 of 200 GB, 4 of 16 vCPU
    assert figures.lower_bound == pytest.approx(2.0)
    assert figures.density == pytest.approx(1.0)
    assert figures.stranded[DISK_GB] == pytest.approx(0.6)
    assert figures.excess_stranded[DISK_GB] == pytest.approx(0.0)
    half = packing(CLOUD, {"v0": "a", "v2": "b"}, requests)
    assert half.lower_bound == pytest.approx(1.0) and half.density == pytest.approx(0.5)
    assert half.strict_bound == 1


def test_workloads_are_seeded() -> None:
    first, again = workload(S1_MIX, 500, seed=5), workload(S1_MIX, 500, seed=5)
    assert first.requests == again.requests and first.groups == again.groups
    assert workload(S1_MIX, 500, seed=6).requests != first.requests
    members: dict[str, int] = {}
    for request in first.requests:
        if request.group is not None:
            members[request.group] = members.get(request.group, 0) + 1
    assert all(n <= first.groups[g].size for g, n in members.items())


def test_reference_places_validly_and_refuses() -> None:
    cloud = layout(30, disabled_every=10, seed=1)
    stream = workload(S1_MIX, 400, seed=1)
    reference = NovaReference(cloud, [("RAMWeigher", 1.0)], stream.groups)
    refused = 0
    for request in stream.requests:
        try:
            reference.schedule(request)
        except NoValidHost:
            refused += 1
    assert len(reference.placed) + refused == 400 and len(reference.placed) > 300
    requests = {r.consumer: r for r in stream.requests}
    assert violations(cloud, reference.placed, requests, stream.groups) == []
    # Spread: the first server of an empty cloud goes to the first enabled host with the
    # most free RAM (all equal: host order), the next one elsewhere.
    fresh = NovaReference(cloud, [("RAMWeigher", 1.0)], {})
    assert fresh.schedule(req("one")) == "host-000000"
    assert fresh.schedule(req("two")) == "host-000001"
    packed = NovaReference(cloud, [("RAMWeigher", -1.0)], {})
    assert packed.schedule(req("one")) == packed.schedule(req("two")) == "host-000000"
    with pytest.raises(NoValidHost, match="AvailabilityZoneFilter"):
        fresh.schedule(req("lost", zone="az9"))
