"""Console auth tokens: Nova's ``ConsoleAuthToken`` (``nova/objects/console_auth_token.py``).

A console URL carries a fresh random token; the database keeps only its SHA-256, the
console type, the instance and where its display is (host, port), until ``expires``
(``[consoleauth] token_ttl`` seconds later). The console proxy validates the token on each
connection; admins look tokens up (``GET /os-console-auth-tokens/{token}``).

NOTE: Nova deletes an instance's tokens when the instance is deleted; here a token whose
instance is deleted (or gone) is simply invalid, which answers the same.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlparse

from sqlmodel import col, delete, select

from emulator.compute.models import ConsoleAuthToken, Instance
from emulator.compute.policy import authorize
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import EmulatorError, NotFound

#: Nova's ``[consoleauth] token_ttl`` default, in seconds.
TOKEN_TTL = 600
#: Nova's policy of the token lookup (admin only).
SHOW_RULE = "os_compute_api:os-console-auth-tokens"


class InvalidToken(EmulatorError):
    """Nova's ``InvalidToken``: unknown, expired, or its instance is gone."""

    def __init__(self) -> None:
        # NOTE: Nova masks the token in the message, as here.
        super().__init__("The token '***' is invalid or has expired")


@dataclass(frozen=True)
class ConsoleConnection:
    """What a valid token authorizes (Nova's ``connect_info``)."""

    instance_uuid: str
    console_type: str
    host: str
    port: int
    tls_port: int | None
    internal_access_path: str | None
    access_url_base: str | None
    expires: int


def token_hash(token: str) -> str:
    """Nova's ``utils.get_sha256_str``."""
    return hashlib.sha256(token.encode()).hexdigest()


def access_url(access_url_base: str, console_type: str, token: str) -> str:
    """Nova's ``ConsoleAuthToken.access_url``: noVNC (1.1+) reads the token from inside
    the ``path`` query parameter (appended to any ``path`` the base has); the other types
    take ``?token=``."""
    if console_type != "novnc":
        return f"{access_url_base}?token={token}"
    parsed = urlparse(access_url_base)
    query = parse_qs(parsed.query)
    query["path"] = [f"{query.get('path', [''])[0]}?token={token}"]
    return parsed._replace(query=urlencode(query, doseq=True)).geturl()


class ConsoleTokens:
    """Authorize, validate and show console tokens (``clock``: seconds since the epoch)."""

    def __init__(self, db: Database, ttl: int = TOKEN_TTL,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock

    def authorize(self, instance_uuid: str, console_type: str, host: str, port: int,
                  access_url_base: str, internal_access_path: str | None = None,
                  tls_port: int | None = None) -> str:
        """Store a new authorization; return its access URL (the only place the token
        is shown). Expired rows go at the same time (Nova's periodic clean-up)."""
        token = str(uuid.uuid4())
        now = int(self.clock())
        with self.db.session() as s:
            s.exec(delete(ConsoleAuthToken).where(
                col(ConsoleAuthToken.expires) <= now))
            s.add(ConsoleAuthToken(
                token_hash=token_hash(token), console_type=console_type, host=host,
                port=port, tls_port=tls_port, internal_access_path=internal_access_path,
                instance_uuid=instance_uuid, access_url_base=access_url_base,
                expires=now + self.ttl, created_at=datetime.now(UTC)))
        return access_url(access_url_base, console_type, token)

    def validate(self, token: str) -> ConsoleConnection:
        """Nova's ``ConsoleAuthToken.validate``: the connection a live token authorizes,
        else ``InvalidToken`` (unknown, expired, or its instance deleted)."""
        if not token:
            raise InvalidToken()
        with self.db.session() as s:
            row = s.exec(select(ConsoleAuthToken).where(
                ConsoleAuthToken.token_hash == token_hash(token),
                ConsoleAuthToken.expires > int(self.clock()))).first()
            if row is None:
                raise InvalidToken()
            instance = s.exec(select(Instance).where(
                Instance.uuid == row.instance_uuid)).first()
        if instance is None or instance.deleted:
            raise InvalidToken()
        return ConsoleConnection(
            instance_uuid=row.instance_uuid, console_type=row.console_type, host=row.host,
            port=row.port, tls_port=row.tls_port,
            internal_access_path=row.internal_access_path,
            access_url_base=row.access_url_base, expires=row.expires)

    def show(self, ctx: RequestContext, token: str) -> ConsoleConnection:
        """``GET /os-console-auth-tokens/{token}``: admin only; 404 "Token not found"."""
        authorize(ctx, SHOW_RULE)
        try:
            return self.validate(token)
        except InvalidToken:
            raise NotFound("Token not found") from None
