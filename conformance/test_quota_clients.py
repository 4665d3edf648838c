"""Quotas and limits through real clients: the ``openstack`` CLI (``quota show``, ``quota
set``, ``quota show --default``, ``limits show --absolute/--rate``) and openstacksdk's
``get_limits`` and quota calls, in a project of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.cli import openstack_json, run_openstack
from conformance.test_quotas import Tenant, image_id, project, tenant

__all__ = ["image_id", "project", "tenant"]  # fixtures this module uses


def _by_name(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``openstack ... -f json`` tables as ``{Name/Resource: Value/Limit}``."""
    table: dict[str, Any] = {}
    for row in rows:
        key = row.get("Name", row.get("Resource"))
        table[str(key)] = row.get("Value", row.get("Limit"))
    return table


def test_cli_quota_set_and_show(tenant: Tenant) -> None:
    admin, user = tenant.admin.account, tenant.user.account
    done = run_openstack(admin, "quota", "set", "--instances", "5", "--cores", "10", "--ram",
                         "4096", "--key-pairs", "3", "--server-groups", "4",
                         tenant.project_id)
    assert done.returncode == 0, done.stderr
    shown = _by_name(openstack_json(user, "quota", "show"))
    assert (shown["instances"], shown["cores"], shown["ram"], shown["key-pairs"],
            shown["server-groups"]) == (5, 10, 4096, 3, 4)
    default = _by_name(openstack_json(user, "quota", "show", "--default"))
    assert (default["instances"], default["cores"], default["ram"]) == (10, 20, 51200)


def test_cli_limits_show(tenant: Tenant) -> None:
    assert tenant.boot(count=2).status_code == 202
    absolute = _by_name(openstack_json(tenant.user.account, "limits", "show", "--absolute"))
    assert (absolute["instances"], absolute["instances_used"],
            absolute["total_cores_used"]) == (10, 2, 2)
    assert openstack_json(tenant.user.account, "limits", "show", "--rate") == []


@pytest.fixture
def conn(tenant: Tenant) -> Iterator[Any]:
    import openstack

    connection = openstack.connect(**tenant.user.account.sdk_kwargs())
    yield connection
    connection.close()


def test_sdk_get_limits(tenant: Tenant, conn: Any) -> None:
    assert tenant.boot().status_code == 202
    limits = conn.compute.get_limits()
    assert limits.absolute.instances == 10
    assert limits.absolute.instances_used == 1
    assert limits.absolute.total_cores == 20
    assert list(limits.rate) == []


def test_sdk_quota_set(tenant: Tenant) -> None:
    import openstack

    with openstack.connect(**tenant.admin.account.sdk_kwargs()) as admin:
        admin.compute.update_quota_set(tenant.project_id, instances=7)
        shown = admin.compute.get_quota_set(tenant.project_id)
        assert shown.instances == 7
        defaults = admin.compute.get_quota_set_defaults(tenant.project_id)
        assert defaults.instances == 10
