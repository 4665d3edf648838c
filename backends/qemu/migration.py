"""One live migration between two QEMU processes of this machine, over QMP.

The destination QEMU runs the source's machine with ``-incoming defer`` in the
destination host's directory for the instance; the guest's memory goes over a UNIX socket
there (``mig.sock``), with ``max-bandwidth`` raised (QEMU 7.2 limits it to 128 MiB/s).
The disk goes one of two ways:

* shared (``block_migration`` False): the destination's disk is a hard link to the
  source's qcow2, the same file, as two hosts see one file on shared storage. QEMU's own
  hand-over keeps it safe: the destination opens it inactive, the source flushes and lets
  go of it at the switch-over, the destination then takes it. Nothing is copied;
  ``disk_*`` progress stays 0.
* copied (``block_migration`` True, Nova's libvirt with ``VIR_MIGRATE_NON_SHARED_INC``):
  the destination gets a new overlay on the same image and exports it over NBD
  (``nbd.sock``); the source mirrors its own overlay's data into it (``blockdev-mirror``
  ``sync=top``: what the image holds is there already), then the memory goes; after the
  switch-over the mirror is completed and only then does the destination run (started
  with ``-S``, as libvirt starts it). ``disk_*`` progress is the mirror job's.

Progress comes from ``query-migrate`` (and ``query-block-jobs``) every ``poll_interval``;
the outcome from the ``MIGRATION`` events (``query-migrate`` may first answer about an
earlier migration: the reference's pitfall 8).

Until the destination runs the guest, every failure undoes the migration: the destination
QEMU is killed and its directory removed, and the guest goes on on the source (``cont``
where the migration or a force-complete left it stopped). ``force_complete`` switches to
post-copy (``migrate-start-postcopy``) when ``postcopy-ram`` could be enabled on both sides
(it needs userfaultfd; shared disks only), else it pauses the source so that the copy
converges, and the guest is continued on the destination. ``abort`` cancels
(``migrate_cancel``, or the mirror job) until the switch-over or post-copy began.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from enum import Enum

from backends.base import BackendError, MigrationAborted, MigrationProgress, ProgressListener
from backends.qemu.process import (
    InstancePaths,
    MachineConfig,
    ProcessManager,
    QemuProcess,
    qemu_img,
)
from backends.qemu.qmp import CommandFailed, Monitor, MonitorTimeout

log = logging.getLogger(__name__)

#: bytes/s: far above what a UNIX socket carries, so the copy runs at full speed.
MAX_BANDWIDTH = 10 * 2**30
#: The root disk's node in every instance's QEMU (``process.build_argv``); its NBD export.
ROOT_NODE = "root"
MIRROR_JOB = "mig-root"
MIRROR_TARGET = "mig-target"
MIGRATION_SOCKET = "mig.sock"
NBD_SOCKET = "nbd.sock"
#: ``query-migrate`` statuses whose figures are this migration's.
_RUNNING = ("active", "postcopy-active", "device", "pre-switchover")
_ENDED = ("completed", "failed", "cancelled")


class LiveMigrationFailed(BackendError):
    """The live migration failed (the guest goes on on the source), or there is none."""


class Phase(Enum):
    PREPARING = "preparing"  # the destination starting
    MIRRORING = "mirroring"  # the disk copied (block migration)
    MIGRATING = "migrating"  # the memory copied
    SWITCHING = "switching"  # the source stopped for good: no way back
    DONE = "done"


class LiveMigration:
    """One live migration of the guest of ``source`` to a new QEMU of ``config`` in
    ``target``'s run directory (see the module doc). ``run`` carries it out; while it
    runs, ``force_complete`` and ``abort`` act on it from other tasks."""

    def __init__(self, source: QemuProcess, target: ProcessManager, config: MachineConfig,
                 progress: ProgressListener, *, block: bool, ran: bool,
                 poll_interval: float, timeout: float,
                 bandwidth: int | None = None) -> None:
        self.source = source
        #: Bytes per second the copy may take (QEMU's ``max-bandwidth``); None: the
        #: module's ``MAX_BANDWIDTH`` (read now, so that tests can lower it).
        self.bandwidth = bandwidth or MAX_BANDWIDTH
        self.manager = target
        self.paths = target.paths(config.name)
        self.config = replace(config, incoming=True, start_paused=block)
        self.progress = progress
        self.block = block
        #: Whether the guest ran when the migration began (it runs afterwards too).
        self.ran = ran
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.phase = Phase.PREPARING
        self.target: QemuProcess | None = None
        self.postcopy = False  # postcopy-ram is enabled on both sides
        self._in_postcopy = False
        self._cancelled = False
        self._forced = False
        self._outcome: asyncio.Future[bool] | None = None
        self._last = MigrationProgress()
        self._disk = (0, 0)  # mirror job: (len, offset)

    # --- the migration ---------------------------------------------------------------------

    async def run(self) -> QemuProcess:
        """Migrate; the destination's QEMU, running the guest (paused if it was).
        ``MigrationAborted`` after ``abort``; ``BackendError`` on any other failure. Either
        way the guest then runs on the source, nothing is left of the destination."""
        self._outcome = asyncio.get_running_loop().create_future()
        try:
            target = await self._start_target()
            if self.block:
                await self._mirror(target)
            await self._migrate(target)
            await self._switch_over(target)
        except BaseException:
            await self._undo()
            self._settle(False)
            raise
        self._settle(True)
        return target

    async def _start_target(self) -> QemuProcess:
        shutil.rmtree(self.paths.root, ignore_errors=True)
        self.paths.root.mkdir(parents=True)
        if self.block:
            await _overlay_like(self.source.paths, self.paths)
        else:
            os.link(self.source.paths.disk, self.paths.disk)
        self.target = target = await self.manager.start(self.config)
        self._check_cancelled()
        capabilities = [{"capability": "events", "state": True}]
        for process in (target, self.source):
            await process.monitor.execute("migrate-set-capabilities",
                                          {"capabilities": capabilities})
        if not self.block:
            self.postcopy = await _enable_postcopy(target.monitor, self.source.monitor)
        await self.source.monitor.execute("migrate-set-parameters",
                                          {"max-bandwidth": self.bandwidth})
        await target.monitor.execute("migrate-incoming",
                                     {"uri": f"unix:{self.paths.root / MIGRATION_SOCKET}"})
        return target

    async def _mirror(self, target: QemuProcess) -> None:
        """Copy the disk into the destination's overlay until the mirror is READY (it
        then follows every write of the guest until the switch-over)."""
        self.phase = Phase.MIRRORING
        nbd = str(self.paths.root / NBD_SOCKET)
        await target.monitor.execute("nbd-server-start",
                                     {"addr": {"type": "unix", "data": {"path": nbd}}})
        await target.monitor.execute("block-export-add", {
            "type": "nbd", "id": MIRROR_JOB, "node-name": ROOT_NODE, "writable": True})
        source = self.source.monitor
        await source.execute("blockdev-add", {
            "driver": "nbd", "node-name": MIRROR_TARGET, "export": ROOT_NODE,
            "server": {"type": "unix", "path": nbd}})
        deadline = time.monotonic() + self.timeout
        ends = ["BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED",
                "BLOCK_JOB_ERROR"]
        with source.listen(ends, lambda e: e.data.get("device") == MIRROR_JOB) as waiter:
            await source.execute("blockdev-mirror", {
                "job-id": MIRROR_JOB, "device": ROOT_NODE, "target": MIRROR_TARGET,
                "sync": "top", "auto-dismiss": True})
            while True:
                self._check_cancelled()
                if time.monotonic() > deadline:
                    raise LiveMigrationFailed(f"The disk of instance {self.config.name} was "
                                              f"not copied within {self.timeout:g} s.")
                with contextlib.suppress(MonitorTimeout):
                    event = await waiter.wait(self.poll_interval)
                    if event.name != "BLOCK_JOB_READY":
                        raise LiveMigrationFailed(
                            f"The disk copy of instance {self.config.name} ended: "
                            f"{event.name} {dict(event.data)}")
                    self._disk = (_int(event.data, "len"), _int(event.data, "offset"))
                    self._report({})
                    return
                await self._poll_mirror()

    async def _migrate(self, target: QemuProcess) -> None:
        """Copy the memory until the source stopped and the destination has it all."""
        self.phase = Phase.MIGRATING
        self._check_cancelled()
        monitor = self.source.monitor
        deadline = time.monotonic() + self.timeout
        timed_out = cancel_sent = False
        with monitor.listen("MIGRATION", lambda e: e.data.get("status") in _ENDED) as waiter:
            await monitor.execute("migrate", {
                "uri": f"unix:{self.paths.root / MIGRATION_SOCKET}"})
            if self._forced:  # asked for before the copy began
                await self._force()
            while True:
                try:
                    event = await waiter.wait(self.poll_interval)
                    break
                except MonitorTimeout:
                    pass
                if not cancel_sent and (self._cancelled or time.monotonic() > deadline):
                    timed_out, cancel_sent = not self._cancelled, True
                    await monitor.execute("migrate_cancel")
                await self._poll()
        status = event.data.get("status")
        if status == "cancelled" and not timed_out:
            raise MigrationAborted(f"The live migration of instance {self.config.name} "
                                   "was cancelled.")
        if timed_out:
            raise LiveMigrationFailed(f"The live migration of instance {self.config.name} "
                                      f"did not complete within {self.timeout:g} s.")
        if status != "completed":
            raise LiveMigrationFailed(f"The live migration of instance {self.config.name} "
                                      f"failed: {_last_words(target) or status}")
        self.phase = Phase.SWITCHING
        await self._poll(ended=True)

    async def _switch_over(self, target: QemuProcess) -> None:
        """The memory is there: complete the disk copy, and have the guest run on the
        destination (in the state it had before the migration)."""
        if self.block:
            await self._complete_mirror(target)
        deadline = time.monotonic() + self.timeout
        while (status := await target.monitor.status()) == "inmigrate":
            if time.monotonic() > deadline:
                raise LiveMigrationFailed(f"The destination of instance {self.config.name} "
                                          f"did not take the guest over ({status}).")
            await asyncio.sleep(0.005)
        if self.ran and status != "running":  # started with -S, or paused to converge
            await target.monitor.execute_and_wait("cont", None, "RESUME", self.timeout)
        self.phase = Phase.DONE

    async def _complete_mirror(self, target: QemuProcess) -> None:
        source = self.source.monitor
        event = await source.execute_and_wait(
            "block-job-cancel", {"device": MIRROR_JOB},
            ["BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"], self.timeout,
            lambda e: e.data.get("device") == MIRROR_JOB)
        if event.data.get("error") or event.data.get("offset") != event.data.get("len"):
            raise LiveMigrationFailed(f"The disk copy of instance {self.config.name} did "
                                      f"not complete: {dict(event.data)}")
        self._disk = (_int(event.data, "len"), _int(event.data, "offset"))
        self._report({})
        await source.execute("blockdev-del", {"node-name": MIRROR_TARGET})
        await target.monitor.execute("block-export-del", {"id": MIRROR_JOB})
        await target.monitor.execute("nbd-server-stop")

    async def _undo(self) -> None:
        """Back to the source: the destination killed and removed, the source's mirror
        dropped, the guest running on the source again if it ran."""
        target, self.target = self.target, None
        if target is not None:
            with contextlib.suppress(BackendError):
                await target.kill()
        shutil.rmtree(self.paths.root, ignore_errors=True)
        monitor = self.source.monitor
        if not self.source.is_alive() or not monitor.connected:
            return
        with contextlib.suppress(BackendError):
            if self.block:
                with contextlib.suppress(CommandFailed):
                    await monitor.execute("block-job-cancel",
                                          {"device": MIRROR_JOB, "force": True})
                with contextlib.suppress(CommandFailed):
                    await _wait_gone(monitor, MIRROR_JOB, self.timeout)
                    await monitor.execute("blockdev-del", {"node-name": MIRROR_TARGET})
            if self.ran and await monitor.status() in ("paused", "postmigrate"):
                await monitor.execute_and_wait("cont", None, "RESUME", self.timeout)

    # --- from other tasks ------------------------------------------------------------------

    async def force_complete(self) -> None:
        """Make the copy finish: post-copy if enabled, else the source paused until the
        destination runs the guest."""
        if self.phase in (Phase.SWITCHING, Phase.DONE) or self._in_postcopy:
            return  # finishing already
        self._forced = True
        if self.phase in (Phase.MIRRORING, Phase.MIGRATING):
            await self._force()

    async def _force(self) -> None:
        monitor = self.source.monitor
        if self.postcopy and self.phase == Phase.MIGRATING:
            await monitor.execute("migrate-start-postcopy")
            self._in_postcopy = True
        elif await monitor.status() == "running":
            await monitor.execute_and_wait("stop", None, "STOP", self.timeout)

    async def abort(self, timeout: float) -> None:
        """Cancel the migration and wait (up to ``timeout``) until the guest runs on the
        source alone; ``LiveMigrationFailed`` once it can no longer be cancelled."""
        if self.phase in (Phase.SWITCHING, Phase.DONE) or self._in_postcopy:
            raise LiveMigrationFailed(
                f"The live migration of instance {self.config.name} can no longer be "
                f"cancelled ({'post-copy' if self._in_postcopy else 'switching over'}).")
        self._cancelled = True
        if self.phase == Phase.MIGRATING:
            await self.source.monitor.execute("migrate_cancel")
        assert self._outcome is not None
        try:
            completed = await asyncio.wait_for(asyncio.shield(self._outcome), timeout)
        except TimeoutError:
            raise LiveMigrationFailed(f"The live migration of instance {self.config.name} "
                                      f"did not stop within {timeout:g} s.") from None
        if completed:
            raise LiveMigrationFailed(f"The live migration of instance {self.config.name} "
                                      "completed before it could be cancelled.")

    # --- helpers -----------------------------------------------------------------------------

    def _check_cancelled(self) -> None:
        if self._cancelled:
            raise MigrationAborted(f"The live migration of instance {self.config.name} was "
                                   "cancelled.")

    def _settle(self, completed: bool) -> None:
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(completed)

    async def _poll(self, ended: bool = False) -> None:
        answer = await self.source.monitor.query("query-migrate")
        status = answer.get("status")
        if status == "postcopy-active":
            self._in_postcopy = True
        if status in _RUNNING or (ended and status == "completed"):
            self._report(answer)

    async def _poll_mirror(self) -> None:
        jobs = await self.source.monitor.execute("query-block-jobs")
        for job in jobs if isinstance(jobs, list) else []:
            if isinstance(job, dict) and job.get("device") == MIRROR_JOB:
                self._disk = (_int(job, "len"), _int(job, "offset"))
                self._report({})

    def _report(self, answer: Mapping[str, object]) -> None:
        """Tell the listener how far the copy has come (when that changed)."""
        ram = answer.get("ram")
        ram = ram if isinstance(ram, Mapping) else {}
        last = self._last
        total, done = self._disk
        progress = MigrationProgress(
            memory_total=_int(ram, "total") or last.memory_total,
            memory_processed=_int(ram, "transferred") or last.memory_processed,
            memory_remaining=_int(ram, "remaining") if ram else last.memory_remaining,
            disk_total=total, disk_processed=done, disk_remaining=max(0, total - done))
        if progress == last:
            return
        self._last = progress
        try:
            self.progress(progress)
        except Exception:
            log.exception("progress listener of %s failed", self.config.name)


async def _overlay_like(source: InstancePaths, target: InstancePaths) -> None:
    """An empty overlay for ``target`` on the image ``source``'s disk is made from (the
    same backing file, the same size): a block migration fills it with the rest."""
    info = json.loads(await qemu_img("info", "-U", "--output=json", str(source.disk)))
    args = ["create", "-q", "-f", "qcow2"]
    if info.get("full-backing-filename"):
        args += ["-b", str(info["full-backing-filename"]),
                 "-F", str(info.get("backing-filename-format", "raw"))]
    await qemu_img(*args, str(target.disk), str(int(info["virtual-size"])))


async def _enable_postcopy(target: Monitor, source: Monitor) -> bool:
    """Enable ``postcopy-ram`` on both sides if the destination can have it (QEMU checks
    for userfaultfd there); whether it is."""
    capability = [{"capability": "postcopy-ram", "state": True}]
    try:
        await target.execute("migrate-set-capabilities", {"capabilities": capability})
    except CommandFailed as err:
        log.debug("no post-copy live migration: %s", err)
        return False
    try:
        await source.execute("migrate-set-capabilities", {"capabilities": capability})
    except CommandFailed as err:
        log.debug("no post-copy live migration: %s", err)
        await target.execute("migrate-set-capabilities", {"capabilities": [
            {"capability": "postcopy-ram", "state": False}]})
        return False
    return True


async def _wait_gone(monitor: Monitor, job: str, timeout: float) -> None:
    """Wait until the block job ``job`` is gone (a cancelled mirror takes a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = await monitor.execute("query-block-jobs")
        if not any(isinstance(j, dict) and j.get("device") == job
                   for j in (jobs if isinstance(jobs, list) else [])):
            return
        await asyncio.sleep(0.01)


def _int(data: Mapping[str, object], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) else 0


def _last_words(process: QemuProcess) -> str:
    """The destination QEMU's last line in its log (why it refused the stream)."""
    with contextlib.suppress(OSError):
        lines = process.paths.log_file.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines and not lines[-1].startswith("--- ") else ""
    return ""
