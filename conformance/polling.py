"""Waiting for what a polling client can observe: a server's status settling.

On the simulated cloud with immediate progression a poll returns at once; on the qemu
backend an action takes real time (a boot, an ACPI power-off that a guest may ignore until
``shutdown_timeout``), so tests wait for the state instead of assuming it. An ERROR the
test did not ask for ends the wait at once, with the server's fault.
"""

from __future__ import annotations

import time
from typing import Any

from conformance.client import ApiSession

#: Long enough for a stop that waits the whole clean-shutdown timeout on the qemu backend,
#: a boot queued behind others, and a loaded 2-core machine.
TIMEOUT = 60.0


def settle(session: ApiSession, server_id: str, status: str, timeout: float = TIMEOUT,
           version: str = "2.1") -> dict[str, Any]:
    """Poll until the server shows ``status`` with no task in progress."""
    deadline = time.monotonic() + timeout
    seen: list[tuple[str, Any]] = []
    while True:
        response = session.compute("GET", f"/servers/{server_id}", version=version)
        assert response.status_code == 200, response.text
        server: dict[str, Any] = response.json()["server"]
        state = (server["status"], server["OS-EXT-STS:task_state"])
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == (status, None):
            return server
        assert server["status"] != "ERROR" or status == "ERROR", (
            f"{server_id} went {seen}: {server.get('fault')}")
        assert time.monotonic() < deadline, f"{server_id} stuck: {seen}"
        time.sleep(0.05)
