"""The isolation matrix, generated from the route table the emulator serves
(``GET /_emulator/routes``: every service's routes and the compute actions), so that a new
route cannot escape it.

- Tokens: every authenticated route, called with no token, a token that is not one, an
  expired token and a revoked token, answers 401 with ``WWW-Authenticate`` (keystonemiddleware's
  answer, before any routing or body), and no public route asks for one.
- Projects: another project's member and reader call every route with the owner's
  resources in the path (a server, its metadata and tags, a key pair, a server group, a
  volume and snapshot, a private image, network, subnet, port, security group, ...):
  none answers 2xx, no answer holds an id or a name of the owner's resources, and the owner's
  resources are all still there, unchanged, afterwards.
A path parameter the matrix has no value for fails it: a new route needs its line here.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.bios_image import boot_image
from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.network import create, neutron
from conformance.polling import settle
from conformance.volume_client import cinder

PARAM = re.compile(r"\{(\w+)\}")
#: Seconds a token of the token matrix's emulator lives.
TOKEN_TTL = 3


def routes_of(admin: ApiSession, base_url: str) -> list[dict[str, Any]]:
    answer = admin.request("GET", f"{base_url}/_emulator/routes")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["routes"]
    return found


def version_headers(route: dict[str, Any]) -> dict[str, str]:
    """The microversion a route needs (its window's lower end), in its service's header."""
    version = route["min_version"]
    if version is None:
        return {}
    if route["service"] == "compute":
        return {"X-OpenStack-Nova-API-Version": version}
    return {"OpenStack-API-Version": f"{route['service']} {version}"}


def _login(http: httpx.Client, account: Any) -> str:
    issued = http.post(f"{account.auth_url}/auth/tokens", json=account.password_auth())
    assert issued.status_code == 201, issued.text
    return issued.headers["X-Subject-Token"]


@pytest.mark.emulator_only
def test_every_route_refuses_no_bad_expired_and_revoked_tokens(target: Target,
                                                                http: httpx.Client) -> None:
    config = f"[identity]\ntoken_ttl_seconds = {TOKEN_TTL}\n"
    with dedicated_emulator(target, config) as process:
        accounts = seeded_accounts(process.url)
        expired = _login(http, accounts["member"])
        issued = time.monotonic()
        revoked = _login(http, accounts["member"])
        admin = ApiSession(accounts["admin"], http)
        answer = admin.identity("DELETE", "/auth/tokens", headers={"X-Subject-Token": revoked})
        assert answer.status_code == 204, answer.text
        routes = routes_of(admin, process.url)
        time.sleep(max(0.0, issued + TOKEN_TTL + 0.5 - time.monotonic()))
        tokens: dict[str, str | None] = {"no": None, "garbage": "not-a-token-" + "x" * 20,
                                         "expired": expired, "revoked": revoked}
        checked = 0
        for route in routes:
            url = process.url + PARAM.sub("x1", route["path"])
            for kind, token in tokens.items():
                headers = version_headers(route)
                if token is not None:
                    headers["X-Auth-Token"] = token
                answer = http.request(route["method"], url, headers=headers, json={}
                                      if route["method"] in ("POST", "PUT", "PATCH") else None)
                where = f"{route['method']} {route['path']} with {kind} token"
                if route["authenticated"]:
                    assert answer.status_code == 401, f"{where}: {answer.status_code} " \
                                                      f"{answer.text[:300]}"
                    assert answer.headers.get("WWW-Authenticate", "").startswith(
                        "Keystone uri="), f"{where}: {dict(answer.headers)}"
                    checked += 1
                else:
                    assert answer.status_code != 401, f"{where}: {answer.text[:300]}"
        assert checked >= 4 * 300, checked
        print(f"{len(routes)} routes, {checked} refusals checked")


#: (service, the segment before a parameter, the parameter) -> which of the owner's
#: resources stands there (a key of ``Owned.ids``), or a literal for what no project owns.
PATH_VALUES: dict[tuple[str, str, str], str] = {
    ("compute", "servers", "server_id"): "server",
    ("compute", "os-volumes_boot", "server_id"): "server",
    ("compute", "metadata", "key"): "@owned",
    ("compute", "tags", "tag"): "@owned-tag",
    ("compute", "ips", "network"): "network_name",
    ("compute", "os-interface", "port_id"): "port",
    ("compute", "os-volume_attachments", "volume_id"): "volume",
    ("compute", "os-instance-actions", "request_id"): "request",
    ("compute", "os-keypairs", "keypair_name"): "keypair",
    ("compute", "os-server-groups", "group_id"): "server_group",
    ("compute", "os-quota-sets", "project_id"): "project",
    ("compute", "os-simple-tenant-usage", "tenant_id"): "project",
    ("compute", "os-volumes", "volume_id"): "volume",
    ("compute", "os-snapshots", "snapshot_id"): "snapshot",
    ("compute", "os-assisted-volume-snapshots", "snapshot_id"): "snapshot",
    ("compute", "os-security-groups", "group_id"): "security_group",
    ("compute", "os-security-group-rules", "rule_id"): "security_group_rule",
    ("compute", "os-tenant-networks", "id"): "network",
    ("compute", "os-tenant-networks", "network_id"): "network",
    ("compute", "os-networks", "id"): "network",
    ("compute", "os-networks", "network_id"): "network",
    ("compute", "images", "image_id"): "image",
    ("compute", "flavors", "flavor_id"): "@1",
    ("compute", "os-extra_specs", "key"): "@hw:cpu_policy",
    ("compute", "os-aggregates", "aggregate_id"): "@1",
    ("compute", "os-hosts", "host"): "@compute-001",
    ("compute", "os-hypervisors", "hypervisor_id"): "@1",
    ("compute", "os-services", "service_id"): "@1",
    ("compute", "migrations", "migration_id"): "@1",
    ("compute", "os-console-auth-tokens", "token"): "@x1",
    ("compute", "os-quota-class-sets", "class_name"): "@default",
    ("compute", "os-instance_usage_audit_log", "before"): "@2026-01-01",
    ("compute", "os-floating-ips", "fip_id"): "floating_ip",
    # Removed APIs (410 or 404 to everyone) and the consoles of nova-network's days.
    **{("compute", segment, "id"): "@x1" for segment in (
        "os-agents", "os-baremetal-nodes", "os-cells", "os-certificates", "os-cloudpipe",
        "os-fixed-ips", "os-floating-ip-dns", "os-floating-ips-bulk", "os-fping",
        "os-security-group-default-rules", "consoles", "entries")},
    ("compute", "os-floating-ip-dns", "domain_id"): "@x1",
    ("identity", "projects", "project_id"): "project",
    ("identity", "users", "user_id"): "user",
    ("identity", "roles", "role_id"): "@x1",
    ("identity", "domains", "domain_id"): "@default",
    ("image", "images", "image_id"): "image",
    ("image", "members", "member_id"): "@x1",
    ("image", "tags", "tag"): "@owned-tag",
    ("network", "networks", "id"): "network",
    ("network", "subnets", "id"): "subnet",
    ("network", "ports", "id"): "port",
    ("network", "security-groups", "id"): "security_group",
    ("network", "security-group-rules", "id"): "security_group_rule",
    ("network", "routers", "id"): "router",
    ("network", "floatingips", "id"): "floating_ip",
    ("network", "tags", "tag"): "@owned-tag",
    ("network", "quotas", "project_id"): "project",
    ("network", "auto-allocated-topology", "project_id"): "project",
    ("network", "extensions", "alias"): "@router",
    ("volume", "volumes", "volume_id"): "volume",
    ("volume", "snapshots", "snapshot_id"): "snapshot",
    ("volume", "metadata", "key"): "@owned",
    ("volume", "attachments", "attachment_id"): "@x1",
    ("volume", "os-quota-sets", "project_id"): "project",
    ("volume", "types", "type_id"): "@x1",
    ("_emulator", "faults", "rule_id"): "@x1",
    ("_emulator", "hosts", "host"): "@compute-001",
    ("_emulator", "stages", "verb"): "@build",
    ("_emulator", "static", "name"): "@dashboard.js",
}
#: The owner's resources whose ids or names are not secrets from another project.
NOT_SECRET = {"project", "user"}
#: Routes naming the owner's project that any project may call, by Nova's default policy
#: (method, path) -> why.
ANY_PROJECT: dict[tuple[str, str], str] = {
    ("GET", "/compute/v2.1/os-quota-sets/{project_id}/defaults"):
        "os_compute_api:os-quota-sets:defaults is RULE_ANY: the defaults are no project's",
}


def owner_path(route: dict[str, Any], owned: dict[str, str]) -> tuple[str, set[str]]:
    """The route's path with the owner's resources (or fixed values) in it, and which of
    the owner's resources it names."""
    segments = route["path"].split("/")
    named: set[str] = set()
    for i, segment in enumerate(segments):
        param = PARAM.fullmatch(segment)
        if param is None:
            continue
        key = (route["service"], segments[i - 1], param.group(1))
        assert key in PATH_VALUES, f"{route['path']}: no value for {key}: add it to the matrix"
        value = PATH_VALUES[key]
        if value.startswith("@"):
            segments[i] = value[1:]
        else:
            segments[i] = owned[value]
            named.add(value)
    return "/".join(segments), named


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _wait(check: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not ready"
        time.sleep(0.1)


def make_owned(member: ApiSession, admin: ApiSession, backend: str) -> dict[str, str]:
    """The owner's resources, one of each kind a route names (their ids; names too)."""
    secret = f"owned-{uuid.uuid4().hex[:10]}"
    owned: dict[str, str] = {"project": member.project_id,
                             "user": member.token_body["user"]["id"]}
    network = create(member, "networks", "network", name=f"{secret}-net")
    owned.update(network=network["id"], network_name=network["name"])
    owned["subnet"] = create(member, "subnets", "subnet", network_id=network["id"],
                             cidr="10.77.0.0/24", ip_version=4, name=f"{secret}-sub")["id"]
    owned["port"] = create(member, "ports", "port", network_id=network["id"],
                           name=f"{secret}-port")["id"]
    group = create(member, "security-groups", "security_group", name=f"{secret}-sg")
    owned["security_group"] = group["id"]
    owned["security_group_rule"] = create(
        member, "security-group-rules", "security_group_rule", security_group_id=group["id"],
        direction="ingress", protocol="tcp", port_range_min=2222, port_range_max=2222)["id"]
    owned["router"] = create(member, "routers", "router", name=f"{secret}-router")["id"]
    public = _ok(neutron(member, "GET", "/networks", params={"name": "public"}))["networks"]
    owned["floating_ip"] = create(member, "floatingips", "floatingip",
                                  floating_network_id=public[0]["id"])["id"]
    image = boot_image(member, admin, backend)["id"]
    server = _ok(member.compute("POST", "/servers", json={"server": {
        "name": f"{secret}-server", "imageRef": image, "flavorRef": "1",
        "networks": [{"uuid": network["id"]}], "metadata": {"owned": "yes"}}},
        version="2.37"), 202)["server"]
    owned.update(server=server["id"], server_name=f"{secret}-server")
    settle(member, server["id"], "ACTIVE")
    assert member.compute("PUT", f"/servers/{server['id']}/tags/owned-tag",
                          version="2.26").status_code in (201, 204)
    actions = _ok(member.compute("GET", f"/servers/{server['id']}/os-instance-actions"))
    owned["request"] = actions["instanceActions"][0]["request_id"]
    owned["keypair"] = _ok(member.compute("POST", "/os-keypairs", json={
        "keypair": {"name": f"{secret}-key"}}))["keypair"]["name"]
    owned["server_group"] = _ok(member.compute("POST", "/os-server-groups", json={
        "server_group": {"name": f"{secret}-group", "policies": ["affinity"]}}))[
        "server_group"]["id"]
    volume = _ok(cinder(member, "POST", "/volumes", json={"volume": {
        "size": 1, "name": f"{secret}-volume", "metadata": {"owned": "yes"}}}), 202)["volume"]
    owned["volume"] = volume["id"]
    _wait(lambda: _ok(cinder(member, "GET", f"/volumes/{volume['id']}"))["volume"][
        "status"] == "available", "the volume")
    owned["snapshot"] = _ok(cinder(member, "POST", "/snapshots", json={"snapshot": {
        "volume_id": volume["id"], "name": f"{secret}-snapshot"}}), 202)["snapshot"]["id"]
    _wait(lambda: _ok(cinder(member, "GET", f"/snapshots/{owned['snapshot']}"))["snapshot"][
        "status"] == "available", "the snapshot")
    glance = f"{member.endpoint('image')}/v2/images"
    owned["image"] = _ok(member.request("POST", glance, json={
        "name": f"{secret}-image", "visibility": "private", "disk_format": "raw",
        "container_format": "bare"}), 201)["id"]
    assert member.request("PUT", f"{glance}/{owned['image']}/tags/owned-tag").status_code == 204
    return owned


def project_reader(admin: ApiSession, project: ApiSession, http: httpx.Client) -> ApiSession:
    """A new user with only the reader role on ``project``'s project."""
    password = uuid.uuid4().hex
    user = _ok(admin.identity("POST", "/users", json={"user": {
        "name": f"reader-{uuid.uuid4().hex[:8]}", "password": password,
        "default_project_id": project.project_id}}), 201)["user"]
    reader = _ok(admin.identity("GET", "/roles?name=reader"))["roles"][0]["id"]
    assert admin.identity("PUT", f"/projects/{project.project_id}/users/{user['id']}/roles/"
                          f"{reader}").status_code == 204
    account = project.account.__class__(**{**vars(project.account), "username": user["name"],
                                           "password": password})
    return ApiSession(account, http)


def calls(route: dict[str, Any]) -> Iterator[Any]:
    """The bodies a route is called with: each action of the action route, else one."""
    if "actions" in route:
        for action in route["actions"]:
            yield {action: {}}
    elif route["method"] in ("POST", "PUT", "PATCH"):
        yield {}
    else:
        yield None


def assert_unchanged(member: ApiSession, owned: dict[str, str]) -> None:
    """Nothing of the owner's changed (as the owner sees it)."""
    server = _ok(member.compute("GET", f"/servers/{owned['server']}", version="2.26"))[
        "server"]
    assert (server["name"], server["status"], server["metadata"], server["tags"]) == (
        owned["server_name"], "ACTIVE", {"owned": "yes"}, ["owned-tag"])
    for path in (f"/os-keypairs/{owned['keypair']}",
                 f"/os-server-groups/{owned['server_group']}"):
        assert member.compute("GET", path).status_code == 200, path
    for collection in ("networks", "subnets", "ports", "security-groups",
                       "security-group-rules", "routers", "floatingips"):
        key = {"networks": "network", "security-groups": "security_group",
               "security-group-rules": "security_group_rule",
               "floatingips": "floating_ip"}.get(collection, collection[:-1])
        assert neutron(member, "GET", f"/{collection}/{owned[key]}").status_code == 200
    volume = _ok(cinder(member, "GET", f"/volumes/{owned['volume']}"))["volume"]
    assert (volume["status"], volume["metadata"]) == ("available", {"owned": "yes"})
    assert cinder(member, "GET", f"/snapshots/{owned['snapshot']}").status_code == 200
    image = _ok(member.request("GET", f"{member.endpoint('image')}/v2/images/"
                               f"{owned['image']}"))
    assert image["tags"] == ["owned-tag"]


@pytest.mark.emulator_only
def test_another_projects_roles_reach_nothing_of_the_owners(target: Target,
                                                            http: httpx.Client) -> None:
    with dedicated_emulator(target) as process:
        accounts = seeded_accounts(process.url)
        member, alt, admin = (ApiSession(accounts[r], http) for r in ("member", "alt", "admin"))
        owned = make_owned(member, admin, process.backend)
        secrets = {key: value for key, value in owned.items() if key not in NOT_SECRET}
        callers = {"member": alt, "reader": project_reader(admin, alt, http)}
        routes = routes_of(admin, process.url)
        answered = 0
        for route in routes:
            path, named = owner_path(route, owned)
            for role, caller in callers.items():
                for body in calls(route):
                    headers = {**version_headers(route), "X-Auth-Token": caller.token}
                    url = f"{process.url}{path}"
                    answer = http.request(route["method"], url, headers=headers, json=body)
                    where = (f"{route['method']} {route['path']} {body or ''} as the other "
                             f"project's {role}: {answer.status_code} {answer.text[:300]}")
                    assert answer.status_code < 500, where
                    if named and (route["method"], route["path"]) not in ANY_PROJECT:
                        assert not 200 <= answer.status_code < 300, where
                    leaked = [key for key, value in secrets.items()
                              if value in answer.text and value not in url]
                    assert not leaked, f"{where}: leaks {leaked}"
                    answered += 1
        assert_unchanged(member, owned)
        print(f"{len(routes)} routes, {answered} calls by another project's roles")


#: The owner's reader's writes that name an owner's resource and are refused before the
#: policy is read (so not with a 403): (method, path) -> why.
READER_REFUSED_FIRST: dict[tuple[str, str], str] = {
    ("DELETE", "/compute/v2.1/os-keypairs/{keypair_name}"):
        "key pairs are their user's: another user of the project finds none (404)",
    ("DELETE", "/compute/v2.1/images/{image_id}/metadata/{key}"):
        "the image has no such property: the proxy answers 404 before Glance's policy",
    **{("DELETE", f"/network/v2.0/security-group-rules/{{id}}/tags{tail}"):
       "security group rules take no tags (404 to every caller)" for tail in ("", "/{tag}")},
}


def writes(route: dict[str, Any]) -> Iterator[Any]:
    """The bodies a write route is called with: each action with null and with {} (one
    of them valid for most actions), no body for a DELETE, {} for the rest."""
    if "actions" in route:
        for action in route["actions"]:
            yield {action: None}
            yield {action: {}}
    elif route["method"] == "DELETE":
        yield None
    elif route["method"] in ("POST", "PUT", "PATCH"):
        yield {}


@pytest.mark.emulator_only
def test_the_owners_reader_writes_nothing(target: Target, http: httpx.Client) -> None:
    """A reader of the owner's project (every service's default policy since oslo.policy
    enforces the new defaults: readers read, members write) calls every write route and
    action on the owner's resources: none answers 2xx, nothing changes, and a DELETE of a
    resource it can see is a 403 (the policy's refusal, not a 404 or a conflict)."""
    with dedicated_emulator(target) as process:
        accounts = seeded_accounts(process.url)
        member, admin = ApiSession(accounts["member"], http), ApiSession(accounts["admin"], http)
        owned = make_owned(member, admin, process.backend)
        reader = project_reader(admin, member, http)
        refused = 0
        for route in routes_of(admin, process.url):
            if not route["authenticated"]:
                continue
            path, named = owner_path(route, owned)
            for body in writes(route):
                headers = {**version_headers(route), "X-Auth-Token": reader.token}
                answer = http.request(route["method"], f"{process.url}{path}",
                                      headers=headers, json=body)
                where = (f"{route['method']} {route['path']} {body or ''} as the owner's "
                         f"reader: {answer.status_code} {answer.text[:300]}")
                assert answer.status_code < 500, where
                assert not 200 <= answer.status_code < 300, where
                if route["method"] == "DELETE" and named - NOT_SECRET and \
                        (route["method"], route["path"]) not in READER_REFUSED_FIRST:
                    assert answer.status_code in (403, 410), where  # 410: removed for all
                refused += answer.status_code == 403
        assert_unchanged(member, owned)
        # each service's refusal in its own words
        port = neutron(reader, "DELETE", f"/ports/{owned['port']}")
        assert port.json()["NeutronError"] == {
            "type": "PolicyNotAuthorized", "detail": "",
            "message": "rule:delete_port is disallowed by policy"}, port.text
        snapshot = cinder(reader, "DELETE", f"/snapshots/{owned['snapshot']}")
        assert snapshot.json()["forbidden"]["message"] == (
            "Policy doesn't allow volume:delete_snapshot to be performed."), snapshot.text
        print(f"the owner's reader: {refused} writes refused by policy (403), none done")


@pytest.mark.emulator_only
def test_the_route_listing_is_every_route_and_the_admins(target: Target, member: ApiSession,
                                                         admin: ApiSession) -> None:
    assert target.emulator is not None
    url = f"{target.emulator.url}/_emulator/routes"
    refused = member.request("GET", url)
    assert refused.status_code == 403, refused.text
    routes = routes_of(admin, target.emulator.url)
    keys = [(r["method"], r["path"]) for r in routes]
    assert len(keys) == len(set(keys)), "a route listed twice"
    by_key = {(r["method"], r["path"]): r for r in routes}
    assert {"os-stop", "os-start", "createImage", "resize", "evacuate"} <= set(
        by_key["POST", "/compute/v2.1/servers/{server_id}/action"]["actions"])
    assert by_key["PUT", "/compute/v2.1/flavors/{flavor_id}"]["min_version"] == "2.55"
    assert by_key["GET", "/identity/v3"]["authenticated"] is False
    for key in (("GET", "/image/v2/images/{image_id}"), ("GET", "/network/v2.0/ports/{id}"),
                ("POST", "/volume/v3/volumes"), ("GET", "/_emulator/routes"),
                ("DELETE", "/identity/v3/auth/tokens")):
        assert key in by_key, key
    assert {r["service"] for r in routes} == {"identity", "compute", "image", "network",
                                              "volume", "_emulator"}


@pytest.mark.emulator_only
def test_the_openapi_document_has_an_operation_per_route(target: Target,
                                                         admin: ApiSession) -> None:
    assert target.emulator is not None
    routes = routes_of(admin, target.emulator.url)
    answer = admin.request("GET", f"{target.emulator.url}/_emulator/openapi.json")
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["openapi"].startswith("3.1")
    operations = {(method.upper(), path): operation
                  for path, item in document["paths"].items()
                  for method, operation in item.items()}
    assert set(operations) == {(r["method"], r["path"]) for r in routes}
    action = operations["POST", "/compute/v2.1/servers/{server_id}/action"]
    bodies = action["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"os-stop", "createImage", "resetNetwork"} <= {
        body["required"][0] for body in bodies}
    reboot = next(body for body in bodies if body["required"] == ["reboot"])
    assert "SOFT" in reboot["properties"]["reboot"]["properties"]["type"]["enum"]
    create = operations["POST", "/compute/v2.1/servers"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert all(body["required"] == ["server"] for body in create["anyOf"])
    listing = {p["name"] for p in operations["GET", "/compute/v2.1/servers/detail"][
        "parameters"] if p["in"] == "query"}
    assert {"limit", "marker", "name", "status", "all_tenants"} <= listing
    resize = operations["PUT", "/compute/v2.1/flavors/{flavor_id}"]
    version = next(p for p in resize["parameters"] if p["in"] == "header")
    assert version["name"] == "X-OpenStack-Nova-API-Version"
    assert "2.55" in version["schema"]["enum"] and "latest" in version["schema"]["enum"]
    assert operations["GET", "/identity/v3"]["security"] == []
    assert [p["name"] for p in operations["GET", "/network/v2.0/ports/{id}"][
        "parameters"] if p["in"] == "path"] == ["id"]
