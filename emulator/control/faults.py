"""Fault rules: what the control plane injects into compute requests and builds. No HTTP.

A rule is data: a ``Match`` (every given criterion must hold) and one action.

| action | acts | effect |
|---|---|---|
| ``Fail(status)`` | before the handler | answered with that fault, nothing done |
| ``Fail(status, create=True)`` | after the handler | done (the server exists), then failed |
| ``Latency(seconds)`` | before the handler | waits that long (wall clock) first |
| ``Build(outcome)`` | at a server create | the build ends as ``outcome`` |
| ``Hang()`` | in a server action's background work | the action is accepted and its server
  stays in its task state (``rebooting``, ``resize_migrating``, ...): the backend is never
  asked; a delete, ``resetState`` or a reset ends it |

``times`` limits a rule to its next N applications, after which it is gone; None keeps
it until it is deleted. Rules are tried in the order they were added: every matching
latency applies, the first matching failure and the first matching build win.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from emulator.compute.create import NewServer
from emulator.compute.plans import BuildPlan, Outcome
from emulator.context import RequestContext
from emulator.errors import InvalidInput, NotFound
from emulator.ids import new_uuid

#: A compute microversion as (major, minor).
Version = tuple[int, int]


@dataclass(frozen=True)
class RequestFacts:
    """What a rule can match about one compute request."""

    method: str
    #: The path after ``/v2.1``, without the optional project id: ``/servers/<id>``.
    path: str
    project_id: str | None
    version: Version
    #: The server the request creates, updates or names in its path, when known.
    server_name: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """Criteria on a request; None (or empty) means "any"."""

    method: str | None = None
    #: Regular expressions, searched (anchor them with ``^``/``$`` for whole matches).
    path: str | None = None
    project_id: str | None = None
    server_name: str | None = None
    #: Every pair must be in the server's metadata.
    metadata: Mapping[str, str] = field(default_factory=dict)
    min_version: Version | None = None
    max_version: Version | None = None

    def __post_init__(self) -> None:
        for name in ("path", "server_name"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise InvalidInput(f"Invalid regular expression in {name}: {exc}") from None
        if self.min_version and self.max_version and self.min_version > self.max_version:
            raise InvalidInput("min_version must not be greater than max_version")

    @property
    def needs_server(self) -> bool:
        """True if matching needs the server's name or metadata."""
        return self.server_name is not None or bool(self.metadata)


Matcher = Callable[[Match, RequestFacts], bool]


def _method(m: Match, f: RequestFacts) -> bool:
    return m.method is None or m.method.upper() == f.method.upper()


def _path(m: Match, f: RequestFacts) -> bool:
    return m.path is None or re.search(m.path, f.path) is not None


def _project(m: Match, f: RequestFacts) -> bool:
    return m.project_id is None or m.project_id == f.project_id


def _server_name(m: Match, f: RequestFacts) -> bool:
    return m.server_name is None or (
        f.server_name is not None and re.search(m.server_name, f.server_name) is not None)


def _metadata(m: Match, f: RequestFacts) -> bool:
    return all(f.metadata.get(key) == value for key, value in m.metadata.items())


def _versions(m: Match, f: RequestFacts) -> bool:
    return (m.min_version is None or f.version >= m.min_version) and (
        m.max_version is None or f.version <= m.max_version)


#: Every criterion of a ``Match``, one small function each.
MATCHERS: tuple[Matcher, ...] = (_method, _path, _project, _server_name, _metadata, _versions)


def matches(match: Match, facts: RequestFacts) -> bool:
    return all(check(match, facts) for check in MATCHERS)


#: Longest latency a rule may add (seconds).
MAX_LATENCY = 300.0


@dataclass(frozen=True)
class Fail:
    status: int
    message: str | None = None
    #: Carry the request out first (the server is created), then answer with the fault.
    create: bool = False

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise InvalidInput("fail status must be between 400 and 599")


@dataclass(frozen=True)
class Latency:
    seconds: float

    def __post_init__(self) -> None:
        if not 0 <= self.seconds <= MAX_LATENCY:
            raise InvalidInput(f"latency must be between 0 and {MAX_LATENCY} seconds")


