"""The dashboard without a browser: ``/`` answers JSON to clients and the page to
browsers, the page's files, ``GET /_emulator/dashboard`` (hosts with usage and servers,
quotas, groups, the clock; an admin's), and the caps on its lists."""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from emulator.api.control_dashboard import ASSETS, PAGE, asset, prefers_html
from emulator.cloud import Cloud
from emulator.config import Config
from emulator.control.dashboard import Caps, Dashboard
from emulator.testing import Role, ThreadedEmulator
from tests.emulator_http import call, login

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.fixture(scope="module")
def cloud() -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator() as emulator:
        yield emulator


def _token(cloud: ThreadedEmulator, role: Role) -> str:
    return login(cloud, role)[0]


@pytest.mark.parametrize(("accept", "html"), [
    (BROWSER, True),
    ("text/html", True),
    ("application/json", False),
    ("*/*", False),
    ("", False),
    ("application/json, text/html;q=0.5", False),
    ("text/*;q=0.9, application/json;q=0.1", True),
    ("text/html;q=0, */*", False),
    ("text/html;q=oops, application/json;q=0.2", False),
])
def test_what_prefers_the_page(accept: str, html: bool) -> None:
    assert prefers_html(accept) is html


def test_the_index_is_json_for_clients_and_the_page_for_browsers(
        cloud: ThreadedEmulator) -> None:
    for accept in (None, "*/*", "application/json"):
        status, headers, raw = call("GET", f"{cloud.url}/", accept=accept)
        assert status == 200 and headers["content-type"] == "application/json"
        index = json.loads(raw)
        assert index["name"] == "nova-emulator"
        assert index["services"]["compute"] == f"{cloud.url}/compute/v2.1"
    status, headers, raw = call("GET", f"{cloud.url}/", accept=BROWSER)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert "Accept" in [v.strip() for v in headers["vary"].split(",")]
    page = raw.decode()
    assert 'id="placement"' in page and "/_emulator/static/dashboard.js" in page
    assert call("GET", f"{cloud.url}/elsewhere", accept=BROWSER)[0] == 404


def test_the_page_files_need_no_token(cloud: ThreadedEmulator) -> None:
    status, headers, raw = call("GET", f"{cloud.url}/_emulator/static/dashboard.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert b"/_emulator/dashboard" in raw and b"/identity/v3/auth/tokens" in raw
    status, headers, _ = call("GET", f"{cloud.url}/_emulator/static/dashboard.css")
    assert status == 200 and headers["content-type"].startswith("text/css")
    for name in ("nothing.js", "dashboard.html"):
        status, _, raw = call("GET", f"{cloud.url}/_emulator/static/{name}")
        assert status == 404 and "itemNotFound" in json.loads(raw), name
    # no route: the control plane asks for its token first, as for any unknown path
    assert call("GET", f"{cloud.url}/_emulator/static/..%2F..%2Fapi%2Fapp.py")[0] == 401


def test_the_page_files_ship_in_the_package() -> None:
    """Each file the page needs is package data (a wheel without it would serve 500s)."""
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["emulator.api"]
    for name in (PAGE, *ASSETS):
        assert any(fnmatch(f"static/{name}", glob) for glob in globs), name
        assert asset(name)


def test_the_dashboard_shows_a_server_on_its_host(cloud: ThreadedEmulator) -> None:
    admin, member = _token(cloud, "admin"), _token(cloud, "member")
    cloud.reset()
    images = json.loads(call("GET", f"{cloud.url}/image/v2/images", member)[2])["images"]
    status, _, raw = call("POST", f"{cloud.url}/compute/v2.1/servers", member, {"server": {
        "name": "shown", "imageRef": images[0]["id"], "flavorRef": "2"}})
    assert status == 202, raw
    server_id = json.loads(raw)["server"]["id"]
    for _ in range(200):
        status, _, raw = call("GET", f"{cloud.url}/_emulator/dashboard", admin)
        assert status == 200, raw
        board = json.loads(raw)
        server = next(s for s in board["servers"]["items"] if s["id"] == server_id)
        if server["status"] == "ACTIVE":
            break
        time.sleep(0.05)
    assert (server["name"], server["task_state"], server["vcpus"], server["memory_mb"]) == \
        ("shown", None, 1, 2048)
    assert board["servers"]["total"] == 1
    host = next(h for h in board["hosts"]["items"] if h["name"] == server["host"])
    assert host["servers"] == 1
    assert {rc: r["used"] for rc, r in host["resources"].items()} == \
        {"VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20}
    assert host["utilisation"] == max(r["used"] / r["capacity"]
                                      for r in host["resources"].values())
    assert sum(h["servers"] for h in board["hosts"]["items"]) == 1
    demo = next(p for p in board["projects"]["items"] if p["name"] == "demo")
    assert demo["quotas"]["instances"] == {"in_use": 1, "limit": 10}
    assert demo["quotas"]["ram"]["in_use"] == 2048
    assert board["clock"]["mode"] == "immediate" and board["backend"] == "simulated"
    assert board["ratelimits"]["installed"] is False
    assert board["requests"]["size"] == 1000 and board["requests"]["items"]
    assert [a["name"] for a in board["aggregates"]["items"]] == ["az2"]
    assert call("GET", f"{cloud.url}/_emulator/dashboard", member)[0] == 403
    assert call("GET", f"{cloud.url}/_emulator/dashboard")[0] == 401


def test_lists_are_capped_and_say_their_totals() -> None:
    cloud = Cloud(Config())
    try:
        dashboard = Dashboard(cloud.db, cloud.placement, cloud.server_groups,
                              cloud.aggregates, cloud.quotas, cloud.simulation,
                              Caps(hosts=2, projects=1, aggregates=0))
        snap = dashboard.snapshot()
        assert [h.provider.name for h in snap.hosts.items] == ["compute-001", "compute-002"]
        assert snap.hosts.total == 8
        assert [p.name for p in snap.projects.items] == ["admin"] and snap.projects.total == 3
        assert snap.aggregates.items == [] and snap.aggregates.total == 1
        assert snap.servers.items == [] and snap.servers.total == 0
    finally:
        cloud.db.close()
