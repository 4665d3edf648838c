"""Route tables: templates, 404 versus 405, HEAD, trailing slashes, microversion windows."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote

import pytest
from starlette.requests import Request
from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion
from emulator.api.routing import (
    Call,
    Route,
    RouteTable,
    base_url,
    empty_response,
    header_value,
    json_response,
)


async def handler(call: Call) -> Response:
    return empty_response()


async def other(call: Call) -> Response:
    return empty_response()


TABLE = RouteTable([
    Route("GET", "/flavors", handler),
    Route("POST", "/flavors", handler),
    Route("GET", "/flavors/detail", other),
    Route("GET", "/flavors/{flavor_id}", handler),
    Route("DELETE", "/flavors/{flavor_id}", handler),
    Route("PUT", "/flavors/{flavor_id}", handler, min_version=APIVersion(2, 55)),
    Route("GET", "/flavors/{flavor_id}/os-extra_specs/{key}", handler),
    Route("HEAD", "/tokens", other),
    Route("GET", "/tokens", handler),
    Route("GET", "/", handler, authenticated=False),
    Route("GET", "/v1.0/static", handler),
])


def route_of(method: str, path: str) -> tuple[Route, dict[str, str]]:
    return TABLE.match(method, path)


def fault_of(method: str, path: str) -> Fault:
    with pytest.raises(Fault) as caught:
        TABLE.match(method, path)
    return caught.value


# -- templates ----------------------------------------------------------------------------


def test_literal_and_parameter_segments() -> None:
    route, params = route_of("GET", "/flavors/42")
    assert (route.method, route.template, params) == ("GET", "/flavors/{flavor_id}",
                                                      {"flavor_id": "42"})
    route, params = route_of("GET", "/flavors/42/os-extra_specs/hw:cpu_policy")
    assert params == {"flavor_id": "42", "key": "hw:cpu_policy"}


def test_first_matching_route_wins() -> None:
    route, params = route_of("GET", "/flavors/detail")
    assert route.handler is other and params == {}


def test_parameters_never_span_slashes() -> None:
    assert fault_of("GET", "/flavors/a/b").status == 404
    assert fault_of("GET", "/flavors//").status == 404


def test_parameters_take_anything_but_slashes() -> None:
    for value in ("a b", "ü", "..", "a.b", "%2F", "\u202e", "x\x00y", "{flavor_id}"):
        assert route_of("GET", f"/flavors/{value}")[1] == {"flavor_id": value}


def test_literal_parts_are_not_regular_expressions() -> None:
    assert route_of("GET", "/v1.0/static")[0].template == "/v1.0/static"
    assert fault_of("GET", "/v1x0/static").status == 404


def test_whole_path_must_match() -> None:
    assert fault_of("GET", "/flavorsX").status == 404
    assert fault_of("GET", "X/flavors").status == 404
    assert fault_of("GET", "/flavors\n").status == 404
    assert fault_of("GET", "").status == 404


def test_root() -> None:
    route, params = route_of("GET", "/")
    assert route.template == "/" and params == {} and not route.authenticated


# -- 404 versus 405 -----------------------------------------------------------------------


def test_unknown_path_is_404_without_allow() -> None:
    fault = fault_of("GET", "/servers")
    assert fault.status == 404
    assert fault.message == "The resource could not be found."
    assert "Allow" not in fault.headers


def test_known_path_other_method_is_405_with_sorted_allow() -> None:
    fault = fault_of("PATCH", "/flavors/1")
    assert fault.status == 405
    assert fault.headers == {"Allow": "DELETE, GET, PUT"}
    assert fault_of("DELETE", "/flavors").headers == {"Allow": "GET, POST"}


def test_405_ignores_microversion_windows() -> None:
    # The table knows nothing of versions: PUT exists at this path, whatever the version.
    assert route_of("PUT", "/flavors/1")[0].min_version == APIVersion(2, 55)


def test_method_names_are_case_sensitive() -> None:
    assert fault_of("get", "/flavors").status == 405


# -- HEAD ---------------------------------------------------------------------------------


def test_head_falls_back_to_get() -> None:
    route, params = route_of("HEAD", "/flavors/7")
    assert route.method == "GET" and params == {"flavor_id": "7"}


def test_explicit_head_route_wins() -> None:
    assert route_of("HEAD", "/tokens")[0].handler is other


def test_head_without_get_is_405() -> None:
    table = RouteTable([Route("POST", "/only-post", handler)])
    with pytest.raises(Fault) as caught:
        table.match("HEAD", "/only-post")
    assert caught.value.status == 405
    assert caught.value.headers == {"Allow": "POST"}


# -- trailing slash -----------------------------------------------------------------------


def test_one_trailing_slash_is_ignored() -> None:
    assert route_of("GET", "/flavors/")[0].template == "/flavors"
    assert route_of("GET", "/flavors/9/")[1] == {"flavor_id": "9"}


def test_only_one_trailing_slash_is_ignored() -> None:
    assert fault_of("GET", "/flavors//").status == 404


# -- microversion windows -----------------------------------------------------------------


@pytest.mark.parametrize(("low", "high", "version", "allowed"), [
    (None, None, (2, 1), True),
    (None, None, (2, 999), True),
    ((2, 55), None, (2, 54), False),
    ((2, 55), None, (2, 55), True),
    ((2, 55), None, (2, 100), True),
    (None, (2, 35), (2, 35), True),
    (None, (2, 35), (2, 36), False),
    ((2, 10), (2, 20), (2, 9), False),
    ((2, 10), (2, 20), (2, 10), True),
    ((2, 10), (2, 20), (2, 15), True),
    ((2, 10), (2, 20), (2, 20), True),
    ((2, 10), (2, 20), (2, 21), False),
    ((2, 10), (2, 20), (3, 0), False),
])
def test_route_allows(
    low: tuple[int, int] | None, high: tuple[int, int] | None, version: tuple[int, int],
    allowed: bool,
) -> None:
    route = Route("GET", "/x", handler,
                  min_version=APIVersion(*low) if low else None,
                  max_version=APIVersion(*high) if high else None)
    assert route.allows(APIVersion(*version)) is allowed


def test_routes_are_authenticated_by_default() -> None:
    assert Route("GET", "/x", handler).authenticated


# -- responses and calls ------------------------------------------------------------------


def test_json_response() -> None:
    response = json_response({"a": "é", "b": [1, None]}, status=201, headers={"X-A": "1"})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-a"] == "1"
    assert json.loads(bytes(response.body)) == {"a": "é", "b": [1, None]}
    assert "é".encode() in response.body  # UTF-8, not \\u escapes


def test_empty_204_has_no_content_length() -> None:
    response = empty_response()
    assert response.status_code == 204
    assert response.body == b""
    assert "content-length" not in response.headers


def test_empty_other_status_keeps_content_length() -> None:
    response = empty_response(202, headers={"Location": "http://x/"})
    assert response.headers["content-length"] == "0"
    assert response.headers["location"] == "http://x/"


# -- header values built from user data ----------------------------------------------------


@pytest.mark.parametrize("value", [
    "", "http://x/servers/1/tags/plain", "with space", "100%", "a%20b",
    "~!\"#$&'()*+,-./:;<=>?@[]^`{|}",
])
def test_printable_ascii_is_kept_as_it_is(value: str) -> None:
    assert header_value(value) == value


@pytest.mark.parametrize(("value", "encoded"), [
    ("日", "%E6%97%A5"),
    ("é", "%C3%A9"),  # Latin-1 too: clients decode it differently
    ("a\r\nX-Injected: 1", "a%0D%0AX-Injected:%201"),
    ("a\nb", "a%0Ab"),
    ("nul\x00", "nul%00"),
    ("tab\t", "tab%09"),
    ("del\x7f", "del%7F"),
    ("/tags/日%", "/tags/%E6%97%A5%25"),  # once encoding, a literal % is encoded too
])
def test_anything_else_is_percent_encoded_as_utf8(value: str, encoded: str) -> None:
    assert header_value(value) == encoded
    assert unquote(encoded) == value


@pytest.mark.parametrize("make", [
    lambda headers: empty_response(201, headers=headers),
    lambda headers: json_response({}, status=201, headers=headers),
])
def test_responses_encode_header_values(make: Callable[[dict[str, str]], Response]) -> None:
    location = "http://x/servers/1/tags/日\r\n\x00"
    raw = dict(make({"Location": location}).raw_headers)[b"location"]
    assert raw == b"http://x/servers/1/tags/%E6%97%A5%0D%0A%00"
    assert unquote(raw.decode("ascii")) == location


def _request(host: str = "cloud.test:8774", scheme: str = "http") -> Request:
    return Request({
        "type": "http", "method": "GET", "path": "/compute/v2.1/", "root_path": "",
        "scheme": scheme, "query_string": b"", "headers": [(b"host", host.encode())],
        "server": ("cloud.test", 8774),
    })


def test_base_url_has_no_trailing_slash() -> None:
    assert base_url(_request()) == "http://cloud.test:8774"
    assert base_url(_request("cloud.test", "https")) == "https://cloud.test"


def test_call_token_requires_authentication() -> None:
    call = Call(request=_request(), params={})
    with pytest.raises(AssertionError):
        _ = call.token
    assert call.version == APIVersion(2, 1)
    assert call.body is None and call.url_project_id is None and call.extra == {}
