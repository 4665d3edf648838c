"""A build that fails ends in ERROR with a fault, on every backend.

What makes it fail is the backend's own: on the simulated cloud a build fault rule (its
control plane), on real QEMU an image QEMU cannot open (a qcow2 header with an impossible
cluster size, which Glance's format check lets through as it looks at the magic and size).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.client import ApiSession
from conformance.conftest import Target
from conformance.polling import settle

#: qcow2 version 3 header fields, up to the header length (104 bytes).
_QCOW2_HEADER = struct.Struct(">4sIQIIQIIQQIIQQQQII")


def broken_qcow2(virtual_size: int = 2**30) -> bytes:
    """A qcow2 whose cluster size is 2**63: the magic and size are right, QEMU refuses it."""
    return _QCOW2_HEADER.pack(b"QFI\xfb", 3, 0, 0, 63, virtual_size, 0, 0, 0, 0, 0, 0, 0,
                              0, 0, 0, 4, 104).ljust(65536, b"\0")


def _seeded_image(member: ApiSession) -> str:
    images = member.compute("GET", "/images").json()["images"]
    return str(next(i["id"] for i in images if i["name"].startswith("cirros")))


def by_fault_rule(admin: ApiSession, member: ApiSession, url: str, name: str) -> str:
    """The simulated cloud: a one-shot rule fails the build of the server called ``name``."""
    rule = {"match": {"server_name": f"^{name}$"}, "build": "error", "times": 1}
    response = admin.request("POST", f"{url}/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text
    return _seeded_image(member)


def by_broken_image(admin: ApiSession, member: ApiSession, url: str, name: str) -> str:
    """Real QEMU: an image it cannot open."""
    glance = f"{member.endpoint('image')}/v2/images"
    created = member.request("POST", glance, json={
        "name": name, "disk_format": "qcow2", "container_format": "bare"})
    assert created.status_code == 201, created.text
    image_id = str(created.json()["id"])
    uploaded = member.request("PUT", f"{glance}/{image_id}/file", content=broken_qcow2(),
                              headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return image_id


BREAKERS: dict[str, Callable[[ApiSession, ApiSession, str, str], str]] = {
    "simulated": by_fault_rule,
    "qemu": by_broken_image,
}


@pytest.fixture
def doomed(target: Target, admin: ApiSession, member: ApiSession) -> Iterator[dict[str, Any]]:
    """A member's server whose build fails; deleted (with its image) afterwards."""
    assert target.emulator is not None
    name = f"doomed-{uuid.uuid4().hex[:8]}"
    image = BREAKERS[target.backend](admin, member, target.emulator.url, name)
    response = member.compute("POST", "/servers", json={"server": {
        "name": name, "imageRef": image, "flavorRef": "1"}})
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    yield settle(member, server_id, "ERROR")
    admin.compute("DELETE", f"/servers/{server_id}")
    if target.backend != "simulated":
        member.request("DELETE", f"{member.endpoint('image')}/v2/images/{image}")


@pytest.mark.emulator_only
def test_a_failed_build_ends_in_error_with_a_fault(doomed: dict[str, Any],
                                                   member: ApiSession) -> None:
    assert doomed["OS-EXT-STS:vm_state"] == "error"
    assert doomed["OS-EXT-STS:task_state"] is None
    fault = doomed["fault"]
    assert fault["code"] == 500 and fault["message"] and "created" in fault
    # From ERROR a delete is all that is left; a start is refused like Nova.
    response = member.compute("POST", f"/servers/{doomed['id']}/action",
                              json={"os-start": None})
    assert response.status_code == 409, response.text
