"""The candidate index: where a request can go, best first, without a pass over hosts.

Requests come in a handful of shapes (the resources one instance of a flavor asks for).
For each shape, and each zone, the index keeps the enabled providers where that shape
fits, sorted by a provider's *key*: the scheduler's static weighers (free RAM, CPU and
disk, instance count, build failures, each times its multiplier, scaled by the cloud's
largest capacity) so that the head of a list is the best host (Borg's and Protean's
equivalence classes; scheduling reference, section 3). A claim or a release re-files one
provider in each shape's list (O(shapes x log n)); a decision walks from the head and
stops as soon as enough candidates pass the filters.

Shapes are indexed when first asked for (one pass over the providers) and at most
``MAX_SHAPES`` are kept, the least recently used forgotten first.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence

from sortedcontainers import SortedList

from emulator.placement.providers import Placement, Provider

#: Shapes indexed at once (a workload of arbitrary sizes costs a rebuild per new shape).
MAX_SHAPES = 64

Shape = tuple[tuple[str, int], ...]
#: ``key(provider)``: higher is better.
KeyFunction = Callable[[Provider], float]


def shape_of(resources: Mapping[str, int]) -> Shape:
    return tuple(sorted((rc, amount) for rc, amount in resources.items() if amount > 0))


class _ShapeLists:
    """One shape's providers, per zone, as ``(-key, index)`` entries."""

    __slots__ = ("entries", "lists", "resources")

    def __init__(self, shape: Shape) -> None:
        self.resources = dict(shape)
        self.lists: dict[str, SortedList] = {}
        #: provider index -> (zone, entry) while the provider is filed here.
        self.entries: dict[int, tuple[str, tuple[float, int]]] = {}

    def file(self, provider: Provider, key: float) -> None:
        old = self.entries.pop(provider.index, None)
        if old is not None:
            self.lists[old[0]].remove(old[1])
        if provider.enabled and provider.fits(self.resources):
            entry = (-key, provider.index)
            self.lists.setdefault(provider.zone, SortedList()).add(entry)
            self.entries[provider.index] = (provider.zone, entry)


class CandidateIndex:
    def __init__(self, placement: Placement, key: KeyFunction) -> None:
        self.placement = placement
        self.key = key
        self._shapes: OrderedDict[Shape, _ShapeLists] = OrderedDict()
        placement.listen(self.update)

    # -- keeping it current ---------------------------------------------------------------

    def update(self, provider: Provider) -> None:
        """Re-file ``provider`` in every indexed shape (its usage or state changed)."""
        if not self._shapes:
            return
        key = self.key(provider)
        for lists in self._shapes.values():
            lists.file(provider, key)

    def reset(self, key: KeyFunction | None = None) -> None:
        """Forget every shape (the key changed: a new weigher setting, new capacities)."""
        if key is not None:
            self.key = key
        self._shapes.clear()

    def _lists(self, resources: Mapping[str, int]) -> _ShapeLists:
        shape = shape_of(resources)
        lists = self._shapes.get(shape)
        if lists is not None:
            self._shapes.move_to_end(shape)
            return lists
        lists = _ShapeLists(shape)
        by_zone: dict[str, list[tuple[float, int]]] = {}
        for provider in self.placement.raw():
            if provider.enabled and provider.fits(lists.resources):
                entry = (-self.key(provider), provider.index)
                by_zone.setdefault(provider.zone, []).append(entry)
                lists.entries[provider.index] = (provider.zone, entry)
        lists.lists = {zone: SortedList(entries) for zone, entries in by_zone.items()}
        self._shapes[shape] = lists
        while len(self._shapes) > MAX_SHAPES:
            self._shapes.popitem(last=False)
        return lists

    # -- reading it ---------------------------------------------------------------------------

    def walk(self, resources: Mapping[str, int],
             zones: Sequence[str] | None = None) -> Iterator[Provider]:
        """Enabled providers where ``resources`` fit (in ``zones``, when given), best
        first. The index is live: consume the walk before the next claim."""
        lists = self._lists(resources)
        chosen = [lists.lists[z] for z in zones if z in lists.lists] if zones is not None \
            else list(lists.lists.values())
        providers = self.placement.raw()
        if len(chosen) == 1:
            for _key, index in chosen[0]:
                yield providers[index]
            return
        for _key, index in heapq.merge(*chosen):
            yield providers[index]

    def count(self, resources: Mapping[str, int], zones: Sequence[str] | None = None) -> int:
        """How many enabled providers (in ``zones``) ``resources`` fit on."""
        lists = self._lists(resources)
        if zones is None:
            return len(lists.entries)
        return sum(len(lists.lists[z]) for z in zones if z in lists.lists)
