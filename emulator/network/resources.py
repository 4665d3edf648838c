"""A Neutron resource as data: its names, its attribute table, and the operations the
generic controller runs on it (each with the open ``Session`` of one transaction)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import EmulatorError
from emulator.network.attributes import Attribute
from emulator.network.bodies import allowed
from emulator.network.listing import Record, SpecialFilter

Load = Callable[[Session, RequestContext], list[Record]]
Get = Callable[[Session, RequestContext, str], Record]
Create = Callable[[Session, RequestContext, dict[str, Any]], Record]
Update = Callable[[Session, RequestContext, str, dict[str, Any]], Record]
Delete = Callable[[Session, RequestContext, str], None]


@dataclass(frozen=True)
class Resource:
    name: str
    collection: str
    attributes: dict[str, Attribute]
    #: Every record the caller may see.
    load: Load
    #: One record the caller may see, else the resource's 404.
    get: Get
    create: Create
    update: Update
    delete: Delete
    not_found: Callable[[str], EmulatorError]
    #: Its table (a tag change touches the row).
    model: Any
    special_filters: Mapping[str, SpecialFilter] = field(default_factory=dict)
    #: The quota resource a create counts against (None: no quota).
    quota: str | None = None


def view(attributes: Mapping[str, Attribute], record: Record, ctx: RequestContext,
         fields: list[str] | None = None) -> Record:
    """What ``ctx`` is shown of a record: visible attributes its policies let it see, only
    the ``fields`` asked for (when any are)."""
    shown: Record = {}
    for name, value in record.items():
        attribute = attributes.get(name)
        if attribute is not None and (not attribute.visible
                                      or not allowed(attribute.seen_by, ctx)):
            continue
        if fields and name not in fields:
            continue
        shown[name] = value
    return shown
