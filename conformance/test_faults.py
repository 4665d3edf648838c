"""Fault statuses and bodies, in each service's dialect, and never a 500.

Nova's faults are ``{"<faultName>": {"code", "message"}}``; Keystone's and
keystonemiddleware's are ``{"error": {"code", "title", "message"}}``. Where a real cloud
answers with a page of its web framework instead (Nova's router 404, Keystone's unknown
routes and 405s, the sizelimit middleware's 413), the status is checked everywhere and the
JSON body only on the emulator, which keeps every error JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession

#: oslo.middleware's default ``max_request_body_size`` (Nova and Keystone).
MAX_BODY = 114688

KEYSTONE_401 = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires authentication."}}
NOT_FOUND = {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}
_EXPECTING = ("Expecting to find {} in {}. The server could not comply with the request since "
              "it is either malformed or otherwise incorrect. The client is assumed to be in "
              "error.")
KEYSTONE_BAD_JSON = _EXPECTING.format("valid JSON", "request body")
KEYSTONE_NOT_JSON = _EXPECTING.format("application/json", "Content-Type header")


@pytest.fixture(autouse=True)
def no_server_errors(http: httpx.Client) -> Iterator[None]:
    """Fail the test if any response it received was a 5xx."""
    seen: list[str] = []

    def hook(response: httpx.Response) -> None:
        if response.status_code >= 500:
            seen.append(f"{response.request.method} {response.request.url} -> "
                        f"{response.status_code}")

    http.event_hooks["response"].append(hook)
    try:
        yield
    finally:
        http.event_hooks["response"].remove(hook)
    assert not seen, seen


def media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip()


def nova_fault(response: httpx.Response, status: int, name: str) -> str:
    """Check a Nova fault's status, envelope and content type; return its message."""
    assert response.status_code == status, response.text
    assert media_type(response) == "application/json"
    body = response.json()
    assert list(body) == [name], body
    assert body[name]["code"] == status
    message: str = body[name]["message"]
    return message


def keystone_error(response: httpx.Response, status: int, title: str) -> str:
    """Check a Keystone error's status, envelope and content type; return its message."""
    assert response.status_code == status, response.text
    assert media_type(response) == "application/json"
    body = response.json()
    assert list(body) == ["error"], body
    assert body["error"]["code"] == status
    assert body["error"]["title"] == title
    message: str = body["error"]["message"]
    return message


def flavors_or_skip(member: ApiSession) -> None:
    """Every cloud this suite runs against serves flavors; the probes below rely on it."""
    assert member.compute("GET", "/flavors").status_code == 200


# -- 400 ----------------------------------------------------------------------------------


def test_malformed_microversion_is_bad_request(member: ApiSession) -> None:
    response = member.compute("GET", "/flavors", version="2.x")
    assert nova_fault(response, 400, "badRequest") == (
        "API Version String 2.x is of invalid format. Must be of format MajorNum.MinorNum.")


@pytest.mark.parametrize("raw", [b'{"auth": ', b"not json", b"[]", b'"auth"', b"null"])
def test_token_issue_with_a_body_that_is_no_json_object(
    member: ApiSession, http: httpx.Client, raw: bytes
) -> None:
    response = http.post(f"{member.account.auth_url}/auth/tokens", content=raw,
                         headers={"Content-Type": "application/json"})
    assert keystone_error(response, 400, "Bad Request") == KEYSTONE_BAD_JSON


def test_compute_malformed_json_is_malformed_request_body(member: ApiSession) -> None:
    flavors_or_skip(member)
    response = member.compute("POST", "/flavors", content=b'{"flavor": ',
                              headers={"Content-Type": "application/json"})
    assert nova_fault(response, 400, "badRequest") == "Malformed request body"


# -- 401 ----------------------------------------------------------------------------------


def _check_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert media_type(response) == "application/json"
    assert response.json() == KEYSTONE_401
    assert re.fullmatch(r'Keystone uri="[^"]+"', response.headers["WWW-Authenticate"])


@pytest.mark.parametrize("token", [None, "garbage", "gAAAAAB" + "x" * 180, ""])
def test_compute_without_a_valid_token(member: ApiSession, token: str | None) -> None:
    response = member.compute("GET", "/flavors", token=token if token is not None else False)
    _check_401(response)


def test_authentication_comes_before_routing_and_versions(member: ApiSession) -> None:
    _check_401(member.compute("GET", "/os-no-such-resource", token=False))
    _check_401(member.compute("GET", "/flavors", token=False, version="2.x"))
    _check_401(member.compute("GET", "/flavors", token=False, version="2.9999"))


@pytest.mark.emulator_only
def test_www_authenticate_names_the_identity_endpoint(member: ApiSession) -> None:
    response = member.compute("GET", "/flavors", token="garbage")
    identity_root = member.account.auth_url.rsplit("/", 1)[0]
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{identity_root}"'


def test_identity_without_a_valid_token(member: ApiSession) -> None:
    for token in (False, "garbage"):
        response = member.identity("GET", "/projects", token=token)
        assert keystone_error(response, 401, "Unauthorized") == (
            "The request you have made requires authentication.")
        assert response.headers["WWW-Authenticate"].startswith('Keystone uri="')


