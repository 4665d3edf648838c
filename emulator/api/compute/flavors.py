"""Flavors, flavor access and flavor extra specs (``/flavors``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.flavors import (
    FlavorQuery,
    FlavorRecord,
    FlavorService,
    NewFlavor,
)
from emulator.compute.policy import allowed

_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


def schema_bool(value: Any) -> bool:
    """oslo's ``bool_from_string(strict=True)`` for values the schema already allowed."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


class FlavorsController:
    def __init__(self, flavors: FlavorService) -> None:
        self.flavors = flavors

    # -- views ---------------------------------------------------------------------------

    def _basic(self, call: Call, f: FlavorRecord) -> dict[str, Any]:
        view: dict[str, Any] = {"id": f.flavorid, "name": f.name,
                                "links": common.links(call, "flavors", f.flavorid)}
        if call.version >= V(2, 55):
            view["description"] = f.description
        return view

    def _show(self, call: Call, f: FlavorRecord, specs: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": f.flavorid,
            "name": f.name,
            "ram": f.memory_mb,
            "disk": f.root_gb,
            # NOTE: Nova shows a zero swap as "" until 2.75, and rxtx_factor 0 as "".
            "swap": f.swap if call.version >= V(2, 75) else (f.swap or ""),
            "OS-FLV-EXT-DATA:ephemeral": f.ephemeral_gb,
            "OS-FLV-DISABLED:disabled": f.disabled,
            "vcpus": f.vcpus,
            "os-flavor-access:is_public": f.is_public,
            "rxtx_factor": f.rxtx_factor or "",
            "links": common.links(call, "flavors", f.flavorid),
        }
        if call.version >= V(2, 55):
            view["description"] = f.description
        if specs:
            view["extra_specs"] = dict(f.extra_specs)
        if call.version >= V(2, 102):
            del view["OS-FLV-DISABLED:disabled"], view["rxtx_factor"]
        return view

    def _with_specs(self, call: Call) -> bool:
        """Extra specs are embedded from 2.61 when the caller may read them."""
        return call.version >= V(2, 61) and allowed(
            common.context(call), "os_compute_api:os-flavor-extra-specs:index"
        )

    # -- flavors -------------------------------------------------------------------------

    def _query(self, call: Call) -> FlavorQuery:
        common.check_query(call, "flavor_index_query")
        ctx = common.context(call)
        limit, marker = common.limit_and_marker(call)
        is_public: bool | None = True
        raw_public = common.last_value(call, "is_public")
        if ctx.is_admin and raw_public is not None:
            lowered = raw_public.strip().lower()
            if lowered == "none":
                is_public = None
            elif lowered in _TRUE | _FALSE:
                is_public = lowered in _TRUE
            else:
                raise Fault(400, f"Invalid is_public filter [{raw_public}]")
        minimums: dict[str, int | None] = {}
        for param in ("minRam", "minDisk"):
            raw = common.last_value(call, param)
            try:
                minimums[param] = int(raw) if raw is not None else None
            except ValueError:
                raise Fault(400, f"Invalid {param} filter [{raw}]") from None
        return FlavorQuery(
            is_public=is_public,
            min_memory_mb=minimums["minRam"],
            min_root_gb=minimums["minDisk"],
            name=common.last_value(call, "name") if call.version >= V(2, 102) else None,
            sort_key=common.last_value(call, "sort_key") or "flavorid",
            sort_dir=common.last_value(call, "sort_dir") or "asc",
            limit=limit,
            marker=marker,
        )

    def _list(self, call: Call, collection: str, detail: bool) -> Response:
        found = self.flavors.list_flavors(common.context(call), self._query(call))
        specs = detail and self._with_specs(call)
        items = [self._show(call, f, specs) if detail else self._basic(call, f) for f in found]
        last = found[-1].flavorid if found else None
        return json_response(common.page_body(call, "flavors", collection, items, last))

    async def index(self, call: Call) -> Response:
        return self._list(call, "flavors", detail=False)

    async def detail(self, call: Call) -> Response:
        return self._list(call, "flavors/detail", detail=True)

    async def show(self, call: Call) -> Response:
        common.check_query(call, "flavor_show_query")
        flavor = self.flavors.get(common.context(call), call.params["flavor_id"])
        return json_response({"flavor": self._show(call, flavor, self._with_specs(call))})

    async def create(self, call: Call) -> Response:
        data = common.check_body(call, "flavor_create")["flavor"]
        flavorid = data.get("id")
        new = NewFlavor(
            name=data["name"],
            memory_mb=int(data["ram"]),
            vcpus=int(data["vcpus"]),
            root_gb=int(data["disk"]),
            ephemeral_gb=int(data.get("OS-FLV-EXT-DATA:ephemeral", 0)),
            swap=int(data.get("swap", 0)),
            rxtx_factor=float(data.get("rxtx_factor", 1.0)),
            is_public=schema_bool(data.get("os-flavor-access:is_public", True)),
            flavorid=str(flavorid) if flavorid not in (None, "") else None,
            description=data.get("description"),
        )
        flavor = self.flavors.create(common.context(call), new)
        # NOTE: 200, not 201, as Nova answers.
        return json_response({"flavor": self._show(call, flavor, self._with_specs(call))})

    async def update(self, call: Call) -> Response:
        common.check_body(call, "flavor_update")
        flavor = self.flavors.set_description(
            common.context(call), call.params["flavor_id"], call.body["flavor"]["description"]
        )
        return json_response({"flavor": self._show(call, flavor, self._with_specs(call))})

    async def delete(self, call: Call) -> Response:
        self.flavors.delete(common.context(call), call.params["flavor_id"])
        return empty_response(202)

    # -- access --------------------------------------------------------------------------

    @staticmethod
    def _access_view(flavorid: str, projects: tuple[str, ...]) -> Response:
        return json_response({"flavor_access": [
            {"flavor_id": flavorid, "tenant_id": p} for p in projects
        ]})

    async def access_list(self, call: Call) -> Response:
        common.check_query(call, "flavor_access_query")
        flavorid = call.params["flavor_id"]
        return self._access_view(flavorid,
                                 self.flavors.access_list(common.context(call), flavorid))

    async def action(self, call: Call) -> Response:
        return await common.dispatch_action(call, {
            "addTenantAccess": (V(2, 1), self._add_access),
            "removeTenantAccess": (V(2, 1), self._remove_access),
        })

    async def _add_access(self, call: Call, _payload: Any) -> Response:
        common.check_body(call, "flavor_add_access")
        flavorid = call.params["flavor_id"]
        projects = self.flavors.add_access(
            common.context(call), flavorid, call.body["addTenantAccess"]["tenant"],
            refuse_public=call.version >= V(2, 7),
        )
        return self._access_view(flavorid, projects)

    async def _remove_access(self, call: Call, _payload: Any) -> Response:
        common.check_body(call, "flavor_remove_access")
        flavorid = call.params["flavor_id"]
        projects = self.flavors.remove_access(
            common.context(call), flavorid, call.body["removeTenantAccess"]["tenant"]
        )
        return self._access_view(flavorid, projects)

    # -- extra specs ---------------------------------------------------------------------

    async def specs_index(self, call: Call) -> Response:
        common.check_query(call, "extra_specs_query")
        specs = self.flavors.extra_specs(common.context(call), call.params["flavor_id"])
        return json_response({"extra_specs": specs})

    async def specs_create(self, call: Call) -> Response:
        common.check_body(call, "extra_specs_create")
        self.flavors.set_extra_specs(common.context(call), call.params["flavor_id"],
                                     call.body["extra_specs"], "create",
                                     validate=call.version >= V(2, 86))
        return json_response(call.body)

    async def specs_show(self, call: Call) -> Response:
        common.check_query(call, "extra_specs_query")
        key = call.params["key"]
        value = self.flavors.extra_spec(common.context(call), call.params["flavor_id"], key)
        return json_response({key: value})

    async def specs_update(self, call: Call) -> Response:
        common.check_body(call, "extra_specs_update")
        if call.params["key"] not in call.body:
            raise Fault(400, "Request body and URI mismatch")
        self.flavors.set_extra_specs(common.context(call), call.params["flavor_id"],
                                     call.body, "update", validate=call.version >= V(2, 86))
        return json_response(call.body)

    async def specs_delete(self, call: Call) -> Response:
        self.flavors.delete_extra_spec(common.context(call), call.params["flavor_id"],
                                       call.params["key"])
        return empty_response(200)
