"""The compute request-schema table (``emulator.api.compute.schemas.routes``) against the
route table and the handlers' own checks, and the OpenAPI document built from them."""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from typing import Any

from emulator.api.app import Emulator
from emulator.api.compute.schemas import SCHEMAS
from emulator.api.compute.schemas.routes import ROUTE_SCHEMAS
from emulator.api.control_openapi import action_schemas, openapi_document
from emulator.api.control_routes import RouteListing
from emulator.config import Config

CHECK = re.compile(r'check_(body|query)\(call, "(\w+)"\)')


def _emulator() -> Emulator:
    return Emulator(Config())


def _source(handler: Any) -> str:
    function = getattr(handler, "__func__", handler)
    while isinstance(function, functools.partial):
        function = getattr(function.func, "__func__", function.func)
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):  # a closure made at run time: checked by its maker
        return ""


def test_the_table_names_real_routes_and_schemas_and_agrees_with_the_handlers() -> None:
    emulator = _emulator()
    compute = next(s for s in emulator.services if s.prefix == "/compute")
    routes = {(r.method, r.template): r for r in compute.table.routes}
    for key, (body, query) in ROUTE_SCHEMAS.items():
        assert key in routes, key
        for name in (body, query):
            assert name is None or name in SCHEMAS, (key, name)
    checked = 0
    for key, route in routes.items():
        for kind, name in CHECK.findall(_source(route.handler)):
            checked += 1
            listed = ROUTE_SCHEMAS.get(key, (None, None))[0 if kind == "body" else 1]
            assert listed == name, f"{key}: the handler checks its {kind} with {name!r}, " \
                                   f"the table says {listed!r}"
    assert checked >= 75, checked  # the handlers' checks were found
    asyncio.run(emulator.cloud.stop())


def test_every_action_with_a_schema_is_described_by_it() -> None:
    emulator = _emulator()
    named = action_schemas()
    entries = RouteListing(lambda: emulator.services, lambda: emulator.actions).entries()
    document = openapi_document(entries)
    action = document["paths"]["/compute/v2.1/servers/{server_id}/action"]["post"]
    bodies = action["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    described = {body["required"][0] for body in bodies}
    assert described == set(emulator.actions)
    for name in ("os-stop", "reboot", "resize", "createImage", "evacuate", "os-migrateLive"):
        assert name in named, name
        assert any(body == SCHEMAS[named[name]][-1][1] for body in bodies), name
    asyncio.run(emulator.cloud.stop())
