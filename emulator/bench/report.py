"""Summaries on the terminal (rich): one run, or several side by side, and the progress
bar of a replay."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from emulator.placement import RESOURCE_CLASSES

#: Short names of the resource classes in the tables.
SHORT = {"VCPU": "vcpu", "MEMORY_MB": "ram", "DISK_GB": "disk"}


def _n(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _per_class(snap: dict[str, Any] | None, key: str, fmt: Callable[[Any], str]) -> str:
    if snap is None:
        return "-"
    per = snap["per_resource_class"]
    return "  ".join(f"{SHORT[rc]} {fmt(per[rc][key])}" for rc in RESOURCE_CLASSES)


def _seconds(value: float) -> str:
    return f"{value:,.0f}s" if value >= 1000 else f"{value:g}s"


def _weigher(name: str) -> str:
    """``ServerGroupSoftAffinityWeigher`` -> ``SoftAffinity``."""
    return name.removeprefix("ServerGroup").removesuffix("Weigher") or name


def _density(snap: dict[str, Any] | None) -> str:
    if snap is None:
        return "-"
    return (f"{_n(snap['density'], 3)} ({snap['hosts_needed']} needed / "
            f"{snap['used_hosts']} used, t={_seconds(snap['time'])})")


def rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of every figure shown for one run."""
    trace, decisions, latency = summary["trace"], summary["decisions"], summary["latency_ms"]
    peak, end = summary["density"]["peak"], summary["density"]["end"]
    groups = summary["group_violations"]
    weighers = ", ".join(f"{_weigher(name)} {m:+g}"
                         for name, m in summary["policy"]["weighers"])
    return [
        ("engine", summary["engine"]),
        ("trace", f"{trace['name']}: {trace['creates']} creates, {trace['deletes']} "
                  f"deletes, {trace['resizes']} resizes over {_seconds(trace['span_s'])}"),
        ("hosts", f"{summary['layout']['hosts']} in "
                  + ", ".join(f"{z} ({n})" for z, n in summary["layout"]["zones"].items())),
        ("policy", f"{summary['policy']['name']}: {weighers}"),
        ("decisions", f"{decisions['total']:,} ({decisions['placed']:,} placed)"),
        ("decisions/s", _n(summary["decisions_per_s"])),
        ("latency p50 / p99 / max", f"{_n(latency['p50'], 3)} / {_n(latency['p99'], 3)} / "
                                    f"{_n(latency['max'], 3)} ms"),
        ("NoValidHost", f"{summary['failures']['count']:,}"),
        ("refused", f"{summary['refused']['count']:,}"),
        ("density at peak", _density(peak)),
        ("  per resource class", _per_class(peak, "density", lambda v: _n(v, 3))),
        ("  stranded at peak", _per_class(peak, "stranded_share", _share)),
        ("density at end", _density(end)),
        ("  stranded at end", _per_class(end, "stranded_share", _share)),
        ("group violations", f"{groups['count']} ({groups['soft_misses']} soft misses)"),
        ("overcommitted decisions", str(summary["overcommitted_decisions"])),
        ("replay", f"{summary['replay_s']:.2f}s"),
    ]


def print_summaries(summaries: Sequence[dict[str, Any]], console: Console) -> None:
    """One column per run, then the NoValidHost reasons of each."""
    table = Table(title="nova-emulator bench placement", title_justify="left")
    table.add_column("")
    columns = [dict(rows(s)) for s in summaries]
    for s in summaries:
        table.add_column(s["policy"]["name"], overflow="fold")
    for label, _ in rows(summaries[0]):
        table.add_row(label, *(c[label] for c in columns))
    console.print(table)
    for s in summaries:
        for key, title in (("failures", "NoValidHost"), ("refused", "refused")):
            reasons = s[key]["reasons"]
            if reasons:
                failed = Table(title=f"{title} ({s['policy']['name']})",
                               title_justify="left")
                failed.add_column("count", justify="right")
                failed.add_column("reason", overflow="fold")
                for reason, n in list(reasons.items())[:10]:
                    failed.add_row(f"{n:,}", reason)
                console.print(failed)


@contextmanager
def progress_bar(total: int, label: str, console: Console) -> Iterator[Callable[[int], None]]:
    """A bar on ``console`` (shown on a terminal only); yields ``done -> None``."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)
