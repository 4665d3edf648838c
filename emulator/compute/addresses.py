"""Fixed addresses until Neutron exists: every server that asks for a network gets one
address on the stand-in ``private`` network."""

from __future__ import annotations

import ipaddress
import secrets
import uuid

from sqlmodel import func, select

from emulator.compute.models import Instance, InstanceAddress
from emulator.db import Database
from emulator.errors import InvalidInput

#: The network every server gets with ``networks: auto`` until Neutron exists.
DEFAULT_NETWORK = "private"
DEFAULT_NETWORK_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-emulator/networks/private"))
DEFAULT_SUBNET = ipaddress.IPv4Network("10.0.0.0/16")


def allocate_address(db: Database, server_id: str) -> None:
    """Give the server an address on the default network unless it asked for none.

    Addresses are handed out in order from just past the count in use, each candidate
    checked with the address index: O(1) per server while nothing is freed, never a pass
    over every address (a thousand-server build stays cheap)."""
    with db.session() as s:
        row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
        if row.requested_networks == "none":
            return
        used = s.exec(select(func.count()).select_from(InstanceAddress)
                      .where(InstanceAddress.network_name == DEFAULT_NETWORK)).one()
        first = int(DEFAULT_SUBNET.network_address) + 1
        size = DEFAULT_SUBNET.num_addresses - 2
        for step in range(size):
            candidate = first + (used + step) % size
            if candidate & 0xFF < 3:
                continue
            address = str(ipaddress.IPv4Address(candidate))
            if s.exec(select(InstanceAddress.id).where(
                    InstanceAddress.address == address,
                    InstanceAddress.network_name == DEFAULT_NETWORK)).first() is not None:
                continue
            mac = "fa:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))
            s.add(InstanceAddress(instance_uuid=server_id, network_name=DEFAULT_NETWORK,
                                  address=address, version=4, mac_address=mac))
            return
        raise InvalidInput("No more IP addresses available on network private.")
