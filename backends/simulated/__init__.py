"""The simulated cloud: in-memory hypervisors, many of them, cheaply."""

from backends.simulated.backend import DEFAULT_ZONES, SimulatedBackend, default_hosts

__all__ = ["DEFAULT_ZONES", "SimulatedBackend", "default_hosts"]
