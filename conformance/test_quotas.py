"""Quotas and absolute limits, as Nova: ``/os-quota-sets`` (show, detail, defaults, update
with and without ``force``, delete; per project and per user), ``/os-quota-class-sets``,
``GET /limits``, and every path that consumes quota refusing with Nova's 403 and creating
nothing.

Each test runs in a project of its own (made through Keystone by the admin, with two
member users), so that usage is what the test made. Servers use ``m1.nano`` and are not
waited for unless an action needs them ACTIVE: they count from their create on, and a
QEMU host stays light. Responses are checked against Tempest's schemas for the version
sent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tempest.lib.services.compute.limits_client import LimitsClient
from tempest.lib.services.compute.quota_classes_client import QuotaClassesClient
from tempest.lib.services.compute.quotas_client import QuotasClient

from conformance.client import Account, ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.schemas import for_version, validate
from conformance.test_servers import image_id, wait_for

__all__ = ["image_id"]  # fixtures this module uses

NANO = "42"  # m1.nano: 1 vCPU, 128 MB
LARGE = "4"  # m1.large: 4 vCPUs, 8192 MB


def fault(response: httpx.Response, status: int) -> str:
    """The message of Nova's fault body, checked to be one (name and code)."""
    assert response.status_code == status, response.text
    names = {400: "badRequest", 403: "forbidden", 404: "itemNotFound"}
    body = response.json()
    assert list(body) == [names[status]], body
    assert body[names[status]]["code"] == status
    return str(body[names[status]]["message"])


def schemas(client: type, version: str | None) -> Any:
    return for_version(client, None if version in (None, "2.1") else version)


@dataclass
class Tenant:
    """A project of the test's own, its two member users, and its admin."""

    project_id: str
    user: ApiSession
    other: ApiSession
    admin: ApiSession
    image: str

    def boot(self, session: ApiSession | None = None, count: int = 1,
             min_count: int | None = None, flavor: str = NANO) -> httpx.Response:
        server: dict[str, Any] = {"name": f"q-{uuid.uuid4().hex[:8]}", "imageRef": self.image,
                                  "flavorRef": flavor, "max_count": count,
                                  "min_count": count if min_count is None else min_count}
        return (session or self.user).compute("POST", "/servers", json={"server": server})

    def servers(self) -> list[dict[str, Any]]:
        listed = self.admin.compute("GET", "/servers/detail", params={
            "all_tenants": "1", "project_id": self.project_id})
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()["servers"]
        return found

    def set(self, user_id: str | None = None, version: str | None = None,
            **limits: Any) -> httpx.Response:
        params = {"user_id": user_id} if user_id else None
        return self.admin.compute("PUT", f"/os-quota-sets/{self.project_id}", params=params,
                                  json={"quota_set": limits}, version=version)

    def limits(self, session: ApiSession | None = None,
               version: str | None = None) -> dict[str, Any]:
        response = (session or self.user).compute("GET", "/limits", version=version)
        body = validate(response, schemas(LimitsClient, version).get_limit)
        return body["limits"]  # type: ignore[no-any-return]

    def clear(self) -> None:
        """Delete the project's servers and its quotas (between tests)."""
        for server in self.servers():
            self.admin.compute("DELETE", f"/servers/{server['id']}")
        deadline = time.monotonic() + 120
        while self.servers():
            assert time.monotonic() < deadline, "servers not deleted"
            time.sleep(0.1)
        for session in (self.user, self.other):
            self.admin.compute("DELETE", f"/os-quota-sets/{self.project_id}",
                               params={"user_id": session.user_id})
        self.admin.compute("DELETE", f"/os-quota-sets/{self.project_id}")


def _make(admin: ApiSession, path: str, key: str, entity: dict[str, Any]) -> str:
    response = admin.identity("POST", path, json={key: entity})
    assert response.status_code == 201, response.text
    return str(response.json()[key]["id"])


