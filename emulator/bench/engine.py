"""The seam between a replay and what decides: a placement engine.

A replay asks an ``Engine`` to place servers, to hold resources on a given host (a
resize's migration allocation, a failed resize's way back) and to release them. The
engine of the emulator's placement core is ``core_engine``; tests bring trivial ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from emulator.bench.layout import Layout, Policy


@dataclass(frozen=True)
class GroupRequest:
    """A server group as the scheduler sees it: its members (the one being placed too)."""

    name: str
    policy: str
    members: tuple[str, ...]
    max_server_per_host: int | None = None


@dataclass(frozen=True)
class Request:
    """What one decision asks for, per server."""

    resources: Mapping[str, int]
    zone: str | None = None
    group: GroupRequest | None = None
    same_host: tuple[str, ...] = ()
    different_host: tuple[str, ...] = ()
    extra_specs: Mapping[str, str] = field(default_factory=dict)
    ignore_hosts: frozenset[str] = frozenset()


class Unplaceable(Exception):
    """No host for the request: Nova's NoValidHost, its message as the fault shows it."""


class Refused(Exception):
    """The API refused the request before any decision (a quota, a disk that would
    shrink): not a placement failure; the message says why."""


class ReplayFailed(RuntimeError):
    """A replay could not go on (e.g. the emulator behind ``--via-api`` went away)."""


class Engine(Protocol):
    def place(self, servers: Sequence[str], request: Request) -> list[str]:
        """Decide and claim a host for every server (in order), or for none of them
        (``Unplaceable``)."""

    def hold(self, consumer: str, host: str, resources: Mapping[str, int]) -> None:
        """Claim ``resources`` on ``host`` for ``consumer`` without deciding."""

    def release(self, consumer: str) -> None:
        """Free what ``consumer`` holds (nothing if it holds nothing)."""


#: Builds a fresh engine over every host of a layout, deciding by a policy.
EngineFactory = Callable[[Layout, Policy], Engine]


def migration(server: str) -> str:
    """The consumer that holds a resizing server's old flavor on its source host."""
    return f"migration-{server}"
