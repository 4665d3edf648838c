"""Request-rate limits: a 429 with ``Retry-After`` in each service's own body, the control
plane that changes them at runtime, and a retrying client that honours ``Retry-After``.

Nova's v2.1 API has no rate limiter (its legacy v2 ``RateLimitingMiddleware`` answered
``overLimit`` with ``retryAfter``; Keystone and Glance have none): these need the emulator's
own ``[ratelimit]`` settings, so they run on an emulator of their own (skipped with --cloud).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.cli import openstack_json
from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.process import EmulatorProcess

pytestmark = pytest.mark.emulator_only

#: Installed, with no limit until a test puts its own.
CONFIG = "[ratelimit]\nenabled = true\n"
MESSAGE = "This request was rate-limited."


class Limited:
    """The dedicated emulator, its sessions, and its control plane."""

    def __init__(self, process: EmulatorProcess, http: httpx.Client) -> None:
        self.process = process
        accounts = seeded_accounts(process.url)
        self.member = ApiSession(accounts["member"], http)
        self.alt = ApiSession(accounts["alt"], http)
        self.admin = ApiSession(accounts["admin"], http)

    def control(self, method: str, **kwargs: Any) -> httpx.Response:
        return self.admin.request(method, f"{self.process.url}/_emulator/ratelimits", **kwargs)

    def put(self, *limits: dict[str, Any]) -> dict[str, Any]:
        response = self.control("PUT", json={"limits": list(limits)})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def limited(target: Target, http: httpx.Client) -> Iterator[Limited]:
    with dedicated_emulator(target, CONFIG) as process:
        cloud = Limited(process, http)
        for session in (cloud.member, cloud.alt, cloud.admin):
            assert session.token  # tokens first: a test may limit token requests
        yield cloud


@pytest.fixture(autouse=True)
def no_limits(limited: Limited) -> Iterator[None]:
    yield
    assert limited.control("PUT", json={"limits": []}).status_code == 200


def retry_after(response: httpx.Response) -> int:
    header = response.headers["Retry-After"]
    assert header.isdigit(), header
    return int(header)


def test_compute_answers_nova_overlimit_with_retry_after(limited: Limited) -> None:
    limited.put({"name": "flavors", "tier": "user", "verb": "GET", "regex": "/flavors",
                 "value": 2, "unit": "MINUTE"})
    for _ in range(2):
        assert limited.member.compute("GET", "/flavors").status_code == 200
    refused = limited.member.compute("GET", "/flavors/detail")
    assert refused.status_code == 429, refused.text
    wait = retry_after(refused)
    assert 29 <= wait <= 30  # 2 a minute: one every 30 s
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.headers["x-openstack-request-id"].startswith("req-")
    assert refused.json() == {"overLimit": {
        "code": 429, "message": MESSAGE,
        "details": "Only 2 GET request(s) can be made to * every minute.",
        "retryAfter": str(wait)}}
    # the limit is per user: another user, and other routes, pass
    assert limited.alt.compute("GET", "/flavors").status_code == 200
    assert limited.member.compute("GET", "/os-keypairs").status_code == 200


def test_identity_answers_keystone_error_body(limited: Limited) -> None:
    limited.put({"name": "tokens", "tier": "route", "verb": "POST",
                 "regex": "/identity/v3/auth/tokens$", "uri": "*/auth/tokens",
                 "value": 1, "unit": "HOUR"})
    url = f"{limited.member.account.auth_url}/auth/tokens"
    auth = limited.member.account.password_auth()
    assert limited.member.http.post(url, json=auth).status_code == 201
    refused = limited.member.http.post(url, json=auth)  # no token: the route's allowance
    assert refused.status_code == 429, refused.text
    assert 3599 <= retry_after(refused) <= 3600
    assert refused.json() == {"error": {"code": 429, "title": "Too Many Requests",
                                        "message": MESSAGE}}


def test_image_answers_glance_webob_body(limited: Limited) -> None:
    limited.put({"name": "images", "tier": "project", "verb": "GET", "regex": "^/image/",
                 "value": 1, "unit": "SECOND", "burst": 1})
    url = f"{limited.member.endpoint('image')}/v2/images"
    assert limited.member.request("GET", url).status_code == 200
    refused = limited.member.request("GET", url, headers={"Accept": "application/json"})
    assert refused.status_code == 429, refused.text
    assert retry_after(refused) == 1
    assert refused.json() == {"message": f"{MESSAGE}<br /><br />\n\n\n",
                              "code": "429 Too Many Requests", "title": "Too Many Requests"}
    time.sleep(1.0)
    plain = limited.member.request("GET", url, headers={"Accept": "text/plain"})
    assert plain.status_code == 200  # the interval has passed
    plain = limited.member.request("GET", url, headers={"Accept": "text/plain"})
    assert plain.status_code == 429
    assert plain.text.startswith(f"429 Too Many Requests\n\n{MESSAGE}")


def test_a_retrying_client_waits_retry_after_and_succeeds(
        limited: Limited, caplog: pytest.LogCaptureFixture) -> None:
    import openstack

    # keystoneauth1 (under openstacksdk and the clients) retries a 429 or 503 when
    # status_code_retries > 0, sleeping Retry-After's whole seconds
    conn = openstack.connect(**limited.member.account.sdk_kwargs(), status_code_retries=2)
    assert list(conn.compute.flavors())  # the token and discovery before the limit
    # one every 2 s: a slow machine still sends the next list within the interval
    limited.put({"name": "flavors", "tier": "user", "verb": "GET", "regex": "/flavors",
                 "value": 30, "unit": "MINUTE", "burst": 1})
    assert list(conn.compute.flavors())
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="keystoneauth"):
        flavors = list(conn.compute.flavors())
    waited = time.monotonic() - started
    assert flavors
    retried = [r.getMessage() for r in caplog.records if "Retriable status code" in r.message]
    assert retried == ["Retriable status code 429. Retrying in 2.0s. 2 retries left"]
    assert waited >= 2.0


def test_the_control_plane_shows_replaces_and_turns_off_the_limits(limited: Limited) -> None:
    view = limited.put({"name": "all", "tier": "project", "value": 1, "unit": "HOUR"})
    assert view["installed"] is True and view["enabled"] is True
    assert view["store"] == "memory"
    assert view["limits"] == [{"name": "all", "tier": "project", "verb": "*", "uri": "*",
                               "regex": ".*", "value": 1, "unit": "HOUR", "burst": 1,
                               "active_keys": 0, "keys": {}}]
    assert limited.member.compute("GET", "/flavors").status_code == 200
    assert limited.member.compute("GET", "/flavors").status_code == 429
    # the control plane itself is never limited, even for a project over its limit
    shown = limited.control("GET").json()["limits"][0]
    assert shown["active_keys"] == 1
    assert shown["keys"] == {limited.member.project_id: {"remaining": 0,
                                                          "retry_after": pytest.approx(3600,
                                                                                       abs=5)}}
    assert limited.control("DELETE").status_code == 204
    assert limited.control("GET").json()["enabled"] is False
    assert limited.member.compute("GET", "/flavors").status_code == 200


def test_the_control_plane_refuses_bad_limits_and_non_admins(limited: Limited) -> None:
    bad = limited.control("PUT", json={"limits": [{"name": "x", "value": 0, "unit": "DAY"}]})
    assert bad.status_code == 400
    assert bad.json()["badRequest"]["message"] == (
        "Invalid rate limits: limits[0]: value must be positive")
    missing = limited.control("PUT", json={"rules": []})
    assert missing.status_code == 400
    url = f"{limited.process.url}/_emulator/ratelimits"
    assert limited.member.request("PUT", url, json={"limits": []}).status_code == 403
    assert limited.member.request("GET", url).status_code == 403


def test_the_control_plane_says_when_limiting_is_not_installed(
        emulator: EmulatorProcess, admin: ApiSession) -> None:
    url = f"{emulator.url}/_emulator/ratelimits"
    shown = admin.request("GET", url)
    assert shown.status_code == 200
    assert shown.json() == {"installed": False, "enabled": False, "store": "memory",
                            "limits": []}
    refused = admin.request("PUT", url, json={"limits": []})
    assert refused.status_code == 409
    assert "[ratelimit] enabled = true" in refused.json()["conflictingRequest"]["message"]


def test_limits_rate_lists_the_callers_limits_with_its_standing(limited: Limited) -> None:
    assert limited.member.compute("GET", "/limits").json()["limits"]["rate"] == []
    limited.put({"name": "flavor-reads", "tier": "user", "verb": "GET", "regex": "/flavors",
                 "uri": "*/flavors", "value": 5, "unit": "MINUTE"})
    rate = limited.member.compute("GET", "/limits").json()["limits"]["rate"]
    assert [(r["uri"], r["regex"]) for r in rate] == [("*/flavors", "/flavors")]
    [entry] = rate[0]["limit"]
    assert {k: entry[k] for k in ("verb", "value", "remaining", "unit")} == {
        "verb": "GET", "value": 5, "remaining": 5, "unit": "MINUTE"}
    for _ in range(5):
        assert limited.member.compute("GET", "/flavors").status_code == 200
    [entry] = limited.member.compute("GET", "/limits").json()["limits"]["rate"][0]["limit"]
    assert entry["remaining"] == 0
    assert entry["next-available"] > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # another user's standing is its own
    [entry] = limited.alt.compute("GET", "/limits").json()["limits"]["rate"][0]["limit"]
    assert entry["remaining"] == 5


def test_openstack_limits_show_rate_lists_them(limited: Limited) -> None:
    limited.put({"name": "creates", "tier": "project", "verb": "POST", "regex": "/servers$",
                 "uri": "*/servers", "value": 120, "unit": "MINUTE"})
    rows = openstack_json(limited.member.account, "limits", "show", "--rate")
    assert [(r["Verb"], r["URI"], r["Value"], r["Remain"], r["Unit"]) for r in rows] == [
        ("POST", "*/servers", 120, 120, "MINUTE")]
