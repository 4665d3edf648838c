"""The candidate index: where a request can go, best first, without a pass over hosts.

Per zone, the index keeps the enabled providers sorted by a provider's *key*: the
scheduler's static weighers (free RAM, CPU and disk, instance count, build failures, each
times its multiplier, scaled by the cloud's largest capacity), so that the head of a list
is the best host. Requests come in a handful of shapes (the resources one instance of a
flavor asks for). A shape that fits most providers near the head (a spreading policy,
a cloud with room) walks these shared lists and passes over the few it does not fit; a
shape that would pass over many (a packing policy fills the head; a large flavor) gets
lists of its own, of the providers it fits, in the same order (Borg's and Protean's
equivalence classes; scheduling reference, section 3). Every change to a provider
touches each list it is in, so the fewer lists the cheaper a claim.

Entries are *optimistic*: an entry's key is never below the provider's true key, and a
provider that fits a shape always has an entry there. So a change that lowers a key or
ends a fit (most claims under a spreading policy) leaves the entries as they are: a walk
checks each entry it reaches and re-files a stale one further down before going on. A
change that raises a key or may start a fit (a release, most claims when packing, a new
zone) marks the provider dirty in each list, re-filed when that list is next read (a
provider changed many times is re-filed once). A decision walks from the head and stops
as soon as enough candidates pass the filters.

A shape's own lists are built when it first needs them (one pass over the providers) and
at most ``MAX_SHAPES`` are kept, the least recently used forgotten first.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence

from sortedcontainers import SortedList

from emulator.placement.providers import Placement, Provider

#: Shapes with lists of their own at once (a workload of arbitrary sizes costs a rebuild
#: per new shape).
MAX_SHAPES = 64
#: Providers a walk of the shared lists may pass over (ones the shape does not fit)
#: before the shape gets lists of its own.
SKIPS_BEFORE_OWN_LISTS = 16

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
        #: Every enabled provider, per zone (a walk for a shape with no lists of its own
        #: passes over the ones it does not fit).
        self._shared: _ShapeLists | None = None
        #: Shapes with lists of their own, least recently used first.
        self._shapes: OrderedDict[Shape, _ShapeLists] = OrderedDict()
        #: provider index -> its key, until it changes (shared by every list).
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
        index = provider.index
        self._keys.pop(index, None)
        if self._shared is None:
            return
        key = self._key_of(provider)
        zone = provider.zone
        for lists in (self._shared, *self._shapes.values()):
            filed = lists.entries.get(index)
            if filed is None or filed[0] != zone or -filed[1][0] < key:
                lists.dirty.add(index)

    def _flush(self, lists: _ShapeLists) -> None:
        providers = self.placement.raw()
        for index in lists.dirty:
            lists.file(providers[index], self._key_of(providers[index]))
        lists.dirty.clear()

    def reset(self, key: KeyFunction | None = None) -> None:
        """Forget every list (the key changed: a new weigher setting, new capacities)."""
        if key is not None:
            self.key = key
        self._shared = None
        self._shapes.clear()
        self._keys.clear()

    def _build(self, shape: Shape) -> _ShapeLists:
        lists = _ShapeLists(shape)
        by_zone: dict[str, list[tuple[float, int]]] = {}
        for provider in self.placement.raw():
            if provider.enabled and provider.fits(lists.resources):
                entry = (-self._key_of(provider), provider.index)
                by_zone.setdefault(provider.zone, []).append(entry)
                lists.entries[provider.index] = (provider.zone, entry)
        lists.lists = {zone: SortedList(entries) for zone, entries in by_zone.items()}
        return lists

    def _current(self, lists: _ShapeLists) -> _ShapeLists:
        if lists.dirty:
            self._flush(lists)
        return lists

    def _own(self, shape: Shape) -> _ShapeLists | None:
        lists = self._shapes.get(shape)
        if lists is None:
            return None
        self._shapes.move_to_end(shape)
        return self._current(lists)

    def _give_own(self, shape: Shape) -> _ShapeLists:
        lists = self._shapes[shape] = self._build(shape)
        while len(self._shapes) > MAX_SHAPES:
            self._shapes.popitem(last=False)
        return lists

    # -- reading it ---------------------------------------------------------------------------

    def _zone_walk(self, lists: _ShapeLists, zone: SortedList) -> Iterator[tuple[float, int]]:
        """One zone's valid entries in order; stale ones re-filed on the way (further
        down, so the walk meets them again where they now belong)."""
        providers, resources = self.placement.raw(), lists.resources
        # The shared lists ask no resources of their own (``walk`` checks the shape's).
        check_fit = bool(resources)
        keys = self._keys
        position = 0
        while position < len(zone):
            entry = zone[position]
            provider = providers[entry[1]]
            key = keys.get(entry[1])
            if key is None:
                key = self._key_of(provider)
            if -entry[0] != key or not provider.enabled \
                    or (check_fit and not provider.fits(resources)):
                lists.file(provider, key)
                continue
            yield entry
            position += 1

    def _entries(self, lists: _ShapeLists,
                 zones: Sequence[str] | None) -> Iterator[tuple[float, int]]:
        chosen = [lists.lists[z] for z in zones if z in lists.lists] if zones is not None \
            else list(lists.lists.values())
        if len(chosen) == 1:
            return self._zone_walk(lists, chosen[0])
        return heapq.merge(*(self._zone_walk(lists, z) for z in chosen))

    def walk(self, resources: Mapping[str, int],
             zones: Sequence[str] | None = None) -> Iterator[Provider]:
        """Enabled providers where ``resources`` fit (in ``zones``, when given), best
        first. The index is live: consume the walk before the next claim.

        A shape starts on the shared lists, passing over the providers it does not fit;
        once one walk passes over more than ``SKIPS_BEFORE_OWN_LISTS`` of them the shape
        gets lists of its own (kept from then on), and the walk goes on there."""
        providers = self.placement.raw()
        shape = shape_of(resources)
        lists = self._own(shape)
        if lists is None:
            if self._shared is None:
                self._shared = self._build(())
            given: list[int] = []
            skipped = 0
            for _key, index in self._entries(self._current(self._shared), zones):
                provider = providers[index]
                if provider.fits(resources):
                    given.append(index)
                    yield provider
                else:
                    skipped += 1
                    if skipped > SKIPS_BEFORE_OWN_LISTS:
                        break
            else:
                return
            lists = self._give_own(shape)
            for _key, index in self._entries(lists, zones):
                if index not in given:
                    yield providers[index]
            return
        for _key, index in self._entries(lists, zones):
            yield providers[index]

    def count(self, resources: Mapping[str, int], zones: Sequence[str] | None = None) -> int:
        """How many enabled providers (in ``zones``) ``resources`` fit on (a walk: for
        tests and reports, not decisions)."""
        return sum(1 for _provider in self.walk(resources, zones))

    def own_lists(self) -> list[Shape]:
        """The shapes with lists of their own (for tests and reports)."""
        return list(self._shapes)
