"""Request ids on every response, gzip for large bodies, and connection reuse.

Nova's ``compute_req_id`` middleware puts ``x-openstack-request-id`` and
``x-compute-request-id`` (the same ``req-<uuid4>``) on every ``/v2.1`` response, faults and
keystonemiddleware's 401s included; Keystone sends ``x-openstack-request-id`` only. The
emulator sends both everywhere, its own index and the compute version list included.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable

import httpx
import pytest

from conformance.client import ApiSession

REQUEST_ID = re.compile(
    r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)

Probe = Callable[[ApiSession, httpx.Client], httpx.Response]


def _tokens(member: ApiSession) -> str:
    return f"{member.account.auth_url}/auth/tokens"


#: Requests under /v2.1 (both ids on any cloud).
COMPUTE: dict[str, Probe] = {
    "version document": lambda m, h: h.get(f"{m.compute_url}/"),
    "version document, no slash": lambda m, h: h.get(m.compute_url),
    "success": lambda m, h: m.compute("GET", "/flavors"),
    "not found": lambda m, h: m.compute("GET", "/flavors/no-such-flavor"),
    "unknown route": lambda m, h: m.compute("GET", "/os-no-such-resource"),
    "malformed version": lambda m, h: m.compute("GET", "/flavors", version="2.x"),
    "version out of range": lambda m, h: m.compute("GET", "/flavors", version="2.9999"),
    "no token": lambda m, h: m.compute("GET", "/flavors", token=False),
    "bad token": lambda m, h: m.compute("GET", "/flavors", token="garbage"),
    "too large": lambda m, h: m.compute("POST", "/flavors", content=b" " * 114689),
}

#: Keystone's responses (x-openstack-request-id on any cloud).
IDENTITY: dict[str, Probe] = {
    "token issued": lambda m, h: h.post(_tokens(m), json=m.account.password_auth()),
    "version document": lambda m, h: h.get(m.account.auth_url),
    "forbidden": lambda m, h: m.identity("GET", "/projects"),
    "no token": lambda m, h: m.identity("GET", "/projects", token=False),
    "bad password": lambda m, h: h.post(_tokens(m), json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": m.account.username, "domain": {"name": m.account.user_domain_name},
            "password": "wrong-password"}}}}}),
    "bad json": lambda m, h: h.post(_tokens(m), content=b"{",
                                    headers={"Content-Type": "application/json"}),
}

#: Responses only the emulator gives ids to (outside /v2.1 and Keystone).
EMULATOR: dict[str, Probe] = {
    "root index": lambda m, h: h.get(f"{m.compute_root.rsplit('/', 1)[0]}/"),
    "unknown top-level path": lambda m, h: h.get(
        f"{m.compute_root.rsplit('/', 1)[0]}/no-such-service"),
    "compute version list": lambda m, h: h.get(f"{m.compute_root}/"),
    "compute multiple choices": lambda m, h: h.get(f"{m.compute_root}/flavors"),
    "identity root": lambda m, h: h.get(m.account.auth_url.rsplit("/", 1)[0]),
}


def request_id(response: httpx.Response) -> str:
    value = response.headers.get("x-openstack-request-id", "")
    assert REQUEST_ID.match(value), (response.request.url, dict(response.headers))
    assert len(response.headers.get_list("x-openstack-request-id")) == 1
    return value


def both_ids(response: httpx.Response) -> str:
    value = request_id(response)
    assert response.headers.get_list("x-compute-request-id") == [value]
    return value


@pytest.mark.parametrize("probe", COMPUTE.values(), ids=COMPUTE.keys())
def test_compute_responses_carry_both_ids(
    member: ApiSession, http: httpx.Client, probe: Probe
) -> None:
    both_ids(probe(member, http))


@pytest.mark.parametrize("probe", IDENTITY.values(), ids=IDENTITY.keys())
def test_identity_responses_carry_a_request_id(
    member: ApiSession, http: httpx.Client, probe: Probe
) -> None:
    request_id(probe(member, http))


@pytest.mark.emulator_only
@pytest.mark.parametrize("probe", [*IDENTITY.values(), *EMULATOR.values()],
                         ids=[*IDENTITY.keys(), *EMULATOR.keys()])
def test_every_emulator_response_carries_both_ids(
    member: ApiSession, http: httpx.Client, probe: Probe
) -> None:
    both_ids(probe(member, http))


def test_ids_are_distinct(member: ApiSession, http: httpx.Client) -> None:
    seen = [both_ids(member.compute("GET", "/flavors")) for _ in range(5)]
    seen += [both_ids(member.compute("GET", "/os-no-such-resource")) for _ in range(5)]
    seen += [request_id(member.identity("GET", "/projects")) for _ in range(5)]
    assert len(set(seen)) == len(seen)


def test_a_client_request_id_is_not_echoed(member: ApiSession) -> None:
    """A client's X-Openstack-Request-Id is a *global* id: Nova keeps its own local one."""
    sent = "req-00000000-0000-4000-8000-000000000000"
    response = member.compute("GET", "/flavors", headers={"X-Openstack-Request-Id": sent})
    assert both_ids(response) != sent


# -- gzip ---------------------------------------------------------------------------------


@pytest.mark.emulator_only
def test_large_responses_are_gzipped_on_request(member: ApiSession, http: httpx.Client) -> None:
    request = http.build_request("POST", _tokens(member), json=member.account.password_auth(),
                                 headers={"Accept-Encoding": "gzip"})
    response = http.send(request, stream=True)
    try:
        raw = b"".join(response.iter_raw())
    finally:
        response.close()
    assert response.status_code == 201
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    body = gzip.decompress(raw)
    assert b'"catalog"' in body
    both_ids(response)


def test_identity_encoding_is_plain_unless_asked(member: ApiSession, http: httpx.Client) -> None:
    response = http.post(_tokens(member), json=member.account.password_auth(),
                         headers={"Accept-Encoding": "identity"})
    assert response.status_code == 201
    assert "Content-Encoding" not in response.headers
    assert response.json()["token"]["catalog"]


# -- keep-alive ---------------------------------------------------------------------------


def test_connections_are_kept_alive(member: ApiSession) -> None:
    token = {"X-Auth-Token": member.token}
    requests = [
        ("GET", f"{member.compute_url}/", {}),
        ("GET", f"{member.compute_url}/flavors", token),
        ("GET", f"{member.compute_url}/flavors", {}),  # a 401
        ("GET", f"{member.compute_url}/os-no-such-resource", token),  # a 404
        ("POST", _tokens(member), {}),  # a Keystone 400
        ("GET", f"{member.compute_url}/", {}),
    ]
    local_addresses = set()
    with httpx.Client(timeout=30.0) as client:
        for method, url, headers in requests:
            response = client.request(method, url, headers=headers)
            assert "close" not in response.headers.get("Connection", "").lower()
            stream = response.extensions["network_stream"]
            local_addresses.add(stream.get_extra_info("client_addr"))
    assert len(local_addresses) == 1, local_addresses
