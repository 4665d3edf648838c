"""The dashboard at ``/`` in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, which CI installs) driven by Selenium. It logs in through the page's
form, finds the servers made through the API on their hosts in the placement map, a
recorded request's id among the recent requests, and a server made afterwards without a
reload; the screenshot is left in ``artifacts/dashboard.png``."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from emulator.config import Config, SimulatedConfig, ZoneConfig
from emulator.ratelimit.settings import LimitSettings, RateLimitConfig
from emulator.testing import ThreadedEmulator
from tests.emulator_http import call, login

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "artifacts" / "dashboard.png"
#: Seconds the page has to show what the API did (it polls every 1.5 s).
WAIT = 30
#: Small hosts (a large flavor fills one), two zones, Nova's legacy POST limit.
CONFIG = Config(
    simulated=SimulatedConfig(zones=(ZoneConfig("nova", 3), ZoneConfig("az2", 2)), vcpus=4,
                              memory_mb=8192, local_gb=80, cpu_allocation_ratio=1.0),
    ratelimit=RateLimitConfig(enabled=True, limits=(
        LimitSettings(name="post", value=120, unit="MINUTE", verb="POST"),)))
#: Chromium without a display, a sandbox or any connection of its own (on a closed
#: network its background requests would be refused and slow it down).
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--window-size=1400,1700")


def _call(method: str, url: str, body: Any = None,
          token: str | None = None) -> tuple[int, dict[str, str], Any]:
    status, headers, raw = call(method, url, token, body)
    return status, headers, json.loads(raw) if raw else None


def _create(cloud: ThreadedEmulator, tokens: dict[str, str], name: str, flavor: str,
            group: str | None = None) -> str:
    """A member's server made through the compute API (in ``group`` if given); once
    ACTIVE, its host (an admin reads it)."""
    compute = f"{cloud.url}/compute/v2.1"
    member = tokens["member"]
    image = _call("GET", f"{cloud.url}/image/v2/images", token=member)[2]["images"][0]["id"]
    body: dict[str, Any] = {"server": {"name": name, "imageRef": image, "flavorRef": flavor}}
    if group is not None:
        body["os:scheduler_hints"] = {"group": group}
    status, _, made = _call("POST", f"{compute}/servers", body, token=member)
    assert status == 202, made
    deadline = time.monotonic() + WAIT
    while True:
        shown = _call("GET", f"{compute}/servers/{made['server']['id']}",
                      token=tokens["admin"])[2]["server"]
        if shown["status"] == "ACTIVE":
            return str(shown["OS-EXT-SRV-ATTR:host"])
        assert time.monotonic() < deadline, f"{name} did not become ACTIVE: {shown}"
        time.sleep(0.05)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, \
        "the browser test needs Debian's chromium and chromium-driver (see .ci/run)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


def _texts(browser: WebDriver, selector: str) -> list[str]:
    """The text of each element ``selector`` finds, read in one go in the page (a redraw
    between finding an element and reading it would leave a stale reference)."""
    return list(browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText);",
        selector))


def _placed(browser: WebDriver, host: str, name: str) -> bool:
    return bool(browser.find_elements(
        By.CSS_SELECTOR, f'#placement [data-host="{host}"] [data-server-name="{name}"]'))


def test_the_dashboard_shows_servers_on_their_hosts(browser: WebDriver) -> None:
    with ThreadedEmulator(CONFIG) as cloud:
        tokens = {"member": login(cloud, "member")[0], "admin": login(cloud, "admin")[0]}
        status, _, group = _call("POST", f"{cloud.url}/compute/v2.1/os-server-groups", {
            "server_group": {"name": "web", "policies": ["anti-affinity"]}},
            token=tokens["member"])
        assert status == 200, group
        web = group["server_group"]["id"]
        placed = {name: _create(cloud, tokens, name, flavor, group)
                  for name, flavor, group in (("web-1", "1", web), ("web-2", "2", web),
                                              ("db-1", "4", None), ("batch-1", "3", None))}
        status, headers, _ = _call("GET", f"{cloud.url}/compute/v2.1/servers/no-such",
                                   token=tokens["member"])
        assert status == 404
        missing = headers["x-openstack-request-id"]

        browser.get(f"{cloud.url}/")
        browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
        wait = WebDriverWait(browser, WAIT)
        for name, host in placed.items():
            wait.until(lambda b, n=name, h=host: _placed(b, h, n),
                       f"{name} never showed on {host}")
        row = wait.until(lambda b: next((r for r in _texts(b, "#requests tbody tr")
                                         if missing in r), None), f"{missing} never showed")
        assert "404" in row and "itemNotFound" in row, row
        # The page stays; only what it polls changes.
        browser.execute_script("window.notReloaded = true;")
        later = _create(cloud, tokens, "cache-1", "2")
        wait.until(lambda b: _placed(b, later, "cache-1"), "cache-1 never showed")
        assert browser.execute_script("return window.notReloaded === true;")
        servers = browser.find_element(By.ID, "servers").text
        assert all(name in servers for name in (*placed, "cache-1")), servers
        bars = _texts(browser, f'#placement [data-host="{later}"] .bar .num')
        assert len(bars) == 3 and not any(b.startswith("0/") for b in bars), bars
        SCREENSHOT.parent.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOT))
        print(f"\ndashboard screenshot: {SCREENSHOT}")
