"""Glance's version discovery: the versions document, and the URL segments it accepts."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.routing import json_response

#: Glance's versions document without a cache or multiple stores: (id, status).
VERSIONS: tuple[tuple[str, str], ...] = (
    ("v2.15", "SUPPORTED"), ("v2.9", "SUPPORTED"), ("v2.17", "CURRENT"),
    ("v2.7", "SUPPORTED"), ("v2.6", "SUPPORTED"), ("v2.5", "SUPPORTED"),
    ("v2.4", "SUPPORTED"), ("v2.3", "SUPPORTED"), ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"), ("v2.0", "SUPPORTED"),
)
#: URL version segments the negotiation accepts; all of them are the v2 API.
URL_VERSIONS = frozenset({"v2", "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6",
                          "v2.7", "v2.9", "v2.15", "v2.17"})


def versions_response(href: str, status: int) -> Response:
    """The versions list, every version pointing at ``href`` (the v2 root)."""
    return json_response({"versions": [
        {"id": ident, "status": state, "links": [{"rel": "self", "href": href}]}
        for ident, state in VERSIONS
    ]}, status=status)
