"""Microversion negotiation: defaults, both headers, ``latest``, 400 and 406, and the echo."""

from __future__ import annotations

import pytest

from conformance.client import ApiSession

VERSION_HEADERS = ("OpenStack-API-Version", "X-OpenStack-Nova-API-Version")


def max_version(member: ApiSession) -> str:
    return str(member.http.get(f"{member.compute_url}/").json()["version"]["version"])


def assert_echo(response: object, version: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["OpenStack-API-Version"] == f"compute {version}"
    assert headers["X-OpenStack-Nova-API-Version"] == version
    assert set(headers.get_list("Vary")) >= set(VERSION_HEADERS)


# Any authenticated path under /v2.1 negotiates; an unknown one is a 404 that echoes too.
PROBE = "/os-no-such-resource"


def test_no_header_means_minimum(member: ApiSession) -> None:
    assert_echo(member.compute("GET", PROBE), "2.1")


def test_legacy_header_alone_is_honoured(member: ApiSession) -> None:
    assert_echo(member.compute("GET", PROBE, version="2.1"), "2.1")


def test_standard_header(member: ApiSession) -> None:
    response = member.compute("GET", PROBE,
                              headers={"OpenStack-API-Version": "compute 2.1"})
    assert_echo(response, "2.1")


def test_latest_is_the_advertised_maximum(member: ApiSession) -> None:
    assert_echo(member.compute("GET", PROBE, version="latest"), max_version(member))


def test_standard_header_wins_over_legacy(member: ApiSession) -> None:
    response = member.compute("GET", PROBE, headers={
        "OpenStack-API-Version": "compute latest",
        "X-OpenStack-Nova-API-Version": "2.1",
    })
    assert_echo(response, max_version(member))


def test_last_compute_entry_of_a_multi_service_header(member: ApiSession) -> None:
    response = member.compute("GET", PROBE, headers={
        "OpenStack-API-Version": "compute 2.999, identity 3.0, compute 2.1",
    })
    assert_echo(response, "2.1")


@pytest.mark.parametrize("value", ["2", "2.x", "v2.1", "Latest", "2.01", "2.1.1", "-2.1"])
def test_malformed_version_is_400_without_echo(member: ApiSession, value: str) -> None:
    response = member.compute("GET", PROBE, version=value)
    assert response.status_code == 400
    assert response.json() == {"badRequest": {
        "code": 400,
        "message": f"API Version String {value} is of invalid format. Must be of "
                   "format MajorNum.MinorNum.",
    }}
    assert "X-OpenStack-Nova-API-Version" not in response.headers


@pytest.mark.parametrize("value", ["2.0", "2.999", "3.0", "1.5"])
def test_out_of_range_is_406_and_echoes_the_rejected_version(
    member: ApiSession, value: str
) -> None:
    response = member.compute("GET", PROBE, version=value)
    assert response.status_code == 406
    top = max_version(member)
    assert response.json() == {"computeFault": {
        "code": 406,
        "message": f"Version {value} is not supported by the API. Minimum is 2.1 and "
                   f"maximum is {top}.",
    }}
    assert_echo(response, value)


def test_errors_echo_the_version(member: ApiSession) -> None:
    response = member.compute("GET", PROBE, version="latest")
    assert response.status_code == 404
    assert response.json() == {
        "itemNotFound": {"code": 404, "message": "The resource could not be found."}
    }
    assert_echo(response, max_version(member))


def test_version_documents_are_public(member: ApiSession) -> None:
    response = member.http.get(f"{member.compute_url}/")
    assert response.status_code == 200
