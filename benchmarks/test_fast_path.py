"""The fast path (issue 15): the emulator's hottest requests against a bare Starlette app
serving the very documents the emulator served (``bare_documents``), and against moto's
EC2 server doing the same kind of work, all in one run on the same machine.

- ``GET /servers/{id}`` with 1, 8 and 32 keep-alive clients (moto: describe-instances);
- ``POST /servers`` + ``DELETE /servers/{id}`` pairs with 1 and 8 (moto: run + terminate
  instances);
- ``GET /servers/detail?limit=1000`` among 10,000 servers with 1 and 8 (the bare app
  returns the same 1,000 documents).

Each figure is a rate over a fixed time (``DURATION``), every answer checked; the ratios to
the references are the figures to compare between runs. The emulator: simulated backend,
immediate progression, in-memory SQLite, quotas lifted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.conftest import RATIOS, member_of, record_figure
from benchmarks.goals import record_goal
from benchmarks.reference_servers import serving
from conformance.client import ApiSession
from conformance.process import NO_QUOTAS, EmulatorProcess, free_port

#: Seconds each rate is measured over.
DURATION = 3.0
#: 100 hosts x 32 vCPUs x 4.0: room for 10,000 one-vCPU servers and the pairs.
CONFIG = '[[simulated.zones]]\nname = "nova"\nhosts = 100\n' + NO_QUOTAS
CROWD = 10_000
PAGE = 1000


def rate(call: Callable[[httpx.Client], None], clients: int, make: Callable[[], httpx.Client],
         duration: float = DURATION) -> float:
    """Calls per second of ``clients`` threads, each on its own keep-alive connection,
    calling ``call`` until ``duration`` has passed (after a warm-up call each)."""
    done = [0] * clients
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def worker(index: int) -> None:
        with make() as client:
            try:
                call(client)
                start.wait()
                while not stop.is_set():
                    call(client)
                    done[index] += 1
            except BaseException as err:  # reported below
                errors.append(err)
                stop.set()
                with contextlib.suppress(threading.BrokenBarrierError):
                    start.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return sum(done) / elapsed


@contextmanager
def bare_server(documents: dict[str, Any], directory: Path) -> Iterator[str]:
    """``bare_documents`` serving ``documents`` on a free port; its URL."""
    path = directory / "documents.json"
    path.write_text(json.dumps(documents))
    port = free_port()
    with serving([sys.executable, "-m", "uvicorn", "benchmarks.bare_documents:app",
                  "--port", str(port), "--log-level", "warning", "--no-access-log"],
                 f"http://127.0.0.1:{port}",
                 env={**os.environ, "NOVA_BENCH_DOCUMENTS": str(path)}) as url:
        yield url


@contextmanager
def moto_ec2() -> Iterator[Any]:
    """moto's server (``moto_server``, a benchmark dependency) on a free port; a factory of
    boto3 EC2 clients talking to it."""
    moto = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or \
        shutil.which("moto_server")
    if moto is None:
        pytest.fail("moto_server not found: pip install 'moto[server]' (the bench extra)")
    import boto3

    port = free_port()
    with serving([moto, "-p", str(port)], f"http://127.0.0.1:{port}", quiet=True) as url:
        yield lambda: boto3.client("ec2", endpoint_url=url, region_name="us-east-1",
                                   aws_access_key_id="bench", aws_secret_access_key="bench")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(config=CONFIG) as process:
        yield process


@pytest.fixture(scope="module")
def member(emulator: EmulatorProcess, http: httpx.Client) -> ApiSession:
    return member_of(emulator, http)


def session_client(member: ApiSession) -> Callable[[], httpx.Client]:
    """New keep-alive clients sending the member's token to the compute endpoint."""
    return lambda: httpx.Client(base_url=member.compute_url, timeout=60.0,
                                headers={"X-Auth-Token": member.token})


def server_body(member: ApiSession) -> dict[str, Any]:
    image = member.request("GET", f"{member.endpoint('image')}/v2/images").json()["images"][0]
    return {"server": {"name": "fast", "imageRef": image["id"], "flavorRef": "42"}}


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def report(benchmark: Any, name: str, ours: float, bare: float, moto: float | None,
           unit: str) -> float:
    ratio = ours / bare
    info: dict[str, Any] = {"emulator": round(ours, 1), "bare": round(bare, 1),
                            "ratio_to_bare": round(ratio, 3)}
    text = f"{name}: emulator {ours:.0f} {unit}, bare {bare:.0f} {unit} ({ratio:.2f} x)"
    if moto is not None:
        info["moto"] = round(moto, 1)
        info["ratio_to_moto"] = round(ours / moto, 2)
        text += f", moto {moto:.0f} {unit} (emulator {ours / moto:.2f} x moto)"
    benchmark.extra_info.update(info)
    RATIOS[benchmark.name] = (ratio, f"bare Starlette serving the same documents "
                                     f"({bare:.0f} {unit})")
    record_figure(text)
    return ratio


