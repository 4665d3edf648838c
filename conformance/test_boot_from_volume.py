"""Servers created with volumes (``block_device_mapping_v2``): boot from a volume, from an
image copied to a new volume, with a blank volume beside the image's disk; Nova's
refusals; what the server delete does to those volumes; ``openstack server create
--volume`` and ``--boot-from-volume``."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.polling import settle
from conformance.schemas import for_version, validate
from conformance.volume_client import (  # noqa: F401
    VolumeFactory,
    cinder,
    make_volume,
    wait_volume,
)

#: The seeded images' virtual size: the smallest volume they fit in.
IMAGE_GB = 2


def _image(session: ApiSession) -> str:
    response = session.request("GET", f"{session.endpoint('image')}/v2/images")
    return str(response.json()["images"][0]["id"])


def create(session: ApiSession, devices: list[dict[str, Any]], image: str | None = None,
           version: str | None = None, **extra: Any) -> httpx.Response:
    server: dict[str, Any] = {"name": f"conf-bfv-{uuid.uuid4().hex[:8]}", "flavorRef": "1",
                              "block_device_mapping_v2": devices, **extra}
    if image is not None:
        server["imageRef"] = image
    if version is not None:
        server.setdefault("networks", "auto")  # required from 2.37
    return session.compute("POST", "/servers", json={"server": server}, version=version)


def booted(session: ApiSession, devices: list[dict[str, Any]], image: str | None = None,
           version: str | None = None) -> dict[str, Any]:
    response = create(session, devices, image, version)
    assert response.status_code == 202, response.text
    return settle(session, response.json()["server"]["id"], "ACTIVE", version=version or "2.1")


def delete_server(session: ApiSession, server_id: str) -> None:
    assert session.compute("DELETE", f"/servers/{server_id}").status_code == 204
    deadline = time.monotonic() + 60
    while session.compute("GET", f"/servers/{server_id}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def bad_request(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    return str(response.json()["badRequest"]["message"])


def test_boot_from_a_volume(member: ApiSession,
                            make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(imageRef=_image(member), size=IMAGE_GB)
    server = booted(member, [{"uuid": volume["id"], "source_type": "volume",
                              "destination_type": "volume", "boot_index": 0}],
                    version="2.79")
    validate(member.compute("GET", f"/servers/{server['id']}", version="2.79"),
             for_version(ServersClient, "2.79").get_server)
    assert server["image"] == ""
    assert server["os-extended-volumes:volumes_attached"] == [
        {"id": volume["id"], "delete_on_termination": False}]
    attached = wait_volume(member, volume["id"], "in-use")["attachments"]
    assert [(a["server_id"], a["device"]) for a in attached] == [(server["id"], "/dev/vda")]
    listed = member.compute("GET", f"/servers/{server['id']}/os-volume_attachments"
                            ).json()["volumeAttachments"]
    assert [(a["volumeId"], a["device"]) for a in listed] == [(volume["id"], "/dev/vda")]
    root = member.compute("DELETE",
                          f"/servers/{server['id']}/os-volume_attachments/{volume['id']}")
    assert bad_request(root) == "Cannot detach a root device volume"
    delete_server(member, server["id"])
    assert wait_volume(member, volume["id"], "available")["attachments"] == []


def test_boot_from_an_image_copied_to_a_new_volume(member: ApiSession) -> None:
    image = _image(member)
    server = booted(member, [{"uuid": image, "source_type": "image",
                              "destination_type": "volume", "boot_index": 0,
                              "volume_size": IMAGE_GB, "delete_on_termination": True}])
    assert server["image"] == ""
    (entry,) = server["os-extended-volumes:volumes_attached"]
    volume = wait_volume(member, entry["id"], "in-use")
    assert volume["size"] == IMAGE_GB and volume["bootable"] == "true"
    assert volume["volume_image_metadata"]["image_id"] == image
    delete_server(member, server["id"])
    deadline = time.monotonic() + 60
    while cinder(member, "GET", f"/volumes/{entry['id']}").status_code != 404:
        assert time.monotonic() < deadline, "a delete_on_termination volume stayed"
        time.sleep(0.05)


def test_a_blank_volume_beside_the_image(member: ApiSession) -> None:
    image = _image(member)
    server = booted(member, [{"source_type": "blank", "destination_type": "volume",
                              "boot_index": -1, "volume_size": 1}], image=image)
    assert server["image"]["id"] == image
    (entry,) = server["os-extended-volumes:volumes_attached"]
    attached = wait_volume(member, entry["id"], "in-use")["attachments"]
    assert [a["device"] for a in attached] == ["/dev/vdb"]
    delete_server(member, server["id"])
    wait_volume(member, entry["id"], "available")
    assert cinder(member, "DELETE", f"/volumes/{entry['id']}").status_code == 202


def test_refusals(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    image = _image(member)
    missing = str(uuid.uuid4())
    assert bad_request(create(member, [{"uuid": image, "source_type": "image",
                                        "destination_type": "volume", "boot_index": 0}])) == \
        "Images with destination_type 'volume' need to have a non-zero size specified"
    assert bad_request(create(member, [{"uuid": missing, "source_type": "volume",
                                        "destination_type": "volume", "boot_index": 0}])) == \
        f"Block Device Mapping is Invalid: failed to get volume {missing}."
    assert bad_request(create(member, [{"uuid": missing, "source_type": "snapshot",
                                        "destination_type": "volume", "boot_index": 0}])) == \
        f"Block Device Mapping is Invalid: failed to get snapshot {missing}."
    assert bad_request(create(member, [{"source_type": "blank", "destination_type": "volume",
                                        "boot_index": 0}])) == \
        "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size"
    volume = make_volume()
    assert bad_request(create(member, [{"uuid": volume["id"], "source_type": "volume",
                                        "destination_type": "volume", "boot_index": 1}])) == \
        ("Block Device Mapping is Invalid: Boot sequence for the instance and image/block "
         "device mapping combination is not valid.")
    assert bad_request(create(member, [{"uuid": volume["id"], "source_type": "volume",
                                        "destination_type": "volume", "boot_index": 0}],
                              min_count=2)) == \
        "Cannot attach one or more volumes to multiple instances"
    # Nothing was left half-made: the volume is still available.
    assert wait_volume(member, volume["id"], "available")["attachments"] == []
    server = booted(member, [{"uuid": volume["id"], "source_type": "volume",
                              "destination_type": "volume", "boot_index": 0}])
    wait_volume(member, volume["id"], "in-use")
    message = bad_request(create(member, [{"uuid": volume["id"], "source_type": "volume",
                                           "destination_type": "volume", "boot_index": 0}]))
    assert message.startswith(f"Invalid volume: Invalid input received: Invalid volume: "
                              f"Volume {volume['id']} status must be available")
    delete_server(member, server["id"])


def test_cli_create_with_volume_and_boot_from_volume(member: ApiSession,
                                                     make_volume: VolumeFactory  # noqa: F811
                                                     ) -> None:
    volume = make_volume(imageRef=_image(member), size=IMAGE_GB)
    name = f"conf-cli-bfv-{uuid.uuid4().hex[:6]}"
    server = openstack_json(member.account, "server", "create", "--flavor", "1", "--volume",
                            volume["id"], "--wait", name)
    assert server["image"] in ("", "N/A (booted from volume)")
    wait_volume(member, volume["id"], "in-use")
    run_openstack(member.account, "server", "delete", "--wait", server["id"])
    wait_volume(member, volume["id"], "available")

    copied = openstack_json(member.account, "server", "create", "--flavor", "1", "--image",
                            _image(member), "--boot-from-volume", str(IMAGE_GB), "--wait", name)
    shown = member.compute("GET", f"/servers/{copied['id']}").json()["server"]
    (entry,) = shown["os-extended-volumes:volumes_attached"]
    assert wait_volume(member, entry["id"], "in-use")["size"] == IMAGE_GB
    run_openstack(member.account, "server", "delete", "--wait", copied["id"])
    wait_volume(member, entry["id"], "available")
    assert cinder(member, "DELETE", f"/volumes/{entry['id']}").status_code == 202


def test_snapshot_of_a_volume_backed_server(member: ApiSession,
                                            make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(imageRef=_image(member), size=IMAGE_GB)
    server = booted(member, [{"uuid": volume["id"], "source_type": "volume",
                              "destination_type": "volume", "boot_index": 0}])
    name = f"conf-vbs-{uuid.uuid4().hex[:6]}"
    response = member.compute("POST", f"/servers/{server['id']}/action", version="2.45",
                              json={"createImage": {"name": name, "metadata": {"k": "v"}}})
    assert response.status_code == 202, response.text
    image_id = response.json()["image_id"]
    glance = f"{member.endpoint('image')}/v2/images/{image_id}"
    deadline = time.monotonic() + 60
    while (image := member.request("GET", glance).json())["status"] != "active":
        assert time.monotonic() < deadline, image
        time.sleep(0.05)
    assert image["size"] == 0 and image["disk_format"] == "raw"
    assert image["k"] == "v" and image["bdm_v2"] == "True"
    assert image["root_device_name"] == "/dev/vda"
    (mapping,) = json.loads(image["block_device_mapping"])
    assert (mapping["source_type"], mapping["destination_type"], mapping["boot_index"],
            mapping["volume_size"]) == ("snapshot", "volume", 0, IMAGE_GB)
    snapshot = cinder(member, "GET", f"/snapshots/{mapping['snapshot_id']}").json()["snapshot"]
    assert snapshot["volume_id"] == volume["id"] and snapshot["name"] == f"snapshot for {name}"
    actions = member.compute("GET", f"/servers/{server['id']}/os-instance-actions").json()
    assert actions["instanceActions"][0]["action"] == "createImage"
    assert settle(member, server["id"], "ACTIVE")["OS-EXT-STS:task_state"] is None
    backup = member.compute("POST", f"/servers/{server['id']}/action", json={
        "createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}})
    assert bad_request(backup) == "Backup is not supported for volume-backed instances."
    member.request("DELETE", glance)
    assert cinder(member, "DELETE", f"/snapshots/{mapping['snapshot_id']}").status_code == 202
    delete_server(member, server["id"])


def test_a_server_from_a_volume_backed_snapshot_gets_volumes_from_its_snapshots(
        member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(imageRef=_image(member), size=IMAGE_GB)
    source = booted(member, [{"uuid": volume["id"], "source_type": "volume",
                              "destination_type": "volume", "boot_index": 0}])
    response = member.compute("POST", f"/servers/{source['id']}/action", version="2.45",
                              json={"createImage": {"name": f"conf-vbs-{uuid.uuid4().hex[:6]}"}})
    assert response.status_code == 202, response.text
    image_id = response.json()["image_id"]
    glance = f"{member.endpoint('image')}/v2/images/{image_id}"
    deadline = time.monotonic() + 60
    while member.request("GET", glance).json()["status"] != "active":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    snapshot_id = json.loads(member.request("GET", glance).json()["block_device_mapping"]
                             )[0]["snapshot_id"]
    server = booted(member, [], image=image_id)
    (entry,) = server["os-extended-volumes:volumes_attached"]
    copy = wait_volume(member, entry["id"], "in-use")
    assert copy["snapshot_id"] == snapshot_id and copy["id"] != volume["id"]
    assert [a["device"] for a in copy["attachments"]] == ["/dev/vda"]
    # Its snapshot is of a volume-backed server too.
    again = member.compute("POST", f"/servers/{server['id']}/action", version="2.45",
                           json={"createImage": {"name": "again"}})
    again_image = f"{member.endpoint('image')}/v2/images/{again.json()['image_id']}"
    deadline = time.monotonic() + 60
    while (image := member.request("GET", again_image).json())["status"] != "active":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert image["size"] == 0 and "block_device_mapping" in image
    for server_id in (server["id"], source["id"]):
        delete_server(member, server_id)
    for url in (glance, again_image):
        member.request("DELETE", url)
    for snapshot in cinder(member, "GET", "/snapshots").json()["snapshots"]:
        if snapshot["volume_id"] in (volume["id"], entry["id"]):
            cinder(member, "DELETE", f"/snapshots/{snapshot['id']}")
    assert cinder(member, "DELETE", f"/volumes/{entry['id']}").status_code == 202


def test_volumes_nova_makes_count_against_cinder_quotas(alt: ApiSession,
                                                        admin: ApiSession) -> None:
    quota = f"/os-quota-sets/{alt.project_id}"
    assert cinder(admin, "PUT", quota, json={"quota_set": {"gigabytes": 1}}).status_code == 200
    try:
        response = create(alt, [{"uuid": _image(alt), "source_type": "image",
                                 "destination_type": "volume", "boot_index": 0,
                                 "volume_size": IMAGE_GB}])
        assert response.status_code == 202, response.text
        server_id = response.json()["server"]["id"]
        server = settle(alt, server_id, "ERROR")
        assert "gigabytes" in server["fault"]["message"], server["fault"]
        assert cinder(alt, "GET", "/volumes").json()["volumes"] == []
        delete_server(alt, server_id)
    finally:
        assert cinder(admin, "DELETE", quota).status_code == 200
