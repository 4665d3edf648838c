"""Server actions on the disk and the flavor: ``rebuild``, ``resize`` with
``confirmResize``/``revertResize``, ``createImage`` and ``createBackup``.

Happy paths poll until the server settles; every response is validated against Tempest's
schemas for the microversion sent; each action has one refused state with Nova's exact
409 text; a locked server refuses a member; bad input gets Nova's 400s; and the
``openstack`` CLI drives the same actions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from tempest.lib.services.compute.images_client import ImagesClient
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.bios_image import boot_image
from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.polling import settle
from conformance.schemas import for_version, validate
from conformance.test_servers import Servers, message, unique, wait_for

REBUILD_VERSIONS = ["2.1", "2.9", "2.19", "2.26", "2.47", "2.54", "2.57", "2.63", "2.71",
                    "2.73", "2.75", "2.96", "2.98", "2.100"]
UNKNOWN_UUID = "8d8d5b5d-1a53-4bd1-a3d3-3e1c7a6a2c9f"


@pytest.fixture(scope="module")
def image_id(member: ApiSession, admin: ApiSession, target: Any) -> str:
    return str(boot_image(member, admin, target.backend)["id"])


@pytest.fixture(scope="module")
def made(admin: ApiSession, member: ApiSession, image_id: str) -> Iterator[Servers]:
    """The servers of the module: more than Nova's default quotas let a project keep, so
    the member's project has no instance, core or RAM limit meanwhile."""
    quota = f"/os-quota-sets/{member.project_id}"
    lifted = admin.compute("PUT", quota, json={"quota_set": {
        "instances": -1, "cores": -1, "ram": -1}})
    assert lifted.status_code == 200, lifted.text
    servers = Servers(admin, image_id)
    yield servers
    servers.remove()
    admin.compute("DELETE", quota)


def at_least(version: str, floor: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split("."))

    return parts(version) >= parts(floor)


def act(session: ApiSession, server_id: str, body: dict[str, Any],
        version: str | None = None) -> Any:
    return session.compute("POST", f"/servers/{server_id}/action", json=body, version=version)


def image_url(session: ApiSession, image_id: str) -> str:
    return f"{session.endpoint('image')}/v2/images/{image_id}"


