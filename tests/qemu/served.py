"""Talking to a served emulator on the qemu backend: images, servers, their console."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

from conformance.bios_image import MESSAGE, upload
from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from emulator.qemu import GUEST_IMAGE_NAME

T = TypeVar("T")
OCTETS = {"Content-Type": "application/octet-stream"}


def poll(what: str, probe: Callable[[], T | None], timeout: float,
         interval: float = 0.2) -> T:
    """``probe()``'s first truthy result; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(interval)


class Cloud:
    """The member and admin sessions of one emulator."""

    def __init__(self, url: str, http: httpx.Client) -> None:
        self.url = url
        accounts = seeded_accounts(url)
        self.member = ApiSession(accounts["member"], http)
        self.admin = ApiSession(accounts["admin"], http)

    def healthy(self) -> bool:
        response = self.member.http.get(f"{self.url}/_emulator/health")
        return response.status_code == 200 and response.json()["status"] == "ok"

    def image_id(self, name: str) -> str:
        found = self.member.request("GET", f"{self.member.endpoint('image')}/v2/images",
                                    params={"name": name}).json()["images"]
        assert len(found) == 1, found
        return str(found[0]["id"])

    def guest_image(self) -> str:
        return self.image_id(GUEST_IMAGE_NAME)

    def bios_image(self, message: str = MESSAGE) -> str:
        """A new upload of the tiny BIOS-bootable disk (``conformance.bios_image``: SeaBIOS
        boots its one sector, which prints ``message`` on the console and halts) as the
        member's: the cheapest boot there is."""
        return upload(self.member, message)

    def create_image(self, name: str, disk_format: str) -> str:
        created = self.member.request(
            "POST", f"{self.member.endpoint('image')}/v2/images",
            json={"name": name, "disk_format": disk_format, "container_format": "bare"})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def upload(self, image_id: str, data: bytes) -> httpx.Response:
        return self.member.request("PUT", f"{self.member.endpoint('image')}/v2/images/"
                                          f"{image_id}/file", content=data, headers=OCTETS)

    def delete_image(self, image_id: str) -> None:
        self.member.request("DELETE", f"{self.member.endpoint('image')}/v2/images/{image_id}")

    def create_server(self, name: str, image_id: str, flavor: str = "1") -> str:
        response = self.member.compute("POST", "/servers", json={"server": {
            "name": name, "imageRef": image_id, "flavorRef": flavor}})
        assert response.status_code == 202, response.text
        return str(response.json()["server"]["id"])

    def server(self, server_id: str) -> dict[str, Any] | None:
        got = self.member.compute("GET", f"/servers/{server_id}", version="2.90")
        if got.status_code == 404:
            return None
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()["server"]
        return body

    def wait_status(self, server_id: str, wanted: str, timeout: float = 60.0
                    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            body = self.server(server_id)
            assert body is not None, f"{server_id} is gone"
            assert body["status"] in (wanted, "BUILD"), body
            return body if body["status"] == wanted else None
        return poll(f"{server_id} {wanted}", probe, timeout)

    def console(self, server_id: str) -> str:
        got = self.member.compute("POST", f"/servers/{server_id}/action",
                                  json={"os-getConsoleOutput": {}})
        assert got.status_code == 200, got.text
        return str(got.json()["output"])

    def delete_server(self, server_id: str, timeout: float = 30.0) -> None:
        deleted = self.member.compute("DELETE", f"/servers/{server_id}")
        assert deleted.status_code == 204, deleted.text
        poll(f"{server_id} deleted", lambda: self.server(server_id) is None, timeout)
