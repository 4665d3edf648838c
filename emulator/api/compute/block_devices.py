"""``block_device_mapping_v2`` (and the legacy ``block_device_mapping``) of a server
create, parsed into the domain's ``BlockDeviceRequest`` (the schema checked each field)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulator.api.faults import Fault
from emulator.compute.volumes.boot import BlockDeviceRequest

TRUE = frozenset({"true", "1", "on", "yes"})
#: Where a mapping goes when the request does not say (Nova's ``from_api``).
DEFAULT_DESTINATION = {"volume": "volume", "snapshot": "volume", "image": "local",
                       "blank": "local"}


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Fault(400, f"Invalid input for field/attribute {name}. Value: {value}. "
                         f"'{value}' is not an integer") from None


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in TRUE


def _v2(item: dict[str, Any]) -> BlockDeviceRequest:
    source = str(item.get("source_type") or "volume")
    named = item.get("uuid") or item.get(f"{source}_id")
    size = _int(item.get("volume_size"), "volume_size")
    if size is not None and size < 0:
        raise Fault(400, f"Invalid input for field/attribute volume_size. Value: {size}. "
                         f"{size} is less than the minimum of 0")
    return BlockDeviceRequest(
        source_type=source,
        destination_type=str(item.get("destination_type") or DEFAULT_DESTINATION[source]),
        uuid=str(named) if named else None,
        boot_index=_int(item.get("boot_index"), "boot_index"),
        volume_size=size,
        delete_on_termination=_bool(item.get("delete_on_termination", False)),
        device_name=item.get("device_name"), tag=item.get("tag"),
        disk_bus=item.get("disk_bus"), device_type=item.get("device_type"))


def _legacy(item: dict[str, Any], first: bool, image_given: bool) -> BlockDeviceRequest:
    """A legacy mapping: a volume or a snapshot; the root when it names ``vda`` (or comes
    first with no image)."""
    source = "snapshot" if item.get("snapshot_id") else "volume"
    device = str(item.get("device_name") or "")
    root = device.endswith("vda") or (first and not image_given)
    return BlockDeviceRequest(
        source_type=source, destination_type="volume",
        uuid=item.get("snapshot_id") or item.get("volume_id"),
        boot_index=0 if root else None,
        volume_size=_int(item.get("volume_size"), "volume_size"),
        delete_on_termination=_bool(item.get("delete_on_termination", False)),
        device_name=device or None)


def block_devices(v2: Sequence[dict[str, Any]] | None, legacy: Sequence[dict[str, Any]] | None,
                  image_given: bool) -> tuple[BlockDeviceRequest, ...]:
    if v2:
        return tuple(_v2(item) for item in v2)
    return tuple(_legacy(item, index == 0, image_given)
                 for index, item in enumerate(legacy or ()))
