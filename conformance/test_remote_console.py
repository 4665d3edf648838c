"""Remote consoles end to end: Nova's noVNC URL, the token behind it (the admin's
``/os-console-auth-tokens``), and the WebSocket proxy the URL leads to.

The URL is read as Tempest reads it (``test_novnc``): the WebSocket path and token are in
the ``path`` query parameter. A bad, expired or orphaned token is refused as Nova's proxy
refuses it: the WebSocket handshake completes, then the connection drops with no data and
no close frame. Each such test also shows the same connection admitted with the valid
token, so a proxy that drops everything fails it: on a real display (QEMU, a real cloud)
the RFB greeting comes through; the simulated cloud has no display, so past the checks its
WebSocket closes with a reason that says so.
"""

from __future__ import annotations

import sqlite3
import struct
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jsonschema
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import servers as v21
from tempest.lib.api_schema.response.compute.v2_6 import servers as v26
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from conformance.bios_image import boot_image
from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.schemas import validate
from conformance.test_servers import Servers, gone, image_id, message  # noqa: F401

with warnings.catch_warnings():  # it imports Tempest's deprecated volume v2 clients
    warnings.simplefilter("ignore", DeprecationWarning)
    from tempest.common import compute as tempest_compute

#: Nova's ``console_auth_tokens.show_response`` (Tempest has no schema for this API);
#: ``format: uuid`` on ``internal_access_path`` is Nova's own oddity, left out.
TOKEN_SHOW = {
    "type": "object",
    "properties": {"console": {
        "type": "object",
        "properties": {
            "instance_uuid": {"type": "string", "format": "uuid"},
            "host": {"type": ["string", "null"]},
            "port": {"type": "integer"},
            "internal_access_path": {"type": ["string", "null"]},
        },
        "required": ["instance_uuid", "host", "port", "internal_access_path"],
        "additionalProperties": False,
    }},
    "required": ["console"],
    "additionalProperties": False,
}
NOVNC_PAGE = Path("/usr/share/novnc/vnc_lite.html")
#: How the simulated cloud's proxy closes a connection it admitted: it has no display.
NO_DISPLAY = (1011, "The simulated cloud has no guest display to show.")
#: The greeting of QEMU's VNC server (and of any RFB 3.8 display).
RFB_GREETING = b"RFB 003.008\n"


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:  # noqa: F811
    created = Servers(admin, image_id)
    yield created
    created.remove()


def remote_console(session: ApiSession, server_id: str, version: str = "2.6") -> str:
    response = session.compute("POST", f"/servers/{server_id}/remote-consoles", version=version,
                               json={"remote_console": {"protocol": "vnc", "type": "novnc"}})
    url: str = validate(response, v26.get_remote_consoles)["remote_console"]["url"]
    return url


@dataclass(frozen=True)
class Console:
    """A noVNC URL taken apart as noVNC and Tempest do."""

    url: str

    @property
    def path(self) -> str:
        """The ``path`` query parameter: the WebSocket path (host-relative) and token."""
        return parse_qs(urlparse(self.url).query)["path"][0]

    @property
    def token(self) -> str:
        return self.path.split("?token=", 1)[1]

    def websocket_url(self, path: str | None = None) -> str:
        parsed = urlparse(self.url)
        scheme = "wss" if parsed.scheme == "https" else "ws"
        return f"{scheme}://{parsed.netloc}/{self.path if path is None else path}"

    def connect(self, path: str | None = None, **options: Any) -> ClientConnection:
        return connect(self.websocket_url(path), subprotocols=[Subprotocol("binary")],
                       open_timeout=10, close_timeout=2, **options)


class Rfb:
    """Enough of an RFB 3.8 client for the handshake, reading exact sizes from frames."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.buffer = b""
        self.bits_per_pixel = 0

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            frame = self.websocket.recv(timeout=20)
            assert isinstance(frame, bytes), frame
            self.buffer += frame
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def handshake(self) -> tuple[int, int, str]:
        """Version, security type None, ClientInit; ServerInit's width, height, name."""
        assert self.read(12) == b"RFB 003.008\n"
        self.websocket.send(b"RFB 003.008\n")
        count = self.read(1)[0]
        assert 1 in self.read(count), "security type None is offered"
        self.websocket.send(b"\x01")
        assert self.read(4) == b"\0\0\0\0", "SecurityResult: OK"
        self.websocket.send(b"\x01")  # ClientInit: shared
        width, height = struct.unpack(">HH", self.read(4))
        self.bits_per_pixel = self.read(16)[0]  # the pixel format's first field
        (length,) = struct.unpack(">I", self.read(4))
        return width, height, self.read(length).decode()


def dropped(console: Console, path: str | None = None, **options: Any) -> None:
    """The handshake completes, then the proxy drops the connection without any data or
    close frame (Nova's proxy raising InvalidToken after the upgrade)."""
    with console.connect(path, **options) as websocket:
        assert websocket.subprotocol == "binary"
        with pytest.raises(ConnectionClosed) as closed:
            websocket.recv(timeout=10)
        assert closed.value.rcvd is None, closed.value


