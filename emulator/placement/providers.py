"""Resource providers and allocations, in memory: Placement's model for the scheduler.

One provider per compute host, with an inventory per resource class (``VCPU``,
``MEMORY_MB``, ``DISK_GB``: total, reserved, min/max unit, step size, allocation ratio),
traits, aggregate membership and the zone its aggregates give it. Consumers (servers, and
a resize's migration) hold allocations on providers. Usage is kept incrementally as
allocations change (never a pass over servers); every change bumps the provider's
generation, the optimistic-concurrency token a claim may name (Placement's 409).

Everything here runs on the caller's thread and does not block; the database is the
record (a server's host and flavor), from which ``emulator.compute.claims`` rebuilds
this at start-up.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from emulator.errors import Conflict as ConflictBase

#: The resource classes a compute host offers (Placement's standard names).
VCPU, MEMORY_MB, DISK_GB = "VCPU", "MEMORY_MB", "DISK_GB"
RESOURCE_CLASSES = (VCPU, MEMORY_MB, DISK_GB)


@dataclass(frozen=True)
class Inventory:
    """Placement's inventory of one resource class on one provider."""

    total: int
    reserved: int = 0
    min_unit: int = 1
    #: None: the total.
    max_unit: int | None = None
    step_size: int = 1
    allocation_ratio: float = 1.0

    @property
    def capacity(self) -> int:
        """What may be allocated: ``(total - reserved) * allocation_ratio``."""
        return int((self.total - self.reserved) * self.allocation_ratio)

    def takes(self, amount: int) -> bool:
        """Whether one allocation of ``amount`` respects min/max unit and step size."""
        top = self.total if self.max_unit is None else self.max_unit
        return self.min_unit <= amount <= top and amount % self.step_size == 0


class Conflict(ConflictBase):
    """A claim that does not fit, or whose provider generation moved (Placement's 409)."""


class GenerationConflict(Conflict):
    """The provider's generation is not the one the write named."""


#: ``listener(provider)``: told after a provider's usage, zone, aggregates or state change.
Listener = Callable[["Provider"], None]


class Provider:
    """One resource provider (a compute host). Read it, change it through ``Placement``."""

    __slots__ = ("aggregates", "capabilities", "capacity", "consumers", "enabled", "failures",
                 "generation", "index", "inventories", "limits", "name", "traits", "up", "used",
                 "uuid", "zone")

    def __init__(self, index: int, name: str, inventories: Mapping[str, Inventory],
                 zone: str, aggregates: Iterable[str], traits: Iterable[str],
                 enabled: bool, uuid: str, capabilities: Mapping[str, str]) -> None:
        self.index = index
        self.name = name
        self.uuid = uuid
        self.zone = zone
        self.inventories = dict(inventories)
        self.capacity = {rc: inv.capacity for rc, inv in self.inventories.items()}
        #: rc -> (min unit, max unit, step size) of one allocation.
        self.limits = {rc: (inv.min_unit, inv.total if inv.max_unit is None else inv.max_unit,
                            inv.step_size) for rc, inv in self.inventories.items()}
        self.used = dict.fromkeys(self.inventories, 0)
        self.aggregates = frozenset(aggregates)
        self.traits = frozenset(traits)
        #: What ComputeCapabilitiesFilter and ImagePropertiesFilter read (``cpu_arch``,
        #: ``hypervisor_type``, ``vm_mode``, ...).
        self.capabilities = dict(capabilities)
        #: False: placement offers it to no one (a disabled compute service: Nova's
        #: COMPUTE_STATUS_DISABLED trait).
        self.enabled = enabled
        #: False: offered, but ComputeFilter refuses it (a compute service that is down).
        self.up = True
        self.generation = 0
        #: How many consumers hold an allocation here (Nova's ``num_instances``).
        self.consumers = 0
        #: Builds that failed here since the last success (Nova's build failure weigher).
        self.failures = 0

    def free(self, rc: str) -> int:
        return self.capacity.get(rc, 0) - self.used.get(rc, 0)

    def fits(self, resources: Mapping[str, int]) -> bool:
        """Whether ``resources`` fit on top of what is allocated here."""
        used, capacity, limits = self.used, self.capacity, self.limits
        for rc, amount in resources.items():
            if amount <= 0:
                continue
            limit = limits.get(rc)
            if limit is None or used[rc] + amount > capacity[rc] or amount < limit[0] \
                    or amount > limit[1] or amount % limit[2]:
                return False
        return True


