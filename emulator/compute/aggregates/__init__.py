"""Host aggregates and the availability zones made of them (Nova's ``AggregateAPI``).

``AggregateService`` offers the ``/os-aggregates`` operations, answers the zone of a host
and the zones there are (for server create, unshelve, claims and ``os-availability-zone``),
and gives the scheduler each host's aggregates (``host_aggregates``, ``on_change``).
"""

from emulator.compute.aggregates.records import (
    DEFAULT_ZONE,
    ZONE_KEY,
    AggregateInfo,
    AggregateRecord,
)
from emulator.compute.aggregates.service import AggregateService, ChangeListener

__all__ = ["DEFAULT_ZONE", "ZONE_KEY", "AggregateInfo", "AggregateRecord",
           "AggregateService", "ChangeListener"]
