"""Volumes over raw HTTP, against Cinder's behaviour and Tempest's response schemas:
create (empty, from an image, from a volume), show, list and detail with filters, sorting
and paging, update and metadata, extend, retype, bootable and read-only flags, the admin's
actions, delete, tenant isolation and Cinder's refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tempest.lib.api_schema.response.volume import volumes as schema
from tempest.lib.services.volume.v3.volumes_client import VolumesClient

from conformance.client import ApiSession
from conformance.schemas import for_version, validate
from conformance.volume_client import (  # noqa: F401
    VolumeFactory,
    cinder,
    fault,
    make_volume,
    unique,
    wait_gone,
    wait_volume,
)

UNKNOWN = "a3a0e2b1-9f1e-4b41-8a3a-2b1f0f0c1d2e"


def image_named(session: ApiSession, prefix: str) -> dict[str, Any]:
    response = session.request("GET", f"{session.endpoint('image')}/v2/images")
    for image in response.json()["images"]:
        if image["name"].startswith(prefix) and image["status"] == "active":
            return dict(image)
    pytest.skip(f"no active {prefix} image in this cloud")


# -- create and show ----------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "3.63", "3.65", "3.70"])
def test_create_show_list_validate(member: ApiSession, make_volume: VolumeFactory,  # noqa: F811
                                   version: str | None) -> None:
    oracle = for_version(VolumesClient, version)
    name = unique()
    response = cinder(member, "POST", "/volumes", version=version,
                      json={"volume": {"size": 1, "name": name, "description": "d",
                                       "metadata": {"k": "v"}}})
    created = validate(response, oracle.create_volume)["volume"]
    assert created["status"] in ("creating", "available")
    assert created["size"] == 1 and created["name"] == name
    assert created["bootable"] == "false" and created["multiattach"] is False
    assert created["volume_type"] == "__DEFAULT__"
    cinder(member, "DELETE", f"/volumes/{created['id']}")  # cleaned up below
    volume = make_volume()
    shown = validate(cinder(member, "GET", f"/volumes/{volume['id']}", version=version),
                     oracle.show_volume)["volume"]
    assert shown["status"] == "available" and shown["availability_zone"] == "nova"
    assert shown["os-vol-tenant-attr:tenant_id"] == member.project_id
    assert "os-vol-host-attr:host" not in shown, "the host is for admins"
    validate(cinder(member, "GET", "/volumes", version=version), oracle.list_volumes_no_detail)
    validate(cinder(member, "GET", "/volumes/detail", version=version),
             oracle.list_volumes_with_detail)


def test_microversion_fields(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume()
    base = cinder(member, "GET", f"/volumes/{volume['id']}").json()["volume"]
    for field in ("group_id", "volume_type_id", "consumes_quota", "shared_targets"):
        assert field not in base
    latest = cinder(member, "GET", f"/volumes/{volume['id']}", version="3.70").json()["volume"]
    assert latest["group_id"] is None
    assert latest["consumes_quota"] is True
    assert latest["shared_targets"] is False and latest["service_uuid"]
    types = cinder(member, "GET", "/types").json()["volume_types"]
    assert latest["volume_type_id"] == types[0]["id"]


def test_admins_see_the_host_and_migration_status(admin: ApiSession,
                                                  make_volume: VolumeFactory  # noqa: F811
                                                  ) -> None:
    volume = make_volume()
    shown = cinder(admin, "GET", f"/volumes/{volume['id']}", version="3.21").json()["volume"]
    assert re.fullmatch(".+@.+#.+", shown["os-vol-host-attr:host"])
    assert shown["os-vol-mig-status-attr:migstat"] is None
    assert shown["migration_status"] is None and shown["provider_id"] is None


def test_names_are_stripped(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    volume = make_volume(name="  padded  ", description=" d ")
    assert (volume["name"], volume["description"]) == ("padded", "d")
    long_name = cinder(member, "POST", "/volumes", json={"volume": {"size": 1,
                                                                   "name": "x" * 256}})
    assert fault(long_name, 400, "badRequest") == \
        "Invalid input received: name has 256 characters, more than 255."


@pytest.mark.parametrize(("size", "message"), [
    (0, "Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"),
    (-1, "Invalid input for field/attribute size. Value: -1. -1 is less than the minimum "
         "of 1"),
    ("abc", "Invalid input for field/attribute size. Value: abc. 'abc' does not match "
            "'^[0-9]+$'"),
    (None, "Invalid input received: Volume size 'None' must be an integer and greater "
           "than 0"),
])
def test_bad_sizes_are_400s(member: ApiSession, size: Any, message: str) -> None:
    body: dict[str, Any] = {"name": unique()}
    if size is not None:
        body["size"] = size
    response = cinder(member, "POST", "/volumes", json={"volume": body})
    assert fault(response, 400, "badRequest") == message


@pytest.mark.parametrize(("field", "value", "status", "message"), [
    ("volume_type", "no-such-type", 404, "Volume type with name no-such-type could not be "
                                         "found."),
    ("volume_type", UNKNOWN, 404, f"Volume type {UNKNOWN} could not be found."),
    ("snapshot_id", UNKNOWN, 404, f"Snapshot {UNKNOWN} could not be found."),
    ("source_volid", UNKNOWN, 404, f"Volume {UNKNOWN} could not be found."),
    ("imageRef", UNKNOWN, 400, "Invalid image identifier or unable to access requested "
                               "image."),
    ("availability_zone", "az9", 400, "Invalid input received: Availability zone 'az9' is "
                                      "invalid."),
    ("multiattach", True, 400, "multiattach parameter has been removed. The default behavior"
                               " is to use multiattach enabled volume types. Contact your "
                               "administrator to create a multiattach enabled volume type "
                               "and use it to create multiattach volumes."),
])
def test_bad_references_are_refused(member: ApiSession, field: str, value: Any, status: int,
                                    message: str) -> None:
    name = unique()
    response = cinder(member, "POST", "/volumes",
                      json={"volume": {"size": 1, "name": name, field: value}})
    kind = "itemNotFound" if status == 404 else "badRequest"
    assert fault(response, status, kind) == message
    listed = cinder(member, "GET", f"/volumes?name={name}").json()["volumes"]
    assert listed == [], "nothing was half-created"


def test_strict_bodies_from_3_53(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    loose = cinder(member, "POST", "/volumes",
                   json={"volume": {"size": 1, "name": unique(), "bogus": 1}})
    assert loose.status_code == 202
    cinder(member, "DELETE", f"/volumes/{loose.json()['volume']['id']}")
    strict = cinder(member, "POST", "/volumes", version="3.53",
                    json={"volume": {"size": 1, "bogus": 1}})
    assert "Additional properties are not allowed" in fault(strict, 400, "badRequest")
    volume = make_volume()
    empty = cinder(member, "PUT", f"/volumes/{volume['id']}", version="3.53",
                   json={"volume": {}})
    fault(empty, 400, "badRequest")


def test_create_from_an_image(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    image = image_named(member, "cirros")
    volume = make_volume(imageRef=image["id"])
    shown = validate(cinder(member, "GET", f"/volumes/{volume['id']}"),
                     schema.show_volume)["volume"]
    assert shown["bootable"] == "true"
    meta = shown["volume_image_metadata"]
    assert meta["image_id"] == image["id"] and meta["image_name"] == image["name"]
    assert meta["disk_format"] == image["disk_format"]
    assert meta["size"] == str(image["size"]) and meta["min_disk"] == "0"
    assert all(isinstance(v, str) for v in meta.values())
    by_name = make_volume(imageRef=image["name"])
    named = cinder(member, "GET", f"/volumes/{by_name['id']}").json()["volume"]
    assert named["volume_image_metadata"]["image_id"] == image["id"]


def test_an_image_larger_than_the_volume_is_refused(member: ApiSession) -> None:
    image = image_named(member, "debian")
    gib = -(-image["virtual_size"] // 1024**3)
    response = cinder(member, "POST", "/volumes",
                      json={"volume": {"size": gib - 1, "imageRef": image["id"]}})
    assert fault(response, 400, "badRequest") == (
        f"Image {image['id']} is unacceptable: Image virtual size is {gib}GB and doesn't "
        f"fit in a volume of size {gib - 1}GB.")


def test_create_from_a_volume(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    source = make_volume(size=2)
    cinder(member, "POST", f"/volumes/{source['id']}/action",
           json={"os-set_bootable": {"bootable": True}})
    clone = make_volume(source_volid=source["id"], size=None)
    assert clone["source_volid"] == source["id"]
    assert clone["size"] == 2 and clone["bootable"] == "true"
    smaller = cinder(member, "POST", "/volumes",
                     json={"volume": {"size": 1, "source_volid": source["id"]}})
    assert fault(smaller, 400, "badRequest") == (
        "Invalid input received: Volume size '1'GB cannot be smaller than original volume "
        "size  2GB. They must be >= original volume size.")


def test_image_metadata_actions(member: ApiSession, make_volume: VolumeFactory) -> None:  # noqa: F811
    image = image_named(member, "cirros")
    volume = make_volume(imageRef=image["id"])
    path = f"/volumes/{volume['id']}/action"
    updated = cinder(member, "POST", path,
                     json={"os-set_image_metadata": {"metadata": {"hw_disk_bus": "scsi"}}})
    merged = validate(updated, schema.update_volume_image_metadata)["metadata"]
    assert merged["hw_disk_bus"] == "scsi" and merged["image_id"] == image["id"]
    shown = cinder(member, "POST", path, json={"os-show_image_metadata": None})
    assert shown.status_code == 200 and shown.json()["metadata"] == merged
    removed = cinder(member, "POST", path, json={"os-unset_image_metadata": {"key":
                                                                            "hw_disk_bus"}})
    validate(removed, schema.delete_volume_image_metadata)
    again = cinder(member, "POST", path, json={"os-unset_image_metadata": {"key":
                                                                          "hw_disk_bus"}})
    assert fault(again, 404, "itemNotFound") == \
        f"Glance metadata for volume/snapshot {volume['id']} cannot be found."
    after = cinder(member, "GET", f"/volumes/{volume['id']}").json()["volume"]
    assert "hw_disk_bus" not in after["volume_image_metadata"]