@pytest.fixture(scope="module")
def project(admin: ApiSession, http: httpx.Client, image_id: str) -> Iterator[Tenant]:
    tag = uuid.uuid4().hex[:8]
    project_name = f"quota-{tag}"
    project_id = _make(admin, "/projects", "project", {"name": project_name})
    roles = admin.identity("GET", "/roles", params={"name": "member"}).json()["roles"]
    sessions, users = [], []
    for name in (f"quota-a-{tag}", f"quota-b-{tag}"):
        user_id = _make(admin, "/users", "user", {"name": name, "password": "pw"})
        users.append(user_id)
        granted = admin.identity(
            "PUT", f"/projects/{project_id}/users/{user_id}/roles/{roles[0]['id']}")
        assert granted.status_code == 204, granted.text
        account = Account(auth_url=admin.account.auth_url, username=name, password="pw",
                          project_name=project_name)
        sessions.append(ApiSession(account, http))
    tenant = Tenant(project_id, sessions[0], sessions[1], admin, image_id)
    yield tenant
    tenant.clear()
    for user_id in users:
        admin.identity("DELETE", f"/users/{user_id}")
    admin.identity("DELETE", f"/projects/{project_id}")


@pytest.fixture
def tenant(project: Tenant) -> Iterator[Tenant]:
    yield project
    project.clear()


# -- consuming paths -------------------------------------------------------------------------


def test_the_eleventh_server_is_refused_and_nothing_is_created(tenant: Tenant) -> None:
    assert tenant.boot(count=10).status_code == 202
    # Read-your-writes: the usage shows the servers the create just recorded.
    assert tenant.limits()["absolute"]["totalInstancesUsed"] == 10
    refused = tenant.boot()
    assert fault(refused, 403) == (
        "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances")
    assert len(tenant.servers()) == 10


def test_a_multi_create_over_quota_takes_as_many_as_fit(tenant: Tenant) -> None:
    assert tenant.set(instances=3).status_code == 200
    made = tenant.boot(count=5, min_count=2)
    assert made.status_code == 202, made.text
    assert len(tenant.servers()) == 3
    assert fault(tenant.boot(count=5, min_count=2), 403) == (
        "Quota exceeded for instances: Requested 2-5, but already used 3 of 3 instances")
    assert len(tenant.servers()) == 3


def test_cores_and_ram_are_counted_together(tenant: Tenant) -> None:
    assert tenant.set(cores=4, ram=8192).status_code == 200
    assert fault(tenant.boot(count=2, flavor=LARGE), 403) == (
        "Quota exceeded for cores, ram: Requested 8, 16384, but already used 0, 0 of 4, 8192 "
        "cores, ram")
    assert tenant.servers() == []


def test_a_resize_over_the_cores_quota_is_refused(tenant: Tenant) -> None:
    assert tenant.set(cores=2).status_code == 200
    made = tenant.boot()
    assert made.status_code == 202, made.text
    server = wait_for(tenant.user, made.json()["server"]["id"], "ACTIVE")
    resized = tenant.user.compute("POST", f"/servers/{server['id']}/action",
                                  json={"resize": {"flavorRef": LARGE}})
    assert fault(resized, 403) == (
        "Quota exceeded for cores: Requested 3, but already used 1 of 2 cores")
    shown = tenant.user.compute("GET", f"/servers/{server['id']}").json()["server"]
    assert (shown["status"], shown["flavor"]["id"]) == ("ACTIVE", NANO)


def test_a_users_quota_limits_that_user_only(tenant: Tenant) -> None:
    user_id = tenant.user.user_id
    assert tenant.set(user_id=user_id, instances=1).status_code == 200
    shown = tenant.admin.compute("GET", f"/os-quota-sets/{tenant.project_id}",
                                 params={"user_id": user_id})
    assert validate(shown, schemas(QuotasClient, None).get_quota_set)["quota_set"][
        "instances"] == 1
    assert tenant.boot().status_code == 202
    assert fault(tenant.boot(), 403) == (
        "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances")
    assert tenant.boot(tenant.other, count=2).status_code == 202
    detail = tenant.admin.compute("GET", f"/os-quota-sets/{tenant.project_id}/detail",
                                  params={"user_id": user_id})
    body = validate(detail, schemas(QuotasClient, None).get_quota_set_details)["quota_set"]
    assert body["instances"] == {"in_use": 1, "limit": 1, "reserved": 0}
    project = tenant.admin.compute("GET", f"/os-quota-sets/{tenant.project_id}/detail")
    assert project.json()["quota_set"]["instances"] == {"in_use": 3, "limit": 10,
                                                        "reserved": 0}


