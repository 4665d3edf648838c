"""``nova-emulator bench ratelimit``: the admitted count on a virtual clock against a count
made by hand, the oracle catching a wrong decision, and each mode writing its summary and
PNG."""

from __future__ import annotations

import dataclasses
import json
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from emulator.bench.ratelimit import inprocess
from emulator.bench.ratelimit.metrics import summarize, worst_window
from emulator.bench.ratelimit.oracle import Gcra, Logged, replay
from emulator.bench.ratelimit.spec import Spec, oracle_limits
from emulator.bench.ratelimit.spec import keys as spec_keys
from emulator.bench.ratelimit.workload import Limit, Load, arrival_log
from emulator.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REDIS_MISSING = "redis-server is not installed (Debian: apt-get install redis-server)"
#: 10 requests a second, 5 at once; 4 clients offering 5 x that (50/s) for 10 s.
HAND = Spec(Limit(10, 1.0, 5), Load(clients=4, overload=5.0, duration=10.0, pattern="even"))
#: The hand count. The limiter's GCRA admits ``burst`` at once from an idle key, then one
#: every T = 0.1 s: its k-th admission (from 0) is due at t0 + (k + 1 - burst) x T, t0 the
#: first arrival (0.005 s). The even arrivals (one in each 0.02 s step, none on a slot)
#: take each slot within 0.02 s, so every slot before the load ends is used: k = 103 is due
#: at 0.005 + 99 x 0.1 = 9.905 s, k = 104 at 10.005 s, past the 10 s of load. 104
#: admissions (k = 0..103): rate x T + burst - 1, as a half-open span of T seconds gets
#: (a closed one, rate x T + burst).
HAND_ADMITTED = 104
#: The worst 1-s window: the burst (5) and then one per 0.1 s: 5 + 9 = rate x W + burst - 1.
HAND_WORST = 14


@pytest.mark.parametrize("tiers", [1, 3])
def test_a_virtual_run_admits_the_hand_computed_count(tiers: int) -> None:
    spec = dataclasses.replace(HAND, tiers=tiers)
    summary = summarize(inprocess.virtual(spec))
    assert 500 == summary["requests"]["offered"]
    assert HAND_ADMITTED == summary["requests"]["admitted"]
    assert HAND_WORST == summary["worst_window"]["admitted"]
    assert summary["worst_window"]["within"]
    assert 105.0 == summary["admitted"]["expected"]
    assert (0, HAND_ADMITTED) == (summary["oracle"]["disagreements"],
                                  summary["oracle"]["oracle_admitted"])
    assert 0 == summary["oracle"]["retry_after_short"]
    assert summary["retry_after"]["retries"] == summary["retry_after"]["admitted"] > 0


def test_the_arrivals_are_the_offered_load_and_seeded() -> None:
    load = Load(clients=8, overload=5.0, duration=20.0, seed=3)
    limit = Limit(50, 1.0, 5)
    arrivals = arrival_log(load, limit)
    assert arrivals == sorted(arrivals)
    assert {c for _, c in arrivals} == set(range(8))
    assert abs(len(arrivals) - 250 * 20) < 4 * (250 * 20) ** 0.5  # Poisson: within 4 sigma
    assert arrivals == arrival_log(load, limit)
    assert arrivals != arrival_log(dataclasses.replace(load, seed=4), limit)
    onoff = arrival_log(dataclasses.replace(load, pattern="onoff"), limit)
    assert all(t % 2.0 < 1.0 for t, _ in onoff)


def _faulty_log(spec: Spec, wrong_at: int) -> list[Logged]:
    """The exact GCRA's own decisions, but for one refusal it admits (its state then
    follows what it did, as a wrong limiter's would)."""
    gcra, log = Gcra(oracle_limits(spec)), []
    refusals = 0
    for t, client in arrival_log(spec.load, spec.limit):
        keys = spec_keys(spec, client)
        wait = gcra.wait(Fraction(t), keys)
        admitted = wait == 0
        if not admitted:
            refusals += 1
            admitted = refusals == wrong_at
        if admitted:
            gcra.admit(Fraction(t), keys)
        log.append(Logged(t, keys, admitted, 0.0 if admitted else float(wait)))
    return log


def test_the_oracle_counts_a_wrong_decision_once() -> None:
    spec = dataclasses.replace(HAND, load=dataclasses.replace(HAND.load, pattern="poisson"))
    limits = oracle_limits(spec)
    assert 0 == replay(_faulty_log(spec, wrong_at=0), limits).disagreements
    verdict = replay(_faulty_log(spec, wrong_at=40), limits)
    assert (1, 1, 0) == (verdict.disagreements, verdict.wrongly_admitted,
                         verdict.wrongly_refused)
    log = inprocess.virtual(spec).log
    assert 0 == replay(log, limits).disagreements
    refused = next(i for i, d in enumerate(log) if not d.admitted)
    short = list(log)
    short[refused] = dataclasses.replace(log[refused], retry_after=0.0)
    assert 1 == replay(short, limits).retry_after_short


def test_the_worst_window_is_half_open() -> None:
    assert (3, 0.0) == worst_window([0.0, 0.5, 0.99, 1.0, 1.5], 1.0)
    assert (2, 0.0) == worst_window([0.0, 0.5, 1.0], 1.0)
    assert (0, 0.0) == worst_window([], 1.0)


def _bench(*argv: str) -> int:
    return main(["bench", "ratelimit", *argv])


