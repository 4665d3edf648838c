"""Several API workers on one port (``--workers N``), sharing one PostgreSQL database.

One worker leads: it holds PostgreSQL's advisory lock ``LEADER_LOCK`` and runs the cloud as
a single process does (the backend, placement claims and quota rechecks, the clock, the
stages and fault rules, builds and their recovery). Every worker listens on the port with a
socket of its own (``SO_REUSEPORT``: the kernel spreads the connections over them, where
one shared socket lets the first worker awake take a whole burst of them). A follower
answers the reads ``emulator.api.forwarding`` lists itself, from the database, and
forwards everything else to the leader over a Unix socket (as nova-api hands the work to
the conductor). Writes are thus decided in one process, and
reads scale with the workers.

When the leader dies, its database session ends and with it the lock: the supervisor
(this module's parent process) starts a worker in its place, which takes the lock and
recovers the cloud from the database as a restart does (builds in flight finished or
failed, nothing acknowledged lost); followers hold the requests they forward meanwhile.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

from sqlalchemy import Connection, text, update
from sqlalchemy.engine import make_url

from emulator.config import Config, ConfigError
from emulator.db import Database, make_engine
from emulator.identity.models import WorkerEpoch

log = logging.getLogger("nova_emulator.workers")

#: PostgreSQL advisory lock key of the leading worker ("NOVA").
LEADER_LOCK = 0x4E4F5641
#: The leader's Unix socket in the run directory (followers forward to it).
LEADER_SOCKET = "leader.sock"
#: Seconds a starting worker waits to lead or to find a leader.
ROLE_WAIT = 120.0
#: Seconds the supervisor waits for a worker to answer requests.
START_WAIT = 300.0
#: Seconds before a worker that died is replaced.
RESTART_DELAY = 0.2
#: Seconds workers have to finish their requests once asked to stop.
STOP_WAIT = 30.0


def check_workers(config: Config) -> None:
    """More than one worker needs what they can share: else one line."""
    workers = config.server.workers
    if workers == 1:
        return
    if make_url(config.server.state).get_backend_name() != "postgresql":
        raise ConfigError(f"--workers {workers} needs a PostgreSQL state (--state "
                          "postgresql://...): the workers share it")
    if config.compute.backend != "simulated":
        raise ConfigError(f"--workers {workers} runs the simulated backend only: the "
                          f"{config.compute.backend} backend's guests belong to one process")


def publish_fault_rules(db: Database, count: int) -> None:
    """The leader's count of fault rules, for the followers (``Tokens.follow_epoch``
    reads it with the identity generation: a follower answers nothing itself while the
    leader holds rules, which are the leader's to apply)."""
    with db.writing() as connection:
        connection.execute(update(WorkerEpoch).values(fault_rules=count))


def shared_config(config: Config, run_dir: Path) -> Config:
    """``config`` with what every worker must find in the same place: the image store."""
    if config.image.store:
        return config
    store = run_dir / "images"
    store.mkdir()
    return replace(config, image=replace(config.image, store=str(store)))


class Leadership:
    """Whether this process leads: PostgreSQL's session-level advisory lock, held on a
    connection kept open for the process's life (its end releases the lock)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.connection: Connection | None = None

    def try_lead(self) -> bool:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                   {"key": LEADER_LOCK}).scalar_one()
        if taken:
            self.connection = connection
        else:
            connection.close()
        return bool(taken)


def _leader_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _die_with_parent() -> None:
    """SIGKILL this worker when the supervisor dies (Linux's PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def run_worker(config: Config, address: tuple[str, int], run_dir: Path,
               ready: Event) -> None:
    """A worker process: its own socket on ``address`` (``SO_REUSEPORT``); lead if no one
    does, else follow; serve until SIGTERM."""
    _die_with_parent()
    from emulator.api.app import build_app
    from emulator.serving import listen, serve_sockets

    sock = listen(*address, reuse_port=True)
    leader_path = run_dir / LEADER_SOCKET
    leadership = Leadership(config.server.state)
    deadline = time.monotonic() + ROLE_WAIT
    while True:
        if leadership.try_lead():
            _lead(config, sock, leader_path, ready)
            return
        if _leader_answers(leader_path):
            log.info("API worker %d follows", os.getpid())
            serve_sockets(config, build_app(config, leader=leader_path), [sock], ready.set)
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"worker {os.getpid()}: no leader after {ROLE_WAIT:g} s")
        time.sleep(0.1)


def _lead(config: Config, sock: socket.socket, leader_path: Path, ready: Event) -> None:
    """Serve the cloud, on the public socket and on the leader's Unix socket."""
    from emulator.api.app import build_app
    from emulator.serving import serve_sockets

    internal = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = leader_path.with_name(f"leader-{os.getpid()}.sock")
    internal.bind(str(staging))
    internal.listen(2048)
    log.info("API worker %d leads", os.getpid())

    def started() -> None:
        os.replace(staging, leader_path)  # followers forward here from now on
        ready.set()

    serve_sockets(config, build_app(config), [sock, internal], started)


class Supervisor:
    """Starts the workers (the leader first, so that it alone seeds the database), starts
    another whenever one dies, and stops them all on SIGTERM or SIGINT."""

    def __init__(self, config: Config, address: tuple[str, int],
                 on_started: Callable[[], None]) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix="nova-emulator-workers-"))
        self.config = shared_config(config, self.run_dir)
        self.address = address
        self.on_started = on_started
        self.context = multiprocessing.get_context("fork")
        self.workers: list[BaseProcess] = []
        self.stopping = False

    def _start(self) -> tuple[BaseProcess, Event]:
        ready = self.context.Event()
        process = self.context.Process(target=run_worker, name="nova-emulator-worker",
                                       args=(self.config, self.address, self.run_dir, ready))
        process.start()
        self.workers.append(process)
        return process, ready

    def _wait_ready(self, started: list[tuple[BaseProcess, Event]]) -> None:
        deadline = time.monotonic() + START_WAIT
        for process, ready in started:
            while not ready.wait(0.1):
                if self.stopping:
                    return
                if not process.is_alive():
                    raise ConfigError(f"an API worker ended as it started (exit status "
                                      f"{process.exitcode}): see the log above")
                if time.monotonic() > deadline:
                    raise ConfigError(f"an API worker did not start within {START_WAIT:g} s")

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._stop)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._wait_ready([self._start()])  # the leader
            self._wait_ready([self._start() for _ in range(self.config.server.workers - 1)])
            if not self.stopping:
                self.on_started()
            while not self.stopping:
                ended = wait([p.sentinel for p in self.workers], timeout=0.5)
                for process in [p for p in self.workers if p.sentinel in ended]:
                    self.workers.remove(process)
                    process.join()
                    if not self.stopping:
                        log.warning("API worker %s ended (exit status %s): starting another",
                                    process.pid, process.exitcode)
                        time.sleep(RESTART_DELAY)  # no storm if workers die as they start
                        self._start()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            shutil.rmtree(self.run_dir, ignore_errors=True)
        return 0

    def _stop(self, _signum: int, _frame: object) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        self.stopping = True
        for process in self.workers:
            if process.pid is not None and process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for process in self.workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
