"""The server-action transition table, the status map and the policy table against Nova.

Every row of ``TRANSITIONS`` is read against Nova's own source (the release named in
``tests.nova_source``, fetched from PyPI): the API handler that serves the action (its 409
text, its policy rules), the compute API method(s) it calls (``check_instance_lock``,
``check_instance_host``, ``check_instance_state``, the interim task_state, the recorded
instance action) and the compute manager functions that finish it (the instance-action
event, the vm_state it ends in). Where the table knowingly differs from Nova, the
difference is listed in ``KNOWN_DIFFERENCES`` with the reason; any other difference, or a
listed one that is gone, fails. ``refusal`` is then checked over every (vm_state,
task_state, launched, host) combination against Nova's decorators.
"""

from __future__ import annotations

import ast
import itertools
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from backends.base import PowerState
from emulator.api.microversion import MAX_VERSION, MICROVERSIONS
from emulator.compute import policy
from emulator.compute.actions import ALLOW_REBOOT, TRANSITIONS, Transition, refusal
from emulator.compute.states import STATUS_MAP, TaskState, VmState, status_of
from tests.nova_source import (
    CACHE_ENV,
    NOVA_WHEEL,
    Function,
    NovaSource,
    NovaSourceError,
    body_nodes,
    cache_dir,
    called_name,
    calls_on,
    decorator_calls,
    evaluate,
    keywords,
    source,
    wheel,
)

SERVER = "8f1c3e0a-2b4d-4c6e-9a1b-3d5f7e9a1c2e"
TASK_STATES: list[TaskState | None] = [None, *TaskState]

API = "nova/compute/api.py"
MANAGER = "nova/compute/manager.py"
HANDLERS = "nova/api/openstack/compute/{}.py"
COMMON = "nova/api/openstack/common.py"


# -- where Nova implements each row ---------------------------------------------------------


class NovaPath(NamedTuple):
    """The Nova functions that carry one row, each reached from the one before."""

    #: Module under nova/api/openstack/compute/ and its functions serving the request.
    handler: tuple[str, tuple[str, ...]]
    #: compute API methods: the one the handler calls, then the helpers each calls in turn.
    api: tuple[str, ...] = ()
    #: compute manager functions, the first cast to by the API (or the conductor), each
    #: next one called or cast to by an earlier one.
    manager: tuple[str, ...] = ()


