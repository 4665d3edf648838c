"""``nova-emulator bench placement``: the run, from its options (``options``) to figures."""

from __future__ import annotations

import argparse
import json
import sys
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
from emulator.bench.options import INSTALL_HINT, SHIPPED
from emulator.bench.plots import have_matplotlib, write_png
from emulator.bench.replay import Result, replay
from emulator.bench.report import print_summaries, progress_bar
from emulator.bench.summary import summarize
from emulator.bench.trace import Trace, TraceError, read_trace, write_trace
from emulator.config import ConfigError
from emulator.placement.plugins import UnknownPolicy


class BadInput(ValueError):
    """An option or input the run cannot use (one line for the user; exit status 2)."""


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
