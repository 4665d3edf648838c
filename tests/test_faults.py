"""Faults: names by status, default messages, both renderers, and domain-error mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.responses import Response

from emulator.api.faults import (
    DEFAULT_MESSAGES,
    KEYSTONE_TITLES,
    NOVA_FAULT_NAMES,
    RENDERERS,
    STATUS_BY_ERROR,
    Fault,
    render_keystone,
    render_nova,
)
from emulator.errors import (
    BackendFailure,
    Conflict,
    EmulatorError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotImplementedYet,
    OverQuota,
    RateLimited,
)


def body(response: Response) -> Any:
    return json.loads(bytes(response.body))


# -- tables -------------------------------------------------------------------------------


def test_nova_fault_names_are_novas() -> None:
    # nova.api.openstack.wsgi.Fault._fault_names, verbatim.
    assert NOVA_FAULT_NAMES == {
        400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
        405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
        429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
    }


def test_every_domain_error_has_a_status() -> None:
    assert STATUS_BY_ERROR == {
        InvalidInput: 400, NotAuthenticated: 401, Forbidden: 403, OverQuota: 403,
        NotFound: 404, Conflict: 409, RateLimited: 429, BackendFailure: 500,
        NotImplementedYet: 501,
    }
    # One table maps every error the domain raises (emulator.errors) to a status.
    declared = {c for c in EmulatorError.__subclasses__() if c.__module__ == "emulator.errors"}
    assert declared <= set(STATUS_BY_ERROR)


def test_keystone_titles_are_http_reason_phrases() -> None:
    assert KEYSTONE_TITLES[400] == "Bad Request"
    assert KEYSTONE_TITLES[401] == "Unauthorized"
    assert KEYSTONE_TITLES[403] == "Forbidden"
    assert KEYSTONE_TITLES[404] == "Not Found"
    assert KEYSTONE_TITLES[405] == "Method Not Allowed"
    assert KEYSTONE_TITLES[409] == "Conflict"
    assert KEYSTONE_TITLES[413] == "Request Entity Too Large"


# -- Fault --------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "message"), [
    (400, "The server could not comply with the request since it is either malformed or "
          "otherwise incorrect."),
    (401, "The request you have made requires authentication."),
    (404, "The resource could not be found."),
    (405, "The method is not allowed for the requested URL."),
    (410, "This resource is no longer available.  No forwarding address is given."),
    (415, "Unsupported Content-Type"),
])
def test_default_messages_are_webobs(status: int, message: str) -> None:
    assert Fault(status).message == message == DEFAULT_MESSAGES[status]


def test_unlisted_status_has_an_empty_default() -> None:
    assert Fault(418).message == ""


def test_explicit_message_and_headers() -> None:
    fault = Fault(409, "busy", {"X-A": "1"})
    assert (fault.status, fault.message, fault.headers) == (409, "busy", {"X-A": "1"})
    assert str(fault) == "409: busy"
    assert Fault(400, "").message == ""


def test_headers_are_copied() -> None:
    given = {"X-A": "1"}
    fault = Fault(400, headers=given)
    fault.headers["X-B"] = "2"
    assert given == {"X-A": "1"}


@pytest.mark.parametrize(("error", "status"), [
    (InvalidInput("bad"), 400), (NotAuthenticated("who"), 401), (Forbidden("no"), 403),
    (OverQuota("full"), 403), (NotFound("gone"), 404), (Conflict("busy"), 409),
    (RateLimited("slow", retry_after=30), 429), (BackendFailure("qemu died"), 500),
    (NotImplementedYet("no"), 501),
])
def test_from_error(error: EmulatorError, status: int) -> None:
    fault = Fault.from_error(error)
    assert fault.status == status
    assert fault.message == error.message


def test_from_error_rate_limited_carries_retry_after() -> None:
    fault = Fault.from_error(RateLimited("slow down", retry_after=7))
    assert fault.headers == {"Retry-After": "7"}
    assert Fault.from_error(NotFound("x")).headers == {}


def test_from_error_subclasses_and_unknown_errors() -> None:
    class ImageNotFound(NotFound):
        pass

    class Odd(EmulatorError):
        pass

    assert Fault.from_error(ImageNotFound("Image x could not be found.")).status == 404
    assert Fault.from_error(Odd("?")).status == 500


# -- renderers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "name"), [
    (400, "badRequest"), (401, "unauthorized"), (403, "forbidden"), (404, "itemNotFound"),
    (405, "badMethod"), (409, "conflictingRequest"), (413, "overLimit"),
    (415, "badMediaType"), (429, "overLimit"), (501, "notImplemented"),
    (503, "serviceUnavailable"), (406, "computeFault"), (410, "computeFault"),
    (500, "computeFault"), (418, "computeFault"),
])
def test_nova_body(status: int, name: str) -> None:
    response = render_nova(Fault(status, "why"))
    assert response.status_code == status
    assert body(response) == {name: {"code": status, "message": "why"}}
    assert response.headers["content-type"] == "application/json; charset=UTF-8"


def test_nova_retry_after_only_for_413_and_429() -> None:
    for status in (413, 429):
        response = render_nova(Fault(status, "later", {"Retry-After": "5"}))
        assert body(response) == {"overLimit": {"code": status, "message": "later",
                                                "retryAfter": "5"}}
        assert response.headers["retry-after"] == "5"
    assert "retryAfter" not in body(render_nova(Fault(413, "big")))["overLimit"]
    assert body(render_nova(Fault(403, "quota", {"Retry-After": "5"}))) == {
        "forbidden": {"code": 403, "message": "quota"}}


def test_nova_body_of_a_rate_limited_error() -> None:
    response = render_nova(Fault.from_error(RateLimited("slow down", retry_after=12)))
    assert response.status_code == 429
    assert body(response) == {"overLimit": {"code": 429, "message": "slow down",
                                            "retryAfter": "12"}}


@pytest.mark.parametrize(("status", "title"), [
    (400, "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"), (404, "Not Found"),
    (405, "Method Not Allowed"), (409, "Conflict"), (413, "Request Entity Too Large"),
    (500, "Internal Server Error"), (418, "Error"),
])
def test_keystone_body(status: int, title: str) -> None:
    response = render_keystone(Fault(status, "why"))
    assert response.status_code == status
    assert body(response) == {"error": {"code": status, "title": title, "message": "why"}}
    assert response.headers["content-type"].startswith("application/json")


def test_renderers_keep_fault_headers() -> None:
    for render in (render_nova, render_keystone):
        response = render(Fault(405, headers={"Allow": "GET, POST"}))
        assert response.headers["allow"] == "GET, POST"


def test_unicode_messages_survive() -> None:
    message = "名前 \u202e \x00 é"
    assert body(render_nova(Fault(400, message)))["badRequest"]["message"] == message
    assert body(render_keystone(Fault(400, message)))["error"]["message"] == message


def test_renderer_table() -> None:
    assert RENDERERS == {"nova": render_nova, "keystone": render_keystone}
