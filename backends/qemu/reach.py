"""Guests reachable from this machine: every address of an instance in 127.0.0.0/8 (a
port's fixed IP or floating IP; Linux routes the whole range to loopback) forwards its
port 22 to the guest's, as a user-mode ``hostfwd`` on the NIC's netdev, so
``ssh user@<address>`` reaches the guest as on a real cloud.

The addresses live in the instance's device record (``devices.json``, key
``addresses``: port id -> the port as last told: ``VifSpec`` as a dict), written at spawn
from the instance's ports and by ``update_interface``. A port hot-plugged as a NIC of its
own forwards on its netdev (``nd<port>``); every other port (those the instance booted
with) on the boot NIC's (``n0``). Every start of the guest's QEMU puts the forwards on
its command line; while it runs they are added and removed with the monitor's
``hostfwd_add`` / ``hostfwd_remove``. A live migration's destination starts without them
(the source still holds the addresses) and adds them once it has taken over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from backends.qemu.qmp import CommandFailed, Monitor, MonitorError
from backends.reach import SSH_PORT, bindable, reachable

log = logging.getLogger(__name__)

#: The boot-time NIC's netdev (``process.build_argv``).
BOOT_NETDEV = "n0"

__all__ = ["BOOT_NETDEV", "SSH_PORT", "bindable", "hostfwd", "port_addresses", "reachable",
           "rule", "usable"]


def usable(addresses: Iterable[str]) -> list[str]:
    """Those of ``addresses`` that can be forwarded now (``bindable``)."""
    return [address for address in addresses if bindable(address, SSH_PORT)]


def port_addresses(port: Mapping[str, Any]) -> list[str]:
    """The forwarded addresses of one recorded port (its fixed and floating IPs)."""
    return reachable([*port.get("fixed_ips", ()), *port.get("floating_ips", ())])


def rule(address: str) -> str:
    """The ``hostfwd`` rule of ``address`` (to the guest's default address)."""
    return f"tcp:{address}:{SSH_PORT}-:{SSH_PORT}"


async def hostfwd(monitor: Monitor, netdev: str, add: Iterable[str] = (),
                  remove: Iterable[str] = ()) -> None:
    """Remove then add the forwards of ``netdev`` in a running QEMU. One that cannot be set
    (the address is taken on this machine, the netdev is gone) is logged, not raised: the
    guest runs on, unreachable at that address."""
    commands = [f"hostfwd_remove {netdev} tcp:{a}:{SSH_PORT}" for a in remove]
    commands += [f"hostfwd_add {netdev} {rule(a)}" for a in add]
    for command in commands:
        try:
            answer = await monitor.execute("human-monitor-command",
                                           {"command-line": command})
        except (CommandFailed, MonitorError) as err:
            log.warning("%s: %s failed: %s", monitor, command, err)
            continue
        # HMP answers errors as text (and a removal's success: "... removed")
        if isinstance(answer, str) and answer.strip() and \
                not answer.strip().endswith("removed"):
            log.warning("%s: %s: %s", monitor, command, answer.strip())
