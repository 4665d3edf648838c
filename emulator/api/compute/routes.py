"""The compute route table: one literal list, as Nova's ``ROUTE_LIST``.

Each entry: method, path under ``/v2.1`` (without the optional project id), handler, and
the microversion window (``since``/``until``) outside which the route answers 404.
"""

from __future__ import annotations

from emulator.api.routing import Route


def route_list() -> list[Route]:
    return []
