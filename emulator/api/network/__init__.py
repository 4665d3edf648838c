"""The Network (Neutron v2.0) API: ``service`` (the route table and request path),
``resources`` (the generic controller every resource shares), ``extras`` (router
interfaces, tags, quotas, extensions, the auto-allocated topology), ``faults``."""

from emulator.api.network.service import NetworkAPI

__all__ = ["NetworkAPI"]
