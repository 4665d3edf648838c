"""Microversion parsing and negotiation (microversion-parse's and Nova's rules)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from starlette.datastructures import Headers

from emulator.api.faults import Fault
from emulator.api.microversion import (
    LEGACY_HEADER,
    MAX_VERSION,
    MICROVERSIONS,
    MIN_VERSION,
    STANDARD_HEADER,
    APIVersion,
    VersionNotAcceptable,
    negotiate,
    requested_version,
    version_headers,
)


def headers(*pairs: tuple[str, str]) -> Headers:
    """Starlette's request headers, repeated lines included."""
    return Headers(raw=[(k.lower().encode(), v.encode("latin-1")) for k, v in pairs])


# -- APIVersion ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("2.1", (2, 1)), ("2.0", (2, 0)), ("2.104", (2, 104)), ("10.20", (10, 20)),
    ("1.0", (1, 0)), ("3.999999", (3, 999999)),
])
def test_parse_valid(text: str, expected: tuple[int, int]) -> None:
    assert APIVersion.parse(text) == expected


@pytest.mark.parametrize("text", [
    "", "2", "2.", ".1", "2.x", "v2.1", "latest", "Latest", "2.01", "02.1", "0.1", "2.1.1",
    "-2.1", "2.-1", " 2.1", "2.1 ", "2,1", "2.1a", "+2.1", "2..1", "2.1" + "0" * 5000,
])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(ValueError):
        APIVersion.parse(text)


def test_versions_order_numerically_not_lexically() -> None:
    assert APIVersion(2, 10) > APIVersion(2, 9)
    assert APIVersion(3, 0) > APIVersion(2, 104)
    assert sorted([APIVersion(2, 100), APIVersion(2, 2), APIVersion(2, 11)]) == [
        (2, 2), (2, 11), (2, 100)]


def test_str_round_trips() -> None:
    for text, _ in MICROVERSIONS:
        assert str(APIVersion.parse(text)) == text


def test_microversion_table_is_contiguous_and_ordered() -> None:
    versions = [APIVersion.parse(v) for v, _ in MICROVERSIONS]
    assert versions[0] == MIN_VERSION == (2, 1)
    assert all(b == (a.major, a.minor + 1) for a, b in pairwise(versions))
    assert all(note.strip() for _, note in MICROVERSIONS)
    assert MIN_VERSION <= MAX_VERSION <= versions[-1]
    assert MAX_VERSION in versions


# -- requested_version: which header, which entry -----------------------------------------


def test_no_header_is_none() -> None:
    assert requested_version(headers()) is None
    assert requested_version({}) is None


def test_legacy_header() -> None:
    assert requested_version(headers((LEGACY_HEADER, "2.10"))) == "2.10"


def test_standard_header() -> None:
    assert requested_version(headers((STANDARD_HEADER, "compute 2.10"))) == "2.10"


def test_standard_header_wins_over_legacy() -> None:
    got = requested_version(headers((LEGACY_HEADER, "2.3"), (STANDARD_HEADER, "compute 2.5")))
    assert got == "2.5"


def test_standard_header_without_compute_falls_back_to_legacy() -> None:
    got = requested_version(headers((STANDARD_HEADER, "identity 3.0"), (LEGACY_HEADER, "2.3")))
    assert got == "2.3"
    assert requested_version(headers((STANDARD_HEADER, "identity 3.0"))) is None


def test_last_compute_entry_counts() -> None:
    value = "compute 2.2, identity 3.0, compute 2.7"
    assert requested_version(headers((STANDARD_HEADER, value))) == "2.7"


def test_service_name_is_case_insensitive_and_spacing_is_loose() -> None:
    assert requested_version(headers((STANDARD_HEADER, "COMPUTE   2.4 "))) == "2.4"
    assert requested_version(headers((STANDARD_HEADER, "Compute\t2.4"))) == "2.4"


def test_compute_entry_without_a_version_is_ignored() -> None:
    value = "compute 2.3, compute"
    assert requested_version(headers((STANDARD_HEADER, value))) == "2.3"
    assert requested_version(headers((STANDARD_HEADER, "compute"))) is None


def test_value_after_the_service_is_passed_through_verbatim() -> None:
    # "compute 2.1 extra" -> "2.1 extra", which then fails the format check (400).
    assert requested_version(headers((STANDARD_HEADER, "compute 2.1 extra"))) == "2.1 extra"