def admitted(console: Console, target: Target, path: str | None = None,
             **options: Any) -> None:
    """Past the token and Origin checks: the display's RFB greeting, or on the simulated
    cloud (no display) a close frame that says so; never a silent drop."""
    with console.connect(path, **options) as websocket:
        assert websocket.subprotocol == "binary"
        if target.backend != "simulated":
            assert Rfb(websocket).read(len(RFB_GREETING)) == RFB_GREETING
            return
        with pytest.raises(ConnectionClosed) as closed:
            websocket.recv(timeout=10)
        assert closed.value.rcvd is not None, "dropped, as a refused token is"
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == NO_DISPLAY


def browser_origin(console: Console) -> Origin:
    """The Origin a browser showing the console's page sends."""
    parts = urlparse(console.url)
    return Origin(f"{parts.scheme}://{parts.netloc}")


def test_novnc_url_is_novas(servers: Servers, member: ApiSession, target: Any) -> None:
    sid = servers.boot(member)["id"]
    for url in (remote_console(member, sid),
                validate(member.compute("POST", f"/servers/{sid}/action", version="2.5",
                                        json={"os-getVNCConsole": {"type": "novnc"}}),
                         v21.get_vnc_console)["console"]["url"]):
        console = Console(url)
        assert console.path.endswith(f"?token={console.token}")
        uuid.UUID(console.token)
        if target.emulator is not None:
            assert url.startswith(f"{target.emulator.url}/_emulator/console/vnc_lite.html?path=")
            assert console.path == f"_emulator/console/websockify?token={console.token}"
    assert Console(remote_console(member, sid)).token != Console(url).token


