"""Flavors: lists, filters, paging, per-microversion shapes, admin management, access, specs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import flavors_access as access_schema
from tempest.lib.api_schema.response.compute.v2_1 import flavors_extra_specs as specs_schema
from tempest.lib.services.compute.flavors_client import FlavorsClient

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.schemas import for_version, validate

VERSIONS = [None, "2.1", "2.2", "2.10", "2.35", "2.55", "2.61", "2.75", "2.86", "latest"]


def _schema(version: str | None, member: ApiSession) -> Any:
    if version == "latest":
        version = member.http.get(f"{member.compute_url}/").json()["version"]["version"]
    return for_version(FlavorsClient, version)


@pytest.fixture
def private_flavor(admin: ApiSession) -> Iterator[dict[str, Any]]:
    name = f"conf-private-{uuid.uuid4().hex[:8]}"
    response = admin.compute("POST", "/flavors", json={"flavor": {
        "name": name, "ram": 64, "vcpus": 1, "disk": 0, "os-flavor-access:is_public": False,
    }})
    assert response.status_code == 200, response.text
    flavor: dict[str, Any] = response.json()["flavor"]
    yield flavor
    admin.compute("DELETE", f"/flavors/{flavor['id']}")


@pytest.mark.parametrize("version", VERSIONS)
def test_list_and_detail_validate(member: ApiSession, version: str | None) -> None:
    schema = _schema(version, member)
    brief = validate(member.compute("GET", "/flavors", version=version), schema.list_flavors)
    detail = validate(member.compute("GET", "/flavors/detail", version=version),
                      schema.list_flavors_details)
    assert [f["id"] for f in brief["flavors"]] == [f["id"] for f in detail["flavors"]]
    assert len(brief["flavors"]) >= 2
    for flavor in brief["flavors"]:
        assert set(flavor) <= {"id", "name", "links", "description"}


@pytest.mark.parametrize("version", VERSIONS)
def test_show_validates(member: ApiSession, version: str | None) -> None:
    flavor_id = member.compute("GET", "/flavors").json()["flavors"][0]["id"]
    response = member.compute("GET", f"/flavors/{flavor_id}", version=version)
    body = validate(response, _schema(version, member).create_update_get_flavor_details)
    flavor = body["flavor"]
    assert flavor["id"] == flavor_id
    assert isinstance(flavor["ram"], int) and isinstance(flavor["vcpus"], int)


def test_fields_follow_the_microversion(member: ApiSession) -> None:
    def show(version: str) -> dict[str, Any]:
        return member.compute("GET", "/flavors/1", version=version).json()["flavor"]  # type: ignore[no-any-return]

    base, v255, v261, v275 = show("2.1"), show("2.55"), show("2.61"), show("2.75")
    assert "description" not in base and "description" in v255
    assert "extra_specs" not in v255 and v261["extra_specs"] == {}
    assert base["swap"] == "" and v275["swap"] == 0
    assert base["OS-FLV-DISABLED:disabled"] is False and "rxtx_factor" in base


def test_ids_are_strings_and_links_absolute(member: ApiSession) -> None:
    for flavor in member.compute("GET", "/flavors").json()["flavors"]:
        assert isinstance(flavor["id"], str)
        rels = {link["rel"]: link["href"] for link in flavor["links"]}
        assert rels["self"] == f"{member.compute_url}/flavors/{flavor['id']}"
        assert rels["bookmark"] == f"{member.compute_root}/flavors/{flavor['id']}"


def test_min_ram_and_min_disk_filters(member: ApiSession) -> None:
    everything = member.compute("GET", "/flavors/detail").json()["flavors"]
    big = member.compute("GET", "/flavors/detail", params={"minRam": 4096}).json()["flavors"]
    assert {f["id"] for f in big} == {f["id"] for f in everything if f["ram"] >= 4096}
    disk = member.compute("GET", "/flavors/detail", params={"minDisk": 20}).json()["flavors"]
    assert {f["id"] for f in disk} == {f["id"] for f in everything if f["disk"] >= 20}


@pytest.mark.parametrize("param", ["minRam", "minDisk"])
def test_non_numeric_minimum_is_400(member: ApiSession, param: str) -> None:
    response = member.compute("GET", "/flavors", params={param: "lots"})
    assert response.status_code == 400
    assert response.json()["badRequest"]["message"] == f"Invalid {param} filter [lots]"


def test_paging_with_limit_and_marker(member: ApiSession) -> None:
    everything = [f["id"] for f in member.compute("GET", "/flavors").json()["flavors"]]
    first = member.compute("GET", "/flavors", params={"limit": 2}).json()
    assert [f["id"] for f in first["flavors"]] == everything[:2]
    (link,) = first["flavors_links"]
    assert link["rel"] == "next" and f"marker={everything[1]}" in link["href"]
    second = member.http.get(link["href"], headers={"X-Auth-Token": member.token}).json()
    assert [f["id"] for f in second["flavors"]] == everything[2:4]
    whole = member.compute("GET", "/flavors", params={"limit": 1000}).json()
    assert "flavors_links" not in whole


def test_unknown_marker_and_bad_limit_are_400(member: ApiSession) -> None:
    response = member.compute("GET", "/flavors", params={"marker": "no-such-flavor"})
    assert response.status_code == 400
    assert response.json()["badRequest"]["message"] == "marker [no-such-flavor] not found"
    assert member.compute("GET", "/flavors", params={"limit": -1}).status_code == 400
    assert member.compute("GET", "/flavors", params={"limit": "x"}).status_code == 400


def test_sorting(member: ApiSession) -> None:
    params = {"sort_key": "memory_mb", "sort_dir": "desc"}
    rams = [f["ram"] for f in
            member.compute("GET", "/flavors/detail", params=params).json()["flavors"]]
    assert rams == sorted(rams, reverse=True)
    bad = member.compute("GET", "/flavors", params={"sort_key": "colour"})
    assert bad.status_code == 400


def test_unknown_query_parameters_refused_from_2_75(member: ApiSession) -> None:
    assert member.compute("GET", "/flavors", params={"colour": "red"},
                          version="2.74").status_code == 200
    response = member.compute("GET", "/flavors", params={"colour": "red"}, version="2.75")
    assert response.status_code == 400
    assert "colour" in response.json()["badRequest"]["message"]


def test_unknown_flavor_is_404(member: ApiSession) -> None:
    response = member.compute("GET", "/flavors/no-such-flavor")
    assert response.status_code == 404
    assert response.json() == {"itemNotFound": {
        "code": 404, "message": "Flavor no-such-flavor could not be found."}}


def test_member_cannot_manage_flavors(member: ApiSession) -> None:
    response = member.compute("POST", "/flavors", json={"flavor": {
        "name": "nope", "ram": 64, "vcpus": 1, "disk": 0}})
    assert response.status_code == 403
    assert response.json()["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.")
    assert member.compute("DELETE", "/flavors/1").status_code == 403


def test_admin_create_show_delete(admin: ApiSession) -> None:
    name = f"conf-{uuid.uuid4().hex[:8]}"
    body = {"flavor": {"name": name, "ram": "256", "vcpus": 2, "disk": 3, "id": 9876543,
                       "swap": 16, "OS-FLV-EXT-DATA:ephemeral": 1, "rxtx_factor": 2.5,
                       "description": "made by a test"}}
    response = admin.compute("POST", "/flavors", json=body, version="2.55")
    created = validate(response, for_version(FlavorsClient, "2.55")
                       .create_update_get_flavor_details)["flavor"]
    try:
        assert created["id"] == "9876543" and created["ram"] == 256
        assert created["swap"] == 16 and created["rxtx_factor"] == 2.5
        assert created["description"] == "made by a test"
        duplicate = admin.compute("POST", "/flavors", json=body, version="2.55")
        assert duplicate.status_code == 409
        assert duplicate.json()["conflictingRequest"]["message"] == (
            "Flavor with ID 9876543 already exists.")
        body["flavor"]["id"] = "another-id"
        same_name = admin.compute("POST", "/flavors", json=body, version="2.55")
        assert same_name.status_code == 409
        assert same_name.json()["conflictingRequest"]["message"] == (
            f"Flavor with name {name} already exists.")
    finally:
        deleted = admin.compute("DELETE", "/flavors/9876543")
    assert deleted.status_code == 202
    assert admin.compute("GET", "/flavors/9876543").status_code == 404
    assert admin.compute("DELETE", "/flavors/9876543").status_code == 404


def test_generated_id_is_a_uuid(admin: ApiSession) -> None:
    response = admin.compute("POST", "/flavors", json={"flavor": {
        "name": f"conf-{uuid.uuid4().hex[:8]}", "ram": 64, "vcpus": 1, "disk": 0}})
    flavor_id = response.json()["flavor"]["id"]
    try:
        assert str(uuid.UUID(flavor_id)) == flavor_id
    finally:
        admin.compute("DELETE", f"/flavors/{flavor_id}")


@pytest.mark.parametrize("flavor, fragment", [
    ({"name": "x", "ram": 0, "vcpus": 1, "disk": 0}, "ram"),
    ({"name": "x", "ram": "lots", "vcpus": 1, "disk": 0}, "ram"),
    ({"name": "x", "ram": 64, "vcpus": -1, "disk": 0}, "vcpus"),
    ({"name": "x", "ram": 64, "vcpus": 1, "disk": -5}, "disk"),
    ({"name": "x", "ram": 64, "vcpus": 1}, "'disk' is a required property"),
    ({"name": "x" * 256, "ram": 64, "vcpus": 1, "disk": 0}, "name"),
    ({"name": " padded", "ram": 64, "vcpus": 1, "disk": 0}, "printable characters"),
    ({"name": "x", "ram": 64, "vcpus": 1, "disk": 0, "colour": "red"}, "colour"),
    ({"name": "x", "ram": 2**31, "vcpus": 1, "disk": 0}, "ram"),
    ({"name": "x", "ram": 64, "vcpus": 1, "disk": 0, "id": " bad id"}, "id"),
])
def test_bad_flavor_bodies_are_400(admin: ApiSession, flavor: dict[str, Any],
                                   fragment: str) -> None:
    response = admin.compute("POST", "/flavors", json={"flavor": flavor})
    assert response.status_code == 400, response.text
    assert fragment in response.json()["badRequest"]["message"]


def test_description_update_needs_2_55(admin: ApiSession, private_flavor: dict[str, Any]) -> None:
    flavor_id = private_flavor["id"]
    body = {"flavor": {"description": "updated"}}
    assert admin.compute("PUT", f"/flavors/{flavor_id}", json=body).status_code == 404
    response = admin.compute("PUT", f"/flavors/{flavor_id}", json=body, version="2.55")
    validate(response, for_version(FlavorsClient, "2.55").create_update_get_flavor_details)
    assert response.json()["flavor"]["description"] == "updated"
    bad = admin.compute("PUT", f"/flavors/{flavor_id}", json={"flavor": {"name": "x"}},
                        version="2.55")
    assert bad.status_code == 400


def test_private_flavor_is_invisible_until_shared(
    admin: ApiSession, member: ApiSession, private_flavor: dict[str, Any]
) -> None:
    flavor_id = private_flavor["id"]
    assert member.compute("GET", f"/flavors/{flavor_id}").status_code == 404
    listed = [f["id"] for f in member.compute("GET", "/flavors").json()["flavors"]]
    assert flavor_id not in listed
    admin_public = [f["id"] for f in admin.compute("GET", "/flavors").json()["flavors"]]
    assert flavor_id not in admin_public
    admin_all = admin.compute("GET", "/flavors", params={"is_public": "None"}).json()
    assert flavor_id in [f["id"] for f in admin_all["flavors"]]
    admin_private = admin.compute("GET", "/flavors/detail",
                                  params={"is_public": "false"}).json()["flavors"]
    assert flavor_id in [f["id"] for f in admin_private]
    assert all(f["os-flavor-access:is_public"] is False for f in admin_private)
    bad_filter = admin.compute("GET", "/flavors", params={"is_public": "maybe"})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["badRequest"]["message"] == "Invalid is_public filter [maybe]"

    add = admin.compute("POST", f"/flavors/{flavor_id}/action",
                        json={"addTenantAccess": {"tenant": member.project_id}})
    body = validate(add, access_schema.add_remove_list_flavor_access)
    assert body["flavor_access"] == [{"flavor_id": flavor_id, "tenant_id": member.project_id}]
    assert member.compute("GET", f"/flavors/{flavor_id}").status_code == 200
    listed = [f["id"] for f in member.compute("GET", "/flavors").json()["flavors"]]
    assert flavor_id in listed
    again = admin.compute("POST", f"/flavors/{flavor_id}/action",
                          json={"addTenantAccess": {"tenant": member.project_id}})
    assert again.status_code == 409
    access = admin.compute("GET", f"/flavors/{flavor_id}/os-flavor-access")
    validate(access, access_schema.add_remove_list_flavor_access)

    remove = admin.compute("POST", f"/flavors/{flavor_id}/action",
                           json={"removeTenantAccess": {"tenant": member.project_id}})
    assert validate(remove, access_schema.add_remove_list_flavor_access) == {
        "flavor_access": []}
    assert member.compute("GET", f"/flavors/{flavor_id}").status_code == 404


def test_access_rules(admin: ApiSession, member: ApiSession) -> None:
    public = admin.compute("GET", "/flavors/1/os-flavor-access")
    assert public.status_code == 404
    assert public.json()["itemNotFound"]["message"] == (
        "Access list not available for public flavors.")
    at_27 = admin.compute("POST", "/flavors/1/action", version="2.7",
                          json={"addTenantAccess": {"tenant": member.project_id}})
    assert at_27.status_code == 409
    unknown_project = admin.compute("POST", "/flavors/1/action",
                                    json={"addTenantAccess": {"tenant": "no-such-project"}})
    assert unknown_project.status_code == 400
    denied = member.compute("POST", "/flavors/1/action",
                            json={"addTenantAccess": {"tenant": member.project_id}})
    assert denied.status_code == 403


@pytest.mark.parametrize("body, message", [
    ({"nosuchAction": {}}, "There is no such action: nosuchAction"),
    ({"addTenantAccess": {"tenant": "a"}, "removeTenantAccess": {"tenant": "a"}},
     "Malformed request body"),
    ({}, "Malformed request body"),
])
def test_bad_actions_are_400(admin: ApiSession, body: dict[str, Any], message: str) -> None:
    response = admin.compute("POST", "/flavors/1/action", json=body)
    assert response.status_code == 400
    assert response.json()["badRequest"]["message"] == message


def test_extra_specs_crud(admin: ApiSession, member: ApiSession,
                          private_flavor: dict[str, Any]) -> None:
    base = f"/flavors/{private_flavor['id']}/os-extra_specs"
    created = admin.compute("POST", base, json={"extra_specs": {"hw:cpu_policy": "dedicated"}})
    validate(created, specs_schema.set_get_flavor_extra_specs)
    # NOTE: numbers are accepted and stored as strings (Nova echoes the body as sent).
    number = admin.compute("POST", base, json={"extra_specs": {"quota:disk_read_iops_sec": 100}})
    assert number.status_code == 200
    assert number.json() == {"extra_specs": {"quota:disk_read_iops_sec": 100}}
    listed = validate(admin.compute("GET", base), specs_schema.set_get_flavor_extra_specs)
    assert listed["extra_specs"] == {"hw:cpu_policy": "dedicated",
                                     "quota:disk_read_iops_sec": "100"}
    one = admin.compute("GET", f"{base}/hw:cpu_policy")
    assert validate(one, specs_schema.set_get_flavor_extra_specs_key) == {
        "hw:cpu_policy": "dedicated"}
    updated = admin.compute("PUT", f"{base}/hw:cpu_policy", json={"hw:cpu_policy": "shared"})
    validate(updated, specs_schema.set_get_flavor_extra_specs_key)
    mismatch = admin.compute("PUT", f"{base}/hw:cpu_policy", json={"other": "x"})
    assert mismatch.status_code == 400
    assert mismatch.json()["badRequest"]["message"] == "Request body and URI mismatch"
    shown = admin.compute("GET", f"/flavors/{private_flavor['id']}", version="2.61").json()
    assert shown["flavor"]["extra_specs"]["hw:cpu_policy"] == "shared"
    assert member.compute("POST", "/flavors/1/os-extra_specs",
                          json={"extra_specs": {"a": "b"}}).status_code == 403
    deleted = admin.compute("DELETE", f"{base}/hw:cpu_policy")
    assert deleted.status_code == 200
    missing = admin.compute("GET", f"{base}/hw:cpu_policy")
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == (
        f"Flavor {private_flavor['id']} has no extra specs with key hw:cpu_policy.")


def test_project_id_in_url(member: ApiSession, alt: ApiSession) -> None:
    with_project = member.compute("GET", f"/{member.project_id}/flavors")
    assert with_project.status_code == 200
    link = with_project.json()["flavors"][0]["links"][0]["href"]
    assert f"/v2.1/{member.project_id}/flavors/" in link
    wrong = member.compute("GET", f"/{alt.project_id}/flavors")
    assert wrong.status_code == 400
    assert wrong.json()["badRequest"]["message"] == (
        f"Malformed request URL: URL's project_id '{alt.project_id}' doesn't match "
        f"Context's project_id '{member.project_id}'")


def test_openstacksdk_flavors(conn: Any) -> None:
    flavors = list(conn.compute.flavors())
    names = {f.name for f in flavors}
    assert "m1.tiny" in names
    tiny = conn.compute.find_flavor("m1.tiny")
    assert tiny is not None and tiny.ram == 512 and tiny.vcpus == 1


def test_openstack_cli_flavors(admin: ApiSession, member: ApiSession) -> None:
    listed = openstack_json(member.account, "flavor", "list")
    assert "m1.tiny" in {f["Name"] for f in listed}
    shown = openstack_json(member.account, "flavor", "show", "m1.tiny")
    assert shown["ram"] == 512 and shown["vcpus"] == 1

    name = f"conf-cli-{uuid.uuid4().hex[:8]}"
    created = openstack_json(admin.account, "flavor", "create", "--ram", "128", "--disk", "1",
                             "--vcpus", "1", "--private", "--description", "cli made", name)
    assert created["name"] == name and created["os-flavor-access:is_public"] is False
    try:
        done = run_openstack(admin.account, "flavor", "set", "--property", "hw:cpu_policy=shared",
                             "--project", member.account.project_name, name)
        assert done.returncode == 0, done.stderr
        shown = openstack_json(admin.account, "flavor", "show", name)
        assert shown["properties"] == {"hw:cpu_policy": "shared"}
        assert shown["description"] == "cli made"
        assert openstack_json(member.account, "flavor", "show", name)["name"] == name
        denied = run_openstack(member.account, "flavor", "delete", name)
        assert denied.returncode != 0 and "403" in denied.stderr
        assert "os-flavor-manage:delete" in denied.stderr
    finally:
        deleted = run_openstack(admin.account, "flavor", "delete", name)
    assert deleted.returncode == 0, deleted.stderr
    missing = run_openstack(admin.account, "flavor", "show", name)
    assert missing.returncode != 0


def test_unknown_resource_is_404_not_a_project_mismatch(member: ApiSession) -> None:
    """A first segment is a project id only when the rest of the path is a real route."""
    response = member.compute("GET", "/os-no-such-thing/whatever")
    assert response.status_code == 404
    assert response.json() == {
        "itemNotFound": {"code": 404, "message": "The resource could not be found."}}
    nested = member.compute("GET", f"/{member.project_id}/os-no-such-thing")
    assert nested.status_code == 404


@pytest.mark.parametrize("specs, fragment", [
    ({"hw:cpu_policy": "sometimes"}, "'sometimes' is not one of: dedicated, shared, mixed"),
    ({"hw:no_such_spec": "1"}, "does not appear to be a valid extra spec"),
    ({"hw:numa_nodes": "-1"}, "'-1' is less than the min value of '1'"),
])
def test_extra_specs_validated_from_2_86(admin: ApiSession, private_flavor: dict[str, Any],
                                         specs: dict[str, str], fragment: str) -> None:
    base = f"/flavors/{private_flavor['id']}/os-extra_specs"
    before = admin.compute("POST", base, json={"extra_specs": specs}, version="2.85")
    assert before.status_code == 200
    response = admin.compute("POST", base, json={"extra_specs": specs}, version="2.86")
    assert response.status_code == 400, response.text
    assert fragment in response.json()["badRequest"]["message"]
    key = next(iter(specs))
    update = admin.compute("PUT", f"{base}/{key}", json=specs, version="2.86")
    assert update.status_code == 400


def test_unknown_namespaces_and_plain_keys_pass_at_2_86(
    admin: ApiSession, private_flavor: dict[str, Any]
) -> None:
    """From 2.86 Nova checks only the namespaces it knows: other keys are stored as given,
    answered back (Nova returns the request's body) and shown everywhere specs are."""
    flavor_id = private_flavor["id"]
    base = f"/flavors/{flavor_id}/os-extra_specs"
    specs = {"color": "blue", "mycompany:thing": "x", "hw:cpu_policy": "dedicated"}
    response = admin.compute("POST", base, json={"extra_specs": specs}, version="2.86")
    assert validate(response, specs_schema.set_get_flavor_extra_specs) == {"extra_specs": specs}
    listed = admin.compute("GET", base, version="2.86")
    assert validate(listed, specs_schema.set_get_flavor_extra_specs) == {"extra_specs": specs}
    for key, value in specs.items():
        shown = admin.compute("GET", f"{base}/{key}", version="2.86")
        assert validate(shown, specs_schema.set_get_flavor_extra_specs_key) == {key: value}
    schema = _schema("2.86", admin)
    flavor = validate(admin.compute("GET", f"/flavors/{flavor_id}", version="2.86"),
                      schema.create_update_get_flavor_details)["flavor"]
    assert flavor["extra_specs"] == specs
    # The rest of the flavor is as it was made.
    assert {k: flavor[k] for k in ("name", "ram", "vcpus", "disk", "swap", "description",
                                   "os-flavor-access:is_public")} == {
        "name": private_flavor["name"], "ram": 64, "vcpus": 1, "disk": 0, "swap": 0,
        "description": None, "os-flavor-access:is_public": False}
    detail = validate(admin.compute("GET", "/flavors/detail", version="2.86",
                                    params={"is_public": "false"}),
                      schema.list_flavors_details)["flavors"]
    assert [f["extra_specs"] for f in detail if f["id"] == flavor_id] == [specs]
