"""What the aggregates domain hands out: an aggregate as the API shows it, and an
aggregate as the scheduler needs it; both detached from the database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

#: The metadata key that makes an aggregate an availability zone.
ZONE_KEY = "availability_zone"
#: Nova's ``[DEFAULT] default_availability_zone``: the zone of a host in no aggregate
#: with a zone.
DEFAULT_ZONE = "nova"


@dataclass(frozen=True)
class AggregateRecord:
    """One aggregate (Nova's ``objects.Aggregate``)."""

    id: int
    uuid: str
    name: str
    #: In the order they were added.
    hosts: tuple[str, ...]
    metadata: Mapping[str, str] = field(hash=False)
    created_at: datetime
    updated_at: datetime | None

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(ZONE_KEY)


@dataclass(frozen=True)
class AggregateInfo:
    """An aggregate as the scheduler sees it from a host: the placement aggregate
    (``uuid``) and the metadata its filters read (``AggregateInstanceExtraSpecsFilter``,
    ``filter_tenant_id``, the zone)."""

    uuid: str
    name: str
    metadata: Mapping[str, str] = field(hash=False)

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(ZONE_KEY)
