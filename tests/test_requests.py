"""Request bodies: size limits, media types, JSON decoding and schema messages per dialect."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Message

from emulator.api.faults import Fault
from emulator.api.requests import (
    MAX_JSON_DEPTH,
    check_declared_size,
    check_media_type,
    dump_json,
    parse_json,
    read_body,
    validate_body,
    validate_query,
)

KEYSTONE_BAD_JSON = (
    "Expecting to find valid JSON in request body. The server could not comply with the "
    "request since it is either malformed or otherwise incorrect. The client is assumed to "
    "be in error."
)
KEYSTONE_BAD_TYPE = (
    "Expecting to find application/json in Content-Type header. The server could not comply "
    "with the request since it is either malformed or otherwise incorrect. The client is "
    "assumed to be in error."
)


def fault(call: Any, *args: Any, **kwargs: Any) -> Fault:
    with pytest.raises(Fault) as caught:
        call(*args, **kwargs)
    return caught.value


# -- Nova: parse_json ---------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    None, "", "application/json", "application/json; charset=UTF-8",
    "application/vnd.openstack.compute+json", "APPLICATION/JSON", "text/plain",
    "text/plain; charset=us-ascii",
])
def test_nova_accepts_json_plain_and_missing_types(content_type: str | None) -> None:
    assert parse_json(b'{"a": 1}', content_type) == {"a": 1}


@pytest.mark.parametrize("content_type", [
    "application/xml", "text/html", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/merge-patch+json", "json", "*/*",
])
def test_nova_refuses_other_types_with_415(content_type: str) -> None:
    got = fault(parse_json, b'{"a": 1}', content_type)
    assert (got.status, got.message) == (415, "Unsupported Content-Type")


def test_nova_checks_the_type_even_without_a_body() -> None:
    assert fault(parse_json, b"", "application/xml").status == 415
    assert fault(check_media_type, "application/xml").status == 415
    check_media_type(None)
    check_media_type("text/plain")
    check_media_type("application/json;charset=utf-8")


def test_nova_empty_body_is_none() -> None:
    assert parse_json(b"", None) is None
    assert parse_json(b"", "application/json") is None


@pytest.mark.parametrize("raw", [
    b"{", b"{'a': 1}", b"nope", b"  ", b"\n", b"{}{}", b"[1,]", b"\xff\xfe\x00",
    b'"\xc3\x28"', b"1" * 5000, b"[" * 10000, b"[" * 5000 + b"]" * 5000,
    b'{"a": "\\ud800"}', b'["\\udfff"]', b'{"\\ud800": 1}',
    b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
])
def test_nova_malformed_json_is_400(raw: bytes) -> None:
    got = fault(parse_json, raw, "application/json")
    assert (got.status, got.message) == (400, "Malformed request body")


@pytest.mark.parametrize(("raw", "value"), [
    (b"null", None), (b"[]", []), (b'"x"', "x"), (b"1e400", float("inf")), (b"7", 7),
    (b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}),  # a valid escaped surrogate pair
    (b'{"a": "\\u0000\\u202e"}', {"a": "\x00\u202e"}),
    ("{\"a\": \"\u05d0\"}".encode(), {"a": "\u05d0"}),
    (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, json.loads("[" * 100 + "]" * 100)),
])
def test_nova_passes_any_json_value_on_to_the_schema(raw: bytes, value: Any) -> None:
    assert parse_json(raw, None) == value


def test_nova_utf16_bodies_are_json_too() -> None:
    # json.loads detects UTF-16/32 from the first bytes, as Nova's decoder does.
    assert parse_json('{"a": 1}'.encode("utf-16"), None) == {"a": 1}


# -- Keystone: parse_json -----------------------------------------------------------------


@pytest.mark.parametrize("content_type", [
    None, "", "application/json", "application/json; charset=utf-8",
    "application/vnd.openstack.identity-v3+json",
])
def test_keystone_accepts_json_types(content_type: str | None) -> None:
    assert parse_json(b'{"a": 1}', content_type, "keystone") == {"a": 1}


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/json"])
def test_keystone_refuses_other_types_with_400(content_type: str) -> None:
    got = fault(parse_json, b'{"a": 1}', content_type, "keystone")
    assert (got.status, got.message) == (400, KEYSTONE_BAD_TYPE)


def test_keystone_ignores_the_type_without_a_body() -> None:
    assert parse_json(b"", "text/plain", "keystone") is None
    assert parse_json(b"", None, "keystone") is None


@pytest.mark.parametrize("raw", [
    b"{", b"nope", b" ", b"null", b"[]", b"[1]", b'"x"', b"1", b"true",
    b'{"a": "\\ud800"}', b"[" * 10000, b"\xff",
])
def test_keystone_wants_a_json_object(raw: bytes) -> None:
    got = fault(parse_json, raw, "application/json", "keystone")
    assert (got.status, got.message) == (400, KEYSTONE_BAD_JSON)


# -- sizes --------------------------------------------------------------------------------


def test_declared_size() -> None:
    check_declared_size(Headers({"content-length": "10"}), 10)
    check_declared_size(Headers({}), 10)
    check_declared_size(Headers({"content-length": "junk"}), 10)
    got = fault(check_declared_size, Headers({"content-length": "11"}), 10)
    assert (got.status, got.message) == (
        413, "Request is too large. Larger than max_request_body_size (10).")


def _request(chunks: list[bytes], headers: dict[str, str] | None = None) -> Request:
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ] or [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0)

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw}, receive)


def test_read_body_joins_chunks() -> None:
    body = asyncio.run(read_body(_request([b"ab", b"cd", b""]), limit=4))
    assert body == b"abcd"
    assert asyncio.run(read_body(_request([]), limit=4)) == b""


def test_read_body_stops_a_stream_past_the_limit() -> None:
    with pytest.raises(Fault) as caught:
        asyncio.run(read_body(_request([b"abc", b"de", b"f"]), limit=4))
    assert (caught.value.status, caught.value.message) == (
        413, "Request is too large. Larger than 4.")


def test_read_body_trusts_a_declared_length_first() -> None:
    with pytest.raises(Fault) as caught:
        asyncio.run(read_body(_request([b"x"], {"content-length": "5"}), limit=4))
    assert caught.value.message.endswith("max_request_body_size (4).")


# -- validate_body: Nova ------------------------------------------------------------------

SERVER = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "format": "name", "maxLength": 10},
                "flavorRef": {"type": ["string", "integer"], "minLength": 1},
                "metadata": {"type": "object",
                             "additionalProperties": {"type": "string", "maxLength": 3}},
                "min_count": {"type": "integer", "minimum": 1},
            },
            "required": ["name", "flavorRef"],
            "additionalProperties": False,
        },
    },
    "required": ["server"],
    "additionalProperties": False,
}


def nova_message(body: Any) -> str:
    return fault(validate_body, SERVER, body).message


def test_valid_body_passes() -> None:
    validate_body(SERVER, {"server": {"name": "vm", "flavorRef": "1"}})


def test_nova_top_level_errors_have_no_prefix() -> None:
    assert nova_message(None) == "None is not of type 'object'"
    assert nova_message({}) == "'server' is a required property"
    assert nova_message({"server": {"name": "a", "flavorRef": "1"}, "x": 1}) == (
        "Additional properties are not allowed ('x' was unexpected)")


def test_nova_nested_errors_name_the_last_path_element_and_the_value() -> None:
    assert nova_message({"server": {"name": "a"}}) == (
        "Invalid input for field/attribute server. Value: {'name': 'a'}. "
        "'flavorRef' is a required property")
    assert nova_message({"server": {"name": "a", "flavorRef": "1", "foo": 1}}) == (
        "Invalid input for field/attribute server. Value: {'name': 'a', 'flavorRef': '1', "
        "'foo': 1}. Additional properties are not allowed ('foo' was unexpected)")
    assert nova_message({"server": {"name": "a", "flavorRef": "1", "min_count": 0}}) == (
        "Invalid input for field/attribute min_count. Value: 0. "
        "0 is less than the minimum of 1")
    assert nova_message({"server": {"name": "a", "flavorRef": "1",
                                    "metadata": {"k": "long"}}}) == (
        "Invalid input for field/attribute k. Value: long. 'long' is too long")
    assert nova_message({"server": {"name": "a", "flavorRef": True}}) == (
        "Invalid input for field/attribute flavorRef. Value: True. "
        "True is not of type 'string', 'integer'")


def test_nova_name_format_error_uses_the_format_message() -> None:
    assert nova_message({"server": {"name": " lead", "flavorRef": "1"}}) == (
        "An invalid 'name' value was provided. The name must be: printable characters. "
        "Can not start or end with whitespace.")


# -- validate_body: Keystone --------------------------------------------------------------

AUTH = {
    "type": "object",
    "properties": {
        "auth": {
            "type": "object",
            "properties": {
                "identity": {
                    "type": "object",
                    "properties": {"methods": {"type": "array", "items": {"type": "string"}}},
                    "required": ["methods"],
                },
            },
            "required": ["identity"],
        },
    },
    "required": ["auth"],
}


def keystone_message(body: Any) -> str:
    return fault(validate_body, AUTH, body, dialect="keystone").message


def test_keystone_top_level_errors_are_the_bare_message() -> None:
    assert keystone_message({}) == "'auth' is a required property"
    assert keystone_message([]) == "[] is not of type 'object'"


def test_keystone_nested_errors_name_the_whole_path() -> None:
    assert keystone_message({"auth": {}}) == (
        "Invalid input for field 'auth': 'identity' is a required property")
    assert keystone_message({"auth": {"identity": {"methods": "password"}}}) == (
        "Invalid input for field 'auth/identity/methods': 'password' is not of type 'array'")
    assert keystone_message({"auth": {"identity": {"methods": ["password", 3]}}}) == (
        "Invalid input for field 'auth/identity/methods/1': 3 is not of type 'string'")


def test_both_dialects_answer_400() -> None:
    for dialect in ("nova", "keystone"):
        assert fault(validate_body, AUTH, {}, dialect=dialect).status == 400


# -- validate_query -----------------------------------------------------------------------

QUERY = {
    "type": "object",
    "properties": {
        "limit": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]+$"}},
    },
    "additionalProperties": False,
}


def test_query_messages() -> None:
    validate_query(QUERY, {"limit": ["10"]})
    assert fault(validate_query, QUERY, {"limit": ["x"]}).message == (
        "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]+$'")
    assert fault(validate_query, QUERY, {"foo": ["1"]}).message == (
        "Additional properties are not allowed ('foo' was unexpected)")


# -- dump_json ----------------------------------------------------------------------------


def test_dump_json_is_utf8_with_novas_separators() -> None:
    assert dump_json({"a": ["é", 1]}) == '{"a": ["é", 1]}'.encode()
