"""Server states: Nova's vm_state and task_state values, and the API status they show.

``status_of`` is Nova's ``status_from_state``: the status map below, row by vm_state,
with task_state overrides; anything unknown shows ``UNKNOWN``.
"""

from __future__ import annotations

from enum import StrEnum


class VmState(StrEnum):
    ACTIVE = "active"
    BUILDING = "building"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    RESCUED = "rescued"
    RESIZED = "resized"
    SOFT_DELETED = "soft-delete"
    DELETED = "deleted"
    ERROR = "error"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"


class TaskState(StrEnum):
    SCHEDULING = "scheduling"
    BLOCK_DEVICE_MAPPING = "block_device_mapping"
    NETWORKING = "networking"
    SPAWNING = "spawning"
    IMAGE_SNAPSHOT = "image_snapshot"
    IMAGE_SNAPSHOT_PENDING = "image_snapshot_pending"
    IMAGE_PENDING_UPLOAD = "image_pending_upload"
    IMAGE_UPLOADING = "image_uploading"
    IMAGE_BACKUP = "image_backup"
    UPDATING_PASSWORD = "updating_password"
    RESIZE_PREP = "resize_prep"
    RESIZE_MIGRATING = "resize_migrating"
    RESIZE_MIGRATED = "resize_migrated"
    RESIZE_FINISH = "resize_finish"
    RESIZE_REVERTING = "resize_reverting"
    RESIZE_CONFIRMING = "resize_confirming"
    REBOOTING = "rebooting"
    REBOOT_PENDING = "reboot_pending"
    REBOOT_STARTED = "reboot_started"
    REBOOTING_HARD = "rebooting_hard"
    REBOOT_PENDING_HARD = "reboot_pending_hard"
    REBOOT_STARTED_HARD = "reboot_started_hard"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    RESCUING = "rescuing"
    UNRESCUING = "unrescuing"
    REBUILDING = "rebuilding"
    REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
    REBUILD_SPAWNING = "rebuild_spawning"
    MIGRATING = "migrating"
    DELETING = "deleting"
    SOFT_DELETING = "soft-deleting"
    RESTORING = "restoring"
    SHELVING = "shelving"
    SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
    SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
    SHELVING_OFFLOADING = "shelving_offloading"
    UNSHELVING = "unshelving"


T = TaskState
_REBOOT = {T.REBOOTING: "REBOOT", T.REBOOT_PENDING: "REBOOT", T.REBOOT_STARTED: "REBOOT"}
_HARD_REBOOT = {T.REBOOTING_HARD: "HARD_REBOOT", T.REBOOT_PENDING_HARD: "HARD_REBOOT",
                T.REBOOT_STARTED_HARD: "HARD_REBOOT"}
_REBUILD = {T.REBUILDING: "REBUILD", T.REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
            T.REBUILD_SPAWNING: "REBUILD"}
_RESIZE = {T.RESIZE_PREP: "RESIZE", T.RESIZE_MIGRATING: "RESIZE",
           T.RESIZE_MIGRATED: "RESIZE", T.RESIZE_FINISH: "RESIZE"}

#: vm_state -> (default status, task_state overrides).
STATUS_MAP: dict[VmState, tuple[str, dict[TaskState, str]]] = {
    VmState.ACTIVE: ("ACTIVE", {**_REBOOT, **_HARD_REBOOT, **_REBUILD, **_RESIZE,
                                T.UPDATING_PASSWORD: "PASSWORD", T.MIGRATING: "MIGRATING"}),
    VmState.BUILDING: ("BUILD", {}),
    VmState.STOPPED: ("SHUTOFF", {**_RESIZE, **_REBUILD}),
    VmState.RESIZED: ("VERIFY_RESIZE", {T.RESIZE_REVERTING: "REVERT_RESIZE"}),
    VmState.PAUSED: ("PAUSED", {T.MIGRATING: "MIGRATING"}),
    VmState.SUSPENDED: ("SUSPENDED", {}),
    VmState.RESCUED: ("RESCUE", {}),
    VmState.ERROR: ("ERROR", {**_REBUILD}),
    VmState.DELETED: ("DELETED", {}),
    VmState.SOFT_DELETED: ("SOFT_DELETED", {}),
    VmState.SHELVED: ("SHELVED", {}),
    VmState.SHELVED_OFFLOADED: ("SHELVED_OFFLOADED", {}),
}

#: Every status the API can show (Tempest's schema enum).
STATUSES: frozenset[str] = frozenset(
    {"UNKNOWN"} | {default for default, _ in STATUS_MAP.values()}
    | {s for _, overrides in STATUS_MAP.values() for s in overrides.values()}
)


def status_of(vm_state: str, task_state: str | None) -> str:
    """The API status for a (vm_state, task_state) pair."""
    try:
        default, overrides = STATUS_MAP[VmState(vm_state)]
    except ValueError:
        return "UNKNOWN"
    if task_state is None:
        return default
    try:
        return overrides.get(TaskState(task_state), default)
    except ValueError:
        return default