NOVA_PATHS: dict[str, NovaPath] = {
    "stop": NovaPath(("servers", ("_stop",)), ("stop", "force_stop"), ("stop_instance",)),
    "start": NovaPath(("servers", ("_start",)), ("start",), ("start_instance",)),
    "reboot_soft": NovaPath(("servers", ("_reboot",)), ("reboot", "_soft_reboot"),
                            ("reboot_instance", "_reboot_instance")),
    "reboot_hard": NovaPath(("servers", ("_reboot",)), ("reboot", "_hard_reboot"),
                            ("reboot_instance", "_reboot_instance")),
    "pause": NovaPath(("pause_server", ("_pause",)), ("pause",), ("pause_instance",)),
    "unpause": NovaPath(("pause_server", ("_unpause",)), ("unpause",), ("unpause_instance",)),
    "suspend": NovaPath(("suspend_server", ("_suspend",)), ("suspend",),
                        ("suspend_instance",)),
    "resume": NovaPath(("suspend_server", ("_resume",)), ("resume",), ("resume_instance",)),
    "change_password": NovaPath(("admin_password", ("change_password",)),
                                ("set_admin_password",), ("set_admin_password",)),
    "trigger_crash_dump": NovaPath(("servers", ("_trigger_crash_dump",)),
                                   ("trigger_crash_dump",), ("trigger_crash_dump",)),
    # through the conductor (rebuild_instance), which casts to the compute manager
    "rebuild": NovaPath(("servers", ("_rebuild",)), ("rebuild",),
                        ("rebuild_instance", "_do_rebuild_instance_with_claim",
                         "_do_rebuild_instance", "stop_instance")),
    # through the conductor (migrate_server, tasks/migrate.py), source then destination
    "resize": NovaPath(("servers", ("_resize",)), ("resize",),
                       ("prep_resize", "_do_prep_resize", "_prep_resize", "resize_instance",
                        "_resize_instance", "finish_resize", "_finish_resize_helper",
                        "_finish_resize")),
    # cold migration: resize with no flavor
    "migrate": NovaPath(("migrate_server", ("_migrate",)), ("resize",),
                        ("prep_resize", "_do_prep_resize", "_prep_resize", "resize_instance",
                         "_resize_instance", "finish_resize", "_finish_resize_helper",
                         "_finish_resize")),
    # through the conductor (live_migrate_instance), to the source's compute manager
    "live_migrate": NovaPath(("migrate_server", ("_migrate_live",)), ("live_migrate",),
                             ("live_migration", "_do_live_migration")),
    "live_migration_force_complete": NovaPath(
        ("server_migrations", ("_force_complete",)), ("live_migrate_force_complete",),
        ("live_migration_force_complete",)),
    "live_migration_abort": NovaPath(("server_migrations", ("delete",)),
                                     ("live_migrate_abort",), ("live_migration_abort",)),
    # through the conductor (rebuild_instance with recreate), on the destination
    "evacuate": NovaPath(("evacuate", ("_evacuate",)), ("evacuate",),
                         ("rebuild_instance", "_do_rebuild_instance_with_claim",
                          "_do_rebuild_instance", "stop_instance")),
    "evacuate_stopped": NovaPath(("evacuate", ("_evacuate",)), ("evacuate",),
                                 ("rebuild_instance", "_do_rebuild_instance_with_claim",
                                  "_do_rebuild_instance", "stop_instance")),
    "confirm_resize": NovaPath(("servers", ("_confirm_resize",)), ("confirm_resize",),
                               ("confirm_resize", "_confirm_resize")),
    "revert_resize": NovaPath(("servers", ("_revert_resize",)), ("revert_resize",),
                              ("revert_resize", "finish_revert_resize",
                               "_finish_revert_resize", "stop_instance")),
    "create_image": NovaPath(("servers", ("_create_image",)), ("snapshot",),
                             ("snapshot_instance", "_snapshot_instance")),
    "create_backup": NovaPath(("create_backup", ("_create_backup",)), ("backup",),
                              ("backup_instance", "_do_snapshot_instance")),
    "rescue": NovaPath(("rescue", ("_rescue",)), ("rescue",), ("rescue_instance",)),
    "unrescue": NovaPath(("rescue", ("_unrescue",)), ("unrescue",), ("unrescue_instance",)),
    "shelve": NovaPath(("shelve", ("_shelve",)), ("shelve",),
                       ("shelve_instance", "_shelve_instance")),
    "shelve_offload": NovaPath(("shelve", ("_shelve_offload",)), ("shelve_offload",),
                               ("shelve_offload_instance", "_shelve_offload_instance")),
    # through the conductor (unshelve_instance)
    "unshelve": NovaPath(("shelve", ("_unshelve",)), ("unshelve",),
                         ("unshelve_instance", "_unshelve_instance",
                          "_update_instance_after_spawn")),
    # DELETE /servers/{id} with reclaim_instance_interval > 0 (ServersController._delete)
    "soft_delete": NovaPath(("servers", ("delete", "_delete")),
                            ("soft_delete", "_delete", "_do_soft_delete"),
                            ("soft_delete_instance",)),
    "restore": NovaPath(("deferred_delete", ("_restore",)), ("restore",),
                        ("restore_instance",)),
    "lock": NovaPath(("lock_server", ("_lock",)), ("lock",)),
    "unlock": NovaPath(("lock_server", ("_unlock",)), ("unlock",)),
    # AdminActionsController._reset_state does it all itself.
    "reset_state": NovaPath(("admin_actions", ("_reset_state",))),
}


