"""The order of a server's ports (``remember_order``): a build records its ports from
scratch, so a build tried again (after a restart cut the first short) records them again
instead of failing on what the first try wrote; later ports come after."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert
from sqlmodel import select

from emulator.compute.addresses import ORDER, remember_order, remembered_ports
from emulator.compute.models import Instance, InstanceSystemMetadata
from emulator.db import Database

SERVER = "00000000-0000-0000-0000-000000000001"


def _database() -> Database:
    db = Database("sqlite://")
    with db.engine.begin() as connection:
        connection.execute(insert(Instance), [dict(
            uuid=SERVER, display_name="s", hostname="s", project_id="p", user_id="u",
            flavor_id="1", requested_networks=[], vm_state="building",
            created_at=datetime(2026, 1, 1, tzinfo=UTC))])
    return db


def _order(db: Database) -> dict[str, str]:
    with db.session() as s:
        rows = s.exec(select(InstanceSystemMetadata).where(
            InstanceSystemMetadata.instance_uuid == SERVER)).all()
        return {r.key[len(ORDER):]: r.value for r in rows if r.key.startswith(ORDER)}


def test_a_build_tried_again_records_its_ports_again() -> None:
    db = _database()
    with db.session() as s:
        remember_order(s, SERVER, ["user-port", "made-1"], first=True)
    with db.session() as s:  # the same build again: the user's port, a new port
        remember_order(s, SERVER, ["user-port", "made-2"], first=True)
    assert _order(db) == {"user-port": "00000000", "made-2": "00000001"}
    with db.session() as s:
        remember_order(s, SERVER, ["attached"])
        assert remembered_ports(s, SERVER) == {"user-port", "made-2", "attached"}
    assert _order(db)["attached"] == "00000002"
