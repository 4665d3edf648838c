"""Server actions, driven by one transition table.

Each row says, for one action: the vm_states and task_states it is accepted from (Nova's
``check_instance_state``), whether a locked server refuses it (``check_instance_lock``),
the task_state shown while it runs, the backend verb that carries it out, and the
vm_state and power state it ends in. ``accept`` applies the guards in Nova's order
(lock, vm_state, task_state, launched_at) and commits the interim state; ``Lifecycle``
runs the verb and commits the end state.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.base import PowerState
from emulator.compute.states import TaskState, VmState

V, T, P = VmState, TaskState, PowerState

ANY_TASK: frozenset[TaskState | None] | None = None
IDLE: frozenset[TaskState | None] = frozenset({None})
#: Nova's ``task_states.ALLOW_REBOOT``: a hard reboot may interrupt these.
ALLOW_REBOOT: frozenset[TaskState | None] = frozenset({
    None, T.REBOOTING, T.REBOOT_PENDING, T.REBOOT_STARTED, T.RESUMING, T.REBOOTING_HARD,
    T.UNPAUSING, T.PAUSING, T.SUSPENDING,
})


@dataclass(frozen=True)
class Transition:
    """One row of the table (see the module docstring)."""

    #: The action's name in Nova's 409 text and in ``os-instance-actions``.
    name: str
    vm_states: frozenset[VmState] | None
    task_states: frozenset[TaskState | None] | None = IDLE
    interim: TaskState | None = None
    #: Backend coroutine to run; None: nothing runs below the seam.
    verb: str | None = None
    #: End state; None keeps the vm_state (and the power state) as it was.
    final: VmState | None = None
    power: PowerState | None = None
    lock_checked: bool = True
    must_have_launched: bool = True


def _row(name: str, vm_states: set[VmState] | None, **kw: object) -> Transition:
    return Transition(name, frozenset(vm_states) if vm_states is not None else None,
                      **kw)  # type: ignore[arg-type]


#: The transition table. Keys are ours; ``name`` is what Nova calls the action.
TRANSITIONS: dict[str, Transition] = {
    "stop": _row("stop", {V.ACTIVE, V.ERROR}, interim=T.POWERING_OFF, verb="power_off",
                 final=V.STOPPED, power=P.SHUTDOWN),
    "start": _row("start", {V.STOPPED}, interim=T.POWERING_ON, verb="power_on",
                  final=V.ACTIVE, power=P.RUNNING),
    "reboot_soft": _row("reboot", {V.ACTIVE}, interim=T.REBOOTING, verb="reboot_soft",
                        final=V.ACTIVE, power=P.RUNNING),
    "reboot_hard": _row("reboot", {V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED, V.ERROR},
                        task_states=ALLOW_REBOOT, interim=T.REBOOTING_HARD,
                        verb="reboot_hard", final=V.ACTIVE, power=P.RUNNING),
    "pause": _row("pause", {V.ACTIVE}, interim=T.PAUSING, verb="pause", final=V.PAUSED,
                  power=P.PAUSED),
    "unpause": _row("unpause", {V.PAUSED}, interim=T.UNPAUSING, verb="unpause",
                    final=V.ACTIVE, power=P.RUNNING),
    "suspend": _row("suspend", {V.ACTIVE}, interim=T.SUSPENDING, verb="suspend",
                    final=V.SUSPENDED, power=P.SUSPENDED),
    "resume": _row("resume", {V.SUSPENDED}, interim=T.RESUMING, verb="resume",
                   final=V.ACTIVE, power=P.RUNNING),
    "change_password": _row("changePassword", {V.ACTIVE}, interim=T.UPDATING_PASSWORD,
                            verb="set_admin_password", final=V.ACTIVE),
    "trigger_crash_dump": _row("trigger_crash_dump",
                               {V.ACTIVE, V.PAUSED, V.RESCUED, V.RESIZED, V.ERROR},
                               verb="trigger_crash_dump"),
    "lock": _row("lock", None, task_states=ANY_TASK, lock_checked=False,
                 must_have_launched=False),
    "unlock": _row("unlock", None, task_states=ANY_TASK, lock_checked=False,
                   must_have_launched=False),
    "reset_state": _row("resetState", None, task_states=ANY_TASK, lock_checked=False,
                        must_have_launched=False),
}


def refusal(transition: Transition, server_id: str, vm_state: str, task_state: str | None,
            launched: bool) -> str | None:
    """Nova's 409 text when ``transition`` may not start from this state, else None."""
    name = transition.name
    if transition.vm_states is not None and vm_state not in transition.vm_states:
        return f"Cannot '{name}' instance {server_id} while it is in vm_state {vm_state}"
    if transition.task_states is not None and task_state not in transition.task_states:
        return f"Cannot '{name}' instance {server_id} while it is in task_state {task_state}"
    if transition.must_have_launched and not launched:
        # NOTE: Nova's message loses the attribute when the state is None.
        return f"Instance {server_id} is in an invalid state for '{name}'"
    return None
