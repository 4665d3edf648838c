"""Fault rules as data: matching, precedence, ``times``, and the build plans they give."""

from __future__ import annotations

from dataclasses import replace

import pytest

from emulator.compute.lifecycle import BuildPlan, Outcome
from emulator.control.faults import (
    Build,
    Fail,
    FaultRules,
    Latency,
    Match,
    RequestFacts,
    matches,
)
from emulator.errors import InvalidInput, NotFound

CREATE = RequestFacts(method="POST", path="/servers", project_id="p1", version=(2, 47),
                      server_name="doomed-1", metadata={"tier": "web", "env": "ci"})


@pytest.mark.parametrize(("match", "expected"), [
    (Match(), True),
    (Match(method="POST"), True),
    (Match(method="post"), True),
    (Match(method="GET"), False),
    (Match(path="^/servers$"), True),
    (Match(path="servers"), True),  # searched, not anchored
    (Match(path="^/servers/"), False),
    (Match(project_id="p1"), True),
    (Match(project_id="p2"), False),
    (Match(server_name="^doomed"), True),
    (Match(server_name="^fine"), False),
    (Match(metadata={"tier": "web"}), True),
    (Match(metadata={"tier": "web", "env": "ci"}), True),
    (Match(metadata={"tier": "db"}), False),
    (Match(metadata={"owner": "x"}), False),
    (Match(min_version=(2, 47)), True),
    (Match(min_version=(2, 48)), False),
    (Match(max_version=(2, 47)), True),
    (Match(max_version=(2, 9)), False),
    (Match(min_version=(2, 1), max_version=(2, 100)), True),
    (Match(method="POST", server_name="^doomed", project_id="p2"), False),
])
def test_every_given_criterion_must_hold(match: Match, expected: bool) -> None:
    assert matches(match, CREATE) is expected


def test_a_name_criterion_needs_a_named_server() -> None:
    anonymous = replace(CREATE, server_name=None, metadata={})
    assert not matches(Match(server_name="."), anonymous)
    assert not matches(Match(metadata={"tier": "web"}), anonymous)
    assert Match(server_name="x").needs_server and Match(metadata={"a": "b"}).needs_server
    assert not Match(path="x").needs_server


@pytest.mark.parametrize("make", [
    lambda: Match(path="("),
    lambda: Match(server_name="[a-"),
    lambda: Match(min_version=(2, 50), max_version=(2, 10)),
    lambda: Fail(status=302),
    lambda: Fail(status=600),
    lambda: Latency(-1.0),
    lambda: Latency(301.0),
    lambda: Build(Outcome.NORMAL),
])
def test_invalid_rules_are_invalid_input(make: object) -> None:
    with pytest.raises(InvalidInput):
        make()  # type: ignore[operator]


def test_times_used_up_removes_the_rule() -> None:
    rules = FaultRules()
    rule = rules.add(Match(), Fail(503), times=2)
    assert rules.fire(rule) and rule.remaining == 1 and rule.hits == 1
    assert rules.get(rule.id) is rule
    assert rules.fire(rule)
    assert rules.all() == [] and not rules
    assert not rules.fire(rule)  # already gone
    with pytest.raises(NotFound):
        rules.get(rule.id)


def test_unlimited_rules_stay_until_deleted() -> None:
    rules = FaultRules()
    rule = rules.add(Match(), Latency(0.1))
    for _ in range(5):
        assert rules.fire(rule)
    assert rule.hits == 5 and rule.remaining is None and rules.all() == [rule]
    rules.delete(rule.id)
    assert rules.all() == []
    with pytest.raises(NotFound):
        rules.delete(rule.id)
    with pytest.raises(InvalidInput):
        rules.add(Match(), Latency(0.1), times=0)


def test_matching_is_by_kind_in_the_order_added() -> None:
    rules = FaultRules()
    slow = rules.add(Match(), Latency(1.0))
    first = rules.add(Match(method="POST"), Fail(500))
    second = rules.add(Match(), Fail(503))
    rules.add(Match(method="GET"), Fail(404))
    build = rules.add(Match(), Build(Outcome.STUCK))
    assert rules.matching(CREATE, Fail) == [first, second]
    assert rules.matching(CREATE, Latency) == [slow]
    assert rules.matching(CREATE, Build) == [build]
    rules.clear()
    assert rules.matching(CREATE, Fail) == []


def test_build_plan_takes_the_first_matching_build_rule_once() -> None:
    rules = FaultRules()
    rules.add(Match(server_name="^other"), Build(Outcome.STUCK))
    rules.add(Match(server_name="^doomed"), Build(Outcome.ERROR, "boom"), times=1)
    rules.add(Match(), Build(Outcome.NO_VALID_HOST))
    assert rules.build_plan(CREATE) == BuildPlan(Outcome.ERROR, "boom")
    assert rules.build_plan(CREATE) == BuildPlan(Outcome.NO_VALID_HOST, "Injected fault")
    assert rules.build_plan(replace(CREATE, server_name="other-1")) == BuildPlan(Outcome.STUCK)
    assert FaultRules().build_plan(CREATE) is None
