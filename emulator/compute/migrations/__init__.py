"""Migrations: the record of each move of a server between hosts (Nova's ``migrations``
table), kept as each move goes through its statuses."""

from emulator.compute.migrations.records import (
    COLD,
    EVACUATION,
    LIVE,
    LIVE_IN_PROGRESS,
    RESIZE,
    MigrationQuery,
    MigrationRecord,
)
from emulator.compute.migrations.service import Migrations

__all__ = ["COLD", "EVACUATION", "LIVE", "LIVE_IN_PROGRESS", "RESIZE", "MigrationQuery",
           "MigrationRecord", "Migrations"]
