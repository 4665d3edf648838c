"""The power-state watcher: each QEMU's changes of power state, told to the listener.

Each QEMU has a task that follows its QMP event stream and checks every ``poll_interval``
(0.5 s) that the process is still alive. A change of power state (a guest that powers
itself off, a killed process, a pause) is recorded on the instance and goes to the
listener set with ``set_listener`` as ``(uuid, PowerState)``, in order, from one
dispatcher task. While a verb holds the instance's lock the watcher reports nothing (the
verb's intermediate states are no news; the verb reports where it left the instance),
but a process that ended is always reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from backends.base import BackendError, PowerListener, PowerState
from backends.qemu import states
from backends.qemu.instance_dir import Instance
from backends.qemu.process import QemuProcess
from backends.qemu.qmp import MonitorDisconnected, MonitorError, MonitorTimeout

log = logging.getLogger(__name__)


class PowerWatcher:
    def __init__(self, poll_interval: float) -> None:
        self.poll_interval = poll_interval
        self._listener: PowerListener | None = None
        self._events: asyncio.Queue[tuple[str, PowerState]] | None = None
        self._dispatcher: asyncio.Task[None] | None = None

    def set_listener(self, listener: PowerListener | None) -> None:
        self._listener = listener

    def observe(self, instance: Instance, state: PowerState, *, watcher: bool = False) -> None:
        """Record ``state`` as ``instance``'s power state; a change goes to the listener.
        ``watcher``: seen by the watcher itself (ignored while a verb runs)."""
        if state == instance.power or (watcher and instance.lock.locked()):
            return
        instance.power = state
        if self._listener is None:
            return
        if self._events is None:
            self._events = asyncio.Queue()
        self._events.put_nowait((instance.spec.uuid, state))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(self._events))

    def watch(self, instance: Instance, process: QemuProcess) -> None:
        instance.watcher = asyncio.create_task(self._follow(instance, process),
                                               name=f"qemu-watch-{instance.spec.uuid}")

    def watching(self, instance: Instance) -> bool:
        return instance.watcher is not None and not instance.watcher.done()

    async def unwatch(self, instance: Instance) -> None:
        """Stop ``instance``'s watcher. NOTE: never waits for ever: Python 3.11's
        ``wait_for`` can swallow a cancellation that meets a completing command
        (gh-86296); the watcher also stops by itself once it is no longer the instance's."""
        watcher, instance.watcher = instance.watcher, None
        if watcher is None or watcher is asyncio.current_task():
            return
        for _attempt in range(3):
            watcher.cancel()
            await asyncio.wait({watcher}, timeout=self.poll_interval * 2 + 0.5)
            if watcher.done():
                if not watcher.cancelled():
                    watcher.exception()  # logged by _follow itself; taken here
                return
        log.warning("%s: the power-state watcher did not stop", instance.spec.uuid)

    async def close(self) -> None:
        """Stop the dispatcher (each instance's watcher is stopped with ``unwatch``)."""
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        self._events = None

    async def _dispatch(self, queue: asyncio.Queue[tuple[str, PowerState]]) -> None:
        while True:
            uuid, state = await queue.get()
            listener = self._listener
            if listener is None:
                continue
            try:
                await listener(uuid, state)
            except Exception:
                log.exception("power listener failed for %s -> %s", uuid, state.name)

    async def _follow(self, instance: Instance, process: QemuProcess) -> None:
        """Follow ``process``'s events and liveness until it ends; report changes."""
        me = asyncio.current_task()

        def watching() -> bool:  # watch() sets instance.watcher before this task first runs
            return instance.watcher is me

        try:
            if process.monitor.connected:
                with process.monitor.listen(list(states.EVENTS)) as waiter:
                    while process.monitor.connected and watching():
                        try:
                            event = await waiter.wait(self.poll_interval)
                        except MonitorTimeout:
                            if not process.is_alive():
                                break
                            continue
                        except MonitorDisconnected:
                            break
                        # The run state is the truth (a guest power-off sends SHUTDOWN
                        # and then STOP, which is no pause); the event only where the
                        # monitor cannot answer, or where it is ahead of the status.
                        state = states.after_event(event.name)
                        status = await _status_quietly(process)
                        if status is not None and not (
                                event.name == "SHUTDOWN" and status == "running"):
                            state = states.power_state(status)
                        if state is not None:
                            self.observe(instance, state, watcher=True)
            if not watching():
                return
            while process.is_alive():  # no monitor (an adopted one lost it): poll
                if not watching():
                    return
                await asyncio.sleep(self.poll_interval)
            await process.wait(1.0)  # reap our child
            if instance.process is process:
                instance.process = None
                with contextlib.suppress(OSError):
                    process.paths.forget_runtime_files()
                with contextlib.suppress(BackendError):
                    await process.monitor.disconnect()
            self.observe(instance, PowerState.SHUTDOWN)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watcher of %s failed", instance.spec.uuid)


async def _status_quietly(process: QemuProcess) -> str | None:
    if not process.is_alive() or not process.monitor.connected:
        return None
    try:
        return await process.monitor.status()
    except MonitorError:
        return None
