"""Hosts (``/os-hosts``, until 2.42), as Nova's ``HostController`` and ``HostAPI`` answer
with the libvirt driver: the list of enabled services by host, a compute host's resources
(its node's totals and usage, what its servers take at most, per project), and the updates
and power actions, which that driver does not carry out.

A host "exists" for these calls when it has a compute service: Nova first looks the host
up in its cell mappings, which only compute hosts have (``Host 'x' is not mapped to any
cell``, a 404, for any other name, the controller's included).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NoReturn

from sqlmodel import col, select

from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.services.hypervisors import HypervisorRecord, Hypervisors
from emulator.compute.services.service import Services
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import NotFound, NotImplementedYet

log = logging.getLogger("nova_emulator.hosts")

#: Nova's answer when the virt driver raises ``NotImplementedError`` (a 501).
NOT_SUPPORTED = "The requested functionality is not supported."

#: The power actions' paths -> the policy rule each checks (``startup`` checks ``start``).
POWER_RULES = {"startup": "start", "shutdown": "shutdown", "reboot": "reboot"}

#: What libvirt's compute manager answers for ``status`` (Nova's ``set_host_enabled``).
ENABLED = {True: "enabled", False: "disabled"}


def _rule(name: str) -> str:
    return f"os_compute_api:os-hosts:{name}"


@dataclass(frozen=True)
class HostEntry:
    """One row of ``GET /os-hosts``: a service's host, its topic and its zone."""

    host_name: str
    service: str
    zone: str


@dataclass(frozen=True)
class HostResource:
    """One ``resource`` of ``GET /os-hosts/{host}``."""

    host: str
    project: str
    cpu: int
    memory_mb: int
    disk_gb: int


def topic(binary: str) -> str:
    """A service's RPC topic, as Nova derives it: ``nova-compute`` -> ``compute``."""
    return binary.rpartition("nova-")[2]


class Hosts:
    def __init__(self, db: Database, services: Services, hypervisors: Hypervisors) -> None:
        self.db = db
        self.services = services
        self.hypervisors = hypervisors

    def list_hosts(self, ctx: RequestContext, zone: str | None = None) -> list[HostEntry]:
        """Every *enabled* service (Nova lists with ``disabled: False``), in the order they
        registered; an empty ``zone`` filters nothing, any other must match exactly."""
        authorize(ctx, _rule("list"))
        return [HostEntry(s.host, topic(s.binary), s.zone) for s in self.services.all()
                if not s.disabled and (not zone or s.zone == zone)]

    def _node(self, host: str) -> HypervisorRecord:
        found = self.hypervisors.of_host(host)
        if found is None:
            raise NotFound(f"Host '{host}' is not mapped to any cell")
        return found

    def show(self, ctx: RequestContext, host: str) -> list[HostResource]:
        """Nova's rows, in its order: ``(total)`` and ``(used_now)`` from the host's node
        (the hypervisor's figures), ``(used_max)`` the flavors of the servers on it, then
        one row per project with servers there (in the order of its first server)."""
        authorize(ctx, _rule("show"))
        node = self._node(host).usage
        rows = [HostResource(host, "(total)", node.vcpus, node.memory_mb, node.local_gb),
                HostResource(host, "(used_now)", node.vcpus_used, node.memory_mb_used,
                             node.local_gb_used)]
        with self.db.session() as s:
            servers = s.exec(select(Instance)
                             .where(Instance.host == host,
                                    Instance.deleted == False)  # noqa: E712
                             .order_by(col(Instance.id))).all()
        projects: dict[str, list[int]] = {}
        for server in servers:
            sums = projects.setdefault(server.project_id, [0, 0, 0])
            sums[0] += server.vcpus
            sums[1] += server.memory_mb
            sums[2] += server.root_gb + server.ephemeral_gb
        total = [sum(column) for column in zip(*projects.values(), strict=True)] or [0, 0, 0]
        rows.append(HostResource(host, "(used_max)", *total))
        rows += [HostResource(host, project, *sums) for project, sums in projects.items()]
        return rows

    def update(self, ctx: RequestContext, host: str, enable: bool | None,
               maintenance: bool | None) -> dict[str, str]:
        """``PUT /os-hosts/{host}``: the status first, then the maintenance mode, as Nova.

        NOTE: with libvirt, Nova's compute manager answers ``status`` without changing the
        service record (only the xenapi driver did more): the host stays enabled in
        ``os-services``. It also puts the COMPUTE_STATUS_DISABLED trait on the host's
        provider, which its next resource update (60 s later) takes away again; that
        brief effect is not copied. Maintenance mode is a driver call libvirt does not
        implement: a 501, after the status has been answered.
        """
        authorize(ctx, _rule("update"))
        result: dict[str, str] = {}
        if enable is not None:
            self._node(host)
            log.info("%s host %s", "enabling" if enable else "disabling", host)
            result["status"] = ENABLED[enable]
        if maintenance is not None:
            self._node(host)
            raise NotImplementedYet(NOT_SUPPORTED)
        return result

    def power_action(self, ctx: RequestContext, host: str, action: str) -> NoReturn:
        """``GET /os-hosts/{host}/startup|shutdown|reboot``. NOTE: a virt driver call
        libvirt does not implement: Nova's 501 once the host is known."""
        authorize(ctx, _rule(POWER_RULES[action]))
        self._node(host)
        raise NotImplementedYet(NOT_SUPPORTED)