@dataclass(frozen=True)
class NovaRow:
    """What Nova's source says for one row."""

    #: The action in the API's 409 text (``raise_http_conflict_for_instance_invalid_state``);
    #: None when the handler raises none.
    name: str | None
    #: ``check_instance_state``'s arguments (defaults applied; no decorator: None, None, False).
    vm_states: frozenset[str] | None
    task_states: frozenset[str | None] | None
    launched: bool
    lock: bool
    host: bool
    #: ``check_instance_host(check_is_up=True)``: refused while the compute service is down.
    host_is_up: bool
    #: ``check_instance_host`` runs before ``check_instance_state`` (it is outside it).
    host_first: bool
    #: task_states the API sets (``instance.task_state = task_states.X``).
    interims: frozenset[str]
    #: Instance actions recorded (``_record_action_start`` / ``InstanceAction.action_start``).
    records: frozenset[str]
    #: Instance-action events (``wrap_instance_event(prefix=P)`` on functions of the path).
    events: frozenset[str]
    #: vm_states the manager functions of the path set.
    finals: frozenset[str]
    #: Policy rules the handler checks (``context.can``), the action's own first.
    rules: tuple[str, ...]


def _decorated(function: Function, nova: NovaSource) -> dict[str, Any]:
    """The guards of one compute API method, from its decorators."""
    scope = nova.constants(API)
    state = decorator_calls(function, "check_instance_state")
    host = decorator_calls(function, "check_instance_host")
    found: dict[str, Any] = {"lock": bool(decorator_calls(function, "check_instance_lock")),
                             "host": bool(host), "state": None, "host_is_up": False,
                             "host_first": False}
    if host:
        found["host_is_up"] = bool(keywords(host[0][1], scope).get("check_is_up", False))
    if state:
        kw = keywords(state[0][1], scope)
        vm, task = kw.get("vm_state"), kw.get("task_state", [None])
        found["state"] = (frozenset(vm) if vm is not None else None,
                          frozenset(task) if task is not None else None,
                          bool(kw.get("must_have_launched", True)))
        found["host_first"] = bool(host) and host[0][0] < state[0][0]
    return found


def _self_references(function: Function) -> set[str]:
    """Names reached as ``self.X`` or ``self.compute_rpcapi.X`` (a cast) in a body."""
    return {node.attr for node in body_nodes(function) if isinstance(node, ast.Attribute)
            and ((isinstance(node.value, ast.Name) and node.value.id == "self")
                 or (isinstance(node.value, ast.Attribute)
                     and node.value.attr == "compute_rpcapi"))}


def _set_to(function: Function, field: str) -> list[ast.expr]:
    """What a body sets ``<obj>.<field>`` or a local ``*<field>`` to, or passes as a
    ``<field>=`` argument; and the defaults of its own ``<field>`` parameter."""
    args = function.node.args
    values = [default for arg, default in zip(
        args.args[len(args.args) - len(args.defaults):], args.defaults, strict=True)
        if arg.arg == field]
    for node in body_nodes(function):
        if isinstance(node, ast.keyword):
            hit = node.arg == field
        elif isinstance(node, ast.Assign):
            hit = any((isinstance(t, ast.Attribute) and t.attr == field)
                      or (isinstance(t, ast.Name) and t.id.endswith(field))
                      for t in node.targets)
        else:
            continue
        if hit:
            values.append(node.value)
    return values


def _states_in(values: list[ast.expr], module: str, scope: Mapping[str, Any]) -> set[str]:
    """The ``<module>.X`` constants (vm_states, task_states) found in ``values``."""
    return {scope[module][n.attr] for value in values for n in ast.walk(value)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == module}


def _events(function: Function, prefix_scope: dict[str, Any]) -> set[str]:
    """``<prefix>_<name>`` of the function and of functions nested in it, for each
    ``wrap_instance_event(prefix=...)``."""
    found = set()
    nested = [function.node, *[n for n in body_nodes(function)
                               if isinstance(n, ast.FunctionDef)]]
    for node in nested:
        for _, deco in decorator_calls(Function(function.path, node), "wrap_instance_event"):
            found.add(f"{keywords(deco, prefix_scope)['prefix']}_{node.name}")
    return found


def conductor_casts(nova: NovaSource) -> set[str]:
    """Compute manager methods the conductor casts to (``self.compute_rpcapi.X(...)``)."""
    return {node.func.attr for module in nova.names()
            if module.startswith("nova/conductor/") and module.endswith(".py")
            for node in ast.walk(nova.tree(module))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "compute_rpcapi"}


