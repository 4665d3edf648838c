"""Volumes over HTTP (``/volumes``, ``/volumes/detail``, ``/volumes/summary``,
``/volumes/{id}``): each handler parses, makes one domain call, builds the view
(``cinder/api/v3/volumes.py``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.formats import parse_isotime
from emulator.api.routing import Call, empty_response, json_response
from emulator.api.volume import schemas
from emulator.api.volume.common import (
    NOT_FILTERS,
    ListingController,
    bool_param,
    check_text,
    context,
    list_query,
    literal,
    sort_params,
    to_bool,
    validate,
    with_count,
)
from emulator.api.volume.microversion import V
from emulator.api.volume.volume_views import detail, extended, volume_list
from emulator.volume.listing import TIME_OPERATORS
from emulator.volume.records import NewVolume, TimeComparison

#: Filters a non-admin may use on volume lists (Cinder's ``resource_filters.json``).
USER_FILTERS = ("name", "status", "metadata", "bootable", "migration_status",
                "availability_zone", "group_id", "size", "created_at", "updated_at",
                "consumes_quota")
#: Filters older microversions do not know (dropped below them, before 3.31).
ADDED_FILTERS = ((V(4), "glance_metadata"), (V(10), "group_id"), (V(60), "created_at"),
                 (V(60), "updated_at"), (V(65), "consumes_quota"))
#: Boolean columns of Cinder's volumes table.
BOOLEAN_FILTERS = ("bootable", "multiattach", "use_quota", "encrypted")
#: API names of record attributes.
RENAMES = {"display_name": "name", "consumes_quota": "use_quota",
           "display_description": "description"}
MULTIATTACH_REMOVED = (
    "multiattach parameter has been removed. The default behavior is to use multiattach "
    "enabled volume types. Contact your administrator to create a multiattach enabled "
    "volume type and use it to create multiattach volumes.")


def _create_schema(call: Call) -> dict[str, Any]:
    if call.version >= V(53):
        return schemas.VOLUME_CREATE_V353
    if call.version >= V(47):
        return schemas.VOLUME_CREATE_V347
    if call.version >= V(13):
        return schemas.VOLUME_CREATE_V313
    return schemas.VOLUME_CREATE


def reject_unknown_filters(call: Call, filters: dict[str, str],
                           allowed: tuple[str, ...]) -> None:
    """From 3.31 a non-admin's unknown filter is a 400 (``all_tenants`` is ignored);
    before, it is dropped."""
    if context(call).is_admin:
        return
    unknown = [key for key in filters if key not in allowed]
    if unknown and call.version >= V(31):
        raise Fault(400, f"Invalid filters {','.join(unknown)} are found in query options.")
    for key in unknown:
        del filters[key]


def volume_filters(call: Call) -> dict[str, Any]:
    raw = {k: v for k, v in call.request.query_params.items() if k not in NOT_FILTERS}
    if call.version < V(31):
        for version, name in ADDED_FILTERS:
            if call.version < version:
                raw.pop(name, None)
    reject_unknown_filters(call, raw, USER_FILTERS)
    strict = call.version >= V(2)
    filters: dict[str, Any] = {}
    for key, value in raw.items():
        name = RENAMES.get(key, key)
        if name in ("created_at", "updated_at") and call.version >= V(60):
            filters[name] = time_comparison(name, value)
        elif name in BOOLEAN_FILTERS:
            if strict and value.lower() not in ("true", "false", "1", "0", "t", "f", "yes",
                                                "no", "y", "n", "on", "off"):
                raise Fault(400, f"Invalid input received: '{name} = {value}'")
            filters[name] = to_bool(value) if strict else (
                value not in ("False", "false", "FALSE") and bool(value))
        elif name == "name":
            filters[name] = value
        else:
            filters[name] = literal(value)
    return filters


def time_comparison(name: str, value: str) -> TimeComparison:
    """``gt:2024-01-01T00:00:00[,lt:…]`` as Cinder's ``_handle_time_comparison_filters``
    reads it."""
    terms = []
    for unit in value.split(","):
        op, sep, when = unit.partition(":")
        if not sep:
            raise Fault(400, f"Invalid {name} value")
        if op not in TIME_OPERATORS:
            raise Fault(400, f"Invalid {op} operator")
        try:
            terms.append((op, parse_isotime(when)))
        except ValueError:
            raise Fault(400, f"Invalid {when} value") from None
    return TimeComparison(tuple(terms))


class VolumesController(ListingController):
    def listing(self, call: Call, detailed: bool) -> Response:
        query = call.request.query_params
        counted = with_count(call)
        page = self.volumes.list_volumes(context(call), list_query(
            call, volume_filters(call), sort_params(query, RENAMES)))
        return json_response(volume_list(call, page.items, detailed,
                                         page.total if counted else None))

    async def summary(self, call: Call) -> Response:
        """``GET /volumes/summary`` (3.12): how many, how large, what metadata (3.36)."""
        page = self.volumes.list_volumes(context(call), list_query(call, {}, ()))
        body: dict[str, Any] = {"total_count": page.total,
                                "total_size": sum(v.size for v in page.items)}
        if call.version >= V(36):
            values: dict[str, set[str]] = {}
            for volume in page.items:
                for key, value in volume.metadata.items():
                    values.setdefault(key, set()).add(value)
            body["metadata"] = {k: sorted(v) for k, v in values.items()}
        return json_response({"volume-summary": body})

    async def show(self, call: Call) -> Response:
        volume = self.volumes.get_volume(context(call), call.params["volume_id"])
        return json_response({"volume": extended(call, volume)})

    async def create(self, call: Call) -> Response:
        body = validate(_create_schema(call), call.body)
        spec = body["volume"]
        for missing, kind in (("consistencygroup_id", "Group"), ("group_id", "Group"),
                              ("backup_id", "Backup")):
            if spec.get(missing):
                raise Fault(404, f"{kind} {spec[missing]} could not be found.")
        if spec.get("multiattach") is not None and to_bool(spec["multiattach"]):
            raise Fault(400, MULTIATTACH_REMOVED)
        name = spec.get("name", spec.get("display_name"))
        description = spec.get("description", spec.get("display_description"))
        image = spec.get("imageRef", spec.get("image_id"))
        size = spec.get("size")
        new = NewVolume(
            size=int(size) if size is not None else None,
            name=check_text(name, "name"), description=check_text(description, "description"),
            volume_type=spec.get("volume_type") or None,
            metadata=dict(spec.get("metadata") or {}),
            availability_zone=spec.get("availability_zone"),
            snapshot_id=spec.get("snapshot_id"), source_volid=spec.get("source_volid"),
            image_id=image)
        volume = self.volumes.create_volume(context(call), new)
        return json_response({"volume": detail(call, volume, admin_metadata=False)},
                             status=202)

    async def update(self, call: Call) -> Response:
        schema = schemas.VOLUME_UPDATE_V353 if call.version >= V(53) \
            else schemas.VOLUME_UPDATE
        spec = validate(schema, call.body)["volume"]
        changes: dict[str, Any] = {}
        for key, alias in (("name", "display_name"), ("description", "display_description")):
            if key in spec or alias in spec:
                changes[key] = check_text(spec.get(key, spec.get(alias)), key)
        if "metadata" in spec:
            changes["metadata"] = spec["metadata"]
        volume = self.volumes.update_volume(context(call), call.params["volume_id"], changes)
        return json_response({"volume": detail(call, volume)})

    async def delete(self, call: Call) -> Response:
        query = call.request.query_params
        cascade = bool_param(query, "cascade")
        force = call.version >= V(23) and bool_param(query, "force")
        self.volumes.delete_volume(context(call), call.params["volume_id"], cascade=cascade,
                                   force=force)
        return empty_response(202)
