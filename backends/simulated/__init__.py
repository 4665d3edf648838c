"""The simulated cloud: in-memory hypervisors, many of them, cheaply."""

from backends.simulated.backend import (
    DEFAULT_LOCAL_GB,
    DEFAULT_MEMORY_MB,
    DEFAULT_VCPUS,
    DEFAULT_ZONES,
    STAGES,
    SimulatedBackend,
    Stage,
    default_hosts,
)

__all__ = ["DEFAULT_LOCAL_GB", "DEFAULT_MEMORY_MB", "DEFAULT_VCPUS", "DEFAULT_ZONES", "STAGES",
           "SimulatedBackend", "Stage", "default_hosts"]
