"""Real clients driving servers: the ``openstack`` CLI, openstacksdk and python-novaclient.

CLI calls cost about two seconds each (the CLI's start-up), so they are few and each does
as much as it can.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.bios_image import boot_image
from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def image(member: ApiSession, admin: ApiSession, target: Any) -> dict[str, Any]:
    return boot_image(member, admin, target.backend)


def _gone(session: ApiSession, server_id: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while session.compute("GET", f"/servers/{server_id}").status_code != 404:
        assert time.monotonic() < deadline, f"{server_id} was not deleted"
        time.sleep(0.05)


@pytest.fixture
def cleanup(admin: ApiSession) -> Iterator[list[str]]:
    """Server names or ids to delete (as admin, across projects) when the test ends."""
    names: list[str] = []
    yield names
    for name in names:
        listed = admin.compute("GET", "/servers", params={"all_tenants": "1",
                                                          "name": f"^{name}$"}).json()
        for server in listed["servers"]:
            admin.compute("DELETE", f"/servers/{server['id']}")
            _gone(admin, server["id"])


# -- the openstack CLI --------------------------------------------------------------------


def test_cli_server_lifecycle(member: ApiSession, image: dict[str, Any],
                              cleanup: list[str]) -> None:
    name = unique("cli")
    cleanup.append(name)
    created = openstack_json(member.account, "server", "create", "--image", image["name"],
                             "--flavor", "m1.tiny", "--wait", name)
    assert created["name"] == name
    assert created["status"] == "ACTIVE"
    server_id = created["id"]
    shown = member.compute("GET", f"/servers/{server_id}").json()["server"]
    assert shown["status"] == "ACTIVE" and shown["image"]["id"] == image["id"]
    assert shown["flavor"]["id"] == "1"

    listed = openstack_json(member.account, "server", "list", "--long", "--name", name,
                            "--status", "ACTIVE")
    assert [row["ID"] for row in listed] == [server_id]
    (row,) = listed
    assert row["Name"] == name and row["Status"] == "ACTIVE"
    assert row["Power State"] == 1 and row["Task State"] is None
    assert row["Flavor"] == "m1.tiny"
    assert row["Image ID"] == image["id"] and row["Image Name"] == image["name"]
    assert row["Networks"] == {"private": [shown["addresses"]["private"][0]["addr"]]}
    assert row["Availability Zone"] == shown["OS-EXT-AZ:availability_zone"]
    assert row["Host"] is None  # admin only
    assert openstack_json(member.account, "server", "list", "--name", name,
                          "--status", "ERROR") == []

    renamed = f"{name}-renamed"
    cleanup.append(renamed)
    result = run_openstack(member.account, "server", "set", "--name", renamed,
                           "--property", "colour=blue", server_id)
    assert result.returncode == 0, result.stderr
    result = run_openstack(member.account, "--os-compute-api-version", "2.26", "server", "set",
                           "--tag", "cli-tag", server_id)
    assert result.returncode == 0, result.stderr
    shown = openstack_json(member.account, "--os-compute-api-version", "2.26", "server",
                           "show", server_id)
    assert shown["name"] == renamed
    assert shown["status"] == "ACTIVE"
    assert shown["properties"] in ({"colour": "blue"}, "colour='blue'")
    assert shown["tags"] in (["cli-tag"], "cli-tag")
    raw = member.compute("GET", f"/servers/{server_id}", version="2.26").json()["server"]
    assert raw["name"] == renamed and raw["metadata"] == {"colour": "blue"}
    assert raw["tags"] == ["cli-tag"]

    result = run_openstack(member.account, "server", "delete", "--wait", server_id)
    assert result.returncode == 0, result.stderr
    assert member.compute("GET", f"/servers/{server_id}").status_code == 404


def test_cli_show_unknown_server_fails(member: ApiSession) -> None:
    result = run_openstack(member.account, "server", "show", "no-such-server")
    assert result.returncode != 0
    # The SDK's find: GET /servers/no-such-server (404), then a list by name (empty).
    assert result.stderr.strip() == "No Server found for no-such-server"


# -- openstacksdk -------------------------------------------------------------------------


def test_sdk_create_wait_and_delete(conn: Any, member: ApiSession, image: dict[str, Any],
                                    cleanup: list[str]) -> None:
    name = unique("sdk")
    cleanup.append(name)
    # NOTE: auto_ip=False: with no network service in the catalog the SDK's cloud layer
    # falls back to nova-network floating IPs (os-floating-ip-pools), as it would on any
    # cloud without Neutron.
    server = conn.create_server(name, image=image["id"], flavor="m1.tiny", wait=True,
                                timeout=60, auto_ip=False)
    assert server.name == name
    assert server.status == "ACTIVE"
    assert server.image.id == image["id"]
    assert "private" in server.addresses

    waited = conn.compute.wait_for_server(conn.compute.get_server(server.id), status="ACTIVE",
                                          wait=30)
    assert waited.id == server.id and waited.status == "ACTIVE"
    assert waited.task_state is None
    found = conn.compute.find_server(name)
    assert found is not None and found.id == server.id
    listed = [s.id for s in conn.compute.servers(name=name)]
    assert listed == [server.id]
    detailed = [s for s in conn.compute.servers(details=True, name=name, status="ACTIVE")]
    assert [s.id for s in detailed] == [server.id]
    assert detailed[0].flavor.original_name == "m1.tiny" or detailed[0].flavor.id == "1"

    updated = conn.compute.update_server(server.id, name=f"{name}-2")
    assert updated.name == f"{name}-2"
    cleanup.append(f"{name}-2")
    assert conn.delete_server(server.id, wait=True, timeout=60) is True
    assert conn.compute.find_server(server.id) is None
    assert member.compute("GET", f"/servers/{server.id}").status_code == 404


def test_sdk_sees_the_build_failure(admin_conn: Any, conn: Any, image: dict[str, Any],
                                    admin: ApiSession, cleanup: list[str]) -> None:
    import openstack.exceptions

    flavor = admin_conn.compute.create_flavor(name=unique("sdk-huge"), ram=64, vcpus=1,
                                              disk=10**7)
    try:
        name = unique("sdk-err")
        cleanup.append(name)
        server = conn.compute.create_server(name=name, image_id=image["id"],
                                            flavor_id=flavor.id, networks="auto")
        with pytest.raises(openstack.exceptions.ResourceFailure) as failure:
            conn.compute.wait_for_server(server, status="ACTIVE", wait=30)
        assert "ERROR" in str(failure.value)
        shown = conn.compute.get_server(server.id)
        assert shown.status == "ERROR"
        # Nothing fits: placement has no candidate, and Nova's reason is empty.
        assert shown.fault["message"] == "No valid host was found. "
    finally:
        admin_conn.compute.delete_flavor(flavor.id)


# -- python-novaclient --------------------------------------------------------------------


@pytest.fixture(scope="module")
def nova(member: ApiSession) -> Any:
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3
    from novaclient import client as nova_client

    account = member.account
    auth = v3.Password(auth_url=account.auth_url, username=account.username,
                       password=account.password, project_name=account.project_name,
                       user_domain_name=account.user_domain_name,
                       project_domain_name=account.project_domain_name)
    return nova_client.Client("2.1", session=ks_session.Session(auth=auth),
                              region_name=account.region)


def test_novaclient_create_list_get_delete(nova: Any, image: dict[str, Any],
                                           member: ApiSession, cleanup: list[str]) -> None:
    name = unique("nova")
    cleanup.append(name)
    flavor = nova.flavors.find(name="m1.tiny")
    server = nova.servers.create(name, image=image["id"], flavor=flavor.id,
                                 meta={"via": "novaclient"})
    assert len(server.adminPass) == 12
    deadline = time.monotonic() + 30
    while (shown := nova.servers.get(server.id)).status != "ACTIVE":
        assert shown.status == "BUILD" and time.monotonic() < deadline, shown.status
        time.sleep(0.05)
    assert shown.name == name
    assert shown.metadata == {"via": "novaclient"}
    assert getattr(shown, "OS-EXT-STS:vm_state") == "active"
    assert shown.networks == {"private": [shown.addresses["private"][0]["addr"]]}
    listed = nova.servers.list(search_opts={"name": name})
    assert [s.id for s in listed] == [server.id]
    assert [s.id for s in nova.servers.list(detailed=False, search_opts={"name": name})] == [
        server.id]
    assert nova.servers.list(search_opts={"name": name, "status": "ERROR"}) == []
    nova.servers.delete(server.id)
    deadline = time.monotonic() + 30
    while member.compute("GET", f"/servers/{server.id}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    from novaclient import exceptions as nova_exceptions

    with pytest.raises(nova_exceptions.NotFound) as missing:
        nova.servers.get(server.id)
    assert f"Instance {server.id} could not be found." in str(missing.value)
