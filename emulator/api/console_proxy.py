"""The console proxy: Nova's ``nova-novncproxy`` (``nova/console/websocketproxy.py``) inside
the emulator, under ``/_emulator/console``.

A console URL (``POST /servers/{id}/remote-consoles``, ``os-getVNCConsole``) points at the
noVNC page here, with the WebSocket path and a console auth token in its ``path`` query
parameter, as Nova builds it from ``[vnc] novncproxy_base_url``. noVNC (or Tempest) then
opens ``ws://<emulator>/_emulator/console/websockify?token=<token>``; the proxy checks the
token, the Origin and the server, asks the backend for the guest's VNC socket and pipes
bytes both ways until either side closes.

When Debian's ``novnc`` package is installed, its files (``/usr/share/novnc``) are served
under the same prefix, so the URL opens in a browser; without it the page answers 404 and
says so (a noVNC client elsewhere can still use the WebSocket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from starlette.websockets import WebSocket, WebSocketDisconnect

from emulator.compute.console_operations import ConsoleRefused, ServerConsoles
from emulator.compute.consoles import ConsoleConnection, ConsoleTokens, InvalidToken
from emulator.errors import EmulatorError

log = logging.getLogger("nova_emulator.console")

CONSOLE_PREFIX = "/_emulator/console"
WEBSOCKET_PATH = f"{CONSOLE_PREFIX}/websockify"
#: noVNC's single-page client (``vnc_auto.html`` before noVNC 1.0), as DevStack sets it.
NOVNC_PAGE = "vnc_lite.html"
#: Where Debian's ``novnc`` package puts noVNC.
NOVNC_DIR = Path("/usr/share/novnc")
#: Console type -> the page under the emulator standing for Nova's ``*_base_url`` option.
#: NOTE: only ``novnc`` is served; the other URLs are Nova's shapes with nothing behind
#: them yet.
CONSOLE_PAGES: dict[str, str] = {
    "novnc": NOVNC_PAGE,
    "spice-html5": "spice_auto.html",
    "spice-direct": "spice-direct",
    "serial": "serial",
    "webmks": "mks",
}
#: Bytes read from the VNC socket at once (one WebSocket frame each, as websockify).
CHUNK = 65536
#: RFC 6455: a close reason is at most 123 bytes of UTF-8.
MAX_REASON = 123
#: Close code when the backend cannot show the display (RFC 6455 "internal error").
UNAVAILABLE = 1011


def console_base_url(root: str, console_type: str) -> str:
    """Nova's ``*_base_url`` for ``console_type`` on the emulator at ``root``. For noVNC it
    names the WebSocket in ``path`` (relative to the host, as noVNC resolves it), to which
    the token is appended (``emulator.compute.consoles.access_url``)."""
    page = f"{root}{CONSOLE_PREFIX}/{CONSOLE_PAGES[console_type]}"
    if console_type != "novnc":
        return page
    websocket = f"{urlparse(root).path.rstrip('/')}{WEBSOCKET_PATH}".lstrip("/")
    return f"{page}?path={websocket}"


class Refused(Exception):
    """A connection Nova's proxy would drop (bad Origin, wrong console type)."""


def check_origin(websocket: WebSocket, connection: ConsoleConnection) -> None:
    """Nova's Origin check: a browser's Origin must name the Host it connected to (no
    ``[console] allowed_origins`` here) with the scheme of the console URL (or the
    ``X-Forwarded-Proto`` a front proxy set); no Origin means no browser, which is fine."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return
    parsed = urlparse(origin)
    scheme = websocket.headers.get("x-forwarded-proto") or parsed.scheme
    if not parsed.hostname or not scheme:
        raise Refused("Origin header not valid.")
    if parsed.hostname != urlparse(f"//{websocket.headers.get('host', '')}").hostname:
        raise Refused("Origin header does not match this host.")
    expected = {urlparse(connection.access_url_base or "").scheme}
    expected |= {{"ws": "http", "wss": "https"}[s] for s in expected & {"ws", "wss"}}
    if scheme not in expected:
        raise Refused("Origin header protocol does not match this host.")


def _reason(text: str) -> str:
    return text.encode()[:MAX_REASON].decode(errors="ignore")


class ConsoleProxy:
    """The noVNC WebSocket endpoint and, when installed, noVNC's files."""

    def __init__(self, tokens: ConsoleTokens, consoles: ServerConsoles,
                 novnc_dir: Path | None = NOVNC_DIR) -> None:
        self.tokens = tokens
        self.consoles = consoles
        routes: list[BaseRoute] = [WebSocketRoute(WEBSOCKET_PATH, self.websocket)]
        if novnc_dir is not None and (novnc_dir / NOVNC_PAGE).is_file():
            routes.append(Mount(CONSOLE_PREFIX, StaticFiles(directory=novnc_dir)))
        else:
            routes.append(Route(f"{CONSOLE_PREFIX}/{{path:path}}", self.no_client))
        self.app: ASGIApp = Router(routes)

    async def no_client(self, _request: Request) -> Response:
        return PlainTextResponse(
            f"noVNC is not installed on this host (Debian package novnc, {NOVNC_DIR}). "
            f"A noVNC client elsewhere can connect to the WebSocket {WEBSOCKET_PATH} with the "
            "console URL's token.\n", status_code=404)

    async def websocket(self, websocket: WebSocket) -> None:
        offered = websocket.scope.get("subprotocols", [])
        # NOTE: as websockify, Nova completes the WebSocket handshake before it looks at
        # the token, then drops a refused connection without a close frame (Tempest's
        # test_novnc_bad_token expects no data at all): returning without a close here
        # makes the server close the TCP connection.
        await websocket.accept(subprotocol="binary" if "binary" in offered else None)
        token = websocket.query_params.get("token") or websocket.cookies.get("token", "")
        try:
            connection = self.tokens.validate(token)
            check_origin(websocket, connection)
            socket_path = await self.consoles.vnc_socket(connection)
        except (InvalidToken, ConsoleRefused, Refused) as refused:
            log.info("console connection refused: %s", refused)
            return
        except EmulatorError as unavailable:
            await websocket.close(UNAVAILABLE, _reason(unavailable.message))
            return
        try:
            reader, writer = await asyncio.open_unix_connection(socket_path)
        except OSError as err:
            await websocket.close(UNAVAILABLE, _reason(f"The console is not available: {err}"))
            return
        await self._pipe(websocket, reader, writer)

    @staticmethod
    async def _pipe(websocket: WebSocket, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        """Bytes both ways until either side closes; a closed VNC socket closes the
        WebSocket as websockify does (1000, "Target closed")."""

        async def to_vnc() -> None:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                if data is None:
                    await websocket.close(1003, "Binary frames only")
                    return
                writer.write(data)
                await writer.drain()

        async def to_client() -> None:
            while data := await reader.read(CHUNK):
                await websocket.send_bytes(data)

        client, target = asyncio.create_task(to_vnc()), asyncio.create_task(to_client())
        done, pending = await asyncio.wait({client, target},
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        failed = [task.exception() for task in done if task.exception() is not None]
        if target in done and client not in done:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                await websocket.close(1000, "Target closed")
        for error in failed:
            log.info("console connection ended: %r", error)
