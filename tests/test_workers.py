"""API workers (``emulator.workers``): what they need, how a follower routes, the token
caches that follow each other's revocations, and (with ``NOVA_EMULATOR_TEST_DATABASE``)
real workers on PostgreSQL: reads from every worker, writes decided by the leader, a
leader killed and replaced with nothing acknowledged lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from emulator.api.forwarding import answered_here
from emulator.config import Config, ConfigError
from emulator.db import Database
from emulator.errors import NotAuthenticated
from emulator.identity.records import AuthRequest, Selector
from emulator.identity.service import IdentityService
from emulator.testing_databases import scratch_server
from emulator.testing_process import EmulatorProcess
from emulator.workers import check_workers, publish_fault_rules

PG = "postgresql://nova:nova@127.0.0.1/nova"
needs_postgresql = pytest.mark.skipif(scratch_server() is None,
                                      reason="needs NOVA_EMULATOR_TEST_DATABASE")


def _config(state: str = PG, backend: str = "simulated") -> Config:
    config = Config()
    return replace(config, server=replace(config.server, state=state, workers=2),
                   compute=replace(config.compute, backend=backend))


def test_more_than_one_worker_needs_postgresql_and_the_simulated_backend() -> None:
    check_workers(_config())
    check_workers(replace(Config()))  # one worker: anything goes
    for config, words in ((_config(state="sqlite:///x.db"), "needs a PostgreSQL state"),
                          (_config(backend="qemu"), "runs the simulated backend only")):
        with pytest.raises(ConfigError, match=words):
            check_workers(config)


def test_a_follower_answers_server_reads_and_forwards_the_rest() -> None:
    server = "/compute/v2.1/servers/6f1c7a56-9f3e-4bb0-a2a4-2b0b4a1a9a01"
    for method, path in (("GET", "/compute/v2.1/servers"), ("GET", server),
                         ("GET", "/compute/v2.1/servers/detail")):
        assert answered_here(method, path), (method, path)
    for method, path in (("POST", "/compute/v2.1/servers"), ("DELETE", server),
                         ("GET", server + "/diagnostics"), ("GET", server + "/os-interface"),
                         ("GET", "/compute/v2.1/os-hypervisors"), ("PUT", server),
                         ("GET", "/_emulator/clock"), ("GET", "/identity/v3/auth/tokens")):
        assert not answered_here(method, path), (method, path)


#: Another worker: a process of its own that revokes a token on the same database.
REVOKER = """
import sys
from datetime import timedelta
from emulator.db import Database
from emulator.identity.service import IdentityService
identity = IdentityService(Database(sys.argv[1]), timedelta(hours=1), shared=True)
identity.tokens.revoke(sys.argv[2])
"""


@pytest.mark.parametrize("shared", [True, False])
def test_a_revocation_by_another_worker_reaches_this_ones_cache(tmp_path: Path,
                                                                shared: bool) -> None:
    """Shared, a validation cached here is redone once another process revoked the token;
    not shared (one process), the cache would still answer (the reason for the epoch)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    identity = IdentityService(Database(url), timedelta(hours=1), shared=shared)
    identity.seed(Config().accounts)
    issued = identity.tokens.authenticate(AuthRequest(
        methods=("password",), user=Selector(name="demo", domain_id="default"),
        password="demo", project=Selector(name="demo", domain_id="default")))
    token = issued.token
    assert identity.validate(token).user.id == issued.info.user.id  # cached from now on
    subprocess.run([sys.executable, "-c", REVOKER, url, token], check=True)
    if shared:
        with pytest.raises(NotAuthenticated):
            identity.validate(token)
    else:
        assert identity.validate(token).user.id == issued.info.user.id
    identity.db.close()