def test_legacy_header_last_comma_separated_value() -> None:
    assert requested_version(headers((LEGACY_HEADER, "2.2, 2.9"))) == "2.9"
    assert requested_version(headers((LEGACY_HEADER, "2.2,"))) == ""


def test_empty_legacy_header_is_an_empty_version_not_an_absent_one() -> None:
    assert requested_version(headers((LEGACY_HEADER, ""))) == ""


def test_empty_standard_header_is_absent() -> None:
    assert requested_version(headers((STANDARD_HEADER, ""))) is None
    got = requested_version(headers((STANDARD_HEADER, ""), (LEGACY_HEADER, "2.4")))
    assert got == "2.4"


def test_repeated_header_lines_fold_with_commas() -> None:
    standard = headers((STANDARD_HEADER, "compute 2.3"), (STANDARD_HEADER, "identity 3.0"))
    assert requested_version(standard) == "2.3"
    standard = headers((STANDARD_HEADER, "compute 2.3"), (STANDARD_HEADER, "compute 2.6"))
    assert requested_version(standard) == "2.6"
    legacy = headers((LEGACY_HEADER, "2.3"), (LEGACY_HEADER, "2.8"))
    assert requested_version(legacy) == "2.8"


def test_plain_mappings_are_read_with_lower_case_keys() -> None:
    assert requested_version({"x-openstack-nova-api-version": "2.5"}) == "2.5"
    assert requested_version({"openstack-api-version": "compute 2.6"}) == "2.6"


# -- negotiate ----------------------------------------------------------------------------


def test_negotiate_default_latest_and_exact() -> None:
    assert negotiate(headers()) == MIN_VERSION
    assert negotiate(headers((LEGACY_HEADER, "latest"))) == MAX_VERSION
    assert negotiate(headers((STANDARD_HEADER, "compute latest"))) == MAX_VERSION
    assert negotiate(headers((LEGACY_HEADER, "2.1"))) == (2, 1)
    assert negotiate(headers((LEGACY_HEADER, str(MAX_VERSION)))) == MAX_VERSION


@pytest.mark.parametrize("value", ["Latest", "LATEST", "2", "2.x", "v2.1", "2.01", "", "2.1,",
                                   "2." + "9" * 5000])
def test_negotiate_malformed_is_400_with_novas_message(value: str) -> None:
    with pytest.raises(Fault) as caught:
        negotiate(headers((LEGACY_HEADER, value)))
    fault = caught.value
    assert not isinstance(fault, VersionNotAcceptable)
    assert fault.status == 400
    expected_raw = value.split(",")[-1].strip()
    assert fault.message == (f"API Version String {expected_raw} is of invalid format. "
                             "Must be of format MajorNum.MinorNum.")


def test_malformed_standard_header_is_400() -> None:
    with pytest.raises(Fault) as caught:
        negotiate(headers((STANDARD_HEADER, "compute 2.x")))
    assert caught.value.status == 400


@pytest.mark.parametrize("value", ["2.0", "1.0", "3.0", "2.999", "1.5",
                                   f"{MAX_VERSION.major}.{MAX_VERSION.minor + 1}"])
def test_negotiate_out_of_range_is_406(value: str) -> None:
    with pytest.raises(VersionNotAcceptable) as caught:
        negotiate(headers((LEGACY_HEADER, value)))
    fault = caught.value
    assert fault.status == 406
    assert fault.version == APIVersion.parse(value)
    assert fault.message == (f"Version {value} is not supported by the API. Minimum is "
                             f"{MIN_VERSION} and maximum is {MAX_VERSION}.")


def test_406_reports_the_normalised_version() -> None:
    huge = "2." + "9" * 30
    with pytest.raises(VersionNotAcceptable) as caught:
        negotiate(headers((LEGACY_HEADER, huge)))
    assert str(caught.value.version) == huge


def test_version_headers_echo_both_and_vary_twice() -> None:
    assert version_headers("2.42") == [
        ("OpenStack-API-Version", "compute 2.42"),
        ("X-OpenStack-Nova-API-Version", "2.42"),
        ("Vary", "OpenStack-API-Version"),
        ("Vary", "X-OpenStack-Nova-API-Version"),
    ]
