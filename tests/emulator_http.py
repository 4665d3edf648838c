"""Plain HTTP to a ``ThreadedEmulator`` for the tests that read raw answers: one call
(status, headers by lower-case name, body bytes) and a seeded account's token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from emulator.testing import Role, ThreadedEmulator


def call(method: str, url: str, token: str | None = None, body: Any = None,
         accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if accept is not None:
        request.add_header("Accept", accept)
    if token:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        status, headers, raw = err.code, dict(err.headers), err.read()
    return status, {k.lower(): v for k, v in headers.items()}, raw


def login(cloud: ThreadedEmulator, role: Role) -> tuple[str, str]:
    """A token of the seeded account ``role`` and its project's id."""
    account = cloud.accounts[role]
    status, headers, raw = call("POST", f"{account.auth_url}/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": account.username, "password": account.password,
            "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": account.project, "domain": {"name": "Default"}}}}})
    assert status == 201, raw
    return headers["x-subject-token"], json.loads(raw)["token"]["project"]["id"]
