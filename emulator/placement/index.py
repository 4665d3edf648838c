"""The candidate index: where a request can go, best first, without a pass over hosts.

Requests come in a handful of shapes (the resources one instance of a flavor asks for).
For each shape, and each zone, the index keeps the enabled providers where that shape
fits, sorted by a provider's *key*: the scheduler's static weighers (free RAM, CPU and
disk, instance count, build failures, each times its multiplier, scaled by the cloud's
largest capacity) so that the head of a list is the best host (Borg's and Protean's
equivalence classes; scheduling reference, section 3). A claim or a release marks its
provider dirty in each shape (O(shapes)); a shape's dirty providers are re-filed when it
is next read (O(dirty x log n), a provider changed many times re-filed once), and a
decision walks from the head and stops as soon as enough candidates pass the filters.

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

    __slots__ = ("dirty", "entries", "lists", "resources")

    def __init__(self, shape: Shape) -> None:
        self.resources = dict(shape)
        self.lists: dict[str, SortedList] = {}
        #: Providers changed since this shape was last read (re-filed before the next read).
        self.dirty: set[int] = set()
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
        #: provider index -> its key, until it changes (shared by every shape's re-filing).
        self._keys: dict[int, float] = {}
        placement.listen(self.update)

    # -- keeping it current ---------------------------------------------------------------

    def update(self, provider: Provider) -> None:
        """``provider``'s usage or state changed: every indexed shape re-files it before
        it is read next."""
        if not self._shapes:
            return
        index = provider.index
        self._keys.pop(index, None)
        for lists in self._shapes.values():
            lists.dirty.add(index)

    def _flush(self, lists: _ShapeLists) -> None:
        providers, keys = self.placement.raw(), self._keys
        for index in lists.dirty:
            key = keys.get(index)
            if key is None:
                key = keys[index] = self.key(providers[index])
            lists.file(providers[index], key)
        lists.dirty.clear()

    def reset(self, key: KeyFunction | None = None) -> None:
        """Forget every shape (the key changed: a new weigher setting, new capacities)."""
        if key is not None:
            self.key = key
        self._shapes.clear()
        self._keys.clear()

    def _lists(self, resources: Mapping[str, int]) -> _ShapeLists:
        shape = shape_of(resources)
        lists = self._shapes.get(shape)
        if lists is not None:
            self._shapes.move_to_end(shape)
            if lists.dirty:
                self._flush(lists)
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
