"""Volume actions (``POST /volumes/{id}/action``): extend, retype, bootable and read-only
flags, and the admin's status reset; each with Cinder's checks and words
(``cinder/volume/api.py``, ``cinder/api/contrib/volume_actions.py``, ``admin_actions.py``).
"""

from __future__ import annotations

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import InvalidInput
from emulator.volume import policy, quotas
from emulator.volume.errors import invalid_input, invalid_volume
from emulator.volume.rows import attachments_of, now, volume_row
from emulator.volume.states import (
    NOT_MIGRATING,
    PREVIOUS,
    VOLUME,
    allows,
    volume_attach_status,
)
from emulator.volume.store import VolumeStore
from emulator.volume.volumes import find_type


def extend(s: Session, ctx: RequestContext, volume_id: str, new_size: int,
           in_use_allowed: bool, store: VolumeStore) -> None:
    """Grow a volume; an ``in-use`` one only from 3.42 (``in_use_allowed``)."""
    row = volume_row(s, ctx, volume_id)
    attached = in_use_allowed and row.status == "in-use"
    policy.authorize(ctx, "volume:extend_attached_volume" if attached else "volume:extend",
                     row.project_id)
    transition = VOLUME["extend_attached" if attached else "extend"]
    if new_size <= row.size:
        raise invalid_input("New size for extend must be greater than current size. "
                            f"(current: {row.size}, extended: {new_size}).")
    if not allows(transition, row.status):
        # NOTE: Cinder words the expected status as the dict of its conditional update.
        expected = {"status": transition.allowed[0]}
        raise invalid_volume(f"Volume {row.id} status must be '{expected}' to extend, "
                             f"currently {row.status}.")
    quotas.check_volume_size(s, row.project_id, new_size)
    growth = new_size - row.size
    quotas.reserve(s, row.project_id, quotas.with_type(
        {"gigabytes": growth}, find_type(row.volume_type_id).name), "volumes", growth)
    store.extend(row.id, new_size)
    assert transition.final == PREVIOUS
    row.size = new_size
    row.updated_at = now()
    s.add(row)


def retype(s: Session, ctx: RequestContext, volume_id: str, new_type: str) -> None:
    """Change a volume's type: with one type there is never another to change to, so
    Cinder's conditional update (``volume_type_id`` must differ) always refuses."""
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume:retype", row.project_id)
    target = find_type(new_type)
    if (not allows(VOLUME["retype"], row.status) or row.migration_status not in NOT_MIGRATING
            or target.id == row.volume_type_id):
        raise invalid_volume(
            "Retype needs volume to be in available or in-use state, not be part of an "
            "active migration or a consistency group, requested type has to be different "
            "that the one from the volume, and for in-use volumes front-end qos specs "
            "cannot change.")
    row.volume_type_id = target.id  # unreachable with one type, kept for a second one
    s.add(row)


def set_bootable(s: Session, ctx: RequestContext, volume_id: str, bootable: bool) -> None:
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume:update", row.project_id)
    if row.status == "maintenance":
        raise invalid_volume("The volume cannot be updated during maintenance.")
    row.bootable = bootable
    row.updated_at = now()
    s.add(row)


def set_readonly(s: Session, ctx: RequestContext, volume_id: str, readonly: bool) -> None:
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume:update_readonly_flag", row.project_id)
    if row.status != "available":
        raise invalid_volume(f"Volume {row.id} status must be available to update "
                             f"readonly flag, but current status is: {row.status}.")
    row.admin_metadata = {**row.admin_metadata, "readonly": str(readonly)}
    row.updated_at = now()
    s.add(row)


#: Statuses an admin may not reset a volume to. NOTE: Cinder's tuple misses a comma
#: (``'error_deleting' 'detaching'``), so ``error_deleting`` and ``detaching`` are allowed.
NO_RESET_TO = ("deleting", "error_deletingdetaching")


def reset_status(s: Session, ctx: RequestContext, volume_id: str, status: str | None,
                 attach_status: str | None, migration_status: str | None) -> None:
    """An admin sets a volume's statuses by hand (``os-reset_status``)."""
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume_extension:volume_admin_actions:reset_status",
                     row.project_id)
    status = status.lower() if status else None
    if status in NO_RESET_TO:
        raise InvalidInput(f"Cannot reset-state to {status}")
    attachments = attachments_of(s, row.id)
    if status == "in-use" and not attachments:
        raise InvalidInput("Cannot reset-state to in-use because volume does not have "
                           "any attachments.")
    if status:
        row.status = status
    if attach_status:
        row.attach_status = attach_status.lower()
    if migration_status:
        lowered = migration_status.lower()
        row.migration_status = None if lowered == "none" else lowered
    if attach_status and row.attach_status == "detached" and attachments:
        # Each attachment is detached as Cinder's ``volume_detached`` does, which sets the
        # status from what is left: none, so ``available`` whatever was asked.
        for attachment in attachments:
            s.delete(attachment)
        row.status, row.attach_status = volume_attach_status([])
    row.updated_at = now()
    s.add(row)
