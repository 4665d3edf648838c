"""The policy rule column of the transition table: Nova's rule for each action (from
nova/policies/*.py), and one the policy table knows (an unknown rule would be a 500)."""

from __future__ import annotations

from emulator.compute.actions import TRANSITIONS
from emulator.compute.policy import RULES

#: Row key -> Nova's policy name (without ``os_compute_api:``).
NOVA_RULES = {
    "stop": "servers:stop", "start": "servers:start",
    "reboot_soft": "servers:reboot", "reboot_hard": "servers:reboot",
    "pause": "os-pause-server:pause", "unpause": "os-pause-server:unpause",
    "suspend": "os-suspend-server:suspend", "resume": "os-suspend-server:resume",
    "change_password": "os-admin-password",
    "trigger_crash_dump": "servers:trigger_crash_dump",
    "rebuild": "servers:rebuild", "resize": "servers:resize",
    "confirm_resize": "servers:confirm_resize", "revert_resize": "servers:revert_resize",
    "create_image": "servers:create_image", "create_backup": "os-create-backup",
    "rescue": "os-rescue", "unrescue": "os-unrescue",
    "shelve": "os-shelve:shelve", "shelve_offload": "os-shelve:shelve_offload",
    "unshelve": "os-shelve:unshelve",
    # A delete with reclaim_instance_interval > 0 is a soft delete: the same rule.
    "soft_delete": "servers:delete", "restore": "os-deferred-delete:restore",
    "lock": "os-lock-server:lock", "unlock": "os-lock-server:unlock",
    "reset_state": "os-admin-actions:reset_state",
    # the moves: a host named in the request checks the ``:host`` rule beside this one
    "migrate": "os-migrate-server:migrate", "live_migrate": "os-migrate-server:migrate_live",
    "live_migration_force_complete": "servers:migrations:force_complete",
    "live_migration_abort": "servers:migrations:delete",
    "evacuate": "os-evacuate", "evacuate_stopped": "os-evacuate",
}


def test_each_row_has_novas_rule() -> None:
    assert {key: row.rule for key, row in TRANSITIONS.items()} == {
        key: f"os_compute_api:{rule}" for key, rule in NOVA_RULES.items()}


def test_each_rule_is_in_the_policy_table() -> None:
    assert {row.rule for row in TRANSITIONS.values()} <= set(RULES)
