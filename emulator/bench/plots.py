"""The PNG of a replay: utilisation over time, and a heat map of every host over time
(its fullest resource class's share). matplotlib is the optional extra ``plots``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from emulator.bench.replay import Result
from emulator.placement import RESOURCE_CLASSES

#: The heat map shows at most this many rows (hosts averaged in runs beyond it).
MAX_ROWS = 1000


def have_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def write_png(result: Result, path: Path) -> None:
    """Draw ``result`` (replayed with ``heat=True``) into the PNG file ``path``."""
    import numpy as np
    from matplotlib.figure import Figure

    series = result.series
    figure = Figure(figsize=(11, 8), layout="constrained")
    over_time, heat_map = figure.subplots(2, 1, height_ratios=(1, 1.4))
    hosts = result.layout.count
    for rc in RESOURCE_CLASSES:
        over_time.step(series.time, [100 * u for u in series.used[rc]], where="post",
                       label=rc)
    over_time.step(series.time, [100 * n / hosts for n in series.used_hosts], where="post",
                   label="hosts used", linestyle="--", color="grey")
    over_time.set_ylabel("% of the cloud")
    over_time.set_ylim(0, 100)
    over_time.legend(loc="upper left", fontsize="small")
    over_time.set_title(f"{result.trace.name} on {hosts} hosts, {result.policy.name}: "
                        f"utilisation over time")
    cells = np.array(series.heat, dtype=np.float32).T if series.heat else \
        np.zeros((hosts, 1), dtype=np.float32)  # hosts x samples, % used
    if cells.shape[0] > MAX_ROWS:
        run = -(-cells.shape[0] // MAX_ROWS)
        padded = np.pad(cells, ((0, -cells.shape[0] % run), (0, 0)), constant_values=np.nan)
        cells = np.nanmean(padded.reshape(-1, run, cells.shape[1]), axis=1)
    # A sample is the state after an event, until the next sample.
    edges = np.array([*series.time, series.time[-1]] if series.time else [0.0, 1.0])
    rows = np.linspace(0, hosts, cells.shape[0] + 1)
    image = heat_map.pcolormesh(edges, rows, cells, cmap="viridis", vmin=0, vmax=100)
    heat_map.set_xlabel("trace time (s)")
    heat_map.set_ylabel("host")
    heat_map.set_title("hosts over time: the fullest resource class, % used")
    figure.colorbar(image, ax=heat_map, label="% used")
    figure.savefig(path, format="png", dpi=100)
