"""``nova-emulator serve`` with ``[compute] backend = "qemu"``: a server through the API is
a real guest with its key pair on its config drive; its console answers; a killed QEMU
makes the server SHUTOFF (power sync)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess
from emulator.qemu import GUEST_IMAGE_NAME
from tests.qemu.conftest import _qemus_under, qemu_config

pytestmark = pytest.mark.qemu

T = TypeVar("T")


def _poll(what: str, probe: Callable[[], T | None], timeout: float,
          interval: float = 0.2) -> tuple[T, float]:
    """``probe()``'s first truthy result and the seconds it took; fails after ``timeout``."""
    start = time.monotonic()
    while True:
        found = probe()
        if found:
            return found, time.monotonic() - start
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(interval)


def _qemus_for(server_id: str) -> list[int]:
    return _qemus_under(Path(server_id))


def test_server_is_a_real_guest(run_dir: Path, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True)
    emulator = EmulatorProcess(config=qemu_config(run_dir))
    server_id: str | None = None
    try:
        emulator.start(timeout=300.0)
        with httpx.Client(timeout=60.0) as http:
            member = ApiSession(seeded_accounts(emulator.url)["member"], http)
            admin = ApiSession(seeded_accounts(emulator.url)["admin"], http)
            health = http.get(f"{emulator.url}/_emulator/health").json()
            assert health["backend"] == "qemu"
            refused = admin.request("POST", f"{emulator.url}/_emulator/clock/advance",
                                    json={"seconds": 1})
            assert refused.status_code == 409
            assert "simulated" in refused.json()["conflictingRequest"]["message"]
            images = member.request("GET", f"{member.endpoint('image')}/v2/images",
                                    params={"name": GUEST_IMAGE_NAME})
            assert images.status_code == 200, images.text
            found = images.json()["images"]
            assert len(found) == 1, found
            assert found[0]["status"] == "active" and found[0]["visibility"] == "public"
            image_id = found[0]["id"]

            imported = member.compute("POST", "/os-keypairs", json={"keypair": {
                "name": "serve-key", "public_key": key.with_suffix(".pub").read_text()}})
            assert imported.status_code == 200, imported.text

            created = time.monotonic()
            response = member.compute("POST", "/servers", json={"server": {
                "name": "qemu-serve-1", "imageRef": image_id, "flavorRef": "1",
                "key_name": "serve-key"}})
            assert response.status_code == 202, response.text
            server_id = str(response.json()["server"]["id"])

            def server() -> dict[str, Any]:
                got = member.compute("GET", f"/servers/{server_id}", version="2.90")
                assert got.status_code == 200, got.text
                body: dict[str, Any] = got.json()["server"]
                return body

            def status_is(wanted: str) -> Callable[[], dict[str, Any] | None]:
                def probe() -> dict[str, Any] | None:
                    body = server()
                    assert body["status"] in (wanted, "BUILD", "ACTIVE"), body
                    return body if body["status"] == wanted else None
                return probe

            active, _ = _poll("ACTIVE", status_is("ACTIVE"), 60.0)
            to_active = time.monotonic() - created
            hostname = active["OS-EXT-SRV-ATTR:hostname"]
            marker = f"GUEST-READY hostname={hostname}"

            def console() -> str | None:
                got = member.compute("POST", f"/servers/{server_id}/action",
                                     json={"os-getConsoleOutput": {}})
                assert got.status_code == 200, got.text
                output = str(got.json()["output"])
                return output if marker in output else None

            output, _ = _poll(marker, console, 60.0, interval=0.5)
            to_ready = time.monotonic() - created
            # the key pair reached the guest through its (forced) config drive
            assert "GUEST-CONFIG-DRIVE /dev/sr0 keys=1" in output, output
            assert (run_dir / server_id / "disk.config").is_file()

            pids = _qemus_for(server_id)
            assert len(pids) == 1, pids
            assert (run_dir / server_id).is_dir()

            os.kill(pids[0], signal.SIGKILL)
            killed = time.monotonic()
            shutoff, _ = _poll("SHUTOFF", status_is("SHUTOFF"), 10.0, interval=0.1)
            to_shutoff = time.monotonic() - killed
            assert shutoff["OS-EXT-STS:vm_state"] == "stopped"
            assert shutoff["OS-EXT-STS:power_state"] == 4
            assert shutoff["OS-EXT-STS:task_state"] is None
            assert to_shutoff < 5.0, to_shutoff

            deleted = member.compute("DELETE", f"/servers/{server_id}")
            assert deleted.status_code == 204, deleted.text

            def gone() -> bool:
                return member.compute("GET", f"/servers/{server_id}").status_code == 404

            _poll("server deleted", gone, 30.0)
            assert _qemus_for(server_id) == []
            assert not (run_dir / server_id).exists()
            server_id = None
            print(f"\ncreate->ACTIVE {to_active:.1f} s, create->GUEST-READY {to_ready:.1f} s, "
                  f"SIGKILL->SHUTOFF {to_shutoff:.2f} s")
        emulator.stop()
        # qemu.qmp's reader of a SIGKILLed QEMU ends with an EOFError: taken, not logged
        log = emulator.log()
        assert "ERROR nova_emulator" not in log and "Exception in ASGI" not in log, log
        assert "never retrieved" not in log, log
    finally:
        emulator.stop()
        if server_id is not None:
            for pid in _qemus_for(server_id):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(emulator.workdir, ignore_errors=True)
