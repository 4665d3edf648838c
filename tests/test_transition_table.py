"""The server-action transition table against Nova.

Three things are checked: ``refusal`` answers every (row, vm_state, task_state, launched,
host) combination exactly as Nova's decorators would (``check_instance_host``, then
``check_instance_state``: vm_state, task_state, launched_at, in that order, with the API's
409 text); the rows hold Nova's facts (transcribed below from nova/compute/api.py,
vm_states.py, task_states.py, instance_actions.py and the manager's event names, and, when
a Nova checkout is at hand, read from its source); and every state an action passes
through shows the status Nova's ``_STATE_MAP`` gives it.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backends.base import PowerState
from emulator.compute.actions import ALLOW_REBOOT, TRANSITIONS, Transition, refusal
from emulator.compute.states import TaskState, VmState, status_of

SERVER = "8f1c3e0a-2b4d-4c6e-9a1b-3d5f7e9a1c2e"
TASK_STATES: list[TaskState | None] = [None, *TaskState]


@dataclass(frozen=True)
class Fact:
    """What Nova does for one action (compute API decorators, API name, manager event)."""

    name: str
    vm_states: frozenset[str] | None
    task_states: frozenset[str | None] | None
    lock: bool
    host: bool
    launched: bool
    interim: str | None
    final: str | None
    power: int | None
    event: str | None


def _fact(name: str, vm: set[str] | None, task: set[str | None] | None = None, *,
          lock: bool = True, host: bool = False, launched: bool = True,
          interim: str | None = None, final: str | None = None, power: int | None = None,
          event: str | None = None, idle: bool = True) -> Fact:
    tasks = frozenset(task) if task is not None else (frozenset({None}) if idle else None)
    return Fact(name, frozenset(vm) if vm is not None else None, tasks, lock, host, launched,
                interim, final, power, event)


#: task_states.ALLOW_REBOOT
NOVA_ALLOW_REBOOT = {None, "rebooting", "reboot_pending", "reboot_started", "resuming",
                     "rebooting_hard", "unpausing", "pausing", "suspending"}
#: vm_states.ALLOW_SOFT_REBOOT, ALLOW_HARD_REBOOT, ALLOW_TRIGGER_CRASH_DUMP
NOVA_SOFT = {"active"}
NOVA_HARD = NOVA_SOFT | {"stopped", "paused", "suspended", "error"}
NOVA_CRASH_DUMP = {"active", "paused", "rescued", "resized", "error"}

#: Row key -> Nova. Power states are nova.compute.power_state (RUNNING 1, PAUSED 3,
#: SHUTDOWN 4, SUSPENDED 7); events are ``compute_<manager method>`` or ``api_<method>``.
NOVA: dict[str, Fact] = {
    # @check_instance_lock @check_instance_host() @check_instance_state(vm_state=[ACTIVE, ERROR])
    "stop": _fact("stop", {"active", "error"}, host=True, interim="powering-off",
                  final="stopped", power=4, event="compute_stop_instance"),
    # @check_instance_lock @check_instance_host() @check_instance_state(vm_state=[STOPPED])
    "start": _fact("start", {"stopped"}, host=True, interim="powering-on", final="active",
                   power=1, event="compute_start_instance"),
    # reboot: @check_instance_lock; _soft_reboot: vm ALLOW_SOFT_REBOOT, task [None]
    "reboot_soft": _fact("reboot", NOVA_SOFT, interim="rebooting", final="active", power=1,
                         event="compute_reboot_instance"),
    # _hard_reboot: vm ALLOW_HARD_REBOOT, task ALLOW_REBOOT
    "reboot_hard": _fact("reboot", NOVA_HARD, NOVA_ALLOW_REBOOT, interim="rebooting_hard",
                         final="active", power=1, event="compute_reboot_instance"),
    "pause": _fact("pause", {"active"}, interim="pausing", final="paused", power=3,
                   event="compute_pause_instance"),
    "unpause": _fact("unpause", {"paused"}, interim="unpausing", final="active", power=1,
                     event="compute_unpause_instance"),
    "suspend": _fact("suspend", {"active"}, interim="suspending", final="suspended", power=7,
                     event="compute_suspend_instance"),
    "resume": _fact("resume", {"suspended"}, interim="resuming", final="active", power=1,
                    event="compute_resume_instance"),
    # set_admin_password: @check_instance_lock @check_instance_state(vm_state=[ACTIVE]);
    # task_state updating_password; the power state is left alone.
    "change_password": _fact("changePassword", {"active"}, interim="updating_password",
                             final="active", event="compute_set_admin_password"),
    # @check_instance_lock @check_instance_host() vm ALLOW_TRIGGER_CRASH_DUMP; no task state
    "trigger_crash_dump": _fact("trigger_crash_dump", NOVA_CRASH_DUMP, host=True,
                                event="compute_trigger_crash_dump"),
    # lock/unlock: no decorators; the API records an ``api_`` event.
    "lock": _fact("lock", None, lock=False, launched=False, idle=False, event="api_lock"),
    "unlock": _fact("unlock", None, lock=False, launched=False, idle=False,
                    event="api_unlock"),
    # os-resetState (admin_actions): no checks, sets vm_state, clears the task state.
    "reset_state": _fact("resetState", None, lock=False, launched=False, idle=False),
}


def nova_refusal(fact: Fact, vm_state: str, task_state: str | None, launched: bool,
                 has_host: bool) -> str | None:
    """check_instance_host + check_instance_state + raise_http_conflict_..._invalid_state."""
    if fact.host and not has_host:
        return f"Instance {SERVER} is not ready"
    if fact.vm_states is not None and vm_state not in fact.vm_states:
        return f"Cannot '{fact.name}' instance {SERVER} while it is in vm_state {vm_state}"
    if fact.task_states is not None and task_state not in fact.task_states:
        return f"Cannot '{fact.name}' instance {SERVER} while it is in task_state {task_state}"
    if fact.launched and not launched:
        # launched_at is None, so the API falls back to its generic text.
        return f"Instance {SERVER} is in an invalid state for '{fact.name}'"
    return None


def _event(transition: Transition) -> str | None:
    if transition.event is not None:
        return transition.event
    return f"compute_{transition.verb}" if transition.verb is not None else None


# -- the rows are Nova's -------------------------------------------------------------------


def test_every_power_action_row_is_covered() -> None:
    assert set(NOVA) <= set(TRANSITIONS)


@pytest.mark.parametrize("key", sorted(NOVA))
def test_row_matches_nova(key: str) -> None:
    row, fact = TRANSITIONS[key], NOVA[key]
    assert row.name == fact.name
    assert row.vm_states == fact.vm_states
    assert row.task_states == fact.task_states
    assert row.lock_checked is fact.lock
    assert row.host_checked is fact.host
    assert row.must_have_launched is fact.launched
    assert row.interim == fact.interim
    assert row.final == fact.final
    assert (int(row.power) if row.power is not None else None) == fact.power
    assert _event(row) == fact.event


def test_allow_reboot_is_novas() -> None:
    assert ALLOW_REBOOT == NOVA_ALLOW_REBOOT
    assert TRANSITIONS["reboot_hard"].task_states is ALLOW_REBOOT


def test_row_states_are_known_states() -> None:
    for row in TRANSITIONS.values():
        for vm in row.vm_states or ():
            assert VmState(vm) == vm
        for task in row.task_states or ():
            assert task is None or TaskState(task) == task
        assert row.interim is None or TaskState(row.interim) == row.interim
        assert row.final is None or VmState(row.final) == row.final


def test_verbs_exist_on_the_backend_interface() -> None:
    from backends.base import ComputeBackend

    for row in TRANSITIONS.values():
        if row.verb is not None:
            assert callable(getattr(ComputeBackend, row.verb, None)), row.verb


# -- refusal() over every combination -------------------------------------------------------


@pytest.mark.parametrize("key", sorted(NOVA))
def test_refusal_over_every_state(key: str) -> None:
    row, fact = TRANSITIONS[key], NOVA[key]
    accepted = 0
    for vm_state, task_state, launched, has_host in itertools.product(
            VmState, TASK_STATES, (True, False), (True, False)):
        got = refusal(row, SERVER, vm_state, task_state, launched, has_host=has_host)
        want = nova_refusal(fact, vm_state, task_state, launched, has_host)
        assert got == want, (vm_state, task_state, launched, has_host)
        accepted += got is None
    assert accepted > 0


@pytest.mark.parametrize("key", sorted(TRANSITIONS))
def test_every_row_refuses_exactly_outside_its_guards(key: str) -> None:
    """Rows added by others too: accepted exactly when the row's own sets allow it."""
    row = TRANSITIONS[key]
    for vm_state, task_state, launched, has_host in itertools.product(
            VmState, TASK_STATES, (True, False), (True, False)):
        allowed = ((not row.host_checked or has_host)
                   and (row.vm_states is None or vm_state in row.vm_states)
                   and (row.task_states is None or task_state in row.task_states)
                   and (not row.must_have_launched or launched))
        got = refusal(row, SERVER, vm_state, task_state, launched, has_host=has_host)
        assert (got is None) is allowed, (vm_state, task_state, launched, has_host)
        if got is not None:
            assert SERVER in got


