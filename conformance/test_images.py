"""The Image (Glance v2) slice: discovery, images, data, patches, tags, members, schemas,
visibility between projects, Glance's own error dialect, and the real clients.

Raw HTTP goes to the ``image`` endpoint of the catalog; openstacksdk and the ``openstack``
CLI go through their own discovery (``GET /image`` -> the v2 self link).
"""

from __future__ import annotations

import hashlib
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openstack.exceptions
import pytest

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess

PATCH = "application/openstack-images-v2.1-json-patch"
PATCH_V20 = "application/openstack-images-v2.0-json-patch"
OCTETS = {"Content-Type": "application/octet-stream"}
JSON = {"Accept": "application/json"}


def _qcow2(virtual_size: int = 1 << 20) -> bytes:
    """A small valid qcow2 (an empty disk), so bare qcow2 uploads pass format checks."""
    from emulator.image.formats import qcow2_image

    return qcow2_image(virtual_size)


def glance(session: ApiSession, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """``<image endpoint>/v2<path>``; errors come back as JSON unless told otherwise."""
    headers = {**JSON, **kwargs.pop("headers", {})}
    return session.request(method, f"{session.endpoint('image')}/v2{path}", headers=headers,
                           **kwargs)


def patch(session: ApiSession, image_id: str, ops: Any,
          media_type: str = PATCH) -> httpx.Response:
    return glance(session, "PATCH", f"/images/{image_id}", json=ops,
                  headers={"Content-Type": media_type})


def error_message(response: httpx.Response) -> str:
    """Glance's JSON error body: ``{"message", "code", "title"}`` (webob's, not Nova's)."""
    body = response.json()
    assert set(body) == {"message", "code", "title"}, body
    assert body["code"].startswith(str(response.status_code))
    return str(body["message"])


Factory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_image(member: ApiSession, admin: ApiSession) -> Iterator[Factory]:
    """Create images (as ``member`` unless told otherwise); all are deleted afterwards."""
    created: list[str] = []

    def make(session: ApiSession | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": f"conf-img-{uuid.uuid4().hex[:8]}", "disk_format": "raw",
                "container_format": "bare", **fields}
        response = glance(session or member, "POST", "/images", json=body)
        assert response.status_code == 201, response.text
        image: dict[str, Any] = response.json()
        created.append(image["id"])
        return image

    yield make
    for image_id in created:
        patch(admin, image_id, [{"op": "replace", "path": "/protected", "value": False}])
        glance(admin, "DELETE", f"/images/{image_id}")


def upload(session: ApiSession, image_id: str, data: bytes) -> httpx.Response:
    return glance(session, "PUT", f"/images/{image_id}/file", content=data, headers=OCTETS)


# -- discovery and schemas --------------------------------------------------------------------


def test_catalog_lists_the_image_endpoint(member: ApiSession) -> None:
    types = {service["type"] for service in member.token_body["catalog"]}
    assert {"identity", "compute", "image"} <= types
    assert member.endpoint("image").startswith("http")


@pytest.mark.parametrize("suffix", ["", "/"])
def test_version_discovery_is_a_300_list(member: ApiSession, http: httpx.Client,
                                         suffix: str) -> None:
    response = http.get(f"{member.endpoint('image')}{suffix}")
    assert response.status_code == 300
    versions = response.json()["versions"]
    assert {v["status"] for v in versions} <= {"CURRENT", "SUPPORTED"}
    assert [v for v in versions if v["status"] == "CURRENT"]
    for version in versions:
        assert version["id"].startswith("v2.")
        (link,) = version["links"]
        assert link["rel"] == "self"
        assert link["href"].startswith("http") and link["href"].endswith("/v2/")


def test_versions_path_is_200_and_unknown_versions_are_300(member: ApiSession,
                                                          http: httpx.Client) -> None:
    assert http.get(f"{member.endpoint('image')}/versions").status_code == 200
    assert http.get(f"{member.endpoint('image')}/v9/images").status_code == 300


def test_the_self_link_leads_to_the_api(member: ApiSession, http: httpx.Client) -> None:
    href = http.get(member.endpoint("image")).json()["versions"][0]["links"][0]["href"]
    response = member.request("GET", f"{href}images")
    assert response.status_code == 200
    assert "images" in response.json()


def test_api_needs_a_token(member: ApiSession) -> None:
    response = glance(member, "GET", "/images", token=None)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
    assert response.json()["error"]["code"] == 401


def test_image_schemas(member: ApiSession) -> None:
    image = glance(member, "GET", "/schemas/image")
    assert image.status_code == 200
    schema = image.json()
    assert schema["name"] == "image"
    assert schema["additionalProperties"] == {"type": "string"}
    for name in ("id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
                 "os_hash_algo", "os_hash_value", "size", "virtual_size", "min_ram",
                 "min_disk", "tags", "disk_format", "container_format"):
        assert name in schema["properties"], name
    assert "qcow2" in schema["properties"]["disk_format"]["enum"]
    images = glance(member, "GET", "/schemas/images").json()
    assert images["name"] == "images"
    assert images["properties"]["images"]["items"]["name"] == "image"
    assert {link["rel"] for link in images["links"]} == {"first", "next", "describedby"}
    for path in ("/schemas/member", "/schemas/members"):
        assert glance(member, "GET", path).status_code == 200


# -- the seeded images --------------------------------------------------------------------


@pytest.mark.emulator_only
def test_seeded_images_are_public_active_qcow2(member: ApiSession) -> None:
    names = {"cirros-0.6.2-x86_64-disk", "debian-12-genericcloud-amd64"}
    found = {}
    for name in names:
        listed = glance(member, "GET", "/images", params={"name": name}).json()["images"]
        assert len(listed) == 1, name
        found[name] = listed[0]
    for image in found.values():
        assert image["visibility"] == "public" and image["status"] == "active"
        assert (image["disk_format"], image["container_format"]) == ("qcow2", "bare")
        assert image["os_hash_algo"] == "sha512" and len(image["os_hash_value"]) == 128
        assert image["virtual_size"] > image["size"] > 0
        data = glance(member, "GET", f"/images/{image['id']}/file")
        assert data.status_code == 200
        assert data.content[:4] == b"QFI\xfb"
        assert hashlib.md5(data.content).hexdigest() == image["checksum"]
        assert data.headers["Content-MD5"] == image["checksum"]
    assert len({image["id"] for image in found.values()}) == 2


# -- create, show, list --------------------------------------------------------------------


def test_create_is_queued_with_extra_keys_as_properties(member: ApiSession,
                                                        make_image: Factory) -> None:
    image = make_image(foo="bar", os_distro="cirros", tags=["a", "b", "a"])
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"
    assert image["owner"] == member.project_id
    assert image["foo"] == "bar" and image["os_distro"] == "cirros"
    assert sorted(image["tags"]) == ["a", "b"]
    assert image["size"] is None and image["checksum"] is None
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    shown = glance(member, "GET", f"/images/{image['id']}")
    assert shown.status_code == 200
    assert shown.json() == image


def test_create_answers_201_with_a_location(member: ApiSession, make_image: Factory) -> None:
    body = {"name": "located", "disk_format": "raw", "container_format": "bare"}
    response = glance(member, "POST", "/images", json=body)
    assert response.status_code == 201
    image_id = response.json()["id"]
    assert response.headers["Location"].endswith(f"/v2/images/{image_id}")
    glance(member, "DELETE", f"/images/{image_id}")


def test_create_with_a_chosen_id_then_a_duplicate(member: ApiSession,
                                                  make_image: Factory) -> None:
    image_id = str(uuid.uuid4())
    assert make_image(id=image_id)["id"] == image_id
    again = glance(member, "POST", "/images", json={"id": image_id})
    assert again.status_code == 409


@pytest.mark.parametrize("body", [
    {"name": "x" * 256},
    {"name": 5},
    {"protected": "yes"},
    {"min_ram": "abc"},
    {"min_disk": 1.5},
    {"visibility": "everyone"},
    {"disk_format": "floppy"},
    {"container_format": "crate"},
    {"tags": "not-a-list"},
    {"tags": ["t" * 256]},
    {"id": "not-a-uuid"},
    {"custom": 42},
    {"kernel_id": "not-a-uuid"},
    ["a", "list"],
    {"k" * 256: "long key"},
    {"min_ram": -1},
    {"min_disk": 10**30},
], ids=lambda body: str(body)[:40])
def test_create_refuses_bad_values_with_400(member: ApiSession, body: Any) -> None:
    response = glance(member, "POST", "/images", json=body)
    assert response.status_code == 400, response.text
    assert error_message(response)


@pytest.mark.parametrize("raw", [b"{not json", b"", b'"a string"', b"42"])
def test_create_refuses_bodies_that_are_not_objects(member: ApiSession, raw: bytes) -> None:
    response = glance(member, "POST", "/images", content=raw,
                      headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_message(response)


@pytest.mark.parametrize("key, value", [
    ("status", "active"), ("checksum", "0" * 32), ("size", 1), ("virtual_size", 1),
    ("created_at", "2020-01-01T00:00:00Z"), ("self", "x"), ("file", "x"),
    ("os_hash_value", "x"), ("deleted", "x"), ("location", "x"), ("os_glance_x", "x"),
])
def test_create_refuses_read_only_and_reserved_keys_with_403(member: ApiSession, key: str,
                                                             value: Any) -> None:
    response = glance(member, "POST", "/images", json={"name": "ro", key: value})
    assert response.status_code == 403, response.text
    assert key in error_message(response)


def test_members_may_not_publicize_but_admins_may(member: ApiSession, admin: ApiSession,
                                                  make_image: Factory) -> None:
    refused = glance(member, "POST", "/images", json={"name": "pub", "visibility": "public"})
    assert refused.status_code == 403
    assert "publicize_image" in error_message(refused)
    assert make_image(admin, visibility="public")["visibility"] == "public"


def test_members_may_not_create_for_another_owner(member: ApiSession, alt: ApiSession) -> None:
    response = glance(member, "POST", "/images", json={"owner": alt.project_id})
    assert response.status_code == 403


def test_show_unknown_is_404_in_glance_words(member: ApiSession) -> None:
    missing = str(uuid.uuid4())
    response = glance(member, "GET", f"/images/{missing}")
    assert response.status_code == 404
    assert missing in error_message(response)
    assert "itemNotFound" not in response.text


@pytest.mark.parametrize("accept, media_type", [
    ("application/json", "application/json"),
    ("*/*", "text/html"),
    ("text/plain", "text/plain"),
    (None, "text/plain"),
])
def test_error_bodies_follow_accept(member: ApiSession, accept: str | None,
                                    media_type: str) -> None:
    headers = {"Accept": accept} if accept else {}
    url = f"{member.endpoint('image')}/v2/images/{uuid.uuid4()}"
    sent = {"X-Auth-Token": member.token, **headers}
    request = member.http.build_request("GET", url, headers=sent)
    if accept is None:
        del request.headers["Accept"]
    response = member.http.send(request)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith(media_type)
    assert "404 Not Found" in response.text


def test_list_shape_and_first(member: ApiSession) -> None:
    response = glance(member, "GET", "/images")
    assert response.status_code == 200
    body = response.json()
    assert body["first"] == "/v2/images"
    assert body["schema"] == "/v2/schemas/images"
    assert isinstance(body["images"], list)
    filtered = glance(member, "GET", "/images", params={"status": "active"}).json()
    assert filtered["first"] == "/v2/images?status=active"


def test_list_pages_with_next(member: ApiSession, make_image: Factory) -> None:
    tag = f"page-{uuid.uuid4().hex[:8]}"
    made = {make_image(tags=[tag])["id"] for _ in range(3)}
    seen: list[str] = []
    page = glance(member, "GET", "/images", params={"tag": tag, "limit": 2}).json()
    assert len(page["images"]) == 2 and "next" in page
    seen += [i["id"] for i in page["images"]]
    assert page["next"].startswith("/v2/images?")
    root = member.endpoint("image")
    page = member.request("GET", f"{root}{page['next']}").json()
    seen += [i["id"] for i in page["images"]]
    while "next" in page:
        page = member.request("GET", f"{root}{page['next']}").json()
        seen += [i["id"] for i in page["images"]]
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))