def test_key_pairs_and_server_groups_count_against_their_quotas(tenant: Tenant) -> None:
    assert tenant.set(key_pairs=0, server_groups=0).status_code == 200
    key = tenant.user.compute("POST", "/os-keypairs", json={"keypair": {"name": "k"}})
    assert fault(key, 403) == "Quota exceeded, too many key pairs."
    group = tenant.user.compute("POST", "/os-server-groups", json={
        "server_group": {"name": "g", "policies": ["affinity"]}})
    assert fault(group, 403) == "Quota exceeded, too many server groups."


def test_metadata_items_quota(tenant: Tenant) -> None:
    assert tenant.set(metadata_items=1).status_code == 200
    server = {"name": "meta", "imageRef": tenant.image, "flavorRef": NANO,
              "metadata": {"a": "1", "b": "2"}}
    refused = tenant.user.compute("POST", "/servers", json={"server": server})
    assert fault(refused, 403) == "Maximum number of metadata items exceeds 1"
    assert tenant.servers() == []


@pytest.mark.parametrize(("limits", "files", "message"), [
    ({"injected_files": 1}, [("/a", "YQ=="), ("/b", "Yg==")],
     "Personality file limit exceeded"),
    ({"injected_file_path_bytes": 3}, [("/abcd", "YQ==")],
     "Personality file path exceeds maximum 3"),
    ({"injected_file_content_bytes": 3}, [("/a", "YWFh")],
     "Personality file content exceeds maximum 3"),
])
def test_personality_files_count_against_their_quotas(
        tenant: Tenant, limits: dict[str, int], files: list[tuple[str, str]],
        message: str) -> None:
    assert tenant.set(**limits).status_code == 200
    server = {"name": "files", "imageRef": tenant.image, "flavorRef": NANO,
              "networks": "none",
              "personality": [{"path": path, "contents": data} for path, data in files]}
    refused = tenant.user.compute("POST", "/servers", json={"server": server}, version="2.56")
    assert fault(refused, 403) == message
    assert tenant.servers() == []


def test_image_metadata_counts_against_the_quota_until_2_39(tenant: Tenant) -> None:
    assert tenant.set(metadata_items=1).status_code == 200
    made = tenant.boot()
    assert made.status_code == 202, made.text
    server = wait_for(tenant.user, made.json()["server"]["id"], "ACTIVE")
    body = {"createImage": {"name": "snap", "metadata": {"a": "1", "b": "2"}}}
    action = f"/servers/{server['id']}/action"
    refused = tenant.user.compute("POST", action, json=body, version="2.38")
    assert fault(refused, 403) == "Image metadata limit exceeded"


# -- os-quota-sets ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.1", "2.36", "2.57"])
def test_show_defaults_and_update_by_microversion(tenant: Tenant, version: str) -> None:
    schema = schemas(QuotasClient, None if version == "2.1" else version)
    base = f"/os-quota-sets/{tenant.project_id}"
    shown = validate(tenant.user.compute("GET", base, version=version),
                     schema.get_quota_set)["quota_set"]
    defaults = validate(tenant.user.compute("GET", f"{base}/defaults", version=version),
                        schema.get_quota_set)["quota_set"]
    assert shown == defaults
    assert shown["id"] == tenant.project_id
    assert (shown["instances"], shown["cores"], shown["ram"]) == (10, 20, 51200)
    assert ("fixed_ips" in shown) == (version == "2.1")
    assert ("injected_files" in shown) == (version != "2.57")
    updated = validate(tenant.set(version=version, instances="12", cores=30),
                       schema.update_quota_set)["quota_set"]
    assert "id" not in updated
    assert (updated["instances"], updated["cores"]) == (12, 30)
    detail = validate(tenant.user.compute("GET", f"{base}/detail", version=version),
                      schema.get_quota_set_details)["quota_set"]
    assert detail["instances"] == {"in_use": 0, "limit": 12, "reserved": 0}


