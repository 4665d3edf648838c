"""The conformance harness: the same tests against the emulator or any real cloud.

By default pytest starts ``nova-emulator serve`` on a free loopback port (a real process,
real HTTP) with the backend named by ``--backend``, through the package's pytest plugin
(``emulator.pytest_plugin.Emulators`` in process mode). With ``--cloud NAME`` (and optionally
``--alt-cloud``/``--admin-cloud``) the tests run against clouds from clouds.yaml instead
(``target.backend`` is then None); tests marked ``emulator_only`` are then skipped, since
they need the emulator's own configuration, text or control plane. Tests marked
``simulated_only`` need the simulated cloud's manual clock or stage table and are skipped
on any other backend.

Every emulator the suite starts is left clean: its servers are deleted through the API (as
the admin, all projects), and on the qemu backend its run directory must then hold no
instance directory and no QEMU process of it may remain; anything left fails the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.client import Account, ApiSession
from conformance.process import EmulatorProcess
from emulator import testing_databases
from emulator.config import Config, with_overrides
from emulator.pytest_plugin import Emulators
from emulator.testing import accounts_of


@dataclass
class Target:
    """What the suite runs against: an emulator the suite started (``emulator``, on
    ``backend``), or a real cloud from clouds.yaml (no ``emulator``, and no ``backend``:
    whatever runs its servers is not ours to know)."""

    accounts: dict[str, Account]
    emulator: EmulatorProcess | None
    backend: str | None


def _account_from_cloud(name: str) -> Account:
    import openstack.config

    cloud = openstack.config.OpenStackConfig().get_one(cloud=name)
    auth: dict[str, Any] = cloud.config["auth"]
    auth_url = str(auth["auth_url"]).rstrip("/")
    if not auth_url.endswith("/v3"):
        auth_url += "/v3"
    return Account(
        auth_url=auth_url,
        username=auth["username"],
        password=auth["password"],
        project_name=auth["project_name"],
        user_domain_name=auth.get("user_domain_name", "Default"),
        project_domain_name=auth.get("project_domain_name", "Default"),
        region=cloud.config.get("region_name") or "RegionOne",
    )


def seeded_accounts(base_url: str) -> dict[str, Account]:
    """The accounts every emulator seeds (``emulator.config.SEEDED_ACCOUNTS``), by role."""
    config = with_overrides(Config(), public_url=base_url)
    return {role: Account(auth_url=seeded.auth_url, username=seeded.username,
                          password=seeded.password, project_name=seeded.project,
                          region=seeded.region)
            for role, seeded in accounts_of(config).items()}


def delete_all_servers(process: EmulatorProcess, http: httpx.Client,
                       timeout: float = 120.0) -> None:
    """Delete every server of every project (as the admin) and wait until none is listed;
    a simulated cloud's clock is first let go (a manual clock would hold the deletes)."""
    admin = ApiSession(seeded_accounts(process.url)["admin"], http)
    if process.backend == "simulated":
        let_go = admin.request("PUT", f"{process.url}/_emulator/clock",
                               json={"mode": "immediate"})
        assert let_go.status_code == 200, let_go.text
    deadline = time.monotonic() + timeout
    asked: set[str] = set()
    while True:
        listed = admin.compute("GET", "/servers/detail", params={"all_tenants": "1"})
        assert listed.status_code == 200, listed.text
        left = listed.json()["servers"]
        if not left:
            return
        for server in left:
            if server["id"] in asked:
                continue
            action = "forceDelete" if server["status"] == "SOFT_DELETED" else None
            if action:
                admin.compute("POST", f"/servers/{server['id']}/action", json={action: None})
            else:
                admin.compute("DELETE", f"/servers/{server['id']}")
            asked.add(server["id"])
        assert time.monotonic() < deadline, (
            f"servers not deleted within {timeout}s: "
            f"{[(s['id'], s['status'], s['OS-EXT-STS:task_state']) for s in left]}")
        time.sleep(0.1)


def clean_up(process: EmulatorProcess, http: httpx.Client) -> None:
    """Delete every server, then check the backend left nothing behind (on qemu: no
    instance directory in the run directory, no QEMU process of it)."""
    delete_all_servers(process, http)
    left = process.leftovers(timeout=30.0)
    assert not left, f"the {process.backend} backend left behind: {left}"


