"""Run a real ``nova-emulator serve`` process on a free loopback port, for tests and benches
(the pytest plugin's ``nova_emulator_process = true``; the conformance suite's emulators).

On the qemu backend every emulator gets a run directory of its own (short: QMP sockets live
there, and UNIX socket paths are limited to 107 bytes; own: the backend reaps instance
directories whose server it does not know, so two emulators must never share one), and the
shared guest image cache (``NOVA_EMULATOR_GUEST_CACHE``, else the backend's default).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any

import tomli_w

from emulator.config import Config, load_config, with_overrides
from emulator.testing import ServedEmulator
from emulator.testing_databases import (
    create_scratch_database,
    drop_scratch_database,
    scratch_server,
    test_workers,
)

#: Where the free guest image is cached (shared by every emulator of a run); unset: the
#: backend's default (``$XDG_CACHE_HOME/nova-emulator/guest``).
GUEST_CACHE_ENV = "NOVA_EMULATOR_GUEST_CACHE"

#: ``[qemu]`` settings of the emulators the suite starts (a test's own config wins).
QEMU_SETTINGS: Mapping[str, Any] = {
    # The seeded images (empty qcow2 files: SeaBIOS, "no bootable device") have no ACPI
    # handler, so every stop of them waits the whole clean-shutdown timeout before the hard
    # stop; Nova's 60 s would make each stop a minute. The free guest powers off in ~2 s.
    "shutdown_timeout": 5.0,
    # A boot slot is held this long by an image with no ready marker; the seeded empty images
    # cost no CPU once SeaBIOS gives up, so hold it briefly (Nova-like ACTIVE, not a guest).
    "boot_grace": 0.5,
    # The host's inventory: this machine has 2 cores (x 4.0 = 8 m1.tiny servers), fewer than
    # the suite keeps at once; idle guests are cheap (~1.7 % of a core each).
    "vcpus": 64,
    # Two compute hosts (``qemu-1``, ``qemu-2``, each in its directory under the run
    # directory): every move (resize, migrations, evacuation) is a real one between them.
    "hosts": 2,
}
#: The run directories of the hosts above (``<run_dir>/<host>/<instance uuid>``).
QEMU_HOSTS = ("qemu-1", "qemu-2")


#: The ``[quota]`` table of an emulator whose benchmark or test makes more servers in one
#: project than Nova's default quotas allow (10 instances, 20 cores, 50 GiB of RAM).
UNLIMITED_QUOTAS: Mapping[str, Any] = {"instances": -1, "cores": -1, "ram": -1}
NO_QUOTAS = tomli_w.dumps({"quota": UNLIMITED_QUOTAS})


#: ``[compute]`` settings of the emulators the suite starts on the qemu backend (a test's
#: own config wins).
QEMU_COMPUTE_SETTINGS: Mapping[str, Any] = {"backend": "qemu"}


def merged_config(config: str, tables: Mapping[str, Mapping[str, Any]]) -> str:
    """``config`` (TOML text) with ``tables`` under it: keys the text sets win (TOML forbids
    a table twice, so the two are merged as data, not concatenated)."""
    data: dict[str, Any] = tomllib.loads(config)
    for table, values in tables.items():
        data[table] = {**values, **data.get(table, {})}
    return tomli_w.dumps(data)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmulatorProcess(ServedEmulator):
    """``nova-emulator serve`` in a subprocess; ``config`` is the TOML text to give it.

    Usable as a context manager; ``restart`` stops and starts it on the same port, state and
    run directory. Leaving the context also stops (by pid) any QEMU of its run directory
    still running and removes the directory: a net for failed tests, not a cleanup to rely
    on (the harness deletes servers through the API and checks, see ``leftovers``).
    """

    def __init__(self, config: str = "", state: str | None = None, port: int | None = None,
                 backend: str = "simulated", env: Mapping[str, str] | None = None,
                 workers: int | None = None):
        """``backend``: any registered one (``serve --backend``); ``env``: more variables
        for the process (e.g. a ``PYTHONPATH`` where a plug-in backend is registered);
        ``workers``: ``serve --workers`` (default: ``NOVA_EMULATOR_TEST_WORKERS``'s, see
        ``test_workers``)."""
        self.env = dict(env or {})
        self.workers = workers
        self.port = port or free_port()
        self.backend = backend
        self.workdir = Path(tempfile.mkdtemp(prefix="nova-emulator-"))
        self.run_dir: Path | None = None
        if backend == "qemu":
            self.run_dir = Path(tempfile.mkdtemp(prefix="ne-", dir="/tmp"))
            qemu: dict[str, Any] = {**QEMU_SETTINGS, "run_dir": str(self.run_dir)}
            if os.environ.get(GUEST_CACHE_ENV):
                qemu["cache"] = os.environ[GUEST_CACHE_ENV]
            config = merged_config(config, {"compute": QEMU_COMPUTE_SETTINGS, "qemu": qemu})
        elif backend != "simulated":
            config = merged_config(config, {"compute": {"backend": backend}})
        self.config_path = self.workdir / "emulator.toml"
        self.config_path.write_text(config, encoding="utf-8")
        #: A scratch PostgreSQL database made for this emulator (dropped when it closes):
        #: when no ``state`` is given and the tests name a server (emulator.testing_databases).
        self.scratch_state: str | None = None
        server = scratch_server() if state is None else None
        if server is not None:
            state = self.scratch_state = create_scratch_database(server)
        self.state = state
        self.log_path = self.workdir / "emulator.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Config:
        """The configuration it serves with (its file, on its port and state)."""
        return with_overrides(load_config(self.config_path), host="127.0.0.1",
                              port=self.port, state=self.state)

    def start(self, timeout: float | None = None) -> EmulatorProcess:
        """Start and wait until Keystone answers; the qemu backend first builds the free
        guest when its cache lacks it (6-10 s from nothing)."""
        if timeout is None:
            timeout = 120.0 if self.backend == "qemu" else 30.0
        cmd = [sys.executable, "-m", "emulator", "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--config", str(self.config_path)]
        if self.state:
            cmd += ["--state", self.state]
        workers = self.workers or test_workers(self.state, self.backend)
        if workers > 1:
            cmd += ["--workers", str(workers)]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, **self.env})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/identity/v3", timeout=1.0) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"emulator did not answer within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown handler runs, nothing is flushed (QEMU guests
        of the qemu backend keep running, for the next start to adopt)."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def worker_pids(self) -> list[int]:
        """The API worker processes (``--workers``): the server process's children."""
        if self.proc is None:
            return []
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def qemu_processes(self) -> list[str]:
        """``pid cmdline`` of every qemu-system process whose command line names this
        emulator's run directory (none on the simulated backend)."""
        if self.run_dir is None:
            return []
        found = subprocess.run(["pgrep", "-af", "qemu-system"], capture_output=True,
                               text=True, check=False).stdout.splitlines()
        return [line for line in found if f"{self.run_dir}/" in line]

    def instance_files(self) -> list[str]:
        """What instances left in the run directory: their directories, and the files the
        backend keeps for them in its hidden directories (e.g. ``.shelved/<uuid>.qcow2``)."""
        if self.run_dir is None or not self.run_dir.is_dir():
            return []
        found = []
        for path in sorted(self.run_dir.iterdir()):
            if not path.is_dir():
                continue
            if path.name in QEMU_HOSTS:
                found += [f"instance directory {d}" for d in sorted(path.iterdir())
                          if d.is_dir()]
            elif not path.name.startswith("."):
                found.append(f"instance directory {path}")
            else:
                found += [f"instance file {f}" for f in sorted(path.rglob("*")) if f.is_file()]
        return found

    def leftovers(self, timeout: float = 0.0) -> list[str]:
        """What the backend left behind (instance directories, QEMU processes), polled for
        ``timeout`` seconds until nothing is left; empty when all is clean."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.instance_files() + [f"process {line}" for line in self.qemu_processes()]
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.1)

    def _kill_leftovers(self) -> None:
        for line in self.qemu_processes():
            pid = int(line.split(maxsplit=1)[0])
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.stop()
        self._kill_leftovers()
        if self.scratch_state is not None:
            drop_scratch_database(self.scratch_state)
            self.scratch_state = None
