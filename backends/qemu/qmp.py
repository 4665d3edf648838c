"""A thin adapter over ``qemu.qmp``'s asyncio ``QMPClient``: one monitor per QEMU process.

What it adds to the library, and nothing more:

- ``connect`` retries until the socket answers (QEMU creates it a few ms after exec) or a
  deadline passes, and gives up early when the caller says the process has exited;
- ``listen(names)`` registers an event listener *before* the command that triggers the
  event is issued, so a fast event (``STOP`` comes back within a millisecond) is never
  missed;
- every error of the library (``ExecuteError``, ``ConnectError``, ``EOFError``,
  ``ExecInterruptedError``, ``StateError``, timeouts) becomes a ``MonitorError`` subclass
  in one place, ``_translated``; nothing from ``qemu.qmp`` escapes this module.

A ``Monitor`` belongs to the event loop it connected in: the library's client hangs
silently when it is used from another loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qemu.qmp import EventListener, ExecInterruptedError, ExecuteError, QMPClient, QMPError
from qemu.qmp.message import Message
from qemu.qmp.protocol import ConnectError, Runstate, StateError

from backends.base import BackendError

log = logging.getLogger(__name__)


class _Demoted(logging.Filter):
    """``qemu.qmp`` logs every failed connect attempt at ERROR before raising it; the error
    reaches the caller as a ``MonitorError`` anyway, so the library's records go to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_library_log = log.getChild("library")
_demoted = _Demoted()  # a logger's filters see only its own records: set on each child


class MonitorError(BackendError):
    """Root of the QMP monitor's errors."""


class MonitorConnectError(MonitorError):
    """The monitor socket did not answer (no socket, refused, no greeting in time)."""


class MonitorDisconnected(MonitorError):
    """The connection to QEMU was lost (the process went away) or was never made."""


class MonitorTimeout(MonitorError):
    """QEMU did not answer, or the awaited event did not come, in time."""


class CommandFailed(MonitorError):
    """QEMU refused a command; ``str()`` is QEMU's own message."""

    def __init__(self, command: str, error_class: str, desc: str) -> None:
        super().__init__(desc)
        self.command = command
        self.error_class = error_class
        self.desc = desc


@dataclass(frozen=True)
class Event:
    """One QMP event: ``name`` (``STOP``, ``SHUTDOWN``...), its ``data``, and when QEMU
    emitted it (seconds since the epoch, from the event's timestamp)."""

    name: str
    data: Mapping[str, object] = field(default_factory=dict)
    timestamp: float = 0.0

    @classmethod
    def from_message(cls, msg: Message) -> Event:
        data = msg.get("data")
        stamp = msg.get("timestamp")
        when = 0.0
        if isinstance(stamp, Mapping):
            seconds, micros = stamp.get("seconds", 0), stamp.get("microseconds", 0)
            if isinstance(seconds, int) and isinstance(micros, int):
                when = seconds + micros / 1e6
        return cls(name=str(msg.get("event", "")),
                   data=dict(data) if isinstance(data, Mapping) else {}, timestamp=when)


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """The one place where ``qemu.qmp``'s (and the socket's) errors become ours."""
    try:
        yield
    except MonitorError:
        raise
    except ExecuteError as err:
        cmd = err.sent.get("execute", what)
        raise CommandFailed(str(cmd), err.error_class, str(err)) from err
    except ConnectError as err:
        raise MonitorConnectError(f"{what}: {err}") from err
    except (TimeoutError, asyncio.TimeoutError) as err:  # noqa: UP041 (same class in 3.11)
        raise MonitorTimeout(f"{what}: QEMU did not answer in time") from err
    except (ExecInterruptedError, StateError, EOFError, OSError) as err:
        raise MonitorDisconnected(f"{what}: connection to QEMU lost ({err!r})") from err
    except QMPError as err:
        raise MonitorError(f"{what}: QMP protocol error: {err}") from err


