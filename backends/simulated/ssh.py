"""The SSH servers of simulated guests: ``ssh cirros@<floating IP> hostname`` answers.

A running simulated instance listens on each reachable address of its ports (a fixed or
floating IP in 127.0.0.0/8, ``backends.reach``: put ``[network] public_cidr`` there, as
the QEMU backend does by default), on ``port`` (22, as a guest's sshd: Tempest's
validation and ``ssh`` need no option). Its host keys are the instance's
(``console.host_key``, whose fingerprints its console prints); it takes the users ``root``
and ``cirros`` (as the free QEMU guest: CirrOS's user) with the instance's key pair, no
passwords; each command runs in the guest's shell (``backends.simulated.shell``), against
the instance as the cloud has it at that moment. A guest that stops, goes away or loses an
address stops answering there, and its open sessions are closed: ``sync`` is told after
every change.

asyncssh (a well-kept asyncio SSH implementation, ``ssh_server``) serves them on the
emulator's event loop: a listener costs a socket, a session one task; it is imported at the
first listener (most simulated clouds have none: their addresses are not reachable).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from backends.reach import SSH_PORT
from backends.simulated.shell import GuestView

log = logging.getLogger(__name__)


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class Login:
    """What a guest lets in, and what its shell sees: given by the backend per instance."""

    #: The instance's key pair (an OpenSSH public key line), None: nobody gets in.
    key_data: str | None
    #: The guest as of now; None when it is no longer running.
    view: Callable[[], GuestView | None]
    #: Writes a line on the guest's console (``sudo sh -c 'echo x >/dev/console'``).
    console: Callable[[str], None]


@dataclass
class _Guest:
    login: Login
    listeners: dict[str, Closable] = field(default_factory=dict)  # address -> its server
    connections: set[Closable] = field(default_factory=set)  # open sessions


class GuestSSH:
    """Every simulated instance's SSH listeners, kept as ``sync`` is told."""

    def __init__(self, port: int = SSH_PORT) -> None:
        #: 0: no guest answers SSH.
        self.port = port
        self._guests: dict[str, _Guest] = {}
        self._lock = asyncio.Lock()

    def addresses(self, uuid: str) -> list[str]:
        """The addresses ``uuid`` answers on now."""
        guest = self._guests.get(uuid)
        return sorted(guest.listeners) if guest else []

    async def sync(self, uuid: str, login: Login | None, addresses: Iterable[str]) -> None:
        """Make instance ``uuid`` answer on ``addresses`` (reachable ones) and no others;
        ``login`` None (the instance stopped or is gone): on none, its sessions closed."""
        wanted = set(addresses) if login is not None and self.port else set()
        if not wanted and uuid not in self._guests:
            return  # the usual case: nothing reachable, nothing listening
        async with self._lock:
            guest = self._guests.get(uuid)
            if guest is None:
                if not wanted or login is None:
                    return
                guest = self._guests[uuid] = _Guest(login)
            elif login is not None:
                guest.login = login
            for address in sorted(set(guest.listeners) - wanted):
                guest.listeners.pop(address).close()
            if not wanted:
                self._drop(uuid)
                return
            for address in sorted(wanted - set(guest.listeners)):
                await self._listen(uuid, guest, address)

    def _drop(self, uuid: str) -> None:
        guest = self._guests.pop(uuid, None)
        if guest is not None:
            for closable in [*guest.listeners.values(), *guest.connections]:
                closable.close()

    async def _listen(self, uuid: str, guest: _Guest, address: str) -> None:
        from backends.simulated import ssh_server  # asyncssh: only once a guest answers

        try:
            guest.listeners[address] = await ssh_server.listen(self, uuid, address, self.port)
        except OSError as err:
            log.warning("%s:%d cannot reach instance %s: %s", address, self.port, uuid, err)

    def login(self, uuid: str) -> Login | None:
        """What instance ``uuid`` lets in now (None: it no longer answers)."""
        guest = self._guests.get(uuid)
        return guest.login if guest else None

    def connected(self, uuid: str, connection: Closable, up: bool) -> None:
        """A session of ``uuid`` opened (``up``) or closed."""
        guest = self._guests.get(uuid)
        if guest is None:
            if up:
                connection.close()  # gone between the accept and now
            return
        (guest.connections.add if up else guest.connections.discard)(connection)

    def close(self) -> None:
        """Stop every listener and session."""
        for uuid in list(self._guests):
            self._drop(uuid)
