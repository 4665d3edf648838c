"""Helpers every compute controller shares: the caller's context, links, paging, query
parameters, request validation against the schema table, and action dispatch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from emulator.api.compute.schemas import schema_for
from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body, validate_query
from emulator.api.routing import Call, base_url
from emulator.context import RequestContext

#: Short alias for version comparisons in views: ``call.version >= V(2, 47)``.
V = APIVersion

#: Nova's ``[api] max_limit``.
MAX_LIMIT = 1000

COMPUTE_PREFIX = "/compute"


def context(call: Call) -> RequestContext:
    """The call's request context (made once a call: a page's views each ask for it)."""
    made = call.extra.get("context")
    if made is None:
        token = call.token
        made = call.extra["context"] = RequestContext(
            user_id=token.user.id,
            project_id=token.project.id if token.project else None,
            roles=token.role_names,
            request_id=getattr(call.request.state, "request_id", ""),
        )
    return made


def _prefixes(call: Call) -> tuple[str, str]:
    """The href and bookmark prefixes of the call's links (made once a call)."""
    made = call.extra.get("link prefixes")
    if made is None:
        project = f"/{call.url_project_id}" if call.url_project_id else ""
        root = f"{base_url(call.request)}{COMPUTE_PREFIX}"
        made = call.extra["link prefixes"] = (f"{root}/v2.1{project}/", f"{root}{project}/")
    return made


def href(call: Call, *parts: str) -> str:
    """``http://host/compute/v2.1[/project]/a/b``: the project only if the URL had it.

    NOTE: as Nova's view builders, parts are joined as they are (a flavor id with a space
    gives a link with a space); a header built from one must be encoded (``routing``)."""
    return _prefixes(call)[0] + "/".join(parts)


def bookmark(call: Call, *parts: str) -> str:
    """Like ``href`` without the version segment (Nova's bookmark links)."""
    return _prefixes(call)[1] + "/".join(parts)


def links(call: Call, collection: str, ident: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": href(call, collection, ident)},
        {"rel": "bookmark", "href": bookmark(call, collection, ident)},
    ]


def next_links(
    call: Call, collection: str, count: int, last_id: str | None
) -> list[dict[str, str]]:
    """Nova's ``*_links``: a ``next`` link only when the page is full."""
    query = call.request.query_params
    try:
        page = min(int(query.get("limit", MAX_LIMIT)), MAX_LIMIT)
    except ValueError:
        page = MAX_LIMIT
    if not page or count != page or last_id is None:
        return []
    params = dict(sorted(query.items()))
    params["marker"] = last_id
    return [{"rel": "next", "href": f"{href(call, collection)}?{urlencode(params)}"}]


def page_body(call: Call, key: str, collection: str, items: list[Any],
              last_id: str | None) -> dict[str, Any]:
    """A list's body: ``{key: items}``, with ``<key>_links`` (``next``) when the page is
    full."""
    body: dict[str, Any] = {key: items}
    links = next_links(call, collection, len(items), last_id)
    if links:
        body[f"{key}_links"] = links
    return body


def query_lists(call: Call) -> dict[str, list[str]]:
    """Query parameters as Nova's schemas see them: every name maps to a list of values."""
    result: dict[str, list[str]] = {}
    for name, value in call.request.query_params.multi_items():
        result.setdefault(name, []).append(value)
    return result


def check_query(call: Call, name: str) -> Mapping[str, Any] | None:
    """Validate the query with operation ``name``'s schema for the call's version; the
    schema used (None: the operation takes any query at this version)."""
    schema = schema_for(name, call.version)
    if schema is not None:
        validate_query(schema, query_lists(call))
    return schema


def check_body(call: Call, name: str) -> Any:
    """Validate the body with operation ``name``'s schema for the call's version (none
    yet at this version: any body passes); the body."""
    schema = schema_for(name, call.version)
    if schema is not None:
        validate_body(schema, call.body)
    return call.body


def last_value(call: Call, name: str) -> str | None:
    """The last value of a repeated query parameter (webob's ``MultiDict`` semantics)."""
    values = call.request.query_params.getlist(name)
    return values[-1] if values else None


def limit_and_marker(call: Call) -> tuple[int, str | None]:
    raw = last_value(call, "limit")
    limit = MAX_LIMIT
    if raw is not None:
        if not raw.isdigit():
            raise Fault(400, "limit must be an integer")
        limit = min(int(raw), MAX_LIMIT)
    return limit, last_value(call, "marker")


ActionHandler = Callable[[Call, Any], Awaitable[Response]]
#: ``POST .../action`` body key -> (first microversion, handler).
ActionTable = Mapping[str, tuple[APIVersion, ActionHandler]]


async def dispatch_action(call: Call, actions: ActionTable) -> Response:
    """``POST .../action``: exactly one key naming an action of ``actions`` that exists at
    the call's version (404 below it, as Nova's router)."""
    body = call.body
    if not isinstance(body, dict) or len(body) != 1:
        raise Fault(400, "Malformed request body")
    (name, payload), = body.items()
    entry = actions.get(name)
    if entry is None:
        raise Fault(400, f"There is no such action: {name}")
    since, handler = entry
    if call.version < since:
        raise Fault(404)
    return await handler(call, payload)