@pytest.mark.parametrize("vm_state, task_state, launched, has_host, text", [
    # vm_state is checked before task_state, task_state before launched_at.
    ("stopped", "powering-on", False, True, "while it is in vm_state stopped"),
    ("active", "powering-off", False, True, "while it is in task_state powering-off"),
    ("active", None, False, True, "is in an invalid state for 'stop'"),
    # the host before everything
    ("building", "scheduling", False, False, "is not ready"),
])
def test_refusal_order(vm_state: str, task_state: str | None, launched: bool, has_host: bool,
                       text: str) -> None:
    got = refusal(TRANSITIONS["stop"], SERVER, vm_state, task_state, launched,
                  has_host=has_host)
    assert got is not None and text in got


def test_refusal_texts_are_novas() -> None:
    stop, reboot = TRANSITIONS["stop"], TRANSITIONS["reboot_hard"]
    assert refusal(stop, SERVER, "stopped", None, True) == \
        f"Cannot 'stop' instance {SERVER} while it is in vm_state stopped"
    assert refusal(reboot, SERVER, "active", "powering-off", True) == \
        f"Cannot 'reboot' instance {SERVER} while it is in task_state powering-off"
    assert refusal(TRANSITIONS["reboot_soft"], SERVER, "active", "rebooting", True) == \
        f"Cannot 'reboot' instance {SERVER} while it is in task_state rebooting"
    assert refusal(reboot, SERVER, "active", "rebooting", True) is None
    assert refusal(TRANSITIONS["start"], SERVER, "stopped", None, True, has_host=False) == \
        f"Instance {SERVER} is not ready"
    assert refusal(TRANSITIONS["pause"], SERVER, "active", None, True, has_host=False) is None