def wait_image(session: ApiSession, image_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        image: dict[str, Any] = session.request("GET", image_url(session, image_id)).json()
        if image["status"] == "active":
            return image
        assert image["status"] in ("queued", "saving"), image
        assert time.monotonic() < deadline, image
        time.sleep(0.05)


def actions_of(session: ApiSession, server_id: str) -> list[str]:
    listed = session.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    return [a["action"] for a in listed["instanceActions"]]


# -- rebuild ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rebuilt(made: Servers, member: ApiSession) -> dict[str, Any]:
    return made.boot(member, metadata={"before": "1"})


@pytest.mark.parametrize("version", REBUILD_VERSIONS)
def test_rebuild_response_per_microversion(version: str, rebuilt: dict[str, Any],
                                           member: ApiSession, image_id: str) -> None:
    name = unique("rebuilt")
    body: dict[str, Any] = {"imageRef": image_id, "name": name, "metadata": {"after": version},
                            "adminPass": "Secret-123"}
    if at_least(version, "2.19"):
        body["description"] = f"at {version}"
    response = act(member, rebuilt["id"], {"rebuild": body}, version=version)
    schema = for_version(ServersClient, version).rebuild_server_with_admin_pass
    server = validate(response, schema)["server"]
    assert response.headers["Location"].endswith(f"/servers/{rebuilt['id']}")
    assert server["id"] == rebuilt["id"]
    assert server["adminPass"] == "Secret-123"
    assert server["status"] == "REBUILD"
    assert server["name"] == name and server["metadata"] == {"after": version}
    assert ("key_name" in server) == at_least(version, "2.54")
    assert ("user_data" in server) == at_least(version, "2.57")
    assert ("OS-EXT-STS:vm_state" in server) == at_least(version, "2.75")
    done = wait_for(member, rebuilt["id"], "ACTIVE")
    assert done["addresses"] == rebuilt["addresses"]
    assert done["image"]["id"] == image_id
    assert "rebuild" in actions_of(member, rebuilt["id"])


def test_rebuild_fields_of_later_microversions(made: Servers, member: ApiSession,
                                               image_id: str) -> None:
    server = made.boot(member)
    response = act(member, server["id"], {"rebuild": {
        "imageRef": image_id, "key_name": None, "user_data": "aGVsbG8=",
        "hostname": "new-host", "trusted_image_certificates": None}}, version="2.90")
    body = validate(response, for_version(ServersClient, "2.90").rebuild_server_with_admin_pass)
    assert body["server"]["user_data"] == "aGVsbG8=" and len(body["server"]["adminPass"]) >= 8
    shown = wait_for(member, server["id"], "ACTIVE", version="2.90")
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "new-host"


def test_rebuild_of_a_stopped_server_ends_stopped(made: Servers, member: ApiSession,
                                                  image_id: str) -> None:
    server = made.boot(member)
    assert act(member, server["id"], {"os-stop": None}).status_code == 202
    settle(member, server["id"], "SHUTOFF")
    response = act(member, server["id"], {"rebuild": {"imageRef": image_id}})
    assert response.status_code == 202, response.text
    stopped = settle(member, server["id"], "SHUTOFF")
    assert stopped["OS-EXT-STS:power_state"] == 4


def test_rebuild_refusals(made: Servers, member: ApiSession, admin: ApiSession,
                          image_id: str) -> None:
    server = made.boot(member)
    sid = server["id"]
    missing = act(member, sid, {"rebuild": {"imageRef": UNKNOWN_UUID}})
    assert missing.status_code == 400 and message(missing) == "Cannot find image for rebuild"
    no_image = act(member, sid, {"rebuild": {"name": "x"}})
    assert no_image.status_code == 400
    assert act(member, sid, {"pause": None}).status_code == 202
    settle(member, sid, "PAUSED")
    paused = act(member, sid, {"rebuild": {"imageRef": image_id}})
    assert paused.status_code == 409
    assert message(paused) == f"Cannot 'rebuild' instance {sid} while it is in vm_state paused"
    assert act(member, sid, {"unpause": None}).status_code == 202
    settle(member, sid, "ACTIVE")
    assert act(member, sid, {"lock": None}).status_code == 202
    locked = act(member, sid, {"rebuild": {"imageRef": image_id}})
    assert locked.status_code == 409 and message(locked) == f"Instance {sid} is locked"
    # An admin is not held by the lock.
    assert act(admin, sid, {"rebuild": {"imageRef": image_id}}).status_code == 202
    settle(member, sid, "ACTIVE")
    for body in ({"resize": {"flavorRef": "2"}}, {"confirmResize": None},
                 {"revertResize": None}):
        refused = act(member, sid, body)
        assert refused.status_code == 409 and message(refused) == f"Instance {sid} is locked"
    # Snapshots are not lock-checked (Nova: locks guard against change and delete).
    snap = act(member, sid, {"createImage": {"name": unique("locked-snap")}}, version="2.45")
    assert snap.status_code == 202, snap.text
    settle(member, sid, "ACTIVE")
    assert act(member, sid, {"unlock": None}).status_code == 202


# -- resize -------------------------------------------------------------------------------


def test_resize_then_confirm(made: Servers, member: ApiSession) -> None:
    server = made.boot(member)
    sid = server["id"]
    response = act(member, sid, {"resize": {"flavorRef": "2"}})
    validate(response, for_version(ServersClient, "2.1").server_actions_common_schema)
    resized = settle(member, sid, "VERIFY_RESIZE")
    assert resized["flavor"]["id"] == "2" and resized["OS-EXT-STS:vm_state"] == "resized"
    wrong = act(member, sid, {"resize": {"flavorRef": "3"}})
    assert wrong.status_code == 409
    assert message(wrong) == f"Cannot 'resize' instance {sid} while it is in vm_state resized"
    confirmed = act(member, sid, {"confirmResize": None})
    validate(confirmed, for_version(ServersClient, "2.1").server_actions_confirm_resize)
    done = settle(member, sid, "ACTIVE")
    assert done["flavor"]["id"] == "2"
    assert {"resize", "confirmResize"} <= set(actions_of(member, sid))
    again = act(member, sid, {"confirmResize": None})
    assert again.status_code == 409
    assert message(again) == (f"Cannot 'confirmResize' instance {sid} while it is in "
                              "vm_state active")


def test_resize_then_revert(made: Servers, member: ApiSession) -> None:
    server = made.boot(member)
    sid = server["id"]
    assert act(member, sid, {"os-stop": None}).status_code == 202
    settle(member, sid, "SHUTOFF")
    assert act(member, sid, {"resize": {"flavorRef": "2"}}).status_code == 202
    assert settle(member, sid, "VERIFY_RESIZE")["OS-EXT-STS:power_state"] == 4
    reverted = act(member, sid, {"revertResize": None})
    validate(reverted, for_version(ServersClient, "2.1").server_actions_common_schema)
    back = settle(member, sid, "SHUTOFF")
    assert back["flavor"]["id"] == "1"
    assert "revertResize" in actions_of(member, sid)
    refused = act(member, sid, {"revertResize": None})
    assert refused.status_code == 409
    assert message(refused) == (f"Cannot 'revertResize' instance {sid} while it is in "
                                "vm_state stopped")


def test_resize_bad_input(made: Servers, member: ApiSession) -> None:
    server = made.boot(member, flavorRef="2")
    sid = server["id"]
    same = act(member, sid, {"resize": {"flavorRef": "2"}})
    assert same.status_code == 400
    assert message(same) == "When resizing, instances must change flavor!"
    unknown = act(member, sid, {"resize": {"flavorRef": "999999"}})
    assert unknown.status_code == 400 and message(unknown) == "Flavor 999999 could not be found."
    smaller = act(member, sid, {"resize": {"flavorRef": "1"}})
    assert smaller.status_code == 400
    assert message(smaller) == (
        "Flavor's disk is smaller than the minimum size specified in image metadata. Flavor "
        f"disk is {1024**3} bytes, minimum size is {20 * 1024**3} bytes.")
    assert act(member, sid, {"resize": {}}).status_code == 400
    assert settle(member, sid, "ACTIVE")["flavor"]["id"] == "2"


# -- createImage and createBackup ---------------------------------------------------------


@pytest.mark.parametrize("version", ["2.1", "2.44", "2.45", "2.100"])
def test_create_image(version: str, made: Servers, member: ApiSession) -> None:
    server = made.boot(member)
    name = unique("snap")
    response = act(member, server["id"], {"createImage": {"name": name,
                                                          "metadata": {"purpose": "test"}}},
                   version=version)
    body = validate(response, for_version(ImagesClient, version).create_image)
    if at_least(version, "2.45"):
        image_id = body["image_id"]
        assert "Location" not in response.headers
    else:
        image_id = response.headers["Location"].rsplit("/", 1)[-1]
    image = wait_image(member, image_id)
    assert image["name"] == name and image["owner"] == member.project_id
    assert image["instance_uuid"] == server["id"] and image["image_type"] == "snapshot"
    assert image["purpose"] == "test" and image["min_disk"] == 1
    assert image["visibility"] == "private" and image["size"] > 0
    settle(member, server["id"], "ACTIVE")
    assert "createImage" in actions_of(member, server["id"])
    member.request("DELETE", image_url(member, image_id))


def test_create_backup_rotates(made: Servers, member: ApiSession) -> None:
    server = made.boot(member)
    sid = server["id"]
    ids = []
    for index in range(3):
        response = act(member, sid, {"createBackup": {
            "name": f"bk-{index}", "backup_type": "daily", "rotation": 2}}, version="2.1")
        validate(response, for_version(ServersClient, "2.1").create_backup)
        assert "Location" in response.headers
        ids.append(response.headers["Location"].rsplit("/", 1)[-1])
        settle(member, sid, "ACTIVE")
    assert wait_image(member, ids[-1])["backup_type"] == "daily"
    assert member.request("GET", image_url(member, ids[0])).status_code == 404
    no_rotation = act(member, sid, {"createBackup": {
        "name": "bk-none", "backup_type": "weekly", "rotation": 0}}, version="2.1")
    assert no_rotation.status_code == 202 and "Location" not in no_rotation.headers
    settle(member, sid, "ACTIVE")
    later = act(member, sid, {"createBackup": {
        "name": "bk-new", "backup_type": "weekly", "rotation": 1}}, version="2.45")
    validate(later, for_version(ServersClient, "2.45").create_backup)
    settle(member, sid, "ACTIVE")
    for image_id in [*ids[1:], later.json()["image_id"]]:
        member.request("DELETE", image_url(member, image_id))


def test_create_image_refusals(made: Servers, member: ApiSession, admin: ApiSession) -> None:
    server = made.boot(member)
    sid = server["id"]
    nameless = act(member, sid, {"createImage": {}})
    assert nameless.status_code == 400
    assert act(admin, sid, {"os-resetState": {"state": "error"}}).status_code == 202
    for key, body in (("createImage", {"name": "x"}),
                      ("createBackup", {"name": "x", "backup_type": "daily", "rotation": 1})):
        refused = act(member, sid, {key: body})
        assert refused.status_code == 409
        assert message(refused) == f"Cannot '{key}' instance {sid} while it is in vm_state error"


# -- the openstack CLI --------------------------------------------------------------------


def test_cli_rebuild_resize_and_image(made: Servers, member: ApiSession,
                                      image_id: str) -> None:
    server = made.boot(member)
    sid = server["id"]
    account = member.account
    rebuilt = run_openstack(account, "server", "rebuild", "--image", image_id, "--wait", sid)
    assert rebuilt.returncode == 0, rebuilt.stderr
    resized = run_openstack(account, "server", "resize", "--flavor", "m1.small", "--wait", sid)
    assert resized.returncode == 0, resized.stderr
    assert settle(member, sid, "VERIFY_RESIZE")["flavor"]["id"] == "2"
    confirmed = run_openstack(account, "server", "resize", "confirm", sid)
    assert confirmed.returncode == 0, confirmed.stderr
    settle(member, sid, "ACTIVE")
    assert run_openstack(account, "server", "resize", "--flavor", "m1.medium", "--wait",
                         sid).returncode == 0
    settle(member, sid, "VERIFY_RESIZE")
    reverted = run_openstack(account, "server", "resize", "revert", sid)
    assert reverted.returncode == 0, reverted.stderr
    assert settle(member, sid, "ACTIVE")["flavor"]["id"] == "2"
    name = unique("cli-snap")
    image = openstack_json(account, "server", "image", "create", "--wait", "--name", name, sid)
    assert image["name"] == name and image["status"] == "active"
    member.request("DELETE", image_url(member, image["id"]))


# -- image metadata quotas ----------------------------------------------------------------

#: Glance's ``image_property_quota``.
GLANCE_PROPERTY_QUOTA = 128
#: What Nova adds to a snapshot besides the base image's inheritable properties:
#: base_image_ref, owner_user_name, owner_project_name, boot_roles (the instance's system
#: metadata), instance_uuid, user_id, image_type; and backup_type for a backup.
NOVA_SNAPSHOT_PROPERTIES = {"createImage": 7, "createBackup": 8}


def _snapshot_body(key: str, keys: int) -> dict[str, Any]:
    body: dict[str, Any] = {"name": unique("quota"),
                            "metadata": {f"k{i}": "v" for i in range(keys)}}
    if key == "createBackup":
        body.update(backup_type="daily", rotation=1)
    return {key: body}


@pytest.mark.parametrize("key", ["createImage", "createBackup"])
def test_image_metadata_quota_until_2_38(key: str, made: Servers, member: ApiSession,
                                         admin: ApiSession) -> None:
    """Up to 2.38 Nova checks the request's metadata against ``metadata_items`` (128): a
    403, after the lookup and the policy and before the state check (an ERROR server
    gets the 403 too); from 2.39 it does not."""
    sid = made.boot(member)["id"]
    assert act(admin, sid, {"os-resetState": {"state": "error"}}).status_code == 202
    refused = act(member, sid, _snapshot_body(key, 129), version="2.38")
    assert refused.status_code == 403, refused.text
    assert message(refused) == "Image metadata limit exceeded"
    unchecked = act(member, sid, _snapshot_body(key, 129), version="2.39")
    assert unchecked.status_code == 409, unchecked.text


@pytest.mark.emulator_only
@pytest.mark.parametrize("key", ["createImage", "createBackup"])
def test_snapshot_properties_count_as_novas(key: str, made: Servers, member: ApiSession,
                                            image_id: str) -> None:
    """Glance takes at most 128 properties, Nova's own ones counted: from the seeded
    CirrOS image, or on qemu the tiny BIOS disk (2 inheritable properties each: os_distro
    and os_version), a snapshot holds 128 - 7 - 2 of the caller's (a backup one fewer).
    One more is refused, never a 5xx (NOTE: Nova answers Glance's 413 as an unexpected
    500; we answer 403 with Glance's words), and the server is left as it was: no task
    state, no action recorded."""
    sid = made.boot(member)["id"]
    base = member.request("GET", image_url(member, image_id)).json()
    assert {"os_distro", "os_version"} <= base.keys()
    fits = GLANCE_PROPERTY_QUOTA - NOVA_SNAPSHOT_PROPERTIES[key] - 2
    refused = act(member, sid, _snapshot_body(key, fits + 1), version="2.45")
    assert refused.status_code == 403, refused.text
    assert message(refused) == (
        "The limit has been exceeded on the number of allowed image properties. "
        f"Attempted: {GLANCE_PROPERTY_QUOTA + 1}, Maximum: {GLANCE_PROPERTY_QUOTA}")
    server = member.compute("GET", f"/servers/{sid}").json()["server"]
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None
    assert key not in actions_of(member, sid)
    made_image = act(member, sid, _snapshot_body(key, fits), version="2.45")
    assert made_image.status_code == 202, made_image.text
    image = wait_image(member, made_image.json()["image_id"])
    assert image["os_distro"] == base["os_distro"] and image["base_image_ref"] == image_id
    assert image["owner_project_name"] == "demo" and image["owner_user_name"] == "demo"
    assert image["instance_uuid"] == sid and image["boot_roles"]
    settle(member, sid, "ACTIVE")
    member.request("DELETE", image_url(member, image["id"]))
