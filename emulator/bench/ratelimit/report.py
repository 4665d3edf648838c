"""The summary of a run on the terminal (rich) and its PNG: admitted against offered rate
over time, with the configured rate (matplotlib, the optional extra ``plots``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table


@contextmanager
def progress_bar(label: str, console: Console) -> Iterator[Callable[[float], None]]:
    """A bar on ``console`` (shown on a terminal only); yields ``fraction done -> None``."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=1.0)
        yield lambda fraction: bar.update(task, completed=fraction)


def _us(figures: dict[str, float | None]) -> str:
    if figures["p50"] is None:
        return "-"
    return f"p50 {figures['p50']:,.2f} / mean {figures['mean']:,.2f} / p99 {figures['p99']:,.2f} µs"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.4%}"


def _oracle(oracle: dict[str, Any]) -> str:
    if not oracle["judged"]:
        return "not judged (the server's clock readings are not seen through HTTP)"
    return (f"{oracle['disagreements']:,} of {oracle['decisions']:,} "
            f"({_share(oracle['share'])}); it admits {oracle['oracle_admitted']:,}")


def rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of every figure of one run."""
    limit, load, requests = summary["limit"], summary["load"], summary["requests"]
    admitted, window = summary["admitted"], summary["worst_window"]
    cost, retry = summary["cost_us"], summary["retry_after"]
    verdict = "within" if window["within"] else "OVER"
    lines = [
        ("mode", summary["mode"]),
        ("limit", f"{limit['limit']:,} per {limit['unit_s']:g} s, burst {limit['burst']:,} "
                  f"({limit['rate_per_s']:,.3f}/s)"),
        ("load", f"{load['clients']} clients, {load['pattern']}, {load['overload']:g} x = "
                 f"{load['offered_per_s']:,.1f}/s for {load['duration_s']:g} s "
                 f"(seed {load['seed']})"),
        ("requests", f"{requests['offered']:,} offered, {requests['admitted']:,} admitted, "
                     f"{requests['refused']:,} refused"),
        ("admitted vs rate x T + burst", f"{requests['admitted']:,} vs "
                                         f"{admitted['expected']:,.1f} ({admitted['error']:+.3%}, "
                                         f"T = {admitted['span_s']:.3f} s)"),
        ("admitted rate vs configured", f"{admitted['rate_per_s']:,.3f}/s vs "
                                        f"{admitted['configured_per_s']:,.3f}/s"),
        (f"worst {window['window_s']:g}-s window", f"{window['admitted']:,} vs rate x W + burst "
                                                   f"{window['bound']:,.1f}: {verdict} (from "
                                                   f"t = {window['start_s']:.3f} s)"),
        (f"cost per {cost['of']}", _us(cost["all"])),
        (f"cost per {cost['of']}, admitted", _us(cost["admitted"])),
        (f"cost per {cost['of']}, 429", _us(cost["refused"])),
        ("oracle disagreements", _oracle(summary["oracle"])),
    ]
    if summary["oracle"]["judged"]:
        lines.append(("Retry-After shorter than exact",
                      f"{summary['oracle']['retry_after_short']:,}"))
    if retry["retries"]:
        lines.append(("retry at Retry-After admitted", f"{retry['admitted']:,} of "
                                                       f"{retry['retries']:,} "
                                                       f"({_share(retry['share'])})"))
    for key, value in summary["extra"].items():
        if isinstance(value, dict) and key != "statuses":
            lines.append((key.replace("_", " "), ""))
            lines += [(f"  {k.replace('_', ' ')}", str(v)) for k, v in value.items()]
        else:
            lines.append((key.replace("_", " "), str(value)))
    lines.append(("wall clock", f"{summary['wall_s']:.2f} s"))
    return lines


def print_summary(summary: dict[str, Any], console: Console) -> None:
    table = Table(title="nova-emulator bench ratelimit", title_justify="left")
    table.add_column("")
    table.add_column(summary["mode"], overflow="fold")
    for label, value in rows(summary):
        table.add_row(label, value)
    console.print(table)


def write_png(summary: dict[str, Any], path: Path) -> None:
    """Offered and admitted rate per bin over the run, the configured rate dashed."""
    from matplotlib.figure import Figure

    series, limit, load = summary["series"], summary["limit"], summary["load"]
    figure = Figure(figsize=(10, 5), layout="constrained")
    axes = figure.subplots()
    axes.step(series["t"], series["offered_per_s"], where="post", label="offered",
              color="tab:grey")
    axes.step(series["t"], series["admitted_per_s"], where="post", label="admitted",
              color="tab:blue")
    axes.axhline(limit["rate_per_s"], linestyle="--", color="tab:red",
                 label=f"configured {limit['rate_per_s']:g}/s")
    clock = "virtual" if summary["mode"] == "virtual" else "real"
    axes.set_xlabel(f"seconds ({clock} clock; bins of {series['bin_s'][0]:.3g} s)")
    axes.set_ylabel("requests / s")
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper right", fontsize="small")
    axes.set_title(f"bench ratelimit, {summary['mode']}: {load['clients']} clients at "
                   f"{load['overload']:g} x, admitted {summary['requests']['admitted']:,} vs "
                   f"{summary['admitted']['expected']:,.0f} expected "
                   f"({summary['admitted']['error']:+.2%})")
    figure.savefig(path, format="png", dpi=100)