def test_list_default_order_is_newest_first(member: ApiSession, make_image: Factory) -> None:
    tag = f"order-{uuid.uuid4().hex[:8]}"
    ids = [make_image(tags=[tag])["id"] for _ in range(3)]
    listed = glance(member, "GET", "/images", params={"tag": tag}).json()["images"]
    assert [i["id"] for i in listed] == ids[::-1]


def test_list_sorts(member: ApiSession, make_image: Factory) -> None:
    tag = f"sort-{uuid.uuid4().hex[:8]}"
    for name in ("b-img", "c-img", "a-img"):
        make_image(name=name, tags=[tag])

    def names(**params: Any) -> list[str]:
        body = glance(member, "GET", "/images", params={"tag": tag, **params}).json()
        return [i["name"] for i in body["images"]]

    assert names(sort="name:asc") == ["a-img", "b-img", "c-img"]
    assert names(sort="name:desc") == ["c-img", "b-img", "a-img"]
    assert names(sort_key="name", sort_dir="asc") == ["a-img", "b-img", "c-img"]
    paged = glance(member, "GET", "/images",
                   params={"tag": tag, "sort": "name:asc", "limit": 1}).json()
    after = member.request("GET", f"{member.endpoint('image')}{paged['next']}").json()
    assert [i["name"] for i in after["images"]][:1] == ["b-img"]


