"""Nova's instance quota arithmetic (``nova.compute.utils.check_num_instances_quota``,
``get_headroom``, ``get_over_quota_detail`` and the resize check), on plain numbers: the
caller counts, this decides how many servers fit and words the refusal.

A scope is the limits and the usage of one level: the project, or the user when the user
has a limit of its own. Nova checks the project first; the user's scope is the one a
refusal reports only when the project's limits held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from emulator.errors import OverQuota


@dataclass(frozen=True)
class Scope:
    """The limits (-1: unlimited) and usage of the instance resources at one level."""

    limits: Mapping[str, int]
    usage: Mapping[str, int]


def too_many(overs: list[str], requested: Mapping[str, object], used: Mapping[str, int],
             allowed: Mapping[str, int]) -> OverQuota:
    """Nova's ``TooManyInstances`` text, each part listed in the order of ``overs``."""
    def joined(values: Mapping[str, object]) -> str:
        return ", ".join(str(values[name]) for name in overs)

    names = ", ".join(overs)
    return OverQuota(f"Quota exceeded for {names}: Requested {joined(requested)}, but "
                     f"already used {joined(used)} of {joined(allowed)} {names}")


def over(deltas: Mapping[str, int], project: Scope,
         user: Scope | None) -> tuple[list[str], Scope] | None:
    """The resources ``deltas`` would put over a limit (sorted) and the scope that refused,
    or None (Nova's ``limit_check_project_and_user``: the project, else the user)."""
    overs: list[str] = []
    refusing = project
    for name in sorted(deltas):
        limit = project.limits[name]
        if 0 <= limit < project.usage[name] + deltas[name]:
            overs.append(name)
        elif user is not None and 0 <= user.limits[name] < user.usage[name] + deltas[name]:
            overs.append(name)
            refusing = user
    return (overs, refusing) if overs else None


def headroom(scope: Scope, deltas: Mapping[str, int]) -> dict[str, int]:
    """Nova's ``get_headroom``: limit minus usage; an unlimited cores or RAM takes the
    instances' headroom (scaled to the request).

    NOTE: as Nova, an unlimited ``instances`` gives a negative headroom (-1 minus usage):
    then a refusal for cores or RAM never lets part of a multi-create through.
    """
    room = {name: scope.limits[name] - scope.usage[name] for name in deltas}
    for name in ("cores", "ram"):
        if name in room and scope.limits[name] == -1:
            instances = room.get("instances", 1)
            if deltas.get(name):
                room[name] = instances * deltas[name] // max(deltas.get("instances", 1), 1)
            else:
                room[name] = instances
    return room


def instances_allowed(vcpus: int, memory_mb: int, min_count: int, max_count: int,
                      project: Scope, user: Scope | None) -> int:
    """How many of ``min_count``..``max_count`` servers of a flavor fit (the most that do);
    Nova's 403 ``TooManyInstances`` if not even ``min_count`` does."""
    deltas = {"instances": max_count, "cores": max_count * vcpus, "ram": max_count * memory_mb}
    refused = over(deltas, project, user)
    if refused is None:
        return max_count
    overs, scope = refused
    room = headroom(scope, deltas)
    allowed = room.get("instances", 1)
    if vcpus:
        allowed = min(allowed, room["cores"] // vcpus)
    if memory_mb:
        allowed = min(allowed, room["ram"] // memory_mb)
    if 0 < allowed and min_count <= allowed <= max_count:
        return instances_allowed(vcpus, memory_mb, min_count, allowed, project, user)
    wanted = str(min_count) if min_count == max_count else f"{min_count}-{max_count}"
    requested = {"instances": wanted, "cores": deltas["cores"], "ram": deltas["ram"]}
    used = {name: scope.limits[name] - room[name] for name in overs}
    raise too_many(overs, requested, used, scope.limits)


def recheck_instances(vcpus: int, memory_mb: int, requested: int, project: Scope,
                      user: Scope | None) -> None:
    """Nova's recheck once the servers are recorded (their usage included): a 403 if a
    concurrent create took the room meanwhile, worded as Nova's (``used`` is the limit)."""
    refused = over({"instances": 0, "cores": 0, "ram": 0}, project, user)
    if refused is None:
        return
    overs, scope = refused
    wanted = {"instances": requested, "cores": requested * vcpus, "ram": requested * memory_mb}
    raise too_many(overs, wanted, {name: scope.limits[name] for name in overs}, scope.limits)


def check_upsize(cores: int, ram: int, project: Scope, user: Scope) -> None:
    """Nova's ``_check_quota_for_upsize``: a resize (or the revert of a downsize) adding
    ``cores`` and ``ram`` (each >= 0) must fit; its 403 names the deltas."""
    deltas = {"cores": cores, "ram": ram}
    refused = over(deltas, project, user)
    if refused is None:
        return
    overs, scope = refused
    room = headroom(scope, deltas)
    used = {name: scope.limits[name] - room[name] for name in overs}
    raise too_many(overs, deltas, used, scope.limits)
