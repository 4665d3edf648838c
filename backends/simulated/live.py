"""A simulated live migration under way, and the progress it reports."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from backends.base import MigrationProgress


@dataclass
class LiveMigration:
    """A live migration under way: the task that waits for it, and how it was ended
    early (``forced``, ``aborted``; None: it runs its course)."""

    task: asyncio.Task[Any] | None
    outcome: str | None = None

    def end(self, outcome: str) -> None:
        self.outcome = outcome
        if self.task is not None:
            self.task.cancel()


def copied(memory: int, disk: int, done: float) -> MigrationProgress:
    """A live migration's progress when ``done`` (0..1) of everything is copied."""
    return MigrationProgress(
        memory_total=memory, memory_processed=int(memory * done),
        memory_remaining=memory - int(memory * done), disk_total=disk,
        disk_processed=int(disk * done), disk_remaining=disk - int(disk * done))
