"""Nova's services and the hypervisors they run (``/os-services``, ``/os-hypervisors``).

``Services`` keeps a record per service (the controller's ``nova-scheduler`` and
``nova-conductor``, a ``nova-compute`` per host the backend reports), which decides
whether a compute host is enabled and up for everything else in the cloud (``hosts()``,
``on_change``); ``Hypervisors`` shows each compute service's node with its usage from
placement; ``Hosts`` is the older view of the same hosts (``/os-hosts``, until 2.42).
"""

from emulator.compute.services.hosts import HostEntry, HostResource, Hosts
from emulator.compute.services.hypervisors import HypervisorRecord, Hypervisors, Statistics
from emulator.compute.services.records import (
    COMPUTE,
    CONTROL_BINARIES,
    CONTROLLER_HOST,
    INTERNAL_ZONE,
    ServiceRecord,
)
from emulator.compute.services.service import Services

__all__ = ["COMPUTE", "CONTROLLER_HOST", "CONTROL_BINARIES", "INTERNAL_ZONE",
           "HostEntry", "HostResource", "Hosts", "HypervisorRecord", "Hypervisors",
           "ServiceRecord", "Services", "Statistics"]
