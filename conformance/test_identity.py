"""The Keystone v3 admin API (projects, users, roles, domains, grants, role assignments)
as Tempest's dynamic credentials and ``openstack`` use it, and what a member may see."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession

AUTH_FAILED_BODY = {"error": {
    "code": 401, "title": "Unauthorized",
    "message": "The request you have made requires authentication.",
}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error(response: httpx.Response, code: int) -> str:
    """The message of a Keystone error body, after checking its shape."""
    assert response.status_code == code, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "title", "message"}
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    return message


class Made:
    """Creates identity entities as admin and deletes them when the test ends."""

    def __init__(self, admin: ApiSession) -> None:
        self.admin = admin
        self.paths: list[str] = []

    def create(self, kind: str, **fields: Any) -> dict[str, Any]:
        response = self.admin.identity("POST", f"/{kind}s", json={kind: fields})
        assert response.status_code == 201, response.text
        entity: dict[str, Any] = response.json()[kind]
        self.paths.append(f"/{kind}s/{entity['id']}")
        return entity

    def cleanup(self) -> None:
        for path in reversed(self.paths):
            if path.startswith("/domains/"):
                self.admin.identity("PATCH", path, json={"domain": {"enabled": False}})
            self.admin.identity("DELETE", path)


@pytest.fixture
def made(admin: ApiSession) -> Iterator[Made]:
    maker = Made(admin)
    yield maker
    maker.cleanup()


def role_id(admin: ApiSession, name: str) -> str:
    roles = admin.identity("GET", f"/roles?name={name}").json()["roles"]
    assert [r["name"] for r in roles] == [name]
    return str(roles[0]["id"])


def grant_path(project: str, user: str, role: str) -> str:
    return f"/projects/{project}/users/{user}/roles/{role}"


def login(session: ApiSession, user_id: str, password: str,
          project_id: str | None = None) -> httpx.Response:
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {
        "user": {"id": user_id, "password": password}}}}
    if project_id is not None:
        auth["scope"] = {"project": {"id": project_id}}
    return session.http.post(f"{session.account.auth_url}/auth/tokens", json={"auth": auth})


def new_member(admin: ApiSession, made: Made, role: str = "member") -> tuple[dict[str, Any],
                                                                               dict[str, Any],
                                                                               str]:
    """A new project and a new user with ``role`` on it; returns them and the password."""
    project = made.create("project", name=unique("proj"))
    password = uuid.uuid4().hex
    user = made.create("user", name=unique("user"), password=password,
                       default_project_id=project["id"])
    put = admin.identity("PUT", grant_path(project["id"], user["id"], role_id(admin, role)))
    assert put.status_code == 204, put.text
    return project, user, password


# -- projects --------------------------------------------------------------------------------


def test_project_create_list_show_update_delete(admin: ApiSession, made: Made) -> None:
    name = unique("proj")
    project = made.create("project", name=name, description="first")
    domain_id = admin.token_body["project"]["domain"]["id"]
    assert project["name"] == name
    assert project["description"] == "first"
    assert project["domain_id"] == domain_id
    assert project["parent_id"] == domain_id
    assert project["enabled"] is True
    assert project["is_domain"] is False
    assert project["links"]["self"].endswith(f"/v3/projects/{project['id']}")

    listed = admin.identity("GET", f"/projects?name={name}")
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["projects"]] == [project["id"]]
    everything = admin.identity("GET", "/projects").json()["projects"]
    assert project["id"] in {p["id"] for p in everything}
    assert admin.identity("GET", f"/projects?name={unique('none')}").json()["projects"] == []

    shown = admin.identity("GET", f"/projects/{project['id']}")
    assert shown.status_code == 200
    assert shown.json()["project"] == project

    renamed = unique("proj")
    patched = admin.identity("PATCH", f"/projects/{project['id']}", json={
        "project": {"name": renamed, "description": "second", "enabled": False}})
    assert patched.status_code == 200
    after = admin.identity("GET", f"/projects/{project['id']}").json()["project"]
    assert patched.json()["project"] == after
    assert (after["name"], after["description"], after["enabled"]) == (renamed, "second", False)
    disabled = admin.identity("GET", f"/projects?name={renamed}&enabled=false").json()
    assert [p["id"] for p in disabled["projects"]] == [project["id"]]

    assert admin.identity("DELETE", f"/projects/{project['id']}").status_code == 204
    gone = admin.identity("GET", f"/projects/{project['id']}")
    assert error(gone, 404) == f"Could not find project: {project['id']}."


def test_duplicate_project_is_409(admin: ApiSession, made: Made) -> None:
    project = made.create("project", name=unique("dup"))
    response = admin.identity("POST", "/projects", json={"project": {"name": project["name"]}})
    message = error(response, 409)
    assert response.json()["error"]["title"] == "Conflict"
    assert message.startswith(
        "Conflict occurred attempting to store project - it is not permitted to have two "
        "projects with either the same name or same id in the same domain: name is "
        f"{project['name']}, project id ")
    other = made.create("project", name=unique("dup"))
    renamed = admin.identity("PATCH", f"/projects/{other['id']}",
                             json={"project": {"name": project["name"]}})
    assert error(renamed, 409).startswith("Conflict occurred attempting to store project - ")


# -- users -----------------------------------------------------------------------------------


def test_user_create_list_show_update_delete(admin: ApiSession, made: Made) -> None:
    project = made.create("project", name=unique("proj"))
    name = unique("user")
    user = made.create("user", name=name, password="s3cret", email="u@example.org",
                       description="a user", default_project_id=project["id"])
    assert user["name"] == name
    assert user["email"] == "u@example.org"
    assert user["description"] == "a user"
    assert user["default_project_id"] == project["id"]
    assert user["enabled"] is True
    assert user["domain_id"] == admin.token_body["user"]["domain"]["id"]
    assert "password" not in user
    assert user["password_expires_at"] is None
    assert user["links"]["self"].endswith(f"/v3/users/{user['id']}")

    listed = admin.identity("GET", f"/users?name={name}").json()["users"]
    assert [u["id"] for u in listed] == [user["id"]]
    shown = admin.identity("GET", f"/users/{user['id']}").json()["user"]
    assert shown == user

    patched = admin.identity("PATCH", f"/users/{user['id']}",
                             json={"user": {"email": "v@example.org"}})
    assert patched.status_code == 200
    assert patched.json()["user"]["email"] == "v@example.org"
    assert admin.identity("GET", f"/users/{user['id']}").json()["user"]["email"] == (
        "v@example.org")

    assert admin.identity("DELETE", f"/users/{user['id']}").status_code == 204
    gone = admin.identity("GET", f"/users/{user['id']}")
    assert error(gone, 404) == f"Could not find user: {user['id']}."
    assert admin.identity("GET", f"/users?name={name}").json()["users"] == []


def test_duplicate_user_is_409(admin: ApiSession, made: Made) -> None:
    user = made.create("user", name=unique("dup"))
    response = admin.identity("POST", "/users", json={"user": {"name": user["name"]}})
    assert error(response, 409) == (
        "Conflict occurred attempting to store user - Duplicate entry found with name "
        f"{user['name']} at domain ID {user['domain_id']}.")


def test_default_project_may_be_unknown_but_not_a_domain(admin: ApiSession, made: Made) -> None:
    """Keystone keeps accepting an unknown default project (backward compatibility)."""
    unknown = uuid.uuid4().hex
    user = made.create("user", name=unique("user"), default_project_id=unknown)
    assert user["default_project_id"] == unknown
    domain_id = admin.token_body["project"]["domain"]["id"]
    response = admin.identity("POST", "/users", json={
        "user": {"name": unique("user"), "default_project_id": domain_id}})
    assert error(response, 400) == f"User's default project ID cannot be a domain ID: {domain_id}"
    patched = admin.identity("PATCH", f"/users/{user['id']}",
                             json={"user": {"default_project_id": domain_id}})
    assert error(patched, 400) == f"User's default project ID cannot be a domain ID: {domain_id}"


def test_password_change_and_disabling_revoke_tokens(admin: ApiSession, made: Made) -> None:
    project, user, password = new_member(admin, made)
    first = login(admin, user["id"], password, project["id"])
    assert first.status_code == 201
    token = first.headers["X-Subject-Token"]
    assert admin.identity("GET", "/auth/projects", token=token).status_code == 200

    new_password = uuid.uuid4().hex
    changed = admin.identity("PATCH", f"/users/{user['id']}",
                             json={"user": {"password": new_password}})
    assert changed.status_code == 200
    assert admin.identity("GET", "/auth/projects", token=token).json() == AUTH_FAILED_BODY
    assert login(admin, user["id"], password).status_code == 401
    second = login(admin, user["id"], new_password, project["id"])
    assert second.status_code == 201
    token = second.headers["X-Subject-Token"]

    admin.identity("PATCH", f"/users/{user['id']}", json={"user": {"enabled": False}})
    assert login(admin, user["id"], new_password).json() == AUTH_FAILED_BODY
    admin.identity("PATCH", f"/users/{user['id']}", json={"user": {"enabled": True}})
    # Re-enabling the user does not revive the tokens it had.
    assert admin.identity("GET", "/auth/projects", token=token).status_code == 401
    assert login(admin, user["id"], new_password).status_code == 201


def test_deleting_a_user_invalidates_its_tokens(admin: ApiSession, made: Made) -> None:
    project, user, password = new_member(admin, made)
    response = login(admin, user["id"], password, project["id"])
    token = response.headers["X-Subject-Token"]
    compute_url = admin.compute_url
    assert admin.request("GET", f"{compute_url}/os-anything", token=token).status_code != 401
    assert admin.identity("DELETE", f"/users/{user['id']}").status_code == 204
    for url in (f"{compute_url}/os-anything", f"{admin.account.auth_url}/auth/projects"):
        refused = admin.request("GET", url, token=token)
        assert refused.status_code == 401
        assert refused.json() == AUTH_FAILED_BODY
        assert refused.headers["WWW-Authenticate"].startswith("Keystone uri=")
    assert error(admin.identity("GET", "/auth/tokens", headers={"X-Subject-Token": token}),
                 404) == f"Could not find user: {user['id']}."


def test_deleting_a_project_invalidates_its_tokens_and_default(
    admin: ApiSession, made: Made
) -> None:
    project, user, password = new_member(admin, made)
    token = login(admin, user["id"], password, project["id"]).headers["X-Subject-Token"]
    assert admin.identity("DELETE", f"/projects/{project['id']}").status_code == 204
    assert admin.identity("GET", "/auth/projects", token=token).status_code == 401
    shown = admin.identity("GET", f"/users/{user['id']}").json()["user"]
    assert shown.get("default_project_id") is None


# -- roles -----------------------------------------------------------------------------------


def test_role_create_list_show_update_delete(admin: ApiSession, made: Made) -> None:
    name = unique("role")
    role = made.create("role", name=name, description="a role")
    assert role["name"] == name
    assert role["description"] == "a role"
    assert role["domain_id"] is None
    assert role["links"]["self"].endswith(f"/v3/roles/{role['id']}")
    assert [r["id"] for r in admin.identity("GET", f"/roles?name={name}").json()["roles"]] == [
        role["id"]]
    names = {r["name"] for r in admin.identity("GET", "/roles").json()["roles"]}
    assert {"admin", "member", "reader", name} <= names
    assert admin.identity("GET", f"/roles/{role['id']}").json()["role"]["name"] == name

    renamed = unique("role")
    patched = admin.identity("PATCH", f"/roles/{role['id']}", json={"role": {"name": renamed}})
    assert patched.status_code == 200
    assert patched.json()["role"]["name"] == renamed
    assert admin.identity("GET", f"/roles/{role['id']}").json()["role"]["name"] == renamed

    duplicate = admin.identity("POST", "/roles", json={"role": {"name": renamed}})
    assert error(duplicate, 409) == (
        f"Conflict occurred attempting to store role - Duplicate entry found with name {renamed}.")

    assert admin.identity("DELETE", f"/roles/{role['id']}").status_code == 204
    assert error(admin.identity("GET", f"/roles/{role['id']}"), 404) == (
        f"Could not find role: {role['id']}.")


# -- domains ---------------------------------------------------------------------------------


def test_domain_lifecycle_delete_needs_disable_and_cascades(
    admin: ApiSession, made: Made
) -> None:
    name = unique("dom")
    domain = made.create("domain", name=name, description="a domain")
    assert (domain["name"], domain["description"], domain["enabled"]) == (name, "a domain", True)
    assert domain["links"]["self"].endswith(f"/v3/domains/{domain['id']}")
    listed = admin.identity("GET", f"/domains?name={name}").json()["domains"]
    assert [d["id"] for d in listed] == [domain["id"]]
    assert admin.identity("GET", f"/domains/{domain['id']}").json()["domain"] == domain

    duplicate = admin.identity("POST", "/domains", json={"domain": {"name": name}})
    assert error(duplicate, 409) == (
        "Conflict occurred attempting to store project - it is not permitted to have two "
        f"projects acting as domains with the same name: {name}.")

    project = made.create("project", name=unique("proj"), domain_id=domain["id"])
    assert project["domain_id"] == domain["id"] and project["parent_id"] == domain["id"]
    user = made.create("user", name=unique("user"), domain_id=domain["id"])
    assert user["domain_id"] == domain["id"]
    # The same name may be used again in another domain.
    made.create("project", name=project["name"])

    refused = admin.identity("DELETE", f"/domains/{domain['id']}")
    assert error(refused, 403) == (
        "Cannot delete a domain that is enabled, please disable it first.")
    disabled = admin.identity("PATCH", f"/domains/{domain['id']}",
                              json={"domain": {"enabled": False, "description": "off"}})
    assert disabled.status_code == 200
    assert (disabled.json()["domain"]["enabled"], disabled.json()["domain"]["description"]) == (
        False, "off")
    assert admin.identity("DELETE", f"/domains/{domain['id']}").status_code == 204
    assert error(admin.identity("GET", f"/domains/{domain['id']}"), 404) == (
        f"Could not find domain: {domain['id']}.")
    # Keystone deletes what the domain owned.
    assert admin.identity("GET", f"/projects/{project['id']}").status_code == 404
    assert admin.identity("GET", f"/users/{user['id']}").status_code == 404


# -- grants and role assignments -------------------------------------------------------------


def test_grant_put_head_get_list_delete(admin: ApiSession, made: Made) -> None:
    project = made.create("project", name=unique("proj"))
    user = made.create("user", name=unique("user"), password="pw")
    member = role_id(admin, "member")
    path = grant_path(project["id"], user["id"], member)

    missing = admin.identity("HEAD", path)
    assert missing.status_code == 404
    assert error(admin.identity("GET", path), 404).startswith("Could not find role assignment")
    assert admin.identity("PUT", path).status_code == 204
    assert admin.identity("PUT", path).status_code == 204  # idempotent
    assert admin.identity("HEAD", path).status_code == 204
    assert admin.identity("GET", path).status_code == 204
    listed = admin.identity("GET", f"/projects/{project['id']}/users/{user['id']}/roles")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["roles"]] == [member]

    assert admin.identity("DELETE", path).status_code == 204
    assert admin.identity("HEAD", path).status_code == 404
    assert admin.identity("DELETE", path).status_code == 404
    listed = admin.identity("GET", f"/projects/{project['id']}/users/{user['id']}/roles")
    assert listed.json()["roles"] == []


def test_revoking_the_last_role_invalidates_project_tokens(admin: ApiSession, made: Made) -> None:
    project, user, password = new_member(admin, made)
    token = login(admin, user["id"], password, project["id"]).headers["X-Subject-Token"]
    assert admin.identity("GET", "/auth/projects", token=token).status_code == 200
    revoked = admin.identity("DELETE",
                             grant_path(project["id"], user["id"], role_id(admin, "member")))
    assert revoked.status_code == 204
    assert admin.identity("GET", "/auth/projects", token=token).status_code == 401
    assert login(admin, user["id"], password, project["id"]).json() == AUTH_FAILED_BODY


@pytest.mark.parametrize("kind", ["project", "user", "role"])
def test_grant_with_an_unknown_id_is_404(admin: ApiSession, made: Made, kind: str) -> None:
    ids = {
        "project": made.create("project", name=unique("proj"))["id"],
        "user": made.create("user", name=unique("user"))["id"],
        "role": role_id(admin, "member"),
    }
    ids[kind] = uuid.uuid4().hex
    path = grant_path(ids["project"], ids["user"], ids["role"])
    assert error(admin.identity("PUT", path), 404) == f"Could not find {kind}: {ids[kind]}."


def test_created_user_logs_in_with_implied_roles(admin: ApiSession, made: Made) -> None:
    project, user, password = new_member(admin, made, role="admin")
    response = login(admin, user["id"], password, project["id"])
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token["user"]["id"] == user["id"]
    assert token["project"]["id"] == project["id"]
    assert {"admin", "member", "reader"} <= {r["name"] for r in token["roles"]}
    # The default project scopes a token asked for without a scope.
    unscoped_request = login(admin, user["id"], password)
    assert unscoped_request.json()["token"]["project"]["id"] == project["id"]


def test_role_assignments_filters_effective_and_names(admin: ApiSession, made: Made) -> None:
    project, user, _password = new_member(admin, made, role="member")
    member, reader = role_id(admin, "member"), role_id(admin, "reader")
    query = f"/role_assignments?user.id={user['id']}&scope.project.id={project['id']}"

    direct = admin.identity("GET", query)
    assert direct.status_code == 200
    assignments = direct.json()["role_assignments"]
    assert len(assignments) == 1
    only = assignments[0]
    assert only["role"] == {"id": member}
    assert only["user"] == {"id": user["id"]}
    assert only["scope"] == {"project": {"id": project["id"]}}
    assert only["links"]["assignment"].endswith(
        f"/v3{grant_path(project['id'], user['id'], member)}")

    by_user = admin.identity("GET", f"/role_assignments?user.id={user['id']}").json()
    assert [a["scope"]["project"]["id"] for a in by_user["role_assignments"]] == [project["id"]]
    by_project = admin.identity(
        "GET", f"/role_assignments?scope.project.id={project['id']}").json()
    assert [a["user"]["id"] for a in by_project["role_assignments"]] == [user["id"]]

    effective = admin.identity("GET", f"{query}&effective").json()["role_assignments"]
    by_role = {a["role"]["id"]: a for a in effective}
    assert {member, reader} <= set(by_role)
    implied = by_role[reader]
    assert implied["links"]["assignment"].endswith(
        f"/v3{grant_path(project['id'], user['id'], member)}")
    assert "prior_role" in implied["links"]
    assert "prior_role" not in by_role[member]["links"]

    named = admin.identity("GET", f"{query}&include_names").json()["role_assignments"]
    assert len(named) == 1
    domain = admin.token_body["project"]["domain"]
    assert named[0]["role"] == {"id": member, "name": "member"}
    assert named[0]["user"] == {"id": user["id"], "name": user["name"],
                                "domain": {"id": domain["id"], "name": domain["name"]}}
    assert named[0]["scope"]["project"] == {
        "id": project["id"], "name": project["name"],
        "domain": {"id": domain["id"], "name": domain["name"]}}

    only_reader = admin.identity("GET", f"{query}&effective&role.id={reader}").json()
    assert [a["role"]["id"] for a in only_reader["role_assignments"]] == [reader]
    # ``include_names=0`` means false, as in every Keystone boolean filter.
    unnamed = admin.identity("GET", f"{query}&include_names=0").json()["role_assignments"]
    assert unnamed[0]["role"] == {"id": member}


# -- unknown ids and a member's view ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["project", "user", "role", "domain"])
def test_a_null_description_clears_it(admin: ApiSession, made: Made, kind: str) -> None:
    entity = made.create(kind, name=unique(kind), description="to be cleared")
    patched = admin.identity("PATCH", f"/{kind}s/{entity['id']}",
                             json={kind: {"description": None}})
    assert patched.status_code == 200, patched.text
    assert not patched.json()[kind].get("description")
    shown = admin.identity("GET", f"/{kind}s/{entity['id']}").json()[kind]
    assert not shown.get("description")
    assert shown["name"] == entity["name"]


@pytest.mark.parametrize("kind", ["project", "user", "role", "domain"])
def test_unknown_id_is_404(admin: ApiSession, kind: str) -> None:
    bogus = uuid.uuid4().hex
    for method, body in (("GET", None), ("PATCH", {kind: {"description": "x"}}),
                         ("DELETE", None)):
        response = admin.identity(method, f"/{kind}s/{bogus}", json=body)
        assert error(response, 404) == f"Could not find {kind}: {bogus}."
        assert response.json()["error"]["title"] == "Not Found"


FORBIDDEN_TO_MEMBERS = [
    ("GET", "/projects", "list_projects"),
    ("GET", "/users", "list_users"),
    ("GET", "/roles", "list_roles"),
    ("GET", "/domains", "list_domains"),
    ("GET", "/role_assignments", "list_role_assignments"),
    ("POST", "/projects", "create_project"),
    ("POST", "/users", "create_user"),
    ("POST", "/roles", "create_role"),
    ("POST", "/domains", "create_domain"),
]


@pytest.mark.parametrize(("method", "path", "rule"), FORBIDDEN_TO_MEMBERS)
def test_member_may_not_use_admin_apis(
    member: ApiSession, method: str, path: str, rule: str
) -> None:
    kind = path.strip("/").rstrip("s")
    body = {kind: {"name": unique("nope")}} if method == "POST" else None
    response = member.identity(method, path, json=body)
    assert error(response, 403) == (
        f"You are not authorized to perform the requested action: identity:{rule}.")
    assert response.json()["error"]["title"] == "Forbidden"


def test_member_may_not_see_others(member: ApiSession, alt: ApiSession) -> None:
    checks = [
        (f"/users/{alt.user_id}", "get_user"),
        (f"/projects/{alt.project_id}", "get_project"),
        (f"/users/{alt.user_id}/projects", "list_user_projects"),
        (f"/projects/{member.project_id}/users/{member.user_id}/roles", "list_grants"),
    ]
    for path, rule in checks:
        assert error(member.identity("GET", path), 403) == (
            f"You are not authorized to perform the requested action: identity:{rule}.")
    # An unknown id is a 404 even so: Keystone loads the target before the policy check.
    bogus = uuid.uuid4().hex
    assert error(member.identity("GET", f"/projects/{bogus}"), 404) == (
        f"Could not find project: {bogus}.")


def test_member_may_see_itself(member: ApiSession) -> None:
    user = member.identity("GET", f"/users/{member.user_id}")
    assert user.status_code == 200
    assert user.json()["user"]["name"] == member.account.username
    project = member.identity("GET", f"/projects/{member.project_id}")
    assert project.status_code == 200
    assert project.json()["project"]["name"] == member.account.project_name
    domain_id = member.token_body["project"]["domain"]["id"]
    domain = member.identity("GET", f"/domains/{domain_id}")
    assert domain.status_code == 200
    assert domain.json()["domain"]["name"] == member.token_body["project"]["domain"]["name"]
    mine = member.identity("GET", f"/users/{member.user_id}/projects")
    assert mine.status_code == 200
    assert member.project_id in {p["id"] for p in mine.json()["projects"]}


def test_auth_projects_lists_only_ones_own(member: ApiSession, alt: ApiSession) -> None:
    response = member.identity("GET", "/auth/projects")
    assert response.status_code == 200
    ids = {p["id"] for p in response.json()["projects"]}
    assert member.project_id in ids
    assert alt.project_id not in ids
    assert response.json()["links"]["self"].endswith("/v3/auth/projects")


def test_auth_catalog_needs_a_project_scoped_token(member: ApiSession) -> None:
    catalog = member.identity("GET", "/auth/catalog")
    assert catalog.status_code == 200
    assert catalog.json()["catalog"] == member.token_body["catalog"]
    account = member.account
    body = account.password_auth()
    body["auth"]["scope"] = "unscoped"
    unscoped = member.http.post(f"{account.auth_url}/auth/tokens", json=body)
    token = unscoped.headers["X-Subject-Token"]
    refused = member.identity("GET", "/auth/catalog", token=token)
    assert error(refused, 403) == "You are not authorized to perform the requested action."