@dataclass(frozen=True)
class ProviderView:
    """A provider as seen at one moment (for the API, the bench and tests)."""

    name: str
    uuid: str
    zone: str
    generation: int
    capacity: Mapping[str, int]
    used: Mapping[str, int]
    aggregates: frozenset[str]
    traits: frozenset[str]
    enabled: bool
    consumers: int
    up: bool = True

    @property
    def free(self) -> dict[str, int]:
        return {rc: self.capacity[rc] - self.used.get(rc, 0) for rc in self.capacity}


def _view(p: Provider) -> ProviderView:
    return ProviderView(name=p.name, uuid=p.uuid, zone=p.zone, generation=p.generation,
                        capacity=dict(p.capacity), used=dict(p.used),
                        aggregates=p.aggregates, traits=p.traits, enabled=p.enabled,
                        consumers=p.consumers, up=p.up)


class Placement:
    """Every provider and every allocation (see the module docstring)."""

    def __init__(self) -> None:
        self._providers: list[Provider] = []
        self._by_name: dict[str, Provider] = {}
        #: consumer -> provider name -> resource class -> amount.
        self._allocations: dict[str, dict[str, dict[str, int]]] = {}
        self._listeners: list[Listener] = []
        #: Claims written after a re-read because their provider's generation had moved.
        self.generation_retries = 0

    # -- providers ---------------------------------------------------------------------------

    def add_provider(self, name: str, inventories: Mapping[str, Inventory], *,
                     zone: str = "nova", aggregates: Iterable[str] = (),
                     traits: Iterable[str] = (), enabled: bool = True,
                     uuid: str | None = None,
                     capabilities: Mapping[str, str] | None = None) -> ProviderView:
        if name in self._by_name:
            raise Conflict(f"Resource provider {name} already exists.")
        provider = Provider(len(self._providers), name, inventories, zone, aggregates,
                            traits, enabled,
                            uuid or str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"rp/{name}")),
                            capabilities or {})
        self._providers.append(provider)
        self._by_name[name] = provider
        self._changed(provider)
        return _view(provider)

    def set_aggregates(self, name: str, aggregates: Iterable[str], zone: str) -> None:
        provider = self._by_name[name]
        provider.aggregates, provider.zone = frozenset(aggregates), zone
        provider.generation += 1
        self._changed(provider)

    def set_enabled(self, name: str, enabled: bool) -> None:
        provider = self._by_name[name]
        provider.enabled = enabled
        self._changed(provider)

    def set_up(self, name: str, up: bool) -> None:
        provider = self._by_name[name]
        if provider.up != up:
            provider.up = up
            self._changed(provider)

    def record_build(self, name: str, failed: bool) -> None:
        """A build on ``name`` failed (counted) or succeeded (the count starts over)."""
        provider = self._by_name.get(name)
        if provider is None or not (failed or provider.failures):
            return
        provider.failures = provider.failures + 1 if failed else 0
        self._changed(provider)

    def provider(self, name: str) -> ProviderView:
        return _view(self._by_name[name])

    def providers(self) -> list[ProviderView]:
        return [_view(p) for p in self._providers]

    def raw(self) -> list[Provider]:
        """The providers themselves, by index (for the scheduler and its index: read only)."""
        return self._providers

    def get(self, name: str) -> Provider | None:
        return self._by_name.get(name)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self, provider: Provider) -> None:
        for listener in self._listeners:
            listener(provider)

    # -- allocations ---------------------------------------------------------------------------

    def allocate(self, consumer: str, provider: str, resources: Mapping[str, int],
                 generation: int | None = None) -> None:
        """Add ``resources`` on ``provider`` to ``consumer``'s allocations; ``Conflict`` if
        they do not fit or ``generation`` is not the provider's any more."""
        target = self._by_name.get(provider)
        if target is None:
            raise Conflict(f"No resource provider {provider}.")
        if generation is not None and generation != target.generation:
            raise GenerationConflict(f"Resource provider {provider} changed (generation "
                           f"{target.generation}, expected {generation}).")
        if not target.fits(resources):
            raise Conflict(f"Resources do not fit on {provider}.")
        self._add(consumer, target, resources)

    def claim(self, consumer: str, provider: str, resources: Mapping[str, int],
              generation: int) -> bool:
        """The scheduler's claim (Placement's ``PUT /allocations/{consumer}``): the write
        names the generation the decision saw; if it moved meanwhile, Placement re-reads the
        provider and writes again when the resources still fit (its retry on
        ``ResourceProviderConcurrentUpdateDetected``), so the claim fails (``Conflict``,
        Placement's 409) only when they no longer fit. True when the generation had moved
        (counted in ``generation_retries``)."""
        try:
            self.allocate(consumer, provider, resources, generation=generation)
        except GenerationConflict:
            self.allocate(consumer, provider, resources)
            self.generation_retries += 1
            return True
        return False

    def allocate_over(self, consumer: str, provider: str, resources: Mapping[str, int]) -> None:
        """Record an allocation whatever the capacity (one the record says exists on a host
        whose inventory has since shrunk): the provider is then over, and takes nothing
        until enough is released."""
        target = self._by_name.get(provider)
        if target is None:
            raise Conflict(f"No resource provider {provider}.")
        self._add(consumer, target, resources)

    def _add(self, consumer: str, target: Provider, resources: Mapping[str, int]) -> None:
        provider = target.name
        held = self._allocations.setdefault(consumer, {})
        mine = held.get(provider)
        if mine is None:
            mine = held[provider] = {}
            target.consumers += 1
        for rc, amount in resources.items():
            if amount:
                mine[rc] = mine.get(rc, 0) + amount
                target.used[rc] = target.used.get(rc, 0) + amount
        target.generation += 1
        self._changed(target)

    def release(self, consumer: str, provider: str | None = None) -> dict[str, dict[str, int]]:
        """Drop ``consumer``'s allocations (on ``provider`` only, when given); what was
        dropped."""
        held = self._allocations.get(consumer)
        if not held:
            return {}
        names = [provider] if provider is not None else list(held)
        dropped: dict[str, dict[str, int]] = {}
        for name in names:
            resources = held.pop(name, None)
            target = self._by_name.get(name)
            if resources is None or target is None:
                continue
            for rc, amount in resources.items():
                target.used[rc] -= amount
            target.consumers -= 1
            target.generation += 1
            dropped[name] = resources
            self._changed(target)
        if not held:
            del self._allocations[consumer]
        return dropped

    def move(self, source: str, target: str) -> None:
        """Give every allocation of consumer ``source`` to consumer ``target`` (a resize's
        old flavor passing between the server and its migration); usage is unchanged."""
        held = self._allocations.pop(source, None)
        if not held:
            return
        into = self._allocations.setdefault(target, {})
        for name, resources in held.items():
            provider = self._by_name[name]
            mine = into.get(name)
            if mine is None:
                into[name] = dict(resources)
            else:
                for rc, amount in resources.items():
                    mine[rc] = mine.get(rc, 0) + amount
                provider.consumers -= 1
            provider.generation += 1
            self._changed(provider)

    def allocations(self, consumer: str) -> dict[str, dict[str, int]]:
        return {name: dict(r) for name, r in self._allocations.get(consumer, {}).items()}

    def host_of(self, consumer: str) -> str | None:
        """The provider of a consumer's allocations (the first, if several)."""
        held = self._allocations.get(consumer)
        return next(iter(held)) if held else None

    def consumers(self) -> list[str]:
        return list(self._allocations)

    def clear(self) -> None:
        """Forget every allocation (a reset); providers stay."""
        for consumer in list(self._allocations):
            self.release(consumer)
