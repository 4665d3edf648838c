"""Console auth tokens: Nova's URL shapes, TTL on an injected clock, unknown tokens,
deleted instances, the admin lookup, and tokens that survive a restart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from emulator.compute.consoles import (
    TOKEN_TTL,
    ConsoleTokens,
    InvalidToken,
    access_url,
    token_hash,
)
from emulator.compute.models import ConsoleAuthToken, Instance
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Forbidden, NotFound

BASE = "http://emu:8774/_emulator/console/vnc_lite.html?path=_emulator/console/websockify"
ADMIN = RequestContext(user_id="u-admin", project_id="p-admin",
                       roles=frozenset({"admin", "member", "reader"}))
MEMBER = RequestContext(user_id="u-demo", project_id="p-demo",
                        roles=frozenset({"member", "reader"}))


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def add_instance(db: Database, deleted: bool = False) -> str:
    server_id = str(uuid.uuid4())
    with db.session() as s:
        s.add(Instance(uuid=server_id, display_name="vm", hostname="vm", project_id="p-demo",
                       user_id="u-demo", flavor_id="1", vm_state="active", host="host1",
                       created_at=datetime.now(UTC), deleted=deleted))
    return server_id


def token_of(url: str) -> str:
    """The token inside a noVNC URL's ``path`` parameter (as Tempest reads it)."""
    path = parse_qs(urlparse(url).query)["path"][0]
    return path.split("?token=", 1)[1]


@pytest.fixture
def db() -> Database:
    return Database("sqlite://")


def test_novnc_url_shape_is_novas() -> None:
    assert access_url("http://h:6080/vnc_lite.html", "novnc", "T") == \
        "http://h:6080/vnc_lite.html?path=%3Ftoken%3DT"
    assert access_url(BASE, "novnc", "T") == (
        "http://emu:8774/_emulator/console/vnc_lite.html"
        "?path=_emulator%2Fconsole%2Fwebsockify%3Ftoken%3DT")
    assert access_url("ws://h:6083/", "serial", "T") == "ws://h:6083/?token=T"


def test_authorize_then_validate(db: Database) -> None:
    clock = Clock()
    tokens = ConsoleTokens(db, clock=clock)
    server_id = add_instance(db)
    url = tokens.authorize(server_id, "novnc", "host1", 5900, BASE)
    token = token_of(url)
    uuid.UUID(token)
    found = tokens.validate(token)
    assert (found.instance_uuid, found.console_type, found.host, found.port) == \
        (server_id, "novnc", "host1", 5900)
    assert found.internal_access_path is None and found.tls_port is None
    assert found.expires == int(clock.now) + TOKEN_TTL == int(clock.now) + 600
    with db.session() as s:
        stored = s.exec(select(ConsoleAuthToken)).one()
    assert stored.token_hash == token_hash(token) != token  # never the token itself
    # Another URL, another token; both stay valid (a token is not single-use).
    second = token_of(tokens.authorize(server_id, "novnc", "host1", 5900, BASE))
    assert second != token
    assert tokens.validate(token).instance_uuid == tokens.validate(second).instance_uuid


def test_expiry_on_the_injected_clock(db: Database) -> None:
    clock = Clock()
    tokens = ConsoleTokens(db, clock=clock)
    server_id = add_instance(db)
    token = token_of(tokens.authorize(server_id, "novnc", "host1", 5900, BASE))
    clock.now += TOKEN_TTL - 1
    assert tokens.validate(token).instance_uuid == server_id
    clock.now += 1
    with pytest.raises(InvalidToken) as refused:
        tokens.validate(token)
    assert refused.value.message == "The token '***' is invalid or has expired"
    # The next authorization clears expired rows away.
    tokens.authorize(server_id, "novnc", "host1", 5900, BASE)
    with db.session() as s:
        assert len(s.exec(select(ConsoleAuthToken)).all()) == 1


@pytest.mark.parametrize("token", ["", "bogus", str(uuid.uuid4())])
def test_unknown_tokens(db: Database, token: str) -> None:
    tokens = ConsoleTokens(db)
    tokens.authorize(add_instance(db), "novnc", "host1", 5900, BASE)
    with pytest.raises(InvalidToken):
        tokens.validate(token)


def test_deleted_instance_invalidates(db: Database) -> None:
    tokens = ConsoleTokens(db)
    server_id = add_instance(db)
    token = token_of(tokens.authorize(server_id, "novnc", "host1", 5900, BASE))
    with db.session() as s:
        row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
        row.deleted = True
        s.add(row)
    with pytest.raises(InvalidToken):
        tokens.validate(token)


def test_show_is_admin_only_and_404s(db: Database) -> None:
    tokens = ConsoleTokens(db)
    server_id = add_instance(db)
    token = token_of(tokens.authorize(server_id, "novnc", "host1", 5900, BASE))
    assert tokens.show(ADMIN, token).instance_uuid == server_id
    with pytest.raises(Forbidden) as forbidden:
        tokens.show(MEMBER, token)
    assert forbidden.value.message == \
        "Policy doesn't allow os_compute_api:os-console-auth-tokens to be performed."
    with pytest.raises(NotFound) as missing:
        tokens.show(ADMIN, "nope")
    assert missing.value.message == "Token not found"


def test_tokens_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = Database(url)
    server_id = add_instance(first)
    token = token_of(ConsoleTokens(first).authorize(server_id, "novnc", "host1", 5900, BASE))
    first.close()
    second = Database(url)
    try:
        assert ConsoleTokens(second).validate(token).instance_uuid == server_id
    finally:
        second.close()