class EventWaiter:
    """Events of the given names that arrived since ``Monitor.listen`` was entered."""

    def __init__(self, monitor: Monitor, listener: EventListener) -> None:
        self._monitor = monitor
        self._listener = listener

    async def wait(self, timeout: float) -> Event:
        """The next matching event; ``MonitorTimeout`` when none comes within ``timeout``
        seconds, ``MonitorDisconnected`` if the connection drops meanwhile."""
        names = ", ".join(sorted(self._listener.names)) or "any event"
        with _translated(f"waiting for {names}"):
            if self._listener.empty() and not self._monitor.connected:
                raise MonitorDisconnected(f"waiting for {names}: not connected to QEMU")
            got = asyncio.ensure_future(self._listener.get())
            lost = asyncio.ensure_future(self._monitor._client.runstate_changed())
            try:
                done, _ = await asyncio.wait({got, lost}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (got, lost):
                    task.cancel()
            if got in done:
                return Event.from_message(got.result())
            if lost in done or not self._monitor.connected:
                # the connection is going; an event already queued still counts
                if not self._listener.empty():
                    return Event.from_message(await self._listener.get())
                raise MonitorDisconnected(f"waiting for {names}: connection to QEMU lost")
            raise MonitorTimeout(f"no {names} event within {timeout:g} s")

    def pending(self) -> list[Event]:
        """Matching events received and not yet waited for (drains them)."""
        return [Event.from_message(m) for m in self._listener.clear()]


#: Seconds a disconnect may take before its caller goes on without it.
DISCONNECT_TIMEOUT = 5.0


class Monitor:
    """The QMP monitor of one QEMU process, reached through its UNIX socket."""

    def __init__(self, socket_path: Path | str, name: str = "qemu",
                 command_timeout: float = 30.0) -> None:
        self.socket_path = Path(socket_path)
        self.command_timeout = command_timeout
        self._client = QMPClient(name)
        self._client.logger = _library_log.getChild(name)
        self._client.logger.addFilter(_demoted)  # once: addFilter skips a known filter
        self._closing: asyncio.Lock | None = None
        self._closings: set[asyncio.Future[None]] = set()  # disconnects still running
        self._watcher: asyncio.Task[None] | None = None
        # The default listener queues every event for ever; nothing here reads it.
        self._client.events.event_filter = lambda _msg: False

    @property
    def connected(self) -> bool:
        return self._client.runstate == Runstate.RUNNING

    async def connect(self, timeout: float = 10.0, *, interval: float = 0.005,
                      gone: Callable[[], bool] | None = None) -> None:
        """Connect and negotiate, retrying until ``timeout``; stop retrying as soon as
        ``gone()`` says the process has exited."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if not self.socket_path.exists():  # not yet created: spare the library's error log
                if gone is not None and gone():
                    raise MonitorDisconnected(
                        f"QEMU exited before creating its monitor {self.socket_path}")
                if remaining <= interval:
                    raise MonitorConnectError(f"no monitor socket {self.socket_path}")
                await asyncio.sleep(interval)
                continue
            try:
                with _translated(f"connecting to {self.socket_path}"):
                    await asyncio.wait_for(self._client.connect(str(self.socket_path)),
                                           max(remaining, 0.05))
                self._watcher = asyncio.create_task(self._watch())
                return
            except MonitorConnectError as err:
                if gone is not None and gone():
                    raise MonitorDisconnected(
                        f"QEMU exited before its monitor {self.socket_path} answered") from err
                if time.monotonic() + interval >= deadline:
                    raise
            except MonitorTimeout as err:
                await self._reset()
                raise MonitorConnectError(
                    f"monitor {self.socket_path} gave no greeting within {timeout:g} s "
                    "(another client connected?)") from err
            await asyncio.sleep(interval)

    async def execute(self, command: str, arguments: Mapping[str, object] | None = None,
                      *, timeout: float | None = None) -> object:
        """Run one QMP command; its ``return`` value (usually a dict)."""
        if not self.connected:
            raise MonitorDisconnected(f"{command}: not connected to QEMU")
        with _translated(command):
            return await asyncio.wait_for(self._client.execute(command, arguments),
                                          timeout or self.command_timeout)

    async def query(self, command: str, arguments: Mapping[str, object] | None = None,
                    ) -> dict[str, object]:
        """``execute`` for commands that answer an object (``query-status``...)."""
        result = await self.execute(command, arguments)
        if not isinstance(result, dict):
            raise MonitorError(f"{command}: expected an object, QEMU answered {result!r}")
        return result

    async def send_fd(self, fd: int, name: str) -> None:
        """Pass the open file ``fd`` to QEMU over the socket and name it ``name`` (``getfd``),
        for a migration to or from ``fd:<name>``; the caller still closes its ``fd``."""
        if not self.connected:
            raise MonitorDisconnected(f"getfd {name}: not connected to QEMU")
        with _translated("getfd"):
            self._client.send_fd_scm(fd)
        await self.execute("getfd", {"fdname": name})

    async def status(self) -> str:
        """QEMU's run state (``running``, ``paused``, ``prelaunch``, ``shutdown``...)."""
        return str((await self.query("query-status"))["status"])

    @contextlib.contextmanager
    def listen(self, names: str | Collection[str],
               where: Callable[[Event], bool] | None = None) -> Iterator[EventWaiter]:
        """Collect events named ``names`` (and matching ``where``) while the block runs;
        enter it *before* issuing the command that triggers them."""
        wanted = {names} if isinstance(names, str) else set(names)

        def accept(msg: Message) -> bool:
            return where is None or where(Event.from_message(msg))

        listener = EventListener(wanted, accept)
        with self._client.listen(listener):
            yield EventWaiter(self, listener)

    async def execute_and_wait(self, command: str, arguments: Mapping[str, object] | None,
                               event: str | Collection[str], timeout: float,
                               where: Callable[[Event], bool] | None = None) -> Event:
        """Run ``command`` and wait for the event it causes (listening from before)."""
        with self.listen(event, where) as waiter:
            await self.execute(command, arguments)
            return await waiter.wait(timeout)

    async def wait_event(self, names: str | Collection[str], timeout: float,
                         where: Callable[[Event], bool] | None = None) -> Event:
        """Wait for an event nothing here triggers (a guest shutting itself down); for
        one a command causes, use ``listen`` or ``execute_and_wait``."""
        with self.listen(names, where) as waiter:
            return await waiter.wait(timeout)

    async def disconnect(self) -> None:
        """Close the connection; an error of a connection QEMU already closed is fine."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            if self._client.runstate == Runstate.RUNNING:
                watcher.cancel()  # still waiting for a hang-up: nothing to finish
            # else it is finishing the library's disconnect: let it (see _reset), for a
            # while: a disconnect must never hang whoever stops a QEMU
            await asyncio.wait({watcher}, timeout=DISCONNECT_TIMEOUT)
            if not watcher.done():
                watcher.cancel()
        await self._reset()

    async def _watch(self) -> None:
        """When QEMU hangs up (quit, killed), finish the disconnect at once: ``connected``
        turns False and the library's reader error is collected, not left unretrieved."""
        while self._client.runstate == Runstate.RUNNING:
            await self._client.runstate_changed()
        if self._client.runstate == Runstate.DISCONNECTING:
            await self._reset()

    async def _reset(self) -> None:
        if self._closing is None:
            self._closing = asyncio.Lock()
        async with self._closing:
            if self._client.runstate == Runstate.IDLE:
                return
            # NOTE: shielded: a disconnect cancelled half-way leaves qemu.qmp's gathered
            # reader/writer future unawaited, and asyncio then logs its EOFError as
            # "exception was never retrieved".
            # Bounded: qemu.qmp flushes its outgoing queue first, which waits for ever on
            # a QEMU that stopped reading; that task is left to end with the process.
            closing = asyncio.ensure_future(self._disconnect_quietly())
            self._closings.add(closing)
            closing.add_done_callback(self._closings.discard)
            done, _pending = await asyncio.wait({closing}, timeout=DISCONNECT_TIMEOUT)
            if not done:
                log.warning("monitor %s: disconnect did not finish within %g s",
                            self.socket_path, DISCONNECT_TIMEOUT)

    async def _disconnect_quietly(self) -> None:
        try:
            await self._client.disconnect()
        except Exception as err:  # EOFError, OSError: QEMU hung up first (quit, kill)
            log.debug("monitor %s: disconnect: %r", self.socket_path, err)

    @contextlib.asynccontextmanager
    async def session(self, timeout: float = 10.0) -> AsyncIterator[Monitor]:
        """``async with monitor.session():`` connect, and always disconnect."""
        await self.connect(timeout)
        try:
            yield self
        finally:
            await self.disconnect()
