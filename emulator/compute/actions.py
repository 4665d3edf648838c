"""Server actions, driven by one transition table.

Each row says, for one action: the vm_states and task_states it is accepted from (Nova's
``check_instance_state``), whether a locked server refuses it (``check_instance_lock``),
the task_state shown while it runs, the backend verb that carries it out, and the
vm_state and power state it ends in. ``accept`` applies the guards in Nova's order
(lock, vm_state, task_state, launched_at) and commits the interim state; ``Lifecycle``
runs the verb and commits the end state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    #: The policy rule that must allow the caller on the server (Nova's default policy).
    rule: str
    vm_states: frozenset[VmState] | None
    task_states: frozenset[TaskState | None] | None = IDLE
    interim: TaskState | None = None
    #: Backend coroutine to run; None: nothing runs below the seam.
    verb: str | None = None
    #: End state; None keeps the vm_state (and the power state) as it was.
    final: VmState | None = None
    power: PowerState | None = None
    #: The "previous state" notion: vm_states the action ends in again (with that power
    #: state) when the server was in one when the action, or the resize it finishes,
    #: began (``Instance.old_vm_state``); from any other it ends in ``final``/``power``.
    returns_to: Mapping[VmState, PowerState] = field(default_factory=dict)
    #: Record the vm_state at the start in ``Instance.old_vm_state`` (for ``returns_to``).
    remembers: bool = False
    #: Further task_states the server passes through, in order, before the verb runs.
    steps: tuple[TaskState, ...] = ()
    lock_checked: bool = True
    must_have_launched: bool = True
    #: The instance-action name when it is not ``name`` (a soft delete records ``delete``).
    record: str | None = None
    #: Schedule first (claim a host through the scheduler) when the instance has none.
    schedules: bool = False
    #: The end state releases the host claim (host and node become None).
    releases_host: bool = False
    #: Key of a transition that follows on success without its guards (its interim is
    #: committed with this one's end state); ``Lifecycle`` may decline it (by config).
    then: str | None = None
    #: Nova's ``check_instance_host``: refused (409, not ready) while the server has no host.
    host_checked: bool = False
    #: Whether that check comes before the vm_state/task_state checks (the decorators'
    #: order on Nova's method; ``resize`` checks its states first).
    host_checked_first: bool = True
    #: ``check_instance_host(check_is_up=True)``: refused (409) too while the host's
    #: compute service is down.
    host_must_be_up: bool = False
    #: The instance action event Nova records (``compute_<manager method>`` or
    #: ``api_<method>``); None: ``compute_<verb>``, or no event for an API-only action.
    event: str | None = None


def _row(name: str, rule: str, vm_states: set[VmState] | None, **kw: object) -> Transition:
    return Transition(name, f"os_compute_api:{rule}",
                      frozenset(vm_states) if vm_states is not None else None,
                      **kw)  # type: ignore[arg-type]


#: The transition table. Keys are ours; ``name`` is what Nova calls the action; then the
#: policy rule of the action (without its ``os_compute_api:`` prefix).
TRANSITIONS: dict[str, Transition] = {
    "stop": _row("stop", "servers:stop", {V.ACTIVE, V.ERROR},
                 interim=T.POWERING_OFF, verb="power_off", final=V.STOPPED, power=P.SHUTDOWN,
                 host_checked=True, event="compute_stop_instance"),
    "start": _row("start", "servers:start", {V.STOPPED},
                  interim=T.POWERING_ON, verb="power_on", final=V.ACTIVE, power=P.RUNNING,
                  host_checked=True, event="compute_start_instance"),
    "reboot_soft": _row("reboot", "servers:reboot", {V.ACTIVE},
                        interim=T.REBOOTING, verb="reboot_soft", final=V.ACTIVE,
                        power=P.RUNNING, event="compute_reboot_instance"),
    "reboot_hard": _row("reboot", "servers:reboot",
                        {V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED, V.ERROR},
                        task_states=ALLOW_REBOOT, interim=T.REBOOTING_HARD,
                        verb="reboot_hard", final=V.ACTIVE, power=P.RUNNING,
                        event="compute_reboot_instance"),
    "pause": _row("pause", "os-pause-server:pause", {V.ACTIVE},
                  interim=T.PAUSING, verb="pause", final=V.PAUSED, power=P.PAUSED,
                  event="compute_pause_instance"),
    "unpause": _row("unpause", "os-pause-server:unpause", {V.PAUSED},
                    interim=T.UNPAUSING, verb="unpause", final=V.ACTIVE, power=P.RUNNING,
                    event="compute_unpause_instance"),
    "suspend": _row("suspend", "os-suspend-server:suspend", {V.ACTIVE},
                    interim=T.SUSPENDING, verb="suspend", final=V.SUSPENDED,
                    power=P.SUSPENDED, event="compute_suspend_instance"),
    "resume": _row("resume", "os-suspend-server:resume", {V.SUSPENDED},
                   interim=T.RESUMING, verb="resume", final=V.ACTIVE, power=P.RUNNING,
                   event="compute_resume_instance"),
    "change_password": _row("changePassword", "os-admin-password", {V.ACTIVE},
                            interim=T.UPDATING_PASSWORD, verb="set_admin_password",
                            final=V.ACTIVE),
    "trigger_crash_dump": _row("trigger_crash_dump", "servers:trigger_crash_dump",
                               {V.ACTIVE, V.PAUSED, V.RESCUED, V.RESIZED, V.ERROR},
                               verb="trigger_crash_dump", host_checked=True),
    "rebuild": _row("rebuild", "servers:rebuild", {V.ACTIVE, V.STOPPED, V.ERROR},
                    interim=T.REBUILDING,
                    steps=(T.REBUILD_BLOCK_DEVICE_MAPPING, T.REBUILD_SPAWNING),
                    verb="rebuild", final=V.ACTIVE, power=P.RUNNING,
                    returns_to={V.STOPPED: P.SHUTDOWN}, remembers=True,
                    event="compute_rebuild_instance"),
    "resize": _row("resize", "servers:resize", {V.ACTIVE, V.STOPPED},
                   interim=T.RESIZE_PREP,
                   steps=(T.RESIZE_MIGRATING, T.RESIZE_MIGRATED, T.RESIZE_FINISH),
                   verb="resize", final=V.RESIZED, remembers=True, host_checked=True,
                   host_checked_first=False, host_must_be_up=True,
                   event="compute_resize_instance"),
    # A cold migration is a resize to the same flavor on another host (Nova's ``resize``
    # with no flavor): the same states, recorded as ``migrate``.
    "migrate": _row("migrate", "os-migrate-server:migrate", {V.ACTIVE, V.STOPPED},
                    interim=T.RESIZE_PREP,
                    steps=(T.RESIZE_MIGRATING, T.RESIZE_MIGRATED, T.RESIZE_FINISH),
                    verb="resize", final=V.RESIZED, remembers=True, host_checked=True,
                    host_checked_first=False, host_must_be_up=True,
                    event="compute_resize_instance"),
    # The guest keeps its vm_state and power state across a live migration.
    "live_migrate": _row("os-migrateLive", "os-migrate-server:migrate_live",
                         {V.ACTIVE, V.PAUSED}, interim=T.MIGRATING, verb="live_migrate",
                         record="live-migration", event="compute_live_migration"),
    # force_complete and abort act on the live migration under way (verb None: the
    # domain calls the backend beside the migration's own task).
    "live_migration_force_complete": _row(
        "force_complete", "servers:migrations:force_complete", {V.ACTIVE},
        task_states=frozenset({T.MIGRATING}), record="live_migration_force_complete",
        event="compute_live_migration_force_complete"),
    "live_migration_abort": _row(
        "abort live migration", "servers:migrations:delete", None,
        task_states=frozenset({T.MIGRATING}), record="live_migration_cancel",
        event="compute_live_migration_abort"),
    # NOTE: Nova does not lock-check an evacuation. Up to 2.94 a stopped server is
    # rebuilt stopped, any other one runs; from 2.95 every one ends stopped.
    "evacuate": _row("evacuate", "os-evacuate", {V.ACTIVE, V.STOPPED, V.ERROR},
                     task_states=ANY_TASK, interim=T.REBUILDING,
                     steps=(T.REBUILD_BLOCK_DEVICE_MAPPING, T.REBUILD_SPAWNING),
                     verb="evacuate", final=V.ACTIVE, power=P.RUNNING,
                     returns_to={V.STOPPED: P.SHUTDOWN}, remembers=True, lock_checked=False,
                     event="compute_rebuild_instance"),
    "evacuate_stopped": _row("evacuate", "os-evacuate", {V.ACTIVE, V.STOPPED, V.ERROR},
                             task_states=ANY_TASK, interim=T.REBUILDING,
                             steps=(T.REBUILD_BLOCK_DEVICE_MAPPING, T.REBUILD_SPAWNING),
                             verb="evacuate", final=V.STOPPED, power=P.SHUTDOWN,
                             remembers=True, lock_checked=False, record="evacuate",
                             event="compute_rebuild_instance"),
    # NOTE: Nova's confirm sets no task_state; the server shows VERIFY_RESIZE until done.
    "confirm_resize": _row("confirmResize", "servers:confirm_resize", {V.RESIZED},
                           verb="confirm_resize", final=V.ACTIVE, power=P.RUNNING,
                           returns_to={V.STOPPED: P.SHUTDOWN},
                           event="compute_confirm_resize"),
    "revert_resize": _row("revertResize", "servers:revert_resize", {V.RESIZED},
                          interim=T.RESIZE_REVERTING, verb="revert_resize", final=V.ACTIVE,
                          power=P.RUNNING, returns_to={V.STOPPED: P.SHUTDOWN},
                          event="compute_revert_resize"),
    # NOTE: Nova does not lock-check snapshots and backups ("lock is intended to prevent
    # accidental change/delete of instances").
    "create_image": _row("createImage", "servers:create_image",
                         {V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED},
                         interim=T.IMAGE_SNAPSHOT_PENDING,
                         steps=(T.IMAGE_SNAPSHOT, T.IMAGE_PENDING_UPLOAD, T.IMAGE_UPLOADING),
                         verb="snapshot", lock_checked=False,
                         event="compute_snapshot_instance"),
    "create_backup": _row("createBackup", "os-create-backup",
                          {V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED},
                          interim=T.IMAGE_BACKUP, verb="snapshot", lock_checked=False,
                          event="compute_backup_instance"),
    "rescue": _row("rescue", "os-rescue", {V.ACTIVE, V.STOPPED, V.ERROR},
                   interim=T.RESCUING, verb="rescue", final=V.RESCUED, power=P.RUNNING,
                   event="compute_rescue_instance"),
    "unrescue": _row("unrescue", "os-unrescue", {V.RESCUED},
                     interim=T.UNRESCUING, verb="unrescue", final=V.ACTIVE, power=P.RUNNING,
                     event="compute_unrescue_instance"),
    # With ``shelved_offload_time`` 0 (Nova's default) a shelve goes straight on to the
    # offload: vm_state shelved with task_state shelving_offloading, then offloaded.
    "shelve": _row("shelve", "os-shelve:shelve", {V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED},
                   interim=T.SHELVING,
                   steps=(T.SHELVING_IMAGE_PENDING_UPLOAD, T.SHELVING_IMAGE_UPLOADING),
                   verb="shelve", final=V.SHELVED, power=P.SHUTDOWN, then="shelve_offload",
                   event="compute_shelve_instance"),
    "shelve_offload": _row("shelveOffload", "os-shelve:shelve_offload", {V.SHELVED},
                           interim=T.SHELVING_OFFLOADING, verb="shelve_offload",
                           final=V.SHELVED_OFFLOADED, power=P.SHUTDOWN, releases_host=True,
                           event="compute_shelve_offload_instance"),
    "unshelve": _row("unshelve", "os-shelve:unshelve", {V.SHELVED, V.SHELVED_OFFLOADED},
                     interim=T.UNSHELVING, steps=(T.SPAWNING,), verb="unshelve",
                     final=V.ACTIVE, power=P.RUNNING, schedules=True,
                     event="compute_unshelve_instance"),
    # DELETE with ``reclaim_instance_interval`` > 0 (any vm_state and task_state, but
    # launched: a server never launched is deleted outright).
    "soft_delete": _row("soft_delete", "servers:delete", None,
                        task_states=ANY_TASK, interim=T.SOFT_DELETING, verb="soft_delete",
                        final=V.SOFT_DELETED, power=P.SHUTDOWN, record="delete",
                        event="compute_soft_delete_instance"),
    "restore": _row("restore", "os-deferred-delete:restore", {V.SOFT_DELETED},
                    interim=T.RESTORING, verb="restore", final=V.ACTIVE, power=P.RUNNING,
                    event="compute_restore_instance"),
    "lock": _row("lock", "os-lock-server:lock", None,
                 task_states=ANY_TASK, lock_checked=False, must_have_launched=False,
                 event="api_lock"),
    "unlock": _row("unlock", "os-lock-server:unlock", None,
                   task_states=ANY_TASK, lock_checked=False, must_have_launched=False,
                   event="api_unlock"),
    "reset_state": _row("resetState", "os-admin-actions:reset_state", None,
                        task_states=ANY_TASK, lock_checked=False, must_have_launched=False),
}


#: Nova's ``ServiceUnavailable`` (the server's compute service is down).
SERVICE_UNAVAILABLE = "Service is unavailable at this time."


def refusal(transition: Transition, server_id: str, vm_state: str, task_state: str | None,
            launched: bool, has_host: bool = True, host_up: bool = True) -> str | None:
    """Nova's 409 text when ``transition`` may not start from this state, else None."""
    name = transition.name
    not_ready = transition.host_checked and not has_host
    host_down = transition.host_must_be_up and has_host and not host_up
    if transition.host_checked_first and (not_ready or host_down):
        return f"Instance {server_id} is not ready" if not_ready else SERVICE_UNAVAILABLE
    if transition.vm_states is not None and vm_state not in transition.vm_states:
        return f"Cannot '{name}' instance {server_id} while it is in vm_state {vm_state}"
    if transition.task_states is not None and task_state not in transition.task_states:
        return f"Cannot '{name}' instance {server_id} while it is in task_state {task_state}"
    if transition.must_have_launched and not launched:
        # NOTE: Nova's message loses the attribute when the state is None.
        return f"Instance {server_id} is in an invalid state for '{name}'"
    if not_ready:
        return f"Instance {server_id} is not ready"
    if host_down:
        return SERVICE_UNAVAILABLE
    return None
