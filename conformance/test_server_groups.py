"""Server groups (``/os-server-groups``) and their members, as Nova at every microversion.

Every response is checked against Tempest's schema for the version sent, and the shapes
exactly: ``policies`` and ``metadata`` until 2.63, ``policy`` and ``rules`` from 2.64,
``project_id`` and ``user_id`` from 2.13. Each refusal carries Nova's text. Another
project's group is a 404 (show, delete) and an unknown one to a server's ``group`` hint
(400). Membership: a server created with the hint is a member from its create on, shows
its group (``server_groups``, 2.71: show, update, rebuild) and leaves the group when it is
deleted. The tests use ``affinity`` and soft policies wherever servers are made, so that
they hold on a one-host cloud whatever the scheduler enforces.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from tempest.lib.services.compute.server_groups_client import ServerGroupsClient
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.schemas import for_version, validate
from conformance.test_servers import Servers, gone, image_id, servers, wait_for

__all__ = ["image_id", "servers"]  # fixtures this module uses

#: The versions whose group shapes differ: base, ids (2.13), soft policies (2.15), the
#: last with ``policies`` (2.63), ``policy`` and ``rules`` (2.64).
VERSIONS = ["2.1", "2.13", "2.15", "2.63", "2.64", "latest"]
UNKNOWN = "5a9e1f0e-7d62-4c4b-9a9e-3e3f5b0e2c11"
NAME_RULE = ("An invalid 'name' value was provided. The name must be: printable characters. "
             "Can not start or end with whitespace.")


def minor(version: str) -> int:
    return 1000 if version == "latest" else int(version.split(".")[1])


def unique(prefix: str = "sg") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def body_for(version: str, policy: str, name: str | None = None,
             rules: dict[str, Any] | None = None) -> dict[str, Any]:
    """A create body in the shape of ``version``: ``policies`` until 2.63, ``policy``."""
    group: dict[str, Any] = {"name": name or unique()}
    if minor(version) >= 64:
        group["policy"] = policy
        if rules is not None:
            group["rules"] = rules
    else:
        group["policies"] = [policy]
    return {"server_group": group}


def fault(response: httpx.Response, status: int) -> str:
    """The message of Nova's fault body, checked to be one (name and code)."""
    assert response.status_code == status, response.text
    body = response.json()
    names = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 409: "conflict"}
    assert list(body) == [names[status]], body
    assert body[names[status]]["code"] == status
    return str(body[names[status]]["message"])


def not_found(group_id: str) -> str:
    return f"Instance group {group_id} could not be found."


def schemas(version: str) -> Any:
    return for_version(ServerGroupsClient, None if version == "2.1" else
                       ("2.64" if version == "latest" else version))


@dataclass
class Groups:
    """Creates server groups and deletes, when the test ends, those still there."""

    made: list[tuple[ApiSession, str]] = field(default_factory=list)

    def post(self, session: ApiSession, body: Any, version: str = "2.1") -> httpx.Response:
        response = session.compute("POST", "/os-server-groups", json=body, version=version)
        if response.status_code == 200:
            self.made.append((session, response.json()["server_group"]["id"]))
        return response

    def create(self, session: ApiSession, version: str = "2.1", policy: str = "affinity",
               **kwargs: Any) -> dict[str, Any]:
        response = self.post(session, body_for(version, policy, **kwargs), version)
        assert response.status_code == 200, response.text
        group: dict[str, Any] = response.json()["server_group"]
        return group

    def cleanup(self) -> None:
        for session, group_id in self.made:
            session.compute("DELETE", f"/os-server-groups/{group_id}")


@pytest.fixture
def groups() -> Iterator[Groups]:
    made = Groups()
    yield made
    made.cleanup()


def show(session: ApiSession, group_id: str, version: str = "2.1") -> dict[str, Any]:
    response = session.compute("GET", f"/os-server-groups/{group_id}", version=version)
    assert response.status_code == 200, response.text
    group: dict[str, Any] = validate(response, schemas(version).create_show_server_group)
    return group["server_group"]  # type: ignore[no-any-return]


