"""Quota sets (``/os-quota-sets``) and quota class sets (``/os-quota-class-sets``), per
microversion.

| version | change |
|---|---|
| 2.36 | quota sets: the network quotas (``fixed_ips``, ``floating_ips``, ``security_*``) gone |
| 2.50 | quota class sets: ``server_group*`` shown; the network quotas gone |
| 2.57 | both: the personality file quotas (``injected_file*``) gone |
| 2.75 | quota sets: unknown query parameters -> 400 |
| 2.102 | quota class sets: any query parameter -> 400 |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.quotas import INJECTED, NETWORK, RESOURCES, Detail, QuotaService

#: What quota class sets showed only from 2.50.
SERVER_GROUPS = frozenset({"server_groups", "server_group_members"})

TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})


def hidden_quotas(call: Call) -> frozenset[str]:
    """The quota sets' fields a microversion no longer shows (Nova's ``FILTERED_QUOTAS``)."""
    if call.version >= V(2, 57):
        return NETWORK | INJECTED
    if call.version >= V(2, 36):
        return NETWORK
    return frozenset()


def hidden_class_quotas(call: Call) -> frozenset[str]:
    """The quota class sets' hidden fields: network and personality ones as the sets' (from
    2.50 and 2.57), and the server group ones before 2.50."""
    if call.version >= V(2, 57):
        return NETWORK | INJECTED
    if call.version >= V(2, 50):
        return NETWORK
    return SERVER_GROUPS


def quota_view(ident: str | None, values: Mapping[str, Any],
               hidden: Iterable[str]) -> dict[str, Any]:
    """``id`` (when given) then each resource shown, in Nova's order."""
    view: dict[str, Any] = {"id": ident} if ident is not None else {}
    gone = frozenset(hidden)
    view.update({name: values[name] for name in RESOURCES if name not in gone})
    return view


def set_response(call: Call, ident: str | None, values: Mapping[str, Any]) -> Response:
    """``{"quota_set": ...}`` with the fields of the call's microversion."""
    return json_response({"quota_set": quota_view(ident, values, hidden_quotas(call))})


def class_response(call: Call, ident: str | None, values: Mapping[str, Any]) -> Response:
    """``{"quota_class_set": ...}`` with the fields of the call's microversion."""
    return json_response({"quota_class_set": quota_view(ident, values,
                                                        hidden_class_quotas(call))})


def _detail(value: Detail) -> dict[str, int]:
    return {"in_use": value.in_use, "limit": value.limit, "reserved": value.reserved}


def _first_user_id(call: Call) -> str | None:
    """``?user_id=``: the first value (Nova parses the query string itself)."""
    values = call.request.query_params.getlist("user_id")
    return values[0] if values and values[0] else None


def _limits(body: Mapping[str, Any]) -> dict[str, int]:
    """The limits of a validated update body (numbers or numeric strings)."""
    return {name: int(value) for name, value in body.items() if name != "force"}


def _force(body: Mapping[str, Any]) -> bool:
    """``force`` as oslo's ``bool_from_string`` reads it (the schema allowed the value)."""
    value = body.get("force", False)
    return value if isinstance(value, bool) else str(value).strip().lower() in TRUE


class QuotaSetsController:
    def __init__(self, quotas: QuotaService) -> None:
        self.quotas = quotas

    async def show(self, call: Call) -> Response:
        common.check_query(call, "quota_set_query")
        project_id = call.params["project_id"]
        return set_response(call, project_id, self.quotas.show(
            common.context(call), project_id, _first_user_id(call)))

    async def detail(self, call: Call) -> Response:
        common.check_query(call, "quota_set_query")
        project_id = call.params["project_id"]
        # NOTE: unlike show, Nova's detail reads the *last* ``user_id``.
        user_id = common.last_value(call, "user_id") or None
        values = self.quotas.detail(common.context(call), project_id, user_id)
        return set_response(call, project_id,
                            {name: _detail(value) for name, value in values.items()})

    async def defaults(self, call: Call) -> Response:
        common.check_query(call, "quota_defaults_query")
        project_id = call.params["project_id"]
        return set_response(call, project_id,
                            self.quotas.defaults(common.context(call), project_id))

    async def update(self, call: Call) -> Response:
        body = common.check_body(call, "quota_set_update")["quota_set"]
        common.check_query(call, "quota_set_query")
        values = self.quotas.update(common.context(call), call.params["project_id"],
                                    _first_user_id(call), _limits(body), force=_force(body))
        # NOTE: Nova's update response has no ``id``.
        return set_response(call, None, values)

    async def delete(self, call: Call) -> Response:
        common.check_query(call, "quota_set_query")
        self.quotas.delete(common.context(call), call.params["project_id"],
                           _first_user_id(call))
        return empty_response(202)


class QuotaClassSetsController:
    def __init__(self, quotas: QuotaService) -> None:
        self.quotas = quotas

    async def show(self, call: Call) -> Response:
        common.check_query(call, "quota_class_query")
        name = call.params["class_name"]
        return class_response(call, name, self.quotas.show_class(common.context(call), name))

    async def update(self, call: Call) -> Response:
        body = common.check_body(call, "quota_class_update")["quota_class_set"]
        values = self.quotas.update_class(common.context(call), call.params["class_name"],
                                          _limits(body))
        return class_response(call, None, values)

