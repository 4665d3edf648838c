"""Where volumes' data lives: the seam between the block storage domain and storage.

The domain calls a ``VolumeStore`` as Cinder's volume manager calls its driver: make a
volume (empty, or from an image, a snapshot or a volume), grow it, snapshot it, delete
it, and describe how a host connects to it. ``MemoryVolumeStore`` keeps only sizes (the
simulated cloud's volumes hold no data); a store that keeps a qcow2 file per volume plugs
in here for QEMU guests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class VolumeSource:
    """What a new volume starts as a copy of."""

    kind: Literal["image", "snapshot", "volume"]
    id: str


class VolumeStore(Protocol):
    def create(self, volume_id: str, size_gb: int, source: VolumeSource | None) -> None:
        """Make a volume of ``size_gb`` (a copy of ``source``, else empty)."""

    def extend(self, volume_id: str, size_gb: int) -> None:
        """Grow a volume to ``size_gb``."""

    def delete(self, volume_id: str) -> None:
        """Forget a volume (nothing happens for one the store does not know)."""

    def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        """Keep a point-in-time copy of a volume."""

    def delete_snapshot(self, snapshot_id: str) -> None:
        """Forget a snapshot (nothing happens for one the store does not know)."""

    def path(self, volume_id: str) -> str | None:
        """The file holding the volume's data, for a hypervisor that opens it (None: the
        store keeps no file)."""

    def connection_info(self, volume_id: str, connector: dict[str, Any]) -> dict[str, Any]:
        """How the host in ``connector`` reaches the volume (a driver's
        ``initialize_connection`` data, with its ``driver_volume_type``)."""


class MemoryVolumeStore:
    """Volumes as sizes in memory, connected as an LVM backend's iSCSI targets would be."""

    def __init__(self) -> None:
        self.volumes: dict[str, int] = {}
        self.snapshots: dict[str, str] = {}

    def create(self, volume_id: str, size_gb: int, source: VolumeSource | None) -> None:
        self.volumes[volume_id] = size_gb

    def extend(self, volume_id: str, size_gb: int) -> None:
        self.volumes[volume_id] = size_gb

    def delete(self, volume_id: str) -> None:
        self.volumes.pop(volume_id, None)

    def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        self.snapshots[snapshot_id] = volume_id

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.snapshots.pop(snapshot_id, None)

    def path(self, volume_id: str) -> str | None:
        return None

    def connection_info(self, volume_id: str, connector: dict[str, Any]) -> dict[str, Any]:
        return {
            "driver_volume_type": "iscsi",
            "target_discovered": False,
            "target_portal": "127.0.0.1:3260",
            "target_iqn": f"iqn.2010-10.org.openstack:volume-{volume_id}",
            "target_lun": 0,
            "volume_id": volume_id,
        }
