"""Traces: every line checked, the first bad one named; what reads back is what was
written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.bench.trace import FLAVORS, Event, TraceError, dump_lines, read_lines, read_trace

GOOD = [
    {"time": 0, "event": "create", "server": "a", "flavor": "m1.small"},
    {"time": 0.5, "event": "create", "server": "b", "group": "g", "policy": "anti-affinity",
     "rules": {"max_server_per_host": 2}, "zone": "nova",
     "resources": {"VCPU": 2, "MEMORY_MB": 4096}, "hints": {"different_host": "a"},
     "extra_specs": {"aggregate_instance_extra_specs:ssd": "true"}},
    {"time": 1, "event": "create", "server": "c", "flavor": "bench.large", "group": "g"},
    {"time": 2, "event": "resize", "server": "a", "flavor": "m1.medium"},
    {"time": 3, "event": "delete", "server": "a"},
    {"time": 3, "event": "create", "server": "a", "flavor": "m1.tiny",
     "hints": {"same_host": ["b", "c"]}},
]


def _lines(*lines: object) -> list[str]:
    return [json.dumps(line) if not isinstance(line, str) else line for line in lines]


def test_a_good_trace_reads_as_its_events() -> None:
    trace = read_lines(_lines(*GOOD, ""), "good")
    assert ["create", "create", "create", "resize", "delete", "create"] == \
        [e.event for e in trace.events]
    a, b, c, resize, _, again = trace.events
    assert {"VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20} == a.resources == FLAVORS["m1.small"]
    assert ("m1.small", "nova") == (a.flavor, b.zone)
    assert {"VCPU": 2, "MEMORY_MB": 4096} == b.resources
    assert {"different_host": ("a",)} == b.hints
    # a group's later members take its policy and rules from its first one
    assert ("anti-affinity", {"max_server_per_host": 2}) == (c.policy, c.rules)
    assert {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40} == resize.resources
    assert {"same_host": ("b", "c")} == again.hints
    assert 3.0 == trace.span
    assert {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 0} == trace.smallest_request()


def test_what_is_written_reads_back_the_same(tmp_path: Path) -> None:
    events = read_lines(_lines(*GOOD)).events
    path = tmp_path / "t.jsonl"
    path.write_text("".join(dump_lines(events)))
    assert events == read_trace(path).events


@pytest.mark.parametrize(("lines", "error"), [
    (["{"], "t:1: not JSON"),
    (["[1]"], "t:1: a line is a JSON object, not list"),
    ([{"time": 0, "event": "boot", "server": "a"}],
     "t:1: event must be one of create, delete, resize, not 'boot'"),
    ([{"time": -1, "event": "delete", "server": "a"}],
     "t:1: time must be a number of seconds >= 0, not -1"),
    ([{"time": True, "event": "delete", "server": "a"}], "t:1: time must be a number"),
    ([{"event": "delete", "server": "a"}], "t:1: a delete needs time"),
    ([{"time": 0, "event": "create", "server": "", "flavor": "m1.tiny"}],
     "t:1: server must be a non-empty string"),
    ([{"time": 0, "event": "create", "server": "a"}],
     "t:1: a create names a flavor or gives resources (one of them)"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny",
       "resources": {"VCPU": 1}}], "t:1: a create names a flavor or gives resources"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m9.huge"}],
     "t:1: unknown flavor 'm9.huge'"),
    ([{"time": 0, "event": "create", "server": "a", "resources": {"GPU": 1}}],
     "t:1: unknown resource class 'GPU' (known: DISK_GB, MEMORY_MB, VCPU)"),
    ([{"time": 0, "event": "create", "server": "a", "resources": {"VCPU": 1.5}}],
     "t:1: resources.VCPU must be an integer >= 0, not 1.5"),
    ([{"time": 0, "event": "create", "server": "a", "resources": {"VCPU": 0}}],
     "t:1: resources must ask for at least one unit of something"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny", "colour": 1}],
     "t:1: unknown field of a create 'colour'"),
    ([{"time": 0, "event": "delete", "server": "a", "flavor": "m1.tiny"}],
     "t:1: unknown field of a delete 'flavor'"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny", "group": "g"}],
     "t:1: group 'g' first appears here: give its policy"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny", "group": "g",
       "policy": "friends"}], "t:1: policy must be one of affinity"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny",
       "policy": "affinity"}], "t:1: a policy needs a group"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny", "group": "g",
       "policy": "affinity", "rules": {"max_server_per_host": 2}}],
     "t:1: rules go with the anti-affinity policy only"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny", "group": "g",
       "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}],
     "t:1: rules.max_server_per_host must be an integer >= 1, not 0"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny",
       "hints": {"query": "[]"}}], "t:1: unknown hint 'query'"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny",
       "hints": {"same_host": []}}], "t:1: hints.same_host must be a server id or a list"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny",
       "extra_specs": {"k": 1}}], "t:1: extra_specs.k must be a string, not 1"),
    # against the lines before
    ([GOOD[0], {"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny"}],
     "t:2: server 'a' is already created"),
    ([GOOD[0], {"time": 0, "event": "create", "server": "b", "flavor": "m1.tiny",
                "hints": {"same_host": ["z"]}}],
     "t:2: hints.same_host names 'z', not created before"),
    ([{"time": 0, "event": "delete", "server": "z"}],
     "t:1: cannot delete server 'z': it was never created"),
    ([GOOD[0], {"time": 1, "event": "delete", "server": "a"},
      {"time": 2, "event": "resize", "server": "a", "flavor": "m1.tiny"}],
     "t:3: cannot resize server 'a': it was deleted"),
    ([{"time": 5, "event": "create", "server": "a", "flavor": "m1.tiny"},
      "", {"time": 4, "event": "delete", "server": "a"}],
     "t:3: time 4 is before the previous event's 5"),
    ([{"time": 0, "event": "create", "server": "a", "flavor": "m1.tiny", "group": "g",
       "policy": "affinity"},
      {"time": 0, "event": "create", "server": "b", "flavor": "m1.tiny", "group": "g",
       "policy": "anti-affinity"}], "t:2: group 'g' has policy affinity"),
    ([], "t: no events"),
])
def test_the_first_bad_line_is_named(lines: list[object], error: str) -> None:
    with pytest.raises(TraceError) as raised:
        read_lines(_lines(*lines), "t")
    assert str(raised.value).startswith(error), str(raised.value)


def test_an_unreadable_file_is_a_trace_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read trace"):
        read_trace(tmp_path / "missing.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe")
    with pytest.raises(TraceError, match="cannot read trace"):
        read_trace(tmp_path / "bin.jsonl")


def test_an_event_writes_only_what_it_has() -> None:
    assert {"time": 1.0, "event": "delete", "server": "a"} == \
        Event(1.0, "delete", "a").to_json()
