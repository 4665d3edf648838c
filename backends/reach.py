"""Addresses of an instance this machine can answer on: IPv4 127.0.0.0/8 (Linux routes the
whole range to loopback), so a port's fixed or floating IP there reaches the guest's SSH
server as it would on a real cloud. Both backends use them: QEMU forwards each to the
guest's port 22 (``backends.qemu.reach``), the simulated cloud listens on each itself
(``backends.simulated.ssh``). Other addresses (devstack's 172.24.4.0/24, a tenant's 10/8)
are only data."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable

from backends.base import VifSpec

log = logging.getLogger(__name__)

#: The guest port every reachable address answers on.
SSH_PORT = 22
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def reachable(addresses: Iterable[str]) -> list[str]:
    """The addresses of ``addresses`` this machine can listen on (IPv4 127.0.0.0/8)."""
    found = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip in _LOOPBACK and ip not in (_LOOPBACK.network_address,
                                          _LOOPBACK.broadcast_address):
            found.append(str(ip))
    return sorted(set(found))


def vif_addresses(vifs: Iterable[VifSpec]) -> list[str]:
    """The reachable addresses of ``vifs`` (their fixed and floating IPs)."""
    return reachable(a for vif in vifs for a in (*vif.fixed_ips, *vif.floating_ips))


def bindable(address: str, port: int = SSH_PORT) -> bool:
    """Whether this process can listen on ``address``:``port`` now: an address another
    process holds, or a privileged port without the right to bind it, is left out (and
    logged): the guest runs on, unreachable there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As QEMU's user-mode stack and asyncio bind their listeners: connections of a
        # guest's former listener lingering in TIME_WAIT do not keep its successor out.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as err:
            log.warning("%s:%d cannot reach its guest: %s", address, port, err)
            return False
    return True
