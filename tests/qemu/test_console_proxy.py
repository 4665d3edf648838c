"""The remote console of ``nova-emulator serve --backend qemu``: the URL from the API leads
through the proxy's WebSocket to the guest's VNC socket; an RFB handshake and a framebuffer
update (the VGA's text screen, not blank) go through; a stopped guest's session ends
("Target closed") and a new one is closed with the reason."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess
from conformance.test_remote_console import Console, Rfb, remote_console
from emulator.qemu import GUEST_IMAGE_NAME
from tests.qemu.conftest import _qemus_under, qemu_config

pytestmark = pytest.mark.qemu


def _wait_status(session: ApiSession, server_id: str, wanted: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = session.compute("GET", f"/servers/{server_id}")
        assert got.status_code == 200, got.text
        server: dict[str, Any] = got.json()["server"]
        if (server["status"], server["OS-EXT-STS:task_state"]) == (wanted, None):
            return
        assert time.monotonic() < deadline, f"{server_id}: not {wanted} within {timeout} s"
        time.sleep(0.2)


def test_console_reaches_the_guest_display(run_dir: Path) -> None:
    # A guest stopped before its acpid runs ignores the power button: 5 s, not Nova's 60.
    emulator = EmulatorProcess(config=qemu_config(run_dir, shutdown_timeout=5.0))
    server_id: str | None = None
    try:
        emulator.start(timeout=300.0)
        with httpx.Client(timeout=60.0) as http:
            member = ApiSession(seeded_accounts(emulator.url)["member"], http)
            images = member.request("GET", f"{member.endpoint('image')}/v2/images",
                                    params={"name": GUEST_IMAGE_NAME})
            image_id = images.json()["images"][0]["id"]
            response = member.compute("POST", "/servers", json={"server": {
                "name": "console-1", "imageRef": image_id, "flavorRef": "42"}})
            assert response.status_code == 202, response.text
            server_id = str(response.json()["server"]["id"])
            _wait_status(member, server_id, "ACTIVE", 60.0)
            # The firmware sets the VGA's text mode before the kernel runs, so the display
            # has its mode once the guest is up (before: 640x480); and once it is ready,
            # its acpid runs: the stop below is a clean ACPI power-off, not a hard one.
            deadline = time.monotonic() + 60
            while "GUEST-READY" not in member.compute(
                    "POST", f"/servers/{server_id}/action",
                    json={"os-getConsoleOutput": {}}).json()["output"]:
                assert time.monotonic() < deadline, "no GUEST-READY within 60 s"
                time.sleep(0.2)

            console = Console(remote_console(member, server_id))
            started = time.monotonic()
            with console.connect() as websocket:
                rfb = Rfb(websocket)
                width, height, name = rfb.handshake()
                handshake = time.monotonic() - started
                # The VGA's text mode (80x25 of 9x16), not the 640x480 of no display.
                assert (width, height) == (720, 400), (width, height)
                assert name == f"QEMU ({server_id})"  # QEMU names the display after -name
                # FramebufferUpdateRequest (full) -> FramebufferUpdate: bytes flow both ways.
                websocket.send(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
                kind, _pad, rects = struct.unpack(">BBH", rfb.read(4))
                assert kind == 0 and rects >= 1
                pixels = b""
                for _ in range(rects):  # raw encoding (no SetEncodings sent)
                    _x, _y, w, h, encoding = struct.unpack(">HHHHi", rfb.read(12))
                    assert encoding == 0
                    pixels += rfb.read(w * h * rfb.bits_per_pixel // 8)
                assert any(pixels), "the screen shows text (SeaBIOS's banner at least)"

                # Stop the server: the guest powers off, QEMU ends (as libvirt ends a domain
                # whose guest powered off), its VNC socket closes, and so does the session.
                stop = member.compute("POST", f"/servers/{server_id}/action",
                                      json={"os-stop": None})
                assert stop.status_code == 202, stop.text
                with pytest.raises(ConnectionClosed) as ended:
                    while True:
                        websocket.recv(timeout=30)
                assert ended.value.rcvd is not None
                assert (ended.value.rcvd.code, ended.value.rcvd.reason) == (1000, "Target closed")
            _wait_status(member, server_id, "SHUTOFF", 60.0)

            # A stopped server has no display: the token is good, the close says why.
            with console.connect() as websocket, pytest.raises(ConnectionClosed) as closed:
                websocket.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
            assert "not running" in closed.value.rcvd.reason, closed.value.rcvd.reason

            assert member.compute("DELETE", f"/servers/{server_id}").status_code == 204
            deadline = time.monotonic() + 30
            while member.compute("GET", f"/servers/{server_id}").status_code != 404:
                assert time.monotonic() < deadline, "server not deleted"
                time.sleep(0.2)
            assert _qemus_under(Path(server_id)) == []
            server_id = None
            print(f"\nconsole: RFB handshake through the proxy in {handshake * 1000:.0f} ms, "
                  f"{width}x{height}")
        emulator.stop()
        log = emulator.log()
        assert "ERROR nova_emulator" not in log and "Exception in ASGI" not in log, log
    finally:
        emulator.stop()
        if server_id is not None:
            for pid in _qemus_under(Path(server_id)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(emulator.workdir, ignore_errors=True)
