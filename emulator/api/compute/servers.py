"""Servers (``/servers``): create, list, detail, show, update, delete."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.schemas.servers import (
    SERVER_LIST_IGNORED_SORT_KEYS,
    kept_query,
    schema_for,
)
from emulator.api.compute.server_actions import ServerActionsController
from emulator.api.compute.server_extras import soft_delete
from emulator.api.compute.server_views import ServerView, ShowFlags
from emulator.api.faults import Fault
from emulator.api.requests import validate_body, validate_query
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.lifecycle import BuildPlan, Lifecycle
from emulator.compute.policy import allowed, authorize
from emulator.compute.servers import (
    NewServer,
    ServerQuery,
    ServerService,
)
from emulator.compute.snapshots import Snapshots
from emulator.compute.states import STATUS_MAP
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
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})
#: Filters on joined tables (400 ``Invalid filter field``), as are names starting with "_".
JOINED_TABLE_FILTERS = frozenset({"block_device_mapping", "services", "metadata",
                                  "system_metadata", "info_cache", "security_groups",
                                  "pci_devices"})
#: Filter -> Instance attribute, for the filters Nova's database matches as a regular
#: expression (everything but its exact-match columns and the special filters).
REGEX_FILTERS: dict[str, str] = {
    "display_name": "display_name", "description": "display_description",
    "display_description": "display_description", "hostname": "hostname",
    "key_name": "key_name", "availability_zone": "availability_zone", "node": "node",
    "reservation_id": "reservation_id", "launch_index": "launch_index",
    "launched_at": "launched_at", "terminated_at": "terminated_at",
    "created_at": "created_at", "power_state": "power_state", "progress": "progress",
    "root_device_name": "root_device_name", "locked_by": "locked_by",
    "access_ip_v4": "access_ip_v4", "access_ip_v6": "access_ip_v6",
}

#: ``plan_for(ctx, new_server)``: the control plane's fault rules' say in a build.
PlanFor = Callable[[RequestContext, NewServer], BuildPlan | None]


def _parse_time(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Fault(400, f"Invalid filter field: {name}.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _address(raw: str | None) -> str | None:
    """NOTE: Nova stores access IPs normalised (``0:0::babe:220.12.22.2`` reads back as
    ``::babe:dc0c:1602``)."""
    if not raw:
        return None
    return str(ipaddress.ip_address(raw))


def _bool(raw: str) -> bool:
    return raw.strip().lower() in _TRUE


def _strict_bool(raw: str) -> bool:
    """oslo's ``bool_from_string(strict=True)``, failing as Nova's ``InvalidInput`` does."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    acceptable = ", ".join(f"'{v}'" for v in sorted(_TRUE | _FALSE))
    raise Fault(400, f"Invalid input received: Unrecognized value '{raw}', acceptable values "
                     f"are: {acceptable}")


