"""Server sub-resources in the domain: the lock and state rules of metadata and tags, tag
checks, and the instance-action list's order, paging and change filters."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from emulator.compute.checks import check_tag
from emulator.compute.instance_actions import ActionQuery, InstanceActions
from emulator.compute.models import Instance, InstanceAction
from emulator.compute.server_metadata import ServerMetadata
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput, NotFound

OWNER = RequestContext(user_id="u1", project_id="p1", roles=frozenset({"member", "reader"}))
READER = RequestContext(user_id="u3", project_id="p1", roles=frozenset({"reader"}))
OTHER = RequestContext(user_id="u2", project_id="p2", roles=frozenset({"member", "reader"}))
ADMIN = RequestContext(user_id="a", project_id="admin",
                       roles=frozenset({"admin", "member", "reader"}))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
UPDATE = "os_compute_api:server-metadata:update"


@dataclass
class Domain:
    """A server's metadata, tags and instance actions, on one database."""

    db: Database
    metadata: ServerMetadata
    actions: InstanceActions


@pytest.fixture
def service() -> Domain:
    db = Database("sqlite://")
    return Domain(db, ServerMetadata(db), InstanceActions(db))


Make = Callable[..., str]


@pytest.fixture
def make(service: Domain) -> Make:
    def make(vm_state: str = "active", locked: bool = False, launched: bool = True,
             deleted: bool = False) -> str:
        server_id = str(uuid.uuid4())
        with service.db.session() as s:
            s.add(Instance(uuid=server_id, display_name="s", hostname="s", project_id="p1",
                           user_id="u1", flavor_id="1", vm_state=vm_state, locked=locked,
                           launched_at=T0 if launched else None, created_at=T0,
                           deleted=deleted))
        return server_id

    return make


def test_metadata_on_a_locked_server(service: Domain, make: Make) -> None:
    server_id = make(locked=True)
    with pytest.raises(Conflict, match=f"^Instance {server_id} is locked$"):
        service.metadata.set_metadata(OWNER, server_id, {"a": "1"}, replace=False, rule=UPDATE)
    assert service.metadata.set_metadata(ADMIN, server_id, {"a": "1"}, replace=False,
                                         rule=UPDATE) == {"a": "1"}
    with pytest.raises(NotFound, match=r"^Metadata item was not found$"):
        service.metadata.delete_item(OWNER, server_id, "missing")
    with pytest.raises(Conflict, match="is locked"):
        service.metadata.delete_item(OWNER, server_id, "a")
    service.metadata.delete_item(ADMIN, server_id, "a")


@pytest.mark.parametrize("vm_state", ["active", "paused", "suspended", "stopped"])
def test_metadata_changes_in_settled_states(service: Domain, make: Make,
                                            vm_state: str) -> None:
    server_id = make(vm_state=vm_state)
    assert service.metadata.set_metadata(OWNER, server_id, {"a": "1"}, replace=True,
                                         rule=UPDATE) == {"a": "1"}
    service.metadata.delete_item(OWNER, server_id, "a")


@pytest.mark.parametrize("vm_state", ["building", "error", "shelved_offloaded", "rescued",
                                      "resized", "soft-delete"])
def test_metadata_refused_in_other_states(service: Domain, make: Make,
                                          vm_state: str) -> None:
    server_id = make(vm_state=vm_state)
    with pytest.raises(Conflict) as refused:
        service.metadata.set_metadata(OWNER, server_id, {"a": "1"}, replace=False, rule=UPDATE)
    assert refused.value.message == (
        f"Cannot 'update metadata' instance {server_id} while it is in vm_state {vm_state}")
    with pytest.raises(Conflict, match="update tags"):
        service.metadata.set_tags(OWNER, server_id, ["a"])


def test_never_launched_server_refuses_metadata(service: Domain, make: Make) -> None:
    server_id = make(launched=False)
    with pytest.raises(Conflict) as refused:
        service.metadata.set_metadata(OWNER, server_id, {"a": "1"}, replace=False, rule=UPDATE)
    assert refused.value.message == (
        f"Cannot 'update metadata' instance {server_id} while it is in launched_at None")
    # Tags only look at the vm_state.
    assert service.metadata.add_tag(OWNER, server_id, "t") is True


def test_metadata_policy_and_isolation(service: Domain, make: Make) -> None:
    server_id = make()
    with pytest.raises(NotFound, match=f"^Instance {server_id} could not be found.$"):
        service.metadata.set_metadata(OTHER, server_id, {"a": "1"}, replace=False, rule=UPDATE)
    with pytest.raises(Forbidden, match="server-metadata:create"):
        service.metadata.set_metadata(READER, server_id, {"a": "1"}, replace=False,
                                      rule="os_compute_api:server-metadata:create")
    # A reader may read (and the refused calls stored nothing).
    assert service.metadata.metadata(READER, server_id,
                                     "os_compute_api:server-metadata:index") == {}


def test_tags_ignore_the_lock(service: Domain, make: Make) -> None:
    server_id = make(locked=True)
    assert service.metadata.add_tag(OWNER, server_id, "t") is True
    assert service.metadata.add_tag(OWNER, server_id, "t") is False
    assert service.metadata.tags(OWNER, server_id) == ("t",)
    service.metadata.delete_tag(OWNER, server_id, "t")
    assert service.metadata.has_tag(OWNER, server_id, "t") is False


