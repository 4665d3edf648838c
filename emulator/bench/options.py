"""The options of ``nova-emulator bench placement`` (light to import: every command line
builds the whole parser; ``command`` does the run)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.bench.ratelimit import options as ratelimit

#: Traces shipped in ``emulator/bench/traces`` (each made by its generator, seed 1).
SHIPPED = ("steady", "bursty", "churn", "group-heavy")
#: The generators' names (``emulator.bench.generators.GENERATORS``).
GENERATOR_NAMES = ("steady", "bursty", "churn", "group-heavy")
#: How to get what ``--png`` needs.
INSTALL_HINT = "pip install 'nova-emulator[plots]'"


# -- option values ----------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _numbers(count: int, kind: Callable[[str], Any]) -> Callable[[str], tuple[Any, ...]]:
    def parse(text: str) -> tuple[Any, ...]:
        try:
            values = tuple(kind(part) for part in text.split(","))
        except ValueError:
            values = ()
        if len(values) != count or any(v < 0 for v in values):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {count} numbers >= 0 separated by commas")
        return values
    return parse


def _weigher(text: str) -> tuple[str, float]:
    name, _, multiplier = text.partition("=")
    try:
        return name.strip(), float(multiplier)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=MULTIPLIER") from None


def _zones(text: str) -> tuple[tuple[str, int | None], ...]:
    zones: list[tuple[str, int | None]] = []
    for part in text.split(","):
        name, eq, count = part.partition("=")
        if not name.strip():
            raise argparse.ArgumentTypeError(f"{text!r} names an empty zone")
        zones.append((name.strip(), _positive(count) if eq else None))
    return tuple(zones)


def _aggregate(text: str) -> tuple[str, int, dict[str, str]]:
    head, _, meta = text.partition(":")
    name, eq, every = head.partition("=")
    if not name.strip() or not eq:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=EVERY[:KEY=VALUE,...]")
    metadata = dict(pair.partition("=")[::2] for pair in meta.split(",") if pair)
    return name.strip(), _positive(every), metadata


def add_parser(sub: Any) -> None:
    """``bench placement`` and ``bench ratelimit`` under ``sub`` (the top parser's
    subcommands)."""
    bench = sub.add_parser("bench", help="benchmarks of the emulator's parts")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    p = bench_sub.add_parser(
        "placement", help="replay a workload trace against hosts and a scheduling policy",
        description="Replay a workload trace against a host layout and a policy, in "
                    "process (or through a running emulator's API with --via-api).")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--trace", help="a JSONL trace file, or a shipped trace: "
                                        + ", ".join(SHIPPED))
    source.add_argument("--generate", choices=sorted(GENERATOR_NAMES),
                        help="make a synthetic trace (--servers, --seed)")
    source.add_argument("--azure", type=Path, metavar="VMTABLE",
                        help="the Azure Public Dataset's vmtable.csv (or .csv.gz)")
    p.add_argument("--servers", type=_positive, default=1000, help="--generate: servers "
                                                                     "(default 1000)")
    p.add_argument("--seed", type=int, default=1, help="--generate: seed (default 1)")
    p.add_argument("--azure-limit", type=_positive, help="--azure: read this many VMs")
    p.add_argument("--azure-disk-gb", type=int, default=0,
                   help="--azure: DISK_GB every VM asks (the table has none; default 0)")
    p.add_argument("--save-trace", type=Path, help="write the replayed trace here (JSONL)")
    p.add_argument("--hosts", type=_positive, help="hosts (default 50), split evenly "
                                                   "over --zones")
    p.add_argument("--zones", type=_zones, help="zones as NAME[=HOSTS],... "
                                                "(default nova,az2)")
    p.add_argument("--host-shape", type=_numbers(3, int), action="append",
                   metavar="VCPU,MEMORY_MB,DISK_GB",
                   help="a host's inventory (default 32,131072,2000); given more than "
                        "once, hosts take the shapes in turn")
    p.add_argument("--allocation-ratios", type=_numbers(3, float), default=(4.0, 1.0, 1.0),
                   metavar="CPU,RAM,DISK", help="default 4,1,1")
    p.add_argument("--reserved-memory-mb", type=int, default=0)
    p.add_argument("--aggregate", type=_aggregate, action="append", default=[],
                   metavar="NAME=EVERY[:KEY=VALUE,...]",
                   help="every EVERY-th host in aggregate NAME, with that metadata")
    p.add_argument("--policy", default="spread",
                   help="spread (the RAM weigher's multiplier > 0, the default), pack (< 0), "
                        "or an emulator configuration file: its [scheduler]")
    p.add_argument("--filters", help="spread, pack: the enabled filters, comma-separated, "
                                     "as [scheduler] names them")
    p.add_argument("--weigher", type=_weigher, action="append", default=[],
                   metavar="NAME=MULTIPLIER", help="spread, pack: a weigher and its "
                                                   "multiplier (others: off)")
    p.add_argument("--host-subset-size", type=_positive, default=1)
    p.add_argument("--max-placement-results", type=_positive, default=1000)
    p.add_argument("--compare", nargs=2, metavar=("POLICY_A", "POLICY_B"),
                   help="replay the trace under both policies; print them side by side")
    p.add_argument("--json", type=Path, help="write the summary here")
    p.add_argument("--png", type=Path, help="draw utilisation over time and a host heat "
                                            f"map here (needs {INSTALL_HINT})")
    p.add_argument("--via-api", metavar="URL",
                   help="replay through the HTTP API of the emulator at URL")
    p.add_argument("--username", default="admin", help="--via-api: an admin (default admin)")
    p.add_argument("--password", default="admin")
    p.add_argument("--project", default="admin")
    ratelimit.add_parser(bench_sub)
