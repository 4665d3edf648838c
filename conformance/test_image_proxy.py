"""Nova's image proxy (``/images``): Glance images in Nova's shapes, validated with Tempest's
compute schemas, up to 2.35 (metadata up to 2.38), then 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tempest.lib.services.compute.images_client import ImagesClient

from conformance.client import ApiSession
from conformance.schemas import for_version, validate

PATCH = "application/openstack-images-v2.1-json-patch"
PROXY_VERSIONS = [None, "2.1", "2.35"]
METADATA_VERSIONS = [None, "2.1", "2.35", "2.38"]


def _schema(version: str | None) -> Any:
    return for_version(ImagesClient, version)


def glance(session: ApiSession, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return session.request(method, f"{session.endpoint('image')}/v2{path}", **kwargs)


Factory = Callable[..., dict[str, Any]]


@pytest.fixture
def make_image(member: ApiSession, admin: ApiSession) -> Iterator[Factory]:
    """Glance images (as ``member`` unless told otherwise), with ``data`` uploaded if given."""
    created: list[str] = []

    def make(session: ApiSession | None = None, data: bytes | None = None,
             **fields: Any) -> dict[str, Any]:
        owner = session or member
        body = {"name": f"proxy-{uuid.uuid4().hex[:8]}", "disk_format": "raw",
                "container_format": "bare", **fields}
        response = glance(owner, "POST", "/images", json=body)
        assert response.status_code == 201, response.text
        image: dict[str, Any] = response.json()
        created.append(image["id"])
        if data is not None:
            uploaded = glance(owner, "PUT", f"/images/{image['id']}/file", content=data,
                              headers={"Content-Type": "application/octet-stream"})
            assert uploaded.status_code == 204, uploaded.text
        return image

    yield make
    for image_id in created:
        glance(admin, "PATCH", f"/images/{image_id}", headers={"Content-Type": PATCH},
               json=[{"op": "replace", "path": "/protected", "value": False}])
        glance(admin, "DELETE", f"/images/{image_id}")


# -- shapes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", PROXY_VERSIONS)
def test_list_and_detail_validate(member: ApiSession, make_image: Factory,
                                  version: str | None) -> None:
    make_image(data=b"some bytes")
    schema = _schema(version)
    brief = validate(member.compute("GET", "/images", version=version), schema.list_images)
    detail = validate(member.compute("GET", "/images/detail", version=version),
                      schema.list_images_details)
    assert [i["id"] for i in brief["images"]] == [i["id"] for i in detail["images"]]
    assert brief["images"]
    for image in brief["images"]:
        assert set(image) == {"id", "name", "links"}


@pytest.mark.parametrize("version", PROXY_VERSIONS)
def test_show_validates_and_maps_glance_fields(member: ApiSession, make_image: Factory,
                                               version: str | None) -> None:
    data = b"0123456789" * 10
    image = make_image(data=data, min_ram=128, min_disk=1, color="blue")
    response = member.compute("GET", f"/images/{image['id']}", version=version)
    shown = validate(response, _schema(version).get_image)["image"]
    assert shown["id"] == image["id"] and shown["name"] == image["name"]
    assert (shown["status"], shown["progress"]) == ("ACTIVE", 100)
    assert (shown["minRam"], shown["minDisk"]) == (128, 1)
    assert shown["OS-EXT-IMG-SIZE:size"] == len(data)
    assert shown["metadata"] == {"color": "blue"}
    assert shown["created"].endswith("Z") and "." not in shown["created"]
    assert "server" not in shown and "OS-DCF:diskConfig" not in shown


def test_links_include_the_glance_alternate(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    shown = member.compute("GET", f"/images/{image['id']}").json()["image"]
    rels = {link["rel"]: link for link in shown["links"]}
    assert rels["self"]["href"] == f"{member.compute_url}/images/{image['id']}"
    assert rels["bookmark"]["href"] == f"{member.compute_root}/images/{image['id']}"
    assert rels["alternate"]["type"] == "application/vnd.openstack.image"
    assert rels["alternate"]["href"].endswith(f"/images/{image['id']}")


def test_links_keep_the_project_id_segment(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    response = member.compute("GET", f"/{member.project_id}/images/{image['id']}")
    shown = validate(response, _schema(None).get_image)["image"]
    self_link = next(link for link in shown["links"] if link["rel"] == "self")
    assert f"/{member.project_id}/images/{image['id']}" in self_link["href"]


def test_queued_image_is_saving(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    response = member.compute("GET", f"/images/{image['id']}")
    shown = validate(response, _schema(None).get_image)["image"]
    assert (shown["status"], shown["progress"]) == ("SAVING", 25)
    assert shown["OS-EXT-IMG-SIZE:size"] == 0


def test_server_link_and_disk_config(member: ApiSession, make_image: Factory) -> None:
    server_id = str(uuid.uuid4())
    image = make_image(instance_uuid=server_id, auto_disk_config="true")
    response = member.compute("GET", f"/images/{image['id']}")
    shown = validate(response, _schema(None).get_image)["image"]
    assert shown["server"]["id"] == server_id
    hrefs = [link["href"] for link in shown["server"]["links"]]
    assert hrefs == [f"{member.compute_url}/servers/{server_id}",
                     f"{member.compute_root}/servers/{server_id}"]
    assert shown["OS-DCF:diskConfig"] == "AUTO"
    filtered = member.compute("GET", "/images", params={"server": server_id}).json()
    assert [i["id"] for i in filtered["images"]] == [image["id"]]
    by_url = member.compute("GET", "/images",
                            params={"server": f"{member.compute_url}/servers/{server_id}"})
    assert [i["id"] for i in by_url.json()["images"]] == [image["id"]]


# -- microversion window -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/images", "/images/detail", "/images/{id}"])
def test_proxy_is_gone_from_2_36(member: ApiSession, make_image: Factory, path: str) -> None:
    image = make_image()
    url = path.format(id=image["id"])
    assert member.compute("GET", url, version="2.35").status_code == 200
    response = member.compute("GET", url, version="2.36")
    assert response.status_code == 404
    assert response.json()["itemNotFound"]["code"] == 404
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.36"
    assert member.compute("DELETE", f"/images/{image['id']}", version="2.36").status_code == 404


def test_metadata_is_gone_from_2_39(member: ApiSession, make_image: Factory) -> None:
    image = make_image(color="blue")
    path = f"/images/{image['id']}/metadata"
    assert member.compute("GET", path, version="2.38").status_code == 200
    assert member.compute("GET", path, version="2.39").status_code == 404
    assert member.compute("GET", f"{path}/color", version="2.39").status_code == 404


# -- lists -------------------------------------------------------------------------------------


def test_filters(member: ApiSession, make_image: Factory) -> None:
    tag = uuid.uuid4().hex[:8]
    active = make_image(name=f"{tag}-active", data=b"x", min_ram=256, kind=tag)
    queued = make_image(name=f"{tag}-queued", kind=tag, image_type="snapshot")

    def ids(**params: Any) -> set[str]:
        response = member.compute("GET", "/images/detail", params={"property-kind": tag,
                                                                   **params})
        validate(response, _schema(None).list_images_details)
        return {i["id"] for i in response.json()["images"]}

    assert ids() == {active["id"], queued["id"]}
    assert ids(name=f"{tag}-active") == {active["id"]}
    assert ids(status="ACTIVE") == {active["id"]}
    assert ids(status="SAVING") == set()  # Glance knows "queued", not Nova's "SAVING"
    assert ids(status="queued") == {queued["id"]}
    assert ids(type="snapshot") == {queued["id"]}
    # NOTE: minRam goes to Glance as an equality filter on min_ram.
    assert ids(minRam=256) == {active["id"]}
    assert ids(**{"changes-since": "2000-01-01T00:00:00Z"}) == {active["id"], queued["id"]}
    assert ids(**{"changes-since": "2999-01-01T00:00:00Z"}) == set()


def test_paging_with_images_links(member: ApiSession, make_image: Factory) -> None:
    tag = uuid.uuid4().hex[:8]
    made = {make_image(kind=tag)["id"] for _ in range(3)}
    seen: list[str] = []
    params: dict[str, Any] = {"property-kind": tag, "limit": 2}
    response = validate(member.compute("GET", "/images", params=params),
                        _schema(None).list_images)
    seen += [i["id"] for i in response["images"]]
    (link,) = response["images_links"]
    assert link["rel"] == "next" and "marker=" in link["href"]
    following = validate(member.request("GET", link["href"]), _schema(None).list_images)
    seen += [i["id"] for i in following["images"]]
    assert "images_links" not in following
    assert sorted(seen) == sorted(made)


@pytest.mark.parametrize("params", [{"limit": "-1"}, {"limit": "x"}, {"page_size": "x"},
                                    {"marker": str(uuid.uuid4())}])
def test_bad_list_queries_are_400(member: ApiSession, params: dict[str, str]) -> None:
    response = member.compute("GET", "/images", params=params)
    assert response.status_code == 400
    assert response.json()["badRequest"]["code"] == 400


def test_visibility_follows_glance(member: ApiSession, alt: ApiSession,
                                   make_image: Factory) -> None:
    image = make_image(visibility="private")
    response = alt.compute("GET", f"/images/{image['id']}")
    assert response.status_code == 404
    assert response.json()["itemNotFound"]["message"] == "Image not found."
    listed = alt.compute("GET", "/images").json()["images"]
    assert image["id"] not in {i["id"] for i in listed}


# -- delete --------------------------------------------------------------------------------


def test_delete(member: ApiSession, make_image: Factory) -> None:
    image = make_image()
    response = member.compute("DELETE", f"/images/{image['id']}")
    validate(response, _schema(None).delete)
    assert member.compute("GET", f"/images/{image['id']}").status_code == 404
    assert member.compute("DELETE", f"/images/{image['id']}").status_code == 404


def test_delete_refusals_are_403(member: ApiSession, admin: ApiSession,
                                 make_image: Factory) -> None:
    public = make_image(admin, visibility="public")
    response = member.compute("DELETE", f"/images/{public['id']}")
    assert response.status_code == 403
    assert response.json()["forbidden"]["message"] == "You are not allowed to delete the image."
    protected = make_image(protected=True)
    assert member.compute("DELETE", f"/images/{protected['id']}").status_code == 403


# -- metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", METADATA_VERSIONS)
def test_metadata_round_trip(member: ApiSession, make_image: Factory,
                             version: str | None) -> None:
    schema = _schema(version)
    image = make_image(color="blue", size_hint="small")
    path = f"/images/{image['id']}/metadata"
    listed = validate(member.compute("GET", path, version=version), schema.image_metadata)
    assert listed["metadata"] == {"color": "blue", "size_hint": "small"}
    one = validate(member.compute("GET", f"{path}/color", version=version),
                   schema.image_meta_item)
    assert one == {"meta": {"color": "blue"}}
    merged = validate(member.compute("POST", path, version=version,
                                     json={"metadata": {"shape": "round", "color": "red"}}),
                      schema.image_metadata)
    assert merged["metadata"] == {"color": "red", "size_hint": "small", "shape": "round"}
    item = validate(member.compute("PUT", f"{path}/shape", version=version,
                                   json={"meta": {"shape": "square"}}), schema.image_meta_item)
    assert item == {"meta": {"shape": "square"}}
    replaced = validate(member.compute("PUT", path, version=version,
                                       json={"metadata": {"only": "this"}}),
                        schema.image_metadata)
    assert replaced == {"metadata": {"only": "this"}}
    assert glance(member, "GET", f"/images/{image['id']}").json()["only"] == "this"
    assert "color" not in glance(member, "GET", f"/images/{image['id']}").json()
    validate(member.compute("DELETE", f"{path}/only", version=version), schema.delete)
    assert member.compute("GET", path, version=version).json() == {"metadata": {}}


def test_metadata_errors(member: ApiSession, admin: ApiSession,
                         make_image: Factory) -> None:
    image = make_image(color="blue")
    path = f"/images/{image['id']}/metadata"
    assert member.compute("GET", f"{path}/absent").status_code == 404
    deleted = member.compute("DELETE", f"{path}/absent")
    assert deleted.status_code == 404
    assert deleted.json()["itemNotFound"]["message"] == "Invalid metadata key"
    mismatch = member.compute("PUT", f"{path}/color", json={"meta": {"other": "x"}})
    assert mismatch.status_code == 400
    assert mismatch.json()["badRequest"]["message"] == "Request body and URI mismatch"
    bad_items: list[Any] = [{"meta": {"a": "1", "b": "2"}}, {"meta": {}}, {"meta": {"color": 1}}]
    for body in bad_items:
        assert member.compute("PUT", f"{path}/color", json=body).status_code == 400
    bad_sets: list[Any] = [{}, {"metadata": "x"}, {"metadata": {"k": "v" * 256}},
                           {"metadata": {"bad/key": "v"}}]
    for body in bad_sets:
        assert member.compute("POST", path, json=body).status_code == 400
    too_many = {f"key{i}": "v" for i in range(129)}
    over = member.compute("PUT", path, json={"metadata": too_many})
    assert over.status_code == 403
    assert over.json()["forbidden"]["message"] == "Image metadata limit exceeded"
    missing = member.compute("GET", f"/images/{uuid.uuid4()}/metadata")
    assert missing.status_code == 404
    public = make_image(admin, visibility="public")
    refused = member.compute("POST", f"/images/{public['id']}/metadata",
                             json={"metadata": {"a": "b"}})
    assert refused.status_code == 403
    assert refused.json()["forbidden"]["message"] == f"Not authorized for image {public['id']}."