@dataclass(frozen=True)
class Build:
    outcome: Outcome
    message: str = BuildPlan.message

    def __post_init__(self) -> None:
        if self.outcome is Outcome.NORMAL:
            raise InvalidInput("a build rule needs an outcome other than normal")


@dataclass(frozen=True)
class Hang:
    """A server action that never finishes (its task state stays)."""


Action = Fail | Latency | Build | Hang


@dataclass
class Rule:
    id: str
    match: Match
    action: Action
    #: Applications left; None: until deleted.
    remaining: int | None
    created_at: datetime
    hits: int = 0


#: The current compute request's facts, for ``FaultRules.plan_for`` (which sees only the
#: domain's view of a create). Each request runs in its own task, hence its own context.
_FACTS: ContextVar[RequestFacts | None] = ContextVar("nova_emulator_request_facts",
                                                      default=None)


class FaultRules:
    """The rules in force, in the order they were added (kept in memory only)."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        #: Told how many rules there are after each change (API workers publish it).
        self.on_change: Callable[[int], None] | None = None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(len(self._rules))

    def __bool__(self) -> bool:
        return bool(self._rules)

    def add(self, match: Match, action: Action, times: int | None = None) -> Rule:
        if times is not None and times < 1:
            raise InvalidInput("times must be at least 1")
        rule = Rule(id=new_uuid(), match=match, action=action, remaining=times,
                    created_at=datetime.now(UTC))
        self._rules[rule.id] = rule
        self._changed()
        return rule

    def all(self) -> list[Rule]:
        return list(self._rules.values())

    def get(self, rule_id: str) -> Rule:
        try:
            return self._rules[rule_id]
        except KeyError:
            raise NotFound(f"Fault rule {rule_id} could not be found.") from None

    def delete(self, rule_id: str) -> None:
        self.get(rule_id)
        del self._rules[rule_id]
        self._changed()

    def clear(self) -> None:
        self._rules.clear()
        self._changed()

    @property
    def needs_server(self) -> bool:
        return any(r.match.needs_server for r in self._rules.values())

    def matching(self, facts: RequestFacts,
                 kind: type[Fail] | type[Latency] | type[Build] | type[Hang]) -> list[Rule]:
        """Rules with an action of ``kind`` that match ``facts`` (none is used up yet)."""
        return [r for r in self._rules.values()
                if isinstance(r.action, kind) and matches(r.match, facts)]

    def fire(self, rule: Rule) -> bool:
        """Count one application of ``rule``; False if it expired or was deleted meanwhile."""
        if self._rules.get(rule.id) is not rule:
            return False
        rule.hits += 1
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                del self._rules[rule.id]
                self._changed()
        return True

    @contextmanager
    def facts_of(self, facts: RequestFacts) -> Iterator[None]:
        """While the block runs (one request's handler, in its own task), ``plan_for``
        matches build rules against ``facts``."""
        token = _FACTS.set(facts)
        try:
            yield
        finally:
            _FACTS.reset(token)

    def plan_for(self, ctx: RequestContext, new: NewServer) -> BuildPlan | None:
        """The build plan a server create gets from the rules (None: a normal build), from
        the facts of the request that makes it (``facts_of``) and of the server itself."""
        if not self:
            return None
        facts = _FACTS.get() or RequestFacts(method="POST", path="/servers",
                                             project_id=ctx.project_id, version=(2, 1))
        facts = replace(facts, project_id=ctx.project_id, server_name=new.name,
                        metadata=dict(new.metadata))
        return self.build_plan(facts)

    def hangs(self) -> bool:
        """Whether the action the current request started hangs (a matching ``Hang`` rule,
        used up by one). Asked in the action's background task, whose context is the
        request's (``facts_of``)."""
        facts = _FACTS.get()
        if facts is None or not self:
            return False
        return any(self.fire(rule) for rule in self.matching(facts, Hang)[:1])

    def build_plan(self, facts: RequestFacts) -> BuildPlan | None:
        """The plan of the first matching build rule (used up by one), else None."""
        for rule in self.matching(facts, Build):
            assert isinstance(rule.action, Build)
            if self.fire(rule):
                return BuildPlan(outcome=rule.action.outcome, message=rule.action.message)
        return None
