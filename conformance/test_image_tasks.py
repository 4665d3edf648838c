"""Glance's image tasks API (``GET /v2/images/{id}/tasks``, Glance 2.12), which Tempest's
snapshot tests poll: the tasks an import ran for an image. The emulator's image service
has no import, so every image's list is empty; an image the caller cannot see is Glance's
bare 404. The versions document lists Glance's versions without multiple stores or a
cache (as a default Glance does): 2.17 is CURRENT, so the route's version is served.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession

UNKNOWN_UUID = "8d8d5b5d-1a53-4bd1-a3d3-3e1c7a6a2c9f"


def glance(session: ApiSession, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return session.request(method, f"{session.endpoint('image')}/v2{path}", **kwargs)


@pytest.fixture
def private_image(member: ApiSession, admin: ApiSession) -> Iterator[str]:
    response = glance(member, "POST", "/images", json={
        "name": "tasks-probe", "disk_format": "raw", "container_format": "bare"})
    assert response.status_code == 201, response.text
    image_id = str(response.json()["id"])
    yield image_id
    glance(admin, "DELETE", f"/images/{image_id}")


def test_an_image_made_without_an_import_has_no_tasks(member: ApiSession,
                                                      private_image: str) -> None:
    response = glance(member, "GET", f"/images/{private_image}/tasks")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"tasks": []}
    # A public image too (the seeded ones were uploaded, not imported).
    public = glance(member, "GET", "/images?visibility=public").json()["images"][0]
    assert glance(member, "GET", f"/images/{public['id']}/tasks").json() == {"tasks": []}


def test_tasks_of_an_image_the_caller_cannot_see_are_a_404(
        member: ApiSession, alt: ApiSession, private_image: str) -> None:
    for session, image_id in ((alt, private_image), (member, UNKNOWN_UUID)):
        response = glance(session, "GET", f"/images/{image_id}/tasks",
                          headers={"Accept": "application/json"})
        assert response.status_code == 404, response.text
        # NOTE: Glance's controller raises a bare HTTPNotFound: webob's own words.
        assert response.json()["message"].startswith("The resource could not be found.")


def test_the_versions_document_serves_the_tasks_version(member: ApiSession) -> None:
    root = member.endpoint("image").rstrip("/")
    versions = member.request("GET", f"{root}/versions").json()["versions"]
    current = [v["id"] for v in versions if v["status"] == "CURRENT"]
    assert current == ["v2.17"]

    def number(ident: str) -> tuple[int, ...]:
        return tuple(int(part) for part in ident[1:].split("."))

    assert number(current[0]) >= (2, 12)
