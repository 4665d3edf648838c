"""Block device mappings as a create asks for them and as an image carries them."""

from __future__ import annotations

import json

import pytest

from emulator.api.compute.block_devices import block_devices
from emulator.api.faults import Fault
from emulator.compute.volumes.boot import (
    BlockDeviceRequest,
    boots_from_volume,
    image_mappings,
    merged,
)

VOLUME = "5f0e9a3c-2b6d-4c1e-9a7f-0123456789ab"


def test_v2_items_take_nova_defaults() -> None:
    (volume, image) = block_devices([
        {"uuid": VOLUME, "source_type": "volume", "boot_index": "0"},
        {"uuid": "img", "source_type": "image", "boot_index": 1, "volume_size": "2",
         "destination_type": "volume", "delete_on_termination": "True"}], None, False)
    assert (volume.destination_type, volume.boot_index, volume.uuid) == ("volume", 0, VOLUME)
    assert (image.volume_size, image.delete_on_termination) == (2, True)
    assert boots_from_volume([volume, image])
    (local,) = block_devices([{"uuid": "img", "source_type": "image", "boot_index": 0}],
                             None, True)
    assert local.destination_type == "local" and not boots_from_volume([local])


def test_legacy_items_are_volumes_and_the_root_is_vda_or_the_first() -> None:
    first, other = block_devices(None, [{"volume_id": VOLUME},
                                        {"snapshot_id": "s", "device_name": "vdb"}], False)
    assert (first.source_type, first.boot_index) == ("volume", 0)
    assert (other.source_type, other.boot_index, other.uuid) == ("snapshot", None, "s")
    (named,) = block_devices(None, [{"volume_id": VOLUME, "device_name": "/dev/vda"}], True)
    assert named.boot_index == 0


def test_a_bad_number_is_a_400() -> None:
    with pytest.raises(Fault):
        block_devices([{"source_type": "blank", "volume_size": "x"}], None, False)


def test_an_images_mappings_and_the_request_merge_by_device_name() -> None:
    carried = {"bdm_v2": "True", "block_device_mapping": json.dumps([
        {"source_type": "snapshot", "destination_type": "volume", "snapshot_id": "s1",
         "boot_index": 0, "device_name": "/dev/vda", "volume_size": 2},
        {"source_type": "snapshot", "destination_type": "volume", "snapshot_id": "s2",
         "boot_index": None, "device_name": "/dev/vdb", "volume_size": 1}])}
    root, data = image_mappings(carried)
    assert (root.uuid, root.boot_index, root.volume_size) == ("s1", 0, 2)
    asked = BlockDeviceRequest(source_type="blank", destination_type="volume",
                               volume_size=5, device_name="/dev/vdb")
    assert merged((root, data), (asked,)) == (root, asked)
    assert image_mappings({"block_device_mapping": "[]"}) == ()
    assert image_mappings({"bdm_v2": "True", "block_device_mapping": "not json"}) == ()
