"""Plots of the placement benchmarks, written at the end of the run (matplotlib, the
optional extra ``plots``): decisions/s against hosts (core and reference, S1) and density
per scenario (S2). Without matplotlib each plot is skipped with a printed line; the
benchmarks run all the same.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where the PNGs go (``NOVA_BENCH_PLOTS`` overrides; the default is gitignored).
PLOTS = Path(os.environ.get("NOVA_BENCH_PLOTS", Path(__file__).parent / "plots"))

#: S1: hosts -> (core decisions/s, reference decisions/s).
THROUGHPUT: dict[int, tuple[float, float]] = {}
#: S2: scenario -> (density, its goal).
DENSITY: dict[str, tuple[float, float]] = {}


def write() -> list[str]:
    """Write the plots this run has data for; one line per plot (where, or why not)."""
    if not THROUGHPUT and not DENSITY:
        return []
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ["plots skipped: matplotlib is not installed (pip install -e '.[plots]')"]
    PLOTS.mkdir(parents=True, exist_ok=True)
    lines = []
    if THROUGHPUT:
        hosts = sorted(THROUGHPUT)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(hosts, [THROUGHPUT[h][0] for h in hosts], "o-", label="placement core")
        ax.plot(hosts, [THROUGHPUT[h][1] for h in hosts], "s--",
                label="Nova-style reference (HostState per host)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("hosts")
        ax.set_ylabel("decisions / s")
        ax.set_title("S1: placement throughput (one core, in process)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        path = PLOTS / "s1_decisions_per_second.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        lines.append(f"plot: {path}")
    if DENSITY:
        names = list(DENSITY)
        fig, ax = plt.subplots(figsize=(6, 4))
        bars = ax.bar(names, [DENSITY[n][0] for n in names], color="tab:blue")
        ax.scatter(names, [DENSITY[n][1] for n in names], marker="_", s=900, color="tab:red",
                   label="goal", zorder=3)
        ax.bar_label(bars, fmt="%.3f")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("density (lower bound / hosts used)")
        ax.set_title("S2: packing density, pack policy")
        ax.legend(loc="lower right")
        path = PLOTS / "s2_density.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        lines.append(f"plot: {path}")
    return lines
