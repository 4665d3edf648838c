"""The proxies' policy table against Nova's defaults (``nova/policies/*.py`` of the release
``tests.nova_source`` reads): every rule of the proxy APIs, with its check string."""

from __future__ import annotations

import ast

import pytest

from emulator.compute.policy import ANY, MEMBER, READER, Check
from emulator.compute.proxies.policy import RULES
from tests.nova_source import NovaSource, NovaSourceError, evaluate

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
    try:
        source = NovaSource.fetch()
    except NovaSourceError as error:
        pytest.skip(str(error))
    nova = {name: check for name, check in novas_rules(source).items()
            if name not in NOT_OURS}
    assert RULES == nova
