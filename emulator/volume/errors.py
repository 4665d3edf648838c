"""The block storage domain's own errors, beyond the shared ones (``emulator.errors``), and
the helpers that word the shared ones as Cinder's exceptions do."""

from __future__ import annotations

from emulator.errors import EmulatorError, InvalidInput, NotFound


class QuotaExceeded(EmulatorError):
    """Cinder's ``QuotaError`` family: a 413 with ``Retry-After: 0``. Cinder lets these
    through to its fault wrapper, which shows them as ``<ExceptionName>: <message>``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")


def invalid_input(reason: str) -> InvalidInput:
    return InvalidInput(f"Invalid input received: {reason}")


def invalid_volume(reason: str) -> InvalidInput:
    return InvalidInput(f"Invalid volume: {reason}")


def invalid_snapshot(reason: str) -> InvalidInput:
    return InvalidInput(f"Invalid snapshot: {reason}")


def volume_not_found(volume_id: str) -> NotFound:
    return NotFound(f"Volume {volume_id} could not be found.")


def snapshot_not_found(snapshot_id: str) -> NotFound:
    return NotFound(f"Snapshot {snapshot_id} could not be found.")


def attachment_not_found(attachment_id: str) -> NotFound:
    return NotFound("Volume attachment could not be found with filter: "
                    f"attachment_id = {attachment_id}.")
