"""Server groups: the service's rules (visibility, policy, quotas, rules), the checks a
server create makes of its ``group`` hint, membership from create to the end of a delete,
what the scheduler is handed (``spec_for``), and the request schemas against Nova's."""

from __future__ import annotations

import ast
import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from backends.simulated import default_hosts
from emulator.api.compute.schemas import schema_for
from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body
from emulator.compute.aggregates import AggregateService
from emulator.compute.checks import ImageInfo
from emulator.compute.create import NewServer, ServerCreator
from emulator.compute.flavors import FlavorService
from emulator.compute.instances import Instances
from emulator.compute.keypairs import KeyPairService
from emulator.compute.models import Instance
from emulator.compute.quotas import QuotaService
from emulator.compute.records import load_records
from emulator.compute.server_groups import GroupSpec, NewServerGroup, ServerGroupService
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Forbidden, InvalidInput, NotFound, OverQuota
from tests.nova_source import NovaSource, source

MEMBER = RequestContext(user_id="u1", project_id="p1", roles=frozenset({"member", "reader"}))
OTHER_USER = RequestContext(user_id="u2", project_id="p1",
                            roles=frozenset({"member", "reader"}))
ALT = RequestContext(user_id="u3", project_id="p2", roles=frozenset({"member", "reader"}))
READER = RequestContext(user_id="u4", project_id="p1", roles=frozenset({"reader"}))
ADMIN = RequestContext(user_id="a", project_id="admin",
                       roles=frozenset({"admin", "member", "reader"}))
IMAGE = "a4c1f5d6-2b1f-4d8e-9c5e-0e3b6f3f9a11"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Domain:
    db: Database
    groups: ServerGroupService
    creator: ServerCreator
    instances: Instances


def domain(group_quota: int = 10, member_quota: int = 10, **quotas: int) -> Domain:
    db = Database("sqlite://")
    flavors = FlavorService(db, project_exists=lambda _project: True)
    flavors.seed()
    limits = QuotaService(db, {"server_groups": group_quota,
                               "server_group_members": member_quota, **quotas})
    groups = ServerGroupService(db, limits)
    hosts = default_hosts([("nova", 2)])

    def image(_ctx: RequestContext, image_id: str) -> ImageInfo | None:
        return ImageInfo(id=image_id, status="active", min_ram=0, min_disk=0) \
            if image_id == IMAGE else None

    zones = AggregateService(db, lambda: hosts, image)
    creator = ServerCreator(db, flavors, KeyPairService(db, limits), image,
                            {h.name: h for h in hosts}.get, zones, groups=groups,
                            quotas=limits)
    return Domain(db, groups, creator, Instances(db))


@pytest.fixture
def d() -> Domain:
    return domain()


def create(d: Domain, ctx: RequestContext = MEMBER, policy: str = "affinity",
           **rules: int) -> str:
    return d.groups.create(ctx, NewServerGroup(name="g", policy=policy, rules=rules)).uuid


def boot(d: Domain, ctx: RequestContext, count: int = 1, **hints: Any) -> tuple[str, ...]:
    new = NewServer(name="s", flavor_ref="1", image_ref=IMAGE, min_count=count,
                    max_count=count, scheduler_hints=hints)
    return asyncio.run(d.creator.create(ctx, new)).server_ids


def instance_count(d: Domain) -> int:
    with d.db.session() as s:
        return len(list(s.exec(Instance.__table__.select())))  # type: ignore[attr-defined]


# -- the groups ------------------------------------------------------------------------------


def test_create_records_the_caller_and_the_policy(d: Domain) -> None:
    made = d.groups.create(MEMBER, NewServerGroup(name="web", policy="anti-affinity",
                                                  rules={"max_server_per_host": 2}))
    assert uuid.UUID(made.uuid)
    assert (made.name, made.project_id, made.user_id) == ("web", "p1", "u1")
    assert (made.policy, dict(made.rules), made.members) == (
        "anti-affinity", {"max_server_per_host": 2}, ())
    assert d.groups.get(MEMBER, made.uuid) == made


@pytest.mark.parametrize("policy", ["affinity", "soft-affinity", "soft-anti-affinity"])
def test_rules_are_for_anti_affinity_only(d: Domain, policy: str) -> None:
    with pytest.raises(InvalidInput, match=r"^Only anti-affinity policy supports rules\.$"):
        create(d, policy=policy, max_server_per_host=2)
    assert d.groups.list_groups(MEMBER) == []


def test_another_projects_group_is_not_found(d: Domain) -> None:
    mine = create(d)
    for call in (d.groups.get, d.groups.delete):
        with pytest.raises(NotFound, match=f"^Instance group {mine} could not be found.$"):
            call(ALT, mine)
    # Another user of the same project sees it; an admin sees every project's.
    assert d.groups.get(OTHER_USER, mine).uuid == mine
    assert d.groups.get(ADMIN, mine).uuid == mine


