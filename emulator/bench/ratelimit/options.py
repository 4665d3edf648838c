"""The options of ``nova-emulator bench ratelimit`` (light to import: every command line
builds the whole parser; ``command`` does the run)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: The modes, in the order of the help.
MODES = ("virtual", "real", "http", "redis")
#: The patterns of arrivals (``workload.PATTERN_NAMES``).
PATTERNS = ("poisson", "even", "onoff")
#: Units a limit may have (Nova's legacy limiter's, as ``[ratelimit]`` takes them).
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
#: Defaults that differ between in-process and served (HTTP, Redis) runs.
IN_PROCESS = {"rate": 100, "burst": 10, "duration": 60.0}
SERVED = {"rate": 20, "burst": 5, "duration": 10.0}


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0")
        return value
    return parse


def add_parser(bench_sub: Any) -> None:
    """``bench ratelimit`` under ``bench_sub`` (the ``bench`` command's subcommands)."""
    p = bench_sub.add_parser(
        "ratelimit", help="drive the rate limiter with N clients at an overload",
        description="Drive the rate limiter with N concurrent clients offering an overload "
                    "of its limit, and report the admitted rate against the configured one, "
                    "the worst window, the cost of a check and of a 429, and the "
                    "disagreements with an exact GCRA oracle.")
    p.add_argument("--mode", choices=MODES, default="virtual",
                   help="virtual: in process on a virtual clock (default); real: in "
                        "process, a thread per client, real clock; http: through an "
                        "emulator's API (--url, or one started for the run); redis: two "
                        "emulators sharing a Redis store (--redis-url, or a redis-server "
                        "started for the run)")
    p.add_argument("--clients", type=_positive(int), default=64, help="default 64")
    p.add_argument("--overload", type=_positive(float), default=5.0,
                   help="offered load as a multiple of the limit's rate (default 5)")
    p.add_argument("--rate", type=_positive(int),
                   help=f"requests per --unit (default {IN_PROCESS['rate']} in process, "
                        f"{SERVED['rate']} served)")
    p.add_argument("--burst", type=_positive(int),
                   help="requests an idle key admits at once (default "
                        f"{IN_PROCESS['burst']} in process, {SERVED['burst']} through HTTP; "
                        "redis: none, the shared store has no burst)")
    p.add_argument("--unit", choices=tuple(UNITS), help="of --rate (default second)")
    p.add_argument("--limits", type=Path, metavar="FILE",
                   help="the limits of an emulator configuration file's [ratelimit] instead "
                        "of --rate/--burst/--unit: all of them are the limiter's, the load "
                        "runs into the lowest rate of the project and route limits matching "
                        "GET /compute/v2.1/limits")
    p.add_argument("--tiers", type=int, choices=(1, 3), default=3,
                   help="3 (default): project, user and route limits on every request, the "
                        "project's binding; 1: the project limit alone")
    p.add_argument("--duration", type=_positive(float),
                   help=f"seconds of load (default {IN_PROCESS['duration']:g} in process, "
                        f"{SERVED['duration']:g} served)")
    p.add_argument("--pattern", choices=PATTERNS, default="poisson",
                   help="arrivals: poisson (default), even (evenly spread), onoff (2 s "
                        "periods: twice the load, then silence)")
    p.add_argument("--seed", type=int, default=1, help="default 1")
    p.add_argument("--window", type=_positive(float), default=1.0,
                   help="seconds of the window whose worst admitted count is reported")
    p.add_argument("--out", type=Path, metavar="PREFIX",
                   help="write PREFIX.json (the summary) and PREFIX.png (admitted vs offered "
                        "rate over time)")
    p.add_argument("--json", type=Path, help="write the summary here")
    p.add_argument("--png", type=Path, help="draw admitted vs offered rate here (needs "
                                            "pip install 'nova-emulator[plots]')")
    p.add_argument("--url", help="http: the emulator to drive (its limits as configured "
                                 "there: give --rate/--burst/--unit as they are); default: "
                                 "start one with the limit")
    p.add_argument("--redis-url", help="redis: the Redis store (default: start redis-server)")
    p.add_argument("--username", default="demo", help="http with --url: the clients' user "
                                                      "(default demo)")
    p.add_argument("--password", default="demo")
    p.add_argument("--project", default="demo")


def resolved(args: argparse.Namespace) -> dict[str, Any]:
    """The defaults of the mode filled in: rate, burst, duration."""
    defaults = IN_PROCESS if args.mode in ("virtual", "real") else SERVED
    return {key: getattr(args, key) if getattr(args, key) is not None else value
            for key, value in defaults.items()}
