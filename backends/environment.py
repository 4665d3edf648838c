"""How a backend is built: the factory a plug-in registers, and what the emulator hands it.

A backend is a plug-in found by name in the entry point group ``nova_emulator.backends``
(the built-in ``simulated`` and ``qemu`` register there too). The entry point names a
``BackendFactory``: given a ``BackendEnvironment``, it returns a ``ComputeBackend``
(``backends.base``). A minimal one::

    # pyproject.toml of the plug-in's package
    [project.entry-points."nova_emulator.backends"]
    example = "my_package.backend:create"

    # my_package/backend.py
    def create(env: BackendEnvironment) -> ComputeBackend:
        return MyBackend(hosts=env.settings.get("hosts", 1), clock=env.clock)

``nova-emulator serve --backend example`` then runs every server on it, with the settings
of its ``[backends.example]`` table.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.base import Clock, ComputeBackend

#: The entry point group backends register in.
ENTRY_POINT_GROUP = "nova_emulator.backends"


class ImageFiles(Mapping[str, Path]):
    """The image service's images as files a hypervisor can boot: image id -> the file of
    its data (read at each lookup; an image without data is missing)."""

    @abstractmethod
    def add(self, image_id: str, name: str, disk_format: str, path: Path) -> None:
        """Offer the file ``path`` as a public image (a backend's own guest image): the
        image service lists it under ``image_id`` and ``name``, and boots read the file."""


@dataclass(frozen=True)
class BackendEnvironment:
    """What the emulator gives a backend factory."""

    #: The backend's own settings: its configuration table, as plain data.
    settings: Mapping[str, Any]
    #: The emulator's clock: a backend that simulates durations waits on it.
    clock: Clock
    #: The images servers boot from.
    images: ImageFiles
    #: Where a file state lives (a backend may keep its files beside it); None in memory.
    state_dir: Path | None = None
    #: True when the state dies with the process (in-memory SQLite): nothing could adopt
    #: the backend's guests after it, so they should end with it.
    ephemeral: bool = True


#: What an entry point of ``nova_emulator.backends`` names.
BackendFactory = Callable[[BackendEnvironment], ComputeBackend]
