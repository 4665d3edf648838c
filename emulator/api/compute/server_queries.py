"""The server list's query (``GET /servers``, ``/servers/detail``) as Nova parses it:
its schema, the filters a non-admin may use, statuses, times, tags, ``all_tenants``, sort
keys and paging, into the domain's ``ServerQuery``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.schemas import kept_query
from emulator.api.compute.schemas.servers import SERVER_LIST_IGNORED_SORT_KEYS
from emulator.api.faults import Fault
from emulator.api.routing import Call
from emulator.compute.listing import ServerQuery
from emulator.compute.policy import allowed, authorize
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


def _parse_time(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Fault(400, f"Invalid filter field: {name}.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def truthy(raw: str) -> bool:
    """oslo's ``bool_from_string`` (not strict): anything else is False."""
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


def list_query(call: Call, detail: bool) -> ServerQuery | None:
    """Parse the list query as Nova does; None means "answer an empty list"."""
    name = "detail_query" if detail else "index_query"
    raw = common.query_lists(call)
    schema = common.check_query(call, name)
    if schema is not None:
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
        deleted = truthy(last("deleted") or "")
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
    sort = _sort(call, ctx)
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
        config_drive=truthy(config_drive) if config_drive is not None else None,
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
