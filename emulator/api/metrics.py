"""The emulator's metrics in Prometheus' text format (``GET /_emulator/metrics``), kept by
``prometheus_client`` in a registry of the emulator's own (several emulators in one
process, as the pytest plugin runs them, keep theirs apart).

Counted as requests are answered: requests by service, route template, method and status;
their latency by service and route; the rate limiter's refusals. Read at each scrape: the
live servers by status and host (one grouped count in the database), what the scheduler
has done (its decisions, failures and time deciding), and the backend's hypervisor
processes (QEMU's; the simulated backend has none): how many run on each host, and the CPU
time each instance's has used.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from emulator.compute.claims import SchedulingStats
from emulator.compute.states import status_of

#: The exposition's media type (Prometheus text format 0.0.4).
CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Latency buckets, seconds: a show takes about a millisecond, a page of 1,000 a tenth.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
#: The label of a request no route matched (a 404, a 405, a rate-limit refusal).
UNROUTED = "-"

#: ``servers()``: (vm_state, task_state, host, count) of the live servers.
ServerCounts = Callable[[], list[tuple[str, str | None, str | None, int]]]
#: ``processes()``: (host, instance, CPU seconds) of the backend's hypervisor processes now.
GuestProcesses = Callable[[], Sequence[tuple[str, str, float]]]


class _Cloud(Collector):
    """What the cloud holds and the scheduler did, read when scraped."""

    def __init__(self, servers: ServerCounts, scheduling: SchedulingStats,
                 processes: GuestProcesses) -> None:
        self.servers = servers
        self.scheduling = scheduling
        self.processes = processes

    def collect(self) -> Iterator[Metric]:
        by_status: Tally[tuple[str, str]] = Tally()
        for vm_state, task_state, host, count in self.servers():
            by_status[status_of(vm_state, task_state), host or ""] += count
        servers = GaugeMetricFamily("nova_emulator_servers", "Live servers by API status "
                                    "and host (no host: not placed)", labels=["status", "host"])
        for (status, host), count in sorted(by_status.items()):
            servers.add_metric([status, host], count)
        yield servers
        stats = self.scheduling
        yield CounterMetricFamily("nova_emulator_scheduler_decisions",
                                  "Servers the scheduler placed", value=stats.decisions)
        yield CounterMetricFamily("nova_emulator_scheduler_failures",
                                  "Requests the scheduler found no host for (NoValidHost)",
                                  value=stats.failures)
        yield CounterMetricFamily("nova_emulator_scheduler_decision_seconds",
                                  "Seconds the scheduler spent deciding", value=stats.seconds)
        yield from self._processes()

    def _processes(self) -> Iterator[Metric]:
        processes = sorted(self.processes())
        running = GaugeMetricFamily("nova_emulator_guest_processes", "Hypervisor processes "
                                    "(qemu-system) running guests, by host", labels=["host"])
        for host, count in sorted(Tally(host for host, _, _ in processes).items()):
            running.add_metric([host], count)
        yield running
        cpu = CounterMetricFamily("nova_emulator_guest_cpu_seconds", "CPU time (user + "
                                  "system) of each instance's hypervisor process",
                                  labels=["host", "instance"])
        for host, instance, seconds in processes:
            cpu.add_metric([host, instance], seconds)
        yield cpu


class Metrics:
    def __init__(self, servers: ServerCounts, scheduling: SchedulingStats,
                 processes: GuestProcesses) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "nova_emulator_requests", "HTTP requests answered",
            ["service", "route", "method", "status"], registry=self.registry)
        self.latency = Histogram(
            "nova_emulator_request_duration_seconds", "Time to answer, by route",
            ["service", "route"], buckets=BUCKETS, registry=self.registry)
        self.rejections = Counter(
            "nova_emulator_ratelimit_rejections", "Requests the rate limiter refused (429)",
            ["service"], registry=self.registry)
        self._cloud = _Cloud(servers, scheduling, processes)
        self.registry.register(self._cloud)

    def follow(self, servers: ServerCounts, scheduling: SchedulingStats,
               processes: GuestProcesses) -> None:
        """Read another cloud from now on (one loaded from a snapshot)."""
        cloud = self._cloud
        cloud.servers, cloud.scheduling, cloud.processes = servers, scheduling, processes

    def observe(self, service: str, route: str, method: str, status: int,
                seconds: float) -> None:
        """One request answered."""
        self.requests.labels(service, route, method, str(status)).inc()
        self.latency.labels(service, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
