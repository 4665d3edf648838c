"""Nova's lookup of an extra spec in the table, and its messages (see the package)."""

from __future__ import annotations

import re
from functools import cache

from emulator.compute.extra_specs.rules import (
    BOOL_STRINGS,
    BoolRule,
    ExtraSpec,
    IntRule,
    ValueRule,
)
from emulator.compute.extra_specs.table import EXTRA_SPECS, NAMESPACES


class InvalidExtraSpec(ValueError):
    """An extra spec Nova would refuse; ``message`` is Nova's text for it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_BY_NAME: dict[str, ExtraSpec] = {spec.name: spec for spec in EXTRA_SPECS}


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], ExtraSpec], ...]:
    return tuple((re.compile(spec.name_regex), spec) for spec in EXTRA_SPECS)


@cache
def _compiled_namespaces() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(ns) for ns in sorted(NAMESPACES))


@cache
def _compiled_value_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def find_extra_spec(name: str) -> ExtraSpec | None:
    """The entry that governs ``name`` (steps 1 and 2 of the package's lookup), if any."""
    spec = _BY_NAME.get(name)
    if spec is not None:
        return spec
    for regex, candidate in _compiled():
        if regex.fullmatch(name):
            return candidate
    return None


def _fail(detail: str) -> InvalidExtraSpec:
    return InvalidExtraSpec(f"Validation failed; {detail}")


def _check_value(rule: ValueRule, value: str) -> None:
    if isinstance(rule, BoolRule):
        if value.strip().lower() not in BOOL_STRINGS:
            raise _fail(f"'{value}' is not a valid boolean-like value.")
    elif isinstance(rule, IntRule):
        try:
            number = int(value)
        except ValueError:
            raise _fail(f"'{value}' is not a valid integer value.") from None
        if rule.max is not None and number > rule.max:
            raise _fail(f"'{number}' is greater than the max value of '{rule.max}'.")
        if rule.min is not None and number < rule.min:
            raise _fail(f"'{number}' is less than the min value of '{rule.min}'.")
    elif rule.pattern is not None:
        if not _compiled_value_pattern(rule.pattern).fullmatch(value):
            raise _fail(f"'{value}' is not of the format '{rule.pattern}'.")
    elif rule.enum is not None and value not in rule.enum:
        raise _fail(f"'{value}' is not one of: {', '.join(rule.enum)}.")


def _check(spec: ExtraSpec, name: str, value: str) -> None:
    # An exact hit on a template name (say 'hw:numa_cpus.{num}' itself) lands here
    # without matching the entry's regex; Nova refuses it so.
    if not re.fullmatch(spec.name_regex, name):
        raise _fail(f"expected a name of format '{spec.name}' but got '{name}'.")
    _check_value(spec.value, value)


def validate_extra_spec(name: str, value: str) -> None:
    """Check one extra spec as Nova does from microversion 2.86.

    :raises InvalidExtraSpec: with Nova's message, if Nova would refuse it.
    """
    spec = find_extra_spec(name)
    if spec is not None:
        _check(spec, name, value)
        return
    if ":" not in name:
        return
    prefix = name.split(":", 1)[0]
    if any(ns.fullmatch(prefix) for ns in _compiled_namespaces()):
        raise _fail(f"extra spec '{name}' does not appear to be a valid extra spec.")
