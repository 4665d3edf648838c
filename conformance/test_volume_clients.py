"""The real clients on block storage: the ``openstack volume …`` CLI and openstacksdk's
``block_storage`` proxy (and its cloud layer), each finding Cinder through the catalog
and its version discovery."""

from __future__ import annotations

from typing import Any

import openstack.exceptions
import pytest

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.volume_client import cinder, unique, wait_gone


@pytest.fixture
def cli_volume(member: ApiSession) -> Any:
    """A volume made with ``openstack volume create``; deleted at the end if still there."""
    name = unique("cli-vol")
    created = openstack_json(member.account, "volume", "create", "--size", "1", name)
    yield created
    cinder(member, "DELETE", f"/volumes/{created['id']}?cascade=true")


def test_cli_volume_create_list_show_set_delete(member: ApiSession, cli_volume: Any) -> None:
    assert cli_volume["size"] == 1 and cli_volume["type"] == "__DEFAULT__"
    name = cli_volume["name"]
    listed = openstack_json(member.account, "volume", "list")
    assert {"ID": cli_volume["id"], "Name": name, "Status": "available", "Size": 1,
            "Attached to": []} in listed
    shown = openstack_json(member.account, "volume", "show", name)
    assert shown["id"] == cli_volume["id"] and shown["status"] == "available"
    resized = run_openstack(member.account, "volume", "set", "--size", "3", name)
    assert resized.returncode == 0, resized.stderr
    renamed = run_openstack(member.account, "volume", "set", "--name", f"{name}-b",
                            "--description", "cli", "--property", "k=v", name)
    assert renamed.returncode == 0, renamed.stderr
    shown = openstack_json(member.account, "volume", "show", f"{name}-b")
    assert (shown["size"], shown["description"], shown["properties"]) == (3, "cli",
                                                                         {"k": "v"})
    deleted = run_openstack(member.account, "volume", "delete", f"{name}-b")
    assert deleted.returncode == 0, deleted.stderr
    wait_gone(member, f"/volumes/{cli_volume['id']}")


def test_cli_shrinking_is_refused(member: ApiSession, cli_volume: Any) -> None:
    result = run_openstack(member.account, "volume", "set", "--size", "1", cli_volume["id"])
    assert result.returncode != 0
    assert "New size must be greater than" in result.stderr


def test_cli_snapshots_and_types(member: ApiSession, cli_volume: Any) -> None:
    snap = openstack_json(member.account, "volume", "snapshot", "create", "--volume",
                          cli_volume["id"], unique("cli-snap"))
    listed = openstack_json(member.account, "volume", "snapshot", "list")
    assert snap["id"] in [s["ID"] for s in listed]
    assert run_openstack(member.account, "volume", "snapshot", "delete",
                         snap["id"]).returncode == 0
    wait_gone(member, f"/snapshots/{snap['id']}")
    types = openstack_json(member.account, "volume", "type", "list")
    assert [t["Name"] for t in types] == ["__DEFAULT__"]


def test_cli_show_of_another_projects_volume_fails(alt: ApiSession, cli_volume: Any) -> None:
    result = run_openstack(alt.account, "volume", "show", cli_volume["id"])
    assert result.returncode != 0
    assert f"No Volume found for {cli_volume['id']}" in result.stderr


# -- openstacksdk ----------------------------------------------------------------------------


def test_sdk_block_storage(conn: Any, member: ApiSession) -> None:
    proxy = conn.block_storage
    assert proxy.get_endpoint().rstrip("/") == member.endpoint("block-storage")
    volume = proxy.create_volume(size=1, name=unique("sdk-vol"), metadata={"a": "b"})
    try:
        volume = proxy.wait_for_status(volume, "available", wait=60)
        assert volume.size == 1 and volume.metadata == {"a": "b"}
        assert volume.id in [v.id for v in proxy.volumes()]
        proxy.extend_volume(volume, 2)
        assert proxy.wait_for_status(proxy.get_volume(volume), "available").size == 2
        snapshot = proxy.create_snapshot(volume_id=volume.id, name=unique("sdk-snap"))
        snapshot = proxy.wait_for_status(snapshot, "available", wait=60)
        assert snapshot.volume_id == volume.id
        proxy.delete_snapshot(snapshot)
        proxy.wait_for_delete(snapshot, wait=60)
        assert [t.name for t in proxy.types()] == ["__DEFAULT__"]
        limits = proxy.get_limits()
        assert limits.absolute.max_total_volumes == 10
    finally:
        proxy.delete_volume(volume, ignore_missing=True)
    proxy.wait_for_delete(volume, wait=60)
    with pytest.raises(openstack.exceptions.NotFoundException):
        proxy.get_volume(volume.id)


def test_sdk_cloud_layer(conn: Any) -> None:
    volume = conn.create_volume(size=1, name=unique("sdk-cloud"), wait=True, timeout=60)
    try:
        assert volume.status == "available"
        assert conn.get_volume(volume.id).name == volume.name
    finally:
        assert conn.delete_volume(volume.id, wait=True, timeout=60)
