"""``nova-emulator bench ratelimit``: the run, from its options (``options``) to figures."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from emulator.bench.plots import have_matplotlib
from emulator.bench.ratelimit.metrics import Run, summarize
from emulator.bench.ratelimit.options import UNITS, resolved
from emulator.bench.ratelimit.report import print_summary, progress_bar, write_png
from emulator.bench.ratelimit.spec import Spec, as_limit, read_limits
from emulator.bench.ratelimit.workload import Limit, Load

#: What ``--png`` needs.
INSTALL_HINT = "pip install 'nova-emulator[plots]'"


class BadInput(ValueError):
    """An option the run cannot use (one line for the user; exit status 2)."""


class RunFailed(RuntimeError):
    """The run could not be made (an emulator or Redis would not start, a login failed)."""


Mode = Callable[[Spec, argparse.Namespace, Callable[[float], None]], Run]


def _virtual(spec: Spec, _: argparse.Namespace, progress: Callable[[float], None]) -> Run:
    from emulator.bench.ratelimit.inprocess import virtual

    return virtual(spec, progress)


def _real(spec: Spec, _: argparse.Namespace, progress: Callable[[float], None]) -> Run:
    from emulator.bench.ratelimit.inprocess import real

    return real(spec, progress)


def _served(spec: Spec, args: argparse.Namespace, progress: Callable[[float], None]) -> Run:
    from emulator.bench.ratelimit.served import ServedFailed, run_served

    try:
        return run_served(spec, args, progress)
    except ServedFailed as exc:
        raise RunFailed(str(exc)) from None


MODES: dict[str, Mode] = {"virtual": _virtual, "real": _real, "http": _served,
                          "redis": _served}


def spec_from(args: argparse.Namespace) -> Spec:
    figures = resolved(args)
    load = Load(args.clients, args.overload, figures["duration"], args.seed, args.pattern)
    if args.limits is None:
        limit = Limit(figures["rate"], float(UNITS[args.unit or "second"]), figures["burst"])
        return Spec(limit, load, args.tiers, args.window)
    if args.rate is not None or args.burst is not None or args.unit is not None:
        raise BadInput("--limits gives the limits: --rate, --burst and --unit do not apply")
    try:
        given, binding = read_limits(args.limits)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return Spec(as_limit(binding), load, window=args.window, binding=binding.tier,
                given=given)


def outputs(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """Where the summary and the PNG go (``--json``/``--png`` win over ``--out``)."""
    prefix: Path | None = args.out
    json_path = args.json or (prefix.with_name(prefix.name + ".json") if prefix else None)
    png_path = args.png or (prefix.with_name(prefix.name + ".png") if prefix else None)
    return json_path, png_path


def execute(args: argparse.Namespace, console: Console | None = None) -> dict[str, Any]:
    """Run as ``args`` say, print the figures, write what was asked for; the summary."""
    out = console or Console()
    json_path, png_path = outputs(args)
    if png_path and not have_matplotlib():
        raise BadInput(f"a PNG needs matplotlib: {INSTALL_HINT}")
    if args.mode != "http" and args.url:
        raise BadInput("--url is for --mode http")
    if args.mode != "redis" and args.redis_url:
        raise BadInput("--redis-url is for --mode redis")
    spec = spec_from(args)
    with progress_bar(f"ratelimit {args.mode}", Console(stderr=True)) as tick:
        run = MODES[args.mode](spec, args, tick)
    summary = summarize(run, spec.window)
    print_summary(summary, out)
    if json_path:
        json_path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    if png_path:
        write_png(summary, png_path)
    return summary


def run(args: argparse.Namespace) -> int:
    """The command: 0 when run, 2 on bad input, 1 when the run could not be made."""
    try:
        execute(args)
    except (BadInput, OSError) as exc:  # OSError: a file to write
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 2
    except RunFailed as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 1
    return 0
