"""What an operation is given besides its row of the transition table: a build's plan
(the outcomes fault rules inject) and the hooks an action runs around its backend verb."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from backends.base import InstanceSpec
from emulator.compute.models import Instance


class Outcome(StrEnum):
    """How a build ends; anything but NORMAL is injected by a fault rule."""

    NORMAL = "normal"
    ERROR = "error"  # land in ERROR with a fault
    STUCK = "stuck"  # stay in BUILD forever
    ACTIVE_THEN_ERROR = "active_then_error"  # go ACTIVE, then fail
    NO_VALID_HOST = "no_valid_host"  # the scheduler finds nothing


@dataclass(frozen=True)
class BuildPlan:
    outcome: Outcome = Outcome.NORMAL
    message: str = "Injected fault"


@dataclass(frozen=True)
class ActionHooks:
    """What one action does around its backend verb, besides the table's states."""

    #: Runs first; a message fails the action before the verb (a claim that does not fit).
    before: Callable[[], str | None] | None = None
    #: The event ``before`` is recorded as (Nova's conductor scheduling a resize:
    #: ``conductor_migrate_server``); None: it belongs to the action's own event.
    before_event: str | None = None
    #: Given the verb's result; returns more columns to commit with the end state.
    after: Callable[[Any], Awaitable[dict[str, Any]]] | None = None
    #: Columns to set when the action fails (e.g. the flavor a failed resize goes back to).
    undo: dict[str, Any] | None = None
    #: Runs when the action fails (e.g. deletes the image a failed snapshot was for).
    cleanup: Callable[[], None] | None = None
    #: What the verb is given, decided once ``before`` has run (a move's destination is
    #: known only then): the instance and more arguments. None: the row's instance.
    call: Callable[[Instance], tuple[InstanceSpec, dict[str, Any]]] | None = None
