"""Boot slots: at most ``concurrency`` guests boot at once.

One TCG boot costs about 4.5 CPU-seconds; boots in parallel on a few cores only make every
guest late (the reference's section 7). A slot is taken before QEMU starts and given back
when the free guest prints ``GUEST-READY`` (other images: after ``grace`` seconds), when
the process ends, or when the boot is abandoned (``end``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from backends.qemu.instance_dir import Instance
from backends.qemu.process import InstancePaths, QemuProcess

#: The free guest prints this once its userspace is up (``backends.qemu.guest``).
READY_MARKER = "GUEST-READY"


class BootSlots:
    def __init__(self, concurrency: int, boot_timeout: float, grace: float) -> None:
        self.concurrency = max(1, concurrency)
        self.boot_timeout = boot_timeout
        self.grace = grace
        self._slots: asyncio.Semaphore | None = None  # made on the loop that uses it

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._slots

    async def take(self) -> None:
        await self._semaphore().acquire()

    def give_back(self) -> None:
        self._semaphore().release()

    def hold(self, instance: Instance, process: QemuProcess) -> None:
        """Keep the slot taken for ``instance`` until its guest is up (then give it back)."""
        instance.booting = asyncio.create_task(self._hold(instance, process))

    def end(self, instance: Instance) -> None:
        """Give back ``instance``'s slot now (its boot is abandoned or its QEMU stopped)."""
        if instance.booting is not None:
            instance.booting.cancel()  # its finally gives the slot back
            instance.booting = None

    async def _hold(self, instance: Instance, process: QemuProcess) -> None:
        try:
            free = instance.config.kernel is not None
            deadline = time.monotonic() + (self.boot_timeout if free else self.grace)
            while time.monotonic() < deadline and process.is_alive():
                if free and await asyncio.to_thread(ready, instance.paths):
                    return
                await asyncio.sleep(0.1)
        finally:
            self.give_back()


def ready(paths: InstancePaths) -> bool:
    """Whether the free guest has said ``GUEST-READY`` on its console."""
    with contextlib.suppress(OSError):
        return READY_MARKER in paths.console_log.read_text(errors="replace")
    return False