def test_listing_is_per_project_unless_an_admin_asks_for_all(d: Domain) -> None:
    mine, theirs, admins = create(d), create(d, ALT), create(d, ADMIN)
    assert [g.uuid for g in d.groups.list_groups(MEMBER)] == [mine]
    assert [g.uuid for g in d.groups.list_groups(MEMBER, all_projects=True)] == [mine]
    assert [g.uuid for g in d.groups.list_groups(ADMIN)] == [admins]
    assert [g.uuid for g in d.groups.list_groups(ADMIN, all_projects=True)] == [
        mine, theirs, admins]


def test_offset_and_limit_page_in_creation_order(d: Domain) -> None:
    made = [create(d) for _ in range(5)]
    assert [g.uuid for g in d.groups.list_groups(MEMBER, offset=1, limit=2)] == made[1:3]
    assert [g.uuid for g in d.groups.list_groups(MEMBER, offset=4)] == made[4:]
    assert d.groups.list_groups(MEMBER, offset=5) == []


def test_readers_read_and_members_write(d: Domain) -> None:
    made = create(d)
    assert d.groups.get(READER, made).uuid == made
    assert len(d.groups.list_groups(READER)) == 1
    with pytest.raises(Forbidden, match="os-server-groups:create"):
        create(d, READER)
    with pytest.raises(Forbidden, match="os-server-groups:delete"):
        d.groups.delete(READER, made)


def test_group_quota_per_project() -> None:
    d = domain(group_quota=2)
    create(d)
    create(d, OTHER_USER)
    with pytest.raises(OverQuota, match=r"^Quota exceeded, too many server groups\.$"):
        create(d)
    create(d, ALT)  # another project's quota
    d.groups.delete(MEMBER, d.groups.list_groups(MEMBER)[0].uuid)
    create(d)


def test_quotas_of_minus_one_are_unlimited() -> None:
    d = domain(group_quota=-1, member_quota=-1, instances=-1, cores=-1, ram=-1)
    groups = [create(d) for _ in range(12)]
    group = groups[0]
    assert len(boot(d, MEMBER, 12, group=group)) == 12


def test_delete_leaves_the_members_in_no_group(d: Domain) -> None:
    group = create(d)
    (server,) = boot(d, MEMBER, group=group)
    d.groups.delete(MEMBER, group)
    with pytest.raises(NotFound):
        d.groups.get(MEMBER, group)
    assert d.groups.group_of(server) is None
    assert instance_count(d) == 1


# -- the group hint of a server create --------------------------------------------------------


def test_every_server_of_a_create_joins_the_group(d: Domain) -> None:
    group = create(d)
    made = boot(d, MEMBER, 3, group=group)
    assert d.groups.get(MEMBER, group).members == made
    assert {d.groups.group_of(s) for s in made} == {group}
    with d.db.session() as s:
        rows = [s.get(Instance, i) for i in range(1, 4)]
        records = load_records(s, [r for r in rows if r is not None], [])
    assert [r.server_groups(MEMBER) for r in records] == [[group]] * 3


def test_a_multi_create_in_chunks_joins_in_every_chunk() -> None:
    d = domain(member_quota=-1, instances=-1, cores=-1, ram=-1)
    group = create(d)
    made = boot(d, MEMBER, 250, group=group)
    assert d.groups.get(MEMBER, group).members == made


@pytest.mark.parametrize("hint", [None, "", []])
def test_no_group_hint_is_no_group(d: Domain, hint: Any) -> None:
    (server,) = boot(d, MEMBER, group=hint)
    assert d.groups.group_of(server) is None


def test_a_hint_list_of_one_names_the_group(d: Domain) -> None:
    group = create(d)
    (server,) = boot(d, MEMBER, group=[group])
    assert d.groups.group_of(server) == group


def test_unknown_and_other_projects_groups_are_refused(d: Domain) -> None:
    theirs = create(d, ALT)
    unknown = str(uuid.uuid4())
    for hint in (unknown, theirs):
        with pytest.raises(InvalidInput, match=f"^Instance group {hint} could not be found.$"):
            boot(d, MEMBER, group=hint)
    with pytest.raises(InvalidInput, match="could not be found"):
        boot(d, MEMBER, group=[theirs, unknown])
    assert instance_count(d) == 0
    # An admin may put a server in any project's group; only an admin then sees it there.
    (server,) = boot(d, ADMIN, group=theirs)
    assert d.groups.get(ALT, theirs).members == (server,)
    with d.db.session() as s:
        row = s.get(Instance, 1)
        assert row is not None
        (record,) = load_records(s, [row], [])
    assert record.server_groups(ADMIN) == [theirs]
    assert record.server_groups(RequestContext(user_id="x", project_id="admin",
                                               roles=frozenset({"reader"}))) == []


