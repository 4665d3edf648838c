"""``--via-api``: the same trace replayed through a running emulator's HTTP API (started
here), the same figures where they apply, and nothing left behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from conformance.process import EmulatorProcess
from emulator.bench.api import Credentials, replay_via_api
from emulator.bench.layout import HostShape, Layout, Policy
from emulator.bench.summary import SUMMARY_SCHEMA, summarize
from emulator.bench.trace import read_lines
from emulator.cli import main

#: Three hosts of 8 VCPU, 16384 MB, 200 GB (ratios 1): two in nova, one in az2.
CONFIG = """
[simulated]
vcpus = 8
memory_mb = 16384
local_gb = 200
cpu_allocation_ratio = 1.0

[[simulated.zones]]
name = "nova"
hosts = 2

[[simulated.zones]]
name = "az2"
hosts = 1

[quota]                 # servers reach the scheduler (the 16-VCPU one: NoValidHost);
instances = -1          # server groups keep Nova's quota of 10
cores = -1
"""
SHAPE = ["--host-shape", "8,16384,200", "--allocation-ratios", "1,1,1"]
TRACE = [json.dumps(line) for line in [
    {"time": 0, "event": "create", "server": "a", "flavor": "m1.small"},
    {"time": 1, "event": "create", "server": "b",
     "resources": {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40},
     "hints": {"different_host": ["a"]}},
    {"time": 2, "event": "create", "server": "c", "flavor": "m1.medium", "zone": "az2"},
    {"time": 3, "event": "create", "server": "big",
     "resources": {"VCPU": 16, "MEMORY_MB": 4096, "DISK_GB": 10}},
    {"time": 4, "event": "resize", "server": "a", "flavor": "m1.medium"},
    {"time": 5, "event": "delete", "server": "b"},
    {"time": 6, "event": "delete", "server": "big"},
]]
#: Anti-affinity over the two hosts of nova: the third member fits nowhere.
GROUP_TRACE = [json.dumps({"time": i, "event": "create", "server": f"g{i}",
                           "flavor": "m1.tiny", "zone": "nova", "group": "g",
                           "policy": "anti-affinity"}) for i in (1, 2, 3)]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(CONFIG) as process:
        yield process


def _admin(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": "admin", "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    token = client.post("/identity/v3/auth/tokens", json=auth).headers["X-Subject-Token"]
    client.headers["X-Auth-Token"] = token
    return client


def _leftovers(url: str) -> tuple[list[str], list[str], list[str]]:
    """Servers, the bench's flavors and server groups left in the emulator."""
    admin = _admin(url)
    try:
        servers = admin.get("/compute/v2.1/servers?all_tenants=1").json()["servers"]
        flavors = admin.get("/compute/v2.1/flavors?is_public=None").json()["flavors"]
        groups = admin.get("/compute/v2.1/os-server-groups?all_projects=1").json()
    finally:
        admin.close()
    return ([s["name"] for s in servers],
            [f["name"] for f in flavors if f["name"].startswith("bench-")],
            [g["name"] for g in groups["server_groups"]])


def test_the_trace_replays_through_the_api(emulator: EmulatorProcess) -> None:
    trace = read_lines(TRACE, "api")
    layout = Layout(shapes=(HostShape(8, 16384, 200, 1.0, 1.0, 1.0),))
    result = replay_via_api(trace, layout, Policy("emulator", (), ()), emulator.url,
                            Credentials("admin", "admin", "admin"))
    hosts = {(kind, server): host for kind, server, host in result.log}
    assert [("create", "a"), ("create", "b"), ("create", "c"), ("create", "big"),
            ("resize", "a")] == list(hosts)
    assert hosts["create", "b"] not in (None, hosts["create", "a"])  # different_host
    assert "compute-003" == hosts["create", "c"]  # the zone az2
    assert hosts["create", "big"] is None  # 16 VCPU fit nowhere
    assert hosts["resize", "a"] not in (None, hosts["create", "a"])  # not its source
    summary = summarize(result)
    jsonschema.validate(summary, SUMMARY_SCHEMA)
    assert {"total": 5, "create": 4, "resize": 1, "placed": 4, "skipped": 1} == \
        summary["decisions"]
    assert {"count": 1, "create": 1, "resize": 0} == \
        {k: summary["failures"][k] for k in ("count", "create", "resize")}
    [reason] = summary["failures"]["reasons"]
    assert reason.startswith("No valid host was found.")
    assert {"nova": 2, "az2": 1} == summary["layout"]["zones"]
    assert {"VCPU": 24, "MEMORY_MB": 49152, "DISK_GB": 600} == summary["layout"]["capacity"]
    end = summary["density"]["end"]  # a (m1.medium) and c (m1.medium): 4/8192/80
    assert [4, 8192, 80] == [end["per_resource_class"][rc]["used"]
                             for rc in ("VCPU", "MEMORY_MB", "DISK_GB")]
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"]
    assert 0 == summary["overcommitted_decisions"] == summary["group_violations"]["count"]
    assert ([], [], []) == _leftovers(emulator.url)