def read_row(nova: NovaSource, key: str) -> NovaRow:
    """Read one row's facts along its ``NOVA_PATHS`` entry, checking each step is reached."""
    path = NOVA_PATHS[key]
    module, names = path.handler
    handlers = [nova.function(HANDLERS.format(module), name) for name in names]
    handler_scope = nova.constants(HANDLERS.format(module))
    api = nova.functions(API, "API")
    manager = nova.functions(MANAGER, "ComputeManager")
    scope = nova.constants(API)

    # Each step is reached: the handler calls the first API method, an earlier API method
    # refers to each next one, the API (or the conductor) casts to the first manager
    # function, an earlier manager function calls or casts to each next one.
    api_steps = [api[name] for name in path.api]
    if api_steps:
        called = {called_name(c) for h in handlers for c in calls_on(h, "compute_api")}
        assert path.api[0] in called, (key, called)
    manager_steps = [manager[name] for name in path.manager]
    if manager_steps:
        cast = {called_name(c) for f in api_steps for c in calls_on(f, "compute_rpcapi")}
        if not any(calls_on(f, "compute_task_api") for f in api_steps):
            assert path.manager[0] in cast, (key, cast)
        else:  # the API casts to the conductor, or straight to the compute manager
            assert path.manager[0] in cast | conductor_casts(nova), key
    for steps in (api_steps, manager_steps):
        for index, step in enumerate(steps[1:], start=1):
            reached = set().union(*(_self_references(f) for f in steps[:index]))
            assert step.name in reached, (key, step.name)

    guards = [_decorated(f, nova) for f in api_steps]
    states = [g["state"] for g in guards if g["state"] is not None]
    assert len(states) <= 1, key
    vm, task, launched = states[0] if states else (None, None, False)
    conflicts = {evaluate(c.args[1], handler_scope) for h in handlers
                 for c in calls_on(h, "common")
                 if called_name(c) == "raise_http_conflict_for_instance_invalid_state"}
    assert len(conflicts) <= 1, (key, conflicts)
    bodies = [*handlers, *api_steps]
    records = {evaluate(arg, scope) for f in bodies for node in body_nodes(f)
               if isinstance(node, ast.Call)
               and called_name(node) in ("_record_action_start", "action_start")
               for arg in node.args
               if isinstance(arg, ast.Attribute) and ast.unparse(arg.value) == "instance_actions"}
    return NovaRow(
        name=next(iter(conflicts), None),
        vm_states=vm, task_states=task, launched=launched,
        lock=any(g["lock"] for g in guards), host=any(g["host"] for g in guards),
        host_is_up=any(g["host_is_up"] for g in guards),
        host_first=any(g["host_first"] for g in guards),
        # a helper handed its task_state by its caller shows it in the caller
        interims=frozenset(_states_in([v for f in bodies for v in _set_to(f, "task_state")],
                                      "task_states", scope)),
        records=frozenset(records),
        events=frozenset(set().union(*(_events(f, {}) for f in [*api_steps, *manager_steps]))),
        finals=frozenset(_states_in([v for f in manager_steps for v in _set_to(f, "vm_state")],
                                    "vm_states", scope)),
        rules=tuple(evaluate(c.args[0], handler_scope) for h in handlers
                    for c in body_nodes(h) if isinstance(c, ast.Call)
                    and isinstance(c.func, ast.Attribute) and c.func.attr == "can"
                    and isinstance(c.func.value, ast.Name)),  # context.can(RULE, ...)
    )


def _event(transition: Transition) -> str | None:
    if transition.event is not None:
        return transition.event
    return f"compute_{transition.verb}" if transition.verb is not None else None


