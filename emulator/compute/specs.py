"""Instances in the backend's vocabulary: the ``InstanceSpec`` a verb is given."""

from __future__ import annotations

import base64
import binascii
import dataclasses

from backends.base import InstanceSpec, VifSpec
from emulator.compute.models import Instance
from emulator.db import AnyRow


def instance_spec(row: Instance | AnyRow, metadata: dict[str, str] | None = None,
                  addresses: tuple[tuple[str, str, str], ...] = (),
                  vifs: tuple[VifSpec, ...] = ()) -> InstanceSpec:
    """What a backend needs to run ``row`` (``addresses`` where the guest shows them,
    ``vifs``: its ports, where it boots)."""
    user_data: bytes | None = None
    if row.user_data:
        try:
            user_data = base64.b64decode(row.user_data)
        except (binascii.Error, ValueError):
            user_data = None
    return InstanceSpec(
        uuid=row.uuid, name=row.display_name, hostname=row.hostname, host=row.host or "",
        project_id=row.project_id, vcpus=row.vcpus, memory_mb=row.memory_mb,
        root_gb=row.root_gb, ephemeral_gb=row.ephemeral_gb, swap_mb=row.swap,
        image_id=row.image_ref or None, user_data=user_data, key_data=row.key_data,
        key_name=row.key_name,
        metadata=metadata or {}, config_drive=bool(row.config_drive), addresses=addresses,
        vifs=vifs,
    )


def previous_spec(row: Instance) -> InstanceSpec:
    """The instance as it was before its resize (its old flavor, on its source host)."""
    return dataclasses.replace(
        instance_spec(row), host=row.source_host or row.host or "", vcpus=row.old_vcpus,
        memory_mb=row.old_memory_mb, root_gb=row.old_root_gb,
        ephemeral_gb=row.old_ephemeral_gb, swap_mb=row.old_swap)
