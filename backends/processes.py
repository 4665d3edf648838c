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


def cpu_seconds(pid: int) -> float | None:
    """CPU time (``utime`` + ``stime`` of ``/proc/<pid>/stat``) of process ``pid``, in
    seconds; None when it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()  # field 3 (state) first
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return None
