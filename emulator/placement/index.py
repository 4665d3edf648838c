"""The candidate index: where a request can go, best first, without a pass over hosts.

Requests come in a handful of shapes (the resources one instance of a flavor asks for).
For each shape, and each zone, the index keeps the enabled providers where that shape
fits, sorted by a provider's *key*: the scheduler's static weighers (free RAM, CPU and
disk, instance count, build failures, each times its multiplier, scaled by the cloud's
largest capacity) so that the head of a list is the best host (Borg's and Protean's
equivalence classes; scheduling reference, section 3).

Entries are *optimistic*: an entry's key is never below the provider's true key, and a
provider that fits a shape always has an entry there. So a change that lowers a key or
ends a fit (most claims under a spreading policy) leaves the entries as they are: a walk
checks each entry it reaches and re-files a stale one further down before going on. A
change that raises a key or may start a fit (a release, most claims when packing, a new
zone) marks the provider dirty in each shape, re-filed when that shape is next read (a
provider changed many times is re-filed once). A decision walks from the head and stops
as soon as enough candidates pass the filters.

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
        #: provider index -> (zone, entry) while the provider is filed here.
        self.entries: dict[int, tuple[str, tuple[float, int]]] = {}
        #: Providers whose key may have risen or fit may have begun since this shape was
        #: last read (re-filed before the next read).
        self.dirty: set[int] = set()

    def file(self, provider: Provider, key: float) -> None:
        self.unfile(provider.index)
        if provider.enabled and provider.fits(self.resources):
            entry = (-key, provider.index)
            zone = self.lists.get(provider.zone)
            if zone is None:
                zone = self.lists[provider.zone] = SortedList()
            zone.add(entry)
            self.entries[provider.index] = (provider.zone, entry)

    def unfile(self, index: int) -> None:
        old = self.entries.pop(index, None)
        if old is not None:
            self.lists[old[0]].remove(old[1])


class CandidateIndex:
    def __init__(self, placement: Placement, key: KeyFunction) -> None:
        self.placement = placement
        self.key = key
        self._shapes: OrderedDict[Shape, _ShapeLists] = OrderedDict()
        #: provider index -> its key, until it changes (shared by every shape).
        self._keys: dict[int, float] = {}
        placement.listen(self.update)

    # -- keeping it current ---------------------------------------------------------------

    def _key_of(self, provider: Provider) -> float:
        key = self._keys.get(provider.index)
        if key is None:
            key = self._keys[provider.index] = self.key(provider)
        return key

    def update(self, provider: Provider) -> None:
        """``provider``'s usage or state changed. Where its entry is still optimistic (its
        key did not rise, its zone is the same) nothing happens now; elsewhere it is
        marked dirty."""
        if not self._shapes:
            return
        index = provider.index
        self._keys.pop(index, None)
        key = self._key_of(provider)
        zone = provider.zone
        for lists in self._shapes.values():
            filed = lists.entries.get(index)
            if filed is None or filed[0] != zone or -filed[1][0] < key:
                lists.dirty.add(index)

    def _flush(self, lists: _ShapeLists) -> None:
        providers = self.placement.raw()
        for index in lists.dirty:
            lists.file(providers[index], self._key_of(providers[index]))
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
                entry = (-self._key_of(provider), provider.index)
                by_zone.setdefault(provider.zone, []).append(entry)
                lists.entries[provider.index] = (provider.zone, entry)
        lists.lists = {zone: SortedList(entries) for zone, entries in by_zone.items()}
        self._shapes[shape] = lists
        while len(self._shapes) > MAX_SHAPES:
            self._shapes.popitem(last=False)
        return lists

    # -- reading it ---------------------------------------------------------------------------

    def _zone_walk(self, lists: _ShapeLists, zone: SortedList) -> Iterator[tuple[float, int]]:
        """One zone's valid entries in order; stale ones re-filed on the way (further
        down, so the walk meets them again where they now belong)."""
        providers, resources = self.placement.raw(), lists.resources
        position = 0
        while position < len(zone):
            entry = zone[position]
            provider = providers[entry[1]]
            if -entry[0] != self._key_of(provider) or not provider.enabled \
                    or not provider.fits(resources):
                lists.file(provider, self._key_of(provider))
                continue
            yield entry
            position += 1

    def walk(self, resources: Mapping[str, int],
             zones: Sequence[str] | None = None) -> Iterator[Provider]:
        """Enabled providers where ``resources`` fit (in ``zones``, when given), best
        first. The index is live: consume the walk before the next claim."""
        lists = self._lists(resources)
        chosen = [lists.lists[z] for z in zones if z in lists.lists] if zones is not None \
            else list(lists.lists.values())
        providers = self.placement.raw()
        if len(chosen) == 1:
            for _key, index in self._zone_walk(lists, chosen[0]):
                yield providers[index]
            return
        for _key, index in heapq.merge(*(self._zone_walk(lists, z) for z in chosen)):
            yield providers[index]

    def count(self, resources: Mapping[str, int], zones: Sequence[str] | None = None) -> int:
        """How many enabled providers (in ``zones``) ``resources`` fit on (a pass over
        the shape's entries: for tests and reports, not decisions)."""
        return sum(1 for _provider in self.walk(resources, zones))