def test_a_server_group_replays_through_the_api(emulator: EmulatorProcess) -> None:
    """The group is made (2.64), its members hinted to it; the third finds no host, and
    the replay's own books see no violation."""
    result = replay_via_api(read_lines(GROUP_TRACE, "group"), Layout(), Policy("emulator"),
                            emulator.url, Credentials("admin", "admin", "admin"))
    summary = summarize(result)
    assert 0 == summary["group_violations"]["count"], result.log
    assert [("create", "g1"), ("create", "g2"), ("create", "g3")] == \
        [(kind, server) for kind, server, _ in result.log]
    assert {"compute-001", "compute-002"} == {host for *_, host in result.log[:2]}
    assert result.log[2][2] is None
    assert 1 == summary["failures"]["count"]
    assert ([], [], []) == _leftovers(emulator.url)


def test_what_the_api_refuses_is_counted_apart(emulator: EmulatorProcess) -> None:
    """Nova's quota of 10 server groups a project: the 11th group is refused, and its
    member is no decision; a resize to a smaller disk is refused too."""
    lines = [json.dumps({"time": i, "event": "create", "server": f"s{i}", "flavor": "m1.tiny",
                         "group": f"g{i}", "policy": "affinity"}) for i in range(11)]
    lines += [json.dumps({"time": 11, "event": "create", "server": "m", "flavor": "m1.medium"}),
              json.dumps({"time": 12, "event": "resize", "server": "m", "flavor": "m1.small"})]
    result = replay_via_api(read_lines(lines, "quota"), Layout(), Policy("emulator"),
                            emulator.url, Credentials("admin", "admin", "admin"))
    summary = summarize(result)
    assert {"total": 11, "create": 11, "resize": 0, "placed": 11, "skipped": 0} == \
        summary["decisions"]
    assert 2 == summary["refused"]["count"]
    quota, disk = summary["refused"]["reasons"]
    assert "server group: 403: Quota exceeded, too many server groups." == quota
    assert disk.startswith("400: ")
    assert [("create", "s10", None), ("resize", "m", None)] == \
        [entry for entry in result.log if entry[2] is None]
    assert ([], [], []) == _leftovers(emulator.url)


def test_the_command_line_replays_via_the_api(
        emulator: EmulatorProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, out = tmp_path / "api.jsonl", tmp_path / "api.json"
    path.write_text("\n".join(TRACE))
    assert 0 == main(["bench", "placement", "--trace", str(path), *SHAPE,
                      "--via-api", emulator.url, "--json", str(out)])
    summary = json.loads(out.read_text())
    jsonschema.validate(summary, SUMMARY_SCHEMA)
    assert (f"api {emulator.url}", "emulator") == (summary["engine"],
                                                   summary["policy"]["name"])
    assert 4 == summary["decisions"]["placed"]
    assert f"api {emulator.url}" in capsys.readouterr().out
    assert ([], [], []) == _leftovers(emulator.url)


def test_an_emulator_nobody_answers_is_one_line_and_status_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "api.jsonl"
    path.write_text("\n".join(TRACE))
    assert 1 == main(["bench", "placement", "--trace", str(path),
                      "--via-api", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert err.startswith("nova-emulator: cannot reach http://127.0.0.1:9/identity/v3/")
    assert 1 == len(err.splitlines())
