"""``nova-emulator bench placement`` from the command line: the JSON summary and its
schema, the PNG, ``--compare``, the trace sources, and one line with exit status 2 for
every bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from emulator.bench import command
from emulator.bench.summary import SUMMARY_SCHEMA
from emulator.cli import main
from tests.test_bench_replay import DENSITY, TRACE

#: The hand-computed trace's hosts as options.
HAND_LAYOUT = ["--zones", "nova=2,az2=1", "--host-shape", "8,16384,200",
               "--host-shape", "4,32768,200", "--host-shape", "8,12288,200",
               "--allocation-ratios", "1,1,1"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    path = tmp_path / "hand.jsonl"
    path.write_text("\n".join(TRACE) + "\n", encoding="utf-8")
    return path


def _run(*argv: str) -> int:
    return main(["bench", "placement", *argv])


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_summary_follows_its_schema_and_has_the_hand_figures(
        hand: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "summary.json"
    assert 0 == _run("--trace", str(hand), *HAND_LAYOUT, "--json", str(out))
    summary = _json(out)
    jsonschema.validate(summary, SUMMARY_SCHEMA)
    assert DENSITY["spread"] == summary["density"]
    assert ("spread", [["RAMWeigher", 1.0], ["ServerGroupSoftAffinityWeigher", 1.0],
                       ["ServerGroupSoftAntiAffinityWeigher", 1.0]]) == \
        (summary["policy"]["name"], summary["policy"]["weighers"])
    assert {"hosts": 3, "zones": {"nova": 2, "az2": 1}} == \
        {k: summary["layout"][k] for k in ("hosts", "zones")}
    printed = capsys.readouterr().out
    for label in ("decisions/s", "latency p50 / p99 / max", "NoValidHost", "density at peak",
                  "group violations", "No valid host was found."):
        assert label in printed


def test_the_schema_refuses_what_is_not_a_summary(hand: Path, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    assert 0 == _run("--trace", str(hand), *HAND_LAYOUT, "--json", str(out))
    summary = _json(out)
    for broken in ({**summary, "decisions_per_s": "fast"},
                   {k: v for k, v in summary.items() if k != "failures"},
                   {**summary, "density": {"peak": {"used_hosts": -1}, "end": None}},
                   {**summary, "policy": {**summary["policy"], "weighers": [["RAM"]]}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SUMMARY_SCHEMA)


def test_compare_runs_both_policies_on_the_same_trace(
        hand: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, png = tmp_path / "both.json", tmp_path / "both.png"
    assert 0 == _run("--trace", str(hand), *HAND_LAYOUT, "--compare", "spread", "pack",
                     "--json", str(out), "--png", str(png))
    spread, pack = _json(out)["compare"]
    for summary in (spread, pack):
        jsonschema.validate(summary, SUMMARY_SCHEMA)
    assert ("spread", "pack") == (spread["policy"]["name"], pack["policy"]["name"])
    assert (1.0, -1.0) == (spread["policy"]["weighers"][0][1], pack["policy"]["weighers"][0][1])
    assert (DENSITY["spread"], DENSITY["pack"]) == (spread["density"], pack["density"])
    header = next(line for line in capsys.readouterr().out.splitlines() if "spread" in line)
    assert "pack" in header  # side by side
    for name in ("both.spread.png", "both.pack.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)


def test_the_png_is_a_png(tmp_path: Path) -> None:
    png = tmp_path / "steady.png"
    assert 0 == _run("--trace", "steady", "--png", str(png))
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (1100, 800) == (width, height)


@pytest.mark.parametrize("name", command.SHIPPED)
def test_each_shipped_trace_replays(name: str, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert 0 == _run("--trace", name, "--json", str(out))
    summary = _json(out)
    assert name == summary["trace"]["name"]
    assert summary["decisions"]["total"] >= 500
    assert 0 == summary["overcommitted_decisions"] == summary["group_violations"]["count"]


def test_a_generated_trace_is_saved_as_it_was_replayed(tmp_path: Path) -> None:
    saved, out = tmp_path / "churn.jsonl", tmp_path / "s.json"
    assert 0 == _run("--generate", "churn", "--servers", "200", "--seed", "9",
                     "--save-trace", str(saved), "--hosts", "20", "--policy", "pack",
                     "--json", str(out))
    again = tmp_path / "again.json"
    assert 0 == _run("--trace", str(saved), "--hosts", "20", "--policy", "pack",
                     "--json", str(again))
    first, second = _json(out), _json(again)
    for key in ("decisions", "failures", "density", "group_violations"):
        assert first[key] == second[key]
    assert {"creates": 380, "resizes": 42} == \
        {k: first["trace"][k] for k in ("creates", "resizes")}


def test_an_azure_table_replays(tmp_path: Path) -> None:
    """Four VMs of 900 s, created 300 s apart, on two hosts of 81920 MB: at t=600 the
    first three ask 2+4+30 VCPU, 4+8+70 GB, 3 x 10 GB: two hosts' worth of memory."""
    table = tmp_path / "vmtable.csv"
    table.write_text("".join(
        f"vm{i},s,d,{300 * i},{300 * i + 900},1,1,1,Unknown,{c},{m}\n"
        for i, (c, m) in enumerate([("2", "4"), ("4", "8"), (">24", ">64"), ("8", "32")])))
    out = tmp_path / "s.json"
    assert 0 == _run("--azure", str(table), "--azure-disk-gb", "10", "--zones", "nova=2",
                     "--host-shape", "32,81920,100", "--json", str(out))
    summary = _json(out)
    assert {"total": 4, "create": 4, "resize": 0, "placed": 4, "skipped": 0} == \
        summary["decisions"]
    assert {"creates": 4, "deletes": 4, "span_s": 1800.0} == \
        {k: summary["trace"][k] for k in ("creates", "deletes", "span_s")}
    peak = summary["density"]["peak"]
    assert (600.0, 2) == (peak["time"], peak["hosts_needed"])
    assert [36, 83968, 30] == [peak["per_resource_class"][rc]["used"]
                               for rc in ("VCPU", "MEMORY_MB", "DISK_GB")]
    assert 0 == summary["density"]["end"]["used_hosts"]


