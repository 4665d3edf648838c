"""A trivial placement engine for the replay's tests: every host checked in order, the
RAM weigher alone (most free RAM first to spread, least to pack), hard group rules and
hints, ties to the first host by name. Slow and plain on purpose: the figures of a replay
are checked against it, and against the placement core, on traces small enough to
compute by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from emulator.bench.engine import Request, Unplaceable
from emulator.bench.layout import Layout, Policy

NO_HOST = "No valid host was found. There are not enough hosts available."


class FirstFitEngine:
    def __init__(self, layout: Layout, policy: Policy) -> None:
        self.hosts = {h.name: h for h in layout.hosts()}
        self.capacity = {h.name: h.shape.capacity() for h in layout.hosts()}
        self.used: dict[str, dict[str, int]] = {name: {} for name in self.hosts}
        self.held: dict[str, tuple[str, Mapping[str, int]]] = {}
        ram = dict(policy.weighers)["RAMWeigher"]
        self.sign = 1 if ram > 0 else -1

    def _fits(self, host: str, resources: Mapping[str, int]) -> bool:
        used, cap = self.used[host], self.capacity[host]
        return all(used.get(rc, 0) + n <= cap[rc] for rc, n in resources.items())

    def _allowed(self, host: str, request: Request, server: str) -> bool:
        if host in request.ignore_hosts:
            return False
        if request.zone is not None and self.hosts[host].zone != request.zone:
            return False
        if request.same_host and host not in {self.host_of(s) for s in request.same_host}:
            return False
        if host in {self.host_of(s) for s in request.different_host}:
            return False
        group = request.group
        if group is None:
            return True
        others = [self.host_of(m) for m in group.members if m != server]
        placed = [h for h in others if h is not None]
        if group.policy == "anti-affinity":
            return placed.count(host) < (group.max_server_per_host or 1)
        if group.policy == "affinity":
            return not placed or host in placed
        return True

    def host_of(self, consumer: str) -> str | None:
        held = self.held.get(consumer)
        return held[0] if held else None

    def place(self, servers: Sequence[str], request: Request) -> list[str]:
        chosen: list[str] = []
        for server in servers:
            candidates = [h for h in sorted(self.hosts) if self._fits(h, request.resources)
                          and self._allowed(h, request, server)]
            if not candidates:
                for done in chosen:
                    self.release(done)
                raise Unplaceable(NO_HOST)
            free = {h: self.capacity[h]["MEMORY_MB"] - self.used[h].get("MEMORY_MB", 0)
                    for h in candidates}
            host = max(candidates, key=lambda h: (self.sign * free[h], -candidates.index(h)))
            self.hold(server, host, request.resources)
            chosen.append(server)
        return [self.held[s][0] for s in chosen]

    def hold(self, consumer: str, host: str, resources: Mapping[str, int]) -> None:
        assert consumer not in self.held, consumer
        self.held[consumer] = (host, resources)
        for rc, n in resources.items():
            self.used[host][rc] = self.used[host].get(rc, 0) + n

    def release(self, consumer: str) -> None:
        held = self.held.pop(consumer, None)
        if held is not None:
            host, resources = held
            for rc, n in resources.items():
                self.used[host][rc] -= n
