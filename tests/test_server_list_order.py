"""The server list pages in SQL exactly as Nova's order and filters say: every page, from
any marker, in every sort direction, against a reference that sorts and filters in Python."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from backends.simulated import SimulatedBackend
from emulator.clock import Clock
from emulator.compute.listing import SORT_KEYS, ServerQuery
from emulator.compute.models import Instance, InstanceAddress, InstanceTag
from emulator.compute.servers import Servers
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import InvalidInput

ADMIN = RequestContext(user_id="a", project_id="p1", roles=frozenset({"admin", "member",
                                                                       "reader"}))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
rng = random.Random(7)


def _instance(index: int) -> Instance:
    return Instance(
        id=index + 1, uuid=str(uuid.UUID(int=rng.getrandbits(128))),
        display_name=rng.choice(["alpha", "beta", "Gamma", "delta", "é-epsilon"]),
        hostname=f"h{index}", project_id=rng.choice(["p1", "p1", "p1", "p2"]),
        user_id=rng.choice(["u1", "u2"]), flavor_id=rng.choice(["1", "42"]),
        vm_state=rng.choice(["active", "stopped", "error", "no-such-state"]),
        task_state=rng.choice([None, None, "rebooting", "rebuilding"]),
        power_state=rng.choice([1, 4]), locked=rng.random() < 0.3,
        config_drive=rng.choice(["", "True"]),
        key_name=rng.choice([None, "k1", "k2"]),
        launched_at=None if index % 5 == 0 else T0 + timedelta(minutes=index % 7),
        created_at=T0 + timedelta(seconds=rng.choice([0, 1, 2])),
        updated_at=None if index % 4 == 0 else T0 + timedelta(hours=rng.choice([1, 2, 3])),
        progress=rng.choice([0, 50, 100]), deleted=index % 9 == 0,
    )


INSTANCES = [_instance(index) for index in range(90)]
TAGS = {i.uuid: set(rng.sample(["a", "b", "c"], rng.randint(0, 3))) for i in INSTANCES}
ADDRESSES = {i.uuid: [(f"10.0.{n}.{rng.randint(1, 9)}", 4) for n in range(rng.randint(0, 2))]
                     + [(f"fd00::{rng.randint(1, 9)}", 6)] for i in INSTANCES}


@pytest.fixture(scope="module")
def service() -> Servers:
    db = Database("sqlite://")
    with db.session() as s:
        s.add_all(Instance.model_validate(i.model_dump()) for i in INSTANCES)
        s.flush()
        s.add_all(InstanceTag(instance_uuid=u, tag=t) for u, tags in TAGS.items() for t in tags)
        s.add_all(InstanceAddress(instance_uuid=u, network_name="private", address=a,
                                  version=v, mac_address="fa:16:3e:00:00:00")
                  for u, addresses in ADDRESSES.items() for a, v in addresses)
    return Servers(db, {h.name: h for h in SimulatedBackend(clock=Clock()).hosts()}.get)


def _sortable(value: Any) -> tuple[bool, Any]:
    """NULLs first ascending, as in Nova's MySQL."""
    return (value is not None, value if value is not None else 0)


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(int(value)) if isinstance(value, bool) else str(value)


def _changed(i: Instance) -> datetime:
    return i.updated_at or i.created_at


#: Query field -> what it keeps (the reference's filters, one predicate each).
CHECKS: dict[str, Callable[[Instance, Any], bool]] = {
    "project_id": lambda i, v: i.project_id == v,
    "user_id": lambda i, v: i.user_id == v,
    "flavor": lambda i, v: i.flavor_id == v,
    "key_name": lambda i, v: i.key_name == v,
    "uuid": lambda i, v: i.uuid == v,
    "name": lambda i, v: re.search(v, i.display_name) is not None,
    "vm_state": lambda i, v: i.vm_state in v,
    "task_state": lambda i, v: (i.task_state or "") in v,
    "power_state": lambda i, v: i.power_state in v,
    "locked": lambda i, v: i.locked == v,
    "config_drive": lambda i, v: bool(i.config_drive) == v,
    "changes_since": lambda i, v: _changed(i) >= v,
    "changes_before": lambda i, v: _changed(i) <= v,
    "regex": lambda i, v: all(getattr(i, a) is not None and re.search(p, _text(getattr(i, a)))
                              for a, p in v),
    "ip": lambda i, v: any(re.search(v, a) for a, n in ADDRESSES[i.uuid] if n == 4),
    "ip6": lambda i, v: any(re.search(v, a) for a, n in ADDRESSES[i.uuid] if n == 6),
    "tags": lambda i, v: v <= TAGS[i.uuid],
    "tags_any": lambda i, v: bool(v & TAGS[i.uuid]),
    "not_tags": lambda i, v: not v <= TAGS[i.uuid],
    "not_tags_any": lambda i, v: not v & TAGS[i.uuid],
}


def _reference(query: ServerQuery) -> list[str]:
    """Every matching server's uuid in ``query``'s order (no marker, no limit)."""
    def live(i: Instance) -> bool:
        if query.deleted is not None:
            return i.deleted == query.deleted
        return query.changes_since is not None or query.changes_before is not None or (
            not i.deleted)

    rows = [i for i in INSTANCES if live(i) and all(
        check(i, getattr(query, field)) for field, check in CHECKS.items()
        if getattr(query, field) not in (None, ()))]
    for key, direction in reversed(query.sort):
        rows.sort(key=lambda i, a=SORT_KEYS[key]: _sortable(getattr(i, a)),  # type: ignore[misc]
                  reverse=direction == "desc")
    return [i.uuid for i in rows]


