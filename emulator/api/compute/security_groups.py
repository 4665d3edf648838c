"""Nova's security group proxy (``/os-security-groups``, ``/os-security-group-rules``),
until 2.35 (``MAX_PROXY_API_SUPPORT_VERSION``; the route table answers 404 after it).

| call | status |
|---|---|
| list (``limit``/``offset``, admins' ``all_tenants``), show, create, update | 200 |
| delete a group or a rule | 202 |
| create a rule | 200 |
"""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.proxies.security_groups import SecurityGroupProxy


def offset_and_limit(call: Call) -> tuple[int, int]:
    """Nova's ``common.limited`` (its query schema has checked both are non-negative
    integers): the last of each; a limit of 0, or none, is the maximum page."""
    offset = int(common.last_value(call, "offset") or 0)
    limit = min(int(common.last_value(call, "limit") or 0) or common.MAX_LIMIT,
                common.MAX_LIMIT)
    return offset, limit


class SecurityGroupsController:
    def __init__(self, groups: SecurityGroupProxy) -> None:
        self.groups = groups

    async def index(self, call: Call) -> Response:
        common.check_query(call, "security_group_index_query")
        offset, limit = offset_and_limit(call)
        # NOTE: ``all_tenants`` with any value (even "0") means every project, for admins.
        found = self.groups.list_groups(
            common.context(call), "all_tenants" in call.request.query_params, offset, limit)
        return json_response({"security_groups": found})

    async def show(self, call: Call) -> Response:
        group = self.groups.get(common.context(call), call.params["group_id"])
        return json_response({"security_group": group})

    async def create(self, call: Call) -> Response:
        data = common.check_body(call, "security_group_create")["security_group"]
        group = self.groups.create(common.context(call), data["name"], data["description"])
        return json_response({"security_group": group})

    async def update(self, call: Call) -> Response:
        data = common.check_body(call, "security_group_update")["security_group"]
        group = self.groups.update(common.context(call), call.params["group_id"],
                                   data["name"], data["description"])
        return json_response({"security_group": group})

    async def delete(self, call: Call) -> Response:
        self.groups.delete(common.context(call), call.params["group_id"])
        return empty_response(202)

    async def create_rule(self, call: Call) -> Response:
        rule = common.check_body(call, "security_group_rule_create")["security_group_rule"]
        made = self.groups.create_rule(
            common.context(call), rule["parent_group_id"], rule.get("group_id"),
            rule.get("ip_protocol"), rule.get("from_port"), rule.get("to_port"),
            rule.get("cidr"))
        return json_response({"security_group_rule": made})

    async def delete_rule(self, call: Call) -> Response:
        self.groups.delete_rule(common.context(call), call.params["rule_id"])
        return empty_response(202)
