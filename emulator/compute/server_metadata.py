"""A server's metadata (``/servers/{id}/metadata``) and tags (``/servers/{id}/tags``, 2.26),
with Nova's order of checks: the server (404), policy (403), lock and state (409), then
limits (metadata: 403 quota; tags: 400)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from emulator.compute.checks import MAX_TAGS, check_metadata_count, check_tag
from emulator.compute.models import Instance, InstanceMetadata, InstanceTag
from emulator.compute.policy import authorize
from emulator.compute.quotas import QuotaService
from emulator.compute.records import (
    check_lock,
    invalid_state,
    not_found,
    now,
    visible_instance,
)
from emulator.compute.states import VmState
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import InvalidInput, NotFound

#: The vm_states in which metadata and tags may change (Nova's compute API, tag controller).
MUTABLE_VM_STATES = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED,
                               VmState.STOPPED})
_METADATA = "os_compute_api:server-metadata:"
_TAGS = "os_compute_api:os-server-tags:"


def _check_state(row: Instance, action: str) -> None:
    """Nova's ``check_instance_state`` on metadata: a settled vm_state, launched once."""
    if row.vm_state not in MUTABLE_VM_STATES:
        raise invalid_state(action, row.uuid, "vm_state", row.vm_state)
    if row.launched_at is None:
        raise invalid_state(action, row.uuid, "launched_at", None)


def _tag_rows(s: Session, server_id: str) -> dict[str, InstanceTag]:
    return {t.tag: t for t in s.exec(select(InstanceTag).where(
        InstanceTag.instance_uuid == server_id)).all()}


class ServerMetadata:
    def __init__(self, db: Database, quotas: QuotaService | None = None) -> None:
        self.db = db
        #: The ``metadata_items`` quota.
        self.quotas = quotas if quotas is not None else QuotaService(db)

    # -- metadata ------------------------------------------------------------------------

    def metadata(self, ctx: RequestContext, server_id: str, rule: str) -> dict[str, str]:
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, rule, row.project_id)
            return {m.key: m.value for m in s.exec(select(InstanceMetadata).where(
                InstanceMetadata.instance_uuid == row.uuid)).all()}

    def item(self, ctx: RequestContext, server_id: str, key: str) -> str:
        value = self.metadata(ctx, server_id, _METADATA + "show").get(key)
        if value is None:
            raise NotFound("Metadata item was not found")
        return value

    def set_metadata(self, ctx: RequestContext, server_id: str, items: dict[str, str],
                     replace: bool, rule: str) -> dict[str, str]:
        """Merge (POST, PUT key) or replace (PUT all) a server's metadata.

        Nova's order: the server (404), ``rule`` (403), lock, state (409), quota (403).
        """
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, rule, row.project_id)
            check_lock(ctx, row)
            _check_state(row, "update metadata")
            current = {m.key: m for m in s.exec(select(InstanceMetadata).where(
                InstanceMetadata.instance_uuid == row.uuid)).all()}
            merged = dict(items) if replace else {**{k: m.value for k, m in current.items()},
                                                  **items}
            check_metadata_count(len(merged), self.quotas.metadata_limit(
                row.project_id, ctx.user_id))
            for key, meta in current.items():
                if key not in merged:
                    s.delete(meta)
            for key, value in merged.items():
                if key in current:
                    current[key].value = value
                    s.add(current[key])
                else:
                    s.add(InstanceMetadata(instance_uuid=row.uuid, key=key, value=value))
            row.updated_at = now()
            s.add(row)
            return merged

    def set_item(self, ctx: RequestContext, server_id: str, key: str,
                 item: dict[str, str]) -> None:
        """PUT one item: the body's single key must be the URL's (checked after the
        server and the policy, as Nova)."""
        rule = _METADATA + "update"
        self.metadata(ctx, server_id, rule)
        if key not in item:
            raise InvalidInput("Request body and URI mismatch")
        self.set_metadata(ctx, server_id, item, replace=False, rule=rule)

    def delete_item(self, ctx: RequestContext, server_id: str, key: str) -> None:
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, _METADATA + "delete", row.project_id)
            meta = s.get(InstanceMetadata, (row.uuid, key))
            if meta is None:
                raise NotFound("Metadata item was not found")
            check_lock(ctx, row)
            _check_state(row, "delete metadata")
            s.delete(meta)

    # -- tags ----------------------------------------------------------------------------

    @staticmethod
    def _tagged(s: Session, ctx: RequestContext, server_id: str, rule: str,
                action: str | None = None) -> Instance:
        """The server of a tag call, found as Nova's tag controller finds it.

        NOTE: Nova reads the instance *mapping* (any project) and checks ``rule`` on its
        project before it reads the instance, so another project's server is a 403 here,
        not the usual 404; an unknown id is a 404 about the mapping, a deleted server
        (still mapped) the ordinary 404. Changes (``action``) need a settled vm_state.
        """
        row = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
        if row is None:
            raise NotFound(f"Instance {server_id} has no mapping to a cell.")
        authorize(ctx, rule, row.project_id)
        if row.deleted:
            raise not_found(server_id)
        if action is not None and row.vm_state not in MUTABLE_VM_STATES:
            raise invalid_state(action, server_id, "vm_state", row.vm_state)
        return row

    def tags(self, ctx: RequestContext, server_id: str) -> tuple[str, ...]:
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, _TAGS + "index")
            return tuple(sorted(_tag_rows(s, row.uuid)))

    def has_tag(self, ctx: RequestContext, server_id: str, tag: str) -> bool:
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, _TAGS + "show")
            return s.get(InstanceTag, (row.uuid, tag)) is not None

    def add_tag(self, ctx: RequestContext, server_id: str, tag: str) -> bool:
        """Add one tag; False when the server already has it.

        NOTE: as in Nova, a server at the limit refuses even a tag it already has.
        """
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, _TAGS + "update", "update tag")
            check_tag(tag)
            current = _tag_rows(s, row.uuid)
            if len(current) >= MAX_TAGS:
                raise InvalidInput(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
            if tag in current:
                return False
            s.add(InstanceTag(instance_uuid=row.uuid, tag=tag))
            return True

    def set_tags(self, ctx: RequestContext, server_id: str, tags: Iterable[str]) -> tuple[str, ...]:
        """PUT all: the server's tags become ``tags``."""
        return self._replace_tags(ctx, server_id, tags, _TAGS + "update_all", "update tags")

    def delete_tags(self, ctx: RequestContext, server_id: str) -> None:
        self._replace_tags(ctx, server_id, (), _TAGS + "delete_all", "delete tags")

    def _replace_tags(self, ctx: RequestContext, server_id: str, tags: Iterable[str],
                      rule: str, action: str) -> tuple[str, ...]:
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, rule, action)
            given = tuple(tags)
            for tag in given:  # in the request's order: the first bad one is named
                check_tag(tag)
            wanted = set(given)
            if len(wanted) > MAX_TAGS:
                raise InvalidInput(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
            current = _tag_rows(s, row.uuid)
            for tag, entry in current.items():
                if tag not in wanted:
                    s.delete(entry)
            for tag in wanted - set(current):
                s.add(InstanceTag(instance_uuid=row.uuid, tag=tag))
            row.updated_at = now()
            s.add(row)
            return tuple(sorted(wanted))

    def delete_tag(self, ctx: RequestContext, server_id: str, tag: str) -> None:
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, _TAGS + "delete", "delete tag")
            entry = s.get(InstanceTag, (row.uuid, tag))
            if entry is None:
                raise NotFound(f"Instance {row.uuid} has no tag '{tag}'")
            s.delete(entry)
            row.updated_at = now()
            s.add(row)
