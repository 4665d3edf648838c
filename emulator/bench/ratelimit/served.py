"""The served modes: N client threads against emulators over loopback HTTP, each client on
its own keep-alive connection with a real token, sending its arrivals open-loop (a client
whose previous answer is late sends late).

``http``: one emulator (``--url``, or one started with the limit). ``redis``: two emulators
started with ``store`` a Redis URL (``--redis-url``, or a redis-server started here), the
clients split between them. Their project ids differ (each has its own state), so the
limit the load runs into is the route tier's: one allowance for every caller, kept in
Redis. The shared store counts with the ``limits`` library's sliding-window counter, whose
windows start at a key's first request: the first window admits ``value`` at once, each
later one ``value`` as the previous window's weight fades, so T seconds admit rate x T with
no burst term (a Redis run's burst is 0; ``--burst`` does not apply).

A request is admitted when its answer is not 429; the log holds the clients' send times
(the oracle cannot judge it: the server's clock readings are not seen). After the load, the
cost of a 429 against the cheapest 200 on the same server: sequential blocks of a request
refused by a limit of one a day and of the same request matched by no limit, timed by the
client (round trip) and, for an emulator started here, by the server's own CPU time.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.bench.api import Http
from emulator.bench.engine import ReplayFailed
from emulator.bench.ratelimit import spec as specs
from emulator.bench.ratelimit.metrics import Costs, Run
from emulator.bench.ratelimit.oracle import Logged
from emulator.bench.ratelimit.processes import (
    ProcessFailed,
    Served,
    config_toml,
    cpu_seconds,
    emulator,
    redis,
)
from emulator.bench.ratelimit.spec import Spec
from emulator.bench.ratelimit.workload import Limit, client_arrivals
from emulator.ratelimit.rules import RateLimit, Unit

#: The routes the limit applies to: ``GET /limits``, or where it is missing the cheapest
#: authenticated GET (a seeded flavor); ``$``: the same path with a query is not matched.
ROUTES = ("/limits", "/flavors/1")
REGEX = r"/(limits|flavors/1)$"
#: The 429 probe's query: a limit of one a day refuses it (after its first).
REFUSE, REFERENCE = "?bench=refuse", "?bench=reference"
REFUSE_LIMIT = RateLimit(name="bench-refuse", tier="project", value=1, unit=Unit.DAY,
                         verb="GET", regex=r"\?bench=refuse$", uri="*", burst=1)
#: Sequential requests per block of the 429 probe, and blocks of each kind.
BLOCK, BLOCKS = 400, 3


class ServedFailed(RuntimeError):
    """A served run could not be made."""


@dataclass(frozen=True)
class Target:
    """One logged-in caller of one emulator and the request it sends."""

    served: Served
    token: str
    compute: str  # the compute endpoint (no trailing /)
    project_id: str
    user_id: str
    path: str = ROUTES[0]


def login(served: Served, args: argparse.Namespace) -> Target:
    client = Http(timeout=30.0)
    auth = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": args.username, "password": args.password,
            "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": args.project, "domain": {"name": "Default"}}}}}
    try:
        status, body, headers = client.call("POST", f"{served.url}/identity/v3/auth/tokens",
                                            auth)
    finally:
        client.close()
    token = headers.get("X-Subject-Token")
    if status != 201 or token is None:
        raise ServedFailed(f"login as {args.username} at {served.url} failed: {status}")
    compute = next((e["url"] for entry in body["token"]["catalog"] if entry["type"] == "compute"
                    for e in entry["endpoints"] if e["interface"] == "public"), None)
    if compute is None:
        raise ServedFailed(f"the catalog of {served.url} has no compute endpoint")
    return Target(served, token, compute.rstrip("/"), body["token"]["project"]["id"],
                  body["token"]["user"]["id"])


def _get(client: Http, target: Target, query: str = "") -> tuple[int, float, str | None]:
    """(status, round-trip seconds, Retry-After) of one GET of the target's path."""
    client.headers = {"X-Auth-Token": target.token}
    sent = time.perf_counter()
    status, _, headers = client.call("GET", f"{target.compute}{target.path}{query}")
    return status, time.perf_counter() - sent, headers.get("Retry-After")


def routed(target: Target) -> Target:
    """The target with the first of ``ROUTES`` its emulator answers 200 to (asked with the
    reference query: no limit of the run matches it, none is consumed)."""
    client = Http()
    try:
        for path in ROUTES:
            status, _, _ = _get(client, dataclasses.replace(target, path=path), REFERENCE)
            if status == 200:
                return dataclasses.replace(target, path=path)
    finally:
        client.close()
    raise ServedFailed(f"{target.served.url} answers none of {', '.join(ROUTES)} with 200")


