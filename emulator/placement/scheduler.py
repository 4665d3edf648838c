"""Nova's scheduler pipeline over the placement model.

For each instance of a request (``schedule``):

1. **Request filters**: the requested zone narrows the providers to that zone's (Nova's
   ``map_az_to_placement_aggregate``); disabled hosts are not candidates.
2. **Allocation candidates**: the candidate index gives the providers where the
   instance's resources fit, best first by the static weighers; at most
   ``max_placement_results`` of them are examined (Nova's cap on placement's answer).
   None: ``No valid host was found. `` (placement returned nothing, as Nova's reason "").
3. **Host filters**, in ``[scheduler] filters`` order, until ``window`` candidates pass
   (or the examined ones run out: ``There are not enough hosts available.``).
4. **Weighers**, normalised over those candidates and times their multipliers, as
   Nova's; one of the best ``host_subset_size`` is chosen at random.
5. **Claim** with the provider generation seen when deciding. As Placement's allocation
   write, a moved generation (another claim came between) makes it re-read the provider
   and write again if the request still fits; only when it no longer fits (Placement's
   409) is the next candidate tried, then a new decision.

A request of several instances is claimed whole or not at all (Nova's
``select_destinations`` cleans up the claims of a request it cannot complete); each
instance's claim counts for the next one's group filters and weighers.

NOTE: the index orders candidates by the static weighers scaled by the cloud's largest
capacities, where Nova weighs the (up to 1,000, unordered) candidates placement returns
over their own range; with one weigher both pick the same host. With a dynamic weigher
(soft affinity) and a group, the candidates collected are weighed exactly as Nova's.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from emulator.placement.filters import DEFAULT_FILTERS, FILTERS, RELEVANT, Decision, Filter
from emulator.placement.index import CandidateIndex
from emulator.placement.providers import RESOURCE_CLASSES, Conflict, Placement, Provider
from emulator.placement.request import (
    AFFINITY,
    NOT_ENOUGH_HOSTS,
    NoValidHost,
    RequestSpec,
    Selection,
)
from emulator.placement.weighers import DEFAULT_WEIGHERS, WEIGHERS, Weigher, weigh

#: Aggregate metadata naming the projects an aggregate is for (``filter_tenant_id``,
#: ``filter_tenant_id2`` ...).
TENANT_KEY = "filter_tenant_id"
#: Candidates that pass the filters before the walk stops and the weighers choose.
WINDOW = 8
#: New decisions after every candidate of one was taken by another claim (Nova's
#: ``[scheduler] max_attempts`` is about reschedules; this is placement's retry).
MAX_DECISIONS = 3


@dataclass(frozen=True)
class SchedulerConfig:
    """``[scheduler]``: the filters in order, the weighers with their multipliers."""

    filters: tuple[str, ...] = DEFAULT_FILTERS
    weighers: tuple[tuple[str, float], ...] = DEFAULT_WEIGHERS
    max_placement_results: int = 1000
    host_subset_size: int = 1
    #: Nova's ``[scheduler] max_attempts``: a decision returns the chosen host and up to
    #: ``max_attempts - 1`` alternates (which the claim falls back to).
    max_attempts: int = 3
    seed: int | None = None
    #: Nova's ``[scheduler] limit_tenants_to_placement_aggregate``: a project named in an
    #: aggregate's ``filter_tenant_id*`` metadata is placed only on those aggregates' hosts.
    limit_tenants_to_placement_aggregate: bool = False
    #: ``placement_aggregate_required_for_tenants``: a project named in none is refused.
    placement_aggregate_required_for_tenants: bool = False


NO_HOSTS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Candidate:
    """A host a decision found, with the generation the decision saw."""

    host: str
    generation: int


class Scheduler:
    def __init__(self, placement: Placement, config: SchedulerConfig | None = None,
                 filters: Mapping[str, Filter] | None = None,
                 weighers: Mapping[str, Weigher] | None = None) -> None:
        """``filters`` and ``weighers``: the names ``config`` may use (Nova's, and the
        plug-ins'); an unknown name is a ``ValueError``."""
        self.placement = placement
        self.config = config = config or SchedulerConfig()
        known_filters = dict(filters if filters is not None else FILTERS)
        known_weighers = dict(weighers if weighers is not None else WEIGHERS)
        unknown = [n for n in config.filters if n not in known_filters] + \
            [n for n, _m in config.weighers if n not in known_weighers]
        if unknown:
            raise ValueError(f"unknown scheduler filter or weigher: {', '.join(unknown)}")
        self.filters = [known_filters[name] for name in config.filters]
        self.weighers = [(known_weighers[name], multiplier)
                         for name, multiplier in config.weighers if multiplier]
        self._static = [(w, m) for w, m in self.weighers if w.static]
        self._dynamic = any(not w.static for w, _m in self.weighers)
        self._scales: dict[str, float] = {}
        self._scaled_providers = -1
        self.index = CandidateIndex(placement, self._key)
        # After the index's own listener: a new provider may change the scales, and then
        # the index starts over (never in the middle of its own update).
        placement.listen(self._provider_changed)
        self._rescale()
        self.random = random.Random(config.seed)
        #: Aggregate uuid -> metadata (the aggregates service keeps it current).
        self.aggregate_metadata: dict[str, dict[str, str]] = {}

    # -- the index key: the static weighers ---------------------------------------------------

    def _provider_changed(self, _provider: Provider) -> None:
        if self._scaled_providers != len(self.placement.raw()):
            self._rescale()

    def _key(self, p: Provider) -> float:
        total = 0.0
        for weigher, multiplier in self._static:
            scale = self._scales.get(weigher.resource or "", 1.0)
            total += multiplier * weigher.value(p, None) / scale
        return total

    def _rescale(self) -> None:
        """The largest capacity of each resource class; the index starts over when a new
        provider changes one (its keys were scaled by the old ones)."""
        providers = self.placement.raw()
        scales = {rc: float(max((p.capacity.get(rc, 0) for p in providers), default=0) or 1)
                  for rc in RESOURCE_CLASSES}
        self._scaled_providers = len(providers)
        if scales != self._scales:
            self._scales = scales
            self.index.reset()

    # -- deciding -----------------------------------------------------------------------------

    def _tenant_aggregates(self, project_id: str) -> frozenset[str] | None:
        """Nova's ``require_tenant_aggregate`` request filter: the aggregates the project
        is limited to (None: not limited)."""
        if not self.config.limit_tenants_to_placement_aggregate:
            return None
        mine = frozenset(uuid for uuid, metadata in self.aggregate_metadata.items()
                         if any(key.startswith(TENANT_KEY) and value == project_id
                                for key, value in metadata.items()))
        if mine:
            return mine
        if self.config.placement_aggregate_required_for_tenants:
            raise NoValidHost("Scheduling failed: No hosts available for tenant")
        return None

    def decision(self, spec: RequestSpec) -> Decision:
        """What the filters and weighers need to know of ``spec``, read once."""
        host_of = self.placement.host_of
        filters = tuple(f for f in self.filters
                        if (relevant := RELEVANT.get(f)) is None or relevant(spec))
        tenant = self._tenant_aggregates(spec.project_id)
        if tenant is not None:
            def in_tenant_aggregates(p: Provider, _d: Decision) -> bool:
                return not p.aggregates.isdisjoint(tenant)
            filters = (in_tenant_aggregates, *filters)
        group_hosts: Counter[str] = Counter()
        if spec.group is not None:
            for member in spec.group.members:
                host = host_of(member)
                if host is not None:
                    group_hosts[host] += 1
        return Decision(
            spec=spec, group_hosts=group_hosts,
            same_hosts=frozenset(h for s in spec.same_host if (h := host_of(s)))
            if spec.same_host else NO_HOSTS,
            different_hosts=frozenset(h for s in spec.different_host if (h := host_of(s)))
            if spec.different_host else NO_HOSTS,
            aggregate_metadata=self.aggregate_metadata, filters=filters)

    def _passes(self, provider: Provider, decision: Decision) -> bool:
        if provider.name in decision.spec.ignore_hosts:
            return False
        # NOTE: a loop, not all(<generator>): this runs for every candidate examined.
        for check in decision.filters:  # noqa: SIM110
            if not check(provider, decision):
                return False
        return True

    def _walk(self, spec: RequestSpec, decision: Decision) -> list[Provider]:
        """The providers a decision may choose from (steps 1 to 3 of the docstring)."""
        resources = spec.resources
        named = spec.force_host or spec.requested_host
        if named is not None:
            # Placement asked for that one provider (``in_tree``); NOTE: as Nova's, a
            # forced host (``zone:host``) skips the filters, a requested one does not.
            provider = self.placement.get(named)
            if provider is None or not provider.fits(resources):
                raise NoValidHost("")
            if spec.force_host is not None:
                return [provider]
            return [provider] if self._passes(provider, decision) else []
        zones = [spec.zone] if spec.zone is not None else None
        if spec.group is not None and spec.group.policy == AFFINITY and decision.group_hosts:
            # Only the group's host can pass the affinity filter: look there, not around
            # (but placement's answer decides the reason when nothing fits anywhere).
            if next(self.index.walk(resources, zones), None) is None:
                raise NoValidHost("")
            return [p for h in decision.group_hosts
                    if (p := self.placement.get(h)) is not None and p.fits(resources)
                    and (spec.zone is None or p.zone == spec.zone) and p.enabled
                    and self._passes(p, decision)]
        window = self._window(decision)
        most, passes = self.config.max_placement_results, self._passes
        passed: list[Provider] = []
        examined = 0
        for examined, provider in enumerate(self.index.walk(resources, zones), 1):
            if passes(provider, decision):
                passed.append(provider)
                if len(passed) >= window:
                    break
            if examined >= most:
                break
        if not examined:
            raise NoValidHost("")  # placement had no candidate at all
        return passed

    def _window(self, decision: Decision) -> int:
        """How many candidates a decision collects: the subset and the alternates when
        only static weighers count (the index's order is theirs), else ``WINDOW`` more
        for the weighers to choose among."""
        least = max(self.config.host_subset_size, self.config.max_attempts)
        if self._weighs(decision):
            return max(WINDOW, least)
        return least

    def _weighs(self, decision: Decision) -> bool:
        """Whether the weighers must run: a dynamic one with a group to read."""
        return self._dynamic and decision.spec.group is not None

    def decide(self, spec: RequestSpec, decision: Decision | None = None) -> list[Candidate]:
        """The hosts for one instance, best first (the first ``host_subset_size`` in a
        random order); ``NoValidHost`` when there are none."""
        decision = decision or self.decision(spec)
        passed = self._walk(spec, decision)
        if not passed:
            raise NoValidHost(NOT_ENOUGH_HOSTS)
        if len(passed) == 1:
            return [Candidate(passed[0].name, passed[0].generation)]
        order = list(range(len(passed)))
        if self._weighs(decision):
            weights = weigh(passed, decision, self.weighers)
            order.sort(key=lambda i: -weights[i])
        subset = self.config.host_subset_size
        if subset > 1:
            head = order[:subset]
            self.random.shuffle(head)
            order = head + order[subset:]
        return [Candidate(passed[i].name, passed[i].generation)
                for i in order[:self.config.max_attempts]]

    # -- claiming -------------------------------------------------------------------------------

    def claim(self, consumer: str, spec: RequestSpec,
              candidates: Sequence[Candidate]) -> Selection | None:
        """Claim the first candidate the request still fits on (Placement re-checks a
        provider whose generation moved); None if it fits on none (the caller decides
        again)."""
        for i, candidate in enumerate(candidates):
            try:
                self.placement.claim(consumer, candidate.host, spec.resources,
                                     candidate.generation)
            except Conflict:
                continue
            return Selection(consumer, candidate.host,
                             tuple(c.host for c in candidates[i + 1:]))
        return None

    def select(self, consumer: str, spec: RequestSpec,
               decision: Decision | None = None) -> Selection:
        """Decide and claim for one instance (deciding again after conflicts)."""
        for _attempt in range(MAX_DECISIONS):
            selection = self.claim(consumer, spec, self.decide(spec, decision))
            if selection is not None:
                return selection
        raise NoValidHost(NOT_ENOUGH_HOSTS)

    def schedule(self, consumers: Sequence[str], spec: RequestSpec) -> list[Selection]:
        """A host for every consumer of the request, claimed, or ``NoValidHost`` and no
        claim left behind."""
        decision = self.decision(spec)
        selections: list[Selection] = []
        try:
            for consumer in consumers:
                selection = self.select(consumer, spec, decision)
                selections.append(selection)
                if spec.group is not None:
                    decision.group_hosts[selection.host] += 1
        except NoValidHost:
            for selection in selections:
                self.placement.release(selection.consumer, selection.host)
            raise
        return selections
