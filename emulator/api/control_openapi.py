"""``GET /_emulator/openapi.json``: an OpenAPI 3.1 document of every route the emulator
serves, generated from the route listing (``control_routes``) and the compute request
schemas (``schemas.routes``), for schema-driven clients and fuzzers (the conformance
suite runs schemathesis against it).

Each operation has its path parameters, the microversion header its service reads (an
enum of the route's window: its lower end, its upper end or ``latest``), the token its
route needs, and for a write a JSON body. A compute route with request schemas has its
query parameters and its body as Nova's schemas say, any of their microversions' (3.1's
schemas are JSON Schema, which Nova's are); the server action route's body is any of its
actions' schemas (an action without one: ``{"<action>": anything}``). Other services'
bodies are any JSON value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from emulator import __version__
from emulator.api import microversion as compute_versions
from emulator.api.compute.schemas import SCHEMAS
from emulator.api.compute.schemas.routes import ROUTE_SCHEMAS
from emulator.api.routing import Call, json_response
from emulator.api.volume import microversion as volume_versions

_PARAM = re.compile(r"\{(\w+)\}")
#: The methods that carry a JSON body.
WRITES = ("POST", "PUT", "PATCH")
#: Service -> (microversion header, its value's prefix, the lowest version, the highest).
VERSION_HEADERS: Mapping[str, tuple[str, str, str, str]] = {
    "compute": ("X-OpenStack-Nova-API-Version", "", str(compute_versions.MIN_VERSION),
                str(compute_versions.MAX_VERSION)),
    "volume": ("OpenStack-API-Version", "volume ", str(volume_versions.MIN_VERSION),
               str(volume_versions.MAX_VERSION)),
}


def _version_parameter(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    header = VERSION_HEADERS.get(entry["service"])
    if header is None:
        return None
    name, prefix, lowest, highest = header
    versions = [entry["min_version"] or lowest, entry["max_version"] or highest]
    if entry["max_version"] is None:
        versions.append("latest")
    return {"name": name, "in": "header", "required": False,
            "schema": {"type": "string", "enum": sorted({prefix + v for v in versions})}}


def _versions(name: str) -> list[Any]:
    """Every microversion's schema of ``name``, each once."""
    found: list[Any] = []
    for _since, schema in SCHEMAS[name]:
        if schema not in found:
            found.append(schema)
    return found


def _any_of(schemas: list[Any]) -> dict[str, Any]:
    return dict(schemas[0]) if len(schemas) == 1 else {"anyOf": schemas}


def action_schemas() -> dict[str, str]:
    """Action name -> the schema whose body is that action (its one required key)."""
    return {required[0]: name for name, versions in SCHEMAS.items()
            for _since, schema in versions[-1:]
            if len(required := schema.get("required", [])) == 1
            and not name.endswith("_query")}


def _body(entry: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if "actions" in entry:
        named = action_schemas()
        schema = {"anyOf": [
            versioned for action in entry["actions"] for versioned in (
                _versions(named[action]) if action in named else [
                    {"type": "object", "required": [action], "properties": {action: {}},
                     "additionalProperties": False}])]}
    elif entry["service"] == "compute":
        body, _ = ROUTE_SCHEMAS.get((entry["method"], entry["template"]), (None, None))
        if body is not None:
            schema = _any_of(_versions(body))
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _query_parameters(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    if entry["service"] != "compute":
        return []
    _, query = ROUTE_SCHEMAS.get((entry["method"], entry["template"]), (None, None))
    if query is None:
        return []
    parameters: dict[str, list[Any]] = {}
    for schema in _versions(query):
        for name, value in schema.get("properties", {}).items():
            if value not in parameters.setdefault(name, []):
                parameters[name].append(value)
    return [{"name": name, "in": "query", "required": False, "schema": _any_of(values),
             "style": "form", "explode": True} for name, values in parameters.items()]


def operation(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI operation of one route listing entry."""
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(entry["path"])]
    version = _version_parameter(entry)
    if version is not None:
        parameters.append(version)
    parameters += _query_parameters(entry)
    described: dict[str, Any] = {
        "operationId": f"{entry['method']} {entry['path']}",
        "tags": [entry["service"]],
        "parameters": parameters,
        "security": [{"token": []}] if entry["authenticated"] else [],
        "responses": {"default": {"description": "the service's answer or fault"}}}
    if entry["min_version"] or entry["max_version"]:
        described["description"] = (f"microversions {entry['min_version'] or 'any'} to "
                                    f"{entry['max_version'] or 'latest'}")
    if entry["method"] in WRITES:
        described["requestBody"] = _body(entry)
    return described


def openapi_document(entries: list[dict[str, Any]]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for entry in entries:
        paths.setdefault(entry["path"], {})[entry["method"].lower()] = operation(entry)
    return {
        "openapi": "3.1.0",
        "info": {"title": "nova-emulator", "version": __version__,
                 "description": "Every route the emulator serves (Keystone, Nova, Glance, "
                                "Neutron, Cinder and its control plane)."},
        "paths": paths,
        "components": {"securitySchemes": {"token": {
            "type": "apiKey", "in": "header", "name": "X-Auth-Token"}}},
    }


class OpenAPIControl:
    """The handler of ``GET /_emulator/openapi.json``."""

    def __init__(self, entries: Callable[[], list[dict[str, Any]]]) -> None:
        self.entries = entries

    async def show(self, call: Call) -> Response:
        return json_response(openapi_document(self.entries()))
