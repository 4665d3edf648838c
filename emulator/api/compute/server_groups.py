"""Server groups (``/os-server-groups``): create, list, show, delete, per microversion.

| version | change |
|---|---|
| 2.13 | ``project_id`` and ``user_id`` in every view |
| 2.15 | policies ``soft-affinity`` and ``soft-anti-affinity`` |
| 2.64 | ``policy`` (a string) and ``rules`` replace ``policies`` (a list) and ``metadata`` |
| 2.75 | unknown query parameters of the list -> 400 |
| 2.102 | any query parameter of show -> 400 |
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import MAX_LIMIT, V
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.server_groups import NewServerGroup, ServerGroupRecord, ServerGroupService


def _view(call: Call, group: ServerGroupRecord) -> dict[str, Any]:
    view: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if call.version >= V(2, 64):
        view["policy"] = group.policy
        view["rules"] = dict(group.rules)
    else:
        view["policies"] = [group.policy]
        # NOTE: Nova showed an always-empty metadata until 2.64.
        view["metadata"] = {}
    view["members"] = list(group.members)
    if call.version >= V(2, 13):
        view["project_id"] = group.project_id
        view["user_id"] = group.user_id
    return view


def _integer(call: Call, name: str) -> int | None:
    """Nova's ``_get_int_param``: the last value of ``name``, a non-negative integer."""
    raw = common.last_value(call, name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise Fault(400, f"Invalid input received: {name} must be an integer") from None
    if value < 0:
        raise Fault(400, f"Invalid input received: {name} must be >= 0")
    return value


class ServerGroupsController:
    def __init__(self, groups: ServerGroupService) -> None:
        self.groups = groups

    async def index(self, call: Call) -> Response:
        common.check_query(call, "server_group_index_query")
        # NOTE: Nova's ``common.limited`` also requires an integer ``page_size`` if given
        # (though it never uses it); limit 0 is the maximum page, as no limit is.
        _integer(call, "page_size")
        limit = min(_integer(call, "limit") or MAX_LIMIT, MAX_LIMIT)
        offset = _integer(call, "offset") or 0
        # NOTE: ``all_projects`` with any value (even "false") means all, for admins.
        all_projects = "all_projects" in call.request.query_params
        found = self.groups.list_groups(common.context(call), all_projects=all_projects,
                                        offset=offset, limit=limit)
        return json_response({"server_groups": [_view(call, g) for g in found]})

    async def show(self, call: Call) -> Response:
        common.check_query(call, "server_group_show_query")
        group = self.groups.get(common.context(call), call.params["group_id"])
        return json_response({"server_group": _view(call, group)})

    async def create(self, call: Call) -> Response:
        data = common.check_body(call, "server_group_create")["server_group"]
        if call.version >= V(2, 64):
            rules = {name: int(value) for name, value in data.get("rules", {}).items()}
            new = NewServerGroup(name=data["name"], policy=data["policy"], rules=rules)
        else:
            new = NewServerGroup(name=data["name"], policy=data["policies"][0])
        group = self.groups.create(common.context(call), new)
        return json_response({"server_group": _view(call, group)})

    async def delete(self, call: Call) -> Response:
        self.groups.delete(common.context(call), call.params["group_id"])
        return empty_response(204)
