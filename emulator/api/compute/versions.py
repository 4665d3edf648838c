"""Compute version documents (no token needed), shaped exactly as Nova's."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.microversion import MAX_VERSION, MIN_VERSION
from emulator.api.routing import base_url, json_response

_MEDIA_BASE = "application/json"

#: The two versions Nova lists, v2.0 first (Tempest checks ``versions[0].id``).
VERSIONS: tuple[dict[str, Any], ...] = (
    {
        "id": "v2.0",
        "path": "v2",
        "status": "DEPRECATED",
        "version": "",
        "min_version": "",
        "updated": "2025-07-04T12:00:00Z",
        "media_type": "application/vnd.openstack.compute+json;version=2",
    },
    {
        "id": "v2.1",
        "path": "v2.1",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "media_type": "application/vnd.openstack.compute+json;version=2.1",
    },
)


def _root(request: Request, prefix: str) -> str:
    return f"{base_url(request)}{prefix}"


def _summary(v: dict[str, Any], root: str) -> dict[str, Any]:
    return {
        "id": v["id"],
        "status": v["status"],
        "version": v["version"],
        "min_version": v["min_version"],
        "updated": v["updated"],
        "links": [{"rel": "self", "href": f"{root}/{v['path']}/"}],
    }


def _detail(v: dict[str, Any], root: str) -> dict[str, Any]:
    doc = _summary(v, root)
    doc["links"].append(
        {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
    )
    doc["media-types"] = [{"base": _MEDIA_BASE, "type": v["media_type"]}]
    return doc


def list_versions(request: Request, prefix: str) -> Response:
    root = _root(request, prefix)
    return json_response({"versions": [_summary(v, root) for v in VERSIONS]})


def show_v2(request: Request, prefix: str) -> Response:
    return json_response({"version": _detail(VERSIONS[0], _root(request, prefix))})


def show_v21(request: Request, prefix: str) -> Response:
    return json_response({"version": _detail(VERSIONS[1], _root(request, prefix))})


def multiple_choices(request: Request, prefix: str, subpath: str) -> Response:
    """300 for any other path under the root: where that path lives in each version."""
    root = _root(request, prefix)
    choices = [
        {
            "id": v["id"],
            "status": v["status"],
            "links": [{"rel": "self", "href": f"{root}/{v['path']}{subpath}"}],
            "media-types": [{"base": _MEDIA_BASE, "type": v["media_type"]}],
        }
        for v in VERSIONS
    ]
    return json_response({"choices": choices}, status=300)