def test_a_policy_is_an_emulator_configuration_file(
        hand: Path, tmp_path: Path) -> None:
    """``tight.toml``'s [scheduler] weighs RAM negatively and turns the CPU and disk
    weighers off: the hand trace's pack figures."""
    config = tmp_path / "tight.toml"
    config.write_text("[scheduler]\nseed = 3\n[scheduler.weighers]\nRAMWeigher = -1.0\n"
                      "CPUWeigher = 0.0\nDiskWeigher = 0.0\n")
    out = tmp_path / "s.json"
    assert 0 == _run("--trace", str(hand), *HAND_LAYOUT, "--compare", "spread", str(config),
                     "--json", str(out))
    spread, tight = _json(out)["compare"]
    assert "tight" == tight["policy"]["name"]
    assert ["RAMWeigher", -1.0] in tight["policy"]["weighers"]
    assert (DENSITY["spread"], DENSITY["pack"]) == (spread["density"], tight["density"])


def test_aggregates_with_metadata_take_the_requests_that_ask(tmp_path: Path) -> None:
    """Every 4th of 8 hosts (compute-001 and -005) is in the aggregate ``ssd``; the five
    servers asking for it (100 GB each) go there, two a host (200 GB), and the fifth
    fits nowhere; the three others spread over empty hosts."""
    ssd = {"extra_specs": {"aggregate_instance_extra_specs:ssd": "true"}}
    lines = [json.dumps({"time": i, "event": "create", "server": f"s{i}",
                         "resources": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 100},
                         **(ssd if i < 5 else {})}) for i in range(8)]
    trace = tmp_path / "ssd.jsonl"
    trace.write_text("\n".join(lines))
    out = tmp_path / "s.json"
    assert 0 == _run("--trace", str(trace), "--zones", "nova=8", "--host-shape", "8,4096,200",
                     "--aggregate", "ssd=4:ssd=true", "--json", str(out))
    summary = _json(out)
    assert {"count": 1, "create": 1, "resize": 0} == \
        {k: summary["failures"][k] for k in ("count", "create", "resize")}
    assert {"ssd": {"every": 4, "metadata": {"ssd": "true"}}} == \
        summary["layout"]["aggregates"]
    # 4 ssd servers on the 2 ssd hosts (full disks), 3 others spread on the rest
    assert 2 + 3 == summary["density"]["end"]["used_hosts"]


