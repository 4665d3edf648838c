"""Block device mappings as the rest of compute reads them: records, the volumes of a page
of servers (``os-extended-volumes:volumes_attached``), and device names as Nova's libvirt
driver assigns them."""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from emulator.compute.models import Instance
from emulator.compute.volumes.models import BlockDeviceMapping
from emulator.db import table_of
from emulator.reads import KeyedRead, Reader

#: Where Nova's libvirt driver puts virtio disks: the root is ``vda``.
PREFIX = "/dev/vd"
ROOT_DEVICE = PREFIX + "a"


@dataclass(frozen=True)
class BdmRecord:
    """One volume mapping, detached from the database."""

    uuid: str
    instance_uuid: str
    volume_id: str
    device_name: str | None
    tag: str | None
    delete_on_termination: bool
    attachment_id: str | None
    boot_index: int | None
    volume_size: int | None

    @property
    def is_root(self) -> bool:
        return self.boot_index == 0

    @classmethod
    def of(cls, row: BlockDeviceMapping) -> BdmRecord:
        assert row.volume_id is not None
        return cls(uuid=row.uuid, instance_uuid=row.instance_uuid, volume_id=row.volume_id,
                   device_name=row.device_name, tag=row.tag,
                   delete_on_termination=row.delete_on_termination,
                   attachment_id=row.attachment_id, boot_index=row.boot_index,
                   volume_size=row.volume_size)


def _volume_rows(pending: bool) -> SelectOfScalar[BlockDeviceMapping]:
    stmt = select(BlockDeviceMapping).where(
        BlockDeviceMapping.instance_uuid == bindparam("instance_uuid"))
    if not pending:
        stmt = stmt.where(col(BlockDeviceMapping.volume_id).is_not(None))
    return stmt.order_by(col(BlockDeviceMapping.id))


#: ``volume_rows``' statements, built once (every delete reads them).
_VOLUME_ROWS = {pending: _volume_rows(pending) for pending in (False, True)}


def volume_rows(s: Session, instance_uuid: str,
                pending: bool = False) -> list[BlockDeviceMapping]:
    """The server's volume mappings in the order they were made (``pending``: with those
    whose volume its build has yet to make)."""
    return list(s.exec(_VOLUME_ROWS[pending], params={"instance_uuid": instance_uuid}))


_BDM = table_of(BlockDeviceMapping)
_VOLUMES = KeyedRead(lambda match: (
    sa_select(_BDM.c.instance_uuid, _BDM.c.volume_id, _BDM.c.delete_on_termination)
    .where(match(_BDM.c.instance_uuid), _BDM.c.volume_id.is_not(None))
    .order_by(_BDM.c.id)))


_ANY_MAPPING = KeyedRead(lambda match: sa_select(_BDM.c.id).where(
    match(_BDM.c.instance_uuid)).limit(1))


def has_mappings(s: Reader, instance_uuid: str) -> bool:
    """Whether the server has a block device mapping (made or pending)."""
    return bool(_ANY_MAPPING(s, [instance_uuid]))


def volumes_of(s: Reader, instance_uuids: Sequence[str]
               ) -> dict[str, list[tuple[str, bool]]]:
    """Each server's volumes (volume id, delete_on_termination) in the order they were
    mapped (one query for a page of servers)."""
    found: dict[str, list[tuple[str, bool]]] = {u: [] for u in instance_uuids}
    for instance_uuid, volume_id, delete_on_termination in _VOLUMES(s, instance_uuids):
        found[instance_uuid].append((volume_id, delete_on_termination))
    return found


def _names() -> Iterable[str]:
    """``vda`` … ``vdz``, ``vdaa`` … (Nova's ``get_dev_name_for_instance`` letters)."""
    letters = string.ascii_lowercase
    yield from (PREFIX + a for a in letters)
    yield from (PREFIX + a + b for a in letters for b in letters)


def next_device(instance: Instance, taken: Iterable[str | None]) -> str:
    """The first free virtio name after the root disk and the flavor's ephemeral and swap
    disks (libvirt's ``get_disk_mapping`` order: root, ephemeral, swap, then volumes)."""
    used = {name for name in taken if name}
    local = [ROOT_DEVICE]
    if instance.ephemeral_gb:
        local.append("ephemeral")
    if instance.swap:
        local.append("swap")
    names = iter(_names())
    for _ in local:
        used.add(next(names))
    return next(name for name in names if name not in used)
