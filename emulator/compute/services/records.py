"""What the services domain hands out, detached from the database: a service as the API
shows it, and a compute node (a hypervisor) with the service that runs it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

COMPUTE = "nova-compute"
#: The services of the control plane, on one controller host (devstack's all-in-one
#: controller), in the order they register.
CONTROLLER_HOST = "controller"
CONTROL_BINARIES = ("nova-scheduler", "nova-conductor")
#: Nova's ``internal_service_availability_zone``: the zone of every service but
#: ``nova-compute`` (hidden from the public zone list).
INTERNAL_ZONE = "internal"


@dataclass(frozen=True)
class ServiceRecord:
    """One service (Nova's ``objects.Service`` with its zone set)."""

    id: int
    uuid: str
    host: str
    binary: str
    #: The aggregates' zone for ``nova-compute``, else the internal zone.
    zone: str
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    #: Whether it is up (Nova's ``service_is_up``): not forced down, and its host alive.
    up: bool
    #: Its last heartbeat or change (None: neither yet).
    updated_at: datetime | None

    @property
    def status(self) -> str:
        return "disabled" if self.disabled else "enabled"

    @property
    def state(self) -> str:
        return "up" if self.up else "down"


@dataclass(frozen=True)
class NodeRecord:
    """One compute node, as the services domain keeps it in memory."""

    id: int
    host: str
    hypervisor_hostname: str
    service_id: int


def is_uuid_like(value: str) -> bool:
    """oslo's ``is_uuid_like`` (hyphens, braces, ``urn:uuid:`` optional, any case)."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    bare = value.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
    return parsed.hex == bare.lower()


def integer_id(value: str) -> int | None:
    """oslo's ``validate_integer`` (``int(str(value))``): None when it is not one."""
    try:
        return int(str(value))
    except ValueError:
        return None