def test_tag_lookups(service: Domain, make: Make) -> None:
    server_id, gone = make(), make(deleted=True)
    with pytest.raises(Forbidden, match="os-server-tags:index"):
        service.metadata.tags(OTHER, server_id)
    with pytest.raises(NotFound, match="has no mapping to a cell"):
        service.metadata.tags(OWNER, "nope")
    with pytest.raises(NotFound, match=f"^Instance {gone} could not be found.$"):
        service.metadata.tags(OWNER, gone)
    assert service.metadata.tags(ADMIN, server_id) == ()


@pytest.mark.parametrize(("tag", "problem"), [
    ("a,b", "'a,b' does not match '^[^,/]*$'"),
    ("a/b", "'a/b' does not match '^[^,/]*$'"),
    (",", "',' does not match '^[^,/]*$'"),
    ("/", "'/' does not match '^[^,/]*$'"),
    ("x" * 61, f"'{'x' * 61}' is too long"),
    ("日" * 61, f"'{'日' * 61}' is too long"),  # characters are counted, not bytes
    ("," + "x" * 61, f"'{',' + 'x' * 61}' does not match '^[^,/]*$'"),
    ("a,\n", "'a,\\n' does not match '^[^,/]*$'"),  # the schema's own rule comes first
    ("", "'' is too short"),
])
def test_check_tag(tag: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_tag(tag)
    assert refused.value.message == (
        f"Tag '{tag}' is invalid. It must be a non empty string without characters '/' and "
        f"','. Validation error message: {problem}")


@pytest.mark.parametrize("tag", [
    "a\nb", "\r\n", "nul\x00", "tab\there", "\x1b[31m", "\x1f", "del\x7f", "nel\x85",
    "\x9f",
])
def test_check_tag_refuses_control_characters(tag: str) -> None:
    # NOTE: Nova's pattern lets these through; they would break the Location header.
    with pytest.raises(InvalidInput) as refused:
        check_tag(tag)
    assert refused.value.message.endswith(
        f"Validation error message: {tag!r} contains a control character")


def test_check_tag_accepts() -> None:
    for tag in ("x" * 60, "日" * 60, "with space", "ünïcode", "-_.:", "~", "no\xa0break"):
        check_tag(tag)


@pytest.mark.parametrize("tag", ["a\nb", "nul\x00", "x" * 61, "a/b"])
def test_a_refused_tag_is_not_stored(service: Domain, make: Make, tag: str) -> None:
    server_id = make()
    service.metadata.add_tag(OWNER, server_id, "kept")
    with pytest.raises(InvalidInput, match="is invalid"):
        service.metadata.add_tag(OWNER, server_id, tag)
    with pytest.raises(InvalidInput, match="is invalid"):
        service.metadata.set_tags(OWNER, server_id, ["fine", tag])
    assert service.metadata.tags(OWNER, server_id) == ("kept",)


def _actions(service: Domain, server_id: str, count: int) -> list[str]:
    ids = []
    with service.db.session() as s:
        for i in range(count):
            when = T0 + timedelta(minutes=i)
            ids.append(f"req-{i}")
            s.add(InstanceAction(request_id=f"req-{i}", instance_uuid=server_id,
                                 action="create" if i == 0 else "reboot", project_id="p1",
                                 user_id="u1", start_time=when, updated_at=when))
    return ids


def test_actions_newest_first_and_paged(service: Domain, make: Make) -> None:
    server_id = make()
    ids = _actions(service, server_id, 5)

    def listed(**query: object) -> list[str]:
        found = service.actions.of_server(
            OWNER, server_id, ActionQuery(**query))  # type: ignore[arg-type]
        return [a.request_id for a in found]

    assert listed() == ids[::-1]
    assert listed(limit=2) == ["req-4", "req-3"]
    assert listed(limit=2, marker="req-3") == ["req-2", "req-1"]
    assert listed(marker="req-0") == []
    assert listed(limit=0) == []
    assert listed(changes_since=T0 + timedelta(minutes=3)) == ["req-4", "req-3"]
    assert listed(changes_before=T0 + timedelta(minutes=1)) == ["req-1", "req-0"]
    # The marker is found among all actions, then the filters apply after it.
    assert listed(marker="req-4", changes_before=T0 + timedelta(minutes=2)) == [
        "req-2", "req-1", "req-0"]
    with pytest.raises(InvalidInput, match=r"^Marker None could not be found\.$"):
        listed(marker="req-nope")


def test_deleted_servers_actions(service: Domain, make: Make) -> None:
    server_id = make(deleted=True)
    _actions(service, server_id, 1)
    with pytest.raises(NotFound):
        service.actions.of_server(OWNER, server_id, ActionQuery())
    assert len(service.actions.of_server(OWNER, server_id, ActionQuery(),
                                         read_deleted=True)) == 1
    found = service.actions.show(OWNER, server_id, "req-0", read_deleted=True)
    assert found is not None and found.action.action == "create" and found.events == ()
    assert found.server_project_id == "p1"
    assert service.actions.show(OWNER, server_id, "req-9", read_deleted=True) is None
    with pytest.raises(NotFound):
        service.actions.show(OTHER, server_id, "req-0", read_deleted=True)
