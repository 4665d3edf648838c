"""Scheduler policies are plug-ins: the README's example (``tests/example_scheduler_policy``)
loaded by dotted path and by an entry point as pip would register it, a served emulator
placing servers by it, and a name that cannot be found refused with one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess
from emulator.cloud import make_scheduler
from emulator.config import ConfigError, SchedulerSettings
from emulator.placement import DISK_GB, MEMORY_MB, VCPU, Inventory, Placement, Weigher
from emulator.placement.plugins import (
    FILTER_GROUP,
    WEIGHER_GROUP,
    UnknownPolicy,
    load_filters,
    load_weighers,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "tests.example_scheduler_policy"


def register(where: Path) -> Path:
    """A ``.dist-info`` as pip leaves it for a distribution declaring the example's
    filter and weigher in the scheduler's entry point groups."""
    info = where / "example_policy-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: example-policy\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{FILTER_GROUP}]\nNotDraining = {EXAMPLE}:not_draining\n"
        f"[{WEIGHER_GROUP}]\nMostServers = {EXAMPLE}:most_servers\n")
    return where


def test_a_dotted_path_loads_a_filter_and_a_weigher() -> None:
    filters = load_filters([f"{EXAMPLE}:not_draining", "ComputeFilter"])
    assert filters[f"{EXAMPLE}:not_draining"].__name__ == "not_draining"
    weighers = load_weighers([f"{EXAMPLE}.most_servers"])
    assert weighers[f"{EXAMPLE}.most_servers"].static


def test_an_entry_point_loads_them_by_name(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(register(tmp_path)))
    assert load_filters(["NotDraining"])["NotDraining"].__name__ == "not_draining"
    assert isinstance(load_weighers(["MostServers"])["MostServers"], Weigher)


def test_a_plain_callable_weigher_is_dynamic() -> None:
    weighers = load_weighers(["tests.example_scheduler_policy:not_draining"])
    assert not next(iter(weighers.values())).static


def test_an_unknown_policy_is_one_clear_line() -> None:
    with pytest.raises(UnknownPolicy, match=r"no scheduler policy named 'Nope'.*"
                                            r"ComputeFilter"):
        load_filters(["Nope"])
    with pytest.raises(UnknownPolicy, match=r"cannot load 'no\.such\.module:thing'"):
        load_filters(["no.such.module:thing"])
    with pytest.raises(ConfigError, match=r"^\[scheduler\] no scheduler policy named"):
        make_scheduler(Placement(), SchedulerSettings(filters=("Nope",)))


def test_the_scheduler_places_by_the_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_DRAINING_HOSTS", "h0")
    placement = Placement()
    for name in ("h0", "h1", "h2"):
        placement.add_provider(name, {VCPU: Inventory(8), MEMORY_MB: Inventory(4096),
                                      DISK_GB: Inventory(100)})
    scheduler = make_scheduler(placement, SchedulerSettings(
        filters=(f"{EXAMPLE}:not_draining",),
        weighers={"RAMWeigher": 0.0, "CPUWeigher": 0.0, "DiskWeigher": 0.0,
                  f"{EXAMPLE}:most_servers": 1.0}))
    from emulator.placement import RequestSpec

    request = RequestSpec(resources={VCPU: 1, MEMORY_MB: 512, DISK_GB: 1})
    hosts = [scheduler.schedule([f"s{i}"], request)[0].host for i in range(8)]
    # Never the draining host; the fullest first (so all on one host while it fits).
    assert "h0" not in hosts and len(set(hosts)) == 1


def test_a_served_emulator_uses_the_configured_plugins(tmp_path: Path) -> None:
    config = ("[scheduler]\nfilters = [\"ComputeFilter\", \"NotDraining\"]\n"
              "[scheduler.weighers]\nRAMWeigher = 0.0\nCPUWeigher = 0.0\nDiskWeigher = 0.0\n"
              "MostServers = 1.0\n")
    path = os.pathsep.join([str(register(tmp_path)), str(ROOT),
                            os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    draining = "compute-001,compute-002"
    with EmulatorProcess(config=config, env={"PYTHONPATH": path,
                                             "EXAMPLE_DRAINING_HOSTS": draining}) as emulator, \
            httpx.Client(timeout=30.0) as http:
        accounts = seeded_accounts(emulator.url)
        admin = ApiSession(accounts["admin"], http)
        image = admin.compute("GET", "/images").json()["images"][0]["id"]
        created = admin.compute("POST", "/servers", json={"server": {
            "name": "plug", "imageRef": image, "flavorRef": "1", "min_count": 6,
            "max_count": 6, "availability_zone": "nova"}})
        assert created.status_code == 202, created.text
        deadline = time.monotonic() + 30
        while True:
            servers = admin.compute("GET", "/servers/detail?name=plug").json()["servers"]
            if all(s["status"] == "ACTIVE" for s in servers):
                break
            assert time.monotonic() < deadline, servers
            time.sleep(0.05)
        hosts = Counter(s["OS-EXT-SRV-ATTR:host"] for s in servers)
    assert sum(hosts.values()) == 6
    assert not set(hosts) & set(draining.split(","))
    assert len(hosts) == 1  # MostServers packs them


def test_serve_refuses_an_unknown_policy() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "serve", "--port", "1", "--config", "/dev/stdin"],
        input="[scheduler]\nfilters = [\"NoSuchFilter\"]\n", capture_output=True, text=True,
        timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2, done.stderr
    assert "[scheduler] no scheduler policy named 'NoSuchFilter'" in done.stderr
