"""Quotas: the limits' layers (configuration, ``default`` class, project, user), usage
counted from the database, Nova's instance arithmetic and 403 texts, the settable ranges
of an update, the no-op driver, persistence, and concurrent creators never going over."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from emulator.compute import create as create_module
from emulator.compute.create import CHUNK, NewServer
from emulator.compute.models import Instance
from emulator.compute.quotas import QuotaService
from emulator.compute.quotas.instances import Scope, check_upsize, instances_allowed
from emulator.compute.quotas.resources import RESOURCES
from emulator.compute.states import VmState
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Forbidden, InvalidInput, OverQuota
from tests.test_server_groups import ADMIN, IMAGE, MEMBER, OTHER_USER, Domain, domain

P = MEMBER.project_id or ""


def new(count: int = 1, flavor: str = "1", min_count: int | None = None) -> NewServer:
    return NewServer(name="s", flavor_ref=flavor, image_ref=IMAGE,
                     min_count=count if min_count is None else min_count, max_count=count)


async def create(d: Domain, ctx: RequestContext, count: int = 1, flavor: str = "1",
                 min_count: int | None = None) -> int:
    return len((await d.creator.create(ctx, new(count, flavor, min_count))).server_ids)


def boot(d: Domain, ctx: RequestContext = MEMBER, count: int = 1, flavor: str = "1",
         min_count: int | None = None) -> int:
    return asyncio.run(create(d, ctx, count, flavor, min_count))


def live(d: Domain) -> int:
    with d.db.session() as s:
        return len(s.exec(Instance.__table__.select()).all())  # type: ignore[attr-defined]


def quotas(d: Domain) -> QuotaService:
    return d.creator.quotas


# -- limits ----------------------------------------------------------------------------------


def test_defaults_are_novas_and_network_quotas_unlimited() -> None:
    shown = quotas(domain()).defaults(MEMBER, P)
    assert list(shown) == list(RESOURCES)
    assert {k: shown[k] for k in ("instances", "cores", "ram", "metadata_items",
                                  "injected_files", "injected_file_content_bytes",
                                  "injected_file_path_bytes", "key_pairs", "server_groups",
                                  "server_group_members")} == {
        "instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128,
        "injected_files": 5, "injected_file_content_bytes": 10240,
        "injected_file_path_bytes": 255, "key_pairs": 100, "server_groups": 10,
        "server_group_members": 10}
    assert {shown[k] for k in ("fixed_ips", "floating_ips", "security_groups",
                               "security_group_rules")} == {-1}


def test_layers_user_over_project_over_default_class_over_configuration() -> None:
    q = quotas(domain(instances=7))
    assert q.show(ADMIN, P)["instances"] == 7
    q.update_class(ADMIN, "default", {"instances": 8, "cores": 30})
    assert q.show(ADMIN, P)["instances"] == 8
    q.update(ADMIN, P, None, {"instances": 9})
    assert (q.show(ADMIN, P)["instances"], q.show(ADMIN, P)["cores"]) == (9, 30)
    q.update(ADMIN, P, MEMBER.user_id, {"instances": 3})
    assert q.show(ADMIN, P, MEMBER.user_id)["instances"] == 3
    assert q.show(ADMIN, P, OTHER_USER.user_id)["instances"] == 9
    q.delete(ADMIN, P, MEMBER.user_id)
    assert q.show(ADMIN, P, MEMBER.user_id)["instances"] == 9
    q.update(ADMIN, P, MEMBER.user_id, {"instances": 3})
    q.delete(ADMIN, P, None)  # the project's and its users' limits go
    assert q.show(ADMIN, P, MEMBER.user_id)["instances"] == 8


def test_policy_admin_updates_readers_show_their_own_project() -> None:
    q = quotas(domain())
    with pytest.raises(Forbidden, match="os_compute_api:os-quota-sets:update"):
        q.update(MEMBER, P, None, {"instances": 1})
    with pytest.raises(Forbidden, match="os_compute_api:os-quota-sets:show"):
        q.show(MEMBER, "another")
    with pytest.raises(Forbidden, match="os_compute_api:os-quota-class-sets:show"):
        q.show_class(MEMBER, "default")
    with pytest.raises(Forbidden, match="os_compute_api:limits:other_project"):
        q.absolute(MEMBER, "another")
    assert q.show(MEMBER, P)["instances"] == 10


def test_an_unknown_project_is_novas_400() -> None:
    d = domain()
    q = QuotaService(d.db, project_exists=lambda project: project == P)
    with pytest.raises(InvalidInput, match=r"^Project ID nope is not a valid project\.$"):
        q.show(ADMIN, "nope")
    assert q.show(ADMIN, P)["instances"] == 10


def test_limits_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    QuotaService(Database(url)).update(ADMIN, P, MEMBER.user_id, {"cores": 3})
    QuotaService(Database(url)).update_class(ADMIN, "default", {"ram": 1024})
    again = QuotaService(Database(url))
    assert again.show(ADMIN, P, MEMBER.user_id)["cores"] == 3
    assert again.show(ADMIN, P)["ram"] == 1024


# -- usage -----------------------------------------------------------------------------------


def test_usage_counts_live_servers_but_not_soft_deleted_ones() -> None:
    d = domain()
    boot(d, MEMBER, 2, flavor="3")  # m1.medium: 2 vCPUs, 4096 MB
    boot(d, OTHER_USER)
    detail = quotas(d).detail(ADMIN, P)
    assert (detail["instances"].in_use, detail["cores"].in_use, detail["ram"].in_use) == (
        3, 5, 2 * 4096 + 512)
    assert quotas(d).detail(ADMIN, P, OTHER_USER.user_id)["instances"].in_use == 1
    with d.db.session() as s:
        row = s.exec(Instance.__table__.select().limit(1)).first()  # type: ignore[attr-defined]
        s.get(Instance, row.id).vm_state = VmState.SOFT_DELETED  # type: ignore[union-attr]
    assert quotas(d).absolute(MEMBER)["instances"].in_use == 2


# -- the instance quota ----------------------------------------------------------------------


def test_the_eleventh_server_is_refused_and_nothing_is_made() -> None:
    d = domain()
    assert boot(d, count=10) == 10
    with pytest.raises(OverQuota) as refused:
        boot(d)
    assert refused.value.message == (
        "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances")
    assert live(d) == 10


def test_a_multi_create_takes_as_many_as_fit_when_min_count_does() -> None:
    d = domain()
    boot(d, count=7)
    assert boot(d, count=5, min_count=2) == 3
    with pytest.raises(OverQuota, match=r"^Quota exceeded for instances: Requested 2-5, but "
                                        r"already used 10 of 10 instances$"):
        boot(d, count=5, min_count=2)


def test_several_resources_over_are_listed_together() -> None:
    d = domain()
    boot(d, count=2, flavor="5")  # m1.xlarge: 8 vCPUs, 16384 MB
    with pytest.raises(OverQuota) as refused:
        boot(d, count=2, flavor="5")
    assert refused.value.message == (
        "Quota exceeded for cores, ram: Requested 16, 32768, but already used 16, 32768 "
        "of 20, 51200 cores, ram")


def test_a_hundred_thousand_servers_fail_fast_by_quota() -> None:
    d = domain()
    # NOTE: with no network: Nova checks the port quota first (test_nova_client).
    with pytest.raises(OverQuota) as refused:
        asyncio.run(d.creator.create(MEMBER, replace(new(100_000), networks="none")))
    assert refused.value.message == (
        "Quota exceeded for cores, instances, ram: Requested 100000, 100000, 51200000, but "
        "already used 0, 0, 0 of 20, 10, 51200 cores, instances, ram")
    assert live(d) == 0


def test_a_users_own_limit_is_checked_and_reported_for_the_user() -> None:
    d = domain()
    quotas(d).update(ADMIN, P, MEMBER.user_id, {"instances": 2})
    boot(d, count=2)
    with pytest.raises(OverQuota, match="already used 2 of 2 instances"):
        boot(d)
    assert boot(d, OTHER_USER, count=8) == 8


def test_arithmetic_unlimited_cores_follow_the_instances_headroom() -> None:
    project = Scope({"instances": 4, "cores": -1, "ram": -1},
                    {"instances": 1, "cores": 6, "ram": 1024})
    assert instances_allowed(2, 512, 1, 10, project, None) == 3


def test_upsize_names_the_deltas() -> None:
    scope = Scope({"instances": 10, "cores": 20, "ram": 51200},
                  {"instances": 2, "cores": 18, "ram": 1024})
    with pytest.raises(OverQuota) as refused:
        check_upsize(4, 1024, scope, scope)
    assert refused.value.message == (
        "Quota exceeded for cores: Requested 4, but already used 18 of 20 cores")
    check_upsize(2, 0, scope, scope)


def test_restore_counts_the_server_again() -> None:
    d = domain()
    boot(d, count=10)
    with pytest.raises(OverQuota, match="Requested 1, but already used 10 of 10"):
        quotas(d).check_restore(MEMBER, P, MEMBER.user_id, 1, 512)


# -- updates ---------------------------------------------------------------------------------


def test_a_limit_below_usage_needs_force() -> None:
    d = domain()
    boot(d, count=3)
    with pytest.raises(InvalidInput, match=r"^Quota limit 2 for instances must be greater "
                                           r"than or equal to already used and reserved 3\.$"):
        quotas(d).update(ADMIN, P, None, {"instances": 2})
    assert quotas(d).update(ADMIN, P, None, {"instances": 2}, force=True)["instances"] == 2


def test_a_users_limit_may_not_exceed_what_the_project_leaves() -> None:
    q = quotas(domain())
    q.update(ADMIN, P, OTHER_USER.user_id, {"instances": 6})
    with pytest.raises(InvalidInput, match=r"^Quota limit 5 for instances must be less than "
                                           r"or equal to 4\.$"):
        q.update(ADMIN, P, MEMBER.user_id, {"instances": 5})
    with pytest.raises(InvalidInput, match="greater than or equal to already used and "
                                           "reserved 6"):
        q.update(ADMIN, P, None, {"instances": 5})
    assert q.update(ADMIN, P, MEMBER.user_id, {"instances": 4})["instances"] == 4


def test_noop_driver_shows_minus_one_and_refuses_nothing() -> None:
    d = domain()
    d.creator.quotas = q = QuotaService(d.db, noop=True)
    assert set(q.show(ADMIN, P).values()) == {-1}
    assert boot(d, count=50) == 50
    detail = q.detail(ADMIN, P)["instances"]
    assert (detail.in_use, detail.limit, detail.reserved) == (-1, -1, -1)


# -- concurrency (S6) ------------------------------------------------------------------------


def test_32_concurrent_creators_admit_exactly_the_quota() -> None:
    """32 creators on one event loop, each creating one server at a time until refused,
    against a quota of 50: exactly 50 are admitted, every time."""
    d = domain(instances=50, cores=-1, ram=-1)

    async def creator() -> int:
        made = 0
        while True:
            try:
                made += await create(d, MEMBER)
            except OverQuota:
                return made
            await asyncio.sleep(0)

    async def run() -> list[int]:
        return await asyncio.gather(*(creator() for _ in range(32)))

    admitted = asyncio.run(run())
    assert sum(admitted) == 50 == live(d)


def test_chunked_multi_creates_racing_never_go_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multi-creates bigger than a chunk yield between chunks: the recheck takes back a
    request that a concurrent one pushed over, and leaves nothing of it behind."""
    d = domain(instances=3 * CHUNK, cores=-1, ram=-1)
    rng = random.Random(7)
    taken_back: list[int] = []
    discard = create_module.discard

    def spy(s: Any, ids: list[str]) -> None:
        taken_back.append(len(ids))
        discard(s, ids)

    monkeypatch.setattr(create_module, "discard", spy)

    async def creator() -> int:
        try:
            return await create(d, MEMBER, rng.randint(CHUNK + 1, 2 * CHUNK), min_count=1)
        except OverQuota:
            return 0

    async def run() -> list[int]:
        return await asyncio.gather(*(creator() for _ in range(8)))

    admitted = sum(asyncio.run(run()))
    assert taken_back, "no request was taken back: the race did not happen"
    assert 0 < admitted <= 3 * CHUNK
    assert live(d) == admitted


def test_nothing_is_counted_when_no_instance_resource_is_limited() -> None:
    # A count is a pass over the project's servers: with instances, cores and RAM all
    # unlimited nothing would be compared, so no count is made (the scale benchmark's
    # 100,000 servers would otherwise be summed twice a create).
    from sqlalchemy import event

    d = domain()
    quotas(d).update(ADMIN, P, None, {"instances": -1, "cores": -1, "ram": -1})
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = d.db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert boot(d, count=3) == 3
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "sum(instance.vcpus)" in s.lower()]
    assert live(d) == 3
    # a limit on one of them brings the count back, and it holds
    quotas(d).update(ADMIN, P, None, {"cores": 4})
    with pytest.raises(OverQuota, match="Quota exceeded for cores"):
        boot(d, count=2)
