"""The in-run reference for the fast path: a bare Starlette app serving the emulator's own
documents, as captured from it (``NOVA_BENCH_DOCUMENTS``: a JSON file of ``show``, one
server's ``GET /servers/{id}`` body; ``create``, a ``POST /servers`` 202 body; ``detail``,
a ``GET /servers/detail`` page). Each answer is serialised again per request, as the
emulator's are: the difference is everything the emulator does besides (tokens,
microversions, routing, the database, the views)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DOCUMENTS: dict[str, Any] = json.loads(Path(os.environ["NOVA_BENCH_DOCUMENTS"]).read_text())


async def show(_request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENTS["show"])


async def create(_request: Request) -> JSONResponse:
    await _request.body()
    return JSONResponse(DOCUMENTS["create"], status_code=202)


async def delete(_request: Request) -> Response:
    return Response(status_code=204)


async def detail(_request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENTS["detail"])


app = Starlette(routes=[
    Route("/servers/detail", detail, methods=["GET"]),
    Route("/servers/{server_id}", show, methods=["GET"]),
    Route("/servers/{server_id}", delete, methods=["DELETE"]),
    Route("/servers", create, methods=["POST"]),
])