def test_wrong_password(member: ApiSession, http: httpx.Client) -> None:
    body = member.account.password_auth()
    body["auth"]["identity"]["password"]["user"]["password"] += "-wrong"
    response = http.post(f"{member.account.auth_url}/auth/tokens", json=body)
    keystone_error(response, 401, "Unauthorized")


# -- 403 ----------------------------------------------------------------------------------


def test_member_may_not_list_projects(member: ApiSession) -> None:
    response = member.identity("GET", "/projects")
    assert keystone_error(response, 403, "Forbidden") == (
        "You are not authorized to perform the requested action: identity:list_projects.")


def test_member_may_not_create_flavors(member: ApiSession) -> None:
    flavors_or_skip(member)
    body = {"flavor": {"name": "faults-forbidden", "ram": 64, "vcpus": 1, "disk": 1}}
    nova_fault(member.compute("POST", "/flavors", json=body), 403, "forbidden")


# -- 404 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/os-no-such-resource", "/os-no-such-resource/deeper",
                                  "/servers-and-more", "/flavors/1/no-such-thing"])
def test_unknown_compute_route(member: ApiSession, path: str) -> None:
    # NOTE: a first segment that is not hex and dashes cannot be a project id in Nova's
    # router ({project_id:[0-9a-f-]+}), so these are plain 404s, never a project mismatch.
    assert member.compute("GET", path).status_code == 404


@pytest.mark.emulator_only
def test_unknown_compute_route_body(member: ApiSession) -> None:
    # Nova's router answers with webob's page; the emulator keeps Nova's JSON fault.
    response = member.compute("GET", "/os-no-such-resource/deeper")
    nova_fault(response, 404, "itemNotFound")
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/flavors"), ("PATCH", "/flavors/1"), ("PUT", "/flavors/detail/x"),
])
def test_known_path_other_method_is_404_as_novas_router(
    member: ApiSession, method: str, path: str
) -> None:
    flavors_or_skip(member)
    response = member.compute(method, path)
    assert response.status_code == 404
    assert "Allow" not in response.headers


@pytest.mark.emulator_only
def test_known_path_other_method_body(member: ApiSession) -> None:
    flavors_or_skip(member)
    response = member.compute("DELETE", "/flavors")
    assert response.json() == NOT_FOUND
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.1"


def test_route_outside_its_microversion_window_is_item_not_found(member: ApiSession) -> None:
    flavors_or_skip(member)
    # PUT /flavors/{id} exists from 2.55 only.
    response = member.compute("PUT", "/flavors/1", version="2.54",
                              json={"flavor": {"description": "x"}})
    assert response.json() == NOT_FOUND
    nova_fault(response, 404, "itemNotFound")


def test_unknown_identity_route(member: ApiSession) -> None:
    assert member.identity("GET", "/no-such-thing").status_code == 404


@pytest.mark.emulator_only
def test_unknown_identity_route_body(member: ApiSession) -> None:
    response = member.identity("GET", "/no-such-thing")
    assert keystone_error(response, 404, "Not Found") == "The resource could not be found."


# -- 405 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/auth/tokens", {"GET", "POST", "DELETE", "HEAD"}),
    ("PATCH", "/auth/tokens", {"GET", "POST", "DELETE", "HEAD"}),
    ("POST", "", {"GET"}),
])
def test_identity_method_not_allowed(
    member: ApiSession, method: str, path: str, allowed: set[str]
) -> None:
    response = member.identity(method, path)
    assert response.status_code == 405
    allow = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= allow


@pytest.mark.emulator_only
def test_identity_method_not_allowed_body(member: ApiSession) -> None:
    response = member.identity("PUT", "/auth/tokens")
    assert keystone_error(response, 405, "Method Not Allowed") == (
        "The method is not allowed for the requested URL.")


# -- 406 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.0", "2.9999", "3.1"])
def test_out_of_range_microversion_is_compute_fault(member: ApiSession, version: str) -> None:
    response = member.compute("GET", "/flavors", version=version)
    message = nova_fault(response, 406, "computeFault")
    assert message.startswith(f"Version {version} is not supported by the API. Minimum is 2.1")


# -- 413 ----------------------------------------------------------------------------------


def _chunks(total: int, size: int = 16384) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