def states_for(statuses: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Nova's ``task_and_vm_state_from_status``: the vm_states, and the task_states
    (``default`` standing for a vm_state's own status), that show any of ``statuses``."""
    wanted = {status.lower() for status in statuses}
    vm_states: set[str] = set()
    task_states: set[str] = set()
    for vm_state, (default, overrides) in STATUS_MAP.items():
        for task_state, status in (("default", default), *overrides.items()):
            if status.lower() in wanted:
                vm_states.add(str(vm_state))
                task_states.add(str(task_state))
    return frozenset(vm_states), frozenset(task_states)


class ServersController:
    def __init__(self, servers: ServerService, lifecycle: Lifecycle,
                 plan_for: PlanFor | None = None, snapshots: Snapshots | None = None) -> None:
        self.servers = servers
        self.lifecycle = lifecycle
        self.view = ServerView()
        #: ``plan_for(ctx, new_server) -> BuildPlan | None``: fault rules' say in a build.
        self.plan_for = plan_for
        self.actions = ServerActionsController(servers, lifecycle,
                                               extra={"forceDelete": self.force_delete},
                                               snapshots=snapshots)

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

        for key in opts:
            if key in JOINED_TABLE_FILTERS or key.startswith("_"):
                raise Fault(400, f"Invalid filter field: {key}.")
        vm_states = frozenset(opts["vm_state"][-1:]) if "vm_state" in opts else None
        task_states = frozenset(opts["task_state"][-1:]) if "task_state" in opts else None
        if "status" in opts:
            vm_states, matched_tasks = states_for(opts["status"])
            if not vm_states and not matched_tasks:
                if call.version >= V(2, 38):
                    raise Fault(400, "Invalid status value")
                return None
            if "default" not in matched_tasks:
                task_states = matched_tasks
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
        if "status" in opts and vm_states == frozenset({"deleted"}):
            if not ctx.is_admin:
                raise Fault(403, "Only administrators may list deleted instances")
            deleted = True

        def tags(key: str) -> frozenset[str] | None:
            value = last(key)
            if value is None or call.version < V(2, 26):
                return None
            return frozenset(value.split(","))

        all_tenants = False
        if "all_tenants" in opts:
            # Nova's is_all_tenants: present but empty means yes; otherwise strictly boolean.
            value = last("all_tenants")
            all_tenants = _strict_bool(value) if value else True
        locked = last("locked")
        locked_filter = _strict_bool(locked) if locked is not None else None
        project_id: str | None = ctx.project_id
        if all_tenants:
            rule = "detail:get_all_tenants" if detail else "index:get_all_tenants"
            authorize(ctx, f"os_compute_api:servers:{rule}")
            project_id = last("project_id") or last("tenant_id")
        limit, marker = common.limit_and_marker(call)
        sort = self._sort(call, ctx)
        config_drive = last("config_drive")
        regex = tuple((column, pattern) for key, column in REGEX_FILTERS.items()
                      if (pattern := last(key)) is not None)
        for _column, pattern in regex:
            try:
                re.compile(pattern)
            except re.error:
                # Only launch_index lacks the schema's regex check; Nova's database fails
                # on it (a 500), we match nothing.
                return None
        return ServerQuery(
            project_id=project_id,
            user_id=last("user_id"),
            name=last("name"),
            changes_since=changes_since,
            changes_before=changes_before,
            ip=last("ip"),
            ip6=last("ip6"),
            flavor=last("flavor"),
            image=last("image") or last("image_ref"),
            host=last("host"),
            config_drive=_bool(config_drive) if config_drive is not None else None,
            locked=locked_filter,
            vm_state=vm_states,
            task_state=task_states,
            uuid=last("uuid"),
            tags=tags("tags"),
            tags_any=tags("tags-any"),
            not_tags=tags("not-tags"),
            not_tags_any=tags("not-tags-any"),
            deleted=deleted,
            regex=regex,
            sort=sort,
            limit=limit,
            marker=marker,
        )

    @staticmethod
    def _sort(call: Call, ctx: RequestContext) -> tuple[tuple[str, str], ...]:
        """Nova's sort parameters: ``get_sort_params``, ``remove_invalid_sort_keys`` and the
        database's ``process_sort_params`` (which appends ``created_at`` and ``id``)."""
        keys = [k.strip() for k in call.request.query_params.getlist("sort_key")] or [
            "created_at"]
        dirs = [d.strip() for d in call.request.query_params.getlist("sort_dir")] or ["desc"]
        ignored = SERVER_LIST_IGNORED_SORT_KEYS if call.version < V(2, 73) else tuple(
            k for k in SERVER_LIST_IGNORED_SORT_KEYS if k != "locked")
        for key in list(keys):
            if key in ignored:
                if len(dirs) > keys.index(key):
                    dirs.pop(keys.index(key))
                keys.remove(key)
            elif key in ("host", "node") and not ctx.is_admin:
                raise Fault(403, f"Only administrators can sort servers by {key}")
        for direction in dirs:
            if direction not in ("asc", "desc"):
                raise Fault(400, "Invalid input received: Unknown sort direction, must be "
                                 "'desc' or 'asc'")
        if len(dirs) > len(keys):
            raise Fault(400, "Invalid input received: Sort direction size exceeds sort key size")
        default = dirs[0] if dirs else "desc"
        dirs += [default] * (len(keys) - len(dirs))
        for key in ("created_at", "id"):
            if key not in keys:
                keys.append(key)
                dirs.append(default)
        return tuple(zip(keys, dirs, strict=True))

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
            changes["access_ip_v4"] = _address(server["accessIPv4"])
        if "accessIPv6" in server:
            changes["access_ip_v6"] = _address(server["accessIPv6"])
        if "OS-DCF:diskConfig" in server:
            changes["disk_config"] = server["OS-DCF:diskConfig"]
        pin = call.version >= V(2, 104) and "pinned_availability_zone" in server
        record = self.servers.update(common.context(call), call.params["server_id"], changes,
                                     pin=pin, pinned_zone=server.get("pinned_availability_zone"))
        return json_response({"server": self.view.update(call, record)})

    async def delete(self, call: Call) -> Response:
        ctx = common.context(call)
        if soft_delete(self.servers, self.lifecycle, ctx, call.params["server_id"]):
            return empty_response(204)
        row = self.servers.begin_delete(ctx, call.params["server_id"])
        self.lifecycle.delete(row.uuid, ctx.request_id)
        return empty_response(204)

    async def force_delete(self, call: Call, _payload: Any) -> Response:
        ctx = common.context(call)
        row = self.servers.begin_delete(ctx, call.params["server_id"], force=True)
        self.lifecycle.delete(row.uuid, ctx.request_id)
        return empty_response(202)

    async def action(self, call: Call) -> Response:
        return await self.actions.dispatch(call)

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
                ports.append(port)
                continue
            if "uuid" not in network:
                raise Fault(400, "Bad network format: missing 'uuid'")
            net_id = network["uuid"]
            if not re.fullmatch(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                                r"[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}", str(net_id)):
                raise Fault(400, "Bad networks format: network uuid is not in proper format "
                                 f"({net_id})")
        # NOTE: whether the ports and networks exist is the compute API's question (after
        # the flavor, zone and image): see ServerService.create.
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
        # Nova's order: counts, (zone and hosts: ServerService.create), block devices,
        # image, networks, flavor.
        min_count = int(server.get("min_count", 1))
        max_count = int(server.get("max_count", min_count))
        if min_count > max_count:
            raise Fault(400, "min_count must be <= max_count")
        if server.get("block_device_mapping") and server.get("block_device_mapping_v2"):
            raise Fault(400, "Using different block_device_mapping syntaxes is not allowed in "
                             "the same request.")
        image_ref = server.get("imageRef") or ""
        if not image_ref and bdms:
            image_ref = next((b.get("uuid", "") for b in bdms
                              if b.get("source_type") == "image"
                              and str(b.get("boot_index")) == "0"), "")
        if not image_ref and not bdms:
            raise Fault(400, "Missing imageRef attribute")
        groups = server.get("security_groups")
        names = sorted({g["name"] for g in groups if g.get("name")}) if groups else ["default"]
        hints = (body["os:scheduler_hints"] if "os:scheduler_hints" in body
                 else body.get("OS-SCH-HNT:scheduler_hints", {}))
        # Nova drops hints meant for itself.
        hints = {k: v for k, v in hints.items() if not k.startswith("_nova")}
        new = NewServer(
            name=server["name"].strip(),
            flavor_ref=str(server["flavorRef"]),
            image_ref=str(image_ref),
            key_name=server.get("key_name"),
            admin_pass=server.get("adminPass"),
            user_data=server.get("user_data"),
            metadata=dict(server.get("metadata", {})),
            access_ip_v4=_address(server.get("accessIPv4")),
            access_ip_v6=_address(server.get("accessIPv6")),
            disk_config=server.get("OS-DCF:diskConfig", "MANUAL"),
            availability_zone=server.get("availability_zone"),
            networks=self._networks(server.get("networks")),
            security_groups=tuple(names),
            config_drive=_bool(str(server.get("config_drive", ""))),
            min_count=min_count,
            max_count=max_count,
            # Before 2.19 Nova describes a server by its name.
            description=server.get("description") if call.version >= V(2, 19)
            else server["name"].strip(),
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