def _outputs(prefix: Path) -> dict[str, Any]:
    assert prefix.with_name(prefix.name + ".png").read_bytes().startswith(PNG_MAGIC)
    summary: dict[str, Any] = json.loads(prefix.with_name(prefix.name + ".json").read_text())
    return summary


def test_the_virtual_mode_writes_its_summary_and_png(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == _bench("--rate", "10", "--burst", "5", "--clients", "4", "--duration", "10",
                       "--pattern", "even", "--out", str(tmp_path / "v"))
    summary = _outputs(tmp_path / "v")
    assert ("virtual", HAND_ADMITTED) == (summary["mode"], summary["requests"]["admitted"])
    assert len(summary["series"]["t"]) == len(summary["series"]["admitted_per_s"])
    printed = capsys.readouterr().out
    for label in ("admitted vs rate x T + burst", "worst 1-s window", "cost per check, 429",
                  "oracle disagreements"):
        assert label in printed


def test_the_real_mode_writes_its_summary_and_png(tmp_path: Path) -> None:
    assert 0 == _bench("--mode", "real", "--rate", "50", "--burst", "5", "--clients", "4",
                       "--duration", "1", "--out", str(tmp_path / "r"))
    summary = _outputs(tmp_path / "r")
    assert "real" == summary["mode"]
    # One second of real time: the count is near 50 + 5 (thread wake-ups are late by ms).
    assert 45 <= summary["requests"]["admitted"] <= 55
    assert summary["worst_window"]["within"]
    assert 0 == summary["oracle"]["disagreements"]


HAND_FILE = """
[ratelimit]
enabled = true

[[ratelimit.limits]]
name = "hand"
tier = "project"
verb = "GET"
regex = "/limits$"
value = 10
unit = "SECOND"
burst = 5

[[ratelimit.limits]]
name = "posts"
tier = "user"
verb = "POST"
value = 1
unit = "MINUTE"
"""


def test_a_limit_file_gives_the_same_hand_count(tmp_path: Path) -> None:
    path = tmp_path / "limits.toml"
    path.write_text(HAND_FILE, encoding="utf-8")
    assert 0 == _bench("--limits", str(path), "--clients", "4", "--duration", "10",
                       "--pattern", "even", "--json", str(tmp_path / "f.json"))
    summary = json.loads((tmp_path / "f.json").read_text())
    assert (10, 5, HAND_ADMITTED) == (summary["limit"]["limit"], summary["limit"]["burst"],
                                      summary["requests"]["admitted"])
    assert 0 == summary["oracle"]["disagreements"]


@pytest.mark.parametrize("text, argv, says", [
    (HAND_FILE.replace('tier = "project"', 'tier = "user"'), [], "no project or route limit"),
    (HAND_FILE.replace('"/limits$"', '"/servers$"'), [], "no project or route limit"),
    (HAND_FILE, ["--rate", "5"], "--rate, --burst and --unit do not apply"),
    (HAND_FILE.replace("value = 10", "value = 0"), [], "value"),
])
def test_a_limit_file_the_run_cannot_use_is_one_line_and_status_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, argv: list[str],
        says: str) -> None:
    path = tmp_path / "limits.toml"
    path.write_text(text, encoding="utf-8")
    assert 2 == _bench("--limits", str(path), *argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert 1 == len(err) and says in err[0], err


@pytest.mark.parametrize("argv", [["--mode", "virtual", "--url", "http://x"],
                                  ["--redis-url", "redis://x"], ["--clients", "0"],
                                  ["--overload", "-1"], ["--tiers", "2"]])
def test_bad_options_are_one_line_and_status_2(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = _bench(*argv)
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    assert 2 == status
    assert 1 == len(capsys.readouterr().err.strip().splitlines())


def test_the_http_mode_writes_its_summary_and_png(tmp_path: Path) -> None:
    """An emulator started with the limit, 4 clients for 1 s, then the 429 probe."""
    assert 0 == _bench("--mode", "http", "--rate", "20", "--burst", "5", "--clients", "4",
                       "--duration", "1", "--out", str(tmp_path / "h"))
    summary = _outputs(tmp_path / "h")
    assert ("http", False) == (summary["mode"], summary["oracle"]["judged"])
    statuses = summary["extra"]["statuses"]
    assert {"200", "429"} == set(statuses)  # JSON keys
    assert statuses["200"] == summary["requests"]["admitted"]
    # 1 s of 20/s plus the burst of 5, give or take the real clock's edges.
    assert 20 <= summary["requests"]["admitted"] <= 26
    refusal = summary["extra"]["refusal_cost"]
    assert refusal["server_cpu_us_429"] > 0 and refusal["server_cpu_us_200"] > 0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason=REDIS_MISSING)
def test_the_redis_mode_writes_its_summary_and_png(tmp_path: Path) -> None:
    """Two emulators sharing a redis-server started for the run, 4 clients for 1 s."""
    assert 0 == _bench("--mode", "redis", "--rate", "20", "--clients", "4", "--duration", "1",
                       "--out", str(tmp_path / "d"))
    summary = _outputs(tmp_path / "d")
    assert ("redis", 2, "route") == (summary["mode"], summary["extra"]["emulators"],
                                     summary["extra"]["binding_tier"])
    assert {"200", "429"} == set(summary["extra"]["statuses"])
    # The sliding-window counter: 20 in the first second, no burst beyond.
    assert 18 <= summary["requests"]["admitted"] <= 22


def test_a_missing_redis_server_is_one_line_and_status_1(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert 1 == _bench("--mode", "redis", "--duration", "1")
    err = capsys.readouterr().err.strip().splitlines()
    assert 1 == len(err) and "redis-server is not installed" in err[0]