def differences(row: Transition, fact: NovaRow) -> dict[str, tuple[Any, Any]]:
    """fact -> (Nova's, the row's), for each fact in which the row is not Nova's."""
    recorded = row.record or row.name
    state_checked = (fact.vm_states, fact.task_states, fact.launched) != (None, None, False)
    both: dict[str, tuple[Any, Any]] = {
        # without a 409 of its own, an action is known by the instance action it records
        "name": (fact.name if fact.name is not None else recorded, row.name),
        "vm_states": (fact.vm_states, row.vm_states),
        "task_states": (fact.task_states, row.task_states),
        "must_have_launched": (fact.launched, row.must_have_launched),
        "lock_checked": (fact.lock, row.lock_checked),
        "host_checked": (fact.host, row.host_checked),
        "host_check_is_up": (fact.host_is_up, row.host_must_be_up),
        "host_before_state": (fact.host_first or not fact.host or not state_checked,
                              row.host_checked_first or not row.host_checked
                              or not state_checked),
        "interim": (fact.interims, frozenset({row.interim} - {None})),
    }
    found = {name: pair for name, pair in both.items() if pair[0] != pair[1]}
    if recorded not in fact.records:
        found["record"] = (sorted(fact.records), recorded)
    event = _event(row)
    if (event is None) != (not fact.events) or (event is not None and event not in fact.events):
        found["event"] = (sorted(fact.events), event)
    ends = {row.final, *row.returns_to} - {None}
    if fact.finals:
        if not ends or not ends <= fact.finals:
            found["final"] = (sorted(fact.finals), sorted(ends))
    elif ends and row.vm_states != ends:  # Nova leaves the vm_state; so may the row
        found["final"] = ([], sorted(ends))
    return found


#: Row -> the facts in which it knowingly differs from Nova, and why. Fixing the row makes
#: ``test_row_is_novas`` fail until its entry here goes.
KNOWN_DIFFERENCES: dict[str, dict[str, str]] = {
    # ServersController.delete answers Cannot 'delete' ...; the row's name never shows:
    # its only refusal (launched_at) is taken first by the emulator's delete.
    "soft_delete": {"name": "the row is named for the compute API method (soft_delete)"},
}


@pytest.mark.parametrize("key", sorted(TRANSITIONS))
def test_row_is_novas(key: str) -> None:
    found = differences(TRANSITIONS[key], read_row(source(), key))
    assert set(found) == set(KNOWN_DIFFERENCES.get(key, {})), found


def test_every_row_has_a_nova_path() -> None:
    assert set(NOVA_PATHS) == set(TRANSITIONS)


#: Actions whose handler checks one rule or another by the request (``migrate`` and
#: ``os-migrateLive`` with a host: the ``:host`` rule): the row names the one without.
BRANCHED_RULES = frozenset({"migrate", "live_migrate"})


def test_row_policy_rules_exist() -> None:
    """Each action's handler checks rules our policy table holds (its own rule first)."""
    for key in TRANSITIONS:
        rules = read_row(source(), key).rules
        assert rules, key
        for rule in rules:
            assert rule in policy.RULES, (key, rule)
        if key in BRANCHED_RULES:
            assert TRANSITIONS[key].rule in rules, key
        else:
            assert TRANSITIONS[key].rule == rules[0], key


# -- facts that are not in a decorator, asserted from the source by hand ---------------------


def test_soft_delete_falls_back_to_delete() -> None:
    """ServersController._delete: with reclaim_instance_interval, ``soft_delete`` is tried
    and a server it refuses (never launched) is deleted outright, as our delete does."""
    nova = source()
    handler = nova.function(HANDLERS.format("servers"), "_delete")
    (attempt,) = [n for n in body_nodes(handler) if isinstance(n, ast.Try)]
    assert [called_name(c) for s in attempt.body for c in ast.walk(s)
            if isinstance(c, ast.Call)] == ["soft_delete"]
    (fallback,) = attempt.handlers
    assert fallback.type is not None and ast.unparse(fallback.type) == \
        "exception.InstanceInvalidState"
    assert [called_name(c) for s in fallback.body for c in ast.walk(s)
            if isinstance(c, ast.Call)] == ["delete"]


def test_reset_state_targets() -> None:
    """AdminActionsController._reset_state: vm_state from {'active', 'error'}, task_state
    cleared, no state checks (the row has none: vm, task None; no lock, launched)."""
    nova = source()
    handler = nova.function(HANDLERS.format("admin_actions"), "_reset_state")
    scope = nova.constants(HANDLERS.format("admin_actions"))
    (targets,) = [n.value for n in body_nodes(handler)
                  if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Dict)]
    assert evaluate(targets, scope) == {"active": "active", "error": "error"}
    row = TRANSITIONS["reset_state"]
    assert (row.vm_states, row.task_states, row.final) == (None, None, None)


