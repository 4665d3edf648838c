"""Hypervisor processes as the emulator's metrics see them (``ComputeBackend.
guest_processes``), and a process's CPU time read from /proc."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GuestProcess:
    """A hypervisor process that runs an instance."""

    instance: str
    host: str
    pid: int
    #: CPU time the process has used (user + system), in seconds.
    cpu_seconds: float


def stat_fields(path: str) -> list[str]:
    """The fields of a /proc ``stat`` file after the command name (field 3 first); none
    when the process or thread is gone."""
    with contextlib.suppress(OSError, ValueError):
        text = Path(path).read_text()
        return text[text.rindex(")") + 2:].split()
    return []


def cpu_ticks(path: str) -> int | None:
    """CPU time (``utime`` + ``stime``) in clock ticks of the /proc ``stat`` file
    ``path`` (a process's, or one of its threads'); None when it is gone."""
    fields = stat_fields(path)
    return int(fields[11]) + int(fields[12]) if len(fields) >= 13 else None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process ``pid``, in seconds; None when it is gone."""
    ticks = cpu_ticks(f"/proc/{pid}/stat")
    return None if ticks is None else ticks / os.sysconf("SC_CLK_TCK")
