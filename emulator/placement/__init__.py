"""Placement: resource providers, allocations and the scheduler that claims them.

``Placement`` holds the providers (one per compute host) and every consumer's
allocations in memory, usage kept incrementally; ``Scheduler`` runs Nova's pipeline
(request filters, candidates from an index, host filters, weighers, a claim checked
against the provider's generation) over it. No HTTP, no database: the compute domain
persists what it decides (a server's host and flavor) and rebuilds this at start-up.
"""

from emulator.placement.filters import DEFAULT_FILTERS, FILTERS, Decision, Filter
from emulator.placement.providers import (
    DISK_GB,
    MEMORY_MB,
    RESOURCE_CLASSES,
    VCPU,
    Conflict,
    GenerationConflict,
    Inventory,
    Placement,
    Provider,
    ProviderView,
)
from emulator.placement.request import (
    AFFINITY,
    ANTI_AFFINITY,
    NOT_ENOUGH_HOSTS,
    SOFT_AFFINITY,
    SOFT_ANTI_AFFINITY,
    GroupSpec,
    NoValidHost,
    RequestSpec,
    Selection,
)
from emulator.placement.scheduler import Candidate, Scheduler, SchedulerConfig
from emulator.placement.weighers import DEFAULT_WEIGHERS, WEIGHERS, Weigher

__all__ = [
    "AFFINITY", "ANTI_AFFINITY", "DEFAULT_FILTERS", "DEFAULT_WEIGHERS", "DISK_GB", "FILTERS",
    "MEMORY_MB", "NOT_ENOUGH_HOSTS", "RESOURCE_CLASSES", "SOFT_AFFINITY", "SOFT_ANTI_AFFINITY",
    "VCPU", "WEIGHERS", "Candidate", "Conflict", "Decision", "Filter", "GenerationConflict",
    "GroupSpec", "Inventory", "NoValidHost", "Placement", "Provider", "ProviderView", "RequestSpec",
    "Scheduler", "SchedulerConfig", "Selection", "Weigher",
]