def test_allow_reboot_is_novas() -> None:
    nova = source()
    assert ALLOW_REBOOT == frozenset(nova.constants("nova/compute/task_states.py")["ALLOW_REBOOT"])
    assert TRANSITIONS["reboot_hard"].task_states is ALLOW_REBOOT


def test_states_are_novas() -> None:
    nova = source()
    fields = nova.constants("nova/objects/fields.py")
    assert {str(s) for s in VmState} == set(fields["InstanceState"]["ALL"])
    assert {str(s) for s in TaskState} == set(fields["InstanceTaskState"]["ALL"])


def test_power_states_are_novas() -> None:
    """nova/compute/power_state.py: each is its name's index in InstancePowerState.ALL."""
    nova = source()
    power = nova.constants("nova/objects/fields.py")["InstancePowerState"]
    for state in PowerState:
        assert power["ALL"].index(power[state.name]) == state.value, state


def test_max_microversion_is_novas() -> None:
    nova = source()
    scope = nova.constants("nova/api/openstack/api_version_request.py")
    assert str(MAX_VERSION) == scope["_MAX_API_VERSION"]
    history = nova.text("nova/api/openstack/api_version_request.py")
    documented = {line.split()[1] for line in history.splitlines()
                  if line.lstrip().startswith("* 2.")}
    assert {version for version, _ in MICROVERSIONS} == documented | {"2.1"}


# -- the status map and the policy table ----------------------------------------------------


def nova_state_map(nova: NovaSource) -> dict[str, dict[str | None, str]]:
    return dict(nova.constants(COMMON)["_STATE_MAP"])


def test_status_map_is_novas() -> None:
    nova = source()
    ours = {str(vm): {"default": default, **{str(t): s for t, s in overrides.items()}}
            for vm, (default, overrides) in STATUS_MAP.items()}
    assert ours == nova_state_map(nova)


@pytest.mark.parametrize("key", sorted(TRANSITIONS))
def test_statuses_on_the_way_are_novas(key: str) -> None:
    """Nova's status_from_state for every state a row passes through."""
    state_map = nova_state_map(source())

    def nova_status(vm_state: str, task_state: str | None) -> str:
        task_map = state_map.get(vm_state, {"default": "UNKNOWN"})
        return task_map.get(task_state, task_map["default"])

    row = TRANSITIONS[key]
    for vm_state in row.vm_states or VmState:
        for task in (row.interim, *row.steps):
            assert status_of(vm_state, task) == nova_status(vm_state, task), (vm_state, task)
        end = row.final or vm_state
        assert status_of(end, None) == nova_status(end, None)


#: Nova's default check strings (nova/policies/base.py) -> our checks.
POLICY_CHECKS = {
    "rule:context_is_admin": policy.ADMIN,
    "rule:project_reader_or_admin": policy.READER,
    "rule:project_member_or_admin": policy.MEMBER,
    "rule:project_manager_or_admin": policy.MANAGER,
    "rule:service_or_admin": policy.SERVICE,
    "@": policy.ANY,
    "(rule:context_is_admin) or user_id:%(user_id)s": policy.KP_OWNER,
}


def nova_policies(nova: NovaSource) -> dict[str, str]:
    """Rule name -> default check string, from every ``nova/policies`` module."""
    found = {}
    modules = [name for name in nova.names() if name.startswith("nova/policies/")
               and name.endswith(".py")]
    for module in modules:
        scope = nova.constants(module)
        for node in ast.walk(nova.tree(module)):
            if isinstance(node, ast.Call) and called_name(node) in (
                    "DocumentedRuleDefault", "RuleDefault"):
                kw = {k.arg: k.value for k in node.keywords}
                name = kw.get("name", node.args[0] if node.args else None)
                check = kw.get("check_str", node.args[1] if len(node.args) > 1 else None)
                assert name is not None and check is not None, ast.unparse(node)
                found[evaluate(name, scope)] = evaluate(check, scope)
    return found


def test_policy_rules_are_novas() -> None:
    nova = source()
    defaults = nova_policies(nova)
    for rule, check in policy.RULES.items():
        assert rule in defaults, rule
        assert defaults[rule] in POLICY_CHECKS, (rule, defaults[rule])
        assert check is POLICY_CHECKS[defaults[rule]], (rule, defaults[rule])


