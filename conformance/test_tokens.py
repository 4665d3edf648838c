"""Keystone v3 tokens: password and token auth, scoping, the token body, validation,
revocation, the service catalog, expiry, and Keystone's 400/401/403/404 answers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess

#: Tempest's ``KeystoneV3AuthProvider`` parses ``expires_at`` with this format first.
EXPIRY_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

AUTH_FAILED = "The request you have made requires authentication."
AUTH_FAILED_BODY = {"error": {"code": 401, "title": "Unauthorized", "message": AUTH_FAILED}}
VALIDATION_TAIL = (
    " The server could not comply with the request since it is either malformed or "
    "otherwise incorrect. The client is assumed to be in error."
)


# -- helpers ------------------------------------------------------------------------------


def password_identity(user: dict[str, Any], password: str) -> dict[str, Any]:
    return {"methods": ["password"], "password": {"user": {**user, "password": password}}}


def issue(
    session: ApiSession,
    identity: dict[str, Any],
    scope: Any = None,
    query: str = "",
) -> httpx.Response:
    auth: dict[str, Any] = {"identity": identity}
    if scope is not None:
        auth["scope"] = scope
    return session.http.post(f"{session.account.auth_url}/auth/tokens{query}",
                             json={"auth": auth})


def by_name(session: ApiSession) -> dict[str, Any]:
    """The session's user, named by name and domain name."""
    account = session.account
    return password_identity(
        {"name": account.username, "domain": {"name": account.user_domain_name}},
        account.password,
    )


def project_scope(session: ApiSession) -> dict[str, Any]:
    return {"project": {"id": session.project_id}}


def issued(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """The new token and its body, after checking the 201 and its header."""
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]
    assert token
    body: dict[str, Any] = response.json()["token"]
    return token, body


def expiry(body: dict[str, Any]) -> datetime:
    return datetime.strptime(body["expires_at"], EXPIRY_FORMAT).replace(tzinfo=UTC)


def validate(session: ApiSession, subject: str, *, token: str | bool = True,
             method: str = "GET", query: str = "") -> httpx.Response:
    return session.identity(method, f"/auth/tokens{query}", token=token,
                            headers={"X-Subject-Token": subject})


def assert_keystone_error(response: httpx.Response, code: int, title: str) -> str:
    assert response.status_code == code, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["title"] == title
    message: str = error["message"]
    return message