@pytest.mark.parametrize("params", [
    {"sort_key": "bogus"},
    {"sort_dir": "sideways"},
    {"sort": "name:up"},
    {"sort": "name", "sort_key": "name"},
    {"limit": "ten"},
    {"limit": "-1"},
    {"visibility": "everyone"},
    {"os_hidden": "maybe"},
    {"member_status": "unsure"},
    {"changes-since": "2020-01-01T00:00:00Z"},
    {"created_at": "gte:yesterday"},
    {"name": "bogus:op"},
    {"size_min": "big"},
    {"size_max": str(10**30)},
    {"marker": str(uuid.uuid4())},
], ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()))
def test_list_refuses_bad_queries_with_400(member: ApiSession, params: dict[str, str]) -> None:
    response = glance(member, "GET", "/images", params=params)
    assert response.status_code == 400, response.text
    assert error_message(response)


def test_list_filters(member: ApiSession, make_image: Factory) -> None:
    tag = f"filter-{uuid.uuid4().hex[:8]}"
    small = make_image(name=f"{tag}-small", tags=[tag], flavour="vanilla")
    big = make_image(name=f"{tag}-big", tags=[tag], flavour="chocolate")
    assert upload(member, small["id"], b"s" * 10).status_code == 204
    assert upload(member, big["id"], b"b" * 1000).status_code == 204
    queued = make_image(name=f"{tag}-queued", tags=[tag])

    def ids(**params: Any) -> set[str]:
        response = glance(member, "GET", "/images", params={"tag": tag, **params})
        assert response.status_code == 200, response.text
        return {i["id"] for i in response.json()["images"]}

    assert ids() == {small["id"], big["id"], queued["id"]}
    assert ids(name=f"{tag}-big") == {big["id"]}
    assert ids(name=f"in:{tag}-big,{tag}-small") == {big["id"], small["id"]}
    assert ids(status="queued") == {queued["id"]}
    assert ids(status="active") == {small["id"], big["id"]}
    assert ids(flavour="vanilla") == {small["id"]}
    assert ids(size_min=100) == {big["id"]}
    assert ids(size_max=100) == {small["id"]}
    assert ids(size=10) == {small["id"]}
    assert ids(owner=member.project_id) == ids()
    assert ids(visibility="shared") == ids()
    assert ids(visibility="public") == set()
    assert ids(disk_format="raw", container_format="bare") == ids()
    assert ids(created_at="gte:2000-01-01T00:00:00Z") == ids()
    assert ids(created_at="lt:2000-01-01T00:00:00Z") == set()
    both = glance(member, "GET", "/images", params=[("tag", tag), ("tag", "other")])
    assert both.json()["images"] == []


def test_hidden_images_list_only_on_request(member: ApiSession, make_image: Factory) -> None:
    tag = f"hidden-{uuid.uuid4().hex[:8]}"
    hidden = make_image(tags=[tag], os_hidden=True)
    shown = make_image(tags=[tag])
    default = glance(member, "GET", "/images", params={"tag": tag}).json()["images"]
    assert [i["id"] for i in default] == [shown["id"]]
    only_hidden = glance(member, "GET", "/images",
                         params={"tag": tag, "os_hidden": "true"}).json()["images"]
    assert [i["id"] for i in only_hidden] == [hidden["id"]]
    assert glance(member, "GET", f"/images/{hidden['id']}").status_code == 200


# -- visibility between projects -------------------------------------------------------------


def test_private_images_of_another_project_are_404(member: ApiSession, alt: ApiSession,
                                                   admin: ApiSession,
                                                   make_image: Factory) -> None:
    image = make_image(visibility="private")
    assert glance(alt, "GET", f"/images/{image['id']}").status_code == 404
    listed = glance(alt, "GET", "/images", params={"id": image["id"]}).json()["images"]
    assert listed == []
    assert patch(alt, image["id"], [{"op": "replace", "path": "/name", "value": "x"}]
                 ).status_code == 404
    assert glance(alt, "DELETE", f"/images/{image['id']}").status_code == 404
    assert glance(alt, "GET", f"/images/{image['id']}/file").status_code == 404
    assert glance(admin, "GET", f"/images/{image['id']}").status_code == 200
    admin_list = glance(admin, "GET", "/images", params={"id": image["id"]}).json()["images"]
    assert [i["id"] for i in admin_list] == [image["id"]]


def test_public_images_are_read_only_to_other_projects(member: ApiSession, admin: ApiSession,
                                                       make_image: Factory) -> None:
    image = make_image(admin, visibility="public")
    assert glance(member, "GET", f"/images/{image['id']}").status_code == 200
    renamed = patch(member, image["id"], [{"op": "replace", "path": "/name", "value": "x"}])
    assert renamed.status_code == 403
    assert glance(member, "DELETE", f"/images/{image['id']}").status_code == 403
    assert glance(member, "PUT", f"/images/{image['id']}/tags/t").status_code == 403