def test_network_fields_are_refused_from_2_36(tenant: Tenant) -> None:
    assert tenant.set(version="2.35", floating_ips=5).status_code == 200
    refused = tenant.set(version="2.36", floating_ips=5)
    assert "Additional properties are not allowed" in fault(refused, 400)
    assert "Additional properties" in fault(tenant.set(version="2.57", injected_files=5), 400)


def test_a_limit_below_usage_needs_force(tenant: Tenant) -> None:
    assert tenant.boot(count=2).status_code == 202
    assert fault(tenant.set(instances=1), 400) == (
        "Quota limit 1 for instances must be greater than or equal to already used and "
        "reserved 2.")
    forced = tenant.set(instances=1, force=True)
    assert forced.status_code == 200, forced.text
    assert forced.json()["quota_set"]["instances"] == 1


@pytest.mark.parametrize("value", [-2, "ten", 2**31, None])
def test_bad_values_are_refused(tenant: Tenant, value: Any) -> None:
    assert fault(tenant.set(instances=value), 400).startswith(
        "Invalid input for field/attribute instances.")


def test_updates_and_deletes_are_for_admins(tenant: Tenant) -> None:
    base = f"/os-quota-sets/{tenant.project_id}"
    updated = tenant.user.compute("PUT", base, json={"quota_set": {"instances": 50}})
    assert fault(updated, 403) == (
        "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed.")
    assert fault(tenant.user.compute("DELETE", base), 403) == (
        "Policy doesn't allow os_compute_api:os-quota-sets:delete to be performed.")
    other = tenant.user.compute("GET", f"/os-quota-sets/{tenant.admin.project_id}")
    assert fault(other, 403) == (
        "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.")


def test_delete_goes_back_to_the_defaults(tenant: Tenant) -> None:
    base = f"/os-quota-sets/{tenant.project_id}"
    assert tenant.set(ram=5120).status_code == 200
    deleted = tenant.admin.compute("DELETE", base)
    assert deleted.status_code == 202 and deleted.content == b""
    assert tenant.admin.compute("GET", base).json()["quota_set"]["ram"] == 51200


def test_an_unknown_project_is_a_400(admin: ApiSession) -> None:
    unknown = uuid.uuid4().hex
    assert fault(admin.compute("GET", f"/os-quota-sets/{unknown}"), 400) == (
        f"Project ID {unknown} is not a valid project.")


def test_unknown_query_parameters_are_refused_from_2_75(tenant: Tenant) -> None:
    base = f"/os-quota-sets/{tenant.project_id}"
    assert tenant.user.compute("GET", base, params={"foo": "1"}, version="2.74").status_code \
        == 200
    refused = tenant.user.compute("GET", base, params={"foo": "1"}, version="2.75")
    assert "Additional properties are not allowed" in fault(refused, 400)


# -- os-quota-class-sets ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.1", "2.50", "2.57"])
def test_quota_class_default_by_microversion(admin: ApiSession, version: str) -> None:
    schema = schemas(QuotaClassesClient, None if version == "2.1" else version)
    shown = validate(admin.compute("GET", "/os-quota-class-sets/default", version=version),
                     schema.get_quota_class_set)["quota_class_set"]
    assert shown["id"] == "default"
    assert ("server_groups" in shown) == (version != "2.1")
    assert ("fixed_ips" in shown) == (version == "2.1")
    assert ("injected_files" in shown) == (version != "2.57")


