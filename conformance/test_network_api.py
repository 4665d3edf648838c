"""The Network (Neutron v2.0) API over raw HTTP: discovery, the extension list, networks
and their attributes as each role sees them, lists (filters, fields, sorting, paging),
tags, Neutron's error body, and what one project may see of another's."""

from __future__ import annotations

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import Target
from conformance.network import (
    NETWORK_KEYS,
    PROVIDER_KEYS,
    create,
    delete,
    name,
    network_with_subnet,
    neutron,
    neutron_error,
    ok,
)
from emulator.network.settings import NetworkConfig

# -- discovery ------------------------------------------------------------------------------


def test_catalog_lists_the_network_service(member: ApiSession) -> None:
    assert member.endpoint("network").endswith("/network")


def test_versions_document_needs_no_token(member: ApiSession, http: httpx.Client) -> None:
    root = member.endpoint("network")
    for url in (root, f"{root}/"):
        body = ok(http.get(url))
        [version] = body["versions"]
        assert version["id"] == "v2.0" and version["status"] == "CURRENT"
        assert version["links"] == [{"rel": "self", "href": f"{root}/v2.0/"}]


def test_v2_root_lists_the_core_resources(member: ApiSession, http: httpx.Client) -> None:
    root = f"{member.endpoint('network')}/v2.0/"
    assert http.get(root).status_code == 401
    body = ok(member.request("GET", root))
    collections = {r["collection"]: r for r in body["resources"]}
    assert {"networks", "subnets", "ports"} <= set(collections)
    assert collections["networks"]["links"] == [
        {"rel": "self", "href": f"{root}networks"}]
    # NOTE: Neutron's v2.0 root answers only with its trailing slash.
    neutron_error(member.request("GET", root.rstrip("/")), 404, "HTTPNotFound")


def test_extensions_name_what_is_served(member: ApiSession) -> None:
    extensions = ok(neutron(member, "GET", "/extensions"))["extensions"]
    aliases = {e["alias"] for e in extensions}
    assert {"external-net", "router", "security-group", "quotas", "provider", "binding",
            "standard-attr-tag", "auto-allocated-topology", "pagination", "sorting",
            "port-security", "net-mtu"} <= aliases
    assert not aliases & {"trunk", "qos", "dvr", "l3-ha", "subnet_allocation", "agent"}
    for extension in extensions:
        assert set(extension) == {"alias", "name", "description", "updated", "links"}
    one = ok(neutron(member, "GET", "/extensions/router"))["extension"]
    assert one["alias"] == "router"
    message = neutron_error(neutron(member, "GET", "/extensions/trunk"), 404, "HTTPNotFound")
    assert message == "Extension with alias trunk does not exist"


# -- the seeded networks -------------------------------------------------------------------


def _by_name(session: ApiSession) -> dict[str, dict[str, object]]:
    return {n["name"]: n for n in ok(neutron(session, "GET", "/networks"))["networks"]}


@pytest.mark.emulator_only
def test_seeded_public_and_private_networks(member: ApiSession, admin: ApiSession,
                                            target: Target) -> None:
    seen = _by_name(member)
    public, private = seen["public"], seen["private"]
    assert public["router:external"] is True and public["shared"] is False
    assert public["is_default"] is True
    assert private["shared"] is True and private["router:external"] is False
    subnets = {s["name"]: s for s in ok(neutron(member, "GET", "/subnets"))["subnets"]}
    # devstack's 172.24.4.0/24; on qemu 127.24.4.0/24 (``[network] public_cidr``)
    cidr, gateway = NetworkConfig().public_subnet(target.backend or "simulated")
    assert (subnets["public-subnet"]["cidr"], subnets["public-subnet"]["gateway_ip"]) == (
        cidr, gateway)
    assert subnets["private-subnet"]["network_id"] == private["id"]
    from emulator.compute.addresses import DEFAULT_NETWORK_ID, DEFAULT_SUBNET

    # The stand-in addresses servers show are on this network's subnet.
    assert private["id"] == DEFAULT_NETWORK_ID
    assert subnets["private-subnet"]["cidr"] == str(DEFAULT_SUBNET)
    admin_view = _by_name(admin)["public"]
    assert admin_view["provider:network_type"] == "flat"
    assert admin_view["provider:physical_network"] == "public"