def listed(session: ApiSession, version: str = "2.1", **params: Any) -> list[dict[str, Any]]:
    response = session.compute("GET", "/os-server-groups", version=version, params=params)
    assert response.status_code == 200, response.text
    body = validate(response, schemas(version).list_server_groups)
    return body["server_groups"]  # type: ignore[no-any-return]


# -- create, show, list, delete per microversion ------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_lifecycle_and_shapes(version: str, member: ApiSession, groups: Groups) -> None:
    name = unique()
    response = groups.post(member, body_for(version, "anti-affinity", name=name), version)
    assert response.status_code == 200, response.text
    created = validate(response, schemas(version).create_show_server_group)["server_group"]
    uuid.UUID(created["id"])
    expected: dict[str, Any] = {"id": created["id"], "name": name, "members": []}
    if minor(version) >= 64:
        expected.update(policy="anti-affinity", rules={})
    else:
        expected.update(policies=["anti-affinity"], metadata={})
    if minor(version) >= 13:
        expected.update(project_id=member.project_id, user_id=member.user_id)
    assert created == expected

    assert show(member, created["id"], version) == expected
    assert expected in listed(member, version)

    deleted = member.compute("DELETE", f"/os-server-groups/{created['id']}", version=version)
    assert deleted.status_code == 204, deleted.text
    validate(deleted, schemas(version).delete_server_group)
    assert deleted.content == b""
    again = member.compute("GET", f"/os-server-groups/{created['id']}", version=version)
    assert fault(again, 404) == not_found(created["id"])
    assert created["id"] not in [g["id"] for g in listed(member, version)]
    twice = member.compute("DELETE", f"/os-server-groups/{created['id']}", version=version)
    assert fault(twice, 404) == not_found(created["id"])


def test_a_group_looks_the_same_from_every_version(member: ApiSession,
                                                   groups: Groups) -> None:
    """A group made with ``policies`` shows ``policy`` and empty rules from 2.64; one made
    with rules at 2.64 shows its policy as a one-item list (and no rules) before."""
    old = groups.create(member, "2.1", "affinity")
    assert show(member, old["id"], "2.64")["policy"] == "affinity"
    assert show(member, old["id"], "2.64")["rules"] == {}
    new = groups.create(member, "2.64", "anti-affinity", rules={"max_server_per_host": 3})
    assert show(member, new["id"], "2.64")["rules"] == {"max_server_per_host": 3}
    shown = show(member, new["id"], "2.13")
    assert (shown["policies"], shown["metadata"]) == (["anti-affinity"], {})
    soft = groups.create(member, "2.15", "soft-anti-affinity")
    assert show(member, soft["id"], "2.1")["policies"] == ["soft-anti-affinity"]


def test_same_name_and_policy_make_two_groups(member: ApiSession, groups: Groups) -> None:
    name = unique()
    first = groups.create(member, name=name)
    second = groups.create(member, name=name)
    assert first["id"] != second["id"]
    assert (first["name"], first["policies"]) == (second["name"], second["policies"])


# -- policies and rules by microversion ---------------------------------------------------


@pytest.mark.parametrize("policy", ["soft-affinity", "soft-anti-affinity"])
def test_soft_policies_from_2_15(policy: str, member: ApiSession, groups: Groups) -> None:
    refused = groups.post(member, body_for("2.14", policy), "2.14")
    assert fault(refused, 400) == (
        f"Invalid input for field/attribute 0. Value: {policy}. "
        f"'{policy}' is not one of ['anti-affinity', 'affinity']")
    made = groups.create(member, "2.15", policy)
    assert made["policies"] == [policy]
    assert groups.create(member, "2.64", policy)["policy"] == policy