def test_an_unknown_filter_is_bad_input(hand: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    assert 2 == _run("--trace", str(hand), *HAND_LAYOUT, "--filters", "ComputeFilter,Nope")
    err = capsys.readouterr().err
    assert err.startswith("nova-emulator: policy spread: no scheduler policy named 'Nope'")
    assert 1 == len(err.splitlines())


@pytest.mark.parametrize(("argv", "error"), [
    (["--trace", "nowhere.jsonl"], "no trace nowhere.jsonl (a file, or shipped: steady"),
    (["--trace", "{hand}", "--zones", "nova"],
     "the trace asks for zone 'az2'; the hosts are in nova (--zones)"),
    (["--trace", "{hand}", "--zones", "nova=2,az2=1", "--hosts", "5"],
     "--zones has 3 hosts, --hosts says 5"),
    (["--trace", "{hand}", "--zones", "a,b,c", "--hosts", "2"],
     "2 hosts do not go round the zones a, b, c"),
    (["--trace", "{hand}", "--zones", "a=1,a=1"], "--zones names a zone twice"),
    (["--trace", "{hand}", "--compare", "spread", "tight"],
     "unknown policy 'tight' (spread, pack, or an emulator configuration file whose "
     "[scheduler] is the policy)"),
    (["--trace", "{hand}", "--compare", "spread", "pack", "--via-api", "http://x"],
     "--compare replays in process"),
    (["--trace", "{hand}", "--via-api", "http://x", "--hosts", "3"],
     "--via-api reads the hosts and zones from the emulator"),
    (["--trace", "{bad}"], "bad.jsonl:2: unknown flavor 'm9.huge'"),
    (["--trace", "{hand}", "--host-shape", "8,0,10"],
     "a host shape has no capacity of some resource class"),
    (["--trace", "{hand}", "--host-shape", "8,16"],
     "argument --host-shape: '8,16' is not 3 numbers >= 0 separated by commas"),
    (["--trace", "{hand}", "--hosts", "0"], "argument --hosts: '0' is not a whole number"),
    (["--trace", "{hand}", "--weigher", "RAMWeigher"],
     "argument --weigher: 'RAMWeigher' is not NAME=MULTIPLIER"),
    (["--generate", "lumpy"], "argument --generate: invalid choice: 'lumpy'"),
    (["--trace", "{hand}", "--generate", "steady"],
     "argument --generate: not allowed with argument --trace"),
    (["--trace", "{hand}", "--json", "/nonexistent/dir/s.json", "--zones", "nova,az2"],
     "No such file or directory"),
])
def test_bad_input_is_one_line_and_status_2(
        argv: list[str], error: str, hand: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(TRACE[0] + "\n" + json.dumps(
        {"time": 1, "event": "create", "server": "z", "flavor": "m9.huge"}) + "\n")
    try:
        status = _run(*[a.format(hand=hand, bad=bad) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        status = exc.code  # type: ignore[assignment]
    assert 2 == status
    lines = capsys.readouterr().err.strip().splitlines()
    assert 1 == len(lines), lines
    assert lines[0].startswith("nova-emulator") and error in lines[0], lines[0]


def test_png_without_matplotlib_says_how_to_install_it(
        hand: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(command, "have_matplotlib", lambda: False)
    assert 2 == _run("--trace", str(hand), *HAND_LAYOUT, "--png", str(tmp_path / "x.png"))
    assert "nova-emulator: --png needs matplotlib: pip install 'nova-emulator[plots]'\n" \
        == capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
