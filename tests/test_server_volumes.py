"""Device names as Nova's libvirt driver assigns them, and a deleted server's mappings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from backends.base import ComputeBackend
from emulator.compute.instance_actions import InstanceActions
from emulator.compute.instances import Instances
from emulator.compute.models import Instance
from emulator.compute.volumes.attachments import ServerVolumes
from emulator.compute.volumes.mappings import next_device, volume_rows
from emulator.compute.volumes.models import BlockDeviceMapping
from emulator.db import Database
from emulator.volume.service import VolumeService


def _instance(ephemeral_gb: int = 0, swap: int = 0) -> Instance:
    return Instance(uuid="u", display_name="s", hostname="s", project_id="p", user_id="u",
                    vcpus=1, memory_mb=64, root_gb=1, ephemeral_gb=ephemeral_gb, swap=swap,
                    flavor_id="1", vm_state="active", created_at=datetime.now(UTC))


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


def test_a_deleted_servers_unmade_volumes_leave_no_mapping(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    with db.session() as s:
        s.add(BlockDeviceMapping(uuid="m", instance_uuid="u", source_type="image",
                                 destination_type="volume", image_id="i", boot_index=0,
                                 volume_size=1, created_at=datetime.now(UTC)))
    volumes = ServerVolumes(db, cast(VolumeService, None), cast(ComputeBackend, None),
                            Instances(db), InstanceActions(db), run=lambda _id, _work: None)
    volumes.release("u")
    with db.session() as s:
        assert volume_rows(s, "u", pending=True) == []
