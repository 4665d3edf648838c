"""Compute microversions: the list we honour, and negotiation from the request headers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from emulator.api.faults import Fault


class APIVersion(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        match = _FORMAT.match(text)
        if match is None:
            raise ValueError(text)
        return cls(int(match.group(1)), int(match.group(2)))


_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")

#: Every microversion we honour, oldest first, with what it changes in what we emulate.
#: The last entry is the maximum advertised in the version documents.
MICROVERSIONS: tuple[tuple[str, str], ...] = (
    ("2.1", "Base v2.1 API: version documents, strict JSON-schema validation."),
)

MIN_VERSION = APIVersion.parse(MICROVERSIONS[0][0])
MAX_VERSION = APIVersion.parse(MICROVERSIONS[-1][0])

STANDARD_HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"


def requested_version(headers: Mapping[str, str]) -> str | None:
    """The raw compute version the client asked for, or None.

    The standard header wins over the legacy one; within the standard header the last
    ``compute`` entry counts, within the legacy header the last comma-separated value.
    """
    standard = headers.get(STANDARD_HEADER.lower())
    if standard:
        found = None
        for entry in standard.split(","):
            parts = entry.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "compute":
                found = parts[1].strip()
        if found is not None:
            return found
    legacy = headers.get(LEGACY_HEADER.lower())
    if legacy:
        return legacy.split(",")[-1].strip()
    return None


def version_headers(version: str) -> list[tuple[str, str]]:
    """The headers Nova puts on every /v2.1 response once a version was parsed."""
    return [
        (STANDARD_HEADER, f"compute {version}"),
        (LEGACY_HEADER, version),
        ("Vary", STANDARD_HEADER),
        ("Vary", LEGACY_HEADER),
    ]


def negotiate(headers: Mapping[str, str]) -> APIVersion:
    """The effective version for a request, or a ``Fault`` (400 malformed, 406 out of range).

    Nova echoes the rejected value on a 406 (``VersionNotAcceptable.version``) but sends no
    version headers with a 400, because the version was never parsed.
    """
    raw = requested_version(headers)
    if raw is None:
        return MIN_VERSION
    if raw == "latest":
        return MAX_VERSION
    try:
        version = APIVersion.parse(raw)
    except ValueError:
        raise Fault(
            400, f"API Version String {raw} is of invalid format. Must be of format "
            "MajorNum.MinorNum."
        ) from None
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionNotAcceptable(version)
    return version


class VersionNotAcceptable(Fault):
    """406: a well-formed version outside [MIN_VERSION, MAX_VERSION]; it is still echoed."""

    def __init__(self, version: APIVersion) -> None:
        super().__init__(
            406,
            f"Version {version} is not supported by the API. Minimum is {MIN_VERSION} and "
            f"maximum is {MAX_VERSION}.",
        )
        self.version = version
