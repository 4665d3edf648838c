"""The placement model: inventories, allocations, generations, and the candidate index
checked against a brute-force pass over every provider."""

from __future__ import annotations

import random

import pytest

from emulator.placement import (
    DISK_GB,
    MEMORY_MB,
    VCPU,
    Conflict,
    Inventory,
    Placement,
    Provider,
)
from emulator.placement.index import CandidateIndex, shape_of


def inventory(vcpus: int = 8, memory_mb: int = 8192, disk_gb: int = 100,
              **options: int | float) -> dict[str, Inventory]:
    return {VCPU: Inventory(vcpus, **options),  # type: ignore[arg-type]
            MEMORY_MB: Inventory(memory_mb), DISK_GB: Inventory(disk_gb)}


def small(vcpus: int = 1, memory_mb: int = 512, disk_gb: int = 1) -> dict[str, int]:
    return {VCPU: vcpus, MEMORY_MB: memory_mb, DISK_GB: disk_gb}


def test_capacity_is_total_less_reserved_times_the_ratio() -> None:
    assert Inventory(16, reserved=4, allocation_ratio=4.0).capacity == 48
    assert Inventory(1000, reserved=0, allocation_ratio=1.5).capacity == 1500


def test_an_allocation_counts_until_released() -> None:
    placement = Placement()
    placement.add_provider("h1", inventory())
    placement.allocate("a", "h1", small(2, 1024, 10))
    placement.allocate("b", "h1", small(1, 512, 5))
    view = placement.provider("h1")
    assert view.used == {VCPU: 3, MEMORY_MB: 1536, DISK_GB: 15}
    assert view.consumers == 2
    assert view.free == {VCPU: 5, MEMORY_MB: 6656, DISK_GB: 85}
    assert placement.release("a") == {"h1": {VCPU: 2, MEMORY_MB: 1024, DISK_GB: 10}}
    assert placement.provider("h1").used == {VCPU: 1, MEMORY_MB: 512, DISK_GB: 5}
    assert placement.release("a") == {}  # twice is nothing
    assert placement.host_of("b") == "h1" and placement.host_of("a") is None


def test_what_does_not_fit_is_a_conflict_and_changes_nothing() -> None:
    placement = Placement()
    placement.add_provider("h1", inventory(vcpus=2))
    placement.allocate("a", "h1", small(2))
    before = placement.provider("h1")
    with pytest.raises(Conflict):
        placement.allocate("b", "h1", small(1))
    with pytest.raises(Conflict):
        placement.allocate("b", "nowhere", small(1))
    after = placement.provider("h1")
    assert (after.used, after.generation) == (before.used, before.generation)
    assert placement.allocations("b") == {}


def test_min_max_unit_and_step_size_bound_one_allocation() -> None:
    placement = Placement()
    placement.add_provider("h1", inventory(vcpus=64, min_unit=2, max_unit=8, step_size=2))
    for vcpus in (1, 3, 10):
        with pytest.raises(Conflict):
            placement.allocate(f"c{vcpus}", "h1", small(vcpus))
    placement.allocate("ok", "h1", small(8))


def test_a_claim_naming_an_old_generation_is_refused() -> None:
    placement = Placement()
    placement.add_provider("h1", inventory())
    seen = placement.provider("h1").generation
    placement.allocate("a", "h1", small(), generation=seen)
    with pytest.raises(Conflict, match="generation"):
        placement.allocate("b", "h1", small(), generation=seen)
    placement.allocate("b", "h1", small(), generation=placement.provider("h1").generation)


def test_a_claim_whose_generation_moved_is_written_again_while_it_still_fits() -> None:
    # Placement's allocation write retries a concurrent update after re-reading the
    # provider: the claim fails only when the resources no longer fit.
    placement = Placement()
    placement.add_provider("h1", inventory(vcpus=4))
    seen = placement.provider("h1").generation
    assert placement.claim("a", "h1", small(2), seen) is False
    assert placement.claim("b", "h1", small(2), seen) is True
    assert placement.generation_retries == 1
    with pytest.raises(Conflict, match="do not fit"):
        placement.claim("c", "h1", small(1), seen)
    assert placement.provider("h1").used[VCPU] == 4
    assert placement.allocations("c") == {}


def test_move_passes_allocations_between_consumers_usage_unchanged() -> None:
    placement = Placement()
    placement.add_provider("h1", inventory())
    placement.allocate("server", "h1", small(2))
    placement.move("server", "migration-server")
    assert placement.allocations("server") == {}
    assert placement.allocations("migration-server") == {"h1": small(2)}
    assert placement.provider("h1").used[VCPU] == 2
    placement.allocate("server", "h1", small(4))
    assert placement.provider("h1").used[VCPU] == 6
    assert placement.provider("h1").consumers == 2


