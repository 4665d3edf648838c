"""Device names as Nova's libvirt driver assigns them, and the view's volume list."""

from __future__ import annotations

from datetime import UTC, datetime

from emulator.compute.models import Instance
from emulator.compute.volumes.mappings import next_device


def _instance(ephemeral_gb: int = 0, swap: int = 0) -> Instance:
    return Instance(uuid="u", display_name="s", hostname="s", project_id="p", user_id="u",
                    vcpus=1, memory_mb=64, root_gb=1, ephemeral_gb=ephemeral_gb, swap=swap,
                    flavor_id="1", created_at=datetime.now(UTC))


def test_volumes_follow_the_root_disk() -> None:
    assert next_device(_instance(), []) == "/dev/vdb"
    assert next_device(_instance(), ["/dev/vdb", None]) == "/dev/vdc"


def test_a_freed_name_is_taken_again() -> None:
    assert next_device(_instance(), ["/dev/vdc"]) == "/dev/vdb"


def test_ephemeral_and_swap_disks_come_before_volumes() -> None:
    assert next_device(_instance(ephemeral_gb=1), []) == "/dev/vdc"
    assert next_device(_instance(ephemeral_gb=1, swap=512), []) == "/dev/vdd"
    assert next_device(_instance(swap=512), []) == "/dev/vdc"


def test_after_vdz_come_two_letters() -> None:
    taken = [f"/dev/vd{chr(c)}" for c in range(ord("b"), ord("z") + 1)]
    assert next_device(_instance(), taken) == "/dev/vdaa"