@pytest.mark.parametrize("policies, error", [
    ([], "[] should be non-empty"),
    (["affinity", "anti-affinity"], "['affinity', 'anti-affinity'] is too long"),
    (["affinity", "affinity"], "['affinity', 'affinity'] has non-unique elements"),
    ("affinity", "'affinity' is not of type 'array'"),
])
def test_policies_is_a_list_of_one(policies: Any, error: str, member: ApiSession,
                                   groups: Groups) -> None:
    body = {"server_group": {"name": unique(), "policies": policies}}
    response = groups.post(member, body, "2.15")
    assert fault(response, 400) == (
        f"Invalid input for field/attribute policies. Value: {policies}. {error}")


def test_policy_replaces_policies_at_2_64(member: ApiSession, groups: Groups) -> None:
    name = unique()
    old_style = {"server_group": {"name": name, "policies": ["affinity"]}}
    assert fault(groups.post(member, old_style, "2.64"), 400) == (
        f"Invalid input for field/attribute server_group. Value: {old_style['server_group']}. "
        "'policy' is a required property")
    new_style = {"server_group": {"name": name, "policy": "affinity"}}
    assert fault(groups.post(member, new_style, "2.63"), 400) == (
        f"Invalid input for field/attribute server_group. Value: {new_style['server_group']}. "
        "'policies' is a required property")
    both = {"server_group": {"name": name, "policy": "affinity", "rules": {}, "x": 1}}
    assert fault(groups.post(member, both, "2.64"), 400) == (
        f"Invalid input for field/attribute server_group. Value: {both['server_group']}. "
        "Additional properties are not allowed ('x' was unexpected)")
    bad = body_for("2.64", "legacy")
    assert fault(groups.post(member, bad, "2.64"), 400) == (
        "Invalid input for field/attribute policy. Value: legacy. 'legacy' is not one of "
        "['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity']")


@pytest.mark.parametrize("policy", ["affinity", "soft-affinity", "soft-anti-affinity"])
def test_rules_only_with_anti_affinity(policy: str, member: ApiSession,
                                       groups: Groups) -> None:
    refused = groups.post(member, body_for("2.64", policy, rules={"max_server_per_host": 2}),
                          "2.64")
    assert fault(refused, 400) == "Only anti-affinity policy supports rules."
    # Empty rules are no rules.
    assert groups.create(member, "2.64", policy, rules={})["rules"] == {}


@pytest.mark.parametrize("value, shown", [(1, 1), (5, 5), ("7", 7), ("007", 7)])
def test_max_server_per_host(value: Any, shown: int, member: ApiSession,
                             groups: Groups) -> None:
    made = groups.create(member, "2.64", "anti-affinity", rules={"max_server_per_host": value})
    assert made["rules"] == {"max_server_per_host": shown}


@pytest.mark.parametrize("rules, path, error", [
    ({"max_server_per_host": 0}, "max_server_per_host", "0 is less than the minimum of 1"),
    ({"max_server_per_host": "0"}, "max_server_per_host", "0 is less than the minimum of 1"),
    ({"max_server_per_host": -1}, "max_server_per_host", "-1 is less than the minimum of 1"),
    ({"max_server_per_host": "two"}, "max_server_per_host",
     "'two' does not match '^[0-9]*$'"),
    ({"max_server_per_host": ""}, "max_server_per_host", "'' should be non-empty"),
    ({"max_server_per_host": 1.5}, "max_server_per_host",
     "1.5 is not of type 'integer', 'string'"),
    ({"min_server_per_host": 1}, "rules",
     "Additional properties are not allowed ('min_server_per_host' was unexpected)"),
    ([], "rules", "[] is not of type 'object'"),
])
def test_bad_rules(rules: Any, path: str, error: str, member: ApiSession,
                   groups: Groups) -> None:
    response = groups.post(member, body_for("2.64", "anti-affinity", rules=rules), "2.64")
    value = rules[path] if path != "rules" else rules
    assert fault(response, 400) == (
        f"Invalid input for field/attribute {path}. Value: {value}. {error}")


# -- names and bodies -----------------------------------------------------------------------


