"""The SQL fast path of the server list orders and cuts pages exactly as the Python path."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backends.simulated import SimulatedBackend
from emulator.clock import Clock
from emulator.compute.listing import ServerQuery
from emulator.compute.models import Instance
from emulator.compute.servers import Servers
from emulator.context import RequestContext
from emulator.db import Database

ADMIN = RequestContext(user_id="a", project_id="p1", roles=frozenset({"admin", "member",
                                                                       "reader"}))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def service() -> Servers:
    db = Database("sqlite://")
    rng = random.Random(7)
    with db.session() as s:
        for index in range(60):
            s.add(Instance(
                uuid=str(uuid.UUID(int=rng.getrandbits(128))),
                display_name=rng.choice(["alpha", "beta", "Gamma", "delta", "é-epsilon"]),
                hostname=f"h{index}", project_id="p1", user_id="u1", flavor_id="1",
                vm_state=rng.choice(["active", "stopped", "error"]),
                key_name=rng.choice([None, "k1", "k2"]),
                launched_at=None if index % 5 == 0 else T0 + timedelta(minutes=index % 7),
                created_at=T0 + timedelta(seconds=rng.choice([0, 1, 2])),
                progress=rng.choice([0, 50, 100]),
            ))
    return Servers(db, {h.name: h for h in SimulatedBackend(clock=Clock()).hosts()}.get)


SORTS = [
    (("created_at", "desc"), ("id", "desc")),
    (("display_name", "asc"), ("id", "asc")),
    (("key_name", "asc"), ("created_at", "desc"), ("id", "desc")),
    (("key_name", "desc"), ("id", "desc")),
    (("launched_at", "asc"), ("progress", "desc"), ("id", "asc")),
    (("vm_state", "desc"), ("display_name", "asc"), ("id", "desc")),
]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_sql_page_equals_python_page(service: Servers,
                                     sort: tuple[tuple[str, str], ...], limit: int) -> None:
    fast = service.matching(ADMIN, ServerQuery(project_id="p1", sort=sort, limit=limit))
    # A regex that matches every name forces the Python path, with the same result set.
    slow = service.matching(ADMIN, ServerQuery(project_id="p1", sort=sort, limit=limit,
                                               name=".*"))
    assert [r.uuid for r in fast] == [r.uuid for r in slow]
    assert len(fast) == min(limit, 60)