def test_community_images_show_but_list_only_when_asked(member: ApiSession, alt: ApiSession,
                                                        make_image: Factory) -> None:
    image = make_image(visibility="community")
    assert glance(alt, "GET", f"/images/{image['id']}").status_code == 200
    default = glance(alt, "GET", "/images", params={"id": image["id"]}).json()["images"]
    assert default == []
    community = glance(alt, "GET", "/images",
                       params={"id": image["id"], "visibility": "community"}).json()
    assert [i["id"] for i in community["images"]] == [image["id"]]
    owned = glance(member, "GET", "/images", params={"id": image["id"]}).json()["images"]
    assert [i["id"] for i in owned] == [image["id"]]


def test_sharing_through_members(member: ApiSession, alt: ApiSession,
                                 make_image: Factory) -> None:
    image = make_image(visibility="shared")
    image_id = image["id"]
    assert glance(alt, "GET", f"/images/{image_id}").status_code == 404
    added = glance(member, "POST", f"/images/{image_id}/members",
                   json={"member": alt.project_id})
    assert added.status_code == 200, added.text
    assert added.json()["status"] == "pending"
    assert added.json()["schema"] == "/v2/schemas/member"
    again = glance(member, "POST", f"/images/{image_id}/members",
                   json={"member": alt.project_id})
    assert again.status_code == 409
    # A pending member can see the image but does not list it by default.
    assert glance(alt, "GET", f"/images/{image_id}").status_code == 200
    assert glance(alt, "GET", "/images", params={"id": image_id}).json()["images"] == []
    pending = glance(alt, "GET", "/images", params={"id": image_id, "member_status": "pending"})
    assert [i["id"] for i in pending.json()["images"]] == [image_id]
    # Only the member may accept.
    refused = glance(member, "PUT", f"/images/{image_id}/members/{alt.project_id}",
                     json={"status": "accepted"})
    assert refused.status_code == 403
    accepted = glance(alt, "PUT", f"/images/{image_id}/members/{alt.project_id}",
                      json={"status": "accepted"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    listed = glance(alt, "GET", "/images", params={"id": image_id}).json()["images"]
    assert [i["id"] for i in listed] == [image_id]
    members = glance(member, "GET", f"/images/{image_id}/members").json()
    assert [m["member_id"] for m in members["members"]] == [alt.project_id]
    shown = glance(alt, "GET", f"/images/{image_id}/members/{alt.project_id}")
    assert shown.status_code == 200
    assert glance(member, "DELETE",
                  f"/images/{image_id}/members/{alt.project_id}").status_code == 204
    assert glance(alt, "GET", f"/images/{image_id}").status_code == 404


def test_only_shared_images_have_members(member: ApiSession, alt: ApiSession,
                                         make_image: Factory) -> None:
    image = make_image(visibility="private")
    response = glance(member, "POST", f"/images/{image['id']}/members",
                      json={"member": alt.project_id})
    assert response.status_code == 403
    for body in ({}, {"member": ""}, [1]):
        bad = glance(member, "POST", f"/images/{image['id']}/members", json=body)
        assert bad.status_code == 400


# -- data --------------------------------------------------------------------------------------


def test_upload_then_download(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    empty = glance(member, "GET", f"/images/{image['id']}/file")
    assert empty.status_code == 204 and empty.content == b""
    data = uuid.uuid4().bytes * 5000
    response = upload(member, image["id"], data)
    assert response.status_code == 204, response.text
    shown = glance(member, "GET", f"/images/{image['id']}").json()
    assert shown["status"] == "active"
    assert shown["size"] == shown["virtual_size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    downloaded = glance(member, "GET", f"/images/{image['id']}/file",
                        headers={"Accept-Encoding": "gzip"})
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert downloaded.headers["Content-Type"] == "application/octet-stream"
    assert downloaded.headers["Content-MD5"] == shown["checksum"]
    assert downloaded.headers["Content-Length"] == str(len(data))
    assert "Content-Encoding" not in downloaded.headers


def test_download_a_range(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    upload(member, image["id"], b"0123456789")
    part = glance(member, "GET", f"/images/{image['id']}/file", headers={"Range": "bytes=2-5"})
    assert part.status_code == 206
    assert part.content == b"2345"
    assert part.headers["Content-Range"] == "bytes 2-5/10"
    tail = glance(member, "GET", f"/images/{image['id']}/file", headers={"Range": "bytes=-3"})
    assert tail.content == b"789"
    beyond = glance(member, "GET", f"/images/{image['id']}/file",
                    headers={"Range": "bytes=50-60"})
    assert beyond.status_code == 416


def test_qcow2_upload_records_the_virtual_size(member: ApiSession, make_image: Factory) -> None:
    image = make_image(disk_format="qcow2")
    data = _qcow2(64 << 20)
    assert upload(member, image["id"], data).status_code == 204
    shown = glance(member, "GET", f"/images/{image['id']}").json()
    assert shown["size"] == len(data) and shown["virtual_size"] == 64 << 20


def test_upload_refuses_data_not_in_the_disk_format(member: ApiSession,
                                                    make_image: Factory) -> None:
    image = make_image(disk_format="qcow2")
    response = upload(member, image["id"], b"not a qcow2 at all" * 10)
    assert response.status_code == 415
    assert "does not match" in error_message(response)
    shown = glance(member, "GET", f"/images/{image['id']}").json()
    assert shown["status"] == "queued" and shown["size"] is None
    assert upload(member, image["id"], _qcow2()).status_code == 204


def test_upload_needs_formats(member: ApiSession, make_image: Factory) -> None:
    image = make_image(disk_format=None, container_format=None)
    response = upload(member, image["id"], b"data")
    assert response.status_code == 400
    assert "disk_format" in error_message(response)
    assert glance(member, "GET", f"/images/{image['id']}").json()["status"] == "queued"


def test_upload_twice_is_409(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    assert upload(member, image["id"], b"once").status_code == 204
    again = upload(member, image["id"], b"twice")
    assert again.status_code == 409
    assert "active" in error_message(again)


def test_upload_wants_octet_stream(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    response = glance(member, "PUT", f"/images/{image['id']}/file", content=b"x",
                      headers={"Content-Type": "application/json"})
    assert response.status_code == 415


def test_upload_to_someone_elses_image(member: ApiSession, alt: ApiSession,
                                       make_image: Factory) -> None:
    image = make_image(visibility="community")
    assert upload(alt, image["id"], b"data").status_code == 403
    assert upload(alt, str(uuid.uuid4()), b"data").status_code == 404


def _cut_off_upload(session: ApiSession, image_id: str, sent: bytes, declared: int) -> None:
    """PUT the image file declaring ``declared`` bytes, send ``sent``, then hang up."""
    url = urlsplit(f"{session.endpoint('image')}/v2/images/{image_id}/file")
    head = (f"PUT {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"X-Auth-Token: {session.token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port or 80), timeout=10) as sock:
        sock.sendall(head + sent)
        time.sleep(0.3)
        sock.shutdown(socket.SHUT_RDWR)


def test_an_upload_cut_off_midway_leaves_the_image_queued(member: ApiSession,
                                                          make_image: Factory) -> None:
    image = make_image()
    _cut_off_upload(member, image["id"], b"x" * 50_000, declared=1_000_000)
    deadline = time.monotonic() + 10
    while True:
        shown = glance(member, "GET", f"/images/{image['id']}").json()
        if shown["status"] != "saving" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert shown["status"] == "queued"
    assert shown["size"] is None and shown["checksum"] is None
    assert glance(member, "GET", f"/images/{image['id']}/file").status_code == 204
    # The image takes a complete upload afterwards.
    assert upload(member, image["id"], b"complete").status_code == 204
    assert glance(member, "GET", f"/images/{image['id']}/file").content == b"complete"


# -- patch -----------------------------------------------------------------------------------


def test_patch_properties_and_attributes(member: ApiSession, make_image: Factory) -> None:
    image = make_image(foo="bar", gone="soon")
    response = patch(member, image["id"], [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/color", "value": "blue"},
        {"op": "replace", "path": "/foo", "value": "baz"},
        {"op": "remove", "path": "/gone"},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]},
        {"op": "replace", "path": "/min_ram", "value": 512},
        {"op": "replace", "path": "/min_disk", "value": 2},
        {"op": "replace", "path": "/os_hidden", "value": True},
        {"op": "replace", "path": "/visibility", "value": "private"},
        {"op": "add", "path": "/protected", "value": True},
    ])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "renamed" and body["color"] == "blue" and body["foo"] == "baz"
    assert "gone" not in body
    assert sorted(body["tags"]) == ["x", "y"]
    assert (body["min_ram"], body["min_disk"]) == (512, 2)
    assert body["os_hidden"] is True and body["protected"] is True
    assert body["visibility"] == "private"
    assert glance(member, "GET", f"/images/{image['id']}").json() == body


def test_patch_draft_4_dialect(member: ApiSession, make_image: Factory) -> None:
    image = make_image(foo="bar")
    response = patch(member, image["id"], [{"replace": "/foo", "value": "baz"},
                                           {"add": "/new", "value": "v"}], PATCH_V20)
    assert response.status_code == 200, response.text
    assert response.json()["foo"] == "baz" and response.json()["new"] == "v"
    present = patch(member, image["id"], [{"add": "/foo", "value": "x"}], PATCH_V20)
    assert present.status_code == 409


def test_patch_wrong_media_type_is_415(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    response = patch(member, image["id"], [], media_type="application/json")
    assert response.status_code == 415
    assert PATCH in response.headers["Accept-Patch"]


@pytest.mark.parametrize("ops, status", [
    ({"op": "replace"}, 400),
    ("nonsense", 400),
    ([1], 400),
    ([{"path": "/name", "value": "x"}], 400),
    ([{"op": "move", "path": "/name", "value": "x"}], 400),
    ([{"op": "replace", "value": "x"}], 400),
    ([{"op": "replace", "path": "name", "value": "x"}], 400),
    ([{"op": "replace", "path": "/a/b", "value": "x"}], 400),
    ([{"op": "replace", "path": "/a~2", "value": "x"}], 400),
    ([{"op": "replace", "path": 7, "value": "x"}], 400),
    ([{"op": "replace", "path": "/name"}], 400),
    ([{"op": "replace", "path": "/name", "value": "n" * 256}], 400),
    ([{"op": "replace", "path": "/min_ram", "value": "lots"}], 400),
    ([{"op": "replace", "path": "/min_ram", "value": -5}], 400),
    ([{"op": "replace", "path": "/min_ram", "value": 10**20}], 400),
    ([{"op": "add", "path": "/" + "k" * 256, "value": "x"}], 400),
    ([{"op": "replace", "path": "/protected", "value": "yes"}], 400),
    ([{"op": "replace", "path": "/visibility", "value": "everyone"}], 400),
    ([{"op": "add", "path": "/custom", "value": 3}], 400),
    ([{"op": "replace", "path": "/tags", "value": "x"}], 400),
    ([{"op": "replace", "path": "/status", "value": "active"}], 403),
    ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403),
    ([{"op": "replace", "path": "/checksum", "value": "0" * 32}], 403),
    ([{"op": "add", "path": "/deleted", "value": "x"}], 403),
    ([{"op": "remove", "path": "/name"}], 403),
    ([{"op": "replace", "path": "/visibility", "value": "public"}], 403),
    ([{"op": "replace", "path": "/owner", "value": "someone"}], 403),
    ([{"op": "replace", "path": "/nope", "value": "x"}], 409),
    ([{"op": "remove", "path": "/nope"}], 409),
], ids=lambda value: str(value)[:50])
def test_bad_patches(member: ApiSession, make_image: Factory, ops: Any, status: int) -> None:
    image = make_image()
    response = patch(member, image["id"], ops)
    assert response.status_code == status, response.text
    assert error_message(response)
    assert glance(member, "GET", f"/images/{image['id']}").json() == image


def test_patch_bad_json_is_400(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    response = glance(member, "PATCH", f"/images/{image['id']}", content=b"[{",
                      headers={"Content-Type": PATCH})
    assert response.status_code == 400
    assert "JSON" in error_message(response)


def test_disk_format_is_fixed_once_data_is_in(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    changed = patch(member, image["id"], [{"op": "replace", "path": "/disk_format",
                                           "value": "qcow2"}])
    assert changed.status_code == 200
    assert upload(member, image["id"], _qcow2()).status_code == 204
    refused = patch(member, image["id"], [{"op": "replace", "path": "/disk_format",
                                           "value": "raw"}])
    assert refused.status_code == 403


# -- tags, protection, deletion, deactivation -------------------------------------------------


def test_tags(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    path = f"/images/{image['id']}/tags"
    assert glance(member, "PUT", f"{path}/alpha").status_code == 204
    assert glance(member, "PUT", f"{path}/alpha").status_code == 204
    assert glance(member, "PUT", f"{path}/beta").status_code == 204
    assert sorted(glance(member, "GET", f"/images/{image['id']}").json()["tags"]) == [
        "alpha", "beta"]
    assert glance(member, "DELETE", f"{path}/alpha").status_code == 204
    assert glance(member, "DELETE", f"{path}/alpha").status_code == 404
    assert glance(member, "GET", f"/images/{image['id']}").json()["tags"] == ["beta"]
    assert glance(member, "PUT", f"{path}/{'t' * 256}").status_code == 400
    assert glance(member, "PUT", f"/images/{uuid.uuid4()}/tags/x").status_code == 404


def test_protected_images_refuse_deletion(member: ApiSession, make_image: Factory) -> None:
    image = make_image(protected=True)
    refused = glance(member, "DELETE", f"/images/{image['id']}")
    assert refused.status_code == 403
    assert "protected" in error_message(refused)
    patch(member, image["id"], [{"op": "replace", "path": "/protected", "value": False}])
    assert glance(member, "DELETE", f"/images/{image['id']}").status_code == 204
    assert glance(member, "GET", f"/images/{image['id']}").status_code == 404
    assert glance(member, "DELETE", f"/images/{image['id']}").status_code == 404


def test_deactivate_and_reactivate(member: ApiSession, admin: ApiSession,
                                   make_image: Factory) -> None:
    image = make_image(admin, visibility="public")
    upload(admin, image["id"], b"data")
    actions = f"/images/{image['id']}/actions"
    assert glance(member, "POST", f"{actions}/deactivate").status_code == 403
    assert glance(admin, "POST", f"{actions}/deactivate").status_code == 204
    assert glance(admin, "GET", f"/images/{image['id']}").json()["status"] == "deactivated"
    assert glance(member, "GET", f"/images/{image['id']}/file").status_code == 403
    assert glance(admin, "GET", f"/images/{image['id']}/file").status_code == 200
    assert glance(admin, "POST", f"{actions}/reactivate").status_code == 204
    assert glance(member, "GET", f"/images/{image['id']}/file").content == b"data"


def test_unknown_path_and_method(member: ApiSession, make_image: Factory) -> None:
    assert glance(member, "GET", "/nothing-here").status_code == 404
    # An empty image id (Tempest's ``*_null_id`` tests) is no route at all.
    assert glance(member, "GET", "/images/").status_code == 404
    assert glance(member, "DELETE", "/images/").status_code == 404
    image = make_image()
    response = glance(member, "POST", f"/images/{image['id']}")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


# -- Glance's words ----------------------------------------------------------------------------

CIRROS = "be844b13-3d9f-4d4f-8805-b348e2a4ef07"
_MEMBER_FORM = 'Expected a member in the form: {"member": "image_id"}'
_ONE_OP = '"add", "remove", or "replace".'

#: (method, path, request, status, message): ``{image}`` is a private image of the caller,
#: ``{shared}`` a shared one, ``{missing}`` an id nobody has, ``{alt}`` another project.
WORDS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("POST", "/images", {"content": b""}, 400, "Body expected in request."),
    ("POST", "/images", {"content": b"{x"}, 400, "Malformed JSON in request body."),
    ("POST", "/images", {"content": b'"s"'}, 400, "Unexpected body type. Expected list/dict."),
    ("POST", "/images", {"json": {"self": "x"}}, 403, "Attribute 'self' is read-only."),
    ("POST", "/images", {"json": {"status": "active"}}, 403,
     "Attribute 'status' is read-only."),
    ("POST", "/images", {"json": {"k" * 256: "v"}}, 400,
     "Custom property should not be greater than 255 characters."),
    ("POST", "/images", {"json": {"locations": []}}, 403, "Attribute 'locations' is reserved."),
    ("POST", "/images", {"json": {"os_glance_x": "v"}}, 403,
     "Attribute 'os_glance_x' is reserved."),
    ("PATCH", "/images/{image}", {"json": {"op": "add"}}, 400,
     "Request body must be a JSON array of operation objects."),
    ("PATCH", "/images/{image}", {"json": [1]}, 400, "Operations must be JSON objects."),
    ("PATCH", "/images/{image}", {"json": [{"path": "/a", "value": "x"}]}, 400,
     "Unable to find `op` in JSON Schema change. It must be one of the following: add, "
     "remove, replace."),
    ("PATCH", "/images/{image}", {"json": [{"op": "move", "path": "/a", "value": "x"}]}, 400,
     "Invalid operation: `move`. It must be one of the following: add, remove, replace."),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "value": "x"}]}, 400,
     "Unable to find 'path' in JSON Schema change"),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "path": "a", "value": "x"}]}, 400,
     'Pointer `a` does not start with "/".'),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "path": "/a//b", "value": "x"}]},
     400, 'Pointer `/a//b` contains adjacent "/".'),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "path": "/a/", "value": "x"}]}, 400,
     'Pointer `/a/` end with "/".'),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "path": "/a~2", "value": "x"}]}, 400,
     'Pointer `/a~2` contains "~" not part of a recognized escape sequence.'),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "path": "/a/b", "value": "x"}]}, 400,
     "Invalid JSON pointer for this resource: '/a/b'"),
    ("PATCH", "/images/{image}", {"json": [{"op": "replace", "path": "/name"}]}, 400,
     'Operation "replace" requires a member named "value".'),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "path": "/" + "k" * 256,
                                            "value": "x"}]}, 400,
     "Custom property should not be greater than 255 characters."),
    ("PATCH", "/images/{image}", {"json": [{"op": "replace", "path": "/size", "value": 1}]},
     403, "Attribute 'size' is read-only."),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "path": "/deleted", "value": "x"}]},
     403, "Attribute 'deleted' is reserved."),
    ("PATCH", "/images/{image}", {"json": [{"op": "add", "path": "/locations", "value": []}]},
     403, "It's not allowed to update locations if locations are invisible."),
    ("PATCH", "/images/{image}", {"json": [{"value": "x"}], "draft": 4}, 400,
     f"Operation objects must contain exactly one member named {_ONE_OP}"),
    ("PATCH", "/images/{image}", {"json": [{"add": "/a", "remove": "/a", "value": "x"}],
                                  "draft": 4}, 400,
     f"Operation objects must contain only one member named {_ONE_OP}"),
    ("GET", "/images?os_hidden=maybe", {}, 400,
     "Invalid value 'maybe' for 'os_hidden' filter. Valid values are 'true' or 'false'."),
    ("GET", "/images?protected=maybe", {}, 400,
     "Invalid value 'maybe' for 'protected' filter. Valid values are 'true' or 'false'."),
    ("GET", "/images?sort_key=bogus", {}, 400,
     "Invalid sort key: bogus. It must be one of the following: name, status, "
     "container_format, disk_format, size, id, created_at, updated_at."),
    ("GET", "/images?sort=name:up", {}, 400, "Invalid sort direction: up"),
    ("GET", "/images?sort=name&sort_dir=asc", {}, 400,
     "Old and new sorting syntax cannot be combined"),
    ("GET", "/images?sort_key=name&sort_key=id&sort_key=size&sort_dir=asc&sort_dir=desc",
     {}, 400, "Number of sort dirs does not match the number of sort keys"),
    ("GET", "/images?limit=ten", {}, 400, "limit param must be an integer"),
    ("GET", "/images?limit=-1", {}, 400, "limit param must be positive"),
    ("GET", "/images?member_status=unsure", {}, 400, "Invalid status: unsure"),
    ("GET", "/images?visibility=everyone", {}, 400, "Invalid visibility value: everyone"),
    ("GET", "/images?changes-since=2020-01-01", {}, 400,
     'The "changes-since" filter is no longer available on v2.'),
    ("DELETE", "/images/{missing}", {}, 404, "Failed to find image {missing} to delete"),
    ("POST", "/images/{image}", {}, 405, "The method POST is not allowed for this resource."),
    ("PUT", "/images/{image}/file", {"content": b"x", "headers": {"Content-Type":
                                                                 "text/plain"}}, 415,
     "Invalid content type text/plain"),
    ("PUT", "/images/{image}/file", {"content": b"x", "headers": {
        **OCTETS, "x-openstack-image-size": "lots"}}, 400,
     "Invalid or missing image size in request headers."),
    ("PUT", "/images/{missing}/tags/x", {}, 404, "Image {missing} not found."),
    ("DELETE", "/images/{missing}/tags/x", {}, 404, "Image {missing} not found."),
    ("DELETE", "/images/{image}/tags/nope", {}, 404, "The resource could not be found."),
    ("PUT", f"/images/{CIRROS}/tags/x", {}, 403,
     f"Not allowed to update tags for image {CIRROS}."),
    ("DELETE", f"/images/{CIRROS}/tags/x", {}, 403,
     f"Not allowed to delete tags for image {CIRROS}."),
    ("POST", "/images/{shared}/members", {"json": {}}, 400, "Member to be added not specified"),
    ("POST", "/images/{shared}/members", {"json": {"member": ""}}, 400,
     "Member can't be empty"),
    ("POST", "/images/{shared}/members", {"json": [1]}, 400, _MEMBER_FORM),
    ("POST", "/images/{shared}/members", {"json": {"member": 5}}, 400, _MEMBER_FORM),
    ("PUT", "/images/{shared}/members/{alt}", {"json": {}}, 400, "Status not specified"),
    ("PUT", "/images/{shared}/members/{alt}", {"json": [1]}, 400,
     'Expected a status in the form: {"status": "status"}'),
    ("GET", "/images/{missing}/members", {}, 404, "Image {missing} not found."),
    ("POST", "/images/{missing}/members", {"json": {"member": "p"}}, 404,
     "Image {missing} not found."),
    ("GET", "/images/{image}/members", {}, 403,
     "Not allowed to list members for image {image}: Only shared images have members."),
    ("POST", "/images/{image}/members", {"json": {"member": "p"}}, 403,
     "Not allowed to create members for image {image}."),
    ("GET", "/images/{image}/members/{alt}", {}, 403,
     "You are not authorized to lookup the members of the image {image}."),
    ("PUT", "/images/{image}/members/{alt}", {"json": {"status": "accepted"}}, 403,
     "Not allowed to update members for image {image}."),
    ("DELETE", "/images/{image}/members/{alt}", {}, 403,
     "Not allowed to delete members for image {image}."),
]