@pytest.mark.parametrize("name, error", [
    ("", "Invalid input for field/attribute name. Value: . '' should be non-empty"),
    (" padded", NAME_RULE),
    ("padded ", NAME_RULE),
    ("tab\there", NAME_RULE),
    ("x" * 256, f"Invalid input for field/attribute name. Value: {'x' * 256}. "
                f"'{'x' * 256}' is too long"),
    (42, "Invalid input for field/attribute name. Value: 42. 42 is not of type 'string'"),
])
def test_bad_names(name: Any, error: str, member: ApiSession, groups: Groups) -> None:
    for version in ("2.1", "2.64"):
        body = body_for(version, "affinity")
        body["server_group"]["name"] = name
        assert fault(groups.post(member, body, version), 400) == error


def test_names_that_pass(member: ApiSession, groups: Groups) -> None:
    for name in ("x" * 255, "with inner  spaces", "ünïcødé ☃", "a"):
        assert groups.create(member, name=name)["name"] == name


def test_bad_bodies(member: ApiSession, groups: Groups) -> None:
    missing = {"server_group": {"policies": ["affinity"]}}
    assert fault(groups.post(member, missing), 400) == (
        "Invalid input for field/attribute server_group. Value: {'policies': ['affinity']}. "
        "'name' is a required property")
    assert fault(groups.post(member, {}), 400) == "'server_group' is a required property"
    extra = {**body_for("2.1", "affinity"), "other": 1}
    assert fault(groups.post(member, extra), 400) == (
        "Additional properties are not allowed ('other' was unexpected)")
    assert fault(groups.post(member, {"server_group": "x"}), 400) == (
        "Invalid input for field/attribute server_group. Value: x. 'x' is not of type 'object'")


# -- lookups, tenant isolation, policy ----------------------------------------------------


@pytest.mark.parametrize("group_id", [UNKNOWN, "not-a-uuid", "1"])
def test_unknown_groups_are_404(group_id: str, member: ApiSession) -> None:
    for method in ("GET", "DELETE"):
        response = member.compute(method, f"/os-server-groups/{group_id}")
        assert fault(response, 404) == not_found(group_id)


def test_another_projects_group_is_404(member: ApiSession, alt: ApiSession,
                                       admin: ApiSession, groups: Groups) -> None:
    mine = groups.create(member, "2.13")
    for method in ("GET", "DELETE"):
        response = alt.compute(method, f"/os-server-groups/{mine['id']}")
        assert fault(response, 404) == not_found(mine["id"])
    assert mine["id"] not in [g["id"] for g in listed(alt)]
    # all_projects is ignored for non-admins.
    assert mine["id"] not in [g["id"] for g in listed(alt, all_projects="True")]
    assert show(member, mine["id"], "2.13") == mine
    # An admin sees every project's group, and lists them with all_projects (any value).
    assert show(admin, mine["id"], "2.13") == mine
    assert mine["id"] not in [g["id"] for g in listed(admin)]
    for value in ("True", "false", ""):
        assert mine in listed(admin, "2.13", all_projects=value)


def test_admins_delete_any_projects_group(member: ApiSession, admin: ApiSession,
                                          groups: Groups) -> None:
    mine = groups.create(member)
    deleted = admin.compute("DELETE", f"/os-server-groups/{mine['id']}")
    assert deleted.status_code == 204, deleted.text
    assert fault(member.compute("GET", f"/os-server-groups/{mine['id']}"), 404) == \
        not_found(mine["id"])


def test_a_token_is_needed(member: ApiSession) -> None:
    response = member.compute("GET", "/os-server-groups", token=None)
    assert response.status_code == 401


# -- list paging and query parameters ---------------------------------------------------------


