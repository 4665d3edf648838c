"""Nova's custom JSON-schema formats (``name``, ``uuid``, ...) for request validation.

NOTE: Nova builds its "printable" character class from the Basic Multilingual Plane only
(code points below U+FFFF), so a name with an emoji is invalid in Nova; we copy that.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import re
import unicodedata
import uuid
from decimal import Decimal

import jsonschema


class InvalidName(ValueError):
    """A ``name``-format violation, with Nova's message."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"An invalid 'name' value was provided. The name must be: {reason}")


def is_printable(char: str, allow_space: bool = True) -> bool:
    """Nova's notion of a printable character (see ``parameter_types._is_printable``)."""
    if ord(char) >= 0xFFFF:
        return False
    category = unicodedata.category(char)
    if category.startswith("C") or (category.startswith("Z") and category != "Zs"):
        return False
    return allow_space or category != "Zs"


FORMAT_CHECKER = jsonschema.FormatChecker()


@FORMAT_CHECKER.checks("name", raises=InvalidName)
def _name(instance: object) -> bool:
    """Printable characters; the first and last may not be whitespace."""
    if not isinstance(instance, str):
        raise InvalidName("printable characters. Can not start or end with whitespace.")
    ok = all(is_printable(c) for c in instance) and (
        instance == "" or (is_printable(instance[0], False) and is_printable(instance[-1], False))
    )
    if not ok:
        raise InvalidName("printable characters. Can not start or end with whitespace.")
    return True


@FORMAT_CHECKER.checks("az_name", raises=InvalidName)
def _az_name(instance: object) -> bool:
    """An availability zone's name: a ``name`` without ``:`` (which separates the zone
    from a host in ``zone:host:node``). NOTE: Nova's reason lacks a space after "``:.``"."""
    reason = "printable characters except :.Can not start or end with whitespace."
    if not isinstance(instance, str) or ":" in instance:
        raise InvalidName(reason)
    try:
        return _name(instance)
    except InvalidName:
        raise InvalidName(reason) from None


@FORMAT_CHECKER.checks("name_with_leading_trailing_spaces", raises=InvalidName)
def _name_with_spaces(instance: object) -> bool:
    """Printable characters with at least one non-space character."""
    if isinstance(instance, str) and all(is_printable(c) for c in instance) and any(
        is_printable(c, False) for c in instance
    ):
        return True
    raise InvalidName("printable characters with at least one non space character")


@FORMAT_CHECKER.checks("uuid")
def _uuid(instance: object) -> bool:
    """oslo's ``is_uuid_like``: hyphens, braces and a ``urn:uuid:`` prefix are optional,
    any case, but nothing ``int()`` would also swallow (``+``, ``_``, whitespace)."""
    if not isinstance(instance, str):
        return True
    try:
        parsed = uuid.UUID(instance)
    except ValueError:
        return False
    bare = instance.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
    return parsed.hex == bare.lower()


@FORMAT_CHECKER.checks("ipv4")
def _ipv4(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        ipaddress.IPv4Address(instance)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("ipv6")
def _ipv6(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        address = ipaddress.IPv6Address(instance)
    except ValueError:
        return False
    return not address.scope_id  # jsonschema's check (Nova's) refuses "fe80::1%eth0"


@FORMAT_CHECKER.checks("regex")
def _regex(instance: object) -> bool:
    """A pattern Python compiles; Nova refuses the empty one (it would match anything)."""
    if not isinstance(instance, str):
        return True
    if not instance:
        return False
    try:
        re.compile(instance)
    except re.error:
        return False
    return True


@FORMAT_CHECKER.checks("description")
def _description(instance: object) -> bool:
    """Nova's ``valid_description_regex``: printable characters only (spaces allowed)."""
    return not isinstance(instance, str) or all(is_printable(c) for c in instance)


@FORMAT_CHECKER.checks("base64")
def _base64(instance: object) -> bool:
    """What Python's lenient decoder takes: characters outside the alphabet are skipped,
    then the padding must come out right (``"abc$"`` fails, ``"abcd$"`` passes).

    NOTE: Nova fails with a 500 on non-ASCII text here; we call it invalid (a 400).
    """
    if not isinstance(instance, str):
        return True
    try:
        base64.b64decode(instance.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error):
        return False
    return True


#: The ISO 8601 subset the ``iso8601`` library (oslo's ``parse_isotime``) reads: a year,
#: then optionally a month, then optionally a day (``-`` optional, one-digit month/day
#: with it; no bare ``YYYYMM``) and a time after ``T`` or a space (``:`` optional,
#: seconds with a ``.``/``,`` fraction, zone ``Z`` or ``±HH[[:]MM]``).
_ISO8601 = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:"
    r"(?:-(?P<month_dash>[0-9]{1,2})|(?P<month>[0-9]{2})(?!$))"
    r"(?:"
    r"(?:-(?P<day_dash>[0-9]{1,2})|(?P<day>[0-9]{2}))"
    r"(?:[ T](?P<hour>[0-9]{2})"
    r"(?::?(?P<minute>[0-9]{2}))?"
    r"(?::?(?P<second>[0-9]{1,2})(?:[.,](?P<fraction>[0-9]+))?)?"
    r"(?P<zone>Z|(?P<sign>[-+])(?P<zone_hour>[0-9]{2}):?(?P<zone_minute>[0-9]{2})?)?"
    r")?"
    r")?"
    r")?$"
)


def parse_isotime(text: str) -> datetime.datetime:
    """An aware datetime (UTC when no zone is given), or ``ValueError``, as Nova parses
    ``changes-since`` and friends."""
    match = _ISO8601.match(text)
    if match is None:
        raise ValueError(f"Unable to parse date string {text!r}")
    g = match.groupdict()
    zone: datetime.tzinfo = datetime.UTC
    if g["sign"] is not None:
        sign = -1 if g["sign"] == "-" else 1
        zone = datetime.timezone(sign * datetime.timedelta(
            hours=int(g["zone_hour"]), minutes=int(g["zone_minute"] or 0)))
    fraction = g["fraction"] or "0"
    return datetime.datetime(
        int(g["year"]),
        int(g["month"] or g["month_dash"] or 1),
        int(g["day"] or g["day_dash"] or 1),
        int(g["hour"] or 0),
        int(g["minute"] or 0),
        int(g["second"] or 0),
        int(Decimal(f"0.{fraction}") * 1000000),
        tzinfo=zone,
    )


@FORMAT_CHECKER.checks("date-time")
def _date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        parse_isotime(instance)
    except ValueError:
        return False
    return True
