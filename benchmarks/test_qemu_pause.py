"""Pause and unpause on the QEMU backend against bare QMP ``stop`` / ``cont``.

One server booted to GUEST-READY through the API, and the same guest started by bare
qemu-system (the backend's command line) booted to GUEST-READY beside it. The API figure
is POST pause (202) -> GET shows PAUSED (polled every ``STATUS_POLL``), and unpause ->
ACTIVE; the reference is QMP ``stop`` -> STOP event (``cont`` -> RESUME) on the bare guest,
sampled in the same test, before each API round.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from benchmarks.conftest import RATIOS, record_figure
from benchmarks.qemu_support import (
    READY,
    STATUS_POLL,
    BareGuest,
    QemuCloud,
    bare_guest,
    ms,
    p50,
    p95,
    summary,
)

pytestmark = pytest.mark.qemu

ROUNDS = int(os.environ.get("NOVA_BENCH_QEMU_PAUSES", "20"))
#: bare QMP samples taken before each API round
QMP_PER_ROUND = 3


@pytest.fixture(scope="module")
def cloud(http: httpx.Client) -> Iterator[QemuCloud]:
    cloud = QemuCloud(http)
    try:
        yield cloud
    finally:
        cloud.close()


@pytest.fixture(scope="module")
def server(cloud: QemuCloud) -> str:
    created = cloud.create("pause-me")
    cloud.wait_status(created.server_id, "ACTIVE")
    cloud.wait_console(created.server_id, READY, interval=0.2)
    return created.server_id


@pytest.fixture(scope="module")
def bare(cloud: QemuCloud, server: str) -> Iterator[BareGuest]:
    with bare_guest() as guest:
        guest.copy_command_line(cloud.argv(server), cloud.run_dir / server)
        guest.boot(until=READY)
        yield guest


@dataclass
class Sent:
    """Per timed round: POST -> 202 seconds, and the POST's wall-clock time and request id."""

    answered: list[float] = field(default_factory=list)
    requests: list[tuple[float, str]] = field(default_factory=list)


def _set(cloud: QemuCloud, server: str, action: str, status: str,
         sent: Sent | None = None) -> None:
    wall, started = time.time(), time.perf_counter()
    request_id = cloud.action(server, {action: None})
    if sent is not None:
        sent.answered.append(time.perf_counter() - started)
        sent.requests.append((wall, request_id))
    cloud.wait_status(server, status)


def _api_versus_qmp(benchmark: Any, which: str, api: list[float], qmp: list[float],
                    cloud: QemuCloud, server: str, sent: Sent) -> float:
    verb: list[float] = []
    committed: list[float] = []
    for wall, request_id in sent.requests:
        times = cloud.event_times(server, request_id)
        if times is not None:
            verb.append(times[1] - times[0])
            committed.append(times[1] - wall)
    ratio = p50(api) / p50(qmp)
    benchmark.extra_info.update(api_p50_s=round(p50(api), 4), api_p95_s=round(p95(api), 4),
                                qmp_p50_s=round(p50(qmp), 5), qmp_p95_s=round(p95(qmp), 5),
                                ratio_p50=round(ratio, 1), status_poll_s=STATUS_POLL)
    RATIOS[benchmark.name] = (ratio, f"bare QMP {which} (p50 {ms(p50(qmp))})")
    record_figure(f"API {benchmark.name.removeprefix('test_qemu_')} (status polled every "
                  f"{ms(STATUS_POLL)}): {summary(api)}; bare QMP {which}: {summary(qmp)}")
    record_figure(f"  POST -> 202 {summary(sent.answered)}; POST -> state committed "
                  f"{summary(committed)}; backend verb (instance action event) "
                  f"{summary(verb)}")
    return ratio


def test_qemu_pause(benchmark: Any, cloud: QemuCloud, server: str, bare: BareGuest) -> None:
    """POST pause -> PAUSED, against QMP ``stop`` -> STOP on a bare qemu."""
    qmp: list[float] = []
    sent = Sent()

    def setup() -> None:  # the reference's samples interleaved with the API's
        qmp.extend(bare.stop_cont()[0] for _ in range(QMP_PER_ROUND))
        if cloud.status(server) != "ACTIVE":
            _set(cloud, server, "unpause", "ACTIVE")

    benchmark.pedantic(lambda: _set(cloud, server, "pause", "PAUSED", sent),
                       setup=setup, rounds=ROUNDS, iterations=1)
    api = list(benchmark.stats.stats.data)
    _api_versus_qmp(benchmark, "stop -> STOP", api, qmp, cloud, server, sent)
    assert len(api) == len(sent.requests) == ROUNDS
    assert len(qmp) == ROUNDS * QMP_PER_ROUND


def test_qemu_unpause(benchmark: Any, cloud: QemuCloud, server: str, bare: BareGuest) -> None:
    """POST unpause -> ACTIVE, against QMP ``cont`` -> RESUME on a bare qemu."""
    qmp: list[float] = []
    sent = Sent()

    def setup() -> None:  # the reference's samples interleaved with the API's
        qmp.extend(bare.stop_cont()[1] for _ in range(QMP_PER_ROUND))
        if cloud.status(server) != "PAUSED":
            _set(cloud, server, "pause", "PAUSED")

    benchmark.pedantic(lambda: _set(cloud, server, "unpause", "ACTIVE", sent),
                       setup=setup, rounds=ROUNDS, iterations=1)
    api = list(benchmark.stats.stats.data)
    _api_versus_qmp(benchmark, "cont -> RESUME", api, qmp, cloud, server, sent)
    assert len(api) == len(sent.requests) == ROUNDS
    assert len(qmp) == ROUNDS * QMP_PER_ROUND
