"""QEMU's run states and events, as Nova power states (literal tables).

``RUN_STATES`` answers ``query-status``; ``EVENTS`` says what an event means for the power
state, ``None`` where it depends on more than the event (ask ``query-status`` again).
Nova's libvirt driver is the model: whatever QEMU holds stopped for a reason of its own
(migration, I/O error, debugger) is PAUSED, as libvirt reports it. A process that is gone
has no run state at all; the backend above decides what that means (SHUTDOWN for a
stopped server, SUSPENDED for one saved to a file, NOSTATE otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping

from backends.base import PowerState

#: ``query-status`` -> power state, for every RunState of QEMU 7.2's QAPI schema.
RUN_STATES: Mapping[str, PowerState] = {
    "running": PowerState.RUNNING,
    "paused": PowerState.PAUSED,            # `stop`, or restored from a file paused
    "prelaunch": PowerState.PAUSED,         # started with -S, not yet `cont`
    "inmigrate": PowerState.PAUSED,         # -incoming: waiting for the migration stream
    "postmigrate": PowerState.PAUSED,       # the source after a completed migration
    "finish-migrate": PowerState.PAUSED,    # the source's last stop-and-copy phase
    "restore-vm": PowerState.PAUSED,        # loadvm in progress
    "save-vm": PowerState.PAUSED,           # savevm in progress
    "debug": PowerState.PAUSED,             # stopped by the gdbstub
    "io-error": PowerState.PAUSED,          # a disk failed with werror=stop
    "watchdog": PowerState.PAUSED,          # watchdog fired with action pause
    "colo": PowerState.PAUSED,              # COLO fault tolerance checkpoint
    "shutdown": PowerState.SHUTDOWN,        # the guest powered off (-no-shutdown keeps us)
    "suspended": PowerState.SUSPENDED,      # the guest is in ACPI S3 (libvirt: pmsuspended)
    "guest-panicked": PowerState.CRASHED,   # pvpanic / hyper-v crash, action pause
    "internal-error": PowerState.CRASHED,   # TCG/KVM hit an error it cannot go on from
}

#: QMP event -> the power state it leaves the guest in; None: query the status again.
EVENTS: Mapping[str, PowerState | None] = {
    "STOP": PowerState.PAUSED,
    "RESUME": PowerState.RUNNING,
    "SHUTDOWN": PowerState.SHUTDOWN,        # guest power-off, or `quit` (then the process ends)
    "SUSPEND": PowerState.SUSPENDED,        # guest entered S3
    "WAKEUP": PowerState.RUNNING,           # guest left S3
    "SUSPEND_DISK": PowerState.SHUTDOWN,    # guest hibernated (S4); QEMU exits
    "GUEST_PANICKED": PowerState.CRASHED,
    "GUEST_CRASHLOADED": PowerState.RUNNING,  # panicked into a kdump kernel: still runs
    "RESET": None,                          # runs on if it ran; from shutdown: paused
    "POWERDOWN": None,                      # the ACPI button was pressed; the guest decides
    "WATCHDOG": None,                       # depends on the watchdog action
    "BLOCK_IO_ERROR": None,                 # pauses only with werror/rerror=stop
    "MIGRATION": None,                      # see the migration status in the event
    "DEVICE_DELETED": None,                 # a hot-unplug finished: no power change
}


def power_state(run_state: str) -> PowerState:
    """The power state of a ``query-status`` run state (NOSTATE for one we do not know)."""
    return RUN_STATES.get(run_state, PowerState.NOSTATE)


def after_event(event: str) -> PowerState | None:
    """The power state ``event`` leaves the guest in; None when unknown or not implied."""
    return EVENTS.get(event)
