"""Keystone v3 slice at ``/identity``: discovery, tokens, catalog and admin CRUD."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault, render_keystone
from emulator.api.requests import validate_body
from emulator.api.routing import Call, Route, base_url, empty_response, json_response
from emulator.api.service import Service
from emulator.config import DEFAULT_DOMAIN_ID
from emulator.errors import InvalidInput, NotAuthenticated
from emulator.identity.models import Domain, Project, Role, User
from emulator.identity.service import (
    AUTH_FAILED,
    IdentityService,
    ProjectSelector,
    TokenInfo,
    UserSelector,
)

V3_VERSION = {
    "id": "v3.14",
    "status": "stable",
    "updated": "2020-04-07T00:00:00Z",
    "media-types": [
        {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
    ],
}

_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_STR = {"type": "string"}
_REF = {"type": "object", "properties": {"id": _STR, "name": _STR}}
#: Keystone's ``token_issue`` schema (keystone.auth.schema), applied to the ``auth`` object.
#: It only checks types: missing pieces are reported later, each with its own message.
_AUTH_SCHEMA = {
    "type": "object",
    "required": ["identity"],
    "properties": {
        "identity": {
            "type": "object",
            "required": ["methods"],
            "properties": {
                "methods": {"type": "array", "items": _STR},
                "password": {
                    "type": "object",
                    "properties": {
                        "user": {
                            "type": "object",
                            "properties": {"id": _STR, "name": _STR, "password": _STR,
                                           "domain": _REF},
                        }
                    },
                },
                "token": {"type": "object", "required": ["id"], "properties": {"id": _STR}},
            },
        },
        "scope": {
            "type": ["object", "string"],
            "properties": {
                "project": {"type": "object",
                            "properties": {"id": _STR, "name": _STR, "domain": _REF}},
                "domain": _REF,
                "OS-TRUST:trust": {"type": "object", "properties": {"id": _STR}},
                "system": {"type": "object"},
            },
        },
    },
}
#: The methods ``POST /v3/auth/tokens`` accepts (Keystone's ``[auth] methods``).
AUTH_METHODS = ("password", "token")
_SCOPES = ("project", "domain", "unscoped", "system", "OS-TRUST:trust")


def _entity_schema(key: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "properties": {
            key: {"type": "object", "properties": properties, "required": required}
        },
    }


_DESCRIPTION = {"type": ["string", "null"], "maxLength": 65535}
_ENABLED = {"type": "boolean"}
_PROJECT_PROPS = {"name": _NAME, "domain_id": _ID, "description": _DESCRIPTION,
                  "enabled": _ENABLED, "is_domain": {"type": "boolean", "enum": [False]},
                  "parent_id": {"type": ["string", "null"]}, "tags": {"type": "array"},
                  "options": {"type": "object"}}
_USER_PROPS = {"name": _NAME, "domain_id": _ID, "description": _DESCRIPTION,
               "enabled": _ENABLED, "password": {"type": ["string", "null"], "maxLength": 4096},
               "default_project_id": {"type": ["string", "null"]},
               "email": {"type": ["string", "null"], "maxLength": 255},
               "options": {"type": "object"}}
_DOMAIN_PROPS = {"name": _NAME, "description": _DESCRIPTION, "enabled": _ENABLED,
                 "tags": {"type": "array"}, "options": {"type": "object"}}
_ROLE_PROPS = {"name": _NAME, "description": _DESCRIPTION, "options": {"type": "object"},
               "domain_id": {"type": "null"}}


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _expecting(attribute: str, target: str) -> InvalidInput:
    return InvalidInput(
        f"Expecting to find {attribute} in {target}. The server could not comply with the "
        "request since it is either malformed or otherwise incorrect. The client is assumed "
        "to be in error."
    )


def _invalid(field: str, message: str) -> Fault:
    return Fault(400, f"Invalid input for field {field}: {message}")


def _check_ref(ref: dict[str, Any] | None, field: str) -> None:
    """Keystone's checks after the schema: a user, project or domain needs an id or name."""
    if ref is None:
        return
    if "id" not in ref and "name" not in ref:
        raise _invalid(field, "id or name must be present.")
    domain = ref.get("domain")
    if isinstance(domain, dict) and "id" not in domain and "name" not in domain:
        raise _invalid(f"{field}/domain", "id or name must be present.")


