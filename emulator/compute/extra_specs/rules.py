"""What an extra spec's value may be, and what one entry of the table says.

Names may embed parameters, written ``{param}`` in :attr:`ExtraSpec.name`, each standing
for a regex given in :attr:`ExtraSpec.params`; the entry's :attr:`ExtraSpec.name_regex`
replaces each ``{param}`` with a named group of that regex and keeps the rest of the name
as it is, as Nova does (so the ``.`` in ``hw:numa_cpus.{num}`` matches any character).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StrRule:
    """Any string, or one matching ``pattern`` in full, or one of ``enum``.

    At most one of the two is set (were both, ``pattern`` would win, as in Nova).
    """

    pattern: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class IntRule:
    """A string Python's ``int()`` accepts, within ``[min, max]`` where those are set."""

    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class BoolRule:
    """A boolean-like string: oslo's strict ``bool_from_string`` (see :data:`BOOL_STRINGS`)."""


ValueRule = StrRule | IntRule | BoolRule

#: What ``oslo_utils.strutils.bool_from_string(strict=True)`` accepts, compared with the
#: value stripped of surrounding whitespace and lower-cased.
BOOL_STRINGS: frozenset[str] = frozenset(
    {"1", "t", "true", "on", "y", "yes", "0", "f", "false", "off", "n", "no"}
)


@dataclass(frozen=True, slots=True)
class ExtraSpec:
    """One extra spec Nova knows.

    ``name`` is Nova's name for it; each ``{param}`` in it is a parameter whose regex is
    given in ``params`` as a ``(param, regex)`` pair.
    """

    name: str
    value: ValueRule
    params: tuple[tuple[str, str], ...] = ()
    deprecated: bool = False
    name_regex: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = self.name
        for param, pattern in self.params:
            regex = regex.replace(f"{{{param}}}", f"(?P<{param}>{pattern})")
        object.__setattr__(self, "name_regex", regex)

    @property
    def namespace(self) -> str | None:
        """The namespace regex (what precedes the first ``:`` of the name regex), if any."""
        if ":" not in self.name_regex:
            return None
        return self.name_regex.split(":", 1)[0]
