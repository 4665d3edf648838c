"""``nova-emulator bench placement``: its options, and the run from options to figures."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console

from emulator.bench.azure import read_vmtable
from emulator.bench.core import core_engine
from emulator.bench.engine import Engine, EngineFactory, ReplayFailed
from emulator.bench.generators import GENERATORS
from emulator.bench.layout import (
    POLICY_SIGNS,
    HostShape,
    Layout,
    Policy,
    make_policy,
    policy_from_config,
)
from emulator.bench.plots import INSTALL_HINT, have_matplotlib, write_png
from emulator.bench.replay import Result, replay
from emulator.bench.report import print_summaries, progress_bar
from emulator.bench.summary import summarize
from emulator.bench.trace import Trace, TraceError, read_trace, write_trace
from emulator.config import ConfigError
from emulator.placement.plugins import UnknownPolicy

#: Traces shipped in ``emulator/bench/traces`` (each made by its generator, seed 1).
SHIPPED = ("steady", "bursty", "churn", "group-heavy")


class BadInput(ValueError):
    """An option or input the run cannot use (one line for the user; exit status 2)."""


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
    """``bench placement`` under ``sub`` (the top parser's subcommands)."""
    bench = sub.add_parser("bench", help="benchmarks of the emulator's parts")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    p = bench_sub.add_parser(
        "placement", help="replay a workload trace against hosts and a scheduling policy",
        description="Replay a workload trace against a host layout and a policy, in "
                    "process (or through a running emulator's API with --via-api).")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--trace", help="a JSONL trace file, or a shipped trace: "
                                        + ", ".join(SHIPPED))
    source.add_argument("--generate", choices=sorted(GENERATORS),
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


# -- from options to inputs -------------------------------------------------------------


def load_trace(args: argparse.Namespace) -> Trace:
    if args.generate:
        events = GENERATORS[args.generate](args.servers, seed=args.seed)
        return Trace(f"{args.generate} (seed {args.seed}, {args.servers} servers)", events)
    if args.azure:
        return read_vmtable(args.azure, limit=args.azure_limit, disk_gb=args.azure_disk_gb)
    path = Path(args.trace)
    if not path.exists() and args.trace in SHIPPED:
        shipped = resources.files("emulator.bench") / "traces" / f"{args.trace}.jsonl"
        with resources.as_file(shipped) as file:
            trace = read_trace(file)
        trace.name = args.trace
        return trace
    if not path.exists():
        raise BadInput(f"no trace {args.trace} (a file, or shipped: {', '.join(SHIPPED)})")
    return read_trace(path)


def build_layout(args: argparse.Namespace) -> Layout:
    zones = args.zones or (("nova", None), ("az2", None))
    counted = sum(n for _, n in zones if n is not None)
    if all(n is not None for _, n in zones):
        if args.hosts is not None and args.hosts != counted:
            raise BadInput(f"--zones has {counted} hosts, --hosts says {args.hosts}")
        sized = tuple((name, n or 0) for name, n in zones)
    else:
        hosts = args.hosts or 50
        free = [name for name, n in zones if n is None]
        left = hosts - counted
        if left < len(free):
            raise BadInput(f"{hosts} hosts do not go round the zones {', '.join(free)}")
        sized = tuple((name, n if n is not None else
                       left // len(free) + (free.index(name) < left % len(free)))
                      for name, n in zones)
    if len({name for name, _ in sized}) != len(sized):
        raise BadInput("--zones names a zone twice")
    cpu, ram, disk = args.allocation_ratios
    shapes = tuple(HostShape(v, m, d, cpu, ram, disk, args.reserved_memory_mb)
                   for v, m, d in args.host_shape or [(32, 131072, 2000)])
    if any(min(s.capacity().values()) <= 0 for s in shapes):
        raise BadInput("a host shape has no capacity of some resource class")
    return Layout(sized, shapes, tuple((n, e) for n, e, _ in args.aggregate),
                  {n: m for n, _, m in args.aggregate})


def check_zones(trace: Trace, layout: Layout) -> None:
    known = {name for name, _ in layout.zones}
    for event in trace.events:
        if event.zone is not None and event.zone not in known:
            raise BadInput(f"the trace asks for zone {event.zone!r}; the hosts are in "
                           f"{', '.join(sorted(known))} (--zones)")


def policies(args: argparse.Namespace) -> list[Policy]:
    """spread or pack (with the filter and weigher options), or an emulator's
    configuration file (its ``[scheduler]`` as it is)."""
    if args.via_api:  # the emulator's [scheduler] decides
        return [Policy("emulator", filters=(), weighers=())]
    filters = [f.strip() for f in args.filters.split(",")] if args.filters else None
    chosen: list[Policy] = []
    for name in args.compare or [args.policy]:
        if name in POLICY_SIGNS:
            chosen.append(make_policy(name, filters, args.weigher,
                                      host_subset_size=args.host_subset_size,
                                      max_placement_results=args.max_placement_results))
        elif Path(name).is_file():
            try:
                chosen.append(policy_from_config(Path(name)))
            except ConfigError as exc:
                raise BadInput(str(exc)) from None
        else:
            raise BadInput(f"unknown policy {name!r} (spread, pack, or an emulator "
                           f"configuration file whose [scheduler] is the policy)")
    return chosen


def engine_for(factory: EngineFactory, layout: Layout, policy: Policy) -> Engine:
    """A fresh engine; a filter or weigher that cannot be found is bad input."""
    try:
        return factory(layout, policy)
    except (UnknownPolicy, ValueError) as exc:
        raise BadInput(f"policy {policy.name}: {exc}") from None


# -- the run ----------------------------------------------------------------------------


@dataclass
class Run:
    result: Result
    summary: dict[str, Any]


def _png_path(path: Path, policy: str, several: bool) -> Path:
    return path.with_name(f"{path.stem}.{policy}{path.suffix}") if several else path


def execute(args: argparse.Namespace, engine: EngineFactory | None = None,
            console: Console | None = None) -> list[Run]:
    """Replay as ``args`` say, print the figures, write what was asked for."""
    out = console or Console()
    err = Console(stderr=True)
    if args.png and not have_matplotlib():
        raise BadInput(f"--png needs matplotlib: {INSTALL_HINT}")
    if args.via_api and args.compare:
        raise BadInput("--compare replays in process; through --via-api the emulator's "
                       "own policy decides")
    if args.via_api and (args.hosts or args.zones or args.aggregate):
        raise BadInput("--via-api reads the hosts and zones from the emulator: --hosts, "
                       "--zones and --aggregate do not apply")
    trace = load_trace(args)
    if args.save_trace:
        write_trace(args.save_trace, trace.events)
    layout = build_layout(args)
    if not args.via_api:
        check_zones(trace, layout)
    runs: list[Run] = []
    for policy in policies(args):
        with progress_bar(len(trace.events), f"{trace.name} {policy.name}", err) as tick:
            if args.via_api:
                from emulator.bench.api import Credentials, replay_via_api

                result = replay_via_api(trace, layout, policy, args.via_api, Credentials(
                    args.username, args.password, args.project), heat=bool(args.png),
                    progress=tick)
            else:
                result = replay(trace, layout, policy,
                                engine_for(engine or core_engine, layout, policy),
                                heat=bool(args.png), progress=tick)
        runs.append(Run(result, summarize(result)))
    print_summaries([r.summary for r in runs], out)
    if args.json:
        body = runs[0].summary if len(runs) == 1 else {"compare": [r.summary for r in runs]}
        args.json.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    if args.png:
        for run in runs:
            write_png(run.result, _png_path(args.png, run.result.policy.name, len(runs) > 1))
    return runs


def run(args: argparse.Namespace, engine: EngineFactory | None = None) -> int:
    """The command: 0 when replayed, 2 on bad input, 1 when a replay through the API
    fails (one line on stderr for both)."""
    try:
        execute(args, engine)
    except (BadInput, TraceError, OSError) as exc:  # OSError: a file to read or write
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 2
    except ReplayFailed as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 1
    return 0
