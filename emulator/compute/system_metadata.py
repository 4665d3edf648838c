"""Nova's instance system metadata: what Nova keeps about a server that its API does not
show (a shelve's ``shelved_at``, ``shelved_image_id`` and ``shelved_host``). Each call is
one committed transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlmodel import col, delete, select

from emulator.compute.models import InstanceSystemMetadata
from emulator.db import Database


class SystemMetadata:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, server_id: str) -> dict[str, str]:
        with self.db.session() as s:
            return {m.key: m.value for m in s.exec(select(InstanceSystemMetadata).where(
                InstanceSystemMetadata.instance_uuid == server_id)).all()}

    def update(self, server_id: str, items: Mapping[str, str]) -> None:
        """Set ``items`` (others are kept)."""
        with self.db.session() as s:
            for key, value in items.items():
                row = s.get(InstanceSystemMetadata, (server_id, key))
                if row is None:
                    row = InstanceSystemMetadata(instance_uuid=server_id, key=key, value=value)
                row.value = value
                s.add(row)

    def remove(self, server_id: str, keys: Iterable[str]) -> None:
        with self.db.session() as s:
            s.exec(delete(InstanceSystemMetadata).where(
                col(InstanceSystemMetadata.instance_uuid) == server_id,
                col(InstanceSystemMetadata.key).in_(list(keys))))