def test_limit_and_offset(member: ApiSession, groups: Groups) -> None:
    for _ in range(3):
        groups.create(member)
    everything = [g["id"] for g in listed(member)]
    assert len(everything) >= 3
    assert [g["id"] for g in listed(member, limit=2)] == everything[:2]
    assert [g["id"] for g in listed(member, offset=1)] == everything[1:]
    assert [g["id"] for g in listed(member, offset=1, limit=1)] == everything[1:2]
    # limit=0 is the maximum page, as Nova's common.limited has it.
    assert [g["id"] for g in listed(member, limit=0)] == everything
    assert listed(member, offset=len(everything)) == []
    # An offset past any database integer is an empty page too (schemathesis found a 500).
    for huge in (2**63, 10**30):
        assert listed(member, offset=huge) == []
    # The last value of a repeated parameter counts; no next links on this list.
    response = member.compute("GET", "/os-server-groups?limit=5&limit=1")
    assert [g["id"] for g in response.json()["server_groups"]] == everything[:1]
    assert list(response.json()) == ["server_groups"]


@pytest.mark.parametrize("param, value, error", [
    ("limit", "-1", "'-1' does not match '^[0-9]*$'"),
    ("offset", "abc", "'abc' does not match '^[0-9]*$'"),
    ("limit", "", "'' should be non-empty"),
])
def test_bad_paging_values(param: str, value: str, error: str, member: ApiSession) -> None:
    for version in ("2.1", "2.75"):
        response = member.compute("GET", "/os-server-groups", params={param: value},
                                  version=version)
        assert fault(response, 400) == (
            f"Invalid input for query parameters {param}. Value: {value}. {error}")


def test_unknown_query_parameters_until_and_from_2_75(member: ApiSession) -> None:
    assert member.compute("GET", "/os-server-groups", params={"foo": "1"},
                          version="2.74").status_code == 200
    refused = member.compute("GET", "/os-server-groups", params={"foo": "1"}, version="2.75")
    assert fault(refused, 400) == "Additional properties are not allowed ('foo' was unexpected)"
    # NOTE: Nova's pagination helper reads page_size too (and requires an integer).
    odd = member.compute("GET", "/os-server-groups", params={"page_size": "x"}, version="2.74")
    assert fault(odd, 400) == "Invalid input received: page_size must be an integer"


def test_show_query_is_refused_from_2_102(member: ApiSession, groups: Groups) -> None:
    made = groups.create(member)
    path = f"/os-server-groups/{made['id']}"
    assert member.compute("GET", path, params={"x": "1"}, version="2.101").status_code == 200
    refused = member.compute("GET", path, params={"x": "1"}, version="2.102")
    assert fault(refused, 400) == "Additional properties are not allowed ('x' was unexpected)"


@pytest.mark.emulator_only
def test_eleventh_group_is_over_quota(alt: ApiSession, groups: Groups) -> None:
    """Nova's default ``[quota] server_groups`` is 10 per project."""
    have = len(listed(alt))
    for _ in range(10 - have):
        groups.create(alt)
    refused = groups.post(alt, body_for("2.1", "affinity"))
    assert fault(refused, 403) == "Quota exceeded, too many server groups."
    groups.cleanup()
    groups.made.clear()
    assert groups.post(alt, body_for("2.1", "affinity")).status_code == 200


# -- membership -------------------------------------------------------------------------------


def boot_in(servers: Servers, session: ApiSession, group_id: str, version: str = "2.1",
            **fields: Any) -> httpx.Response:
    return servers.post(session, servers.body(version=version, **fields), version=version,
                        **{"os:scheduler_hints": {"group": group_id}})


def members(session: ApiSession, group_id: str) -> list[str]:
    return sorted(show(session, group_id)["members"])


