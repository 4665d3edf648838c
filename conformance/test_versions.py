"""Compute and identity version documents: unauthenticated, absolute self links, Nova shapes."""

from __future__ import annotations

import httpx
from tempest.lib.api_schema.response.compute.v2_1 import versions as versions_schema

from conformance.client import ApiSession
from conformance.schemas import validate


def test_versions_list_is_nova_shaped(member: ApiSession, http: httpx.Client) -> None:
    response = http.get(f"{member.compute_root}/")
    body = validate(response, versions_schema.list_versions)
    assert [v["id"] for v in body["versions"]] == ["v2.0", "v2.1"]
    current = body["versions"][1]
    assert current["status"] == "CURRENT"
    assert current["min_version"] == "2.1"
    assert current["version"]  # the maximum microversion, a non-empty "2.N"


def test_every_self_link_is_absolute_and_fetchable(member: ApiSession, http: httpx.Client) -> None:
    body = http.get(f"{member.compute_root}/").json()
    for version in body["versions"]:
        selves = [link for link in version["links"] if link["rel"] == "self"]
        assert len(selves) == 1
        href = selves[0]["href"]
        assert href.startswith("http") and href.endswith("/")
        detail = http.get(href)
        validate(detail, versions_schema.get_one_version)
        assert detail.json()["version"]["id"] == version["id"]


def test_v21_document_without_and_with_trailing_slash(
    member: ApiSession, http: httpx.Client
) -> None:
    for url in (member.compute_url, f"{member.compute_url}/"):
        response = http.get(url)
        body = validate(response, versions_schema.get_one_version)
        doc = body["version"]
        assert doc["id"] == "v2.1"
        assert doc["media-types"] == [{
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2.1",
        }]
        rels = [link["rel"] for link in doc["links"]]
        assert rels == ["self", "describedby"]


def test_v21_document_matches_the_list(member: ApiSession, http: httpx.Client) -> None:
    listed = http.get(f"{member.compute_root}/").json()["versions"][1]
    shown = http.get(f"{member.compute_url}/").json()["version"]
    for key in ("id", "status", "version", "min_version", "updated"):
        assert listed[key] == shown[key]


def test_unknown_path_under_root_is_multiple_choices(
    member: ApiSession, http: httpx.Client
) -> None:
    response = http.get(f"{member.compute_root}/flavors")
    body = validate(response, versions_schema.get_version)
    hrefs = [c["links"][0]["href"] for c in body["choices"]]
    assert hrefs[1].endswith("/v2.1/flavors")


def test_v21_document_under_project_id(member: ApiSession, http: httpx.Client) -> None:
    """novaclient GETs the catalog URL, which often carries the project id."""
    response = member.compute("GET", f"/{member.project_id}/")
    body = validate(response, versions_schema.get_one_version)
    assert body["version"]["id"] == "v2.1"


def test_identity_version_documents(member: ApiSession, http: httpx.Client) -> None:
    v3 = http.get(member.account.auth_url)
    assert v3.status_code == 200
    doc = v3.json()["version"]
    assert doc["id"].startswith("v3.") and doc["status"] == "stable"
    assert doc["links"][0]["href"].rstrip("/") == member.account.auth_url
    root = http.get(member.account.auth_url.rsplit("/", 1)[0])
    assert root.status_code == 300
    values = root.json()["versions"]["values"]
    assert [v["id"] for v in values] == [doc["id"]]