# -- statuses on the way ------------------------------------------------------------------


#: (row, from vm_state) -> (status while it runs, status after), as Nova's _STATE_MAP.
STATUS_PATHS = {
    ("stop", "active"): ("ACTIVE", "SHUTOFF"),
    ("stop", "error"): ("ERROR", "SHUTOFF"),
    ("start", "stopped"): ("SHUTOFF", "ACTIVE"),
    ("reboot_soft", "active"): ("REBOOT", "ACTIVE"),
    ("reboot_hard", "active"): ("HARD_REBOOT", "ACTIVE"),
    ("reboot_hard", "stopped"): ("SHUTOFF", "ACTIVE"),
    ("reboot_hard", "paused"): ("PAUSED", "ACTIVE"),
    ("reboot_hard", "suspended"): ("SUSPENDED", "ACTIVE"),
    ("reboot_hard", "error"): ("ERROR", "ACTIVE"),
    ("pause", "active"): ("ACTIVE", "PAUSED"),
    ("unpause", "paused"): ("PAUSED", "ACTIVE"),
    ("suspend", "active"): ("ACTIVE", "SUSPENDED"),
    ("resume", "suspended"): ("SUSPENDED", "ACTIVE"),
    ("change_password", "active"): ("PASSWORD", "ACTIVE"),
    ("trigger_crash_dump", "active"): ("ACTIVE", "ACTIVE"),
    ("trigger_crash_dump", "paused"): ("PAUSED", "PAUSED"),
    ("trigger_crash_dump", "rescued"): ("RESCUE", "RESCUE"),
    ("trigger_crash_dump", "resized"): ("VERIFY_RESIZE", "VERIFY_RESIZE"),
    ("trigger_crash_dump", "error"): ("ERROR", "ERROR"),
}


def test_status_paths_cover_every_allowed_state() -> None:
    for key in NOVA:
        row = TRANSITIONS[key]
        if row.vm_states is None:
            continue
        for vm_state in row.vm_states:
            assert (key, vm_state) in STATUS_PATHS, (key, vm_state)


@pytest.mark.parametrize("key, vm_state", sorted(STATUS_PATHS))
def test_statuses_on_the_way(key: str, vm_state: str) -> None:
    row = TRANSITIONS[key]
    during, after = STATUS_PATHS[(key, vm_state)]
    assert status_of(vm_state, row.interim) == during
    assert status_of(row.final or vm_state, None) == after


@pytest.mark.parametrize("task_state, status", [
    ("rebooting", "REBOOT"), ("rebooting_hard", "HARD_REBOOT"), ("powering-off", "ACTIVE"),
    ("pausing", "ACTIVE"), ("unpausing", "ACTIVE"), ("suspending", "ACTIVE"),
    ("resuming", "ACTIVE"), ("updating_password", "PASSWORD"), ("powering-on", "ACTIVE"),
])
def test_interim_task_states_under_active(task_state: str, status: str) -> None:
    assert status_of("active", task_state) == status