def drive(spec: Spec, targets: list[Target], progress: Callable[[float], None],
          ) -> tuple[list[Logged], Costs, Counter[int], list[float]]:
    """Every client's arrivals sent open-loop; client n talks to ``targets[n % len]``.
    Also how late each request was sent (seconds after its arrival time)."""
    schedules = client_arrivals(spec.load, spec.limit)
    log, costs, statuses, late = list[Logged](), Costs(), Counter[int](), list[float]()
    lock = threading.Lock()
    gate = threading.Barrier(spec.load.clients + 1)
    origin: list[float] = []
    failures: list[str] = []

    def client(n: int) -> None:
        target, http = targets[n % len(targets)], Http(timeout=30.0)
        keys = specs.keys(spec, n, target.project_id, target.user_id)
        mine: list[tuple[Logged, float, int]] = []
        behind: list[float] = []
        gate.wait()
        zero = origin[0]
        try:
            for t in schedules[n]:
                delay = zero + t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent = time.monotonic() - zero
                status, spent, retry = _get(http, target)
                mine.append((Logged(sent, keys, status != 429, float(retry or 0)), spent,
                             status))
                behind.append(sent - t)
        except ReplayFailed as exc:
            failures.append(str(exc))
        finally:
            http.close()
        with lock:
            for logged, spent, status in mine:
                log.append(logged)
                costs.add(logged.admitted, spent)
                statuses[status] += 1
            late.extend(behind)

    threads = [threading.Thread(target=client, args=(n,), daemon=True)
               for n in range(spec.load.clients)]
    for thread in threads:
        thread.start()
    origin.append(time.monotonic() + 0.1)
    gate.wait()
    while any(thread.is_alive() for thread in threads):
        progress(min(0.95, (time.monotonic() - origin[0]) / spec.load.duration))
        threads[0].join(0.1)
    if failures:
        raise ServedFailed(failures[0])
    log.sort(key=lambda d: d.t)
    return log, costs, statuses, late


def _median_us(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1e6, 1) if values else None


def refusal_cost(target: Target) -> dict[str, Any]:
    """Sequential blocks of refused (429) and reference (200) requests on one server."""
    http, times = Http(timeout=30.0), {429: list[float](), 200: list[float]()}
    cpu = {429: 0.0, 200: 0.0}
    counted = {429: 0, 200: 0}
    pid = target.served.pid
    try:
        _get(http, target, REFUSE)  # the limit's one a day
        for _ in range(BLOCKS):
            for query, expect in ((REFUSE, 429), (REFERENCE, 200)):
                before = cpu_seconds(pid) if pid else 0.0
                for _ in range(BLOCK):
                    status, spent, _ = _get(http, target, query)
                    if status != expect:  # a limit of --limits matches the reference
                        return {"skipped": f"GET {target.path}{query} answered {status}, "
                                           f"not {expect}"}
                    times[expect].append(spent)
                cpu[expect] += (cpu_seconds(pid) - before) if pid else 0.0
                counted[expect] += BLOCK
    except ReplayFailed as exc:
        raise ServedFailed(str(exc)) from None
    finally:
        http.close()
    rtt = {code: _median_us(values) for code, values in times.items()}
    figures: dict[str, Any] = {
        "route": f"GET {target.path}", "requests_each": counted[429],
        "round_trip_us_429": rtt[429], "round_trip_us_200": rtt[200],
        "round_trip_ratio": round(rtt[429] / rtt[200], 3) if rtt[429] and rtt[200] else None}
    if pid:
        per = {code: cpu[code] / counted[code] for code in cpu}
        figures.update(server_cpu_us_429=round(per[429] * 1e6, 1),
                       server_cpu_us_200=round(per[200] * 1e6, 1),
                       server_cpu_ratio=round(per[429] / per[200], 3) if per[200] else None)
    return figures


@contextmanager
def _emulators(spec: Spec, args: argparse.Namespace, workdir: Path) -> Iterator[list[Served]]:
    limits = [*specs.rate_limits(spec), REFUSE_LIMIT]
    with ExitStack() as stack:
        if args.mode == "http":
            if args.url:
                yield [Served(args.url.rstrip("/"), None)]
                return
            yield [stack.enter_context(emulator(config_toml(limits, "memory"), workdir))]
            return
        store = args.redis_url or stack.enter_context(redis(workdir))
        yield [stack.enter_context(emulator(config_toml(limits, store), workdir, f"emulator-{i}"))
               for i in (1, 2)]


def served_spec(spec: Spec, mode: str) -> Spec:
    """The spec of a served run: its route class; in Redis the route tier binds and there
    is no burst (the sliding-window counter's; see the module's note)."""
    spec = dataclasses.replace(spec, regex=REGEX)
    if mode == "redis":
        limit = Limit(spec.limit.limit, spec.limit.unit_s, 0)
        spec = dataclasses.replace(spec, limit=limit, binding="route")
    return spec


def run_served(spec: Spec, args: argparse.Namespace, progress: Callable[[float], None]) -> Run:
    started = time.perf_counter()
    spec = served_spec(spec, args.mode)
    with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as tmp:
        try:
            with _emulators(spec, args, Path(tmp)) as servers:
                targets = [routed(login(served, args)) for served in servers]
                log, costs, statuses, late = drive(spec, targets, progress)
                refusal: dict[str, Any] = (
                    refusal_cost(targets[0]) if targets[0].served.pid else
                    {"skipped": "--url: the run does not set that emulator's limits"})
        except (ProcessFailed, ReplayFailed) as exc:
            raise ServedFailed(str(exc)) from None
    extra: dict[str, Any] = {
        "emulators": len(targets), "route": f"GET {targets[0].path}",
        "binding_tier": spec.binding, "statuses": dict(sorted(statuses.items())),
        "late_ms_p50": round(1e3 * statistics.median(late), 3) if late else None,
        "late_ms_max": round(1e3 * max(late), 3) if late else None,
        "refusal_cost": refusal}
    if args.mode == "redis":
        extra["store"] = "redis (limits' sliding-window counter: no burst)"
    return Run(args.mode, spec.limit, spec.load, log, costs, span_s=spec.load.duration,
               wall_s=time.perf_counter() - started, cost_of="request", extra=extra,
               judged=False, tiers=specs.oracle_limits(spec))
