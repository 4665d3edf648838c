"""What authentication and the compute pipeline cost per request, relative to the cheapest
request the emulator serves (the unauthenticated compute versions document)."""

from __future__ import annotations

from typing import Any

import httpx

from benchmarks.conftest import record_ratio, reference_median
from conformance.client import ApiSession

REFERENCE = "GET /compute/ (versions document, no token)"
#: The flavors every emulator seeds (a member sees them all: they are public).
SEEDED_FLAVORS = 12


def _ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text


def test_authenticated_flavor_show(benchmark: Any, member: ApiSession, http: httpx.Client) -> None:
    """GET /flavors/1: token check, microversion, route, one flavor read, view."""
    reference = reference_median(lambda: _ok(http.get(f"{member.compute_root}/")))
    shown = member.compute("GET", "/flavors/1")
    _ok(shown)
    assert shown.json()["flavor"]["id"] == "1"
    benchmark(lambda: _ok(member.compute("GET", "/flavors/1")))
    record_ratio(benchmark, reference, REFERENCE)


def test_flavor_detail_list(benchmark: Any, member: ApiSession, http: httpx.Client) -> None:
    """GET /flavors/detail at 2.61 (every seeded flavor with extra specs)."""
    reference = reference_median(lambda: _ok(http.get(f"{member.compute_root}/")))
    listed = member.compute("GET", "/flavors/detail", version="2.61")
    _ok(listed)
    flavors = listed.json()["flavors"]
    assert len(flavors) == SEEDED_FLAVORS and all("extra_specs" in f for f in flavors)
    benchmark(lambda: _ok(member.compute("GET", "/flavors/detail", version="2.61")))
    record_ratio(benchmark, reference, REFERENCE)


def test_token_issue(benchmark: Any, member: ApiSession, http: httpx.Client) -> None:
    """POST /identity/v3/auth/tokens with a password (scrypt verification included)."""
    body = member.account.password_auth()
    url = f"{member.account.auth_url}/auth/tokens"
    reference = reference_median(lambda: _ok(http.get(f"{member.compute_root}/")))

    def issue() -> None:
        response = http.post(url, json=body)
        assert response.status_code == 201, response.text
        assert response.headers["X-Subject-Token"]

    issued = http.post(url, json=body)
    assert issued.status_code == 201, issued.text
    assert issued.json()["token"]["project"]["id"] == member.project_id
    benchmark(issue)
    record_ratio(benchmark, reference, REFERENCE)
