"""How a resource module states its schemas by microversion (see the package docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.api.compute.schemas.parameter_types import ANY_QUERY, NO_QUERY
from emulator.api.microversion import APIVersion

V = APIVersion

#: Operation name -> ``(since, schema)`` pairs, oldest first.
Versioned = dict[str, tuple[tuple[APIVersion, Mapping[str, Any]], ...]]

#: Unknown query parameters on the "show" style GETs are refused from 2.102.
STRICT_SHOW = ((V(2, 1), ANY_QUERY), (V(2, 102), NO_QUERY))
#: Queries that took anything until 2.102 and nothing since (flavors, zones, ...).
NO_QUERY_FROM_2102 = ((V(2, 102), NO_QUERY),)
