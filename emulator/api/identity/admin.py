"""The admin CRUD of domains, projects, users and roles: five handlers for every kind.

Each kind is a row of ``RESOURCES``: the query filters its list honours, and who may see
one without the admin role (Keystone's default policy). The domain decides what a body
may set and what a conflict says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from emulator.api.identity import schemas
from emulator.api.identity.common import Controller
from emulator.api.identity.views import VIEWS, listing, v3_url
from emulator.api.requests import validate_body
from emulator.api.routing import Call, empty_response, json_response
from emulator.identity.records import Kind, TokenInfo

#: Query values Keystone reads as false for a boolean filter.
_FALSE = ("0", "false", "no", "off")


def _nobody(_token: TokenInfo, _target_id: str) -> bool:
    return False


@dataclass(frozen=True)
class Resource:
    #: Query parameters a list filters on (each a column of the same name).
    filters: tuple[str, ...]
    #: Whether a caller without the admin role may see the one with this id.
    own: Callable[[TokenInfo, str], bool] = _nobody


RESOURCES: dict[Kind, Resource] = {
    # token.project.domain.id:%(target.domain.id)s: a project's users see its domain.
    "domain": Resource(("name", "enabled"),
                       lambda t, i: t.project is not None and t.project.domain_id == i),
    "project": Resource(("name", "domain_id", "enabled"),
                        lambda t, i: t.project is not None and t.project.id == i),
    "user": Resource(("name", "domain_id", "enabled"), lambda t, i: t.user.id == i),
    "role": Resource(("name",)),
}


class EntitiesController(Controller):
    def _view(self, call: Call, kind: Kind, record: Any, status: int = 200) -> Response:
        return json_response({kind: VIEWS[kind](v3_url(call), record)}, status=status)

    def _body(self, call: Call, kind: Kind, required: list[str]) -> dict[str, Any]:
        validate_body(schemas.entity(kind, required), call.body, dialect="keystone")
        entity: dict[str, Any] = call.body[kind]
        return entity

    async def index(self, kind: Kind, call: Call) -> Response:
        self.require_admin(call, f"list_{kind}s")
        query = call.request.query_params
        filters: dict[str, Any] = {name: query[name] for name in RESOURCES[kind].filters
                                   if name in query}
        if "enabled" in filters:
            filters["enabled"] = filters["enabled"].lower() not in _FALSE
        records = self.identity.directory.find(kind, filters)
        view = VIEWS[kind]
        v3 = v3_url(call)
        return json_response(listing(call, f"{kind}s", [view(v3, r) for r in records]))

    async def create(self, kind: Kind, call: Call) -> Response:
        self.require_admin(call, f"create_{kind}")
        fields = self._body(call, kind, ["name"])
        return self._view(call, kind, self.identity.directory.create(kind, fields), 201)

    async def show(self, kind: Kind, call: Call) -> Response:
        own = RESOURCES[kind].own(call.token, call.params[f"{kind}_id"])
        return self._view(call, kind, self.target(call, kind, f"get_{kind}", own))

    async def update(self, kind: Kind, call: Call) -> Response:
        self.target(call, kind, f"update_{kind}")
        changes = self._body(call, kind, [])
        record = self.identity.directory.update(kind, call.params[f"{kind}_id"], changes)
        return self._view(call, kind, record)

    async def delete(self, kind: Kind, call: Call) -> Response:
        self.target(call, kind, f"delete_{kind}")
        self.identity.directory.delete(kind, call.params[f"{kind}_id"])
        return empty_response(204)