def test_allocate_over_records_what_is_there_and_blocks_new_claims() -> None:
    placement = Placement()
    placement.add_provider("h1", inventory(vcpus=2))
    placement.allocate_over("a", "h1", small(3))
    assert placement.provider("h1").free[VCPU] == -1
    with pytest.raises(Conflict):
        placement.allocate("b", "h1", small(1))


def brute_force(placement: Placement, resources: dict[str, int], key: object,
                zone: str | None = None) -> list[str]:
    """Every enabled provider (in ``zone``) the resources fit on, best key first."""
    providers: list[Provider] = [p for p in placement.raw() if p.enabled
                                 and p.fits(resources) and (zone is None or p.zone == zone)]
    providers.sort(key=lambda p: (-key(p), p.index))  # type: ignore[operator]
    return [p.name for p in providers]


def test_the_index_agrees_with_a_pass_over_every_provider() -> None:
    rng = random.Random(11)
    placement = Placement()
    for i in range(60):
        placement.add_provider(f"h{i}", inventory(vcpus=rng.choice([4, 8, 16])),
                               zone=rng.choice(["nova", "az2"]))

    def key(p: Provider) -> float:
        return p.free(MEMORY_MB) / 8192 + p.free(VCPU) / 16

    index = CandidateIndex(placement, key)
    shapes = [small(1, 512), small(4, 2048), small(8, 4096)]
    live: list[tuple[str, str]] = []
    for step in range(800):
        action = rng.random()
        if action < 0.6 or not live:
            shape = rng.choice(shapes)
            fitting = list(index.walk(shape))
            if fitting:
                chosen = rng.choice(fitting[:5])
                consumer = f"s{step}"
                placement.allocate(consumer, chosen.name, shape)
                live.append((consumer, chosen.name))
        elif action < 0.95:
            consumer, _host = live.pop(rng.randrange(len(live)))
            placement.release(consumer)
        else:
            victim = rng.choice(placement.raw())
            placement.set_enabled(victim.name, not victim.enabled)
        if step % 40 == 0:
            for shape in shapes:
                assert [p.name for p in index.walk(shape)] == \
                    brute_force(placement, shape, key)
                assert [p.name for p in index.walk(shape, ["az2"])] == \
                    brute_force(placement, shape, key, "az2")
                assert index.count(shape) == len(brute_force(placement, shape, key))
    assert live  # the run did place servers
    # The large shape (4-vCPU hosts never fit it) got lists of its own.
    assert shape_of(small(8, 4096)) in index.own_lists()


def test_a_shape_that_fits_the_head_keeps_to_the_shared_lists() -> None:
    placement = Placement()
    for i in range(100):
        placement.add_provider(f"h{i}", inventory(vcpus=4 if i % 2 else 16))
    index = CandidateIndex(placement, lambda p: p.free(VCPU) / 16)
    for step in range(20):  # spread one vCPU at a time: the head always fits
        head = next(index.walk(small(1)))
        placement.allocate(f"s{step}", head.name, small(1))
    assert index.own_lists() == []
    # 16 vCPUs fit only the 16-vCPU hosts that are still empty; past 16 others the
    # shape gets its own lists, and the walk goes on there without repeating itself.
    names = [p.name for p in index.walk(small(16))]
    assert index.own_lists() == [shape_of(small(16))]
    assert len(names) == len(set(names)) == 30  # the empty 16-vCPU hosts
    assert names == brute_force(placement, small(16), index.key)


def test_a_packing_index_agrees_too() -> None:
    """Fullest first: the head is the hosts a large shape does not fit."""
    rng = random.Random(5)
    placement = Placement()
    for i in range(40):
        placement.add_provider(f"h{i}", inventory(vcpus=16, memory_mb=16384))

    def key(p: Provider) -> float:
        return -p.free(MEMORY_MB) / 16384

    index = CandidateIndex(placement, key)
    shapes = [small(1, 512), small(2, 4096), small(4, 8192)]
    for step in range(600):
        shape = rng.choice(shapes)
        head = next(index.walk(shape), None)
        if head is not None and rng.random() < 0.8:
            placement.allocate(f"s{step}", head.name, shape)
        elif placement.consumers():
            placement.release(rng.choice(placement.consumers()))
        if step % 25 == 0:
            for each in shapes:
                assert [p.name for p in index.walk(each)] == brute_force(placement, each, key)


def test_the_index_sees_a_provider_moved_to_another_zone() -> None:
    placement = Placement()
    placement.add_provider("h1", inventory(), zone="nova")
    placement.add_provider("h2", inventory(), zone="nova")
    index = CandidateIndex(placement, lambda p: 0.0)
    assert [p.name for p in index.walk(small(), ["nova"])] == ["h1", "h2"]
    placement.set_aggregates("h2", ["agg-1"], zone="fast")
    assert [p.name for p in index.walk(small(), ["nova"])] == ["h1"]
    assert [p.name for p in index.walk(small(), ["fast"])] == ["h2"]
    assert placement.provider("h2").aggregates == frozenset({"agg-1"})
