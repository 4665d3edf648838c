"""The processes a served run starts for itself: ``nova-emulator serve`` with a limit
configuration, and a ``redis-server`` (Debian's package) without persistence. Each is a
context manager that stops what it started (by its own process, nothing else)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emulator.ratelimit.rules import RateLimit

#: Seconds an emulator or a redis-server may take to answer after its start.
START_TIMEOUT = 30.0


class ProcessFailed(RuntimeError):
    """A process would not start or answer (the message says which and why)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def config_toml(limits: Sequence[RateLimit], store: str) -> str:
    """An emulator configuration with the rate limiter on and ``limits`` (TOML by hand:
    the emulator has no TOML writer; JSON strings are TOML basic strings)."""
    lines = ["[ratelimit]", "enabled = true", f"store = {json.dumps(store)}"]
    for limit in limits:
        lines += ["", "[[ratelimit.limits]]", f"name = {json.dumps(limit.name)}",
                  f"tier = {json.dumps(limit.tier)}", f"verb = {json.dumps(limit.verb)}",
                  f"uri = {json.dumps(limit.uri)}", f"regex = {json.dumps(limit.regex)}",
                  f"value = {limit.value}", f"unit = {json.dumps(limit.unit.name)}",
                  f"burst = {limit.burst}"]
    return "\n".join(lines) + "\n"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass(frozen=True)
class Served:
    url: str
    pid: int | None  # None: an emulator this run did not start (its CPU is not read)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def emulator(config: str, workdir: Path, name: str = "emulator") -> Iterator[Served]:
    """``nova-emulator serve`` (this Python, simulated backend, in-memory state) with the
    TOML ``config``, on a free loopback port; yields it once Keystone answers."""
    port = free_port()
    path = workdir / f"{name}.toml"
    path.write_text(config, encoding="utf-8")
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--config", str(path), "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(f"{url}/identity/v3"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ProcessFailed(f"{name} did not start (log {log}):\n{_tail(log)}")
            time.sleep(0.1)
        yield Served(url, proc.pid)
    finally:
        _stop(proc)


def _pong(url: str) -> bool:
    from redis import Redis  # with the ``redis`` extra, as the shared store itself
    from redis.exceptions import RedisError

    try:
        with Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except RedisError:
        return False


@contextmanager
def redis(workdir: Path) -> Iterator[str]:
    """A ``redis-server`` without persistence on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ProcessFailed("redis-server is not installed (Debian: apt-get install "
                            "redis-server), and no --redis-url was given")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    log = workdir / "redis.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _pong(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ProcessFailed(f"redis-server did not start:\n{_tail(log)}")
            time.sleep(0.05)
        yield url
    finally:
        _stop(proc)