@contextmanager
def dedicated_emulator(target: Target, config: str = "",
                       state: str | None = None) -> Iterator[EmulatorProcess]:
    """An emulator of its own (with ``config``, on the suite's backend) for tests that
    change time, stages or settings; such tests need the emulator itself, so they are
    skipped with --cloud. Its servers are deleted when the test ends."""
    if target.emulator is None or target.backend is None:
        pytest.skip("needs the emulator itself")
    with EmulatorProcess(config=config, state=state, backend=target.backend) as process, \
            httpx.Client(timeout=60.0) as http:
        try:
            yield process
        except BaseException:
            if process.proc is not None:
                # The test's own failure is the one to report.
                with suppress(AssertionError, httpx.HTTPError):
                    delete_all_servers(process, http)
            raise
        if process.proc is not None:
            clean_up(process, http)


@pytest.fixture
def durable_state(tmp_path: Path) -> Iterator[str]:
    """A ``--state`` that outlives a restart: a scratch PostgreSQL database (dropped when
    the test ends) when the run names a server in ``NOVA_EMULATOR_TEST_DATABASE``, else a
    SQLite file of the test's own."""
    state = testing_databases.durable_state(tmp_path)
    yield state
    testing_databases.drop_scratch_database(state)


#: The clouds.yaml option of each role beside the member's (``--cloud``).
CLOUD_ROLES = {"alt": "--alt-cloud", "admin": "--admin-cloud"}


def cloud_target(config: pytest.Config) -> Target | None:
    """The real cloud ``--cloud`` names (its accounts from clouds.yaml), else None. Its
    ``backend`` is None whatever ``--backend`` says: that option picks the emulator's."""
    cloud = config.getoption("--cloud")
    if cloud is None:
        return None
    accounts = {"member": _account_from_cloud(cloud)}
    for role, option in CLOUD_ROLES.items():
        name = config.getoption(option)
        if name:
            accounts[role] = _account_from_cloud(name)
    return Target(accounts=accounts, emulator=None, backend=None)


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    cloud = cloud_target(pytestconfig)
    if cloud is not None:
        yield cloud
        return
    backend = pytestconfig.getoption("--backend")
    # The pytest plugin's emulators (emulator.pytest_plugin), as a process of its own.
    emulators = Emulators(process=True)
    try:
        emulator = emulators.get(backend)
        assert isinstance(emulator, EmulatorProcess)
        with httpx.Client(timeout=60.0) as http:
            yield Target(accounts=seeded_accounts(emulator.url), emulator=emulator,
                         backend=backend)
            clean_up(emulator, http)
    finally:
        emulators.stop()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60.0) as client:
        yield client


def _session(target: Target, http: httpx.Client, role: str) -> ApiSession:
    if role not in target.accounts:
        pytest.skip(f"no {role} account for this cloud (see --{role}-cloud)")
    return ApiSession(target.accounts[role], http)


@pytest.fixture(scope="session")
def member(target: Target, http: httpx.Client) -> ApiSession:
    """A member of a project (``demo`` on the emulator)."""
    return _session(target, http, "member")


@pytest.fixture(scope="session")
def alt(target: Target, http: httpx.Client) -> ApiSession:
    """A member of another project (``alt_demo``)."""
    return _session(target, http, "alt")


@pytest.fixture(scope="session")
def admin(target: Target, http: httpx.Client) -> ApiSession:
    """A cloud admin."""
    return _session(target, http, "admin")


@pytest.fixture(scope="session")
def emulator(target: Target) -> EmulatorProcess:
    """The emulator process itself (only for ``emulator_only`` tests)."""
    if target.emulator is None:
        pytest.skip("needs the emulator itself")
    return target.emulator


@pytest.fixture(scope="session")
def conn(member: ApiSession) -> Any:
    """An openstacksdk Connection as the member."""
    import openstack

    return openstack.connect(**member.account.sdk_kwargs())


@pytest.fixture(scope="session")
def admin_conn(admin: ApiSession) -> Any:
    import openstack

    return openstack.connect(**admin.account.sdk_kwargs())