def test_a_server_booted_with_the_hint_is_a_member(
        member: ApiSession, groups: Groups, servers: Servers) -> None:
    group = groups.create(member, "2.64", "affinity")
    response = boot_in(servers, member, group["id"])
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    # A member from the create on, before it is built.
    assert members(member, group["id"]) == [server_id]
    wait_for(member, server_id, "ACTIVE")
    assert members(member, group["id"]) == [server_id]
    assert server_id in [m for g in listed(member) if g["id"] == group["id"]
                         for m in g["members"]]

    at_271 = member.compute("GET", f"/servers/{server_id}", version="2.71")
    assert at_271.status_code == 200, at_271.text
    shown = validate(at_271, for_version(ServersClient, "2.71").get_server)["server"]
    assert shown["server_groups"] == [group["id"]]
    before = member.compute("GET", f"/servers/{server_id}", version="2.70").json()["server"]
    assert "server_groups" not in before
    detail = member.compute("GET", "/servers/detail", version="2.71").json()["servers"]
    assert all("server_groups" not in s for s in detail)

    updated = member.compute("PUT", f"/servers/{server_id}", version="2.71",
                             json={"server": {"name": unique("renamed")}})
    assert updated.status_code == 200, updated.text
    body = validate(updated, for_version(ServersClient, "2.71").update_server)["server"]
    assert body["server_groups"] == [group["id"]]

    rebuilt = member.compute("POST", f"/servers/{server_id}/action", version="2.71",
                             json={"rebuild": {"imageRef": servers.image}})
    assert rebuilt.status_code == 202, rebuilt.text
    body = validate(rebuilt,
                    for_version(ServersClient, "2.71").rebuild_server_with_admin_pass)["server"]
    assert body["server_groups"] == [group["id"]]
    wait_for(member, server_id, "ACTIVE")

    # A delete takes it out of the group.
    assert member.compute("DELETE", f"/servers/{server_id}").status_code == 204
    gone(member, server_id)
    assert members(member, group["id"]) == []


def test_every_server_of_a_multi_create_is_a_member(
        member: ApiSession, groups: Groups, servers: Servers) -> None:
    group = groups.create(member, "2.15", "soft-anti-affinity")
    response = boot_in(servers, member, group["id"], min_count=2, max_count=2,
                       return_reservation_id=True)
    assert response.status_code == 202, response.text
    made = sorted(servers.made)
    assert len(made) == 2
    assert members(member, group["id"]) == made
    for server_id in made:
        shown = member.compute("GET", f"/servers/{server_id}", version="2.71").json()
        assert shown["server"]["server_groups"] == [group["id"]]
        # The hint is kept as given (2.100).
        latest = member.compute("GET", f"/servers/{server_id}", version="2.100").json()
        assert latest["server"]["scheduler_hints"] == {"group": group["id"]}


def test_a_server_in_no_group_shows_none(member: ApiSession, servers: Servers) -> None:
    response = servers.post(member, servers.body())
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    shown = member.compute("GET", f"/servers/{server_id}", version="2.71")
    assert shown.status_code == 200, shown.text
    assert validate(shown, for_version(ServersClient, "2.71").get_server)[
        "server"]["server_groups"] == []


def test_deleting_a_group_leaves_its_servers_in_none(
        member: ApiSession, groups: Groups, servers: Servers) -> None:
    group = groups.create(member)
    response = boot_in(servers, member, group["id"])
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    assert member.compute("DELETE", f"/os-server-groups/{group['id']}").status_code == 204
    shown = member.compute("GET", f"/servers/{server_id}", version="2.71").json()["server"]
    assert shown["server_groups"] == []
    assert shown["status"] in ("BUILD", "ACTIVE")


def test_hint_naming_an_unknown_group_is_refused(member: ApiSession, alt: ApiSession,
                                                 groups: Groups, servers: Servers) -> None:
    refused = boot_in(servers, member, UNKNOWN)
    assert fault(refused, 400) == not_found(UNKNOWN)
    # Another project's group is unknown to the caller.
    theirs = groups.create(alt)
    refused = boot_in(servers, member, theirs["id"])
    assert fault(refused, 400) == not_found(theirs["id"])
    assert members(alt, theirs["id"]) == []
    # Not a uuid: the create schema refuses it.
    refused = boot_in(servers, member, "my-group")
    assert fault(refused, 400) == (
        "Invalid input for field/attribute group. Value: my-group. "
        "'my-group' is not valid under any of the given schemas")
    assert servers.made == []