# -- networks --------------------------------------------------------------------------------


def test_network_attributes_by_role(member: ApiSession, admin: ApiSession) -> None:
    network = create(member, "networks", "network", name=name("attrs"))
    try:
        assert set(network) == NETWORK_KEYS
        assert network["status"] == "ACTIVE" and network["admin_state_up"] is True
        assert network["project_id"] == network["tenant_id"] == member.project_id
        assert network["subnets"] == [] and network["revision_number"] == 0
        assert network["mtu"] > 0
        shown = ok(neutron(admin, "GET", f"/networks/{network['id']}"))["network"]
        assert set(shown) == NETWORK_KEYS | PROVIDER_KEYS
        assert shown["provider:network_type"] == "geneve"
        assert isinstance(shown["provider:segmentation_id"], int)
    finally:
        delete(member, "networks", network["id"])


def test_network_update_and_delete(member: ApiSession) -> None:
    network = create(member, "networks", "network", name=name("upd"))
    updated = ok(neutron(member, "PUT", f"/networks/{network['id']}",
                         json={"network": {"name": "renamed", "description": "d",
                                           "admin_state_up": False}}))["network"]
    assert (updated["name"], updated["description"], updated["admin_state_up"]) == \
        ("renamed", "d", False)
    assert updated["revision_number"] > network["revision_number"]
    assert ok(neutron(member, "DELETE", f"/networks/{network['id']}"), 204) is None
    message = neutron_error(neutron(member, "GET", f"/networks/{network['id']}"), 404,
                            "NetworkNotFound")
    assert message == f"Network {network['id']} could not be found."


def test_members_may_not_set_admin_attributes(member: ApiSession) -> None:
    for attribute in ("shared", "router:external"):
        response = neutron(member, "POST", "/networks",
                           json={"network": {"name": name(), attribute: True}})
        message = neutron_error(response, 403, "PolicyNotAuthorized")
        assert message == (f"(rule:create_network and rule:create_network:{attribute}) "
                           "is disallowed by policy")
    # The default value is no change, and allowed.
    network = create(member, "networks", "network", name=name(), shared=False)
    delete(member, "networks", network["id"])


def test_admin_makes_a_shared_network_others_see(admin: ApiSession, member: ApiSession,
                                                  alt: ApiSession) -> None:
    shared = create(admin, "networks", "network", name=name("shared"), shared=True)
    private = create(member, "networks", "network", name=name("mine"))
    try:
        alt_sees = {n["id"] for n in ok(neutron(alt, "GET", "/networks"))["networks"]}
        assert shared["id"] in alt_sees and private["id"] not in alt_sees
        neutron_error(neutron(alt, "GET", f"/networks/{private['id']}"), 404,
                      "NetworkNotFound")
        neutron_error(neutron(alt, "PUT", f"/networks/{private['id']}",
                              json={"network": {"name": "x"}}), 404, "NetworkNotFound")
        neutron_error(neutron(alt, "DELETE", f"/networks/{private['id']}"), 404,
                      "NetworkNotFound")
        # A shared network someone else owns is seen, not changed.
        neutron_error(neutron(alt, "PUT", f"/networks/{shared['id']}",
                              json={"network": {"name": "x"}}), 403, "PolicyNotAuthorized")
        admin_sees = {n["id"] for n in ok(neutron(admin, "GET", "/networks"))["networks"]}
        assert private["id"] in admin_sees
    finally:
        delete(admin, "networks", shared["id"])
        delete(member, "networks", private["id"])


def test_bulk_create_is_all_or_nothing(member: ApiSession) -> None:
    names = [name("bulk"), name("bulk")]
    made = ok(neutron(member, "POST", "/networks", json={"networks": [
        {"name": names[0]}, {"name": names[1]}]}), 201)["networks"]
    assert [n["name"] for n in made] == names
    for network in made:
        delete(member, "networks", network["id"])
    failed = neutron(member, "POST", "/networks", json={"networks": [
        {"name": names[0]}, {"name": names[1], "admin_state_up": "maybe"}]})
    neutron_error(failed, 400, "InvalidInput")
    listed = ok(neutron(member, "GET", "/networks", params={"name": names[0]}))["networks"]
    assert listed == []