def test_end_power_states() -> None:
    assert {k: TRANSITIONS[k].power for k in ("stop", "pause", "suspend", "start")} == {
        "stop": PowerState.SHUTDOWN, "pause": PowerState.PAUSED,
        "suspend": PowerState.SUSPENDED, "start": PowerState.RUNNING}
    assert (int(PowerState.RUNNING), int(PowerState.PAUSED), int(PowerState.SHUTDOWN),
            int(PowerState.SUSPENDED)) == (1, 3, 4, 7)


# -- read from Nova's own source, when a checkout is here -----------------------------------

NOVA_REPO = Path("/work/.mirror/openstack+nova/repo")


def _nova_source(path: str) -> str:
    if not NOVA_REPO.exists():
        pytest.skip("no Nova checkout")
    done = subprocess.run(["git", "-C", str(NOVA_REPO), "show", f"HEAD:{path}"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot read {path} from the Nova checkout")
    return done.stdout


def _evaluate(node: ast.expr, names: dict[str, Any]) -> Any:
    """The few expression forms Nova's state modules and decorators use."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in names:
            scope = names[node.value.id]
            if isinstance(scope, dict):
                return scope[node.attr]
        return names["__fields__"](node.attr)  # fields.InstanceState.X / InstanceTaskState.X
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_evaluate(e, names) for e in node.elts]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return list(_evaluate(node.left, names)) + list(_evaluate(node.right, names))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id in ("set", "list", "frozenset"):
        return list(_evaluate(node.args[0], names))
    raise ValueError(ast.dump(node))


def _module_names(source: str, enum: type[VmState] | type[TaskState]) -> dict[str, Any]:
    names: dict[str, Any] = {"__fields__": lambda attr: enum[attr].value}
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name):
            with contextlib.suppress(KeyError, ValueError):
                names[stmt.targets[0].id] = _evaluate(stmt.value, names)
    return names


def _decorators() -> dict[str, dict[str, Any]]:
    vm_names = _module_names(_nova_source("nova/compute/vm_states.py"), VmState)
    task_names = _module_names(_nova_source("nova/compute/task_states.py"), TaskState)
    scope = {"vm_states": vm_names, "task_states": task_names, "None": None}
    api = ast.parse(_nova_source("nova/compute/api.py"))
    found: dict[str, dict[str, Any]] = {}
    for cls in api.body:
        if not (isinstance(cls, ast.ClassDef) and cls.name == "API"):
            continue
        for fn in cls.body:
            if not isinstance(fn, ast.FunctionDef):
                continue
            info: dict[str, Any] = {"lock": False, "host": False, "state": None}
            for deco in fn.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                name = target.id if isinstance(target, ast.Name) else ""
                if name == "check_instance_lock":
                    info["lock"] = True
                elif name == "check_instance_host":
                    info["host"] = True
                elif name == "check_instance_state" and isinstance(deco, ast.Call):
                    kw = {k.arg: _evaluate(k.value, scope) for k in deco.keywords}
                    info["state"] = kw
            found[fn.name] = info
    return found


#: Row key -> the compute API method(s) whose decorators guard it.
NOVA_METHODS = {
    "stop": ("stop",), "start": ("start",), "reboot_soft": ("reboot", "_soft_reboot"),
    "reboot_hard": ("reboot", "_hard_reboot"), "pause": ("pause",), "unpause": ("unpause",),
    "suspend": ("suspend",), "resume": ("resume",), "change_password": ("set_admin_password",),
    "trigger_crash_dump": ("trigger_crash_dump",), "lock": ("lock",), "unlock": ("unlock",),
}


@pytest.mark.parametrize("key", sorted(NOVA_METHODS))
def test_row_matches_novas_source(key: str) -> None:
    decorators = _decorators()
    row = TRANSITIONS[key]
    infos = [decorators[m] for m in NOVA_METHODS[key]]
    assert row.lock_checked is any(i["lock"] for i in infos)
    assert row.host_checked is any(i["host"] for i in infos)
    states = [i["state"] for i in infos if i["state"] is not None]
    if not states:
        assert row.vm_states is None and row.task_states is None
        assert not row.must_have_launched
        return
    (kw,) = states
    vm = kw.get("vm_state")
    assert row.vm_states == (frozenset(vm) if vm is not None else None)
    task = kw.get("task_state", [None])
    assert row.task_states == (frozenset(task) if task is not None else None)
    assert row.must_have_launched is kw.get("must_have_launched", True)


def test_instance_action_names_are_novas() -> None:
    source = _nova_source("nova/compute/instance_actions.py")
    names = {v for v in _module_names(source, VmState).values() if isinstance(v, str)}
    for row in TRANSITIONS.values():
        if row.name in {t.name for k, t in TRANSITIONS.items() if k in NOVA}:
            assert row.name in names, row.name