def test_an_admin_may_use_any_projects_group(member: ApiSession, admin: ApiSession,
                                             groups: Groups, servers: Servers) -> None:
    group = groups.create(member)
    response = boot_in(servers, admin, group["id"])
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    assert members(member, group["id"]) == [server_id]
    shown = admin.compute("GET", f"/servers/{server_id}", version="2.71").json()["server"]
    assert shown["server_groups"] == [group["id"]]


@pytest.mark.emulator_only
def test_eleven_servers_are_too_many_for_a_group(member: ApiSession, admin: ApiSession,
                                                 groups: Groups, servers: Servers) -> None:
    """Nova's default ``[quota] server_group_members`` is 10 (per user, in a group); the
    project's ``instances`` quota (10 too, checked first) is lifted for the test (servers
    an earlier test deleted may still count while their deletes finish)."""
    group = groups.create(member)
    quota = f"/os-quota-sets/{member.project_id}"
    raised = admin.compute("PUT", quota, json={"quota_set": {"instances": -1}})
    assert raised.status_code == 200, raised.text
    try:
        refused = boot_in(servers, member, group["id"], min_count=11, max_count=11)
    finally:
        admin.compute("DELETE", quota)
    assert fault(refused, 403) == "Quota exceeded, too many servers in group"
    assert servers.made == [] and members(member, group["id"]) == []


def test_group_hint_as_a_list_of_one(member: ApiSession, groups: Groups,
                                     servers: Servers) -> None:
    group = groups.create(member)
    response = servers.post(member, servers.body(),
                            **{"os:scheduler_hints": {"group": [group["id"]]}})
    assert response.status_code == 202, response.text
    assert members(member, group["id"]) == [response.json()["server"]["id"]]


# -- the openstack CLI ------------------------------------------------------------------------


def test_cli_server_groups(member: ApiSession, image_id: str, servers: Servers) -> None:
    """``openstack server group create/list/show/delete`` (the CLI asks for the latest
    microversion: ``policy`` and ``rules``; 2.1 when told: ``policies``) and ``openstack
    server create --hint group=<id>`` joining the group."""
    name = unique("cli-sg")
    made = openstack_json(member.account, "server", "group", "create", "--policy",
                          "affinity", name)
    group_id = made["id"]
    old = openstack_json(member.account, "--os-compute-api-version", "2.1", "server",
                         "group", "create", "--policy", "affinity", unique("cli-sg"))
    ruled = openstack_json(member.account, "server", "group", "create", "--policy",
                           "anti-affinity", "--rule", "max_server_per_host=2", unique("cli-sg"))
    try:
        assert made == {"id": group_id, "name": name, "policy": "affinity", "rules": {},
                        "members": [], "project_id": member.project_id,
                        "user_id": member.user_id}
        assert old["policies"] == ["affinity"] and "policy" not in old
        assert (ruled["policy"], ruled["rules"]) == ("anti-affinity",
                                                     {"max_server_per_host": 2})
        rows = openstack_json(member.account, "server", "group", "list", "--long")
        mine = {r["ID"]: r for r in rows}
        assert mine[group_id] == {"ID": group_id, "Name": name, "Policy": "affinity",
                                  "Members": [], "Project Id": member.project_id,
                                  "User Id": member.user_id}
        assert {old["id"], ruled["id"]} <= set(mine)

        created = openstack_json(member.account, "server", "create", "--image", image_id,
                                 "--flavor", "m1.tiny", "--hint", f"group={group_id}",
                                 unique("cli-member"))
        servers.made.append(created["id"])
        shown = openstack_json(member.account, "server", "group", "show", name)
        assert (shown["id"], shown["members"]) == (group_id, [created["id"]])
        server = openstack_json(member.account, "server", "show", created["id"])
        assert server["server_groups"] == [group_id]
    finally:
        result = run_openstack(member.account, "server", "group", "delete", group_id,
                               old["id"], ruled["id"])
    assert result.returncode == 0, result.stderr
    missing = run_openstack(member.account, "server", "group", "show", group_id)
    assert missing.returncode != 0
    assert group_id not in [g["id"] for g in listed(member)]