@pytest.mark.emulator_only
@pytest.mark.parametrize("method, path, request_, status, message", WORDS,
                         ids=[f"{m} {p} {s}" for m, p, _, s, _ in WORDS])
def test_faults_are_in_glance_words(member: ApiSession, alt: ApiSession, make_image: Factory,
                                    method: str, path: str, request_: dict[str, Any],
                                    status: int, message: str) -> None:
    names = {"image": make_image(visibility="private")["id"],
             "shared": make_image(visibility="shared")["id"],
             "missing": str(uuid.uuid4()), "alt": alt.project_id}
    sent = dict(request_)
    if method == "PATCH":
        draft = PATCH_V20 if sent.pop("draft", 10) == 4 else PATCH
        sent["headers"] = {"Content-Type": draft}
    elif "content" in sent:
        sent.setdefault("headers", {"Content-Type": "application/json"})
    for name, value in names.items():
        path, message = path.replace(f"{{{name}}}", value), message.replace(f"{{{name}}}", value)
    response = glance(member, method, path, **sent)
    assert response.status_code == status, response.text
    assert error_message(response) == f"{message}<br /><br />\n\n\n"


@pytest.mark.emulator_only
@pytest.mark.parametrize("kind", ["tag", "member"])
def test_the_tag_and_member_limits_are_413_in_glance_words(member: ApiSession,
                                                          make_image: Factory,
                                                          kind: str) -> None:
    image_id = make_image(visibility="shared",
                          tags=[f"t{n}" for n in range(128 if kind == "tag" else 0)])["id"]
    if kind == "member":
        for n in range(128):
            added = glance(member, "POST", f"/images/{image_id}/members",
                           json={"member": f"project-{n}"})
            assert added.status_code == 200, added.text
        response = glance(member, "POST", f"/images/{image_id}/members",
                          json={"member": "one-too-many"})
    else:
        response = glance(member, "PUT", f"/images/{image_id}/tags/one-too-many")
    assert response.status_code == 413, response.text
    assert error_message(response) == (
        f"Image {kind} limit exceeded for image {image_id}: The limit has been exceeded on "
        f"the number of allowed image {kind}s. Attempted: 129, Maximum: 128:"
        "<br /><br />\n\n\n")