# -- refusal() over every combination -------------------------------------------------------


def nova_refusal(fact: NovaRow, name: str, vm_state: str, task_state: str | None,
                 launched: bool, has_host: bool) -> str | None:
    """``check_instance_host`` and ``check_instance_state`` in the order Nova stacks them,
    the first that fails worded by ``raise_http_conflict_for_instance_invalid_state``."""
    invalid = f"Cannot '{name}' instance {SERVER} while it is in"
    state = [
        (fact.vm_states is None or vm_state in fact.vm_states, f"{invalid} vm_state {vm_state}"),
        (fact.task_states is None or task_state in fact.task_states,
         f"{invalid} task_state {task_state}"),
        # launched_at is None, so the API falls back to its generic text.
        (not fact.launched or launched, f"Instance {SERVER} is in an invalid state for '{name}'"),
    ]
    host = [(not fact.host or has_host, f"Instance {SERVER} is not ready")]
    checks = [*host, *state] if fact.host_first else [*state, *host]
    return next((message for passed, message in checks if not passed), None)


@pytest.mark.parametrize("key", sorted(TRANSITIONS))
def test_refusal_over_every_state(key: str) -> None:
    """As Nova refuses, but for the known differences (which ``test_row_is_novas`` pins)."""
    row, fact = TRANSITIONS[key], read_row(source(), key)
    name = fact.name or row.name
    if "name" in KNOWN_DIFFERENCES.get(key, {}):
        name = row.name
    accepted = 0
    for vm_state, task_state, launched, has_host in itertools.product(
            VmState, TASK_STATES, (True, False), (True, False)):
        got = refusal(row, SERVER, vm_state, task_state, launched, has_host=has_host)
        want = nova_refusal(fact, name, vm_state, task_state, launched, has_host)
        assert got == want, (vm_state, task_state, launched, has_host)
        accepted += got is None
    assert accepted > 0


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
    # check_instance_host(check_is_up=True): after the states, for a hosted server
    migrate = TRANSITIONS["migrate"]
    assert refusal(migrate, SERVER, "active", None, True, host_up=False) == \
        "Service is unavailable at this time."
    assert refusal(migrate, SERVER, "paused", None, True, host_up=False) == \
        f"Cannot 'migrate' instance {SERVER} while it is in vm_state paused"
    assert refusal(TRANSITIONS["stop"], SERVER, "active", None, True, host_up=False) is None


# -- the table's own consistency ------------------------------------------------------------


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


def test_end_power_states() -> None:
    """What the virt driver reports after each verb (the manager saves
    ``_get_power_state``): not in Nova's API, so stated here."""
    assert {k: TRANSITIONS[k].power for k in ("stop", "pause", "suspend", "start")} == {
        "stop": PowerState.SHUTDOWN, "pause": PowerState.PAUSED,
        "suspend": PowerState.SUSPENDED, "start": PowerState.RUNNING}


# -- the source itself ----------------------------------------------------------------------


def test_source_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_ENV)
    assert cache_dir() == tmp_path / "xdg" / "nova-emulator" / "nova"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "nova-emulator" / "nova"


def _fake_pip(monkeypatch: pytest.MonkeyPatch, returncode: int, content: bytes | None,
              stderr: str = "") -> None:
    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        if content is not None:
            (Path(command[command.index("--dest") + 1]) / NOVA_WHEEL).write_bytes(content)
        return subprocess.CompletedProcess(command, returncode, "", stderr)

    monkeypatch.setattr(subprocess, "run", run)


def test_a_failed_download_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _fake_pip(monkeypatch, 1, None, "ERROR: No matching distribution found for nova")
    with pytest.raises(NovaSourceError, match=r"(?s)cannot download Nova .* from PyPI"
                                              r".*No matching distribution"):
        wheel()


def test_a_wrong_file_is_not_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    _fake_pip(monkeypatch, 0, b"not nova")
    with pytest.raises(NovaSourceError, match="SHA-256"):
        wheel()
    assert list(tmp_path.iterdir()) == []