def test_a_request_reads_the_worker_epoch_row_once(tmp_path: Path) -> None:
    """A follower's local read asks the row for the leader's fault rules, then validates
    the token (its identity generation): one query of the row per request, not one each;
    the next request reads it again, and sees what the leader published meanwhile."""
    identity = IdentityService(Database(f"sqlite:///{tmp_path / 'state.db'}"),
                               timedelta(hours=1), shared=True)
    identity.seed(Config().accounts)
    token = identity.tokens.authenticate(AuthRequest(
        methods=("password",), user=Selector(name="demo", domain_id="default"),
        password="demo", project=Selector(name="demo", domain_id="default"))).token
    queries: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "worker_epoch" in statement and statement.lstrip().upper().startswith("SELECT"):
            queries.append(statement)

    event.listen(identity.db.engine, "before_cursor_execute", count)

    async def request() -> int:
        identity.tokens.follow_epoch()
        rules = identity.tokens.leader_fault_rules
        identity.validate(token)
        identity.validate(token)
        return rules

    assert asyncio.run(request()) == 0
    assert len(queries) == 1
    publish_fault_rules(identity.db, 2)
    assert asyncio.run(request()) == 2
    assert len(queries) == 2
    identity.db.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=90.0) as client:
        yield client


@pytest.fixture
def workers() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(workers=2) as process:
        yield process


def _wait_for_workers(process: EmulatorProcess, count: int, gone: int | None = None) -> None:
    deadline = time.monotonic() + 60
    while len(set(process.worker_pids()) - {gone}) < count:
        assert time.monotonic() < deadline, process.log()[-3000:]
        time.sleep(0.05)


@needs_postgresql
def test_two_workers_share_the_cloud_and_survive_the_leaders_death(
        workers: EmulatorProcess, http: httpx.Client) -> None:
    _wait_for_workers(workers, 2)
    accounts = seeded_accounts(workers.url)
    member = ApiSession(accounts["member"], http)
    images = member.request("GET", f"{member.endpoint('image')}/v2/images").json()["images"]
    body = {"server": {"name": "w", "imageRef": images[0]["id"], "flavorRef": "1",
                       "networks": "none"}}
    made = member.compute("POST", "/servers", json=body, version="2.37")
    assert made.status_code == 202, made.text
    server_id = made.json()["server"]["id"]
    # reads on fresh connections land on either worker: each sees the write at once
    for _ in range(20):
        with httpx.Client(timeout=30) as fresh:
            shown = fresh.get(f"{member.compute_url}/servers/{server_id}",
                              headers={"X-Auth-Token": member.token})
        assert shown.status_code == 200, shown.text
        assert shown.headers["x-openstack-request-id"].startswith("req-")
    log = workers.log()
    leader = int(log.split("API worker ")[1].split(" leads")[0])
    assert leader in workers.worker_pids()
    os.kill(leader, signal.SIGKILL)
    # a write sent while no worker leads is held until one does, then answered (on a new
    # connection: one the dead worker held is gone with it)
    member = ApiSession(accounts["member"], httpx.Client(timeout=90))
    second = member.compute("POST", "/servers", json=body, version="2.37")
    assert second.status_code == 202, second.text
    _wait_for_workers(workers, 2, gone=leader)
    for sid in (server_id, second.json()["server"]["id"]):
        deadline = time.monotonic() + 30
        while (found := member.compute("GET", f"/servers/{sid}")).json()["server"][
                "status"] == "BUILD":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert found.json()["server"]["status"] == "ACTIVE"
    assert workers.log().count(" leads") == 2
    # a token revoked through one worker is refused by every worker at once
    revoked = ApiSession(accounts["member"], http)
    assert member.identity("DELETE", "/auth/tokens",
                           headers={"X-Subject-Token": revoked.token}).status_code == 204
    for _ in range(10):
        with httpx.Client(timeout=30) as fresh:
            answer = fresh.get(f"{member.compute_url}/servers/{server_id}",
                               headers={"X-Auth-Token": revoked.token})
        assert answer.status_code == 401
