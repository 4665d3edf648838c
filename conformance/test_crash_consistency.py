"""Crash consistency: clients create, act on and delete servers while the emulator is
killed (SIGKILL: no shutdown, no flush) at random moments, then restarted on its durable
state (a SQLite file, or a PostgreSQL database in the conformance-postgresql stage).

After every restart, once the cloud has recovered:
- every acknowledged create (a 202 with its id) exists unless its delete was acknowledged,
  and every acknowledged delete (a 204) is gone: nothing acknowledged is lost;
- no server stays in a task state or in BUILD: recovery re-drives or ends what the kill
  cut short, and each server shows a status Nova shows;
- the quota usage counts exactly the project's servers (instances, cores, RAM), never
  above its limit; each host's placement usage (the hypervisors' ``vcpus_used`` and
  ``memory_mb_used``) is exactly what the servers on it hold.
A request in flight at the kill has no answer (or, through a follower worker whose leader
died under it, a 503): either outcome is allowed for it.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conformance.bios_image import boot_image
from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.process import EmulatorProcess

#: Kills per backend, and the clients' threads: 15 on the simulated cloud (each stage of
#: CI that runs it on a durable state: SQLite, then PostgreSQL, is 15 kills); a few on
#: QEMU, where every create is a real guest booting under TCG.
KILLS = {"simulated": 15, "qemu": 3}
CLIENTS = 3
#: How long the clients run before a kill: uniform in this window (seconds).
RUN_BEFORE_KILL = (0.3, 1.5)
#: Statuses a settled server may show (Nova's status map, no transitional one).
SETTLED = {"ACTIVE", "SHUTOFF", "ERROR", "PAUSED", "SUSPENDED", "SHELVED",
           "SHELVED_OFFLOADED", "SOFT_DELETED", "RESCUE", "VERIFY_RESIZE"}
FLAVOR = "1"  # m1.tiny: 1 vCPU, 512 MB


@dataclass
class Ledger:
    """What the emulator acknowledged, across every life of it."""

    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    #: Deletes whose answer was lost (to a kill): those servers may be gone.
    deleting: set[str] = field(default_factory=set)
    acted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def live(self) -> list[str]:
        with self.lock:
            return sorted(self.created - self.deleted)


def _client_loop(session: ApiSession, image: str, ledger: Ledger, stop: threading.Event,
                 seed: int) -> None:
    """Random creates, power actions and deletes until ``stop`` (or the emulator dies)."""
    rng = random.Random(seed)
    while not stop.is_set():
        live = ledger.live()
        choice = rng.random()
        try:
            if choice < 0.4 or not live:
                answer = session.compute("POST", "/servers", json={"server": {
                    "name": f"crash-{rng.randrange(10**6)}", "imageRef": image,
                    "flavorRef": FLAVOR, "networks": "none"}}, version="2.37")
                if answer.status_code == 202:
                    with ledger.lock:
                        ledger.created.add(answer.json()["server"]["id"])
            elif choice < 0.65:
                victim = rng.choice(live)
                try:
                    status = session.compute("DELETE", f"/servers/{victim}").status_code
                except httpx.HTTPError:
                    with ledger.lock:  # no answer: it may be gone
                        ledger.deleting.add(victim)
                    raise
                with ledger.lock:
                    if status >= 500:
                        # a follower whose leader died under the forwarded delete (503):
                        # no answer, and the delete may have begun
                        ledger.deleting.add(victim)
                    # a 404 is a delete in doubt (another client's) that happened
                    elif status == 204 or (status == 404 and victim in ledger.deleting):
                        ledger.deleted.add(victim)
            else:
                action = rng.choice([{"os-stop": None}, {"os-start": None},
                                     {"reboot": {"type": "SOFT"}}])
                answer = session.compute("POST", f"/servers/{rng.choice(live)}/action",
                                         json=action)
                if answer.status_code == 202:
                    with ledger.lock:
                        ledger.acted += 1
        except (httpx.HTTPError, KeyError, ValueError):
            # The emulator was killed under this request (or answered nothing usable):
            # unacknowledged, either outcome is allowed.
            time.sleep(0.05)


def _wait_settled(admin: ApiSession, timeout: float) -> list[dict[str, Any]]:
    """Every server of every project once none is in a task state or BUILD."""
    deadline = time.monotonic() + timeout
    while True:
        servers: list[dict[str, Any]] = admin.compute(
            "GET", "/servers/detail?all_tenants=1", version="2.1").json()["servers"]
        busy = [(s["id"], s["status"], s["OS-EXT-STS:task_state"]) for s in servers
                if s["OS-EXT-STS:task_state"] is not None or s["status"] == "BUILD"]
        if not busy:
            return servers
        assert time.monotonic() < deadline, f"stuck after the restart: {busy}"
        time.sleep(0.2)


def _check(admin: ApiSession, member: ApiSession, ledger: Ledger, life: int,
           timeout: float, idle: dict[str, tuple[int, int]]) -> dict[str, int]:
    """The invariants (see the module); ``idle``: each host's usage with no server (its
    reserved memory)."""
    servers = _wait_settled(admin, timeout)
    where = f"after kill {life}"
    by_id = {s["id"]: s for s in servers}
    for server in servers:
        assert server["status"] in SETTLED, (where, server["id"], server["status"])
    lost = [sid for sid in ledger.created - ledger.deleted - ledger.deleting
            if sid not in by_id]
    assert not lost, f"{where}: acknowledged creates lost: {lost}"
    kept = [sid for sid in ledger.deleted if sid in by_id]
    assert not kept, f"{where}: acknowledged deletes still there: {kept}"
    with ledger.lock:  # what a delete in flight at the kill removed is gone for good
        ledger.deleted |= {sid for sid in ledger.deleting if sid not in by_id}
        ledger.deleting &= set(by_id)
    for sid in sorted(ledger.created - ledger.deleted)[:3]:  # as their owner sees them
        assert member.compute("GET", f"/servers/{sid}").status_code == 200, (where, sid)

    mine = [s for s in servers if s["tenant_id"] == member.project_id]
    quota = admin.compute("GET", f"/os-quota-sets/{member.project_id}/detail").json()[
        "quota_set"]
    flavor = admin.compute("GET", f"/flavors/{FLAVOR}").json()["flavor"]
    expected = {"instances": len(mine), "cores": len(mine) * flavor["vcpus"],
                "ram": len(mine) * flavor["ram"]}
    for name, used in expected.items():
        assert quota[name]["in_use"] == used, (where, name, quota[name], used)
        limit = quota[name]["limit"]
        assert limit < 0 or used <= limit, (where, name, used, limit)

    on_host: dict[str, int] = {}
    for server in servers:
        host = server.get("OS-EXT-SRV-ATTR:hypervisor_hostname")
        if host and server["status"] != "SHELVED_OFFLOADED":
            on_host[host] = on_host.get(host, 0) + 1
    for host, used in _usage(admin).items():
        count = on_host.get(host, 0)
        assert used == (count * flavor["vcpus"], idle[host][1] + count * flavor["ram"]), (
            where, host, used, count)
    return {"servers": len(servers), "mine": len(mine)}


def _usage(admin: ApiSession) -> dict[str, tuple[int, int]]:
    """Each host's (vcpus_used, memory_mb_used), from placement's usage."""
    hypervisors = admin.compute("GET", "/os-hypervisors/detail", version="2.1").json()[
        "hypervisors"]
    return {h["hypervisor_hostname"]: (h["vcpus_used"], h["memory_mb_used"])
            for h in hypervisors}


def _lives(process: EmulatorProcess, http: httpx.Client, kills: int, timeout: float,
           crash: Callable[[int], None]) -> Ledger:
    """``kills`` times: the clients run a while, ``crash(life)`` kills what it kills (and
    brings the emulator back, or leaves that to it), then the invariants are checked."""
    ledger = Ledger()
    lives: list[dict[str, int]] = []
    accounts = seeded_accounts(process.url)
    admin = ApiSession(accounts["admin"], http)
    image = boot_image(ApiSession(accounts["member"], http), admin, process.backend)["id"]
    idle = _usage(admin)
    assert all(vcpus == 0 for vcpus, _ in idle.values()), idle
    for life in range(1, kills + 1):
        stop = threading.Event()
        clients = []
        for number in range(CLIENTS):
            session = ApiSession(accounts["member"], httpx.Client(timeout=30.0))
            clients.append((session, threading.Thread(target=_client_loop, args=(
                session, image, ledger, stop, life * 100 + number), daemon=True)))
        for _, thread in clients:
            thread.start()
        time.sleep(random.Random(life).uniform(*RUN_BEFORE_KILL))
        crash(life)
        stop.set()
        for session, thread in clients:
            thread.join(timeout=90)
            assert not thread.is_alive()
            session.http.close()
        # Tokens outlive the kill (they are in the state); a new session all the same.
        admin = ApiSession(accounts["admin"], http)
        member = ApiSession(accounts["member"], http)
        lives.append(_check(admin, member, ledger, life, timeout, idle))
    print(f"{kills} kills: {len(ledger.created)} creates, {len(ledger.deleted)} deletes, "
          f"{ledger.acted} actions acknowledged, {len(ledger.deleting)} deletes in doubt; "
          f"servers after each: "
          f"{[life['servers'] for life in lives]}")
    assert ledger.created and ledger.deleted, "the clients made no acknowledged write"
    return ledger


@pytest.mark.emulator_only
def test_killed_at_random_moments_nothing_acknowledged_is_lost(
        target: Target, durable_state: str, http: httpx.Client) -> None:
    assert target.backend is not None
    kills = KILLS.get(target.backend, 3)
    timeout = 60.0 if target.backend == "simulated" else 240.0
    with dedicated_emulator(target, state=durable_state) as process:
        def crash(_life: int) -> None:
            process.kill()  # with --workers: the supervisor, and its workers with it
            process.start()

        _lives(process, http, kills, timeout, crash)


@pytest.mark.emulator_only
def test_one_worker_killed_at_random_moments_nothing_acknowledged_is_lost(
        target: Target, durable_state: str, http: httpx.Client) -> None:
    """With API workers (``NOVA_EMULATOR_TEST_WORKERS``): one worker SIGKILLed at a time,
    the leader or a follower at random; the supervisor starts another, a new leader takes
    the cloud over, and the same invariants hold."""
    with dedicated_emulator(target, state=durable_state) as process:
        workers = process.worker_pids()
        if len(workers) < 2:
            pytest.skip("one process: no API worker to kill (NOVA_EMULATOR_TEST_WORKERS)")

        def crash(life: int) -> None:
            before = process.worker_pids()
            victim = random.Random(life).choice(before)
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while len(set(process.worker_pids()) - {victim}) < len(before):
                assert time.monotonic() < deadline, "no worker started in the dead one's place"
                time.sleep(0.05)

        _lives(process, http, KILLS["simulated"], 60.0, crash)
        taken_over = process.log().count(" leads") - 1
        print(f"{taken_over} of the killed workers led: another took the cloud over")
        assert taken_over >= 1, "no leader was killed: the takeover was not exercised"