# -- bad input -------------------------------------------------------------------------------

BAD_BODIES = [
    ({}, "HTTPBadRequest", "Resource body required"),
    ({"netw": {}}, "HTTPBadRequest", "Unable to find 'network' in request body"),
    ({"network": {"color": "red"}}, "HTTPBadRequest", "Unrecognized attribute(s) 'color'"),
    ({"network": {"status": "DOWN"}}, "HTTPBadRequest", "Attribute 'status' not allowed in POST"),
    ({"network": {"name": 5}}, "HTTPBadRequest",
     "Invalid input for name. Reason: '5' is not a valid string."),
    ({"network": {"admin_state_up": "maybe"}}, "InvalidInput",
     "Invalid input for operation: 'maybe' cannot be converted to boolean."),
    ({"network": {"tenant_id": "a", "project_id": "b"}}, "HTTPBadRequest",
     "'project_id' and 'tenant_id' do not match"),
]


@pytest.mark.parametrize(("body", "kind", "message"), BAD_BODIES)
def test_bad_create_bodies(member: ApiSession, body: object, kind: str, message: str) -> None:
    assert neutron_error(neutron(member, "POST", "/networks", json=body), 400, kind) == message


def test_malformed_json_and_read_only_update(member: ApiSession) -> None:
    response = neutron(member, "POST", "/networks", content=b"{nope",
                       headers={"Content-Type": "application/json"})
    assert neutron_error(response, 400, "HTTPBadRequest") == "Body contains invalid data"
    network = create(member, "networks", "network", name=name())
    try:
        response = neutron(member, "PUT", f"/networks/{network['id']}",
                           json={"network": {"status": "DOWN"}})
        assert neutron_error(response, 400, "HTTPBadRequest") == \
            "Cannot update read-only attribute status"
    finally:
        delete(member, "networks", network["id"])


def test_another_projects_id_is_refused(member: ApiSession, alt: ApiSession) -> None:
    response = neutron(member, "POST", "/networks",
                       json={"network": {"project_id": alt.project_id}})
    assert neutron_error(response, 400, "HTTPBadRequest") == (
        "Specifying 'project_id' other than the authenticated project in request is not "
        "allowed for the current user.")


def test_unknown_paths_and_methods(member: ApiSession) -> None:
    neutron_error(neutron(member, "GET", "/widgets"), 404, "HTTPNotFound")
    neutron_error(neutron(member, "PATCH", "/networks"), 405, "HTTPMethodNotAllowed")
    response = member.request("GET", f"{member.endpoint('network')}/v2.0/networks",
                              token=False)
    assert response.status_code == 401


# -- lists ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three(member: ApiSession) -> list[dict[str, object]]:
    tag = name("list")
    made = [create(member, "networks", "network", name=f"{tag}-{i}",
                   admin_state_up=i != 1, description=tag) for i in range(3)]
    yield made
    for network in made:
        delete(member, "networks", str(network["id"]))


def _names(response: httpx.Response) -> list[str]:
    return [n["name"] for n in ok(response)["networks"]]


def test_filters_fields_and_or(member: ApiSession, three: list[dict[str, object]]) -> None:
    tag = three[0]["description"]
    assert sorted(_names(neutron(member, "GET", "/networks", params={"description": tag}))) \
        == sorted(str(n["name"]) for n in three)
    down = neutron(member, "GET", "/networks",
                   params={"description": tag, "admin_state_up": "False"})
    assert _names(down) == [three[1]["name"]]
    either = neutron(member, "GET", "/networks", params=[
        ("name", str(three[0]["name"])), ("name", str(three[2]["name"]))])
    assert sorted(_names(either)) == sorted([str(three[0]["name"]), str(three[2]["name"])])
    fields = ok(neutron(member, "GET", "/networks", params=[
        ("description", tag), ("fields", "id"), ("fields", "name")]))["networks"]
    assert all(set(n) == {"id", "name"} for n in fields)
    shown = ok(neutron(member, "GET", f"/networks/{three[0]['id']}",
                       params={"fields": "status"}))["network"]
    assert shown == {"status": "ACTIVE"}
    bad = neutron(member, "GET", "/networks", params={"color": "red"})
    assert neutron_error(bad, 400, "HTTPBadRequest") == \
        "['color'] is invalid attribute for filtering"


