"""Raw HTTP to the block storage (Cinder v3) endpoint, and what the volume tests share:
Cinder's fault body, waiting for a status, and fixtures that make volumes, snapshots and
attachments and clean them away (import the fixtures into a test module to use them).

The endpoint comes from the catalog (``block-storage``, with the project in its URL as
devstack publishes it), so the tests run against any cloud.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession

TIMEOUT = 60.0


def cinder(session: ApiSession, method: str, path: str, version: str | None = None,
           **kwargs: Any) -> httpx.Response:
    """``<block-storage endpoint><path>``, at ``version`` (``volume X.Y``) if given."""
    headers = dict(kwargs.pop("headers", {}))
    if version is not None:
        headers["OpenStack-API-Version"] = f"volume {version}"
    return session.request(method, f"{session.endpoint('block-storage')}{path}",
                           headers=headers, **kwargs)


def fault(response: httpx.Response, status: int, name: str) -> str:
    """Assert Cinder's fault body ``{name: {code, message}}``; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [name], body
    assert body[name]["code"] == status
    return str(body[name]["message"])


def wait_volume(session: ApiSession, volume_id: str, status: str,
                timeout: float = TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = cinder(session, "GET", f"/volumes/{volume_id}")
        assert response.status_code == 200, response.text
        volume: dict[str, Any] = response.json()["volume"]
        if volume["status"] == status:
            return volume
        assert volume["status"] != "error" or status == "error", volume
        assert time.monotonic() < deadline, f"{volume_id} stuck {volume['status']}"
        time.sleep(0.05)


def wait_gone(session: ApiSession, path: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while cinder(session, "GET", path).status_code != 404:
        assert time.monotonic() < deadline, f"{path} still there"
        time.sleep(0.05)


def wait_snapshot(session: ApiSession, snapshot_id: str, status: str,
                  timeout: float = TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = cinder(session, "GET", f"/snapshots/{snapshot_id}")
        assert response.status_code == 200, response.text
        snapshot: dict[str, Any] = response.json()["snapshot"]
        if snapshot["status"] == status:
            return snapshot
        assert time.monotonic() < deadline, f"{snapshot_id} stuck {snapshot['status']}"
        time.sleep(0.05)


def unique(prefix: str = "conf-vol") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


VolumeFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_volume(member: ApiSession, admin: ApiSession) -> Iterator[VolumeFactory]:
    """Create volumes (as ``member`` unless ``session=`` says otherwise) and wait until
    they are available; at the end their attachments, snapshots and they are deleted."""
    created: list[tuple[ApiSession, str]] = []

    def make(session: ApiSession | None = None, wait: bool = True,
             **fields: Any) -> dict[str, Any]:
        owner = session or member
        body = {"volume": {"size": 1, "name": unique(), **fields}}
        response = cinder(owner, "POST", "/volumes", json=body)
        assert response.status_code == 202, response.text
        volume: dict[str, Any] = response.json()["volume"]
        created.append((owner, volume["id"]))
        return wait_volume(owner, volume["id"], "available") if wait else volume

    yield make
    for _owner, volume_id in reversed(created):
        attachments = cinder(admin, "GET", "/attachments?all_tenants=1", version="3.27")
        for attachment in attachments.json().get("attachments", []):
            if attachment["volume_id"] == volume_id:
                cinder(admin, "DELETE", f"/attachments/{attachment['id']}", version="3.27")
        cinder(admin, "DELETE", f"/volumes/{volume_id}?cascade=true")
    for _owner, volume_id in created:
        wait_gone(admin, f"/volumes/{volume_id}")
