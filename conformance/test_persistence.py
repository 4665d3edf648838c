"""State in a SQLite file survives a restart: identity entities, tokens (valid and
revoked) and the seeded accounts, which are not seeded twice; servers (on the qemu backend
with their guests, adopted again)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from conformance.bios_image import boot_image
from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.polling import settle


def _created(response: httpx.Response, kind: str) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    entity: dict[str, Any] = response.json()[kind]
    return entity


@pytest.mark.emulator_only
def test_identity_state_survives_a_restart(
    target: Target, durable_state: str, http: httpx.Client
) -> None:
    with dedicated_emulator(target, state=durable_state) as process:
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


@pytest.mark.emulator_only
def test_servers_survive_a_restart(target: Target, durable_state: str, http: httpx.Client) -> None:
    """Servers in a SQLite file outlive the process; on the qemu backend their guests keep
    running through the restart and are adopted again (the power verbs reach them)."""
    with dedicated_emulator(target, state=durable_state) as process:
        accounts = seeded_accounts(process.url)
        member = ApiSession(accounts["member"], http)
        image = boot_image(member, ApiSession(accounts["admin"], http), process.backend)["id"]
        made = {}
        for name in ("kept-running", "kept-stopped"):
            response = member.compute("POST", "/servers", json={"server": {
                "name": name, "imageRef": image, "flavorRef": "1"}})
            assert response.status_code == 202, response.text
            made[name] = response.json()["server"]["id"]
        for server_id in made.values():
            settle(member, server_id, "ACTIVE")
        stopped = made["kept-stopped"]
        assert member.compute("POST", f"/servers/{stopped}/action",
                              json={"os-stop": None}).status_code == 202
        settle(member, stopped, "SHUTOFF")
        before = {sid: member.compute("GET", f"/servers/{sid}").json()["server"]
                  for sid in made.values()}

        process.restart()

        running = made["kept-running"]
        for server_id, server in before.items():
            after = member.compute("GET", f"/servers/{server_id}").json()["server"]
            for key in ("status", "OS-EXT-STS:power_state", "addresses", "created"):
                assert after[key] == server[key], key
        # The guest that ran through the restart is still driven: stop and start it.
        assert member.compute("POST", f"/servers/{running}/action",
                              json={"os-stop": None}).status_code == 202
        assert settle(member, running, "SHUTOFF")["OS-EXT-STS:power_state"] == 4
        assert member.compute("POST", f"/servers/{stopped}/action",
                              json={"os-start": None}).status_code == 202
        assert settle(member, stopped, "ACTIVE")["OS-EXT-STS:power_state"] == 1
