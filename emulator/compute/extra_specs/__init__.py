"""Flavor extra spec validation, as Nova does it from microversion 2.86.

From 2.86 on, ``POST /flavors/{id}/os-extra_specs`` and
``PUT /flavors/{id}/os-extra_specs/{key}`` check every spec against the extra specs Nova
knows. Those are data, in :data:`EXTRA_SPECS`, and :func:`validate_extra_spec` applies
them in Nova's order:

1. a spec whose name is exactly an entry's name (its template, for entries with embedded
   parameters) is checked against that entry;
2. otherwise the first entry, in table order, whose name regex matches the whole name;
3. otherwise a name with a namespace (the part before the first ``:``) that is one of the
   known namespaces (:data:`NAMESPACES`, which are derived from the entries' regexes) is
   rejected as unknown; names without a namespace, and names in other namespaces, pass.

The package holds, by module: ``rules`` what a value may be and what an entry is,
``standard`` the placement trait and resource class names entries are built from,
``table`` every entry, and ``validation`` the lookup above with Nova's messages.
"""

from __future__ import annotations

from emulator.compute.extra_specs.rules import (
    BOOL_STRINGS,
    BoolRule,
    ExtraSpec,
    IntRule,
    StrRule,
    ValueRule,
)
from emulator.compute.extra_specs.table import EXTRA_SPECS, NAMESPACES
from emulator.compute.extra_specs.validation import (
    InvalidExtraSpec,
    find_extra_spec,
    validate_extra_spec,
)

__all__ = [
    "BOOL_STRINGS",
    "EXTRA_SPECS",
    "NAMESPACES",
    "BoolRule",
    "ExtraSpec",
    "IntRule",
    "InvalidExtraSpec",
    "StrRule",
    "ValueRule",
    "find_extra_spec",
    "validate_extra_spec",
]