# -- openstacksdk ------------------------------------------------------------------------------


def test_sdk_round_trip(conn: Any) -> None:
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    data = _qcow2()
    image = conn.image.create_image(name, data=data, disk_format="qcow2",
                                    container_format="bare", allow_duplicates=True)
    try:
        fetched = conn.image.get_image(image.id)
        assert fetched.status == "active"
        assert fetched.size == len(data)
        assert fetched.checksum == hashlib.md5(data).hexdigest()
        assert fetched.properties["owner_specified.openstack.object"] == f"images/{name}"
        assert conn.image.find_image(name).id == image.id
        assert image.id in {i.id for i in conn.image.images()}
        downloaded = conn.image.download_image(image)
        assert downloaded.content == data
        conn.image.update_image(image, name=f"{name}-2", color="green")
        updated = conn.image.get_image(image.id)
        assert updated.name == f"{name}-2" and updated.properties["color"] == "green"
        conn.image.add_tag(image, "sdk-tag")
        assert conn.image.get_image(image.id).tags == ["sdk-tag"]
    finally:
        conn.image.delete_image(image, ignore_missing=True)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.image.get_image(image.id)


def test_sdk_finds_hidden_images_by_name(conn: Any, make_image: Factory) -> None:
    """find_image looks by id, then by name, then by name among hidden images."""
    image = make_image(os_hidden=True)
    found = conn.image.find_image(image["name"])
    assert found is not None and found.id == image["id"] and found.is_hidden is True


