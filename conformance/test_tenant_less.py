"""The optional project id in compute URLs (``/v2.1/{project_id}/...``).

Nova's router accepts every route with and without a leading ``{project_id:[0-9a-f-]+}``
segment. With it, links keep the segment; a project id other than the token's is a 400,
for admins too; a segment that cannot be a project id is an unknown route (404).
"""

from __future__ import annotations

import httpx
from tempest.lib.api_schema.response.compute.v2_1 import versions as versions_schema

from conformance.client import ApiSession
from conformance.schemas import validate


def mismatch(url_project: str, token_project: str) -> str:
    return (f"Malformed request URL: URL's project_id '{url_project}' doesn't match "
            f"Context's project_id '{token_project}'")


def assert_mismatch(response: httpx.Response, url_project: str, token_project: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"badRequest": {
        "code": 400, "message": mismatch(url_project, token_project)}}


# -- the version document -----------------------------------------------------------------


def test_version_document_under_the_project(member: ApiSession) -> None:
    response = member.compute("GET", f"/{member.project_id}/")
    body = validate(response, versions_schema.get_one_version)
    assert body["version"]["id"] == "v2.1"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.1"


def test_project_without_the_trailing_slash_is_404(member: ApiSession) -> None:
    assert member.compute("GET", f"/{member.project_id}").status_code == 404


def test_version_document_under_another_project(member: ApiSession, alt: ApiSession) -> None:
    response = member.compute("GET", f"/{alt.project_id}/")
    assert_mismatch(response, alt.project_id, member.project_id)


# -- resources ----------------------------------------------------------------------------


def _links(body: dict[str, object], key: str = "flavors") -> list[dict[str, str]]:
    items = body[key]
    assert isinstance(items, list) and items
    return [link for item in items for link in item["links"]]


def test_collection_with_and_without_the_project(member: ApiSession) -> None:
    plain = member.compute("GET", "/flavors")
    scoped = member.compute("GET", f"/{member.project_id}/flavors")
    assert plain.status_code == scoped.status_code == 200
    assert [f["id"] for f in plain.json()["flavors"]] == [
        f["id"] for f in scoped.json()["flavors"]]
    assert scoped.headers["X-OpenStack-Nova-API-Version"] == "2.1"


def test_links_keep_the_project_segment_only_when_the_url_had_it(member: ApiSession) -> None:
    project = member.project_id
    for link in _links(member.compute("GET", "/flavors").json()):
        assert project not in link["href"]
    for link in _links(member.compute("GET", f"/{project}/flavors").json()):
        if link["rel"] == "self":
            assert f"/v2.1/{project}/flavors/" in link["href"]
        elif link["rel"] == "bookmark":
            assert f"/{project}/flavors/" in link["href"]
            assert "/v2.1/" not in link["href"]  # bookmarks drop the version


def test_detail_and_show_under_the_project(member: ApiSession) -> None:
    project = member.project_id
    detail = member.compute("GET", f"/{project}/flavors/detail")
    assert detail.status_code == 200
    flavor_id = detail.json()["flavors"][0]["id"]
    shown = member.compute("GET", f"/{project}/flavors/{flavor_id}")
    assert shown.status_code == 200
    assert shown.json()["flavor"]["id"] == flavor_id
    self_link = next(k for k in shown.json()["flavor"]["links"] if k["rel"] == "self")
    assert self_link["href"].endswith(f"/v2.1/{project}/flavors/{flavor_id}")


def test_next_links_keep_the_project(member: ApiSession) -> None:
    project = member.project_id
    response = member.compute("GET", f"/{project}/flavors", params={"limit": 1})
    assert response.status_code == 200
    (next_link,) = response.json()["flavors_links"]
    assert next_link["rel"] == "next"
    assert f"/v2.1/{project}/flavors?" in next_link["href"]


def test_another_projects_id_is_400(member: ApiSession, alt: ApiSession) -> None:
    for path in ("/flavors", "/flavors/detail", "/flavors/1"):
        response = member.compute("GET", f"/{alt.project_id}{path}")
        assert_mismatch(response, alt.project_id, member.project_id)


def test_mismatch_comes_before_the_policy(member: ApiSession, alt: ApiSession) -> None:
    body = {"flavor": {"name": "tenant-less", "ram": 64, "vcpus": 1, "disk": 1}}
    response = member.compute("POST", f"/{alt.project_id}/flavors", json=body)
    assert_mismatch(response, alt.project_id, member.project_id)


def test_admins_get_no_exemption(admin: ApiSession, member: ApiSession) -> None:
    response = admin.compute("GET", f"/{member.project_id}/flavors")
    assert_mismatch(response, member.project_id, admin.project_id)


def test_unknown_hex_project_is_400(member: ApiSession) -> None:
    response = member.compute("GET", "/deadbeef-0000/flavors")
    assert_mismatch(response, "deadbeef-0000", member.project_id)


def test_segment_that_cannot_be_a_project_id_is_404(member: ApiSession) -> None:
    # Nova's router only takes [0-9a-f-]+ as a project id.
    for segment in ("not-a-project", "PROJECT", "os-keypairs-x"):
        assert member.compute("GET", f"/{segment}/flavors").status_code == 404
