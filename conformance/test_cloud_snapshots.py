"""Snapshots of the whole cloud: ``nova-emulator snapshot save`` of one emulator, ``load``
into a fresh one, and every server, image, flavor, key pair and quota answers ``GET`` as it
did (only the base URL in links differs). The simulated backend's: a real backend's guests
are not in a file (409 there, checked too)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.polling import settle
from conformance.process import EmulatorProcess

pytestmark = pytest.mark.emulator_only
LATEST = "latest"


def snapshot_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", "snapshot", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def sessions(process: EmulatorProcess, http: httpx.Client) -> dict[str, ApiSession]:
    return {role: ApiSession(account, http)
            for role, account in seeded_accounts(process.url).items()}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _image_api(session: ApiSession) -> str:
    return session.endpoint("image")


def build_a_cloud(s: dict[str, ApiSession]) -> dict[str, Any]:
    """Servers in two projects (one stopped, one with metadata and a key), a private flavor
    with extra specs, a key pair, quotas changed, an image with data."""
    member, alt, admin = s["member"], s["alt"], s["admin"]
    made: dict[str, Any] = {}
    flavor = _ok(admin.compute("POST", "/flavors", json={"flavor": {
        "name": f"snap-{uuid.uuid4().hex[:6]}", "ram": 256, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": False}}))["flavor"]
    _ok(admin.compute("POST", f"/flavors/{flavor['id']}/os-extra_specs",
                      json={"extra_specs": {"hw:cpu_policy": "shared"}}))
    _ok(admin.compute("POST", f"/flavors/{flavor['id']}/action",
                      json={"addTenantAccess": {"tenant": member.project_id}}))
    _ok(admin.compute("PUT", f"/os-quota-sets/{member.project_id}",
                      json={"quota_set": {"cores": 33, "key_pairs": 7}}))
    key = _ok(member.compute("POST", "/os-keypairs", json={"keypair": {"name": "snap-key"}}))
    images = _ok(member.compute("GET", "/images"))["images"]
    image_id = next(i["id"] for i in images if i["name"] == "cirros-0.6.2-x86_64-disk")
    upload = _ok(member.request("POST", f"{_image_api(member)}/v2/images", json={
        "name": "snap-data", "disk_format": "raw", "container_format": "bare"}), 201)
    data = b"snapshot" * 4096
    put = member.request("PUT", f"{_image_api(member)}/v2/images/{upload['id']}/file",
                         content=data, headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    servers = []
    for session, name, extra in (
            (member, "snap-keyed", {"key_name": "snap-key", "metadata": {"role": "db"},
                                    "flavorRef": flavor["id"]}),
            (member, "snap-stopped", {}),
            (alt, "snap-alt", {})):
        body = {"name": name, "imageRef": image_id, "flavorRef": "1", "networks": "auto",
                **extra}
        server = _ok(session.compute("POST", "/servers", json={"server": body},
                                     version="2.37"), 202)["server"]
        servers.append((session, server["id"]))
    for session, server_id in servers:
        settle(session, server_id, "ACTIVE")
    stopped = servers[1][1]
    assert member.compute("POST", f"/servers/{stopped}/action",
                          json={"os-stop": None}).status_code == 202
    settle(member, stopped, "SHUTOFF")
    made.update(flavor=flavor["id"], key=key["keypair"]["name"], image=upload["id"],
                data_md5=hashlib.md5(data, usedforsecurity=False).hexdigest())
    return made


def answers(s: dict[str, ApiSession], made: dict[str, Any]) -> dict[str, Any]:
    """Every GET the comparison covers, by (role, path), as text with the base URL cut."""
    member, admin = s["member"], s["admin"]
    got: dict[str, Any] = {}

    def get(role: str, path: str, version: str = LATEST, api: str = "compute") -> Any:
        session = s[role]
        url = (f"{session.compute_url}{path}" if api == "compute"
               else f"{_image_api(session)}{path}")
        response = session.request("GET", url, version=version)
        assert response.status_code == 200, (path, response.text)
        got[role, api, version, path] = response.text.replace(session.account.auth_url
                                                               .rsplit("/identity", 1)[0], "")
        return response.json()

    for role in ("member", "alt", "admin"):
        for version in ("2.1", LATEST):
            listed = get(role, "/servers/detail", version)["servers"]
            for server in listed:
                get(role, f"/servers/{server['id']}", version)
                get(role, f"/servers/{server['id']}/metadata", version)
            get(role, "/os-keypairs", version)
            get(role, "/flavors/detail", version)
            get(role, "/limits", version)
        get(role, "/v2/images", api="image")
    get("admin", "/servers/detail?all_tenants=1")
    get("admin", "/flavors/detail?is_public=None")
    get("admin", f"/flavors/{made['flavor']}/os-extra_specs")
    get("admin", f"/flavors/{made['flavor']}/os-flavor-access")
    get("member", f"/os-keypairs/{made['key']}")
    for project in (member.project_id, s["alt"].project_id):
        get("admin", f"/os-quota-sets/{project}")
        get("admin", f"/os-quota-sets/{project}/detail")
    for image in get("admin", "/v2/images", api="image")["images"]:
        get("admin", f"/v2/images/{image['id']}", api="image")
        get("member", f"/images/{image['id']}", "2.1")
    data = admin.request("GET", f"{_image_api(admin)}/v2/images/{made['image']}/file")
    assert data.status_code == 200
    got["data"] = hashlib.md5(data.content, usedforsecurity=False).hexdigest()
    return got


@pytest.mark.simulated_only(reason="snapshots hold the simulated cloud (409 elsewhere)")
def test_a_loaded_snapshot_answers_every_get_as_the_saved_cloud(
        target: Target, http: httpx.Client, tmp_path: Path) -> None:
    snapshot = tmp_path / "cloud.tar.gz"
    with dedicated_emulator(target) as saved:
        s = sessions(saved, http)
        made = build_a_cloud(s)
        before = answers(s, made)
        assert before["data"] == made["data_md5"]
        listed = before["admin", "compute", LATEST, "/servers/detail?all_tenants=1"]
        assert all(name in listed for name in ("snap-keyed", "snap-stopped", "snap-alt"))
        assert len(before) > 40
        done = snapshot_cli("save", snapshot, "--url", saved.url)
        assert done.returncode == 0, done.stderr
        assert f"saved to {snapshot}" in done.stdout
    with dedicated_emulator(target) as fresh:
        s = sessions(fresh, http)
        assert not _ok(s["member"].compute("GET", "/servers"))["servers"]
        done = snapshot_cli("load", snapshot, "--url", fresh.url)
        assert done.returncode == 0, done.stderr
        s = sessions(fresh, http)  # the tokens are the saved cloud's now: log in again
        after = answers(s, made)
        assert after.keys() == before.keys()
        for key in before:
            assert after[key] == before[key], key
        # The loaded cloud goes on: its servers act, a new one builds.
        member = s["member"]
        stopped = next(server["id"] for server in _ok(member.compute(
            "GET", "/servers"))["servers"] if server["name"] == "snap-stopped")
        assert member.compute("POST", f"/servers/{stopped}/action",
                              json={"os-start": None}).status_code == 202
        settle(member, stopped, "ACTIVE")


def test_a_snapshot_file_that_is_not_one_changes_nothing(
        target: Target, http: httpx.Client, tmp_path: Path) -> None:
    with dedicated_emulator(target) as process:
        s = sessions(process, http)
        admin = s["admin"]
        url = f"{process.url}/_emulator/snapshot"
        keys_before = _ok(s["member"].compute("GET", "/os-keypairs"))
        _ok(s["member"].compute("POST", "/os-keypairs", json={"keypair": {"name": "kept"}}))
        for body in (b"", b"not a tar", b"\x1f\x8b\x08\x00garbage"):
            answer = admin.request("PUT", url, content=body,
                                   headers={"Content-Type": "application/gzip"})
            assert answer.status_code in (400, 409), answer.text
            fault = answer.json()
            assert set(fault) in ({"badRequest"}, {"conflictingRequest"}), fault
        member = s["member"].request("GET", url)
        assert member.status_code == 403, member.text
        kept = _ok(s["member"].compute("GET", "/os-keypairs"))["keypairs"]
        assert [k["keypair"]["name"] for k in kept] == ["kept"], (keys_before, kept)
        if target.backend != "simulated":
            refused = admin.request("GET", url)
            assert refused.status_code == 409, refused.text
            assert "simulated backend" in refused.json()["conflictingRequest"]["message"]
            cli = snapshot_cli("save", tmp_path / "x.tar.gz", "--url", process.url)
            assert cli.returncode == 1 and "snapshot save failed: 409" in cli.stderr, cli
