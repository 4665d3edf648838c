"""The status map: every (vm_state, task_state) pair against Nova's documented statuses."""

from __future__ import annotations

import itertools

import pytest

from emulator.compute.states import STATUS_MAP, STATUSES, TaskState, VmState, status_of


@pytest.mark.parametrize("vm_state, task_state, status", [
    ("active", None, "ACTIVE"),
    ("active", "rebooting", "REBOOT"),
    ("active", "reboot_started_hard", "HARD_REBOOT"),
    ("active", "updating_password", "PASSWORD"),
    ("active", "rebuild_spawning", "REBUILD"),
    ("active", "migrating", "MIGRATING"),
    ("active", "resize_finish", "RESIZE"),
    ("active", "powering-off", "ACTIVE"),
    ("active", "image_snapshot", "ACTIVE"),
    ("building", "scheduling", "BUILD"),
    ("building", "spawning", "BUILD"),
    ("stopped", None, "SHUTOFF"),
    ("stopped", "resize_prep", "RESIZE"),
    ("stopped", "rebuilding", "REBUILD"),
    ("stopped", "powering-on", "SHUTOFF"),
    ("resized", None, "VERIFY_RESIZE"),
    ("resized", "resize_reverting", "REVERT_RESIZE"),
    ("resized", "resize_confirming", "VERIFY_RESIZE"),
    ("paused", "migrating", "MIGRATING"),
    ("suspended", None, "SUSPENDED"),
    ("rescued", "unrescuing", "RESCUE"),
    ("error", None, "ERROR"),
    ("error", "rebuilding", "REBUILD"),
    ("deleted", None, "DELETED"),
    ("soft-delete", "restoring", "SOFT_DELETED"),
    ("shelved", "shelving_offloading", "SHELVED"),
    ("shelved_offloaded", "unshelving", "SHELVED_OFFLOADED"),
    ("no-such-state", None, "UNKNOWN"),
])
def test_status_of(vm_state: str, task_state: str | None, status: str) -> None:
    assert status_of(vm_state, task_state) == status


def test_every_pair_maps_to_a_known_status() -> None:
    for vm_state, task_state in itertools.product(VmState, [None, *TaskState]):
        assert status_of(vm_state, task_state) in STATUSES


def test_every_vm_state_has_a_row() -> None:
    assert set(STATUS_MAP) == set(VmState)


def test_statuses_are_novas_enum() -> None:
    assert STATUSES == {
        "ACTIVE", "BUILD", "DELETED", "ERROR", "HARD_REBOOT", "MIGRATING", "PASSWORD",
        "PAUSED", "REBOOT", "REBUILD", "RESCUE", "RESIZE", "REVERT_RESIZE", "SHELVED",
        "SHELVED_OFFLOADED", "SHUTOFF", "SOFT_DELETED", "SUSPENDED", "UNKNOWN", "VERIFY_RESIZE",
    }
