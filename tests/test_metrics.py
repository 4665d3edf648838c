"""``GET /_emulator/metrics``: Prometheus' text format as its own parser reads it, counters
that move with the requests a test makes, the servers by status and host, the scheduler's
work; an admin's unless the configuration opens it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulator.config import Config, ServerConfig
from emulator.testing import ServedEmulator, ThreadedEmulator


@pytest.fixture
def cloud(nova_emulator: ServedEmulator) -> ServedEmulator:
    """The project's own pytest plugin's emulator (emulator.pytest_plugin): one a run,
    the seeded cloud again for each test."""
    return nova_emulator


def _call(method: str, url: str, body: Any = None,
          token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _token(cloud: ServedEmulator, role: str) -> str:
    account = cloud.accounts[role]  # type: ignore[index]
    status, headers, _ = _call("POST", f"{account.auth_url}/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": account.username, "password": account.password,
            "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": account.project, "domain": {"name": "Default"}}}}})
    assert status == 201
    return {k.lower(): v for k, v in headers.items()}["x-subject-token"]


Samples = dict[tuple[str, frozenset[Any]], float]


def _samples(cloud: ServedEmulator, token: str | None) -> Samples:
    status, headers, body = _call("GET", f"{cloud.url}/_emulator/metrics", token=token)
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=")  # the exposition format
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples}


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_counters_move_with_the_requests_made(cloud: ServedEmulator) -> None:
    admin, member = _token(cloud, "admin"), _token(cloud, "member")
    compute = f"{cloud.url}/compute/v2.1"
    before = _samples(cloud, admin)
    for _ in range(3):
        assert _call("GET", f"{compute}/flavors/1", token=member)[0] == 200
    assert _call("GET", f"{compute}/servers/no-such-server", token=member)[0] == 404
    images = json.loads(_call("GET", f"{cloud.url}/image/v2/images", token=member)[2])
    made = _call("POST", f"{compute}/servers", {"server": {
        "name": "counted", "imageRef": images["images"][0]["id"], "flavorRef": "1"}}, token=member)
    assert made[0] == 202, made[2]
    cloud.control.set_clock("immediate")  # (a control-plane request too)
    after = _samples(cloud, admin)
    routes = {dict(key)["route"] for name, key in after if name == "nova_emulator_requests_total"}
    flavor_route = next(r for r in routes if r.endswith("/flavors/{flavor_id}"))
    labels = {"service": "compute", "route": flavor_route, "method": "GET", "status": "200"}
    moved = _value(after, "nova_emulator_requests_total", **labels) - \
        _value(before, "nova_emulator_requests_total", **labels)
    assert moved == 3
    show_route = next(r for r in routes if r.endswith("/servers/{server_id}"))
    assert _value(after, "nova_emulator_requests_total", service="compute", route=show_route,
                  method="GET", status="404") >= 1
    latency = _value(after, "nova_emulator_request_duration_seconds_count",
                     service="compute", route=flavor_route)
    assert latency >= 3
    assert _value(after, "nova_emulator_scheduler_decisions_total") > \
        _value(before, "nova_emulator_scheduler_decisions_total")
    assert _value(after, "nova_emulator_scheduler_decision_seconds_total") > 0


def test_servers_by_status_and_host(cloud: ServedEmulator) -> None:
    admin, member = _token(cloud, "admin"), _token(cloud, "member")
    images = json.loads(_call("GET", f"{cloud.url}/image/v2/images", token=member)[2])
    body = {"server": {"name": "placed", "imageRef": images["images"][0]["id"],
                       "flavorRef": "1"}}
    made = json.loads(_call("POST", f"{cloud.url}/compute/v2.1/servers", body,
                            token=member)[2])["server"]
    server_url = f"{cloud.url}/compute/v2.1/servers/{made['id']}"
    for _ in range(200):
        shown = json.loads(_call("GET", server_url, token=admin)[2])["server"]
        if shown["status"] == "ACTIVE":
            break
    host = shown["OS-EXT-SRV-ATTR:host"]
    samples = _samples(cloud, admin)
    servers = {dict(key)["status"] + "@" + dict(key)["host"]: value
               for (name, key), value in samples.items() if name == "nova_emulator_servers"}
    assert servers == {f"ACTIVE@{host}": 1.0}


def test_only_an_admin_reads_them_unless_opened(cloud: ServedEmulator) -> None:
    assert _call("GET", f"{cloud.url}/_emulator/metrics")[0] == 401
    assert _call("GET", f"{cloud.url}/_emulator/metrics", token=_token(cloud, "member"))[0] \
        == 403
    opened = Config(server=ServerConfig(metrics_unauthenticated=True))
    with ThreadedEmulator(opened) as open_cloud:
        samples = _samples(open_cloud, None)  # no token
        assert ("nova_emulator_scheduler_decisions_total", frozenset()) in samples


def test_the_simulated_backend_has_no_guest_processes(cloud: ThreadedEmulator) -> None:
    """The QEMU processes' metrics are read from the backend at each scrape; the simulated
    backend runs no process: the families are there, with no sample, and no error."""
    admin, member = _token(cloud, "admin"), _token(cloud, "member")
    cloud.control.set_clock("immediate")
    images = json.loads(_call("GET", f"{cloud.url}/image/v2/images", token=member)[2])
    made = _call("POST", f"{cloud.url}/compute/v2.1/servers", {"server": {
        "name": "no-process", "imageRef": images["images"][0]["id"], "flavorRef": "1"}},
        token=member)
    assert made[0] == 202, made[2]
    server_url = f"{cloud.url}/compute/v2.1/servers/{json.loads(made[2])['server']['id']}"
    for _ in range(200):
        if json.loads(_call("GET", server_url, token=admin)[2])["server"]["status"] == "ACTIVE":
            break
    status, _, body = _call("GET", f"{cloud.url}/_emulator/metrics", token=admin)
    assert status == 200, body
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert families["nova_emulator_guest_processes"].type == "gauge"
    assert families["nova_emulator_guest_cpu_seconds"].type == "counter"
    assert families["nova_emulator_guest_processes"].samples == []
    assert families["nova_emulator_guest_cpu_seconds"].samples == []
    assert _value(_samples(cloud, admin), "nova_emulator_servers", status="ACTIVE",
                  host=json.loads(_call("GET", server_url, token=admin)[2])["server"][
                      "OS-EXT-SRV-ATTR:host"]) >= 1
