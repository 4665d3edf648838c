"""Servers (``/servers``): create, list, detail, show, update, delete."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.schemas.servers import kept_query, schema_for
from emulator.api.compute.server_views import ServerView
from emulator.api.faults import Fault
from emulator.api.requests import validate_body, validate_query
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.lifecycle import BuildPlan, Lifecycle
from emulator.compute.policy import allowed, authorize
from emulator.compute.servers import (
    DEFAULT_NETWORK_ID,
    SORT_KEYS,
    NewServer,
    ServerQuery,
    ServerService,
)
from emulator.compute.states import STATUSES
from emulator.context import RequestContext

#: Filters a non-admin may use, by the microversion that allowed them (Nova's
#: ``_get_server_search_options``); others are silently dropped for non-admins.
NON_ADMIN_FILTERS: tuple[tuple[V, tuple[str, ...]], ...] = (
    (V(2, 1), ("reservation_id", "name", "status", "image", "flavor", "ip",
               "changes-since", "all_tenants")),
    (V(2, 5), ("ip6",)),
    (V(2, 26), ("tags", "tags-any", "not-tags", "not-tags-any")),
    (V(2, 66), ("changes-before",)),
    (V(2, 73), ("locked",)),
    (V(2, 83), ("availability_zone", "config_drive", "key_name", "created_at",
                "launched_at", "terminated_at", "power_state", "task_state", "vm_state",
                "progress", "user_id")),
    (V(2, 90), ("hostname",)),
)
PAGING_AND_SORTING = ("limit", "marker", "sort_key", "sort_dir")
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})

#: A plan for the build that fault rules may override (see the control plane).
PlanFor = Any


def _parse_time(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Fault(400, f"Invalid filter field: {name}.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bool(raw: str) -> bool:
    return raw.strip().lower() in _TRUE


class ServersController:
    def __init__(self, servers: ServerService, lifecycle: Lifecycle,
                 plan_for: PlanFor | None = None) -> None:
        self.servers = servers
        self.lifecycle = lifecycle
        self.view = ServerView()
        #: ``plan_for(ctx, new_server) -> BuildPlan | None``: fault rules' say in a build.
        self.plan_for = plan_for

    # -- list ----------------------------------------------------------------------------

    def _query(self, call: Call, detail: bool) -> ServerQuery | None:
        """Parse the list query as Nova does; None means "answer an empty list"."""
        name = "detail_query" if detail else "index_query"
        schema = schema_for(name, call.version)
        raw = common.query_lists(call)
        if schema is not None:
            validate_query(schema, raw)
            raw = kept_query(schema, raw)
        ctx = common.context(call)
        opts: dict[str, list[str]] = {k: v for k, v in raw.items()
                                      if k not in PAGING_AND_SORTING}
        if not allowed(ctx, "os_compute_api:servers:allow_all_filters"):
            permitted = {f for since, names in NON_ADMIN_FILTERS if call.version >= since
                         for f in names}
            opts = {k: v for k, v in opts.items() if k in permitted}

        def last(key: str) -> str | None:
            values = opts.get(key)
            return values[-1] if values else None

        statuses: frozenset[str] | None = None
        if "status" in opts:
            statuses = frozenset(s.upper() for s in opts["status"]) & STATUSES
            if not statuses:
                if call.version >= V(2, 38):
                    raise Fault(400, "Invalid status value")
                return None
        changes_since = changes_before = None
        if (raw_since := last("changes-since")) is not None:
            changes_since = _parse_time(raw_since, "changes-since")
        if (raw_before := last("changes-before")) is not None:
            changes_before = _parse_time(raw_before, "changes-before")
            if changes_since and changes_before < changes_since:
                raise Fault(400, "The value of changes-since must be less than or equal to "
                                 "changes-before.")
        deleted: bool | None = None
        if "deleted" in opts:
            deleted = _bool(last("deleted") or "")
        all_tenants = "all_tenants" in opts and (last("all_tenants") or "").lower() not in (
            "0", "false", "off", "no", "n", "f")
        project_id: str | None = ctx.project_id
        if all_tenants:
            rule = "detail:get_all_tenants" if detail else "index:get_all_tenants"
            authorize(ctx, f"os_compute_api:servers:{rule}")
            project_id = last("project_id") or last("tenant_id")

        def tags(key: str) -> frozenset[str] | None:
            value = last(key)
            if value is None or call.version < V(2, 26):
                return None
            return frozenset(t for t in value.split(",") if t)

        limit, marker = common.limit_and_marker(call)
        sort = self._sort(call, ctx)
        for pattern_key in ("name", "ip", "ip6"):
            pattern = last(pattern_key)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error:
                    raise Fault(400, f"Invalid filter field: {pattern_key}.") from None
        locked = last("locked")
        config_drive = last("config_drive")
        return ServerQuery(
            project_id=project_id,
            user_id=last("user_id"),
            name=last("name"),
            statuses=statuses,
            changes_since=changes_since,
            changes_before=changes_before,
            ip=last("ip"),
            ip6=last("ip6"),
            flavor=last("flavor"),
            image=last("image"),
            host=last("host"),
            node=last("node"),
            availability_zone=last("availability_zone"),
            key_name=last("key_name"),
            config_drive=_bool(config_drive) if config_drive is not None else None,
            locked=_bool(locked) if locked is not None else None,
            vm_state=frozenset(opts["vm_state"]) if "vm_state" in opts else None,
            task_state=frozenset(opts["task_state"]) if "task_state" in opts else None,
            uuid=last("uuid"),
            tags=tags("tags"),
            tags_any=tags("tags-any"),
            not_tags=tags("not-tags"),
            not_tags_any=tags("not-tags-any"),
            deleted=deleted,
            sort=sort,
            limit=limit,
            marker=marker,
        )

    @staticmethod
    def _sort(call: Call, ctx: RequestContext) -> tuple[tuple[str, str], ...]:
        keys = call.request.query_params.getlist("sort_key")
        dirs = call.request.query_params.getlist("sort_dir")
        pairs: list[tuple[str, str]] = []
        for index, key in enumerate(keys):
            direction = dirs[index] if index < len(dirs) else (dirs[-1] if dirs else "desc")
            if key not in SORT_KEYS or (key in ("host", "node") and not ctx.is_admin):
                continue
            pairs.append((key, direction))
        return tuple(pairs) or (("created_at", dirs[0] if dirs else "desc"),)

    def _list(self, call: Call, detail: bool) -> Response:
        query = self._query(call, detail)
        found = [] if query is None else self.servers.list_servers(common.context(call), query)
        if detail:
            items = [self.view.show(call, r) for r in found]
        else:
            items = [self.view.basic(call, r) for r in found]
        body: dict[str, Any] = {"servers": items}
        collection = "servers/detail" if detail else "servers"
        links = common.next_links(call, collection, len(found),
                                  found[-1].uuid if found else None)
        if links:
            body["servers_links"] = links
        return json_response(body)

    async def index(self, call: Call) -> Response:
        authorize(common.context(call), "os_compute_api:servers:index")
        return self._list(call, detail=False)

    async def detail(self, call: Call) -> Response:
        authorize(common.context(call), "os_compute_api:servers:detail")
        return self._list(call, detail=True)

    # -- one server ----------------------------------------------------------------------

    async def show(self, call: Call) -> Response:
        schema = schema_for("show_query", call.version)
        if schema is not None:
            validate_query(schema, common.query_lists(call))
        record = self.servers.get(common.context(call), call.params["server_id"])
        from emulator.api.compute.server_views import ShowFlags

        flags = ShowFlags(show_server_groups=call.version >= V(2, 71))
        return json_response({"server": self.view.show(call, record, flags)})

    async def update(self, call: Call) -> Response:
        schema = schema_for("update", call.version)
        assert schema is not None
        validate_body(schema, call.body)
        server = call.body["server"]
        changes: dict[str, Any] = {}
        if "name" in server:
            changes["display_name"] = server["name"].strip()
        if "description" in server:
            changes["display_description"] = server["description"]
        if "hostname" in server:
            changes["hostname"] = server["hostname"]
        if "accessIPv4" in server:
            changes["access_ip_v4"] = server["accessIPv4"] or None
        if "accessIPv6" in server:
            changes["access_ip_v6"] = server["accessIPv6"] or None
        if "OS-DCF:diskConfig" in server:
            changes["disk_config"] = server["OS-DCF:diskConfig"]
        record = self.servers.update(common.context(call), call.params["server_id"], changes)
        return json_response({"server": self.view.update(call, record)})

    async def delete(self, call: Call) -> Response:
        ctx = common.context(call)
        row = self.servers.begin_delete(ctx, call.params["server_id"])
        self.lifecycle.delete(row.uuid, ctx.request_id)
        return empty_response(204)

    async def force_delete(self, call: Call, _payload: Any) -> Response:
        ctx = common.context(call)
        row = self.servers.begin_delete(ctx, call.params["server_id"], force=True)
        self.lifecycle.delete(row.uuid, ctx.request_id)
        return empty_response(202)

    async def action(self, call: Call) -> Response:
        return await common.dispatch_action(call, {"forceDelete": self.force_delete})

    # -- create --------------------------------------------------------------------------

    @staticmethod
    def _networks(raw: Any) -> Any:
        """Nova's checks of ``networks`` beyond its schema."""
        if raw is None or isinstance(raw, str):
            return raw
        ports: list[str] = []
        for network in raw:
            port = network.get("port")
            if port:
                if port in ports:
                    raise Fault(400, f"Port ID '{port}' was specified twice: you cannot attach "
                                     "a port multiple times.")
                if network.get("fixed_ip") is not None:
                    raise Fault(400, f"Specified Fixed IP '{network['fixed_ip']}' cannot be "
                                     f"used with port '{port}': the two cannot be specified "
                                     "together.")
                raise Fault(400, f"Port id {port} could not be found.")
            if "uuid" not in network:
                raise Fault(400, "Bad network format: missing 'uuid'")
            net_id = network["uuid"]
            if not re.fullmatch(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                                r"[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}", str(net_id)):
                raise Fault(400, "Bad networks format: network uuid is not in proper format "
                                 f"({net_id})")
            if str(net_id).replace("-", "") != DEFAULT_NETWORK_ID.replace("-", ""):
                raise Fault(400, f"Network {net_id} could not be found.")
        return raw

    def _new_server(self, call: Call) -> tuple[NewServer, bool]:
        schema = schema_for("create", call.version)
        assert schema is not None
        validate_body(schema, call.body)
        body: Mapping[str, Any] = call.body
        server: Mapping[str, Any] = body["server"]
        bdms: list[dict[str, Any]] = (server.get("block_device_mapping_v2")
                                      or server.get("block_device_mapping") or [])
        boot_from_volume = bool(bdms) and any(
            str(b.get("boot_index")) == "0" and b.get("source_type", "volume") != "image"
            for b in bdms)
        image_ref = server.get("imageRef") or ""
        if not image_ref and bdms:
            image_ref = next((b.get("uuid", "") for b in bdms
                              if b.get("source_type") == "image"
                              and str(b.get("boot_index")) == "0"), "")
        if not image_ref and not bdms:
            raise Fault(400, "Missing imageRef attribute")
        min_count = int(server.get("min_count", 1))
        max_count = int(server.get("max_count", min_count))
        if min_count > max_count:
            raise Fault(400, "min_count must be <= max_count")
        groups = server.get("security_groups")
        names = sorted({g["name"] for g in groups if g.get("name")}) if groups else ["default"]
        for name in names:
            if name != "default":
                raise Fault(400, f"Security group {name} not found.")
        if server.get("host") or server.get("hypervisor_hostname"):
            zone = server.get("availability_zone") or ""
            if ":" in zone:
                raise Fault(400, "One mechanism with host and/or hypervisor_hostname and "
                                 "another mechanism with zone:host:node are mutually "
                                 "exclusive.")
        hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}
        new = NewServer(
            name=server["name"].strip(),
            flavor_ref=str(server["flavorRef"]),
            image_ref=str(image_ref),
            key_name=server.get("key_name"),
            admin_pass=server.get("adminPass"),
            user_data=server.get("user_data"),
            metadata=dict(server.get("metadata", {})),
            access_ip_v4=server.get("accessIPv4") or None,
            access_ip_v6=server.get("accessIPv6") or None,
            disk_config=server.get("OS-DCF:diskConfig", "MANUAL"),
            availability_zone=server.get("availability_zone"),
            networks=self._networks(server.get("networks")),
            security_groups=tuple(names),
            config_drive=_bool(str(server.get("config_drive", ""))),
            min_count=min_count,
            max_count=max_count,
            description=server.get("description") if call.version >= V(2, 19) else None,
            tags=tuple(server.get("tags") or ()),
            trusted_certs=tuple(server["trusted_image_certificates"])
            if server.get("trusted_image_certificates") else None,
            host=server.get("host"),
            node=server.get("hypervisor_hostname"),
            hostname=server.get("hostname") if call.version >= V(2, 90) else None,
            scheduler_hints=dict(hints),
            boot_from_volume=boot_from_volume,
        )
        return new, _bool(str(server.get("return_reservation_id", "")))

    async def create(self, call: Call) -> Response:
        new, return_reservation = self._new_server(call)
        ctx = common.context(call)
        created = self.servers.create(ctx, new)
        plan: BuildPlan | None = self.plan_for(ctx, new) if self.plan_for else None
        for record in created.servers:
            self.lifecycle.build(record.uuid, ctx.request_id, plan)
        if return_reservation:
            return json_response({"reservation_id": created.reservation_id}, status=202)
        first = created.servers[0]
        links = self.view.links(call, first)
        body = {"server": {
            "id": first.uuid,
            "links": links,
            "OS-DCF:diskConfig": first.instance.disk_config,
            "security_groups": call.body["server"].get("security_groups",
                                                       [{"name": "default"}]),
            "adminPass": created.admin_pass,
        }}
        return json_response(body, status=202, headers={"Location": links[0]["href"]})
