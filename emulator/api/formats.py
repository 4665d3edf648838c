"""Nova's custom JSON-schema formats (``name``, ``uuid``, ...) for request validation.

NOTE: Nova builds its "printable" character class from the Basic Multilingual Plane only
(code points below U+FFFF), so a name with an emoji is invalid in Nova; we copy that.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import uuid

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
    if not isinstance(instance, str):
        return True
    try:
        uuid.UUID(instance)
    except ValueError:
        return False
    return True


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
        ipaddress.IPv6Address(instance)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("regex")
def _regex(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        re.compile(instance)
    except re.error:
        return False
    return True


@FORMAT_CHECKER.checks("description")
def _description(instance: object) -> bool:
    """Nova's ``valid_description_regex``: printable characters only (spaces allowed)."""
    return not isinstance(instance, str) or all(is_printable(c) for c in instance)
