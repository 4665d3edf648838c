"""Bad images on the qemu backend, through ``nova-emulator serve``: an uploaded image that
does not boot gives a running server whose console shows SeaBIOS giving up (as Nova's libvirt
driver: the hypervisor runs, the guest has nothing to boot); a qcow2 that QEMU cannot open
gives a server in ERROR with Nova's build fault, and nothing left on the host."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backends.qemu.process import (
    SERCON_FW_CFG,
    InstancePaths,
    MachineConfig,
    build_argv,
)
from emulator.image.formats import QCOW2_MAGIC, qcow2_image
from tests.qemu.conftest import ServedQemu
from tests.qemu.served import Cloud, poll

#: What SeaBIOS 1.16 prints when the disk has no boot signature and nothing else boots.
NOT_BOOTABLE = "Boot failed: not a bootable disk"
NO_BOOTABLE_DEVICE = "No bootable device."


def random_disk(size: int = 1 << 20, seed: int = 2024) -> bytes:
    """Random bytes with no MBR boot signature (0x55AA at 510): not bootable."""
    data = bytearray(random.Random(seed).randbytes(size))
    data[510:512] = b"\0\0"
    return bytes(data)


def garbage_qcow2(seed: int = 7) -> bytes:
    """qcow2's magic, then a header of garbage (no backing file, so the image service's
    inspection lets it in); ``qemu-img`` cannot open it."""
    data = bytearray(random.Random(seed).randbytes(4096))
    data[0:4] = QCOW2_MAGIC
    data[8:16] = b"\0" * 8  # backing_file_offset
    return bytes(data)


@pytest.fixture(scope="module")
def cloud(qemu_emulator: ServedQemu) -> Iterator[Cloud]:
    with httpx.Client(timeout=60.0) as http:
        yield Cloud(qemu_emulator.url, http)


# --- the command line: SeaBIOS's serial console for BIOS boots only (no process) -----------

def test_bios_console_only_when_the_bios_boots() -> None:
    paths = InstancePaths(Path("/tmp/ne/vm1"))
    disk = build_argv(MachineConfig("vm1", base_image=Path("/g/disk.qcow2")), paths)
    assert f"name={SERCON_FW_CFG},file=/tmp/ne/vm1/sercon-port" in disk
    assert disk[disk.index(f"name={SERCON_FW_CFG},file=/tmp/ne/vm1/sercon-port") - 1] \
        == "-fw_cfg"
    kernel = build_argv(MachineConfig("vm1", kernel=Path("/g/vmlinux"),
                                      base_image=Path("/g/base.qcow2")), paths)
    assert "-fw_cfg" not in kernel  # the free guest's argv is as it was: no slower boot


# --- through the API -------------------------------------------------------------------------

@pytest.mark.qemu
@pytest.mark.parametrize("source", ["uploaded random raw", "uploaded empty qcow2"])
def test_unbootable_image_boots_to_the_bios_error(
        qemu_emulator: ServedQemu, cloud: Cloud, source: str) -> None:
    # (the seeded placeholders are empty qcow2s too, refused at create; a user's own empty
    # disk boots, as on Nova's libvirt)
    if source == "uploaded random raw":
        image_id = cloud.create_image("random-bytes", "raw")
        uploaded = cloud.upload(image_id, random_disk())
    else:
        image_id = cloud.create_image("empty-disk", "qcow2")
        uploaded = cloud.upload(image_id, qcow2_image(112 << 20))
    assert uploaded.status_code == 204, uploaded.text
    server_id = cloud.create_server("unbootable", image_id)
    try:
        active = cloud.wait_status(server_id, "ACTIVE")
        assert active["OS-EXT-STS:power_state"] == 1  # QEMU runs: as Nova would say
        assert len(qemu_emulator.qemus()) == 1

        def failed() -> str | None:
            output = cloud.console(server_id)
            return output if NO_BOOTABLE_DEVICE in output else None

        output = poll("SeaBIOS's boot failure on the console", failed, 30.0, interval=0.5)
        assert "SeaBIOS" in output and "Booting from Hard Disk..." in output, output
        assert NOT_BOOTABLE in output, output
        assert cloud.healthy()
        assert cloud.server(server_id)["status"] == "ACTIVE"  # type: ignore[index]
    finally:
        cloud.delete_server(server_id)
        cloud.delete_image(image_id)
    assert qemu_emulator.qemus() == []
    assert qemu_emulator.instance_dirs() == []


@pytest.mark.qemu
def test_corrupt_qcow2_build_aborts_and_leaves_nothing(
        qemu_emulator: ServedQemu, cloud: Cloud) -> None:
    # A qcow2 whose header is cut short is refused at upload (Glance's safety check) ...
    truncated = cloud.create_image("truncated-header", "qcow2")
    refused = cloud.upload(truncated, qcow2_image(1 << 26)[:64])
    assert refused.status_code in (400, 415), refused.text
    cloud.delete_image(truncated)
    # ... one with a well-formed start and garbage after the magic is not: the build fails.
    image_id = cloud.create_image("garbage-header", "qcow2")
    uploaded = cloud.upload(image_id, garbage_qcow2())
    assert uploaded.status_code == 204, uploaded.text
    server_id = cloud.create_server("corrupt", image_id)
    try:
        error = cloud.wait_status(server_id, "ERROR", timeout=30.0)
        fault = error["fault"]
        assert fault["code"] == 500, fault
        # NOTE: Nova's words are "Build of instance <uuid> aborted: Image <image> is
        # unacceptable: <reason>" (images.fetch_to_raw -> BuildAbortException).
        assert fault["message"].startswith(f"Build of instance {server_id} aborted: "), fault
        assert len(fault["message"]) > len(f"Build of instance {server_id} aborted: "), fault
        assert error["OS-EXT-STS:vm_state"] == "error"
        assert error["OS-EXT-STS:task_state"] is None
        assert qemu_emulator.qemus() == []
        assert qemu_emulator.instance_dirs() == []
        assert cloud.healthy()
        print(f"\nfault: {fault['message']}")
    finally:
        cloud.delete_server(server_id)
        cloud.delete_image(image_id)

    good = cloud.create_server("good-after-corrupt", cloud.guest_image())
    try:
        cloud.wait_status(good, "ACTIVE")
        assert len(qemu_emulator.qemus()) == 1
    finally:
        cloud.delete_server(good)
    assert qemu_emulator.qemus() == []
    assert qemu_emulator.instance_dirs() == []
    log = qemu_emulator.emulator.log()
    # NOTE: not "no Traceback": qemu.qmp's reader of a QEMU that hung up (quit of guests
    # destroyed at once) can leave an asyncio "_GatheringFuture exception was never
    # retrieved" (EOFError) in the log; that is the QMP adapter's, reported.
    assert "ERROR nova_emulator" not in log and "Exception in ASGI" not in log, log