def test_member_quota_counts_the_users_live_servers() -> None:
    d = domain(member_quota=3)
    group = create(d)
    first = boot(d, MEMBER, 2, group=group)
    with pytest.raises(OverQuota, match=r"^Quota exceeded, too many servers in group$"):
        boot(d, MEMBER, 2, group=group)
    assert instance_count(d) == 2  # the refused request recorded nothing
    # Per user: another user of the project has a quota of its own.
    boot(d, OTHER_USER, 3, group=group)
    # A delete frees a place.
    d.instances.finish_delete(first[0])
    boot(d, MEMBER, 2, group=group)


def test_a_group_deleted_before_the_insert_is_not_found(d: Domain) -> None:
    """The hint is looked up first; the group may go before the servers are recorded."""
    group = create(d)
    ref = d.groups.requested(MEMBER, {"group": group})
    assert ref is not None
    d.groups.delete(MEMBER, group)
    with d.db.session() as s, pytest.raises(InvalidInput, match="could not be found"):
        d.groups.check_members(s, MEMBER, ref, 1)
    with d.db.session() as s:
        d.groups.add_members(s, ref, ["x"])  # a later chunk: quietly nothing
    assert d.groups.group_of("x") is None


# -- the end of a delete, a reset ----------------------------------------------------------


def test_the_end_of_a_delete_leaves_the_group(d: Domain) -> None:
    group = create(d)
    a, b = boot(d, MEMBER, 2, group=group)
    d.instances.finish_delete(a)
    assert d.groups.get(MEMBER, group).members == (b,)
    assert d.groups.group_of(a) is None


def test_a_reset_empties_every_group(d: Domain) -> None:
    group = create(d)
    boot(d, MEMBER, 2, group=group)
    d.instances.purge()
    assert d.groups.get(MEMBER, group).members == ()


# -- what the scheduler is handed -------------------------------------------------------------


def test_spec_for(d: Domain) -> None:
    plain = create(d, policy="soft-affinity")
    ruled = create(d, policy="anti-affinity", max_server_per_host=3)
    made = boot(d, MEMBER, 2, group=ruled)
    assert d.groups.spec_for(plain) == GroupSpec(uuid=plain, policy="soft-affinity")
    assert d.groups.spec_for(ruled) == GroupSpec(uuid=ruled, policy="anti-affinity",
                                                 members=made, max_server_per_host=3)
    d.groups.delete(MEMBER, ruled)
    with pytest.raises(NotFound, match=f"^Instance group {ruled} could not be found.$"):
        d.groups.spec_for(ruled)


# -- the request schemas ---------------------------------------------------------------------


def body_error(version: str, body: Any) -> str | None:
    schema = schema_for("server_group_create", APIVersion.parse(version))
    assert schema is not None
    try:
        validate_body(schema, body)
    except Fault as fault:
        return str(fault.message)
    return None


@pytest.mark.parametrize("version, policy, ok", [
    ("2.1", "affinity", True), ("2.14", "anti-affinity", True),
    ("2.14", "soft-affinity", False), ("2.15", "soft-affinity", True),
    ("2.63", "soft-anti-affinity", True), ("2.63", "legacy", False),
])
def test_policies_by_version(version: str, policy: str, ok: bool) -> None:
    body = {"server_group": {"name": "g", "policies": [policy]}}
    assert (body_error(version, body) is None) == ok


def test_policy_and_rules_from_2_64() -> None:
    good = {"server_group": {"name": "g", "policy": "anti-affinity",
                             "rules": {"max_server_per_host": "2"}}}
    assert body_error("2.64", good) is None
    assert body_error("2.63", good) is not None
    assert body_error("2.64", {"server_group": {"name": "g", "policies": ["affinity"]}}) \
        is not None


def _nova() -> NovaSource:
    return source()


def test_policy_rules_and_schema_enums_are_novas() -> None:
    """The enums, required fields and query parameters of Nova's create and index schemas
    (those it writes as literals) are ours."""
    source = _nova()
    path = "nova/api/openstack/compute/schemas/server_groups.py"
    nova = source.constants(path)
    ours = schema_for("server_group_create", APIVersion.parse("2.1"))
    assert ours is not None
    theirs = nova["create"]["properties"]["server_group"]
    mine = ours["properties"]["server_group"]
    assert mine["required"] == theirs["required"]
    assert mine["properties"]["policies"]["items"][0]["enum"] == \
        theirs["properties"]["policies"]["prefixItems"][0]["enum"]
    index = schema_for("server_group_index_query", APIVersion.parse("2.1"))
    assert index is not None
    (assigned,) = [node.value for node in source.tree(path).body if isinstance(node, ast.Assign)
                   and ast.unparse(node.targets[0]) == "index_query"]
    assert isinstance(assigned, ast.Dict)
    properties = dict(zip((ast.literal_eval(k) for k in assigned.keys if k is not None),
                          assigned.values, strict=True))["properties"]
    assert isinstance(properties, ast.Dict)
    assert list(index["properties"]) == [ast.literal_eval(k) for k in properties.keys
                                         if k is not None]
