"""The in-run reference for API throughput: a bare Starlette JSON endpoint on uvicorn."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(_request: Request) -> JSONResponse:
    return JSONResponse({"server": {"id": "00000000-0000-0000-0000-000000000000",
                                    "status": "ACTIVE"}})


app = Starlette(routes=[Route("/", hello, methods=["GET", "POST", "DELETE"])])