def test_oversized_token_request_with_content_length(
    member: ApiSession, http: httpx.Client
) -> None:
    response = http.post(f"{member.account.auth_url}/auth/tokens",
                         content=b" " * (MAX_BODY + 1),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.emulator_only
def test_oversized_token_request_chunked(member: ApiSession, http: httpx.Client) -> None:
    """Emulator only: deployments differ on chunked bodies (WSGI servers may refuse them, and
    oslo's LimitingReader raises its 413 inside Flask, which Keystone does not render)."""
    request = http.build_request("POST", f"{member.account.auth_url}/auth/tokens",
                                 content=_chunks(MAX_BODY + 4096),
                                 headers={"Content-Type": "application/json"})
    assert "Content-Length" not in request.headers
    assert request.headers["Transfer-Encoding"] == "chunked"
    assert http.send(request).status_code == 413


@pytest.mark.emulator_only
def test_oversized_bodies_answer_in_each_dialect(member: ApiSession, http: httpx.Client) -> None:
    big = b" " * (MAX_BODY + 1)
    token = http.post(f"{member.account.auth_url}/auth/tokens", content=big)
    assert keystone_error(token, 413, "Request Entity Too Large") == (
        f"Request is too large. Larger than max_request_body_size ({MAX_BODY}).")
    chunked = http.post(f"{member.account.auth_url}/auth/tokens",
                        content=_chunks(MAX_BODY + 1))
    assert keystone_error(chunked, 413, "Request Entity Too Large") == (
        f"Request is too large. Larger than {MAX_BODY}.")
    compute = member.compute("POST", "/flavors", content=big)
    assert nova_fault(compute, 413, "overLimit").startswith("Request is too large.")
    assert "X-OpenStack-Nova-API-Version" not in compute.headers  # before negotiation


@pytest.mark.emulator_only
def test_size_limit_comes_before_authentication(member: ApiSession) -> None:
    # oslo's sizelimit sits in front of keystonemiddleware in Nova's pipeline.
    response = member.compute("POST", "/flavors", token=False, content=b" " * (MAX_BODY + 1))
    nova_fault(response, 413, "overLimit")


@pytest.mark.emulator_only
def test_a_body_of_exactly_the_limit_is_read(member: ApiSession, http: httpx.Client) -> None:
    body = b"{" + b" " * (MAX_BODY - 2) + b"}"
    response = http.post(f"{member.account.auth_url}/auth/tokens", content=body,
                         headers={"Content-Type": "application/json"})
    keystone_error(response, 400, "Bad Request")  # read, parsed and found wanting


# -- 415 and other content types ----------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/xml", "text/html; charset=utf-8"])
def test_compute_refuses_other_media_types(member: ApiSession, content_type: str) -> None:
    flavors_or_skip(member)
    body = b'{"flavor": {"name": "faults-415", "ram": 64, "vcpus": 1, "disk": 1}}'
    response = member.compute("POST", "/flavors", content=body,
                              headers={"Content-Type": content_type})
    assert nova_fault(response, 415, "badMediaType") == "Unsupported Content-Type"


def test_compute_checks_the_media_type_of_every_request(member: ApiSession) -> None:
    flavors_or_skip(member)
    response = member.compute("GET", "/flavors", headers={"Content-Type": "application/xml"})
    assert nova_fault(response, 415, "badMediaType") == "Unsupported Content-Type"


def test_compute_takes_text_plain_as_json(member: ApiSession) -> None:
    """Nova treats ``text/plain`` (some HTTP libraries' default) like a missing type."""
    flavors_or_skip(member)
    listed = member.compute("GET", "/flavors", headers={"Content-Type": "text/plain"})
    assert listed.status_code == 200
    body = b'{"flavor": {"name": "faults-plain", "ram": 64, "vcpus": 1, "disk": 1}}'
    created = member.compute("POST", "/flavors", content=body,
                             headers={"Content-Type": "text/plain"})
    nova_fault(created, 403, "forbidden")  # parsed and valid; only the policy refuses


def test_identity_wants_application_json(member: ApiSession, http: httpx.Client) -> None:
    """Keystone answers 400, not 415, to a body of another media type."""
    for content_type in ("text/plain", "application/xml"):
        response = http.post(f"{member.account.auth_url}/auth/tokens",
                             json=member.account.password_auth(),
                             headers={"Content-Type": content_type})
        assert keystone_error(response, 400, "Bad Request") == KEYSTONE_NOT_JSON


def test_identity_accepts_a_missing_content_type(member: ApiSession, http: httpx.Client) -> None:
    import json

    request = http.build_request("POST", f"{member.account.auth_url}/auth/tokens",
                                 content=json.dumps(member.account.password_auth()).encode())
    assert "Content-Type" not in request.headers
    assert http.send(request).status_code == 201


# -- every fault is JSON ------------------------------------------------------------------


def _fault_responses(member: ApiSession, http: httpx.Client) -> list[httpx.Response]:
    tokens = f"{member.account.auth_url}/auth/tokens"
    return [
        member.compute("GET", "/flavors", version="2.x"),
        member.compute("GET", "/flavors", version="2.9999"),
        member.compute("GET", "/flavors", token=False),
        member.compute("GET", "/flavors/no-such-flavor"),
        member.identity("GET", "/projects"),
        member.identity("GET", "/projects", token="garbage"),
        member.identity("GET", "/users/no-such-user"),
        http.post(tokens, content=b"{", headers={"Content-Type": "application/json"}),
        http.post(tokens, json={"auth": {}}),
    ]


def test_fault_bodies_are_json(member: ApiSession, http: httpx.Client) -> None:
    for response in _fault_responses(member, http):
        assert response.status_code >= 400
        assert media_type(response) == "application/json", response.request.url
        body: Any = response.json()
        assert isinstance(body, dict) and len(body) == 1
