"""The request recorder: the ring (bounded, newest last, faults read from error bodies) and
``/_emulator/requests`` over HTTP (JSON, JSON Lines, clear, reset, admin only)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from emulator.config import Config, ServerConfig
from emulator.control.requestlog import Entry, FaultFacts, RequestLog, fault_of
from emulator.testing import ThreadedEmulator
from tests.emulator_http import call, login


def _entry(n: int, status: int = 200, body: bytes | None = None) -> Entry:
    return (1_800_000_000.0 + n, f"req-{n}", "compute", "GET", f"/compute/v2.1/x/{n}",
            "/x/{id}", status, 0.0125, "p1", body)


def test_the_ring_keeps_the_newest_and_formats_when_read() -> None:
    ring = RequestLog(3)
    for n in range(5):
        ring.record(_entry(n))
    assert len(ring) == 3
    assert [e.request_id for e in ring.entries()] == ["req-2", "req-3", "req-4"]
    assert [e.request_id for e in ring.entries(2)] == ["req-3", "req-4"]
    assert [e.request_id for e in ring.entries(10)] == ["req-2", "req-3", "req-4"]
    newest = ring.entries(1)[0]
    assert newest.time == "2027-01-15T08:00:04.000Z"
    assert (newest.latency_ms, newest.route, newest.project_id, newest.fault) == \
        (12.5, "/x/{id}", "p1", None)
    ring.clear()
    assert ring.entries() == [] and len(ring) == 0


def test_size_zero_records_nothing() -> None:
    ring = RequestLog(0)
    ring.record(_entry(1))
    assert not ring.enabled and ring.entries() == [] and len(ring) == 0


@pytest.mark.parametrize(("body", "fault"), [
    (b'{"itemNotFound": {"code": 404, "message": "Instance x could not be found."}}',
     FaultFacts("itemNotFound", "Instance x could not be found.")),
    (b'{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have '
     b'made requires authentication."}}',
     FaultFacts("Unauthorized", "The request you have made requires authentication.")),
    (b'{"NeutronError": {"type": "NetworkNotFound", "message": "Network n could not be '
     b'found.", "detail": ""}}', FaultFacts("NetworkNotFound", "Network n could not be found.")),
    (b"<html>\n <head><title>404 Not Found</title></head>\n <body><h1>404 Not Found</h1>"
     b"</body></html>", FaultFacts(None, "404 Not Found 404 Not Found")),
    (b'{"message": "plain"}', FaultFacts(None, "plain")),
    (b"[]", None),
])
def test_faults_of_each_dialect(body: bytes, fault: FaultFacts | None) -> None:
    assert fault_of(body) == fault
    ring = RequestLog(1)
    ring.record(_entry(1, 404, body))
    assert ring.entries()[0].fault == fault


# -- over HTTP --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cloud() -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator() as emulator:
        yield emulator


def _recorded(cloud: ThreadedEmulator, token: str, query: str = "") -> list[dict[str, Any]]:
    status, _, raw = call("GET", f"{cloud.url}/_emulator/requests{query}", token)
    assert status == 200, raw
    answer = json.loads(raw)
    assert answer["size"] == 1000
    return list(answer["requests"])


def test_each_request_is_recorded_with_its_id_route_and_fault(cloud: ThreadedEmulator) -> None:
    admin, _ = login(cloud, "admin")
    member, project = login(cloud, "member")
    compute = f"{cloud.url}/compute/v2.1"
    before = time.time()
    shown = call("GET", f"{compute}/flavors/1", member)
    missing = call("GET", f"{compute}/servers/no-such-server", member)
    assert (shown[0], missing[0]) == (200, 404)
    entries = {e["request_id"]: e for e in _recorded(cloud, admin)}
    ok = entries[shown[1]["x-openstack-request-id"]]
    assert (ok["service"], ok["method"], ok["path"], ok["status"], ok["project_id"]) == \
        ("compute", "GET", "/compute/v2.1/flavors/1", 200, project)
    assert ok["route"].endswith("/flavors/{flavor_id}") and "fault" not in ok
    assert 0 <= ok["latency_ms"] < 60_000
    when = datetime.fromisoformat(ok["time"].replace("Z", "+00:00")).timestamp()
    assert before - 1 <= when <= time.time() + 1
    bad = entries[missing[1]["x-openstack-request-id"]]
    assert bad["status"] == 404 and bad["route"].endswith("/servers/{server_id}")
    assert bad["fault"] == {"name": "itemNotFound",
                            "message": "Instance no-such-server could not be found."}
    unauthenticated = call("GET", f"{compute}/flavors")
    entry = _recorded(cloud, admin, "?limit=1")[0]
    assert entry["request_id"] == unauthenticated[1]["x-openstack-request-id"]
    assert (entry["status"], entry["project_id"], entry["fault"]["name"]) == \
        (401, None, "Unauthorized")


def test_limit_takes_the_newest_and_refuses_what_is_not_a_count(
        cloud: ThreadedEmulator) -> None:
    admin, _ = login(cloud, "admin")
    everything = _recorded(cloud, admin)
    last_two = _recorded(cloud, admin, "?limit=2")
    # the last entry the first read saw, then that read itself
    assert [e["request_id"] for e in last_two][:1] == [everything[-1]["request_id"]]
    assert len(last_two) == 2 and last_two[1]["path"] == "/_emulator/requests"
    for bad in ("0", "-1", "x", "1.5", "", "1000001"):
        status, _, raw = call("GET", f"{cloud.url}/_emulator/requests?limit={bad}", admin)
        assert status == 400, bad
        assert "limit" in json.loads(raw)["badRequest"]["message"]


def test_json_lines_download(cloud: ThreadedEmulator) -> None:
    admin, _ = login(cloud, "admin")
    status, headers, raw = call("GET", f"{cloud.url}/_emulator/requests.jsonl?limit=3", admin)
    assert status == 200
    assert headers["content-type"] == "application/x-ndjson"
    assert headers["content-disposition"].startswith('attachment; filename="nova-emulator-')
    assert headers["content-disposition"].endswith('.jsonl"')
    lines = raw.decode().splitlines()
    assert len(lines) == 3 and raw.endswith(b"\n")
    assert all(json.loads(line)["request_id"].startswith("req-") for line in lines)


def test_delete_and_reset_forget_them(cloud: ThreadedEmulator) -> None:
    admin, _ = login(cloud, "admin")
    status, headers, _ = call("DELETE", f"{cloud.url}/_emulator/requests", admin)
    assert status == 204
    # only the DELETE itself, recorded once answered
    assert [e["request_id"] for e in _recorded(cloud, admin, "?limit=1000")][:1] == \
        [headers["x-openstack-request-id"]]
    made = {call("GET", f"{cloud.url}/compute/v2.1/flavors", admin)[1]
            ["x-openstack-request-id"] for _ in range(3)}
    status, headers, _ = call("POST", f"{cloud.url}/_emulator/reset", admin)
    assert status == 204
    kept = [e["request_id"] for e in _recorded(cloud, admin)]
    assert kept[0] == headers["x-openstack-request-id"] and not made & set(kept)


def test_only_an_admin_reads_or_clears_them(cloud: ThreadedEmulator) -> None:
    member, _ = login(cloud, "member")
    for method, path in (("GET", "/requests"), ("GET", "/requests.jsonl"),
                         ("DELETE", "/requests")):
        assert call(method, f"{cloud.url}/_emulator{path}")[0] == 401
        assert call(method, f"{cloud.url}/_emulator{path}", member)[0] == 403


def test_the_dashboard_polls_are_not_recorded(cloud: ThreadedEmulator) -> None:
    admin, _ = login(cloud, "admin")
    assert call("GET", f"{cloud.url}/_emulator/dashboard", admin)[0] == 200
    assert call("GET", f"{cloud.url}/_emulator/static/dashboard.js")[0] == 200
    paths = {e["path"] for e in _recorded(cloud, admin)}
    assert "/_emulator/requests" in paths
    assert not paths & {"/_emulator/dashboard", "/_emulator/static/dashboard.js"}


def test_a_size_of_zero_turns_it_off() -> None:
    with ThreadedEmulator(Config(server=ServerConfig(request_log_size=0))) as cloud:
        admin, _ = login(cloud, "admin")
        call("GET", f"{cloud.url}/compute/v2.1/flavors", admin)
        status, _, raw = call("GET", f"{cloud.url}/_emulator/requests", admin)
        assert status == 200 and json.loads(raw) == {"size": 0, "requests": []}


def test_the_control_plane_client_reads_and_clears_them(cloud: ThreadedEmulator) -> None:
    member, _ = login(cloud, "member")
    made = call("GET", f"{cloud.url}/compute/v2.1/flavors/1", member)[1]
    ids = [e["request_id"] for e in cloud.control.requests()]
    assert made["x-openstack-request-id"] in ids
    assert len(cloud.control.requests(limit=2)) == 2
    cloud.control.clear_requests()
    assert [e["method"] for e in cloud.control.requests()] == ["DELETE"]
