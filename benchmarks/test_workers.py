"""API workers (issue 17): requests/s and p99 of ``GET /servers/{id}`` and of
``POST`` + ``DELETE /servers`` pairs with 1, 2 and 4 workers on PostgreSQL, against one
process on SQLite in memory, all in one run on the same machine.

The load comes from this process: ``CONNECTIONS`` keep-alive connections on one asyncio
loop, each sending a request as soon as the last answer is read (raw HTTP/1.1, every
status checked): a generator that costs a fraction of a threaded client's CPU, so that
the workers, not the client, are what is measured. Bounded in time (``DURATION`` per
figure) and in servers (one to read, pairs deleted as they go).

Needs ``NOVA_EMULATOR_TEST_DATABASE`` (a PostgreSQL server, as the conformance stage's);
a PNG of the figures is written with matplotlib (the ``plots`` extra).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from benchmarks.conftest import RATIOS, member_of, record_figure
from benchmarks.goals import record_goal
from benchmarks.placement_plots import PLOTS
from conformance.process import NO_QUOTAS, EmulatorProcess
from emulator.testing_databases import scratch_server

#: Seconds each figure is measured over.
DURATION = 5.0
#: Keep-alive connections of the load.
CONNECTIONS = 8
CONFIG = '[[simulated.zones]]\nname = "nova"\nhosts = 100\n' + NO_QUOTAS
#: (state, workers) in the order measured; the first is the SQLite reference.
SETUPS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 4))


@dataclass
class Load:
    """What the connections did: answers and their latencies (seconds)."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                   if line.lower().startswith("content-length:")), 0)
    return status, await reader.readexactly(length) if length else b""


def _request(method: str, path: str, port: int, token: str, body: bytes = b"") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Auth-Token: {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


async def _load(port: int, token: str, server_id: str | None, create: bytes | None) -> Load:
    """``CONNECTIONS`` connections for ``DURATION``: each GETs ``server_id``, or (with
    ``create``) POSTs a server and DELETEs it (one latency per pair)."""
    load = Load()
    stop = time.monotonic() + DURATION
    show = _request("GET", f"/compute/v2.1/servers/{server_id}", port, token)
    post = _request("POST", "/compute/v2.1/servers", port, token, create or b"")

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop:
                began = time.perf_counter()
                if create is None:
                    status, _ = await _exchange(reader, writer, show)
                    assert status == 200, status
                else:
                    status, body = await _exchange(reader, writer, post)
                    assert status == 202, body[:300]
                    made = json.loads(body)["server"]["id"]
                    status, body = await _exchange(reader, writer, _request(
                        "DELETE", f"/compute/v2.1/servers/{made}", port, token))
                    assert status == 204, body[:300]
                load.latencies.append(time.perf_counter() - began)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    load.elapsed = time.perf_counter() - began
    return load


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[tuple[str, str, int], Load]]:
    found: dict[tuple[str, str, int], Load] = {}
    yield found
    _plot(found)


@pytest.mark.parametrize(("state", "workers"), SETUPS, ids=[f"{s}-{w}" for s, w in SETUPS])
def test_workers(benchmark: Any, http: httpx.Client, state: str, workers: int,
                 figures: dict[tuple[str, str, int], Load]) -> None:
    if scratch_server() is None:
        pytest.skip("needs NOVA_EMULATOR_TEST_DATABASE (a PostgreSQL server)")
    with EmulatorProcess(config=CONFIG, state="sqlite://" if state == "sqlite" else None,
                         workers=workers) as emulator:
        member = member_of(emulator, http)
        image = member.request("GET", f"{member.endpoint('image')}/v2/images").json()
        create = json.dumps({"server": {"name": "w", "imageRef": image["images"][0]["id"],
                                        "flavorRef": "42"}}).encode()
        made = member.compute("POST", "/servers", content=create,
                              headers={"Content-Type": "application/json"})
        assert made.status_code == 202, made.text
        server_id = made.json()["server"]["id"]
        deadline = time.monotonic() + 30
        while member.compute("GET", f"/servers/{server_id}").json()["server"][
                "status"] != "ACTIVE":
            assert time.monotonic() < deadline
            time.sleep(0.05)

        def measure() -> None:
            figures["GET", state, workers] = asyncio.run(
                _load(emulator.port, member.token, server_id, None))
            figures["pairs", state, workers] = asyncio.run(
                _load(emulator.port, member.token, None, create))

        benchmark.pedantic(measure, rounds=1, iterations=1)
    for kind in ("GET", "pairs"):
        load = figures[kind, state, workers]
        benchmark.extra_info[kind] = {"rate": round(load.rate, 1),
                                      "p99_ms": round(load.p99_ms, 1)}
        record_figure(f"{kind} {'/servers/{id}' if kind == 'GET' else 'create+delete pairs'}"
                      f", {CONNECTIONS} connections, {state}, {workers} worker(s): "
                      f"{load.rate:.0f}/s, p99 {load.p99_ms:.1f} ms")
    one = figures.get(("GET", "postgresql", 1))
    if state == "postgresql" and workers > 1 and one is not None:
        ratio = figures["GET", state, workers].rate / one.rate
        RATIOS[benchmark.name] = (ratio, f"GET with one worker on PostgreSQL "
                                         f"({one.rate:.0f} req/s)")
        if workers == 2:
            record_goal("workers-2-get", ratio)


def _plot(found: dict[tuple[str, str, int], Load]) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        record_figure("workers plot skipped: matplotlib is not installed")
        return
    setups = [(s, w) for s, w in SETUPS if ("GET", s, w) in found]
    if not setups:
        return
    labels = [f"{s}\n{w} worker{'s' if w > 1 else ''}" for s, w in setups]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, kind, unit in ((axes[0], "GET", "GET /servers/{id} per s"),
                           (axes[1], "pairs", "create+delete pairs per s")):
        bars = ax.bar(labels, [found[kind, s, w].rate for s, w in setups],
                      color=["tab:gray"] + ["tab:blue"] * (len(setups) - 1))
        ax.bar_label(bars, fmt="%.0f")
        ax.set_ylabel(unit)
        ax.set_title(f"{kind}, {CONNECTIONS} connections (p99 ms: " + ", ".join(
            f"{found[kind, s, w].p99_ms:.0f}" for s, w in setups) + ")", fontsize=9)
    fig.tight_layout()
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / "workers.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    record_figure(f"plot: {path}")
