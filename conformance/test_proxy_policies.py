"""The proxies' default policies: a project's reader reads (lists and shows; the pools
are anyone's) but neither makes nor deletes, with Nova's 403 naming the rule; Nova checks
the body before the policy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession
from conformance.test_aggregates import fault

V = "2.35"
SOME = str(uuid.UUID(int=7))


@pytest.fixture(scope="module")
def reader(admin: ApiSession, member: ApiSession, http: httpx.Client) -> Iterator[ApiSession]:
    """A user with only the reader role on the member's project (gone afterwards)."""
    name = f"reader-{uuid.uuid4().hex[:8]}"
    made = admin.identity("POST", "/users", json={"user": {
        "name": name, "password": "secret", "domain_id": "default"}})
    assert made.status_code == 201, made.text
    user_id = made.json()["user"]["id"]
    roles = admin.identity("GET", "/roles", params={"name": "reader"}).json()["roles"]
    granted = admin.identity(
        "PUT", f"/projects/{member.project_id}/users/{user_id}/roles/{roles[0]['id']}")
    assert granted.status_code == 204, granted.text
    yield ApiSession(replace(member.account, username=name, password="secret"), http)
    admin.identity("DELETE", f"/users/{user_id}")


@pytest.mark.parametrize("path", [
    "/os-security-groups", "/os-floating-ips", "/os-floating-ip-pools", "/os-networks",
    "/os-tenant-networks", "/os-volumes", "/os-volumes/detail", "/os-snapshots",
    "/os-snapshots/detail",
])
def test_reader_reads(reader: ApiSession, path: str) -> None:
    response = reader.compute("GET", path, version=V)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "path", "body", "rule"), [
    ("POST", "/os-security-groups", {"security_group": {"name": "a", "description": "b"}},
     "os-security-groups:create"),
    ("PUT", f"/os-security-groups/{SOME}",
     {"security_group": {"name": "a", "description": "b"}}, "os-security-groups:update"),
    ("DELETE", f"/os-security-groups/{SOME}", None, "os-security-groups:delete"),
    ("POST", "/os-security-group-rules", {"security_group_rule": {"parent_group_id": SOME}},
     "os-security-groups:rule:create"),
    ("DELETE", f"/os-security-group-rules/{SOME}", None, "os-security-groups:rule:delete"),
    ("POST", "/os-floating-ips", {"pool": "public"}, "os-floating-ips:create"),
    ("DELETE", f"/os-floating-ips/{SOME}", None, "os-floating-ips:delete"),
    ("POST", "/os-volumes", {"volume": {"size": 1}}, "os-volumes:create"),
    ("DELETE", f"/os-volumes/{SOME}", None, "os-volumes:delete"),
    ("POST", "/os-snapshots", {"snapshot": {"volume_id": SOME}},
     "os-volumes:snapshots:create"),
    ("DELETE", f"/os-snapshots/{SOME}", None, "os-volumes:snapshots:delete"),
])
def test_reader_does_not_write(reader: ApiSession, method: str, path: str, body: Any,
                               rule: str) -> None:
    response = reader.compute(method, path, version=V, json=body)
    assert fault(response, 403) == (
        f"Policy doesn't allow os_compute_api:{rule} to be performed.")


def test_body_checked_before_policy(reader: ApiSession) -> None:
    fault(reader.compute("POST", "/os-volumes", version=V, json={"volume": {}}), 400)
