"""Nova's rules for availability zones made of aggregates (``AggregateAPI`` in
``nova/compute/api.py``): a host is in one zone at most, and a host with servers does not
change zone. Each rule answers the reason it refuses, or None; ``refusal`` words it as
the operation's fault does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from emulator.compute.aggregates.records import ZONE_KEY, AggregateRecord
from emulator.errors import Conflict, EmulatorError, InvalidInput

#: Operation -> (Nova's ``InvalidAggregateAction*`` message, the error its handler makes
#: of it). NOTE: Nova words a refused delete and a refused host removal alike
#: ("Cannot remove host from aggregate"), and answers 409 for the host actions but 400
#: for the others.
REFUSALS: dict[str, tuple[str, type[EmulatorError]]] = {
    "add_host": ("Cannot add host to aggregate {id}. Reason: {reason}.", Conflict),
    "remove_host": ("Cannot remove host from aggregate {id}. Reason: {reason}.", Conflict),
    "delete": ("Cannot remove host from aggregate {id}. Reason: {reason}.", InvalidInput),
    "update": ("Cannot update aggregate {id}. Reason: {reason}.", InvalidInput),
    "set_metadata": ("Cannot update metadata of aggregate {id}. Reason: {reason}.",
                     InvalidInput),
}

_MOVE = ("The host cannot be {verb} the aggregate as the availability zone of the host "
         "would change from '{old}' to '{new}' but the host already has {count} "
         "instance(s). Changing the AZ of an existing instance is not supported by this "
         "action. Move the instances away from this host then try again. If you need to "
         "move the instances between AZs then you can use shelve_offload and unshelve to "
         "achieve this.")


def refusal(operation: str, aggregate_id: int, reason: str) -> EmulatorError:
    template, error = REFUSALS[operation]
    return error(template.format(id=aggregate_id, reason=reason))


#: (aggregate id, its zone) of every aggregate with a zone holding one of some hosts.
ZonedAggregates = Iterable[tuple[int, str]]


def zone_change_refused(metadata: Mapping[str, str | None], aggregate: AggregateRecord,
                        zoned: ZonedAggregates, instances: Callable[[], int] | None = None,
                        ) -> str | None:
    """Nova's ``is_safe_to_update_az``: ``metadata`` about to apply to ``aggregate`` (or
    to hosts joining it) may not empty its zone, nor put a host in a second zone
    (``zoned``: the aggregates with a zone holding those hosts), nor, when ``instances``
    counts the servers on them, move servers to another zone."""
    if ZONE_KEY not in metadata:
        return None
    zone = metadata[ZONE_KEY]
    if not zone:
        return f"Aggregate {aggregate.name} does not support empty named availability zone"
    conflicting = [az for agg_id, az in zoned if az != zone and agg_id != aggregate.id]
    if conflicting:
        return f"One or more hosts already in availability zone(s) {conflicting}"
    if instances is not None and aggregate.availability_zone != zone and instances():
        return "One or more hosts contain instances in this zone"
    return None


def host_move_refused(joining: bool, aggregate: AggregateRecord, zoned: ZonedAggregates,
                      instances: int) -> str | None:
    """Nova's ``ensure_no_instances_need_to_move_az_when_host_{added,removed}``: a host
    with ``instances`` servers may join or leave ``aggregate`` only if its zone stays the
    same (``zoned``: the aggregates with a zone the host is in, ``aggregate`` included if
    it is a member)."""
    zone = aggregate.availability_zone
    if not instances or not zone:
        return None
    others = {az for agg_id, az in zoned if joining or agg_id != aggregate.id}
    # NOTE: at most one zone, or a host would be in two (refused before it gets here).
    before = next(iter(others), None)
    old, new = (before, zone) if joining else (zone, before)
    if old == new:
        return None
    verb = "added to" if joining else "removed from"
    return _MOVE.format(verb=verb, old=old, new=new, count=instances)
