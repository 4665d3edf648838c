"""asyncssh's side of the simulated guests' SSH servers (``backends.simulated.ssh``)."""

from __future__ import annotations

import functools
import warnings

from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning

from backends.simulated.console import HOST_KEYS, host_key
from backends.simulated.shell import USERS, Shell
from backends.simulated.ssh import GuestSSH

with warnings.catch_warnings():
    # NOTE: asyncssh still names DSA keys, which cryptography deprecates on import.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import asyncssh


async def listen(guests: GuestSSH, uuid: str, address: str, port: int) -> asyncssh.SSHAcceptor:
    """A listener of instance ``uuid`` on ``address``:``port`` (``OSError`` if it cannot
    bind), presenting the instance's host keys."""
    keys = [asyncssh.import_private_key(host_key(uuid, kind).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption())) for kind, _ in HOST_KEYS]
    return await asyncssh.create_server(
        functools.partial(GuestServer, guests, uuid), address, port, server_host_keys=keys,
        reuse_address=True, process_factory=functools.partial(session, guests, uuid))


class GuestServer(asyncssh.SSHServer):
    """One connection to a guest: public keys only, the instance's key pair's."""

    def __init__(self, guests: GuestSSH, uuid: str) -> None:
        self.guests, self.uuid = guests, uuid
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.guests.connected(self.uuid, conn, True)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.guests.connected(self.uuid, self.conn, False)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        login = self.guests.login(self.uuid)
        if username not in USERS or login is None or not login.key_data:
            return False
        try:
            allowed = asyncssh.import_public_key(login.key_data)
        except (asyncssh.KeyImportError, ValueError):
            return False
        return bool(allowed.public_data == key.public_data)


async def session(guests: GuestSSH, uuid: str,
                  process: asyncssh.SSHServerProcess[str]) -> None:
    """One session: a command (``ssh guest hostname``), else a shell read line by line."""
    login = guests.login(uuid)
    view = login.view() if login else None
    if login is None or view is None:
        process.exit(255)
        return
    user = str(process.get_extra_info("username"))
    shell = Shell(view, user, login.console)
    if process.command is not None:
        result = shell.run(process.command)
        process.stdout.write(result.stdout)
        process.stderr.write(result.stderr)
        process.exit(result.status)
        return
    status = 0
    while shell.exited is None:
        process.stdout.write(f"{view.hostname}:~{'#' if user == 'root' else '$'} ")
        try:
            line = await process.stdin.readline()
        except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
            continue
        except (asyncssh.Error, ConnectionError):
            break
        view = login.view()
        if not line or view is None:
            break
        shell.guest = view
        result = shell.run(line)
        process.stdout.write(result.stdout)  # asyncssh's line editor ends lines with CR LF
        process.stderr.write(result.stderr)
        status = result.status
    process.exit(shell.exited if shell.exited is not None else status)