def _pages(service: Servers, query: ServerQuery) -> list[list[str]]:
    """Every page of ``query``, each from the last server of the one before."""
    pages: list[list[str]] = []
    marker = query.marker
    while True:
        page = [r.uuid for r in service.matching(ADMIN, replace(query, marker=marker))]
        pages.append(page)
        if len(page) < query.limit:
            return pages
        marker = page[-1]


SORTS = [
    (("created_at", "desc"), ("id", "desc")),
    (("created_at", "asc"), ("id", "asc")),
    (("display_name", "asc"), ("id", "asc")),
    (("key_name", "asc"), ("created_at", "desc"), ("id", "desc")),
    (("key_name", "desc"), ("id", "desc")),
    (("launched_at", "asc"), ("progress", "desc"), ("id", "asc")),
    (("launched_at", "desc"), ("key_name", "asc"), ("id", "desc")),
    (("vm_state", "desc"), ("display_name", "asc"), ("id", "desc")),
    (("task_state", "asc"), ("locked", "desc"), ("created_at", "desc"), ("id", "asc")),
]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_pages_follow_the_order(service: Servers, sort: tuple[tuple[str, str], ...],
                                limit: int) -> None:
    query = ServerQuery(project_id="p1", sort=sort, limit=limit)
    pages = _pages(service, query)
    assert [u for page in pages for u in page] == _reference(query)
    assert all(len(page) == limit for page in pages[:-1])


FILTERS: list[dict[str, Any]] = [
    {"name": "^[a-d]"}, {"name": "a$"}, {"vm_state": frozenset({"active"})},
    {"vm_state": frozenset({"active", "error"}), "task_state": frozenset({"rebooting"})},
    {"task_state": frozenset({""})}, {"task_state": frozenset({"", "rebuilding"})},
    {"power_state": frozenset({4})}, {"locked": True}, {"locked": False},
    {"config_drive": True}, {"config_drive": False}, {"user_id": "u2", "flavor": "42"},
    {"key_name": "k1"}, {"uuid": INSTANCES[3].uuid},
    {"changes_since": T0 + timedelta(hours=2)},
    {"changes_before": T0 + timedelta(hours=1)},
    # The same instant written with another offset.
    {"changes_since": (T0 + timedelta(hours=2)).astimezone(timezone(timedelta(hours=5)))},
    {"changes_since": T0 + timedelta(hours=1), "changes_before": T0 + timedelta(hours=2),
     "deleted": False},
    {"deleted": True}, {"regex": (("launched_at", ":0[24]:"),)},
    {"regex": (("progress", "^5"), ("key_name", "2"))}, {"regex": (("created_at", ":01$"),)},
    {"ip": r"^10\.0\.1\."}, {"ip6": "::[1-3]$"}, {"ip": "^fd00"},
    {"tags": frozenset({"a", "b"})}, {"tags_any": frozenset({"a", "c"})},
    {"not_tags": frozenset({"a", "b"})}, {"not_tags_any": frozenset({"c"})},
    {"tags": frozenset({"a"}), "not_tags_any": frozenset({"b"}), "name": "a"},
    {"project_id": None}, {"project_id": None, "vm_state": frozenset({"stopped"})},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(sorted(f)))
@pytest.mark.parametrize("sort", SORTS[:2] + SORTS[5:6])
def test_filtered_pages_match_the_reference(service: Servers, filters: dict[str, Any],
                                            sort: tuple[tuple[str, str], ...]) -> None:
    query = ServerQuery(**{"project_id": "p1", **filters}, sort=sort, limit=4)
    expected = _reference(query)
    assert [u for page in _pages(service, query) for u in page] == expected
    assert [r.uuid for r in service.matching(ADMIN, replace(query, limit=1000))] == expected


@pytest.mark.parametrize("sort", SORTS)
def test_any_server_is_a_marker(service: Servers, sort: tuple[tuple[str, str], ...]) -> None:
    """Nova pages from the marker's place in the order, whatever the marker is: another
    project's server, a deleted one, one the filters leave out."""
    query = ServerQuery(project_id="p1", vm_state=frozenset({"active"}), sort=sort, limit=1000)
    everyone = _reference(ServerQuery(project_id=None, deleted=None, sort=sort,
                                      changes_since=T0 - timedelta(days=1)))
    matching = set(_reference(query))
    for marker in rng.sample(INSTANCES, 25):
        after = everyone[everyone.index(marker.uuid) + 1:]
        page = [r.uuid for r in service.matching(ADMIN, replace(query, marker=marker.uuid))]
        assert page == [u for u in after if u in matching]


def test_an_unknown_marker_is_refused(service: Servers) -> None:
    unknown = str(uuid.UUID(int=1))
    with pytest.raises(InvalidInput, match=re.escape(f"marker [{unknown}] not found")):
        service.matching(ADMIN, ServerQuery(project_id="p1", marker=unknown))