@pytest.mark.emulator_only
def test_sdk_finds_the_seeded_image_by_name_and_id(conn: Any) -> None:
    found = conn.image.find_image("cirros-0.6.2-x86_64-disk")
    assert found is not None and found.visibility == "public"
    assert conn.image.find_image(found.id).name == "cirros-0.6.2-x86_64-disk"


# -- the openstack CLI -----------------------------------------------------------------------


def test_cli_image_round_trip(member: ApiSession, tmp_path: Path) -> None:
    name = f"cli-img-{uuid.uuid4().hex[:8]}"
    source = tmp_path / "disk.img"
    source.write_bytes(b"raw disk bytes " * 1000)
    created = openstack_json(member.account, "image", "create", "--file", str(source),
                             "--disk-format", "raw", "--container-format", "bare",
                             "--property", "stage=created", name)
    try:
        assert created["name"] == name and created["status"] == "active"
        listed = openstack_json(member.account, "image", "list")
        assert name in {row["Name"] for row in listed}
        set_result = run_openstack(member.account, "image", "set", "--property", "stage=set",
                                   "--tag", "cli", name)
        assert set_result.returncode == 0, set_result.stderr
        shown = openstack_json(member.account, "image", "show", name)
        assert shown["properties"]["stage"] == "set"
        assert "cli" in shown["tags"]
        target = tmp_path / "saved.img"
        saved = run_openstack(member.account, "image", "save", "--file", str(target), name)
        assert saved.returncode == 0, saved.stderr
        assert target.read_bytes() == source.read_bytes()
    finally:
        deleted = run_openstack(member.account, "image", "delete", name)
    assert deleted.returncode == 0, deleted.stderr
    missing = run_openstack(member.account, "image", "show", name)
    assert missing.returncode != 0


