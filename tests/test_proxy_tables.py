"""The proxies' policy table and request schemas against Nova's (``nova/policies/*.py`` and
``nova/api/openstack/compute/schemas/*.py`` of the release ``tests.nova_source`` reads)."""

from __future__ import annotations

import ast
import json

import pytest

from emulator.api.compute.schemas import schema_for
from emulator.api.microversion import APIVersion
from emulator.compute.policy import ANY, MEMBER, READER, Check
from emulator.compute.proxies.policy import RULES
from tests.nova_source import NovaSource, evaluate, source

#: The policy files of the proxy APIs.
FILES = ("security_groups", "floating_ips", "floating_ip_pools", "networks",
         "tenant_networks", "volumes")
#: Rules of those files for the server actions and views (other code checks them).
NOT_OURS = {"os_compute_api:os-security-groups:list", "os_compute_api:os-security-groups:add",
            "os_compute_api:os-security-groups:remove", "os_compute_api:os-floating-ips:add",
            "os_compute_api:os-floating-ips:remove"}
#: Nova's check strings by their name in ``nova.policies.base``.
CHECKS: dict[str, Check] = {"PROJECT_READER_OR_ADMIN": READER,
                            "PROJECT_MEMBER_OR_ADMIN": MEMBER, "RULE_ANY": ANY}


def novas_rules(source: NovaSource) -> dict[str, Check]:
    found: dict[str, Check] = {}
    for name in FILES:
        path = f"nova/policies/{name}.py"
        scope = source.constants(path)
        for node in ast.walk(source.tree(path)):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
                    "DocumentedRuleDefault"):
                given = {k.arg: k.value for k in node.keywords}
                check = given["check_str"]
                assert isinstance(check, ast.Attribute), ast.unparse(check)
                found[evaluate(given["name"], scope)] = CHECKS[check.attr]
    return found


def test_rules_are_novas() -> None:
    nova = {name: check for name, check in novas_rules(source()).items()
            if name not in NOT_OURS}
    assert RULES == nova


#: Our create schemas and Nova's (``schemas/<file>.py``, name).
CREATE_SCHEMAS = {
    "proxy_volume_create": ("volumes", "create"),
    "proxy_snapshot_create": ("snapshots", "create"),
    "security_group_create": ("security_groups", "create"),
    "security_group_update": ("security_groups", "update"),
    "security_group_rule_create": ("security_groups", "create_rules"),
    "floating_ip_create": ("floating_ips", "create"),
}


@pytest.mark.parametrize("ours", sorted(CREATE_SCHEMAS))
def test_request_schemas_are_novas(ours: str) -> None:
    """The proxies' body schemas are Nova's, keyword for keyword and in its order."""
    module, name = CREATE_SCHEMAS[ours]
    theirs = source().constants(f"nova/api/openstack/compute/schemas/{module}.py")[name]
    mine = schema_for(ours, APIVersion.parse("2.1"))
    assert json.dumps(mine) == json.dumps(theirs)