def test_the_default_class_sets_every_projects_defaults(tenant: Tenant) -> None:
    admin = tenant.admin
    before = admin.compute("GET", "/os-quota-class-sets/default").json()["quota_class_set"]
    try:
        updated = admin.compute("PUT", "/os-quota-class-sets/default",
                                json={"quota_class_set": {"instances": 11}})
        body = validate(updated, schemas(QuotaClassesClient, None).update_quota_class_set)
        assert body["quota_class_set"]["instances"] == 11
        shown = tenant.user.compute("GET", f"/os-quota-sets/{tenant.project_id}/defaults")
        assert shown.json()["quota_set"]["instances"] == 11
    finally:
        admin.compute("PUT", "/os-quota-class-sets/default",
                      json={"quota_class_set": {"instances": before["instances"]}})
    refused = tenant.user.compute("GET", "/os-quota-class-sets/default")
    assert fault(refused, 403) == (
        "Policy doesn't allow os_compute_api:os-quota-class-sets:show to be performed.")


# -- /limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.1", "2.36", "2.39", "2.57"])
def test_limits_by_microversion(tenant: Tenant, version: str) -> None:
    limits = tenant.limits(version=version)
    absolute = limits["absolute"]
    assert limits["rate"] == []
    assert (absolute["maxTotalInstances"], absolute["maxTotalCores"],
            absolute["maxTotalRAMSize"]) == (10, 20, 51200)
    assert ("maxSecurityGroups" in absolute) == (version == "2.1")
    assert ("maxImageMeta" in absolute) == (version in ("2.1", "2.36"))
    assert ("maxPersonality" in absolute) == (version != "2.57")


def test_limits_show_usage_and_another_project_for_admins(tenant: Tenant) -> None:
    assert tenant.boot(count=2).status_code == 202
    absolute = tenant.limits()["absolute"]
    assert (absolute["totalInstancesUsed"], absolute["totalCoresUsed"],
            absolute["totalRAMUsed"]) == (2, 2, 256)
    seen = tenant.admin.compute("GET", "/limits", params={"tenant_id": tenant.project_id})
    assert seen.json()["limits"]["absolute"]["totalInstancesUsed"] == 2
    refused = tenant.user.compute("GET", "/limits", params={"tenant_id": tenant.project_id})
    assert fault(refused, 403) == (
        "Policy doesn't allow os_compute_api:limits:other_project to be performed.")


def test_limits_reserved_is_ignored_until_2_75(tenant: Tenant) -> None:
    kept = tenant.user.compute("GET", "/limits", params={"reserved": "1"}, version="2.74")
    assert kept.status_code == 200, kept.text
    refused = tenant.user.compute("GET", "/limits", params={"reserved": "1"}, version="2.75")
    assert "Additional properties are not allowed" in fault(refused, 400)


@pytest.mark.emulator_only
def test_the_noop_driver_shows_every_limit_unlimited(target: Target, http: httpx.Client) -> None:
    with dedicated_emulator(target, '[quota]\ndriver = "noop"\n') as process:
        member = ApiSession(seeded_accounts(process.url)["member"], http)
        absolute = member.compute("GET", "/limits").json()["limits"]["absolute"]
        assert set(absolute.values()) == {-1}
        shown = member.compute("GET", f"/os-quota-sets/{member.project_id}").json()
        assert {v for k, v in shown["quota_set"].items() if k != "id"} == {-1}


@pytest.mark.emulator_only
def test_limits_survive_a_restart(target: Target, http: httpx.Client, durable_state: str) -> None:
    with dedicated_emulator(target, state=durable_state) as process:
        admin = ApiSession(seeded_accounts(process.url)["admin"], http)
        member = ApiSession(seeded_accounts(process.url)["member"], http)
        base = f"/os-quota-sets/{member.project_id}"
        assert admin.compute("PUT", base, json={"quota_set": {"instances": 4}},
                             params={"user_id": member.user_id}).status_code == 200
        assert admin.compute("PUT", "/os-quota-class-sets/default",
                             json={"quota_class_set": {"cores": 8}}).status_code == 200
        process.restart()
        admin = ApiSession(seeded_accounts(process.url)["admin"], http)
        shown = admin.compute("GET", base, params={"user_id": member.user_id}).json()
        assert (shown["quota_set"]["instances"], shown["quota_set"]["cores"]) == (4, 8)
