"""Cinder's status rules as tables: which statuses an operation starts from, the status it
shows while it runs, and where it ends (``cinder/volume/api.py``'s conditional updates).

Every operation here completes at once: the interim status is what the answer to the
request shows (a new volume is ``creating`` in its create response), the final one what
the next request sees. A refusal is Cinder's 400 ``Invalid volume``/``Invalid snapshot``,
worded by the operation.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``final`` of an operation that returns the volume to the status it had.
PREVIOUS = "<previous>"
#: ``final`` of an operation that removes the resource.
GONE = "<gone>"


@dataclass(frozen=True)
class Transition:
    #: The statuses the operation may start from (empty: any).
    allowed: tuple[str, ...]
    #: The status while the operation runs (None: it shows none).
    interim: str | None
    #: The status it ends in (``PREVIOUS``, ``GONE``, or None: the status is unchanged).
    final: str | None


#: Volume operations by name.
VOLUME: dict[str, Transition] = {
    "create": Transition((), "creating", "available"),
    "delete": Transition(("available", "error", "error_restoring", "error_extending",
                          "error_managing"), "deleting", GONE),
    "force_delete": Transition((), "deleting", GONE),
    "extend": Transition(("available",), "extending", PREVIOUS),
    "extend_attached": Transition(("in-use",), "extending", PREVIOUS),
    "retype": Transition(("available", "in-use"), "retyping", PREVIOUS),
    # An attachment made without a connector reserves the volume (Nova's attach and
    # boot from volume start so); a multiattach volume may also be reserved in use.
    "reserve": Transition(("available", "downloading"), None, "reserved"),
    "reserve_multiattach": Transition(("available", "in-use", "downloading"), None,
                                      "reserved"),
    "snapshot": Transition(("available",), None, None),
    "snapshot_in_use": Transition(("available", "in-use"), None, None),
    "upload_to_image": Transition(("available", "in-use"), "uploading", PREVIOUS),
}

#: Snapshot operations by name.
SNAPSHOT: dict[str, Transition] = {
    "create": Transition((), "creating", "available"),
    "delete": Transition(("available", "error"), "deleting", GONE),
    # A snapshot a volume is created from must be available.
    "source": Transition(("available",), None, None),
}

#: ``os-update_snapshot_status``: the statuses a snapshot may be moved to, by status.
STATUS_UPDATES: dict[str, tuple[str, ...]] = {
    "creating": ("creating", "available", "error"),
    "deleting": ("deleting", "error_deleting"),
}

#: Migration statuses of a volume no migration is moving (Cinder's
#: ``AVAILABLE_MIGRATION_STATUS``).
NOT_MIGRATING = (None, "deleting", "error", "success")
#: A source volume (``source_volid``) must be in one of these to be cloned.
SOURCE_VOLUME_STATUSES = ("available", "in-use")

#: An attachment's status, by what the attachments API did last.
ATTACHMENT: dict[str, str] = {
    "create": "reserved",       # no connector yet
    "update": "attaching",      # a connector: connection info made
    "complete": "attached",     # os-complete (Nova, once the guest has the disk)
}

#: The volume's ``attach_status`` is the first of its attachments' statuses in this order
#: (Cinder sorts them alphabetically); no attachment is ``detached``.
ATTACH_STATUS_ORDER = ("attached", "attaching", "detaching", "reserved")
#: The volume status for an attach status (any other: the same word).
STATUS_FOR_ATTACH_STATUS = {"attached": "in-use", "detached": "available"}

#: Every volume status Cinder has (``VolumeStatus.ALL``): a list filter on another one
#: matches nothing, a reset to another one is refused.
VOLUME_STATUSES = (
    "creating", "available", "deleting", "error", "error_deleting", "error_managing",
    "managing", "attaching", "in-use", "detaching", "maintenance", "restoring-backup",
    "error_restoring", "reserved", "awaiting-transfer", "backing-up", "error_backing-up",
    "error_extending", "downloading", "uploading", "retyping", "extending",
)
#: Every snapshot status (``SnapshotStatus.ALL``).
SNAPSHOT_STATUSES = (
    "error", "available", "creating", "deleting", "deleted", "updating", "error_deleting",
    "unmanaging", "backing-up", "restoring",
)
#: Attach statuses (``VolumeAttachStatus.ALL``).
ATTACH_STATUSES = ("attached", "attaching", "detached", "reserved", "detaching",
                   "error_attaching", "error_detaching", "deleted")


def volume_attach_status(attachment_statuses: list[str]) -> tuple[str, str]:
    """(status, attach_status) of a volume with attachments in ``attachment_statuses``
    (Cinder's ``_get_statuses_from_attachments``; errored attachments do not count)."""
    present = [s for s in ATTACH_STATUS_ORDER if s in attachment_statuses]
    attach_status = present[0] if present else "detached"
    return STATUS_FOR_ATTACH_STATUS.get(attach_status, attach_status), attach_status


def allows(transition: Transition, status: str) -> bool:
    return not transition.allowed or status in transition.allowed


def or_list(statuses: tuple[str, ...]) -> str:
    """Cinder's ``build_or_str``: ``a or b or c``."""
    return " or ".join(statuses)
