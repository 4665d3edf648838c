"""What the scheduler is asked (Nova's ``RequestSpec``, the part placement decisions
read) and what it answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from emulator.errors import EmulatorError

#: Server group policies (``policies`` before 2.64, ``policy`` after).
AFFINITY, ANTI_AFFINITY = "affinity", "anti-affinity"
SOFT_AFFINITY, SOFT_ANTI_AFFINITY = "soft-affinity", "soft-anti-affinity"


@dataclass(frozen=True)
class GroupSpec:
    """A server group as the scheduler needs it."""

    uuid: str
    policy: str
    #: Server ids in the group (placed or not; the new ones included or not).
    members: tuple[str, ...] = ()
    #: 2.64 ``rules``: how many members an anti-affinity group may have on one host.
    max_server_per_host: int | None = None


@dataclass(frozen=True)
class RequestSpec:
    """One create (of one or more servers), resize or unshelve, as placement sees it."""

    #: Per instance: resource class -> amount.
    resources: Mapping[str, int]
    zone: str | None = None
    group: GroupSpec | None = None
    #: Scheduler hints (``same_host``, ``different_host``): server ids.
    same_host: tuple[str, ...] = ()
    different_host: tuple[str, ...] = ()
    flavor_extra_specs: Mapping[str, str] = field(default_factory=dict)
    image_properties: Mapping[str, str] = field(default_factory=dict)
    project_id: str = ""
    #: A host the request is forced onto (``zone:host``: Nova skips the filters there).
    force_host: str | None = None
    #: A host the request asks for (2.74 ``host``, an unshelve's host: filters run).
    requested_host: str | None = None
    #: Hosts not to choose (a resize's own host unless it may stay).
    ignore_hosts: frozenset[str] = frozenset()
    #: Every scheduler hint of the request as given (``query``, ``build_near_host_ip``,
    #: ``cidr``, and any a plug-in filter reads).
    hints: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Selection:
    """Where one consumer of a request went, and the hosts that would have done."""

    consumer: str
    host: str
    alternates: tuple[str, ...] = ()


class NoValidHost(EmulatorError):
    """Nova's ``NoValidHost``: ``No valid host was found. <reason>`` (the reason may be
    empty: Nova then leaves a trailing space)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(f"No valid host was found. {reason}")
        self.reason = reason


#: Nova's reason when fewer hosts passed the filters than instances were asked for.
NOT_ENOUGH_HOSTS = "There are not enough hosts available."
