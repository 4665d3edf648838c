"""Fault rules as data: matching, precedence, ``times``, and the build plans they give (to
a server create, with the facts of the request that makes it)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from emulator.compute.create import NewServer
from emulator.compute.plans import BuildPlan, Outcome
from emulator.context import RequestContext
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


# -- plan_for: build rules at a server create, with the request's facts ------------------

OWNER = RequestContext(user_id="u1", project_id="p1", roles=frozenset({"member", "reader"}))
DOOMED = NewServer(name="doomed-1", flavor_ref="1", metadata={"tier": "web"})


def test_plan_for_without_rules_is_a_normal_build() -> None:
    assert FaultRules().plan_for(OWNER, DOOMED) is None


def test_plan_for_matches_the_server_being_created() -> None:
    rules = FaultRules()
    rules.add(Match(server_name="^doomed", metadata={"tier": "web"}, project_id="p1"),
              Build(Outcome.STUCK))
    assert rules.plan_for(OWNER, replace(DOOMED, name="fine")) is None
    assert rules.plan_for(OWNER, replace(DOOMED, metadata={"tier": "db"})) is None
    other = RequestContext(user_id="u2", project_id="p2", roles=frozenset({"member"}))
    assert rules.plan_for(other, DOOMED) is None
    assert rules.plan_for(OWNER, DOOMED) == BuildPlan(Outcome.STUCK)


def test_plan_for_outside_a_request_assumes_a_create_at_2_1() -> None:
    rules = FaultRules()
    rules.add(Match(min_version=(2, 2)), Build(Outcome.ERROR, "new"))
    rules.add(Match(method="POST", path="^/servers$", max_version=(2, 1)),
              Build(Outcome.ERROR, "old"))
    assert rules.plan_for(OWNER, DOOMED) == BuildPlan(Outcome.ERROR, "old")


def test_plan_for_uses_the_facts_of_the_request_it_runs_in() -> None:
    rules = FaultRules()
    rule = rules.add(Match(project_id="p1", server_name="^doomed", metadata={"tier": "web"},
                           min_version=(2, 47)), Build(Outcome.STUCK))
    # The request's facts give method, path and version; the project and the server's
    # name and metadata are the create's own, whatever the facts said.
    facts = replace(CREATE, project_id="someone-else", server_name="x", metadata={})
    with rules.facts_of(facts):
        with rules.facts_of(replace(facts, version=(2, 1))):
            assert rules.plan_for(OWNER, DOOMED) is None  # the inner block's version
        assert rules.plan_for(OWNER, DOOMED) == BuildPlan(Outcome.STUCK)
    assert rule.hits == 1
    # Outside the block, the defaults again (2.1): the rule does not match.
    assert rules.plan_for(OWNER, DOOMED) is None


def test_facts_of_are_per_task() -> None:
    """Two requests in flight at once each match with their own facts."""
    rules = FaultRules()
    rules.add(Match(min_version=(2, 47)), Build(Outcome.STUCK))

    async def both() -> list[BuildPlan | None]:
        barrier = asyncio.Barrier(2)

        async def request(version: tuple[int, int]) -> BuildPlan | None:
            with rules.facts_of(replace(CREATE, version=version)):
                await barrier.wait()  # both blocks are open
                plan = rules.plan_for(OWNER, DOOMED)
                await barrier.wait()  # and neither closes before both have planned
                return plan

        return list(await asyncio.gather(request((2, 47)), request((2, 1))))

    assert asyncio.run(both()) == [BuildPlan(Outcome.STUCK), None]
