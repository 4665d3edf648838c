"""A third party's backend, as small as one can be: every verb succeeds at once on one
host. ``tests/test_plugins.py`` registers it as ``example`` through an entry point and
runs the conformance suite's server tests on it (the README shows the same)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from backends.base import Diagnostics, HostInfo, PowerState
from backends.environment import BackendEnvironment, ImageFiles
from backends.processes import GuestProcess
from backends.simulated.disks import empty_qcow2


class ExampleBackend:
    name, guest_agent, force_config_drive = "example", True, False
    runs_image_data = False  # nothing runs: any image "boots"

    def __init__(self, env: BackendEnvironment) -> None:
        self._hosts = [HostInfo(name=str(env.settings.get("host", "example-1")),
                                availability_zone="nova", hypervisor_type="example",
                                vcpus=64, memory_mb=262144, local_gb=4000)]

    def hosts(self) -> list[HostInfo]:
        return self._hosts

    def set_power_listener(self, listener: object) -> None:
        pass  # instances never change state by themselves here

    async def snapshot(self, instance: Any) -> bytes:
        return empty_qcow2(instance.root_gb << 30)

    async def get_console_output(self, instance: Any) -> str:
        return f"{instance.hostname} login:\n"

    async def get_diagnostics(self, instance: Any) -> Diagnostics:
        return Diagnostics(state="running", driver="example", hypervisor=None,
                           hypervisor_os=None, uptime=0, config_drive=False)

    def guest_processes(self) -> tuple[GuestProcess, ...]:
        return ()  # no process runs a guest

    async def recover(self, instances: Any) -> dict[str, PowerState]:
        return {spec.uuid: state for spec, state in instances}

    def __getattr__(self, verb: str) -> Callable[..., Coroutine[Any, Any, None]]:
        """Every other verb (spawn, destroy, power_off, ...) is done at once."""
        async def done(*_args: Any, **_kwargs: Any) -> None:
            return None
        return done


def create(env: BackendEnvironment) -> ExampleBackend:
    """The entry point: ``example = "tests.example_backend:create"``."""
    return ExampleBackend(env)


class NoImages(ImageFiles):
    """An image service with no files (for building a backend outside an emulator)."""

    def add(self, image_id: str, name: str, disk_format: str, path: Path) -> None:
        pass

    def __getitem__(self, image_id: str) -> Path:
        raise KeyError(image_id)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