def test_sorting_and_paging(member: ApiSession, three: list[dict[str, object]]) -> None:
    tag = three[0]["description"]
    params = [("description", tag), ("sort_key", "name"), ("sort_dir", "desc")]
    assert _names(neutron(member, "GET", "/networks", params=params)) == \
        sorted((str(n["name"]) for n in three), reverse=True)
    first = ok(neutron(member, "GET", "/networks", params=[*params, ("limit", "2")]))
    assert [n["name"] for n in first["networks"]] == \
        sorted((str(n["name"]) for n in three), reverse=True)[:2]
    links = {link["rel"]: link["href"] for link in first["networks_links"]}
    assert set(links) == {"next", "previous"}
    rest = ok(member.request("GET", links["next"]))
    assert [n["name"] for n in rest["networks"]] == [three[0]["name"]]
    assert {link["rel"] for link in rest["networks_links"]} == {"previous"}
    bad_dir = neutron(member, "GET", "/networks", params={"sort_key": "name",
                                                           "sort_dir": "up"})
    neutron_error(bad_dir, 400, "HTTPBadRequest")
    bad_key = neutron(member, "GET", "/networks", params={"sort_key": "subnets",
                                                           "sort_dir": "asc"})
    assert neutron_error(bad_key, 400, "HTTPBadRequest") == \
        "['subnets'] is invalid attribute for sort_keys"
    bad_limit = neutron(member, "GET", "/networks", params={"limit": "-1"})
    assert neutron_error(bad_limit, 400, "BadRequest") == \
        "Bad limit request: Limit must be an integer 0 or greater and not '-1'."


# -- tags ----------------------------------------------------------------------------------


def test_tags_subresource_and_filters(member: ApiSession, alt: ApiSession) -> None:
    network = create(member, "networks", "network", name=name("tags"))
    base = f"/networks/{network['id']}/tags"
    try:
        assert ok(neutron(member, "PUT", f"{base}/red"), 201) is None
        assert ok(neutron(member, "GET", f"{base}/red"), 204) is None
        neutron_error(neutron(member, "GET", f"{base}/blue"), 404, "TagNotFound")
        replaced = ok(neutron(member, "PUT", base, json={"tags": ["b", "a", "b"]}))
        assert replaced == {"tags": ["a", "b"]}
        assert ok(neutron(member, "GET", base)) == {"tags": ["a", "b"]}
        for query, found in ((("tags", "a,b"),), True), ((("tags", "a,c"),), False), \
                ((("tags-any", "c,a"),), True), ((("not-tags", "a"),), False):
            names = _names(neutron(member, "GET", "/networks",
                                   params=[("id", network["id"]), *query]))
            assert (names == [network["name"]]) is found, query
        neutron_error(neutron(alt, "PUT", f"{base}/x"), 404, "NetworkNotFound")
        assert ok(neutron(member, "DELETE", f"{base}/a"), 204) is None
        neutron_error(neutron(member, "DELETE", f"{base}/a"), 404, "TagNotFound")
        assert ok(neutron(member, "DELETE", base), 204) is None
        shown = ok(neutron(member, "GET", f"/networks/{network['id']}"))["network"]
        assert shown["tags"] == [] and shown["revision_number"] > network["revision_number"]
        tagged = create(member, "networks", "network", name=name(), tags=["x", "y"])
        assert tagged["tags"] == ["x", "y"]
        delete(member, "networks", tagged["id"])
    finally:
        delete(member, "networks", network["id"])


def test_network_with_ports_is_not_deleted(member: ApiSession) -> None:
    with network_with_subnet(member) as (network, _subnet):
        create(member, "ports", "port", network_id=network["id"])
        message = neutron_error(neutron(member, "DELETE", f"/networks/{network['id']}"), 409,
                                "NetworkInUse")
        assert message == (f"Unable to complete operation on network {network['id']}. There "
                           "are one or more ports still in use on the network.")
