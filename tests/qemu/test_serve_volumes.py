"""A Cinder volume through the API on the qemu backend: a qcow2 file in the volume store,
attached to a running guest (its console sees the disk appear, with the volume id as its
serial), detached (the guest sees it go), and removed with the volume."""

from __future__ import annotations

import httpx
import pytest

from conformance.volume_client import cinder, wait_gone, wait_volume
from tests.qemu.conftest import ServedQemu
from tests.qemu.served import Cloud, poll

pytestmark = pytest.mark.qemu


def test_a_volume_is_hot_plugged_into_the_guest(qemu_emulator: ServedQemu) -> None:
    with httpx.Client(timeout=60.0) as http:
        cloud = Cloud(qemu_emulator.url, http)
        member = cloud.member
        created = cinder(member, "POST", "/volumes", json={"volume": {"size": 1}})
        assert created.status_code == 202, created.text
        volume_id = created.json()["volume"]["id"]
        wait_volume(member, volume_id, "available")
        server_id = cloud.create_server("qemu-volume", cloud.guest_image())
        try:
            cloud.wait_status(server_id, "ACTIVE")
            poll("guest ready", lambda: "GUEST-READY" in cloud.console(server_id), 120.0,
                 interval=0.5)
            attached = member.compute(
                "POST", f"/servers/{server_id}/os-volume_attachments",
                json={"volumeAttachment": {"volumeId": volume_id}})
            assert attached.status_code == 200, attached.text
            assert attached.json()["volumeAttachment"]["device"] == "/dev/vdb"
            wait_volume(member, volume_id, "in-use", timeout=120.0)
            added = f"GUEST-DISK-ADDED vdb {1024 ** 3} serial={volume_id[:20]}"
            poll(added, lambda: added in cloud.console(server_id), 120.0, interval=0.5)

            detached = member.compute(
                "DELETE", f"/servers/{server_id}/os-volume_attachments/{volume_id}")
            assert detached.status_code == 202, detached.text
            wait_volume(member, volume_id, "available", timeout=120.0)
            poll("disk removed", lambda: "GUEST-DISK-REMOVED vdb" in cloud.console(server_id),
                 60.0, interval=0.5)
        finally:
            cloud.delete_server(server_id, timeout=60.0)
        assert cinder(member, "DELETE", f"/volumes/{volume_id}").status_code == 202
        wait_gone(member, f"/volumes/{volume_id}")
