"""Role grants on projects, ``/v3/role_assignments`` and a user's projects."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from emulator.api.identity.common import Controller
from emulator.api.identity.views import assignment_view, listing, project_view, role_view, v3_url
from emulator.api.routing import Call, empty_response, json_response


def _flag(call: Call, name: str) -> bool:
    """Keystone's boolean query flags: present and not ``0`` means true."""
    query = call.request.query_params
    return name in query and query[name] != "0"


class AssignmentsController(Controller):
    def _on_grant(self, call: Call, rule: str, act: Callable[[str, str, str], None]) -> Response:
        """``act`` on the grant a call names (project, user, role), for admins."""
        self.require_admin(call, rule)
        act(call.params["project_id"], call.params["user_id"], call.params["role_id"])
        return empty_response(204)

    async def grant(self, call: Call) -> Response:
        return self._on_grant(call, "create_grant", self.identity.assignments.grant)

    async def check_grant(self, call: Call) -> Response:
        return self._on_grant(call, "check_grant", self.identity.assignments.check)

    async def revoke_grant(self, call: Call) -> Response:
        return self._on_grant(call, "revoke_grant", self.identity.assignments.revoke)

    async def list_grants(self, call: Call) -> Response:
        self.require_admin(call, "list_grants")
        roles = self.identity.assignments.roles_granted(call.params["project_id"],
                                                        call.params["user_id"])
        v3 = v3_url(call)
        return json_response(listing(call, "roles", [role_view(v3, r) for r in roles]))

    async def list_assignments(self, call: Call) -> Response:
        # NOTE: no exception for one's own assignments: Keystone's default policy for
        # identity:list_role_assignments is admin, system reader or domain reader.
        self.require_admin(call, "list_role_assignments")
        query = call.request.query_params
        rows = self.identity.assignments.listing(
            user_id=query.get("user.id"),
            project_id=query.get("scope.project.id"),
            role_id=query.get("role.id"),
            effective=_flag(call, "effective"),
        )
        v3, names = v3_url(call), _flag(call, "include_names")
        return json_response(listing(call, "role_assignments",
                                     [assignment_view(v3, a, names) for a in rows]))

    async def user_projects(self, call: Call) -> Response:
        user_id = call.params["user_id"]
        self.target(call, "user", "list_user_projects", user_id == call.token.user.id)
        projects = self.identity.assignments.projects_of(user_id)
        v3 = v3_url(call)
        return json_response(listing(call, "projects", [project_view(v3, p) for p in projects]))
