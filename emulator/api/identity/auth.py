"""Discovery and ``/v3/auth``: issue, validate and revoke tokens; the caller's catalog,
projects and domains."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.identity import schemas
from emulator.api.identity.common import Controller
from emulator.api.identity.views import (
    listing,
    project_catalog,
    project_view,
    token_view,
    v3_url,
    version,
)
from emulator.api.requests import validate_body
from emulator.api.routing import Call, empty_response, json_response
from emulator.errors import InvalidInput
from emulator.identity.records import AuthRequest, Selector, TokenInfo
from emulator.identity.service import AUTH_METHODS, IdentityService

_SCOPES = ("project", "domain", "unscoped", "system", "OS-TRUST:trust")


class AuthPluginFault(Fault):
    """Keystone's ``AuthPluginException``: a 401 whose body also lists the auth methods."""

    def __init__(self, message: str) -> None:
        super().__init__(401, message)
        self.identity: dict[str, Any] = {"methods": list(AUTH_METHODS)}


def _expecting(attribute: str, target: str) -> InvalidInput:
    return InvalidInput(
        f"Expecting to find {attribute} in {target}. The server could not comply with the "
        "request since it is either malformed or otherwise incorrect. The client is assumed "
        "to be in error."
    )


def _check_ref(ref: dict[str, Any] | None, field: str) -> None:
    """Keystone's checks after the schema: a user, project or domain needs an id or name."""
    if ref is None:
        return
    if "id" not in ref and "name" not in ref:
        raise Fault(400, f"Invalid input for field {field}: id or name must be present.")
    domain = ref.get("domain")
    if isinstance(domain, dict) and "id" not in domain and "name" not in domain:
        raise Fault(400, f"Invalid input for field {field}/domain: id or name must be present.")


def _selector(ref: dict[str, Any], target: str) -> Selector:
    """A name and its domain (by id or name), else an id: Keystone prefers the name."""
    if ref.get("name"):
        domain = ref.get("domain")
        if domain is None:
            raise _expecting("domain", target)
        return Selector(name=ref["name"], domain_id=domain.get("id"),
                        domain_name=domain.get("name"))
    if not ref.get("id"):
        raise _expecting("id or name", target)
    return Selector(id=ref["id"])


def parse_auth(body: Any) -> AuthRequest:
    """The ``auth`` object of ``POST /v3/auth/tokens``, checked in Keystone's order
    (AuthInfo.create, then the method plugins), so that each malformed body gets
    Keystone's own 400 message."""
    auth = body.get("auth") if isinstance(body, dict) else None
    if auth is not None:
        validate_body(schemas.AUTH, auth, dialect="keystone")
        _check_ref(auth["identity"].get("password", {}).get("user"), "identity/password/user")
        scope = auth.get("scope")
        if isinstance(scope, dict):
            _check_ref(scope.get("project"), "scope/project")
            _check_ref(scope.get("domain"), "scope/domain")
    if not auth:
        raise _expecting("auth", "request body")
    identity = auth["identity"]
    methods = tuple(dict.fromkeys(identity["methods"]))
    for method in methods:
        if method not in identity:
            raise _expecting(method, "identity")
    if not set(methods) <= set(AUTH_METHODS):
        raise AuthPluginFault("Attempted to authenticate with an unsupported method.")
    scope = auth.get("scope")
    project: Selector | None = None
    if scope is not None:
        if (isinstance(scope, str) and scope != "unscoped") or (
                sum(name in scope for name in _SCOPES) != 1):
            raise _expecting("system, project, domain, OS-TRUST:trust or unscoped", "scope")
        if isinstance(scope, dict) and "project" in scope:
            project = _selector(scope["project"], "project")
        elif isinstance(scope, dict) and "unscoped" not in scope:
            # Domain, system and trust scopes need assignments this emulator does not
            # model: Keystone answers 401 to a user without a role there.
            raise Fault(401)
    if not methods:
        raise Fault(401)  # no method proved an identity
    user: Selector | None = None
    password: str | None = None
    if "password" in methods:
        payload = identity["password"]
        if "user" not in payload:
            raise _expecting("user", "password")
        user, password = _selector(payload["user"], "user"), payload["user"].get("password")
    return AuthRequest(
        methods=methods, user=user, password=password,
        token=identity["token"]["id"] if "token" in methods else None,
        project=project, unscoped=scope is not None and "unscoped" in scope,
    )


class AuthController(Controller):
    def __init__(self, identity: IdentityService,
                 catalog: Callable[[], list[dict[str, Any]]]) -> None:
        super().__init__(identity)
        self.catalog = catalog

    def _catalog(self, call: Call) -> list[dict[str, Any]] | None:
        return None if "nocatalog" in call.request.query_params else self.catalog()

    # -- discovery -----------------------------------------------------------------------

    async def versions(self, call: Call) -> Response:
        # NOTE: Keystone answers its root with 300 Multiple Choices.
        return json_response({"versions": {"values": [version(call)]}}, status=300)

    async def version_v3(self, call: Call) -> Response:
        return json_response({"version": version(call)})

    # -- tokens --------------------------------------------------------------------------

    async def issue_token(self, call: Call) -> Response:
        issued = self.identity.tokens.authenticate(parse_auth(call.body))
        return json_response(token_view(issued.info, self._catalog(call)), status=201,
                             headers={"X-Subject-Token": issued.token})

    @staticmethod
    def _subject(call: Call) -> str:
        subject = call.request.headers.get("x-subject-token")
        if not subject:
            raise _expecting("X-Subject-Token", "the request headers")
        return subject

    def _subject_info(self, call: Call, rule: str, service_allowed: bool) -> TokenInfo:
        """The subject token (Keystone's 404 when invalid, before any policy check, as its
        enforcer validates it to build the target), then the policy: the subject's own
        user (``rule:token_subject``), an admin, or for validation a ``service`` user."""
        info = self.identity.tokens.inspect(self._subject(call))
        caller = call.token
        if info.user.id != caller.user.id and not (
            service_allowed and "service" in caller.role_names
        ):
            self.require_admin(call, rule)
        return info

    async def check_token(self, call: Call) -> Response:
        subject = self._subject(call)
        head = call.request.method == "HEAD"
        info = self._subject_info(call, "check_token" if head else "validate_token",
                                  service_allowed=not head)
        if head:
            return empty_response(200, headers={"X-Subject-Token": subject})
        return json_response(token_view(info, self._catalog(call)),
                             headers={"X-Subject-Token": subject})

    async def revoke_token(self, call: Call) -> Response:
        subject = self._subject(call)
        self._subject_info(call, "revoke_token", service_allowed=False)
        self.identity.tokens.revoke(subject)
        return empty_response(204)

    # -- the caller's catalog, projects and domains ----------------------------------------

    async def auth_catalog(self, call: Call) -> Response:
        if call.token.project is None:
            # Keystone raises Forbidden("A project-scoped token is required ...") but, as a
            # security error, renders only its generic message outside insecure_debug.
            raise Fault(403, "You are not authorized to perform the requested action.")
        return json_response(listing(call, "catalog",
                                     project_catalog(self.catalog(), call.token.project.id)))

    async def auth_projects(self, call: Call) -> Response:
        projects = self.identity.assignments.projects_of(call.token.user.id)
        v3 = v3_url(call)
        return json_response(listing(call, "projects", [project_view(v3, p) for p in projects]))

    async def auth_domains(self, call: Call) -> Response:
        # Domain-scoped authorisation is not modelled: no domain grants a token scope.
        return json_response(listing(call, "domains", []))
