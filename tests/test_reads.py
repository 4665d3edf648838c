"""Keyed reads (``emulator.reads``): the rows a Core read of the same statement gives, by
name, converted by their types; one key or many; a session's pending changes seen. And
prebuilt writes: what Core would write, in the caller's transaction, the rows counted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import DateTime, String, bindparam, insert, or_, update
from sqlalchemy import delete as sa_delete
from sqlalchemy import select as sa_select

from emulator.compute.models import Instance, InstanceFault
from emulator.db import Database, table_of
from emulator.reads import KeyedRead, Prebuilt

INSTANCE = table_of(Instance)
T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _instance(index: int, **columns: Any) -> dict[str, Any]:
    return dict(uuid=f"00000000-0000-0000-0000-{index:012d}", display_name=f"s{index}",
                hostname=f"s{index}", project_id="p1", user_id="u1", flavor_id="1",
                requested_networks=[{"uuid": "net"}], flavor_extra_specs={"hw:a": "b"},
                vm_state="active", task_state="spawning", created_at=T0, deleted=False,
                locked=index % 2 == 0,
                **columns)


@pytest.fixture
def db() -> Database:
    database = Database("sqlite://")
    with database.engine.begin() as connection:
        connection.execute(insert(Instance), [_instance(index) for index in range(1, 6)])
    return database


INSTANCES = KeyedRead(lambda match: sa_select(INSTANCE).where(
    match(INSTANCE.c.uuid), INSTANCE.c.project_id == bindparam("project_id"))
    .order_by(INSTANCE.c.id))


def test_one_key_gives_the_row_core_gives(db: Database) -> None:
    uuid = _instance(2)["uuid"]
    with db.reading() as connection:
        ours = INSTANCES(connection, [uuid], project_id="p1")
        core = connection.execute(sa_select(INSTANCE).where(INSTANCE.c.uuid == uuid)).one()
    assert len(ours) == 1
    assert tuple(ours[0]) == tuple(core)
    row = ours[0]
    assert row.uuid == uuid and row.locked is True and row.deleted is False
    assert row.created_at == T0  # the column type's converter gives the zone back
    assert row.flavor_extra_specs == {"hw:a": "b"}
    assert row.requested_networks == [{"uuid": "net"}]


def test_many_keys_and_further_parameters(db: Database) -> None:
    wanted = [_instance(index)["uuid"] for index in (5, 1, 3)]
    with db.reading() as connection:
        rows = INSTANCES(connection, wanted, project_id="p1")
        assert [row.display_name for row in rows] == ["s1", "s3", "s5"]
        assert INSTANCES(connection, wanted, project_id="p2") == []
        assert INSTANCES(connection, [], project_id="p1") == []
        assert INSTANCES(connection, ["nothing"], project_id="p1") == []


def test_a_session_s_pending_changes_are_read(db: Database) -> None:
    faults = table_of(InstanceFault)
    read = KeyedRead(lambda match: sa_select(faults).where(match(faults.c.instance_uuid)))
    uuid = _instance(4)["uuid"]
    with db.session() as s:
        s.add(InstanceFault(instance_uuid=uuid, code=500, message="boom",
                            created_at=datetime(2026, 5, 6, tzinfo=UTC)))
        rows = read(s, [uuid])
    assert [(row.code, row.message, row.created_at) for row in rows] == [
        (500, "boom", datetime(2026, 5, 6, tzinfo=UTC))]


def test_a_parameter_the_driver_cannot_take_is_refused(db: Database) -> None:
    since = bindparam("since", type_=INSTANCE.c.created_at.type)
    read = KeyedRead(lambda match: sa_select(INSTANCE.c.uuid).where(
        match(INSTANCE.c.uuid), INSTANCE.c.created_at > since))
    with db.reading() as connection, pytest.raises(TypeError, match="since"):
        read(connection, ["x"], since=T0)


def test_common_json_texts_are_fresh_values(db: Database) -> None:
    """``JSONValue`` reads ``{}``/``[]``/``null`` without parsing, a new value each time
    (a caller may change what it is given); anything else is parsed."""
    with db.engine.begin() as connection:
        connection.execute(insert(Instance), [_instance(6, scheduler_hints={}, trusted_certs=None,
                                                        security_groups=[])])
    uuid = _instance(6)["uuid"]
    with db.reading() as connection:
        first, = INSTANCES(connection, [uuid], project_id="p1")
        first.scheduler_hints["changed"] = True
        first.security_groups.append("changed")
        again, = INSTANCES(connection, [uuid], project_id="p1")
    assert again.scheduler_hints == {} and again.security_groups == []
    assert again.trusted_certs is None
    assert again.flavor_extra_specs == {"hw:a": "b"}


def test_values_the_statement_gives_are_bound_with_the_caller_s(db: Database) -> None:
    read = KeyedRead(lambda match: sa_select(INSTANCE.c.display_name).where(
        match(INSTANCE.c.project_id),
        or_(INSTANCE.c.display_name == "s2", INSTANCE.c.display_name == bindparam("name")))
        .order_by(INSTANCE.c.display_name))
    with db.reading() as connection:
        assert [r.display_name for r in read(connection, ["p1"], name="s4")] == ["s2", "s4"]
        assert [r.display_name for r in read(connection, ["p1", "p2"], name="s5")] == [
            "s2", "s5"]


# -- prebuilt writes --------------------------------------------------------------------

#: Literal values of the statement's own (a state, a flag, an increment) beside parameters.
MARK = Prebuilt(update(INSTANCE).where(INSTANCE.c.uuid == bindparam("server")).values(
    vm_state="deleted", deleted=True, deleted_at=bindparam("when"), task_state=None,
    launch_index=INSTANCE.c.launch_index + 1))
FORGET = Prebuilt(sa_delete(INSTANCE).where(INSTANCE.c.project_id == bindparam("project")))
ADD = Prebuilt(insert(INSTANCE))


def _core_row(connection: Any, uuid: str) -> Any:
    return connection.execute(sa_select(INSTANCE).where(INSTANCE.c.uuid == uuid)).one()


def test_an_update_writes_what_core_writes_and_counts_its_rows(db: Database) -> None:
    first, second = _instance(1)["uuid"], _instance(2)["uuid"]
    with db.writing() as connection:
        assert MARK(connection, {"server": first, "when": T0}) == 1
        assert MARK(connection, [{"server": second, "when": T0},
                                 {"server": "gone", "when": T0}]) == 1
        assert MARK(connection, {"server": "gone", "when": T0}) == 0
    with db.reading() as connection:
        for uuid in (first, second):
            row = _core_row(connection, uuid)
            assert (row.vm_state, row.task_state, row.deleted, row.deleted_at,
                    row.launch_index) == ("deleted", None, True, T0, 1)
        assert _core_row(connection, _instance(3)["uuid"]).deleted is False


def test_an_insert_converts_by_type_and_a_delete_counts(db: Database) -> None:
    new = _instance(9, updated_at=T0)  # the columns left out get their defaults
    with db.writing() as connection:
        assert ADD(connection, [new]) == 1
    with db.reading() as connection:
        row = _core_row(connection, new["uuid"])
        assert row.requested_networks == [{"uuid": "net"}] and row.created_at == T0
        assert row.locked is False and row.deleted is False
        assert (row.disk_config, row.security_groups, row.progress) == ("MANUAL", [], 0)
    with db.writing() as connection:
        assert FORGET(connection, {"project": "p1"}) == 6
    with db.reading() as connection:
        assert connection.execute(sa_select(INSTANCE.c.id)).all() == []


def test_a_write_rolls_back_with_its_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.writing() as connection:
        FORGET(connection, {"project": "p1"})
        raise RuntimeError("undone")
    with db.reading() as connection:
        assert len(connection.execute(sa_select(INSTANCE.c.id)).all()) == 5


def test_a_session_s_pending_rows_are_written_first(db: Database) -> None:
    with db.session() as s:
        s.add(Instance(**_instance(7)))
        assert MARK(s, {"server": _instance(7)["uuid"], "when": T0}) == 1
    with db.reading() as connection:
        assert _core_row(connection, _instance(7)["uuid"]).vm_state == "deleted"


def test_an_insert_of_a_select_takes_its_parameters_by_name(db: Database) -> None:
    copy = Prebuilt(insert(INSTANCE).from_select(
        ["uuid", "display_name", "hostname", "project_id", "user_id", "flavor_id",
         "requested_networks", "vm_state", "created_at"],
        sa_select(bindparam("new_uuid", type_=String), INSTANCE.c.display_name,
                  INSTANCE.c.hostname, INSTANCE.c.project_id, INSTANCE.c.user_id,
                  INSTANCE.c.flavor_id, INSTANCE.c.requested_networks, INSTANCE.c.vm_state,
                  bindparam("at", type_=DateTime))
        .where(INSTANCE.c.uuid == bindparam("source"))))
    with db.writing() as connection:
        assert copy(connection, {"new_uuid": "copy", "at": T0,
                                 "source": _instance(3)["uuid"]}) == 1
    with db.reading() as connection:
        row = _core_row(connection, "copy")
        assert (row.display_name, row.created_at) == ("s3", T0)
