"""Scheduler policies are plug-ins: ``[scheduler] filters`` and ``weighers`` name Nova's
built-ins, names registered in the entry point groups ``nova_emulator.scheduler_filters``
and ``nova_emulator.scheduler_weighers``, or dotted paths (``package.module:attribute`` or
``package.module.attribute``).

A filter is a callable ``(provider, decision) -> bool`` (see ``emulator.placement.filters``).
A weigher is a ``Weigher`` or a callable ``(provider, decision) -> float`` (made a dynamic
weigher: the index cannot sort by what it does not know to be static).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from emulator.errors import EmulatorError
from emulator.placement.filters import FILTERS, Filter
from emulator.placement.weighers import WEIGHERS, Weigher

FILTER_GROUP = "nova_emulator.scheduler_filters"
WEIGHER_GROUP = "nova_emulator.scheduler_weighers"


class UnknownPolicy(EmulatorError):
    """A filter or weigher no built-in, entry point or dotted path gives."""


def _dotted(path: str) -> Any:
    module, _colon, attribute = path.partition(":")
    if not attribute:
        module, _dot, attribute = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UnknownPolicy(f"cannot load {path!r}: {exc}") from None


def _find(name: str, group: str, builtin: dict[str, Any]) -> Any:
    if name in builtin:
        return builtin[name]
    found = entry_points(group=group, name=name)
    if found:
        return next(iter(found)).load()
    if "." in name or ":" in name:
        return _dotted(name)
    known = sorted({*builtin, *(ep.name for ep in entry_points(group=group))})
    raise UnknownPolicy(f"no scheduler policy named {name!r} (built in, entry point group "
                        f"{group}, or a dotted path); there are: {', '.join(known)}")


def load_filters(names: Iterable[str]) -> dict[str, Filter]:
    """Every filter ``names`` asks for, by the name it was asked by."""
    loaded: dict[str, Filter] = {}
    for name in names:
        found = _find(name, FILTER_GROUP, FILTERS)
        if not callable(found):
            raise UnknownPolicy(f"scheduler filter {name!r} is not callable")
        loaded[name] = found
    return loaded


def load_weighers(names: Iterable[str]) -> dict[str, Weigher]:
    """Every weigher ``names`` asks for, by the name it was asked by."""
    loaded: dict[str, Weigher] = {}
    for name in names:
        found = _find(name, WEIGHER_GROUP, WEIGHERS)
        if isinstance(found, Weigher):
            loaded[name] = found
        elif callable(found):
            loaded[name] = Weigher(name, found, static=False)
        else:
            raise UnknownPolicy(f"scheduler weigher {name!r} is neither a Weigher nor "
                                f"callable")
    return loaded