@pytest.mark.parametrize("clients", [1, 8, 32])
def test_get_show(benchmark: Any, member: ApiSession, tmp_path: Path, clients: int) -> None:
    """``GET /servers/{id}`` of an ACTIVE server, against the bare app serving its document
    (and, with one client, moto's describe-instances of one instance)."""
    server = ok(member.compute("POST", "/servers", json=server_body(member)), 202)["server"]
    deadline = time.monotonic() + 30
    while (shown := ok(member.compute("GET", f"/servers/{server['id']}")))["server"][
            "status"] != "ACTIVE":
        assert time.monotonic() < deadline, shown
        time.sleep(0.05)

    def get(client: httpx.Client) -> None:
        assert ok(client.get(f"/servers/{server['id']}"))["server"]["id"] == server["id"]

    figures: dict[str, float] = {}

    def measure() -> None:
        figures["ours"] = rate(get, clients, session_client(member))

    with bare_server({"show": shown, "create": {}, "detail": {}}, tmp_path) as bare:
        figures["bare"] = rate(get, clients, lambda: httpx.Client(base_url=bare, timeout=60.0))
    benchmark.pedantic(measure, rounds=1, iterations=1)
    moto = None
    if clients == 1:
        with moto_ec2() as ec2:
            made = ec2().run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
            instance = made["Instances"][0]["InstanceId"]
            local = threading.local()

            def describe(_client: httpx.Client) -> None:
                if not hasattr(local, "ec2"):
                    local.ec2 = ec2()
                found = local.ec2.describe_instances(InstanceIds=[instance])
                assert found["Reservations"][0]["Instances"][0]["InstanceId"] == instance

            moto = rate(describe, 1, lambda: httpx.Client())
    ratio = report(benchmark, f"GET /servers/{{id}}, {clients} client(s)", figures["ours"],
                   figures["bare"], moto, "req/s")
    if clients in (1, 8):  # the goals; 32 clients is a figure
        record_goal(f"show-{clients}", ratio)
    ok(member.compute("DELETE", f"/servers/{server['id']}"), 204)


@pytest.mark.parametrize("clients", [1, 8])
def test_create_delete_pairs(benchmark: Any, member: ApiSession, tmp_path: Path,
                             clients: int) -> None:
    """``POST /servers`` then ``DELETE`` of it, by each client, against the bare app
    answering the same 202 and 204, and (one client) moto's run-instances +
    terminate-instances."""
    body = server_body(member)
    created = ok(member.compute("POST", "/servers", json=body), 202)
    ok(member.compute("DELETE", f"/servers/{created['server']['id']}"), 204)

    def pair(client: httpx.Client) -> None:
        made = client.post("/servers", json=body)
        assert made.status_code == 202, made.text
        gone = client.delete(f"/servers/{made.json()['server']['id']}")
        assert gone.status_code == 204, gone.text

    figures: dict[str, float] = {}

    def measure() -> None:
        figures["ours"] = rate(pair, clients, session_client(member))

    with bare_server({"show": {}, "create": created, "detail": {}}, tmp_path) as bare:
        figures["bare"] = rate(pair, clients,
                               lambda: httpx.Client(base_url=bare, timeout=60.0))
    benchmark.pedantic(measure, rounds=1, iterations=1)
    if clients > 1:
        report(benchmark, f"POST + DELETE /servers pairs, {clients} clients",
               figures["ours"], figures["bare"], None, "pairs/s")
        return
    with moto_ec2() as ec2:
        local = threading.local()

        def run_terminate(_client: httpx.Client) -> None:
            if not hasattr(local, "ec2"):
                local.ec2 = ec2()
            made = local.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
            local.ec2.terminate_instances(InstanceIds=[made["Instances"][0]["InstanceId"]])

        moto = rate(run_terminate, 1, lambda: httpx.Client())
    ratio = report(benchmark, "POST + DELETE /servers pairs, 1 client", figures["ours"],
                   figures["bare"], moto, "pairs/s")
    record_goal("pairs-bare", ratio)
    record_goal("pairs-moto", figures["ours"] / moto)


@pytest.fixture(scope="module")
def crowded(member: ApiSession) -> ApiSession:
    """The member's project holding ``CROWD`` ACTIVE servers (100 multi-creates)."""
    body = server_body(member)
    body["server"].update(name="crowd", min_count=100, max_count=100)
    for _ in range(CROWD // 100):
        ok(member.compute("POST", "/servers", json=body), 202)
    deadline = time.monotonic() + 900
    while ok(member.compute("GET", "/servers", params={"status": "BUILD", "limit": 1}))[
            "servers"]:
        assert time.monotonic() < deadline, "servers still building"
        time.sleep(0.5)
    return member


@pytest.mark.parametrize("clients", [1, 8])
def test_detail_page_among_10000(benchmark: Any, crowded: ApiSession, tmp_path: Path,
                                 clients: int) -> None:
    """``GET /servers/detail?limit=1000`` among 10,000 servers, against the bare app
    returning the same 1,000 documents; pages a second of all the clients."""
    page = ok(crowded.compute("GET", "/servers/detail", params={"limit": PAGE}))
    assert len(page["servers"]) == PAGE and all(s["status"] == "ACTIVE"
                                                for s in page["servers"])
    assert [link["rel"] for link in page["servers_links"]] == ["next"]

    def get(client: httpx.Client) -> None:
        body = ok(client.get("/servers/detail", params={"limit": PAGE}))
        assert len(body["servers"]) == PAGE

    figures: dict[str, float] = {}

    def measure() -> None:
        figures["ours"] = rate(get, clients, session_client(crowded), duration=2 * DURATION)

    with bare_server({"show": {}, "create": {}, "detail": page}, tmp_path) as bare:
        figures["bare"] = rate(get, clients,
                               lambda: httpx.Client(base_url=bare, timeout=60.0),
                               duration=2 * DURATION)
    benchmark.pedantic(measure, rounds=1, iterations=1)
    report(benchmark, f"GET /servers/detail?limit={PAGE} among {CROWD:,}, {clients} "
           "client(s)", figures["ours"], figures["bare"], None, "pages/s")
    if clients == 1:
        record_goal("detail-page", figures["bare"] / figures["ours"])  # times slower
