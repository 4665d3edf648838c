"""State in a SQLite file survives a restart: identity entities, tokens (valid and
revoked) and the seeded accounts, which are not seeded twice."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess


def _created(response: httpx.Response, kind: str) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    entity: dict[str, Any] = response.json()[kind]
    return entity


@pytest.mark.emulator_only
def test_identity_state_survives_a_restart(
    emulator: EmulatorProcess, tmp_path: Path, http: httpx.Client
) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    with EmulatorProcess(state=state) as process:
        admin = ApiSession(seeded_accounts(process.url)["admin"], http)
        project = _created(admin.identity("POST", "/projects", json={
            "project": {"name": f"kept-{uuid.uuid4().hex[:8]}", "description": "kept"}}),
            "project")
        password = uuid.uuid4().hex
        user = _created(admin.identity("POST", "/users", json={
            "user": {"name": f"kept-{uuid.uuid4().hex[:8]}", "password": password,
                     "default_project_id": project["id"]}}), "user")
        member_role = admin.identity("GET", "/roles?name=member").json()["roles"][0]["id"]
        grant = f"/projects/{project['id']}/users/{user['id']}/roles/{member_role}"
        assert admin.identity("PUT", grant).status_code == 204

        login = {"auth": {
            "identity": {"methods": ["password"],
                         "password": {"user": {"id": user["id"], "password": password}}},
            "scope": {"project": {"id": project["id"]}}}}
        issued = http.post(f"{admin.account.auth_url}/auth/tokens", json=login)
        assert issued.status_code == 201, issued.text
        token = issued.headers["X-Subject-Token"]
        before = issued.json()["token"]
        doomed = http.post(f"{admin.account.auth_url}/auth/tokens", json=login)
        doomed_token = doomed.headers["X-Subject-Token"]
        revoked = admin.identity("DELETE", "/auth/tokens",
                                 headers={"X-Subject-Token": doomed_token})
        assert revoked.status_code == 204
        admin_token = admin.token

        process.restart()

        # The admin's token from before the restart is still good.
        assert admin.identity("GET", "/projects?name=demo").status_code == 200
        assert admin.token == admin_token
        shown = admin.identity("GET", f"/projects/{project['id']}")
        assert shown.status_code == 200
        assert shown.json()["project"]["description"] == "kept"
        kept_user = admin.identity("GET", f"/users/{user['id']}").json()["user"]
        assert kept_user["name"] == user["name"]
        assert kept_user["default_project_id"] == project["id"]
        assert admin.identity("HEAD", grant).status_code == 204

        validated = admin.identity("GET", "/auth/tokens", token=token,
                                   headers={"X-Subject-Token": token})
        assert validated.status_code == 200
        after = validated.json()["token"]
        for key in ("expires_at", "issued_at", "audit_ids", "methods"):
            assert after[key] == before[key]
        assert after["project"]["id"] == project["id"]
        assert admin.request("GET", f"{admin.compute_url}/os-anything",
                             token=token).status_code != 401
        gone = admin.identity("GET", "/auth/tokens", headers={"X-Subject-Token": doomed_token})
        assert gone.status_code == 404

        # The password still works, and the seeded accounts exist exactly once.
        assert http.post(f"{admin.account.auth_url}/auth/tokens", json=login).status_code == 201
        for path, key in (("/users?name=demo", "users"), ("/projects?name=demo", "projects"),
                          ("/users?name=admin", "users"), ("/roles?name=member", "roles"),
                          ("/domains?name=Default", "domains")):
            found = admin.identity("GET", path).json()[key]
            assert len(found) == 1, (path, found)
        grants = admin.identity("GET", "/role_assignments?include_names").json()
        seeded = [(a["user"]["name"], a["scope"]["project"]["name"], a["role"]["name"])
                  for a in grants["role_assignments"] if a["user"]["name"] == "demo"]
        assert seeded == [("demo", "demo", "member")]
