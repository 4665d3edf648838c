"""``[network]`` in the config file: the seeded networks (``emulator.network.seeding``).

::

    [network]
    public_cidr = ""        # the public (floating IP) subnet; default by backend:
                            # 172.24.4.0/24 (devstack's), 127.24.4.0/24 on qemu
    public_gateway = ""     # default: the CIDR's first address
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, StrictStr
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError


def _ipv4_cidr(value: str) -> str:
    if value:
        try:
            ipaddress.IPv4Network(value)
        except ValueError:
            raise PydanticCustomError("cidr", "must be an IPv4 CIDR (a.b.c.d/n, host bits "
                                      "zero)") from None
    return value


def _ipv4_address(value: str) -> str:
    if value:
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise PydanticCustomError("address", "must be an IPv4 address") from None
    return value


#: The seeded ``public`` subnet by compute backend (default: devstack's ``FLOATING_RANGE``).
#: On QEMU a loopback range: every floating IP is an address of this machine, forwarded to
#: its guest's port 22 (``backends.qemu.reach``).
PUBLIC_CIDRS: Mapping[str, str] = {"qemu": "127.24.4.0/24"}
DEFAULT_PUBLIC_CIDR = "172.24.4.0/24"


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class NetworkConfig:
    """The seeded networks (``emulator.network.seeding``)."""

    #: The ``public`` network's subnet (floating IPs); empty: by backend (``PUBLIC_CIDRS``).
    public_cidr: Annotated[StrictStr, AfterValidator(_ipv4_cidr)] = ""
    #: Its gateway; empty: the CIDR's first address.
    public_gateway: Annotated[StrictStr, AfterValidator(_ipv4_address)] = ""

    def public_subnet(self, backend: str) -> tuple[str, str]:
        """(CIDR, gateway) of the public subnet on ``backend``."""
        cidr = self.public_cidr or PUBLIC_CIDRS.get(backend, DEFAULT_PUBLIC_CIDR)
        gateway = self.public_gateway or str(ipaddress.IPv4Network(cidr)[1])
        return cidr, gateway
