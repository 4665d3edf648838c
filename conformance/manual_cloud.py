"""A dedicated emulator on the manual clock, and the calls tests make on it.

Tests that watch a status sequence start their own emulator (so the shared one keeps its
immediate clock), reset it between tests, and move time with the control plane.

On another backend (qemu) there is no clock to move: ``manual`` is false, a reset deletes
the servers, and ``finish`` waits for the action to end instead of advancing time, so
tests of final states, refusals and records run there too; what only a manual clock can
show (an interim state) is asserted ``if cloud.manual``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from conformance.client import ApiSession
from conformance.conftest import delete_all_servers, seeded_accounts
from conformance.polling import TIMEOUT
from conformance.process import EmulatorProcess


class ManualCloud:
    def __init__(self, process: EmulatorProcess, http: httpx.Client) -> None:
        self.process = process
        accounts = seeded_accounts(process.url)
        self.admin = ApiSession(accounts["admin"], http)
        self.member = ApiSession(accounts["member"], http)
        self.alt = ApiSession(accounts["alt"], http)
        #: The simulated cloud's manual clock drives this emulator (else real time does).
        self.manual = process.backend == "simulated"

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call to ``/_emulator`` as the admin."""
        return self.admin.request(method, f"{self.process.url}/_emulator{path}", **kwargs)

    def reset(self) -> ManualCloud:
        """Back to no server (and on the manual clock, time 0 and no fault rule)."""
        if not self.manual:
            delete_all_servers(self.process, self.admin.http)
            return self
        response = self.control("POST", "/reset", json={"mode": "manual"})
        assert response.status_code == 204, response.text
        return self

    def settled(self, server_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The server once no task is in progress (polled; at once on the manual clock)."""
        deadline = time.monotonic() + timeout
        while True:
            server = self.show(server_id)
            if server["OS-EXT-STS:task_state"] is None and server["status"] != "BUILD":
                return server
            assert time.monotonic() < deadline, f"{server_id} stuck: {server['status']}"
            time.sleep(0.05)

    def events_done(self, server_id: str, request_id: str,
                    timeout: float = TIMEOUT) -> list[tuple[str, str]]:
        """(event, result) of the request's instance action once every event has ended
        (some actions, e.g. trigger_crash_dump, run on with no task state to watch)."""
        url = f"/servers/{server_id}/os-instance-actions/{request_id}"
        deadline = time.monotonic() + timeout
        while True:
            response = self.admin.compute("GET", url, version="2.51")
            assert response.status_code == 200, response.text
            events = response.json()["instanceAction"]["events"]
            if events and all(e["finish_time"] is not None for e in events):
                return [(e["event"], e["result"]) for e in events]
            assert time.monotonic() < deadline, events
            time.sleep(0.05)

    def finish(self, server_id: str, seconds: float) -> dict[str, Any]:
        """Let the server's action end: ``seconds`` on the manual clock, else wait."""
        if self.manual:
            self.advance(seconds)
        return self.settled(server_id)

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the manual clock; its state after, with the sleepers woken."""
        response = self.control("POST", "/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def image_id(self) -> str:
        images = self.member.request("GET", f"{self.member.endpoint('image')}/v2/images")
        return str(images.json()["images"][0]["id"])

    def boot(self, prefix: str, zone: str | None = None) -> str:
        """POST a new server of the member's (flavor 1, first image); its id."""
        body: dict[str, Any] = {"name": f"{prefix}-{uuid.uuid4().hex[:8]}", "flavorRef": "1",
                                "imageRef": self.image_id()}
        if zone is not None:
            body["availability_zone"] = zone
        response = self.member.compute("POST", "/servers", json={"server": body})
        assert response.status_code == 202, response.text
        return str(response.json()["server"]["id"])

    def show(self, server_id: str, session: ApiSession | None = None,
             version: str | None = None) -> dict[str, Any]:
        response = (session or self.member).compute("GET", f"/servers/{server_id}",
                                                    version=version)
        assert response.status_code == 200, response.text
        server: dict[str, Any] = response.json()["server"]
        return server

    def act(self, server_id: str, body: Any, session: ApiSession | None = None,
            version: str | None = None) -> httpx.Response:
        return (session or self.member).compute("POST", f"/servers/{server_id}/action",
                                                json=body, version=version)
