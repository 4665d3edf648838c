"""Cinder's version discovery: one version, v3.0, with its microversion range
(``cinder/api/versions.py``); ``/`` answers 300, ``/v3/`` 200, both the same list."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.routing import json_response
from emulator.api.volume.microversion import MAX_VERSION, MIN_VERSION

#: When the newest microversion we honour was released (Cinder's ``UPDATED``).
UPDATED = "2023-08-31T00:00:00Z"


def versions_response(root: str, status: int) -> Response:
    """The versions list; ``root`` is the service's URL without the version."""
    return json_response({"versions": [{
        "id": "v3.0",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": UPDATED,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": f"{root}/v3/"},
        ],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}],
    }]}, status=status)
