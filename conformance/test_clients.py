"""Real OpenStack clients against the identity slice: openstacksdk, the ``openstack`` CLI,
and the clouds.yaml that ``nova-emulator clouds-yaml`` prints.

CLI calls cost about a second each (the CLI's start-up), so they are kept few.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import openstack.exceptions
import pytest

from conformance.cli import openstack_executable, openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.process import EmulatorProcess

# -- openstacksdk ----------------------------------------------------------------------------


def test_sdk_authorize_gives_a_valid_token(conn: Any, member: ApiSession) -> None:
    token = conn.authorize()
    assert isinstance(token, str) and token
    shown = member.identity("GET", "/auth/tokens", headers={"X-Subject-Token": token})
    assert shown.status_code == 200
    body = shown.json()["token"]
    assert body["user"]["id"] == member.user_id
    assert body["project"]["id"] == member.project_id


def test_sdk_finds_compute_in_the_catalog(conn: Any, member: ApiSession) -> None:
    endpoint = conn.compute.get_endpoint()
    assert endpoint.rstrip("/").endswith("/v2.1")
    assert endpoint.rstrip("/") == member.compute_url


def test_sdk_identity_as_admin(admin_conn: Any, admin: ApiSession, member: ApiSession,
                               alt: ApiSession) -> None:
    names = {project.name for project in admin_conn.identity.projects()}
    expected = {s.account.project_name for s in (admin, member, alt)}
    assert expected <= names
    roles = {role.name for role in admin_conn.identity.roles()}
    assert {"admin", "member", "reader"} <= roles

    name = f"sdk-{uuid.uuid4().hex[:10]}"
    project = admin_conn.identity.create_project(name=name, description="made by the sdk")
    try:
        assert project.name == name
        found = admin_conn.identity.find_project(name, ignore_missing=False)
        assert found.id == project.id
        assert admin_conn.identity.get_project(project.id).description == "made by the sdk"
    finally:
        admin_conn.identity.delete_project(project.id)
    with pytest.raises(openstack.exceptions.NotFoundException):
        admin_conn.identity.get_project(project.id)


# -- the openstack CLI ------------------------------------------------------------------------


def test_cli_token_issue(member: ApiSession) -> None:
    token = openstack_json(member.account, "token", "issue")
    assert set(token) >= {"id", "expires", "project_id", "user_id"}
    assert token["project_id"] == member.project_id
    assert token["user_id"] == member.user_id
    shown = member.identity("GET", "/auth/tokens", headers={"X-Subject-Token": token["id"]})
    assert shown.status_code == 200


def test_cli_catalog_list(member: ApiSession) -> None:
    catalog = openstack_json(member.account, "catalog", "list")
    by_type = {entry["Type"]: entry for entry in catalog}
    assert {"identity", "compute"} <= set(by_type)
    compute_urls = {e["url"].rstrip("/") for e in by_type["compute"]["Endpoints"]
                    if e["interface"] == "public"}
    assert compute_urls == {member.compute_url}


def test_cli_project_list_as_admin(admin: ApiSession, member: ApiSession,
                                   alt: ApiSession) -> None:
    projects = openstack_json(admin.account, "project", "list")
    names = {project["Name"] for project in projects}
    assert {s.account.project_name for s in (admin, member, alt)} <= names
    ids = {project["ID"] for project in projects}
    assert {member.project_id, alt.project_id} <= ids


def test_cli_versions_show(member: ApiSession) -> None:
    versions = openstack_json(member.account, "versions", "show")
    current = [v for v in versions if v["Service Type"] == "compute" and v["Status"] == "CURRENT"]
    assert [v["Version"] for v in current] == ["2.1"]
    assert current[0]["Min Microversion"] == "2.1"
    assert any(v["Service Type"] == "identity" and v["Version"].startswith("3.")
               for v in versions)


def test_cli_project_user_role_round_trip(admin: ApiSession) -> None:
    project_name = f"cli-proj-{uuid.uuid4().hex[:10]}"
    user_name = f"cli-user-{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    project = openstack_json(admin.account, "project", "create", "--description", "via cli",
                             project_name)
    user_id: str | None = None
    try:
        assert project["name"] == project_name
        assert project["description"] == "via cli"
        user = openstack_json(admin.account, "user", "create", "--password", password,
                              "--project", project_name, user_name)
        user_id = user["id"]
        assert user["name"] == user_name
        assert user["default_project_id"] == project["id"]
        added = run_openstack(admin.account, "role", "add", "--project", project_name,
                              "--user", user_name, "member")
        assert added.returncode == 0, added.stderr

        # --names reads the user's and project's domain names from include_names.
        grants = openstack_json(admin.account, "role", "assignment", "list", "--project",
                                project_name, "--names")
        domain = admin.token_body["project"]["domain"]["name"]
        assert [(g["Role"], g["User"], g["Project"]) for g in grants] == [
            ("member", f"{user_name}@{domain}", f"{project_name}@{domain}")]
        login = admin.http.post(f"{admin.account.auth_url}/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"],
                         "password": {"user": {"id": user_id, "password": password}}},
            "scope": {"project": {"id": project["id"]}}}})
        assert login.status_code == 201, login.text
    finally:
        if user_id is not None:
            admin.identity("DELETE", f"/users/{user_id}")
        deleted = run_openstack(admin.account, "project", "delete", project_name)
    assert deleted.returncode == 0, deleted.stderr
    assert admin.identity("GET", f"/projects/{project['id']}").status_code == 404


def test_cli_bad_password(member: ApiSession) -> None:
    result = run_openstack(member.account, "token", "issue",
                           env={"OS_PASSWORD": "wrong-" + uuid.uuid4().hex})
    assert result.returncode != 0
    assert "The request you have made requires authentication." in result.stderr
    assert "(HTTP 401)" in result.stderr


# -- nova-emulator clouds-yaml ------------------------------------------------------------------


def _clouds_yaml(emulator: EmulatorProcess, tmp_path: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "clouds-yaml", "--port", str(emulator.port)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    path = tmp_path / "clouds.yaml"
    path.write_text(done.stdout, encoding="utf-8")
    return path


def _openstack_with_cloud(clouds: Path, cloud: str, home: Path, *args: str) -> Any:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environ.update(OS_CLIENT_CONFIG_FILE=str(clouds), OS_CLOUD=cloud, HOME=str(home))
    done = subprocess.run([openstack_executable(), *args, "-f", "json"], capture_output=True,
                          text=True, env=environ, stdin=subprocess.DEVNULL, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.emulator_only
def test_clouds_yaml_works_with_the_cli(
    emulator: EmulatorProcess, tmp_path: Path, member: ApiSession, admin: ApiSession,
    alt: ApiSession,
) -> None:
    clouds = _clouds_yaml(emulator, tmp_path)
    text = clouds.read_text(encoding="utf-8")
    assert f"http://127.0.0.1:{emulator.port}/identity/v3" in text
    for cloud in ("nova-emulator:", "nova-emulator-admin:", "nova-emulator-alt:"):
        assert cloud in text

    token = _openstack_with_cloud(clouds, "nova-emulator", tmp_path, "token", "issue")
    assert token["user_id"] == member.user_id
    assert token["project_id"] == member.project_id

    projects = _openstack_with_cloud(clouds, "nova-emulator-admin", tmp_path, "project", "list")
    assert {"admin", "demo", "alt_demo"} <= {p["Name"] for p in projects}
    assert {member.project_id, alt.project_id, admin.project_id} <= {p["ID"] for p in projects}
