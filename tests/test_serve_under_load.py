"""Ctrl-C works under load: SIGINT (and SIGTERM) stop a served emulator while a request's
thousand servers build, promptly and cleanly (the app shut down, no traceback)."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.network import lift_port_quota
from conformance.process import NO_QUOTAS, EmulatorProcess

#: Seconds a stop may take (the builds are cancelled, not finished).
STOP_WITHIN = 15.0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_emulator_while_servers_build(sig: signal.Signals) -> None:
    emulator = EmulatorProcess(NO_QUOTAS).start()
    try:
        with httpx.Client(timeout=30.0) as http:
            accounts = seeded_accounts(emulator.url)
            member = ApiSession(accounts["member"], http)
            lift_port_quota(ApiSession(accounts["admin"], http), member.project_id)
            image = member.compute("GET", "/images").json()["images"][0]["id"]
            response = member.compute("POST", "/servers", json={"server": {
                "name": "crowd", "imageRef": image, "flavorRef": "1",
                "min_count": 1000, "max_count": 1000}})
            assert response.status_code == 202, response.text
        assert emulator.proc is not None
        started = time.monotonic()
        emulator.proc.send_signal(sig)
        try:
            code = emulator.proc.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_WITHIN} s after {sig.name}:\n"
                        f"{emulator.log()[-3000:]}")
        took = time.monotonic() - started
        log = emulator.log()
        # uvicorn shuts the app down, then ends as the signal says: Ctrl-C is a clean exit,
        # SIGTERM a termination by that signal (as for any daemon).
        assert code == (0 if sig == signal.SIGINT else -sig), log[-3000:]
        assert "Application shutdown complete" in log, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        assert "build of server" in log  # the builds were under way when it stopped
        assert took < STOP_WITHIN
    finally:
        emulator.stop()
