"""Tempest's compute response schemas as an oracle.

``validate(response, schema)`` checks a response exactly as Tempest's ``RestClient`` does
(status, body with ``additionalProperties: false``, headers). ``for_version`` picks a
schema module the way Tempest's compute clients do, from a client class's
``schema_versions_info`` and the microversion the request sent.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import httpx
from tempest.lib.common import api_version_request
from tempest.lib.common.rest_client import RestClient


class _TempestResponse(dict[str, str]):
    """What ``RestClient.validate_response`` expects: lower-case headers and ``.status``."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__({k.lower(): v for k, v in response.headers.items()})
        self.status = response.status_code


def validate(response: httpx.Response, schema: dict[str, Any]) -> Any:
    """Raise if ``response`` does not match ``schema``; return the decoded body."""
    body = response.json() if response.content else ""
    RestClient.validate_response(schema, _TempestResponse(response), body)
    return body


def for_version(client_class: type, version: str | None) -> ModuleType:
    """The schema module Tempest's ``client_class`` would use at ``version`` (None: base)."""
    wanted = api_version_request.APIVersionRequest(version)
    for item in client_class.schema_versions_info:  # type: ignore[attr-defined]
        low = api_version_request.APIVersionRequest(item["min"])
        high = api_version_request.APIVersionRequest(item["max"])
        if wanted.is_null() and item["min"] is None:
            return item["schema"]  # type: ignore[no-any-return]
        if not wanted.is_null() and wanted.matches(low, high):
            return item["schema"]  # type: ignore[no-any-return]
    raise LookupError(f"{client_class.__name__} has no schema for {version}")
