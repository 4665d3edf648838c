"""The Keystone v3 slice at ``/identity``: discovery, tokens, catalog and admin CRUD.

| module | holds |
|---|---|
| ``auth`` | discovery, ``/v3/auth/*``: parsing ``POST /v3/auth/tokens``, validation, revocation |
| ``admin`` | the CRUD of domains, projects, users and roles (five handlers for every kind) |
| ``assignments`` | role grants, ``/v3/role_assignments``, a user's projects |
| ``views`` | Keystone's JSON for each of them |
| ``schemas`` | request schemas |
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault, render_keystone
from emulator.api.identity.admin import EntitiesController
from emulator.api.identity.assignments import AssignmentsController
from emulator.api.identity.auth import AuthController, AuthPluginFault
from emulator.api.identity.views import PREFIX
from emulator.api.routing import Route, json_response
from emulator.api.service import Service
from emulator.identity.records import Kind
from emulator.identity.service import IdentityService

__all__ = ["IdentityAPI"]


def entity_routes(en: EntitiesController, kind: Kind) -> list[Route]:
    """List and create at ``/v3/<kind>s``; show, update, delete at ``/v3/<kind>s/{<kind>_id}``."""
    many, one = f"/v3/{kind}s", f"/v3/{kind}s/{{{kind}_id}}"
    return [
        Route("GET", many, partial(en.index, kind)),
        Route("POST", many, partial(en.create, kind)),
        Route("GET", one, partial(en.show, kind)),
        Route("PATCH", one, partial(en.update, kind)),
        Route("DELETE", one, partial(en.delete, kind)),
    ]


class IdentityAPI(Service):
    prefix = PREFIX

    def __init__(
        self,
        identity: IdentityService,
        public_url: str,
        max_body: int,
        catalog: Callable[[], list[dict[str, Any]]],
    ) -> None:
        self.auth = AuthController(identity, catalog)
        self.entities = EntitiesController(identity)
        self.assignments = AssignmentsController(identity)
        super().__init__(identity, public_url, max_body)

    def routes(self) -> list[Route]:
        au, en, asg = self.auth, self.entities, self.assignments
        grant = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"
        return [
            Route("GET", "/", au.versions, authenticated=False),
            Route("GET", "/v3", au.version_v3, authenticated=False),
            Route("POST", "/v3/auth/tokens", au.issue_token, authenticated=False),
            Route("GET", "/v3/auth/tokens", au.check_token),
            Route("HEAD", "/v3/auth/tokens", au.check_token),
            Route("DELETE", "/v3/auth/tokens", au.revoke_token),
            Route("GET", "/v3/auth/catalog", au.auth_catalog),
            Route("GET", "/v3/auth/projects", au.auth_projects),
            Route("GET", "/v3/auth/domains", au.auth_domains),
            *entity_routes(en, "domain"),
            *entity_routes(en, "project"),
            Route("GET", "/v3/projects/{project_id}/users/{user_id}/roles", asg.list_grants),
            Route("PUT", grant, asg.grant),
            Route("GET", grant, asg.check_grant),
            Route("HEAD", grant, asg.check_grant),
            Route("DELETE", grant, asg.revoke_grant),
            *entity_routes(en, "user"),
            Route("GET", "/v3/users/{user_id}/projects", asg.user_projects),
            *entity_routes(en, "role"),
            Route("GET", "/v3/role_assignments", asg.list_assignments),
        ]

    def render_fault(self, fault: Fault) -> Response:
        """Keystone's error body; every 401 carries ``WWW-Authenticate: Keystone uri=...``."""
        if fault.status == 401:
            fault.headers.setdefault("WWW-Authenticate", f'Keystone uri="{self.identity_url}"')
        response = render_keystone(fault)
        if isinstance(fault, AuthPluginFault):
            body = json.loads(bytes(response.body))
            body["error"]["identity"] = fault.identity
            response = json_response(body, status=fault.status, headers=fault.headers)
        return response