def test_token_lookup_as_admin(servers: Servers, member: ApiSession,
                               admin: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    token = Console(remote_console(member, sid)).token
    path = f"/os-console-auth-tokens/{token}"
    for version in ("2.31", "2.98", "2.99", "latest"):
        response = admin.compute("GET", path, version=version)
        assert response.status_code == 200, response.text
        body = response.json()
        jsonschema.validate(body, TOKEN_SHOW)  # novnc: no tls_port, even from 2.99
        assert body["console"]["instance_uuid"] == sid
    # Until 2.98 any query passes; from 2.99 none does.
    assert admin.compute("GET", path, version="2.98", params={"x": "1"}).status_code == 200
    assert admin.compute("GET", path, version="2.99", params={"x": "1"}).status_code == 400
    # Before 2.31 the API served only RDP consoles, gone with Hyper-V: a bare 400.
    response = admin.compute("GET", path, version="2.30")
    assert response.status_code == 400
    assert message(response) == ("The server could not comply with the request since it is "
                                 "either malformed or otherwise incorrect.")
    response = member.compute("GET", path, version="2.31")
    assert response.status_code == 403
    assert message(response) == \
        "Policy doesn't allow os_compute_api:os-console-auth-tokens to be performed."
    response = admin.compute("GET", f"/os-console-auth-tokens/{uuid.uuid4()}", version="2.31")
    assert response.status_code == 404
    assert message(response) == "Token not found"


def test_console_of_another_projects_server(servers: Servers, member: ApiSession,
                                            alt: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    response = alt.compute("POST", f"/servers/{sid}/remote-consoles", version="2.6",
                           json={"remote_console": {"protocol": "vnc", "type": "novnc"}})
    assert response.status_code == 404
    assert message(response) == f"Instance {sid} could not be found."


def test_websocket_bad_tokens_are_dropped(servers: Servers, member: ApiSession,
                                          target: Target) -> None:
    console = Console(remote_console(member, servers.boot(member)["id"]))
    websocket_path, _token = console.path.split("?", 1)
    admitted(console, target)
    dropped(console, console.path.replace("token=", "token=bad"))  # as Tempest's bad token
    dropped(console, websocket_path)  # no token at all
    dropped(console, f"{websocket_path}?token={uuid.uuid4()}")
    admitted(console, target)  # refusals spend nothing of the valid token


def test_websocket_checks_origin(servers: Servers, member: ApiSession,
                                 target: Target) -> None:
    console = Console(remote_console(member, servers.boot(member)["id"]))
    admitted(console, target, origin=browser_origin(console))
    dropped(console, origin=Origin("http://elsewhere.example"))
    netloc = urlparse(console.url).netloc
    dropped(console, origin=Origin(f"https://{netloc}"))


def test_websocket_reaches_the_display(servers: Servers, member: ApiSession,
                                       target: Target) -> None:
    """QEMU: an RFB handshake through the proxy, as a browser (Origin of the console's own
    host) and as older noVNC (token in a cookie); a token serves more than one connection.
    Simulated: past the token and Origin checks, closed with the reason."""
    sid = servers.boot(member)["id"]
    console = Console(remote_console(member, sid))
    browser = browser_origin(console)
    if target.backend == "simulated":
        admitted(console, target, origin=browser)
        return
    cookie = {"Cookie": f"token={console.token}"}
    for path, options in ((None, {"origin": browser}),
                          (console.path.split("?")[0], {"additional_headers": cookie})):
        with console.connect(path, **options) as websocket:
            width, height, _name = Rfb(websocket).handshake()
            assert width > 0 and height > 0


class TempestNoVNC(tempest_compute.NoVNCValidateMixin):
    """Tempest's own noVNC checks (``test_novnc``, ``test_novnc_bad_token``) as a judge."""

    def runTest(self) -> None:
        """Unused: testtools needs a test method to build the case."""


def test_tempest_novnc_checks(servers: Servers, member: ApiSession, target: Target) -> None:
    """Tempest's WebSocket client on both sides of the token check, with the same URL but
    for the token. A bad token: the upgrade, then nothing (Tempest's ``test_novnc_bad_token``).
    The valid one: data, so the proxy does not just close every socket; on a real display
    the upgrade and RFB negotiation pass Tempest's ``test_novnc`` checks (and the page, where
    noVNC is served), on the simulated cloud the close frame that says there is none."""
    url = remote_console(member, servers.boot(member)["id"])
    judge = TempestNoVNC()
    parts = urlparse(url)
    path = parse_qs(parts.query)["path"][0].replace("token=", "token=bad")
    bad = parts._replace(query=urlencode({"path": path})).geturl()
    judge.websocket = tempest_compute.create_websocket(bad)
    try:
        judge.validate_websocket_upgrade()
        data = judge.websocket.receive_frame()
        assert data is None or not data, data
    finally:
        judge.websocket.close()
    judge.websocket = tempest_compute.create_websocket(url)
    try:
        judge.validate_websocket_upgrade()
        if target.backend == "simulated":
            code, reason = NO_DISPLAY
            # Tempest's client reads a frame's payload whatever its kind: here a close.
            assert judge.websocket.receive_frame() == struct.pack(">H", code) + reason.encode()
        else:
            judge.validate_rfb_negotiation()
    finally:
        judge.websocket.close()
    if target.backend != "simulated" and NOVNC_PAGE.is_file():
        judge.validate_novnc_html(url)


def test_deleted_server_invalidates_its_tokens(servers: Servers, member: ApiSession,
                                              admin: ApiSession, target: Target) -> None:
    """Nova removes an instance's tokens when it is deleted: the lookup 404s and the
    proxy drops the connection."""
    sid = servers.boot(member)["id"]
    console = Console(remote_console(member, sid))
    path = f"/os-console-auth-tokens/{console.token}"
    assert admin.compute("GET", path, version="2.31").status_code == 200
    admitted(console, target)
    assert member.compute("DELETE", f"/servers/{sid}").status_code == 204
    gone(member, sid)
    response = admin.compute("GET", path, version="2.31")
    assert response.status_code == 404
    assert message(response) == "Token not found"
    dropped(console)


def _expire(state: Path, token_hash: str) -> None:
    """Move a stored console token's expiry into the past, as its TTL (Nova's 600 s
    ``[consoleauth] token_ttl``) passing would; the table is found by its columns."""
    with sqlite3.connect(state) as db:
        (table,) = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")
            if {"token_hash", "expires"} <= {
                row[1] for row in db.execute(f"PRAGMA table_info('{name}')")}]
        changed = db.execute(f"UPDATE '{table}' SET expires = ? WHERE token_hash = ?",
                             (int(time.time()) - 1, token_hash)).rowcount
    assert changed == 1


@pytest.mark.emulator_only
def test_expired_tokens_are_dropped(tmp_path: Path, http: httpx.Client,
                                    target: Target) -> None:
    """A token past its expiry is refused as a bad one: the proxy drops the connection,
    the admin lookup says "Token not found"; a fresh token for the same server works."""
    import hashlib

    state = tmp_path / "state.db"
    with dedicated_emulator(target, state=f"sqlite:///{state}") as process:
        accounts = seeded_accounts(process.url)
        member = ApiSession(accounts["member"], http)
        admin = ApiSession(accounts["admin"], http)
        sid = Servers(admin, boot_image(member, admin, process.backend)["id"]).boot(member)["id"]
        console = Console(remote_console(member, sid))
        admitted(console, target)
        _expire(state, hashlib.sha256(console.token.encode()).hexdigest())
        dropped(console)
        response = admin.compute("GET", f"/os-console-auth-tokens/{console.token}",
                                 version="2.31")
        assert response.status_code == 404
        assert message(response) == "Token not found"
        admitted(Console(remote_console(member, sid)), target)


@pytest.mark.emulator_only
def test_novnc_page(servers: Servers, member: ApiSession, http: httpx.Client) -> None:
    """noVNC's page is served when Debian's novnc package is installed; otherwise a 404
    that says what is missing."""
    url = remote_console(member, servers.boot(member)["id"])
    response = http.get(url)
    if NOVNC_PAGE.is_file():
        assert response.status_code == 200
        assert "noVNC" in response.text and "<script" in response.text
    else:
        assert response.status_code == 404
        assert "noVNC is not installed" in response.text
