"""A follower worker's front: the reads of ``READ_LOCALLY`` answered here, from the shared
database; every other request (writes, the control plane, consoles) forwarded as it came
to the leading worker over its Unix socket (``emulator.workers``).

A read is answered here only when it cannot show what only the leader holds in memory:
server views for a token without the admin role (an admin's carry ``host_status``, which
the leader's mirror of the compute services and its backend's hosts decide). Nothing is
answered here with request rate limits installed (the leader counts every request, once),
on the manual clock (each read must see every step before it, as the leader orders them)
or while the leader holds fault rules (they are its to apply).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import websockets
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, unix_connect

from emulator.errors import NotAuthenticated
from emulator.identity.service import IdentityService

log = logging.getLogger("nova_emulator.workers")
# each forwarded request is logged once, by the access log (not by httpx as well)
logging.getLogger("httpx").setLevel(logging.WARNING)

#: (method, path) a follower answers itself (full matches); the rest goes to the leader.
READ_LOCALLY: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GET", re.compile(r"/compute/v2\.1/servers(/detail|/[^/]+)?")),
)
#: The header that carries the follower's request id to the leader (its log and records
#: show the same id as the answer's headers).
FORWARDED_ID = "x-nova-emulator-request-id"
#: Seconds a forwarded request waits for a leader (one being replaced takes over).
LEADER_WAIT = 60.0
#: Headers of one connection, not of the request (RFC 9110 7.6.1), never forwarded.
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te",
                        b"trailer", b"transfer-encoding", b"upgrade"})


def answered_here(method: str, path: str) -> bool:
    return any(method == m and pattern.fullmatch(path) for m, pattern in READ_LOCALLY)


class LeaderGone(Exception):
    """No leader answered within ``LEADER_WAIT``."""


class Follower:
    """The ASGI app of a follower: ``local`` (a cloud that is not started: no recovery, no
    background work) for the reads of ``READ_LOCALLY``, the leader for the rest."""

    def __init__(self, local: ASGIApp, identity: Callable[[], IdentityService],
                 leader: Path, local_reads: Callable[[], bool] = lambda: True) -> None:
        """``local_reads``: whether reads may be answered here now."""
        self.local = local
        self.local_reads = local_reads
        self.identity = identity
        self.leader = leader
        self.client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(leader)),
            timeout=httpx.Timeout(None), follow_redirects=False)
        self.client.headers.clear()  # the client's headers as they came, none of httpx's

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            await self._forward_websocket(scope, receive, send)
        elif scope["type"] == "http":
            if answered_here(scope["method"], scope["path"]) and self.local_reads() \
                    and not self._admin(scope):
                await self.local(scope, receive, send)
            else:
                await self._forward(scope, receive, send)

    def _admin(self, scope: Scope) -> bool:
        """Whether the token has the admin role (False without a valid token: the local
        app refuses it as the leader would)."""
        token = next((v for k, v in scope["headers"] if k == b"x-auth-token"), None)
        if token is None:
            return False
        try:
            info = self.identity().validate(token.decode("latin-1"))
        except NotAuthenticated:
            return False
        return any(role.name == "admin" for role in info.roles)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- HTTP -----------------------------------------------------------------------------

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        request_id = scope.get("state", {}).get("request_id")
        if request_id:
            headers.append((FORWARDED_ID.encode(), request_id.encode()))
        target = scope["raw_path"].decode("latin-1") if scope.get("raw_path") \
            else scope["path"]
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        # a body as the client sent one (a GET may carry one too), else none
        has_body = any(k in (b"content-length", b"transfer-encoding")
                       for k, _ in scope["headers"])
        request = self.client.build_request(
            scope["method"], httpx.URL("http://leader" + target), headers=headers,
            content=_body(receive) if has_body else None)
        try:
            response = await self._send(request)
        except LeaderGone:
            await _unavailable(send, "No API worker leads the cloud")
            return
        except httpx.TransportError as exc:  # the leader ended while it had the request
            log.warning("forwarded %s %s: %s", scope["method"], scope["path"], exc)
            await _unavailable(send, "The leading API worker ended during the request")
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k.lower(), v) for k, v in response.headers.raw
                                    if k.lower() not in HOP_BY_HOP]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """``request`` sent to the leader, waiting for one while none answers (the
        connection is refused before anything of the request is read)."""
        deadline = asyncio.get_running_loop().time() + LEADER_WAIT
        while True:
            try:
                return await self.client.send(request, stream=True)
            except (httpx.ConnectError, FileNotFoundError):
                if asyncio.get_running_loop().time() > deadline:
                    raise LeaderGone from None
                await asyncio.sleep(0.1)

    # -- WebSocket (consoles) ---------------------------------------------------------------

    async def _forward_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        connect = await receive()
        assert connect["type"] == "websocket.connect"
        target = scope["path"] + ("?" + scope["query_string"].decode("latin-1")
                                  if scope.get("query_string") else "")
        protocols = [websockets.Subprotocol(p) for p in scope.get("subprotocols", [])]
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"),
                    "leader")  # the proxy checks the Origin against it
        try:
            upstream = await unix_connect(str(self.leader), f"ws://{host}{target}",
                                          subprotocols=protocols or None,
                                          additional_headers=_ws_headers(scope))
        except (OSError, websockets.InvalidHandshake) as exc:
            log.warning("console WebSocket not forwarded: %s", exc)
            await send({"type": "websocket.close", "code": 1011})
            return
        async with upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
            await _pipe(upstream, receive, send)


async def _pipe(upstream: ClientConnection, receive: Receive, send: Send) -> None:
    """Frames both ways until either side ends; the leader's close (code and reason) is
    passed on, and a connection it dropped without one is dropped too (as the console
    proxy drops a refused token's)."""
    disconnected = False

    async def to_leader() -> None:
        nonlocal disconnected
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                disconnected = True
                return
            data = message.get("bytes")
            await upstream.send(data if data is not None else message.get("text", ""))

    async def to_client() -> None:
        async for data in upstream:
            await send({"type": "websocket.send",
                        **({"bytes": data} if isinstance(data, bytes) else {"text": data})})

    tasks = {asyncio.create_task(to_leader()), asyncio.create_task(to_client())}
    _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    closed = upstream.protocol.close_rcvd  # None: the leader sent no close frame
    if not disconnected and closed is not None:
        with contextlib.suppress(RuntimeError, OSError):
            await send({"type": "websocket.close", "code": closed.code,
                        "reason": closed.reason})


def _ws_headers(scope: Scope) -> list[tuple[str, str]]:
    skip = HOP_BY_HOP | {b"host", b"sec-websocket-key", b"sec-websocket-version",
                         b"sec-websocket-extensions", b"sec-websocket-protocol"}
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
            if k not in skip]


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


async def _unavailable(send: Send, why: str) -> None:
    body = json.dumps({"computeFault": {"code": 503, "message": f"{why}: retry."}}).encode()
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})
