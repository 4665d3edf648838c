"""Backends are plug-ins: found by name in the entry point group ``nova_emulator.backends``
and built by one factory call (``backends.environment``). The built-in ``simulated`` and
``qemu`` register there like any other (see ``pyproject.toml``)."""

from __future__ import annotations

from importlib.metadata import entry_points

from pydantic import TypeAdapter

from backends.base import ComputeBackend
from backends.environment import ENTRY_POINT_GROUP, BackendEnvironment, BackendFactory
from emulator.config import SimulatedConfig
from emulator.errors import EmulatorError


class UnknownBackend(EmulatorError):
    """No backend of that name is registered."""


def backend_names() -> list[str]:
    """Every registered backend, by name."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def find_factory(name: str) -> BackendFactory:
    """The factory registered as ``name``; ``UnknownBackend`` naming the ones there are."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise UnknownBackend(f"no backend named {name!r} is registered (entry point group "
                             f"{ENTRY_POINT_GROUP}); there are: {', '.join(backend_names())}")
    factory: BackendFactory = next(iter(found)).load()
    return factory


def create_backend(name: str, env: BackendEnvironment) -> ComputeBackend:
    """The backend ``name``, built for ``env``."""
    return find_factory(name)(env)


def simulated(env: BackendEnvironment) -> ComputeBackend:
    """The built-in ``simulated`` backend: the cloud ``[simulated]`` describes, its stages
    on the emulator's clock."""
    from backends.simulated import SimulatedBackend, default_hosts

    config = TypeAdapter(SimulatedConfig).validate_python(dict(env.settings))
    hosts = default_hosts(
        [(zone.name, zone.hosts) for zone in config.zones],
        vcpus=config.vcpus, memory_mb=config.memory_mb, local_gb=config.local_gb,
        cpu_allocation_ratio=config.cpu_allocation_ratio,
        ram_allocation_ratio=config.ram_allocation_ratio,
        disk_allocation_ratio=config.disk_allocation_ratio,
    )
    return SimulatedBackend(hosts, clock=env.clock, stages=config.stages, seed=config.seed,
                            ssh_port=config.ssh_port)