# -- persistence of the store -----------------------------------------------------------------


@pytest.mark.emulator_only
def test_store_beside_the_state_file_survives_a_crash_mid_upload(http: httpx.Client) -> None:
    """Data lives in ``<state dir>/images``; a crash during an upload leaves ``queued``."""
    with tempfile.TemporaryDirectory(prefix="image-state-") as workdir:
        store = Path(workdir) / "images"
        with EmulatorProcess(state=f"sqlite:///{workdir}/state.db") as emulator:
            member = ApiSession(seeded_accounts(emulator.url)["member"], http)
            body = {"disk_format": "raw", "container_format": "bare"}
            kept = glance(member, "POST", "/images", json={"name": "kept", **body}).json()
            assert upload(member, kept["id"], b"persistent bytes").status_code == 204
            assert (store / kept["id"]).read_bytes() == b"persistent bytes"
            crashed = glance(member, "POST", "/images", json={"name": "crash", **body}).json()
            url = urlsplit(f"{member.endpoint('image')}/v2/images/{crashed['id']}/file")
            head = (f"PUT {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                    f"X-Auth-Token: {member.token}\r\n"
                    "Content-Type: application/octet-stream\r\n"
                    "Content-Length: 1000000\r\n\r\n").encode()
            with socket.create_connection((url.hostname, url.port or 80), timeout=10) as sock:
                sock.sendall(head + b"y" * 20_000)
                deadline = time.monotonic() + 10
                while glance(member, "GET", f"/images/{crashed['id']}").json()[
                        "status"] != "saving":
                    assert time.monotonic() < deadline, "the upload never started"
                    time.sleep(0.05)
                assert list(store.glob(".*.part"))
                assert emulator.proc is not None
                emulator.proc.kill()
                emulator.proc.wait()
                emulator.proc = None
            emulator.start()
            again = ApiSession(member.account, http)
            shown = glance(again, "GET", f"/images/{kept['id']}").json()
            assert shown["status"] == "active" and shown["size"] == 16
            assert glance(again, "GET", f"/images/{kept['id']}/file").content == (
                b"persistent bytes")
            recovered = glance(again, "GET", f"/images/{crashed['id']}").json()
            assert recovered["status"] == "queued" and recovered["size"] is None
            assert not list(store.glob(".*.part"))
            assert not (store / crashed["id"]).exists()
            assert upload(again, crashed["id"], b"second try").status_code == 204


@pytest.mark.emulator_only
def test_no_image_request_was_answered_with_a_500(emulator: EmulatorProcess) -> None:
    """Every bad input above got a Glance 4xx; a 500 in the log is a bug (runs last)."""
    failures = [line for line in emulator.log().splitlines()
                if "nova_emulator.access" in line
                and ("/image/" in line or "/images" in line) and " 500 " in line]
    assert failures == []