def assert_auth_failed(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == AUTH_FAILED_BODY
    assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def fresh_token(session: ApiSession) -> tuple[str, dict[str, Any]]:
    return issued(issue(session, by_name(session), project_scope(session)))


@pytest.fixture
def temporary(admin: ApiSession) -> Iterator[list[str]]:
    """Paths (``/users/<id>``, ``/projects/<id>``) to delete as admin after the test."""
    paths: list[str] = []
    yield paths
    for path in reversed(paths):
        admin.identity("DELETE", path)


def create(admin: ApiSession, temporary: list[str], kind: str, **fields: Any) -> dict[str, Any]:
    response = admin.identity("POST", f"/{kind}s", json={kind: fields})
    assert response.status_code == 201, response.text
    entity: dict[str, Any] = response.json()[kind]
    temporary.append(f"/{kind}s/{entity['id']}")
    return entity


def role_id(admin: ApiSession, name: str) -> str:
    roles = admin.identity("GET", f"/roles?name={name}").json()["roles"]
    assert len(roles) == 1, roles
    return str(roles[0]["id"])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- password authentication and scope -----------------------------------------------------


def test_password_by_name_scoped_by_project_name(member: ApiSession) -> None:
    account = member.account
    response = member.http.post(f"{account.auth_url}/auth/tokens",
                                json=account.password_auth())
    token, body = issued(response)
    assert token != member.token
    assert body["methods"] == ["password"]
    assert body["user"]["name"] == account.username
    assert body["user"]["domain"]["name"] == account.user_domain_name
    assert body["user"]["domain"]["id"]
    assert body["project"]["name"] == account.project_name
    assert body["project"]["domain"]["name"] == account.project_domain_name
    assert body["project"]["id"] == member.project_id
    assert body["user"]["id"] == member.user_id


def test_token_body_has_what_tempest_reads(member: ApiSession) -> None:
    _token, body = fresh_token(member)
    assert set(body["user"]) >= {"id", "name", "domain"}
    assert set(body["user"]["domain"]) == {"id", "name"}
    assert set(body["project"]) == {"id", "name", "domain"}
    assert set(body["project"]["domain"]) == {"id", "name"}
    issued_at = datetime.strptime(body["issued_at"], EXPIRY_FORMAT).replace(tzinfo=UTC)
    expires_at = expiry(body)
    assert issued_at < expires_at
    assert abs((issued_at - datetime.now(UTC)).total_seconds()) < 300
    assert len(body["audit_ids"]) == 1 and body["audit_ids"][0]
    assert body["roles"], "a project-scoped token lists the roles"
    assert all(set(role) == {"id", "name"} for role in body["roles"])
    assert isinstance(body["catalog"], list) and body["catalog"]
    assert body["is_domain"] is False


def test_password_by_user_id_scoped_by_project_id(member: ApiSession) -> None:
    identity = password_identity({"id": member.user_id}, member.account.password)
    _token, body = issued(issue(member, identity, project_scope(member)))
    assert body["user"]["id"] == member.user_id
    assert body["user"]["name"] == member.account.username
    assert body["project"]["id"] == member.project_id


def test_password_by_domain_id_scoped_by_project_name_and_domain_id(member: ApiSession) -> None:
    user_domain = member.token_body["user"]["domain"]["id"]
    project_domain = member.token_body["project"]["domain"]["id"]
    identity = password_identity(
        {"name": member.account.username, "domain": {"id": user_domain}},
        member.account.password,
    )
    scope = {"project": {"name": member.account.project_name, "domain": {"id": project_domain}}}
    _token, body = issued(issue(member, identity, scope))
    assert body["user"]["id"] == member.user_id
    assert body["project"]["id"] == member.project_id
    assert body["project"]["domain"]["id"] == project_domain


def test_explicitly_unscoped_token_has_no_project_roles_or_catalog(member: ApiSession) -> None:
    _token, body = issued(issue(member, by_name(member), "unscoped"))
    assert body["user"]["id"] == member.user_id
    for key in ("project", "roles", "catalog", "domain", "system"):
        assert key not in body
    assert body["methods"] == ["password"]
    expiry(body)


def test_no_scope_means_the_default_project(admin: ApiSession, temporary: list[str]) -> None:
    """Keystone scopes to the user's default project, when it has a role there."""
    project = create(admin, temporary, "project", name=unique("default-proj"))
    password = uuid.uuid4().hex
    user = create(admin, temporary, "user", name=unique("default-user"), password=password,
                  default_project_id=project["id"])
    identity = password_identity({"id": user["id"]}, password)

    # Without a role on its default project, the token is unscoped.
    _token, body = issued(issue(admin, identity))
    assert "project" not in body and "catalog" not in body

    grant = f"/projects/{project['id']}/users/{user['id']}/roles/{role_id(admin, 'member')}"
    assert admin.identity("PUT", grant).status_code == 204
    _token, body = issued(issue(admin, identity))
    assert body["project"]["id"] == project["id"]
    assert "member" in {role["name"] for role in body["roles"]}
    assert body["catalog"]

    # An explicit "unscoped" wins over the default project.
    _token, body = issued(issue(admin, identity, "unscoped"))
    assert "project" not in body


def test_nocatalog_on_issue_and_on_validation(member: ApiSession) -> None:
    token, body = issued(issue(member, by_name(member), project_scope(member), "?nocatalog"))
    assert "catalog" not in body
    assert body["project"]["id"] == member.project_id
    shown = validate(member, token, token=token, query="?nocatalog")
    assert shown.status_code == 200
    assert "catalog" not in shown.json()["token"]
    assert shown.json()["token"]["project"]["id"] == member.project_id
    full = validate(member, token, token=token)
    assert full.json()["token"]["catalog"]


# -- the catalog -----------------------------------------------------------------------------


def test_catalog_entries_are_well_formed(member: ApiSession) -> None:
    catalog = member.token_body["catalog"]
    types = {service["type"] for service in catalog}
    assert {"identity", "compute"} <= types
    for service in catalog:
        assert service["id"] and service["type"] and service["endpoints"]
        for endpoint in service["endpoints"]:
            assert set(endpoint) >= {"id", "interface", "region", "region_id", "url"}
            assert endpoint["interface"] in ("public", "internal", "admin")
            assert endpoint["url"].startswith("http")
    assert member.compute_url.endswith("/v2.1")


#: Services the emulator will serve one day (DESIGN.md), by catalog type and path.
LATER_SERVICES = {"image": "/image", "network": "/network", "block-storage": "/volume"}


@pytest.mark.emulator_only
def test_catalog_lists_only_the_services_that_exist(member: ApiSession) -> None:
    """Identity and compute, and another service only once its path answers: clients act
    on the catalog (openstacksdk lists networks as soon as ``network`` is there)."""
    catalog = member.token_body["catalog"]
    root = member.compute_root.rsplit("/", 1)[0]
    served = {kind for kind, path in LATER_SERVICES.items()
              if member.http.get(f"{root}{path}").status_code != 404}
    types = {service["type"] for service in catalog} - {"volumev3"}
    assert types == {"compute", "identity", "emulator"} | served
    for service in catalog:
        endpoints = service["endpoints"]
        assert sorted(e["interface"] for e in endpoints) == ["admin", "internal", "public"]
        assert {e["region"] for e in endpoints} == {"RegionOne"}
        assert {e["region_id"] for e in endpoints} == {"RegionOne"}
        assert len({e["url"] for e in endpoints}) == 1
        if service["type"] == "compute":
            assert endpoints[0]["url"].endswith("/compute/v2.1")
        elif service["type"] == "identity":
            assert endpoints[0]["url"].endswith("/identity")
        elif service["type"] == "emulator":  # the control plane, a type of its own
            health = member.http.get(f"{endpoints[0]['url']}/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"


def test_auth_catalog_matches_the_token_catalog(member: ApiSession) -> None:
    response = member.identity("GET", "/auth/catalog")
    assert response.status_code == 200
    assert response.json()["catalog"] == member.token_body["catalog"]


# -- rescoping with the token method ---------------------------------------------------------


def test_rescoping_keeps_expiry_and_chains_audit_ids(member: ApiSession) -> None:
    unscoped, first = issued(issue(member, by_name(member), "unscoped"))
    token_identity = {"methods": ["token"], "token": {"id": unscoped}}
    scoped, second = issued(issue(member, token_identity, project_scope(member)))
    assert scoped != unscoped
    assert second["project"]["id"] == member.project_id
    assert second["user"]["id"] == member.user_id
    assert second["expires_at"] == first["expires_at"]
    assert set(second["methods"]) == {"token", "password"}
    assert len(second["audit_ids"]) == 2
    assert second["audit_ids"][1] == first["audit_ids"][0]
    assert second["audit_ids"][0] != first["audit_ids"][0]

    # Rescoping again keeps the original audit id as the chain id.
    _third_token, third = issued(issue(member, {"methods": ["token"], "token": {"id": scoped}},
                                       project_scope(member)))
    assert third["audit_ids"][1] == first["audit_ids"][0]
    assert third["expires_at"] == first["expires_at"]


def test_rescoping_with_an_invalid_token_is_404(member: ApiSession) -> None:
    bogus = "not-a-token-" + uuid.uuid4().hex
    response = issue(member, {"methods": ["token"], "token": {"id": bogus}},
                     project_scope(member))
    message = assert_keystone_error(response, 404, "Not Found")
    assert message == f"Could not find token: {bogus}."


def test_token_cannot_be_rescoped_to_a_project_without_a_role(
    member: ApiSession, alt: ApiSession
) -> None:
    unscoped, _ = issued(issue(member, by_name(member), "unscoped"))
    response = issue(member, {"methods": ["token"], "token": {"id": unscoped}},
                     {"project": {"id": alt.project_id}})
    assert_auth_failed(response)


def test_token_and_password_together_must_prove_the_same_user(
    member: ApiSession, alt: ApiSession
) -> None:
    """Keystone runs every method named: each must succeed, and for the same user."""
    def both(password_of: ApiSession, password: str) -> httpx.Response:
        identity = password_identity({"id": password_of.user_id}, password)
        identity["methods"] = ["password", "token"]
        identity["token"] = {"id": member.token}
        return issue(member, identity, project_scope(member))

    _token, body = issued(both(member, member.account.password))
    assert set(body["methods"]) == {"password", "token"}
    assert body["expires_at"] == member.token_body["expires_at"]
    assert_auth_failed(both(member, "wrong-" + uuid.uuid4().hex))
    assert_auth_failed(both(alt, alt.account.password))


def test_the_scope_is_checked_before_the_token(member: ApiSession) -> None:
    """Keystone looks the scope up (401) before the token method runs (404)."""
    bogus = "not-a-token-" + uuid.uuid4().hex
    response = issue(member, {"methods": ["token"], "token": {"id": bogus}},
                     {"project": {"id": uuid.uuid4().hex}})
    assert_auth_failed(response)


# -- a token no longer valid cannot be exchanged for a new one -------------------------------
#
# Keystone's token method validates its token as ``GET /v3/auth/tokens`` does
# (keystone.token.provider.validate_token): what the token names is read again (a missing
# project or user is that resource's 404, a disabled project its own words, no role left on
# the project "Could not find token"), then expiry and revocation events ("Failed to
# validate token"). Every answer is a 404, and nothing is issued.


class Holder:
    """User U with member on projects P and Q, and T: U's token scoped to P."""

    def __init__(self, admin: ApiSession, temporary: list[str]) -> None:
        self.admin = admin
        self.p = create(admin, temporary, "project", name=unique("tok-p"))["id"]
        self.q = create(admin, temporary, "project", name=unique("tok-q"))["id"]
        self.password = uuid.uuid4().hex
        self.user = create(admin, temporary, "user", name=unique("tok-user"),
                           password=self.password, default_project_id=self.q)["id"]
        self.member_role = role_id(admin, "member")
        for project in (self.p, self.q):
            granted = admin.identity("PUT", self.grant(project))
            assert granted.status_code == 204, granted.text
        identity = password_identity({"id": self.user}, self.password)
        self.token, _ = issued(issue(admin, identity, {"project": {"id": self.p}}))
        # T can be exchanged while it is valid: to Q, unscoped, and for the default (Q).
        for scope in self.scopes():
            issued(issue(admin, self.token_identity(), scope))

    def grant(self, project: str) -> str:
        return f"/projects/{project}/users/{self.user}/roles/{self.member_role}"

    def token_identity(self) -> dict[str, Any]:
        return {"methods": ["token"], "token": {"id": self.token}}

    def scopes(self) -> list[Any]:
        return [{"project": {"id": self.q}}, "unscoped", None]

    def assert_refused(self, message: str) -> None:
        """T is no token anywhere, and no new token is made from it."""
        assert_auth_failed(self.admin.identity("GET", "/auth/projects", token=self.token))
        for scope in self.scopes():
            response = issue(self.admin, self.token_identity(), scope)
            assert assert_keystone_error(response, 404, "Not Found") == message, scope
            assert "X-Subject-Token" not in response.headers
        shown = validate(self.admin, self.token)
        assert assert_keystone_error(shown, 404, "Not Found") == message


@pytest.fixture
def holder(admin: ApiSession, temporary: list[str]) -> Holder:
    return Holder(admin, temporary)


def test_no_exchange_once_the_role_on_its_project_is_removed(holder: Holder) -> None:
    assert holder.admin.identity("DELETE", holder.grant(holder.p)).status_code == 204
    holder.assert_refused(f"Could not find token: {holder.token}.")


def test_no_exchange_once_its_project_is_deleted(holder: Holder) -> None:
    assert holder.admin.identity("DELETE", f"/projects/{holder.p}").status_code == 204
    holder.assert_refused(f"Could not find project: {holder.p}.")


def test_no_exchange_once_its_project_is_disabled(holder: Holder) -> None:
    disabled = holder.admin.identity("PATCH", f"/projects/{holder.p}",
                                     json={"project": {"enabled": False}})
    assert disabled.status_code == 200, disabled.text
    holder.assert_refused(f"Unable to validate token because project {holder.p} is disabled")


def test_no_exchange_once_its_user_is_disabled(holder: Holder) -> None:
    disabled = holder.admin.identity("PATCH", f"/users/{holder.user}",
                                     json={"user": {"enabled": False}})
    assert disabled.status_code == 200, disabled.text
    holder.assert_refused("Failed to validate token")


def test_no_exchange_once_its_user_is_deleted(holder: Holder) -> None:
    assert holder.admin.identity("DELETE", f"/users/{holder.user}").status_code == 204
    holder.assert_refused(f"Could not find user: {holder.user}.")


def test_no_exchange_once_it_is_revoked(holder: Holder) -> None:
    revoked = holder.admin.identity("DELETE", "/auth/tokens",
                                    headers={"X-Subject-Token": holder.token})
    assert revoked.status_code == 204
    holder.assert_refused("Failed to validate token")


# -- validation ------------------------------------------------------------------------------


def test_validate_own_token_get_and_head(member: ApiSession) -> None:
    response = validate(member, member.token)
    assert response.status_code == 200
    assert response.headers["X-Subject-Token"] == member.token
    body = response.json()["token"]
    assert body["user"]["id"] == member.user_id
    assert body["project"]["id"] == member.project_id
    assert body["expires_at"] == member.token_body["expires_at"]
    assert body["audit_ids"] == member.token_body["audit_ids"]
    head = validate(member, member.token, method="HEAD")
    assert head.status_code == 200
    assert head.content == b""


def test_a_user_may_validate_its_other_tokens(member: ApiSession) -> None:
    """``rule:token_subject`` compares users, not tokens."""
    other, _ = fresh_token(member)
    response = validate(member, other)
    assert response.status_code == 200
    assert response.json()["token"]["user"]["id"] == member.user_id


def test_admin_validates_another_users_token(admin: ApiSession, member: ApiSession) -> None:
    response = validate(admin, member.token)
    assert response.status_code == 200
    body = response.json()["token"]
    assert body["user"]["id"] == member.user_id
    assert body["project"]["id"] == member.project_id
    assert validate(admin, member.token, method="HEAD").status_code == 200


def test_member_may_not_validate_another_users_token(member: ApiSession, alt: ApiSession) -> None:
    response = validate(member, alt.token)
    message = assert_keystone_error(response, 403, "Forbidden")
    assert message == ("You are not authorized to perform the requested action: "
                       "identity:validate_token.")
    head = validate(member, alt.token, method="HEAD")
    assert head.status_code == 403


def test_validating_an_unknown_token_is_404(admin: ApiSession) -> None:
    bogus = "gAAAAA" + uuid.uuid4().hex
    message = assert_keystone_error(validate(admin, bogus), 404, "Not Found")
    assert message == f"Could not find token: {bogus}."


def test_a_bad_x_auth_token_is_401_before_anything_else(member: ApiSession) -> None:
    assert_auth_failed(validate(member, member.token, token="bogus-" + uuid.uuid4().hex))
    assert_auth_failed(member.identity("GET", "/auth/projects", token=None))


# -- revocation ------------------------------------------------------------------------------


def test_revoked_token_is_refused_everywhere(member: ApiSession, admin: ApiSession) -> None:
    token, _ = fresh_token(member)
    assert member.compute("GET", "/os-anything", token=token).status_code != 401
    revoked = member.identity("DELETE", "/auth/tokens", token=token,
                              headers={"X-Subject-Token": token})
    assert revoked.status_code == 204
    assert revoked.content == b""

    on_compute = member.compute("GET", "/os-anything", token=token)
    assert_auth_failed(on_compute)
    on_identity = member.identity("GET", "/auth/projects", token=token)
    assert_auth_failed(on_identity)
    for session in (admin, member):
        response = validate(session, token)
        assert assert_keystone_error(response, 404, "Not Found") == "Failed to validate token"
    again = member.identity("DELETE", "/auth/tokens", headers={"X-Subject-Token": token})
    assert_keystone_error(again, 404, "Not Found")
    # Other tokens of the same user are untouched.
    assert validate(member, member.token).status_code == 200


def test_revocation_is_per_token_not_per_chain(member: ApiSession) -> None:
    """Keystone revokes by the token's own audit id (``revoke_chain=False``): a token
    rescoped from the revoked one keeps working, but the revoked one cannot rescope."""
    parent, _ = issued(issue(member, by_name(member), "unscoped"))
    token_identity = {"methods": ["token"], "token": {"id": parent}}
    child, _ = issued(issue(member, token_identity, project_scope(member)))
    assert validate(member, parent, token=child).status_code == 200

    revoked = member.identity("DELETE", "/auth/tokens", token=child,
                              headers={"X-Subject-Token": parent})
    assert revoked.status_code == 204
    assert validate(member, parent, token=child).status_code == 404
    assert validate(member, child, token=child).status_code == 200
    again = issue(member, token_identity, project_scope(member))
    assert_keystone_error(again, 404, "Not Found")

    # Revoking the child leaves the user's other tokens alone.
    member.identity("DELETE", "/auth/tokens", token=child, headers={"X-Subject-Token": child})
    assert_auth_failed(member.identity("GET", "/auth/projects", token=child))
    assert validate(member, member.token).status_code == 200


def test_member_may_not_revoke_another_users_token(member: ApiSession, alt: ApiSession) -> None:
    response = member.identity("DELETE", "/auth/tokens", headers={"X-Subject-Token": alt.token})
    message = assert_keystone_error(response, 403, "Forbidden")
    assert message == ("You are not authorized to perform the requested action: "
                       "identity:revoke_token.")
    assert validate(alt, alt.token).status_code == 200


def test_admin_may_revoke_another_users_token(admin: ApiSession, member: ApiSession) -> None:
    token, _ = fresh_token(member)
    response = admin.identity("DELETE", "/auth/tokens", headers={"X-Subject-Token": token})
    assert response.status_code == 204
    assert_auth_failed(member.compute("GET", "/os-anything", token=token))


# -- failed authentication: 401 --------------------------------------------------------------


def test_wrong_password_is_401(member: ApiSession) -> None:
    identity = by_name(member)
    identity["password"]["user"]["password"] = "wrong-" + uuid.uuid4().hex
    assert_auth_failed(issue(member, identity, project_scope(member)))


@pytest.mark.parametrize("user", [
    {"name": "no-such-user-" + uuid.uuid4().hex, "domain": {"name": "Default"}},
    {"id": uuid.uuid4().hex},
    {"name": "admin", "domain": {"name": "no-such-domain-" + uuid.uuid4().hex}},
    {"name": "admin", "domain": {"id": uuid.uuid4().hex}},
])
def test_unknown_user_or_domain_is_401(member: ApiSession, user: dict[str, Any]) -> None:
    assert_auth_failed(issue(member, password_identity(user, "whatever")))


@pytest.mark.parametrize("project", [
    {"id": uuid.uuid4().hex},
    {"name": "no-such-project-" + uuid.uuid4().hex, "domain": {"name": "Default"}},
    {"name": "demo", "domain": {"id": uuid.uuid4().hex}},
])
def test_unknown_project_is_401(member: ApiSession, project: dict[str, Any]) -> None:
    assert_auth_failed(issue(member, by_name(member), {"project": project}))


def test_project_without_a_role_is_401(member: ApiSession, alt: ApiSession) -> None:
    assert_auth_failed(issue(member, by_name(member), {"project": {"id": alt.project_id}}))


def test_password_missing_is_401(member: ApiSession) -> None:
    identity = by_name(member)
    del identity["password"]["user"]["password"]
    assert_auth_failed(issue(member, identity, project_scope(member)))


def test_unsupported_method_is_401_listing_the_methods(member: ApiSession) -> None:
    response = issue(member, {"methods": ["totp"], "totp": {"user": {"id": member.user_id}}})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["message"] == "Attempted to authenticate with an unsupported method."
    assert {"password", "token"} <= set(error["identity"]["methods"])
    assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_no_method_is_401(member: ApiSession) -> None:
    assert_auth_failed(issue(member, {"methods": []}))


# -- malformed requests: 400 -----------------------------------------------------------------


def _auth(identity: Any, scope: Any = None) -> dict[str, Any]:
    auth: dict[str, Any] = {"identity": identity}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


_USER = {"name": "demo", "domain": {"name": "Default"}, "password": "demo"}

#: (body, the message Keystone gives, or its beginning when it ends with "…")
MALFORMED: list[tuple[Any, str]] = [
    ({}, "Expecting to find auth in request body." + VALIDATION_TAIL),
    ({"auth": {}}, "'identity' is a required property…"),
    (_auth({}), "Invalid input for field 'identity': 'methods' is a required property…"),
    (_auth({"methods": "password"}), "Invalid input for field 'identity/methods': …"),
    (_auth({"methods": ["password"]}), "Expecting to find password in identity." + VALIDATION_TAIL),
    (_auth({"methods": ["token"], "token": {}}),
     "Invalid input for field 'identity/token': 'id' is a required property…"),
    (_auth({"methods": ["password"], "password": {}}),
     "Expecting to find user in password." + VALIDATION_TAIL),
    (_auth({"methods": ["password"], "password": {"user": {"password": "x"}}}),
     "Invalid input for field identity/password/user: id or name must be present."),
    (_auth({"methods": ["password"],
            "password": {"user": {"name": "demo", "domain": {}, "password": "x"}}}),
     "Invalid input for field identity/password/user/domain: id or name must be present."),
    (_auth({"methods": ["password"], "password": {"user": {"name": "demo", "password": "x"}}}),
     "Expecting to find domain in user." + VALIDATION_TAIL),
    (_auth({"methods": ["password"], "password": {"user": _USER}}, {}),
     "Expecting to find system, project, domain, OS-TRUST:trust or unscoped in scope."
     + VALIDATION_TAIL),
    (_auth({"methods": ["password"], "password": {"user": _USER}}, {"project": {}}),
     "Invalid input for field scope/project: id or name must be present."),
    (_auth({"methods": ["password"], "password": {"user": _USER}}, {"project": {"name": "demo"}}),
     "Expecting to find domain in project." + VALIDATION_TAIL),
    (_auth({"methods": ["password"], "password": {"user": _USER}}, 42),
     "Invalid input for field 'scope': 42 is not of type…"),
]


@pytest.mark.parametrize(("body", "expected"), MALFORMED,
                         ids=[f"malformed-{i}" for i in range(len(MALFORMED))])
def test_malformed_auth_body_is_400(member: ApiSession, body: Any, expected: str) -> None:
    response = member.http.post(f"{member.account.auth_url}/auth/tokens", json=body)
    message = assert_keystone_error(response, 400, "Bad Request")
    assert set(response.json()["error"]) == {"code", "title", "message"}
    if expected.endswith("…"):
        assert message.startswith(expected[:-1]), message
    else:
        assert message == expected


def test_auth_body_that_is_not_json_is_400(member: ApiSession) -> None:
    url = f"{member.account.auth_url}/auth/tokens"
    for content in (b"{not json", b"[1, 2]"):
        response = member.http.post(url, content=content,
                                    headers={"Content-Type": "application/json"})
        message = assert_keystone_error(response, 400, "Bad Request")
        assert message == "Expecting to find valid JSON in request body." + VALIDATION_TAIL


# -- expiry ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_lived(emulator: EmulatorProcess, http: httpx.Client) -> Iterator[ApiSession]:
    """The member of an emulator of its own, whose tokens live for 2 seconds."""
    with EmulatorProcess(config="[identity]\ntoken_ttl_seconds = 2\n") as short:
        yield ApiSession(seeded_accounts(short.url)["member"], http)


def wait_until_expired(body: dict[str, Any]) -> None:
    time.sleep(max(0.0, (expiry(body) - datetime.now(UTC)).total_seconds()) + 0.3)


@pytest.mark.emulator_only
def test_expired_token_is_refused(short_lived: ApiSession) -> None:
    session = short_lived
    token, body = fresh_token(session)
    lifetime = (expiry(body) - datetime.fromisoformat(
        body["issued_at"].replace("Z", "+00:00"))).total_seconds()
    assert 1 <= lifetime <= 3
    assert session.identity("GET", "/auth/projects", token=token).status_code == 200
    assert session.compute("GET", "/os-anything", token=token).status_code != 401
    assert validate(session, token, token=token).status_code == 200

    wait_until_expired(body)
    assert_auth_failed(session.compute("GET", "/os-anything", token=token))
    assert_auth_failed(session.identity("GET", "/auth/projects", token=token))


@pytest.mark.emulator_only
def test_no_exchange_once_it_has_expired(short_lived: ApiSession) -> None:
    token, body = fresh_token(short_lived)
    wait_until_expired(body)
    for scope in (project_scope(short_lived), "unscoped", None):
        response = issue(short_lived, {"methods": ["token"], "token": {"id": token}}, scope)
        assert assert_keystone_error(response, 404, "Not Found") == "Failed to validate token"
    caller, _ = fresh_token(short_lived)
    shown = validate(short_lived, token, token=caller)
    assert assert_keystone_error(shown, 404, "Not Found") == "Failed to validate token"
