"""The conformance suite's emulator processes: the package's own harness
(``emulator.testing_process``), which the pytest plugin starts too."""

from emulator.testing_process import (
    GUEST_CACHE_ENV,
    NO_QUOTAS,
    QEMU_COMPUTE_SETTINGS,
    QEMU_HOSTS,
    QEMU_SETTINGS,
    UNLIMITED_QUOTAS,
    EmulatorProcess,
    free_port,
    merged_config,
)

__all__ = ["GUEST_CACHE_ENV", "NO_QUOTAS", "QEMU_COMPUTE_SETTINGS", "QEMU_HOSTS",
           "QEMU_SETTINGS", "UNLIMITED_QUOTAS", "EmulatorProcess", "free_port",
           "merged_config"]