def _selector_fields(ref: dict[str, Any], target: str) -> dict[str, str | None]:
    """A name and its domain (by id or name), else an id: Keystone prefers the name."""
    if ref.get("name"):
        domain = ref.get("domain")
        if domain is None:
            raise _expecting("domain", target)
        return {"name": ref["name"], "domain_id": domain.get("id"),
                "domain_name": domain.get("name")}
    if not ref.get("id"):
        raise _expecting("id or name", target)
    return {"id": ref["id"]}


class AuthPluginFault(Fault):
    """Keystone's ``AuthPluginException``: a 401 whose body also lists the auth methods."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)
        self.identity: dict[str, Any] = {"methods": list(AUTH_METHODS)}


class IdentityAPI(Service):
    prefix = "/identity"

    def __init__(
        self,
        identity: IdentityService,
        public_url: str,
        max_body: int,
        catalog: Callable[[], list[dict[str, Any]]],
    ) -> None:
        super().__init__(identity, public_url, max_body)
        self.catalog = catalog

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/", self.versions, authenticated=False),
            Route("GET", "/v3", self.version_v3, authenticated=False),
            Route("POST", "/v3/auth/tokens", self.issue_token, authenticated=False),
            Route("GET", "/v3/auth/tokens", self.check_token),
            Route("HEAD", "/v3/auth/tokens", self.check_token),
            Route("DELETE", "/v3/auth/tokens", self.revoke_token),
            Route("GET", "/v3/auth/catalog", self.auth_catalog),
            Route("GET", "/v3/auth/projects", self.auth_projects),
            Route("GET", "/v3/auth/domains", self.auth_domains),
            Route("GET", "/v3/domains", self.list_domains),
            Route("POST", "/v3/domains", self.create_domain),
            Route("GET", "/v3/domains/{domain_id}", self.show_domain),
            Route("PATCH", "/v3/domains/{domain_id}", self.update_domain),
            Route("DELETE", "/v3/domains/{domain_id}", self.delete_domain),
            Route("GET", "/v3/projects", self.list_projects),
            Route("POST", "/v3/projects", self.create_project),
            Route("GET", "/v3/projects/{project_id}", self.show_project),
            Route("PATCH", "/v3/projects/{project_id}", self.update_project),
            Route("DELETE", "/v3/projects/{project_id}", self.delete_project),
            Route("GET", "/v3/projects/{project_id}/users/{user_id}/roles", self.list_grants),
            Route("PUT", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
                  self.grant),
            Route("GET", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
                  self.check_grant),
            Route("HEAD", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
                  self.check_grant),
            Route("DELETE", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}",
                  self.revoke_grant),
            Route("GET", "/v3/users", self.list_users),
            Route("POST", "/v3/users", self.create_user),
            Route("GET", "/v3/users/{user_id}", self.show_user),
            Route("PATCH", "/v3/users/{user_id}", self.update_user),
            Route("DELETE", "/v3/users/{user_id}", self.delete_user),
            Route("GET", "/v3/users/{user_id}/projects", self.user_projects),
            Route("GET", "/v3/roles", self.list_roles),
            Route("POST", "/v3/roles", self.create_role),
            Route("GET", "/v3/roles/{role_id}", self.show_role),
            Route("PATCH", "/v3/roles/{role_id}", self.update_role),
            Route("DELETE", "/v3/roles/{role_id}", self.delete_role),
            Route("GET", "/v3/role_assignments", self.list_assignments),
        ]

    # -- Keystone's dialect ----------------------------------------------------------------

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

    # -- helpers -------------------------------------------------------------------------

    def _v3(self, call: Call) -> str:
        return f"{base_url(call.request)}{self.prefix}/v3"

    def _list_links(self, call: Call) -> dict[str, Any]:
        return {"self": str(call.request.url), "previous": None, "next": None}

    def _version(self, call: Call) -> dict[str, Any]:
        return {**V3_VERSION, "links": [{"rel": "self", "href": f"{self._v3(call)}/"}]}

    def _admin(self, call: Call, rule: str) -> TokenInfo:
        self.identity.require_admin(call.token, f"identity:{rule}")
        return call.token

    def _target(self, call: Call, model: type[Any], param: str, kind: str, rule: str,
                allowed: bool = False) -> Any:
        """The entity a call names, then the policy check: Keystone's enforcer loads the
        target first, so an unknown id is a 404 even for callers the policy refuses."""
        row = self.identity.get_row(model, call.params[param], kind)
        if not allowed:
            self._admin(call, rule)
        return row

    def _body(self, call: Call, key: str, properties: dict[str, Any],
              required: list[str]) -> dict[str, Any]:
        validate_body(_entity_schema(key, properties, required), call.body, dialect="keystone")
        entity: dict[str, Any] = call.body[key]
        return entity

    def _filters(self, call: Call, allowed: dict[str, str]) -> dict[str, Any]:
        """Query filters Keystone honours for a list; ``enabled`` is a boolean."""
        filters: dict[str, Any] = {}
        for param, column in allowed.items():
            if param in call.request.query_params:
                value: Any = call.request.query_params[param]
                if column == "enabled":
                    value = value.lower() not in ("0", "false", "no", "off")
                filters[column] = value
        return filters

    # -- views ---------------------------------------------------------------------------

    def _domain_view(self, call: Call, d: Domain) -> dict[str, Any]:
        return {"id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
                "tags": [], "options": {}, "links": {"self": f"{self._v3(call)}/domains/{d.id}"}}

    def _project_view(self, call: Call, p: Project) -> dict[str, Any]:
        return {"id": p.id, "name": p.name, "domain_id": p.domain_id,
                "description": p.description, "enabled": p.enabled, "parent_id": p.domain_id,
                "is_domain": False, "tags": [], "options": {},
                "links": {"self": f"{self._v3(call)}/projects/{p.id}"}}

    def _user_view(self, call: Call, u: User) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
            "password_expires_at": None, "options": {},
            "links": {"self": f"{self._v3(call)}/users/{u.id}"},
        }
        if u.default_project_id:
            view["default_project_id"] = u.default_project_id
        if u.email:
            view["email"] = u.email
        if u.description:
            view["description"] = u.description
        return view

    def _role_view(self, call: Call, r: Role) -> dict[str, Any]:
        return {"id": r.id, "name": r.name, "domain_id": None, "description": r.description,
                "options": {}, "links": {"self": f"{self._v3(call)}/roles/{r.id}"}}

    def _token_view(self, info: TokenInfo, with_catalog: bool) -> dict[str, Any]:
        def named(ref: Any) -> dict[str, Any]:
            return {"id": ref.id, "name": ref.name,
                    "domain": {"id": ref.domain_id, "name": ref.domain_name}}

        token: dict[str, Any] = {
            "methods": list(info.methods),
            "user": {**named(info.user), "password_expires_at": None},
            "audit_ids": list(info.audit_ids),
            "expires_at": _time(info.expires_at),
            "issued_at": _time(info.issued_at),
        }
        if info.project is not None:
            token["project"] = named(info.project)
            token["is_domain"] = False
            token["roles"] = [{"id": r.id, "name": r.name} for r in info.roles]
            if with_catalog:
                token["catalog"] = self.catalog()
        return {"token": token}

    # -- discovery -----------------------------------------------------------------------

    async def versions(self, call: Call) -> Response:
        # NOTE: Keystone answers its root with 300 Multiple Choices.
        return json_response({"versions": {"values": [self._version(call)]}}, status=300)

    async def version_v3(self, call: Call) -> Response:
        return json_response({"version": self._version(call)})

    # -- tokens --------------------------------------------------------------------------

    async def issue_token(self, call: Call) -> Response:
        """``POST /v3/auth/tokens``, checked in Keystone's order (AuthInfo.create, then the
        method plugins), so that each malformed body gets Keystone's own 400 message."""
        auth = call.body.get("auth") if isinstance(call.body, dict) else None
        if auth is not None:
            validate_body(_AUTH_SCHEMA, auth, dialect="keystone")
            _check_ref(auth["identity"].get("password", {}).get("user"),
                       "identity/password/user")
            scope = auth.get("scope")
            if isinstance(scope, dict):
                _check_ref(scope.get("project"), "scope/project")
                _check_ref(scope.get("domain"), "scope/domain")
        if not auth:
            raise _expecting("auth", "request body")
        identity = auth["identity"]
        methods: list[str] = list(dict.fromkeys(identity["methods"]))
        for method in methods:
            if method not in identity:
                raise _expecting(method, "identity")
        if not set(methods) <= set(AUTH_METHODS):
            raise AuthPluginFault("Attempted to authenticate with an unsupported method.")
        scope = auth.get("scope")
        project: ProjectSelector | None = None
        if scope is not None:
            if (isinstance(scope, str) and scope != "unscoped") or (
                    sum(name in scope for name in _SCOPES) != 1):
                raise _expecting("system, project, domain, OS-TRUST:trust or unscoped", "scope")
            if isinstance(scope, dict) and "project" in scope:
                project = ProjectSelector(**_selector_fields(scope["project"], "project"))
            elif isinstance(scope, dict) and "unscoped" not in scope:
                # Domain, system and trust scopes need assignments this emulator does not
                # model: Keystone answers 401 to a user without a role there.
                raise NotAuthenticated(AUTH_FAILED)
        if not methods:
            raise NotAuthenticated(AUTH_FAILED)  # no method proved an identity
        user: UserSelector | None = None
        password: str | None = None
        token: str | None = None
        if "password" in methods:
            payload = identity["password"]
            if "user" not in payload:
                raise _expecting("user", "password")
            user = UserSelector(**_selector_fields(payload["user"], "user"))
            password = payload["user"].get("password")
        if "token" in methods:
            token = identity["token"]["id"]
        issued = self.identity.authenticate(
            methods=methods, user=user, password=password, token=token, project=project,
            unscoped=scope is not None and "unscoped" in scope,
        )
        with_catalog = "nocatalog" not in call.request.query_params
        return json_response(
            self._token_view(issued.info, with_catalog),
            status=201,
            headers={"X-Subject-Token": issued.token},
        )

    def _subject(self, call: Call) -> str:
        subject = call.request.headers.get("x-subject-token")
        if not subject:
            raise _expecting("X-Subject-Token", "the request headers")
        return subject

    def _subject_info(self, call: Call, rule: str, service_allowed: bool) -> TokenInfo:
        """The subject token (404 when invalid, before any policy check, as Keystone's
        enforcer validates it to build the target), then the policy: the subject's own
        user (``rule:token_subject``), an admin, or for validation a ``service`` user."""
        info = self.identity.validate_subject(self._subject(call))
        caller = call.token
        if info.user.id != caller.user.id and not (
            service_allowed and "service" in caller.role_names
        ):
            self._admin(call, rule)
        return info

    async def check_token(self, call: Call) -> Response:
        subject = self._subject(call)
        head = call.request.method == "HEAD"
        info = self._subject_info(call, "check_token" if head else "validate_token",
                                  service_allowed=not head)
        with_catalog = "nocatalog" not in call.request.query_params
        if call.request.method == "HEAD":
            return empty_response(200, headers={"X-Subject-Token": subject})
        return json_response(self._token_view(info, with_catalog),
                             headers={"X-Subject-Token": subject})

    async def revoke_token(self, call: Call) -> Response:
        subject = self._subject(call)
        self._subject_info(call, "revoke_token", service_allowed=False)
        self.identity.revoke(subject)
        return empty_response(204)

    async def auth_catalog(self, call: Call) -> Response:
        if call.token.project is None:
            # Keystone raises Forbidden("A project-scoped token is required ...") but, as a
            # security error, renders only its generic message outside insecure_debug.
            raise Fault(403, "You are not authorized to perform the requested action.")
        return json_response({"catalog": self.catalog(), "links": self._list_links(call)})

    async def auth_projects(self, call: Call) -> Response:
        projects = self.identity.projects_of(call.token.user.id)
        return json_response({"projects": [self._project_view(call, p) for p in projects],
                              "links": self._list_links(call)})

    async def auth_domains(self, call: Call) -> Response:
        # Domain-scoped authorisation is not modelled: no domain grants a token scope.
        return json_response({"domains": [], "links": self._list_links(call)})

    # -- domains -------------------------------------------------------------------------

    async def list_domains(self, call: Call) -> Response:
        self._admin(call, "list_domains")
        rows = self.identity.list_rows(Domain, self._filters(call, {"name": "name",
                                                                     "enabled": "enabled"}))
        return json_response({"domains": [self._domain_view(call, d) for d in rows],
                              "links": self._list_links(call)})

    async def create_domain(self, call: Call) -> Response:
        self._admin(call, "create_domain")
        data = self._body(call, "domain", _DOMAIN_PROPS, ["name"])
        row = self.identity.create_domain(data["name"], data.get("description") or "",
                                          data.get("enabled", True))
        return json_response({"domain": self._domain_view(call, row)}, status=201)

    async def show_domain(self, call: Call) -> Response:
        # token.project.domain.id:%(target.domain.id)s: a project's users see its domain.
        project = call.token.project
        own = project is not None and project.domain_id == call.params["domain_id"]
        row = self._target(call, Domain, "domain_id", "domain", "get_domain", own)
        return json_response({"domain": self._domain_view(call, row)})

    async def update_domain(self, call: Call) -> Response:
        self._target(call, Domain, "domain_id", "domain", "update_domain")
        data = self._body(call, "domain", _DOMAIN_PROPS, [])
        changes = {k: v for k, v in data.items() if k in ("name", "description", "enabled")}
        row = self.identity.update_row(Domain, call.params["domain_id"], "domain", changes)
        return json_response({"domain": self._domain_view(call, row)})

    async def delete_domain(self, call: Call) -> Response:
        self._target(call, Domain, "domain_id", "domain", "delete_domain")
        self.identity.delete_domain(call.params["domain_id"])
        return empty_response(204)

    # -- projects ------------------------------------------------------------------------

    async def list_projects(self, call: Call) -> Response:
        self._admin(call, "list_projects")
        filters = self._filters(call, {"name": "name", "domain_id": "domain_id",
                                       "enabled": "enabled"})
        rows = self.identity.list_rows(Project, filters)
        return json_response({"projects": [self._project_view(call, p) for p in rows],
                              "links": self._list_links(call)})

    async def create_project(self, call: Call) -> Response:
        self._admin(call, "create_project")
        data = self._body(call, "project", _PROJECT_PROPS, ["name"])
        row = self.identity.create_project(
            data["name"], data.get("domain_id") or DEFAULT_DOMAIN_ID,
            data.get("description") or "", data.get("enabled", True),
        )
        return json_response({"project": self._project_view(call, row)}, status=201)

    async def show_project(self, call: Call) -> Response:
        own = call.token.project is not None and call.token.project.id == call.params[
            "project_id"]
        row = self._target(call, Project, "project_id", "project", "get_project", own)
        return json_response({"project": self._project_view(call, row)})

    async def update_project(self, call: Call) -> Response:
        self._target(call, Project, "project_id", "project", "update_project")
        data = self._body(call, "project", _PROJECT_PROPS, [])
        changes = {k: v for k, v in data.items() if k in ("name", "description", "enabled")}
        if changes.get("description") is None:
            changes.pop("description", None)
        row = self.identity.update_row(Project, call.params["project_id"], "project", changes)
        return json_response({"project": self._project_view(call, row)})

    async def delete_project(self, call: Call) -> Response:
        self._target(call, Project, "project_id", "project", "delete_project")
        self.identity.delete_project(call.params["project_id"])
        return empty_response(204)

    # -- users ---------------------------------------------------------------------------

    async def list_users(self, call: Call) -> Response:
        self._admin(call, "list_users")
        filters = self._filters(call, {"name": "name", "domain_id": "domain_id",
                                       "enabled": "enabled"})
        rows = self.identity.list_rows(User, filters)
        return json_response({"users": [self._user_view(call, u) for u in rows],
                              "links": self._list_links(call)})

    async def create_user(self, call: Call) -> Response:
        self._admin(call, "create_user")
        data = self._body(call, "user", _USER_PROPS, ["name"])
        row = self.identity.create_user(
            data["name"], data.get("domain_id") or DEFAULT_DOMAIN_ID, data.get("password"),
            data.get("enabled", True), data.get("default_project_id"), data.get("email"),
            data.get("description") or "",
        )
        return json_response({"user": self._user_view(call, row)}, status=201)

    async def show_user(self, call: Call) -> Response:
        own = call.params["user_id"] == call.token.user.id
        row = self._target(call, User, "user_id", "user", "get_user", own)
        return json_response({"user": self._user_view(call, row)})

    async def update_user(self, call: Call) -> Response:
        self._target(call, User, "user_id", "user", "update_user")
        data = self._body(call, "user", _USER_PROPS, [])
        allowed = ("name", "description", "enabled", "password", "default_project_id", "email")
        changes = {k: v for k, v in data.items() if k in allowed}
        if changes.get("description") is None:
            changes.pop("description", None)
        if "password" in changes and changes["password"] is None:
            changes.pop("password")
        self.identity.check_default_project(changes.get("default_project_id"))
        row = self.identity.update_row(User, call.params["user_id"], "user", changes)
        return json_response({"user": self._user_view(call, row)})

    async def delete_user(self, call: Call) -> Response:
        self._target(call, User, "user_id", "user", "delete_user")
        self.identity.delete_user(call.params["user_id"])
        return empty_response(204)

    async def user_projects(self, call: Call) -> Response:
        user_id = call.params["user_id"]
        self._target(call, User, "user_id", "user", "list_user_projects",
                     user_id == call.token.user.id)
        projects = self.identity.projects_of(user_id)
        return json_response({"projects": [self._project_view(call, p) for p in projects],
                              "links": self._list_links(call)})

    # -- roles and assignments -----------------------------------------------------------

    async def list_roles(self, call: Call) -> Response:
        self._admin(call, "list_roles")
        rows = self.identity.list_rows(Role, self._filters(call, {"name": "name"}))
        return json_response({"roles": [self._role_view(call, r) for r in rows],
                              "links": self._list_links(call)})

    async def create_role(self, call: Call) -> Response:
        self._admin(call, "create_role")
        data = self._body(call, "role", _ROLE_PROPS, ["name"])
        row = self.identity.create_role(data["name"], data.get("description") or "")
        return json_response({"role": self._role_view(call, row)}, status=201)

    async def show_role(self, call: Call) -> Response:
        row = self._target(call, Role, "role_id", "role", "get_role")
        return json_response({"role": self._role_view(call, row)})

    async def update_role(self, call: Call) -> Response:
        self._target(call, Role, "role_id", "role", "update_role")
        data = self._body(call, "role", _ROLE_PROPS, [])
        changes = {k: v for k, v in data.items() if k in ("name", "description")}
        if "description" in changes and changes["description"] is None:
            changes["description"] = ""
        row = self.identity.update_row(Role, call.params["role_id"], "role", changes)
        return json_response({"role": self._role_view(call, row)})

    async def delete_role(self, call: Call) -> Response:
        self._target(call, Role, "role_id", "role", "delete_role")
        self.identity.delete_role(call.params["role_id"])
        return empty_response(204)

    async def list_grants(self, call: Call) -> Response:
        self._admin(call, "list_grants")
        rows = self.identity.roles_granted(call.params["project_id"], call.params["user_id"])
        return json_response({"roles": [self._role_view(call, r) for r in rows],
                              "links": self._list_links(call)})

    async def grant(self, call: Call) -> Response:
        self._admin(call, "create_grant")
        self.identity.grant(call.params["project_id"], call.params["user_id"],
                            call.params["role_id"])
        return empty_response(204)

    async def check_grant(self, call: Call) -> Response:
        self._admin(call, "check_grant")
        self.identity.check_grant(call.params["project_id"], call.params["user_id"],
                                  call.params["role_id"])
        return empty_response(204)

    async def revoke_grant(self, call: Call) -> Response:
        self._admin(call, "revoke_grant")
        self.identity.revoke_grant(call.params["project_id"], call.params["user_id"],
                                   call.params["role_id"])
        return empty_response(204)

    def _flag(self, call: Call, name: str) -> bool:
        """Keystone's boolean query flags: present and not ``0`` means true."""
        query = call.request.query_params
        return name in query and query[name] != "0"

    async def list_assignments(self, call: Call) -> Response:
        # NOTE: no exception for one's own assignments: Keystone's default policy for
        # identity:list_role_assignments is admin, system reader or domain reader.
        self._admin(call, "list_role_assignments")
        query = call.request.query_params
        include_names = self._flag(call, "include_names")
        rows = self.identity.assignments(
            user_id=query.get("user.id"),
            project_id=query.get("scope.project.id"),
            role_id=query.get("role.id"),
            effective=self._flag(call, "effective"),
        )
        v3 = self._v3(call)
        items = []
        for a in rows:
            role_ref: dict[str, Any] = {"id": a.role.id}
            user_ref: dict[str, Any] = {"id": a.user.id}
            project_ref: dict[str, Any] = {"id": a.project.id}
            if include_names:
                role_ref["name"] = a.role.name
                user_ref.update(name=a.user.name,
                                domain={"id": a.user.domain_id, "name": a.user_domain_name})
                project_ref.update(name=a.project.name,
                                   domain={"id": a.project.domain_id,
                                           "name": a.project_domain_name})
            # An implied role links to the assignment of the role that implies it, and
            # (sic, Keystone's argument order) to /prior_role/<implied>/implies/<prior>.
            link_role = a.prior_role_id or a.role.id
            links = {"assignment": f"{v3}/projects/{a.project.id}/users/{a.user.id}/roles/"
                                   f"{link_role}"}
            if a.prior_role_id is not None:
                links["prior_role"] = f"{v3}/prior_role/{a.role.id}/implies/{a.prior_role_id}"
            items.append({"role": role_ref, "user": user_ref,
                          "scope": {"project": project_ref}, "links": links})
        return json_response({"role_assignments": items, "links": self._list_links(call)})
