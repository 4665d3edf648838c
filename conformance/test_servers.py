"""Servers (``/servers``): create, the BUILD -> ACTIVE life, every response against Tempest's
schemas per microversion (member and admin), list filters, paging and sorting, update,
delete, tenant isolation, Nova's 400s for bad input, and fuzzing (never a 5xx).

Every server a test makes has a name unique to the run, and list assertions filter on it,
so the tests neither see nor disturb servers made elsewhere in the session.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st
from tempest.lib.api_schema.response.compute.v2_1 import servers as base_schema
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.bios_image import boot_image
from conformance.client import ApiSession
from conformance.conftest import dedicated_emulator, seeded_accounts
from conformance.polling import TIMEOUT, settle
from conformance.schemas import for_version, validate
from conformance.test_fuzz import JSON_VALUES, TEXT, broken, check, encode, fuzz_settings

#: The microversions whose server shapes differ in ways Tempest checks.
SCHEMA_VERSIONS = ["2.1", "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.73", "2.96", "2.100",
                   "latest"]
#: ``emulator.compute.servers.DEFAULT_NETWORK`` (its id is derived from this name).
PRIVATE = "private"
NAME_RULE = ("An invalid 'name' value was provided. The name must be: printable characters. "
             "Can not start or end with whitespace.")
BOOL_RULE = ("'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")
UNKNOWN_UUID = "8d8d5b5d-1a53-4bd1-a3d3-3e1c7a6a2c9f"

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")


def unique(prefix: str = "srv") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def needs_networks(version: str | None) -> bool:
    if version in (None, "latest"):
        return version == "latest"
    major, minor = (int(p) for p in version.split("."))
    return (major, minor) >= (2, 37)


def latest(session: ApiSession) -> str:
    return str(session.http.get(f"{session.compute_url}/").json()["version"]["version"])


def message(response: httpx.Response) -> str:
    body = response.json()
    assert len(body) == 1, body
    (inner,) = body.values()
    assert inner["code"] == response.status_code
    return str(inner["message"])


def not_found(server_id: str) -> dict[str, Any]:
    return {"itemNotFound": {"code": 404, "message": f"Instance {server_id} could not be found."}}


@pytest.fixture(scope="module")
def image_id(member: ApiSession, admin: ApiSession, target: Any) -> str:
    return str(boot_image(member, admin, target.backend)["id"])


class Servers:
    """Creates servers (remembering them) and deletes them all at the end."""

    def __init__(self, admin: ApiSession, image: str) -> None:
        self.admin = admin
        self.image = image
        self.made: list[str] = []

    def post(self, session: ApiSession, server: dict[str, Any], version: str | None = None,
             **extra: Any) -> httpx.Response:
        response = session.compute("POST", "/servers", json={"server": server, **extra},
                                   version=version)
        if response.status_code == 202:
            body = response.json()
            if "server" in body:
                self.made.append(body["server"]["id"])
            else:  # return_reservation_id: find them by reservation
                listed = self.admin.compute("GET", "/servers", params={
                    "all_tenants": "1", "reservation_id": body["reservation_id"]})
                self.made += [s["id"] for s in listed.json()["servers"]]
        return response

    def body(self, name: str | None = None, version: str | None = None,
             **fields: Any) -> dict[str, Any]:
        server: dict[str, Any] = {"name": name or unique(), "imageRef": self.image,
                                  "flavorRef": "1"}
        if needs_networks(version):
            server["networks"] = "auto"
        server.update(fields)
        return server

    def boot(self, session: ApiSession, version: str | None = None, wait: bool = True,
             **fields: Any) -> dict[str, Any]:
        """Create one server (202 expected) and, unless told otherwise, wait for ACTIVE."""
        response = self.post(session, self.body(version=version, **fields), version=version)
        assert response.status_code == 202, response.text
        server: dict[str, Any] = response.json()["server"]
        if wait:
            return wait_for(session, server["id"], "ACTIVE")
        return server

    def remove(self) -> None:
        for server_id in self.made:
            self.admin.compute("DELETE", f"/servers/{server_id}")
        for server_id in self.made:
            gone(self.admin, server_id)


def wait_for(session: ApiSession, server_id: str, status: str, version: str = "2.1",
             timeout: float = TIMEOUT) -> dict[str, Any]:
    """Poll until the server shows ``status`` with no task in progress (through any interim
    status: BUILD, REBUILD, ...); an ERROR not asked for fails at once."""
    return settle(session, server_id, status, timeout=timeout, version=version)


def gone(session: ApiSession, server_id: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while session.compute("GET", f"/servers/{server_id}").status_code != 404:
        assert time.monotonic() < deadline, f"{server_id} was not deleted"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def made(admin: ApiSession, image_id: str) -> Iterator[Servers]:
    servers = Servers(admin, image_id)
    yield servers
    servers.remove()


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:
    """Per test: what the test creates is deleted when it ends."""
    created = Servers(admin, image_id)
    yield created
    created.remove()


@pytest.fixture(scope="module")
def server(made: Servers, member: ApiSession) -> dict[str, Any]:
    """One ACTIVE server of the member, made at 2.1 (shared by read-only tests)."""
    return made.boot(member, metadata={"role": "shared"})


# -- create -------------------------------------------------------------------------------


def test_create_answers_202_with_location_and_the_short_body(
        servers: Servers, member: ApiSession) -> None:
    response = servers.post(member, servers.body())
    assert response.status_code == 202, response.text
    validate(response, base_schema.create_server_with_admin_pass)
    server = response.json()["server"]
    assert set(server) == {"id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass"}
    assert uuid.UUID(server["id"])
    links = {link["rel"]: link["href"] for link in server["links"]}
    assert links == {"self": f"{member.compute_url}/servers/{server['id']}",
                     "bookmark": f"{member.compute_root}/servers/{server['id']}"}
    assert response.headers["Location"] == links["self"]
    assert server["OS-DCF:diskConfig"] == "MANUAL"
    assert server["security_groups"] == [{"name": "default"}]
    # nova.utils.generate_password: [DEFAULT] password_length = 12.
    assert isinstance(server["adminPass"], str) and len(server["adminPass"]) == 12


def test_create_echoes_given_password_disk_config_and_groups(
        servers: Servers, member: ApiSession) -> None:
    groups = [{"name": "default"}, {"name": "default"}]
    response = servers.post(member, servers.body(
        adminPass="s3cret-Pass", security_groups=groups, **{"OS-DCF:diskConfig": "AUTO"}))
    assert response.status_code == 202, response.text
    server = response.json()["server"]
    assert server["adminPass"] == "s3cret-Pass"
    assert server["OS-DCF:diskConfig"] == "AUTO"
    # The request's list, as given (duplicates included).
    assert server["security_groups"] == groups
    shown = wait_for(member, server["id"], "ACTIVE")
    assert shown["OS-DCF:diskConfig"] == "AUTO"
    assert shown["security_groups"] == [{"name": "default"}]


#: Each backend's ``config_drive`` of a server that did not ask for one, once built: the
#: QEMU backend forces config drives (Nova's ``force_config_drive``, set there by
#: default), and Nova then records the build's as true (``configdrive.update_instance``).
BUILT_CONFIG_DRIVE = {"simulated": "", "qemu": "True"}


def test_server_goes_from_build_to_active(
        servers: Servers, member: ApiSession, image_id: str, target: Any) -> None:
    name = unique()
    response = servers.post(member, servers.body(name=name, metadata={"k": "v"}))
    server_id = response.json()["server"]["id"]
    first = member.compute("GET", f"/servers/{server_id}").json()["server"]
    assert first["status"] in ("BUILD", "ACTIVE")
    if first["status"] == "BUILD":
        assert first["OS-EXT-STS:vm_state"] == "building"
        assert first["OS-EXT-STS:power_state"] == 0
        assert first["addresses"] == {}
        assert first["progress"] == 0
    active = wait_for(member, server_id, "ACTIVE")
    assert active["name"] == name
    assert active["OS-EXT-STS:vm_state"] == "active"
    assert active["OS-EXT-STS:task_state"] is None
    assert active["OS-EXT-STS:power_state"] == 1
    assert active["OS-SRV-USG:launched_at"] is not None
    assert active["OS-SRV-USG:terminated_at"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", active["OS-SRV-USG:launched_at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", active["created"])
    assert re.fullmatch(r"[0-9a-f]{56}", active["hostId"])
    assert active["tenant_id"] == member.project_id
    assert active["user_id"] == member.user_id
    assert active["metadata"] == {"k": "v"}
    assert active["image"]["id"] == image_id
    assert active["image"]["links"] == [
        {"rel": "bookmark", "href": f"{member.compute_root}/images/{image_id}"}]
    assert active["flavor"] == {"id": "1", "links": [
        {"rel": "bookmark", "href": f"{member.compute_root}/flavors/1"}]}
    assert active["progress"] == 0
    # a real cloud's own force_config_drive is not ours to know
    assert active["config_drive"] == BUILT_CONFIG_DRIVE.get(target.backend, active[
        "config_drive"]) and active["config_drive"] in ("", "True")
    if first["status"] == "BUILD":
        assert first["config_drive"] == ""  # set when the spawn is done
    assert active["key_name"] is None
    assert active["accessIPv4"] == "" and active["accessIPv6"] == ""
    assert active["OS-EXT-AZ:availability_zone"]
    assert active["os-extended-volumes:volumes_attached"] == []
    assert "fault" not in active
    (address,) = active["addresses"][PRIVATE]
    assert address["version"] == 4 and address["OS-EXT-IPS:type"] == "fixed"
    assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", address["OS-EXT-IPS-MAC:mac_addr"])
    # Member views never carry the admin-only attributes.
    assert not [k for k in active if k.startswith("OS-EXT-SRV-ATTR:")]
    assert "host_status" not in active


def test_multi_create_names_each_server_and_returns_the_first(
        servers: Servers, member: ApiSession) -> None:
    name = unique()
    response = servers.post(member, servers.body(name=name, min_count=2, max_count=3))
    assert response.status_code == 202, response.text
    first = response.json()["server"]
    listed = member.compute("GET", "/servers/detail", params={"name": f"^{name}"}).json()
    by_name = {s["name"]: s for s in listed["servers"]}
    assert set(by_name) == {f"{name}-1", f"{name}-2", f"{name}-3"}
    assert by_name[f"{name}-1"]["id"] == first["id"]
    for index in (1, 2, 3):
        shown = wait_for(member, by_name[f"{name}-{index}"]["id"], "ACTIVE", version="2.90")
        assert shown["OS-EXT-SRV-ATTR:hostname"] == f"{name}-{index}"


def test_multi_create_with_return_reservation_id(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    name = unique()
    response = servers.post(member, servers.body(name=name, max_count=2,
                                                 return_reservation_id=True))
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"reservation_id"}
    assert re.fullmatch(r"r-[0-9a-z]{8}", body["reservation_id"])
    assert "Location" not in response.headers
    listed = member.compute("GET", "/servers", params={
        "reservation_id": body["reservation_id"]}).json()["servers"]
    assert sorted(s["name"] for s in listed) == [f"{name}-1", f"{name}-2"]
    for item in listed:
        shown = admin.compute("GET", f"/servers/{item['id']}", version="2.3").json()["server"]
        assert shown["OS-EXT-SRV-ATTR:reservation_id"] == body["reservation_id"]
    launch = sorted(admin.compute("GET", f"/servers/{s['id']}", version="2.3")
                    .json()["server"]["OS-EXT-SRV-ATTR:launch_index"] for s in listed)
    assert launch == [0, 1]


def test_min_count_above_max_count(servers: Servers, member: ApiSession) -> None:
    response = servers.post(member, servers.body(min_count=3, max_count="2"))
    assert response.status_code == 400
    assert message(response) == "min_count must be <= max_count"


def test_description_before_2_19_is_the_name(
        servers: Servers, member: ApiSession) -> None:
    # Nova's create: ``description = name`` unless the request is 2.19 or later.
    old = servers.boot(member)
    assert member.compute("GET", f"/servers/{old['id']}", version="2.19").json()[
        "server"]["description"] == old["name"]
    new = servers.boot(member, version="2.19")
    assert member.compute("GET", f"/servers/{new['id']}", version="2.19").json()[
        "server"]["description"] is None
    described = servers.boot(member, version="2.19", description="a test box")
    assert member.compute("GET", f"/servers/{described['id']}", version="2.19").json()[
        "server"]["description"] == "a test box"


def test_create_fields_by_microversion(servers: Servers, member: ApiSession) -> None:
    tagged = servers.boot(member, version="2.52", tags=["blue", "green"])
    shown = member.compute("GET", f"/servers/{tagged['id']}", version="2.52").json()["server"]
    assert sorted(shown["tags"]) == ["blue", "green"]

    trusted = servers.boot(member, version="2.63", trusted_image_certificates=["cert-a"])
    shown = member.compute("GET", f"/servers/{trusted['id']}", version="2.63").json()["server"]
    assert shown["trusted_image_certificates"] == ["cert-a"]
    plain = member.compute("GET", f"/servers/{tagged['id']}", version="2.63").json()["server"]
    assert plain["trusted_image_certificates"] is None

    named = servers.boot(member, version="2.90", hostname="my-box")
    shown = member.compute("GET", f"/servers/{named['id']}", version="2.90").json()["server"]
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "my-box"

    hinted = servers.boot(member, version="2.100", wait=False, name=unique())
    shown = member.compute("GET", f"/servers/{hinted['id']}", version="2.100").json()["server"]
    assert shown["scheduler_hints"] == {}
    response = servers.post(member, servers.body(version="2.100"), version="2.100",
                            **{"os:scheduler_hints": {"same_host": [hinted["id"]]}})
    assert response.status_code == 202, response.text
    shown = member.compute("GET", f"/servers/{response.json()['server']['id']}",
                           version="2.100").json()["server"]
    assert shown["scheduler_hints"] == {"same_host": [hinted["id"]]}


def test_legacy_fields_and_block_devices(servers: Servers, member: ApiSession,
                                         image_id: str) -> None:
    personal = servers.boot(member, personality=[{"path": "/etc/motd",
                                                  "contents": "aGVsbG8="}])
    assert personal["status"] == "ACTIVE"
    mapped = servers.boot(member, block_device_mapping_v2=[{
        "boot_index": 0, "uuid": image_id, "source_type": "image",
        "destination_type": "local", "delete_on_termination": True}])
    assert mapped["image"]["id"] == image_id
    response = servers.post(member, servers.body(version="2.100"), version="2.100",
                            **{"OS-SCH-HNT:scheduler_hints": {"build_near_host_ip": "10.0.0.1",
                                                              "cidr": "/24"}})
    assert response.status_code == 202, response.text
    shown = member.compute("GET", f"/servers/{response.json()['server']['id']}",
                           version="2.100").json()["server"]
    assert shown["scheduler_hints"] == {"build_near_host_ip": "10.0.0.1", "cidr": "/24"}
    response = servers.post(member, servers.body(
        block_device_mapping=[{"volume_id": UNKNOWN_UUID}],
        block_device_mapping_v2=[{"boot_index": 0, "uuid": image_id,
                                  "source_type": "image"}]))
    assert response.status_code == 400
    assert message(response) == ("Using different block_device_mapping syntaxes is not "
                                 "allowed in the same request.")


def test_fields_refused_before_their_microversion(servers: Servers, member: ApiSession) -> None:
    for version, field, value in (("2.18", "description", "d"), ("2.51", "tags", ["a"]),
                                  ("2.62", "trusted_image_certificates", ["a"]),
                                  ("2.73", "host", "h"), ("2.89", "hostname", "h1")):
        response = servers.post(member, servers.body(version=version, **{field: value}),
                                version=version)
        assert response.status_code == 400, (version, field)
        assert message(response).endswith(
            f"Additional properties are not allowed ('{field}' was unexpected)")


def test_hostname_is_sanitized_from_the_name(servers: Servers, member: ApiSession) -> None:
    # nova.utils.sanitize_hostname: spaces, underscores and dots become hyphens, other
    # punctuation goes, lower case, no leading/trailing hyphens or dots.
    made = servers.boot(member, name="My_Web.Server 01!")
    shown = member.compute("GET", f"/servers/{made['id']}", version="2.90").json()["server"]
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "my-web-server-01"


def test_networks_auto_none_and_the_private_network(
        servers: Servers, member: ApiSession) -> None:
    auto = servers.boot(member, version="2.37", networks="auto")
    assert [a["version"] for a in auto["addresses"][PRIVATE]] == [4]
    none = servers.boot(member, version="2.37", networks="none")
    assert none["addresses"] == {}

    from emulator.compute.addresses import DEFAULT_NETWORK_ID

    explicit = servers.boot(member, version="2.37", networks=[{"uuid": DEFAULT_NETWORK_ID}])
    assert list(explicit["addresses"]) == [PRIVATE]
    legacy = servers.boot(member, networks=[{"uuid": DEFAULT_NETWORK_ID}])
    assert list(legacy["addresses"]) == [PRIVATE]


def test_networks_are_required_from_2_37(servers: Servers, member: ApiSession) -> None:
    body = servers.body()
    response = servers.post(member, body, version="2.37")
    assert response.status_code == 400
    assert message(response) == (
        f"Invalid input for field/attribute server. Value: {body}. "
        "'networks' is a required property")
    assert servers.post(member, servers.body(), version="2.36").status_code == 202


def test_host_and_hypervisor_hostname_are_admin_only(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    hosts = admin.compute("GET", "/os-availability-zone/detail").json()
    host = sorted(h for zone in hosts["availabilityZoneInfo"] if zone["hosts"]
                  for h in zone["hosts"] if zone["zoneName"] != "internal")[0]
    response = servers.post(member, servers.body(version="2.74", host=host), version="2.74")
    assert response.status_code == 403
    assert message(response) == (
        "Policy doesn't allow compute:servers:create:requested_destination to be performed.")
    placed = servers.boot(admin, version="2.74", host=host, hypervisor_hostname=host)
    shown = admin.compute("GET", f"/servers/{placed['id']}").json()["server"]
    assert shown["OS-EXT-SRV-ATTR:host"] == host
    assert shown["OS-EXT-SRV-ATTR:hypervisor_hostname"] == host
    response = servers.post(admin, servers.body(version="2.74", host="no-such-host"),
                            version="2.74")
    assert response.status_code == 400
    assert message(response) == "Compute host no-such-host could not be found."
    zone = shown["OS-EXT-AZ:availability_zone"]
    response = servers.post(admin, servers.body(version="2.74", host=host,
                                                availability_zone=f"{zone}:{host}"),
                            version="2.74")
    assert response.status_code == 400
    assert message(response) == ("One mechanism with host and/or hypervisor_hostname and "
                                 "another mechanism with zone:host:node are mutually exclusive.")


def test_forced_host_in_the_zone_is_admin_only(
        servers: Servers, member: ApiSession, admin: ApiSession, server: dict[str, Any]) -> None:
    shown = admin.compute("GET", f"/servers/{server['id']}").json()["server"]
    zone, host = shown["OS-EXT-AZ:availability_zone"], shown["OS-EXT-SRV-ATTR:host"]
    response = servers.post(member, servers.body(availability_zone=f"{zone}:{host}"))
    assert response.status_code == 403
    assert message(response) == (
        "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.")
    forced = servers.boot(admin, availability_zone=f"{zone}:{host}")
    assert admin.compute("GET", f"/servers/{forced['id']}").json()[
        "server"]["OS-EXT-SRV-ATTR:host"] == host
    response = servers.post(member, servers.body(availability_zone="a:b:c:d"))
    assert response.status_code == 400
    assert message(response) == "Invalid input received: Unable to parse availability_zone"


def test_availability_zone_is_kept(servers: Servers, member: ApiSession,
                                   server: dict[str, Any]) -> None:
    zone = server["OS-EXT-AZ:availability_zone"]
    placed = servers.boot(member, availability_zone=zone)
    assert placed["OS-EXT-AZ:availability_zone"] == zone
    response = servers.post(member, servers.body(availability_zone="no-such-zone"))
    assert response.status_code == 400
    assert message(response) == "The requested availability zone is not available"


def test_key_name_is_shown(servers: Servers, member: ApiSession) -> None:
    name = unique("key")
    created = member.compute("POST", "/os-keypairs", json={"keypair": {"name": name}})
    assert created.status_code == 200, created.text
    try:
        made = servers.boot(member, key_name=name)
        assert made["key_name"] == name
    finally:
        member.compute("DELETE", f"/os-keypairs/{name}")


def test_config_drive_and_access_ips_and_user_data(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    made = servers.boot(member, config_drive=True, accessIPv4="192.0.2.7",
                        accessIPv6="2001:db8::7", user_data="aGVsbG8=")
    assert made["config_drive"] == "True"
    assert made["accessIPv4"] == "192.0.2.7" and made["accessIPv6"] == "2001:db8::7"
    shown = admin.compute("GET", f"/servers/{made['id']}", version="2.3").json()["server"]
    assert shown["OS-EXT-SRV-ATTR:user_data"] == "aGVsbG8="


# -- every shape against Tempest's schemas ------------------------------------------------


def _schema(version: str, session: ApiSession) -> Any:
    return for_version(ServersClient, latest(session) if version == "latest" else version)


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_responses_validate(version: str, servers: Servers, member: ApiSession,
                            admin: ApiSession) -> None:
    schema = _schema(version, member)
    name = unique()
    response = servers.post(member, servers.body(name=name, version=version), version=version)
    validate(response, base_schema.create_server_with_admin_pass)
    server_id = response.json()["server"]["id"]
    wait_for(member, server_id, "ACTIVE")
    for session, params in ((member, {"name": name}),
                            (admin, {"name": name, "all_tenants": "1"})):
        shown = validate(session.compute("GET", f"/servers/{server_id}", version=version),
                         schema.get_server)["server"]
        listed = validate(session.compute("GET", "/servers", params=params, version=version),
                          schema.list_servers)["servers"]
        assert [s["id"] for s in listed] == [server_id]
        detailed = validate(session.compute("GET", "/servers/detail", params=params,
                                            version=version),
                            schema.list_servers_detail)["servers"]
        assert [s["id"] for s in detailed] == [server_id]
        renamed = f"{name}-x" if session is member else name
        updated = validate(session.compute("PUT", f"/servers/{server_id}", version=version,
                                           json={"server": {"name": renamed}}),
                           schema.update_server)["server"]
        assert updated["name"] == renamed
        extended = {k for k in shown if k.startswith("OS-EXT-SRV-ATTR:")}
        if session is admin:
            assert "OS-EXT-SRV-ATTR:host" in extended
            assert ("host_status" in shown) == (version not in ("2.1", "2.3", "2.9"))
        else:
            assert extended <= {"OS-EXT-SRV-ATTR:hostname"}
            assert "host_status" not in shown
        # The detail item is the show view without server_groups (2.71+).
        assert set(detailed[0]) == set(shown) - {"server_groups"}


@pytest.mark.parametrize("version", ["2.1", "2.16", "2.47", "latest"])
def test_admin_created_server_validates(version: str, servers: Servers,
                                        admin: ApiSession) -> None:
    schema = _schema(version, admin)
    response = servers.post(admin, servers.body(version=version), version=version)
    validate(response, base_schema.create_server_with_admin_pass)
    server_id = response.json()["server"]["id"]
    wait_for(admin, server_id, "ACTIVE")
    shown = validate(admin.compute("GET", f"/servers/{server_id}", version=version),
                     schema.get_server)["server"]
    assert shown["tenant_id"] == admin.project_id


@pytest.fixture(scope="module")
def huge_flavor(admin: ApiSession) -> Iterator[str]:
    response = admin.compute("POST", "/flavors", json={"flavor": {
        "name": unique("huge"), "ram": 64, "vcpus": 1, "disk": 10**7}})
    assert response.status_code == 200, response.text
    flavor_id = str(response.json()["flavor"]["id"])
    yield flavor_id
    admin.compute("DELETE", f"/flavors/{flavor_id}")


@pytest.fixture(scope="module")
def errored(made: Servers, member: ApiSession, huge_flavor: str) -> dict[str, Any]:
    """A member's server no host can take: NoValidHost, ERROR with a fault."""
    response = made.post(member, made.body(flavorRef=huge_flavor))
    assert response.status_code == 202, response.text
    return wait_for(member, response.json()["server"]["id"], "ERROR")


def test_no_valid_host_ends_in_error_with_a_fault(errored: dict[str, Any],
                                                  admin: ApiSession) -> None:
    assert errored["OS-EXT-STS:vm_state"] == "error"
    assert errored["OS-EXT-STS:task_state"] is None
    assert errored["hostId"] == ""
    assert errored["addresses"] == {}
    assert "progress" not in errored
    fault = errored["fault"]
    assert fault["code"] == 500
    # NOTE: nothing fits, so placement returns no candidate: Nova's reason is empty.
    assert fault["message"] == "No valid host was found. "
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fault["created"])
    assert "details" not in fault  # a 500's details are for admins only
    shown = admin.compute("GET", f"/servers/{errored['id']}").json()["server"]
    assert shown["OS-EXT-SRV-ATTR:host"] is None
    assert shown["OS-EXT-SRV-ATTR:hypervisor_hostname"] is None


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_error_server_validates(version: str, errored: dict[str, Any], member: ApiSession,
                                admin: ApiSession) -> None:
    schema = _schema(version, member)
    for session, params in ((member, {"status": "ERROR", "name": errored["name"]}),
                            (admin, {"all_tenants": "", "name": errored["name"]})):
        shown = validate(session.compute("GET", f"/servers/{errored['id']}", version=version),
                         schema.get_server)["server"]
        assert shown["status"] == "ERROR" and shown["fault"]["code"] == 500
        detailed = validate(session.compute("GET", "/servers/detail", params=params,
                                            version=version),
                            schema.list_servers_detail)["servers"]
        assert [s["fault"]["message"] for s in detailed] == [shown["fault"]["message"]]
        if session is admin and version not in ("2.1", "2.3", "2.9"):
            assert shown["host_status"] == ""


def test_update_shape_before_and_from_2_75(server: dict[str, Any], member: ApiSession) -> None:
    path = f"/servers/{server['id']}"
    before = member.compute("PUT", path, version="2.74",
                            json={"server": {"name": server["name"]}}).json()["server"]
    assert set(before) == {
        "accessIPv4", "accessIPv6", "addresses", "created", "flavor", "hostId", "id", "image",
        "links", "metadata", "name", "progress", "status", "tenant_id", "updated", "user_id",
        "OS-DCF:diskConfig", "locked", "description", "tags", "trusted_image_certificates",
        "server_groups", "locked_reason"}
    for items in before["addresses"].values():
        assert all(set(item) == {"addr", "version"} for item in items)
    for version in ("2.75", "2.96", "latest"):
        after = member.compute("PUT", path, version=version,
                               json={"server": {"name": server["name"]}}).json()["server"]
        shown = member.compute("GET", path, version=version).json()["server"]
        assert set(after) == set(shown)


# -- list: filters, sorting, paging -------------------------------------------------------


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["servers"]]


@pytest.fixture(scope="module")
def family(made: Servers, member: ApiSession) -> dict[str, dict[str, Any]]:
    """Three ACTIVE member servers with one name stem, tags and (different) flavors."""
    stem = unique("fam")
    boxes = {}
    for suffix, tags, flavor in (("a", ["red", "blue"], "1"), ("b", ["red"], "42"),
                                 ("c", [], "1")):
        boxes[suffix] = made.boot(member, version="2.52", name=f"{stem}-{suffix}", tags=tags,
                                  flavorRef=flavor)
        time.sleep(0.01)  # distinct created_at
    for box in boxes.values():
        box["stem"] = stem
    return boxes


def test_list_items_are_id_name_links(family: dict[str, Any], member: ApiSession) -> None:
    stem = family["a"]["stem"]
    body = member.compute("GET", "/servers", params={"name": stem}).json()
    assert set(body) == {"servers"}
    for item in body["servers"]:
        assert set(item) == {"id", "name", "links"}
        assert item["links"][0]["href"] == f"{member.compute_url}/servers/{item['id']}"


def test_name_filter_is_a_regex(family: dict[str, Any], member: ApiSession) -> None:
    stem = family["a"]["stem"]
    a, b, c = (family[k]["id"] for k in "abc")
    assert set(ids(member.compute("GET", "/servers", params={"name": stem}))) == {a, b, c}
    assert ids(member.compute("GET", "/servers", params={"name": f"{stem}-[a]$"})) == [a]
    assert set(ids(member.compute("GET", "/servers", params={"name": f"{stem}-(b|c)"}))) == {
        b, c}
    assert ids(member.compute("GET", "/servers", params={"name": f"^x{stem}"})) == []
    response = member.compute("GET", "/servers", params={"name": "["})
    assert response.status_code == 400
    assert message(response) == (
        "Invalid input for query parameters name. Value: [. '[' is not a 'regex'")


def test_status_filter(family: dict[str, Any], errored: dict[str, Any],
                       member: ApiSession) -> None:
    stem = family["a"]["stem"]
    assert len(ids(member.compute("GET", "/servers",
                                  params={"name": stem, "status": "active"}))) == 3
    assert ids(member.compute("GET", "/servers", params={"name": stem, "status": "ERROR"})) == []
    assert ids(member.compute("GET", "/servers", params={
        "name": errored["name"], "status": "ERROR"})) == [errored["id"]]
    both = member.compute("GET", "/servers", params=[("name", f"{stem}|{errored['name']}"),
                                                     ("status", "ACTIVE"), ("status", "ERROR")])
    assert len(ids(both)) == 4
    for bad in ("NOPE", "UNKNOWN"):
        old = member.compute("GET", "/servers", params={"status": bad}, version="2.37")
        assert old.status_code == 200 and old.json() == {"servers": []}
        new = member.compute("GET", "/servers", params={"status": bad}, version="2.38")
        assert new.status_code == 400
        assert message(new) == "Invalid status value"
    response = member.compute("GET", "/servers", params={"status": "DELETED"})
    assert response.status_code == 403
    assert message(response) == "Only administrators may list deleted instances"


def test_changes_since_and_before(family: dict[str, Any], member: ApiSession) -> None:
    stem = family["a"]["stem"]
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(ids(member.compute("GET", "/servers",
                                  params={"name": stem, "changes-since": past}))) == 3
    assert ids(member.compute("GET", "/servers",
                              params={"name": stem, "changes-since": future})) == []
    assert ids(member.compute("GET", "/servers", params={"name": stem, "changes-before": past},
                              version="2.66")) == []
    assert len(ids(member.compute("GET", "/servers", version="2.66", params={
        "name": stem, "changes-since": past, "changes-before": future}))) == 3
    response = member.compute("GET", "/servers", version="2.66",
                              params={"changes-since": future, "changes-before": past})
    assert response.status_code == 400
    assert message(response) == ("The value of changes-since must be less than or equal to "
                                 "changes-before.")
    response = member.compute("GET", "/servers", params={"changes-since": "yesterday"})
    assert response.status_code == 400
    assert message(response) == ("Invalid input for query parameters changes-since. "
                                 "Value: yesterday. 'yesterday' is not a 'date-time'")
    # changes-before is not a filter before 2.66: ignored.
    assert len(ids(member.compute("GET", "/servers", version="2.65",
                                  params={"name": stem, "changes-before": past}))) == 3


def test_ip_filter_is_a_regex(family: dict[str, Any], member: ApiSession) -> None:
    stem = family["a"]["stem"]
    address = member.compute("GET", f"/servers/{family['b']['id']}").json()[
        "server"]["addresses"][PRIVATE][0]["addr"]
    assert ids(member.compute("GET", "/servers", params={
        "name": stem, "ip": f"^{re.escape(address)}$"})) == [family["b"]["id"]]
    assert len(ids(member.compute("GET", "/servers", params={"name": stem, "ip": "^10\\."}))) == 3
    assert ids(member.compute("GET", "/servers", params={"name": stem, "ip": "^192\\."})) == []


def test_flavor_and_image_filters(family: dict[str, Any], member: ApiSession,
                                  image_id: str) -> None:
    stem = family["a"]["stem"]
    assert set(ids(member.compute("GET", "/servers", params={"name": stem, "flavor": "1"}))) == {
        family["a"]["id"], family["c"]["id"]}
    assert ids(member.compute("GET", "/servers", params={"name": stem, "flavor": "42"})) == [
        family["b"]["id"]]
    # An unknown flavor matches nothing (Nova catches FlavorNotFound).
    assert ids(member.compute("GET", "/servers", params={"flavor": "no-such-flavor"})) == []
    assert len(ids(member.compute("GET", "/servers",
                                  params={"name": stem, "image": image_id}))) == 3
    assert ids(member.compute("GET", "/servers",
                              params={"name": stem, "image": UNKNOWN_UUID})) == []


def test_tag_filters(family: dict[str, Any], member: ApiSession) -> None:
    stem = family["a"]["stem"]
    a, b, c = (family[k]["id"] for k in "abc")

    def tagged(**params: str) -> set[str]:
        return set(ids(member.compute("GET", "/servers", version="2.26",
                                      params={"name": stem, **params})))

    assert tagged(tags="red") == {a, b}
    assert tagged(tags="red,blue") == {a}
    assert tagged(**{"tags-any": "blue,nothing"}) == {a}
    assert tagged(**{"not-tags": "red,blue"}) == {b, c}
    assert tagged(**{"not-tags-any": "blue,nothing"}) == {b, c}
    # Before 2.26 the tag filters are not filters.
    assert len(ids(member.compute("GET", "/servers", version="2.25",
                                  params={"name": stem, "tags": "red,blue"}))) == 3


def test_locked_filter(family: dict[str, Any], member: ApiSession) -> None:
    stem = family["a"]["stem"]
    assert len(ids(member.compute("GET", "/servers", version="2.73",
                                  params={"name": stem, "locked": "false"}))) == 3
    assert ids(member.compute("GET", "/servers", version="2.73",
                              params={"name": stem, "locked": "True"})) == []
    response = member.compute("GET", "/servers", version="2.73", params={"locked": "maybe"})
    assert response.status_code == 400
    assert message(response) == ("Invalid input received: Unrecognized value 'maybe', "
                                 f"acceptable values are: {BOOL_RULE}")
    # Not a filter before 2.73: dropped.
    assert len(ids(member.compute("GET", "/servers", version="2.72",
                                  params={"name": stem, "locked": "true"}))) == 3


def test_reservation_id_filter(family: dict[str, Any], member: ApiSession,
                               admin: ApiSession) -> None:
    reservation = admin.compute("GET", f"/servers/{family['a']['id']}", version="2.3").json()[
        "server"]["OS-EXT-SRV-ATTR:reservation_id"]
    assert ids(member.compute("GET", "/servers", params={"reservation_id": reservation})) == [
        family["a"]["id"]]


def test_all_tenants(family: dict[str, Any], member: ApiSession, alt: ApiSession,
                     admin: ApiSession, made: Servers) -> None:
    stem = family["a"]["stem"]
    theirs = made.boot(alt, name=f"{stem}-alt")
    response = member.compute("GET", "/servers", params={"all_tenants": "1"})
    assert response.status_code == 403
    assert message(response) == (
        "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.")
    response = member.compute("GET", "/servers/detail", params={"all_tenants": ""})
    assert response.status_code == 403
    assert message(response) == (
        "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed.")
    # The member's own list never shows alt's server; admins see only their own project
    # unless all_tenants says otherwise.
    assert len(ids(member.compute("GET", "/servers", params={"name": stem}))) == 3
    assert ids(admin.compute("GET", "/servers", params={"name": stem})) == []
    assert ids(admin.compute("GET", "/servers", params={"name": stem, "all_tenants": "0"})) == []
    for flag in ("", "1", "True", "yes"):
        everyone = ids(admin.compute("GET", "/servers", params={"name": stem,
                                                               "all_tenants": flag}))
        assert len(everyone) == 4 and theirs["id"] in everyone
    only_alt = ids(admin.compute("GET", "/servers/detail", params={
        "name": stem, "all_tenants": "1", "tenant_id": alt.project_id}))
    assert only_alt == [theirs["id"]]
    for session in (admin, member):
        response = session.compute("GET", "/servers", params={"all_tenants": "bogus"})
        assert response.status_code == 400
        assert message(response) == ("Invalid input received: Unrecognized value 'bogus', "
                                     f"acceptable values are: {BOOL_RULE}")


def test_admin_only_filters_are_dropped_for_members(family: dict[str, Any],
                                                    member: ApiSession,
                                                    admin: ApiSession) -> None:
    stem = family["a"]["stem"]
    host = admin.compute("GET", f"/servers/{family['a']['id']}").json()[
        "server"]["OS-EXT-SRV-ATTR:host"]
    for params in ({"host": "no-such-host"}, {"node": "nothing"}, {"deleted": "true"},
                   {"uuid": family["a"]["id"]}, {"_private": "x"}, {"metadata": "x"},
                   {"vm_state": "error"}):
        assert len(ids(member.compute("GET", "/servers",
                                      params={"name": stem, **params}))) == 3, params
    assert len(ids(admin.compute("GET", "/servers", params={
        "name": stem, "all_tenants": "1", "host": host}))) >= 1
    assert ids(admin.compute("GET", "/servers", params={
        "name": stem, "all_tenants": "1", "host": "no-such-host"})) == []
    assert ids(admin.compute("GET", "/servers", params={
        "name": stem, "all_tenants": "1", "uuid": family["b"]["id"]})) == [family["b"]["id"]]
    # 2.83 opened some of them to members.
    assert ids(member.compute("GET", "/servers", version="2.83",
                              params={"name": stem, "vm_state": "error"})) == []
    for field in ("_private", "metadata", "system_metadata", "security_groups"):
        response = admin.compute("GET", "/servers", params={field: "x"})
        assert response.status_code == 400, field
        assert message(response) == f"Invalid filter field: {field}."


def test_unknown_query_parameters(family: dict[str, Any], member: ApiSession,
                                  admin: ApiSession) -> None:
    stem = f"{family['a']['stem']}-[abc]$"
    for session in (member, admin):
        extra = {"all_tenants": "1"} if session is admin else {}
        assert len(ids(session.compute("GET", "/servers", version="2.74",
                                       params={"name": stem, "colour": "red", **extra}))) == 3
        response = session.compute("GET", "/servers", version="2.75",
                                   params={"name": stem, "colour": "red"})
        assert response.status_code == 400
        assert message(response) == "'colour' does not match any of the regexes: '^_'"
    # From 2.75 too, known filters a member may not use are dropped, not refused.
    assert len(ids(member.compute("GET", "/servers", version="2.75", params={
        "name": stem, "host": "no-such-host", "deleted": "true"}))) == 3


def test_sorting(family: dict[str, Any], member: ApiSession, admin: ApiSession) -> None:
    stem = family["a"]["stem"]
    a, b, c = (family[k]["id"] for k in "abc")
    # Default: newest first.
    assert ids(member.compute("GET", "/servers", params={"name": stem})) == [c, b, a]
    assert ids(member.compute("GET", "/servers", params={
        "name": stem, "sort_key": "display_name", "sort_dir": "asc"})) == [a, b, c]
    assert ids(member.compute("GET", "/servers", params={
        "name": stem, "sort_key": "display_name"})) == [c, b, a]
    assert ids(member.compute("GET", "/servers", params=[
        ("name", stem), ("sort_key", "instance_type_id"), ("sort_dir", "desc"),
        ("sort_key", "created_at"), ("sort_dir", "asc")])) == [b, a, c]
    # Keys from before the schema are ignored (with their direction) until 2.75, refused
    # from there.
    assert ids(member.compute("GET", "/servers", params={
        "name": stem, "sort_key": "vcpus", "sort_dir": "asc"})) == [c, b, a]
    assert ids(member.compute("GET", "/servers", params=[
        ("name", stem), ("sort_key", "vcpus"), ("sort_key", "display_name"),
        ("sort_dir", "desc"), ("sort_dir", "asc")])) == [a, b, c]
    response = member.compute("GET", "/servers", params={"sort_key": "vcpus"}, version="2.75")
    assert response.status_code == 400
    assert message(response).startswith(
        "Invalid input for query parameters sort_key. Value: vcpus. 'vcpus' is not one of [")
    response = member.compute("GET", "/servers", params={"sort_key": "colour"})
    assert response.status_code == 400
    for key in ("host", "node"):
        response = member.compute("GET", "/servers", params={"sort_key": key})
        assert response.status_code == 403
        assert message(response) == f"Only administrators can sort servers by {key}"
        assert admin.compute("GET", "/servers", params={"sort_key": key}).status_code == 200
    response = member.compute("GET", "/servers", params={"sort_dir": "sideways"})
    assert response.status_code == 400
    assert message(response) == (
        "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
    response = member.compute("GET", "/servers", params=[("sort_key", "display_name"),
                                                         ("sort_dir", "asc"),
                                                         ("sort_dir", "desc")])
    assert response.status_code == 400
    assert message(response) == (
        "Invalid input received: Sort direction size exceeds sort key size")


def test_paging_with_limit_and_marker(family: dict[str, Any], member: ApiSession) -> None:
    stem = family["a"]["stem"]
    a, b, c = (family[k]["id"] for k in "abc")
    for path in ("/servers", "/servers/detail"):
        first = member.compute("GET", path, params={"name": stem, "limit": 2})
        assert ids(first) == [c, b]
        (link,) = first.json()["servers_links"]
        assert link["rel"] == "next"
        split = urlsplit(link["href"])
        assert f"{split.scheme}://{split.netloc}{split.path}" == f"{member.compute_url}{path}"
        assert parse_qs(split.query) == {"name": [stem], "limit": ["2"], "marker": [b]}
        second = member.http.get(link["href"], headers={"X-Auth-Token": member.token})
        assert ids(second) == [a]
        assert "servers_links" not in second.json()
    whole = member.compute("GET", "/servers", params={"name": stem, "limit": 3}).json()
    assert len(whole["servers"]) == 3 and "servers_links" in whole
    assert member.compute("GET", "/servers", params={"name": stem, "limit": 0}).json() == {
        "servers": []}
    # The marker need not match the filters: only its place in the order counts.
    assert ids(member.compute("GET", "/servers", params={
        "name": f"{stem}-[ac]", "marker": b})) == [a]
    response = member.compute("GET", "/servers", params={"marker": UNKNOWN_UUID})
    assert response.status_code == 400
    assert message(response) == f"marker [{UNKNOWN_UUID}] not found"
    for bad in ("-1", "x", "1.5"):
        response = member.compute("GET", "/servers", params={"limit": bad})
        assert response.status_code == 400
        assert message(response) == (f"Invalid input for query parameters limit. Value: {bad}. "
                                     f"'{bad}' does not match '^[0-9]*$'")


def test_project_id_in_the_url(server: dict[str, Any], member: ApiSession) -> None:
    url = f"{member.compute_url}/{member.project_id}/servers/{server['id']}"
    shown = member.request("GET", url).json()["server"]
    assert shown["links"][0]["href"] == url
    listed = member.request("GET", f"{member.compute_url}/{member.project_id}/servers",
                            params={"name": server["name"], "limit": 1}).json()
    assert listed["servers_links"][0]["href"].startswith(
        f"{member.compute_url}/{member.project_id}/servers?")


# -- update -------------------------------------------------------------------------------


def test_update_name_description_hostname_and_access_ips(
        servers: Servers, member: ApiSession) -> None:
    made = servers.boot(member)
    path = f"/servers/{made['id']}"
    renamed = unique()
    body = member.compute("PUT", path, json={"server": {"name": renamed}}).json()["server"]
    assert body["name"] == renamed
    assert member.compute("GET", path).json()["server"]["name"] == renamed

    response = member.compute("PUT", path, version="2.19",
                              json={"server": {"description": "described"}})
    assert response.status_code == 200 and response.json()["server"]["description"] == "described"
    response = member.compute("PUT", path, version="2.19", json={"server": {"description": None}})
    assert response.json()["server"]["description"] is None
    response = member.compute("PUT", path, json={"server": {"description": "x"}})
    assert response.status_code == 400

    response = member.compute("PUT", path, version="2.90",
                              json={"server": {"hostname": "new-host"}})
    assert response.status_code == 200, response.text
    assert response.json()["server"]["OS-EXT-SRV-ATTR:hostname"] == "new-host"

    response = member.compute("PUT", path, json={"server": {
        "accessIPv4": "198.51.100.4", "accessIPv6": "2001:db8::4",
        "OS-DCF:diskConfig": "AUTO"}})
    body = response.json()["server"]
    assert body["accessIPv4"] == "198.51.100.4" and body["accessIPv6"] == "2001:db8::4"
    assert body["OS-DCF:diskConfig"] == "AUTO"
    assert member.compute("PUT", path, json={"server": {}}).status_code == 200


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("name", "", "Invalid input for field/attribute name. Value: . '' should be non-empty"),
    ("name", " lead", NAME_RULE),
    ("name", "trail ", NAME_RULE),
    ("name", "x" * 256, f"Invalid input for field/attribute name. Value: {'x' * 256}. "
                        f"'{'x' * 256}' is too long"),
    ("name", 7, "Invalid input for field/attribute name. Value: 7. 7 is not of type 'string'"),
    ("accessIPv4", "1.2.3", "Invalid input for field/attribute accessIPv4. Value: 1.2.3. "
                            "'1.2.3' is not a 'ipv4'"),
    ("accessIPv6", "1.2.3.4", "Invalid input for field/attribute accessIPv6. Value: 1.2.3.4. "
                              "'1.2.3.4' is not a 'ipv6'"),
    ("OS-DCF:diskConfig", "BOTH", "Invalid input for field/attribute OS-DCF:diskConfig. "
                                  "Value: BOTH. 'BOTH' is not one of ['AUTO', 'MANUAL']"),
])
def test_update_bad_input(server: dict[str, Any], member: ApiSession, field: str, value: Any,
                          expected: str) -> None:
    response = member.compute("PUT", f"/servers/{server['id']}",
                              json={"server": {field: value}})
    assert response.status_code == 400
    assert message(response) == expected


def test_update_bad_bodies(server: dict[str, Any], member: ApiSession) -> None:
    path = f"/servers/{server['id']}"
    response = member.compute("PUT", path, json={"name": "x"})
    assert response.status_code == 400
    assert message(response) == "'server' is a required property"
    response = member.compute("PUT", path, json={"server": {"colour": "red"}})
    assert message(response) == ("Invalid input for field/attribute server. Value: "
                                 "{'colour': 'red'}. Additional properties are not allowed "
                                 "('colour' was unexpected)")
    response = member.compute("PUT", path, version="2.90",
                              json={"server": {"hostname": "-bad-"}})
    assert response.status_code == 400
    assert message(response).startswith("Invalid input for field/attribute hostname.")


def test_pinned_availability_zone(servers: Servers, member: ApiSession,
                                  server: dict[str, Any]) -> None:
    zone = server["OS-EXT-AZ:availability_zone"]
    # 2.96 shows the zone the create asked for (the request spec's), null if none.
    asked = servers.boot(member, availability_zone=zone)
    assert member.compute("GET", f"/servers/{asked['id']}", version="2.96").json()[
        "server"]["pinned_availability_zone"] == zone
    made = servers.boot(member)
    zone = made["OS-EXT-AZ:availability_zone"]  # where the scheduler put it
    path = f"/servers/{made['id']}"
    assert member.compute("GET", path, version="2.96").json()[
        "server"]["pinned_availability_zone"] is None

    def pin(value: str | None, version: str = "2.104") -> httpx.Response:
        return member.compute("PUT", path, version=version,
                              json={"server": {"pinned_availability_zone": value}})

    response = pin(zone, version="2.103")
    assert response.status_code == 400
    assert message(response).endswith(
        "Additional properties are not allowed ('pinned_availability_zone' was unexpected)")
    response = pin("elsewhere")
    assert response.status_code == 409
    assert message(response) == ("Server can only be pinned to its current availability zone "
                                 f"'{zone}', but 'elsewhere' was requested.")
    response = pin(zone)
    assert response.status_code == 200
    assert response.json()["server"]["pinned_availability_zone"] == zone
    assert pin(zone).status_code == 200
    response = pin("elsewhere")
    assert response.status_code == 409
    assert message(response) == ("Cannot change pinned availability zone directly. Unpin first "
                                 "by setting pinned_availability_zone to null.")
    response = pin(None)
    assert response.status_code == 200
    assert response.json()["server"]["pinned_availability_zone"] is None


def test_show_refuses_unknown_query_parameters_from_2_102(server: dict[str, Any],
                                                          member: ApiSession) -> None:
    path = f"/servers/{server['id']}"
    assert member.compute("GET", path, params={"colour": "red"},
                          version="2.101").status_code == 200
    response = member.compute("GET", path, params={"colour": "red"}, version="2.102")
    assert response.status_code == 400
    assert message(response) == "Additional properties are not allowed ('colour' was unexpected)"


# -- delete -------------------------------------------------------------------------------


def test_delete_then_404_and_listed_as_deleted_for_admins(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    made = servers.boot(member)
    host = admin.compute("GET", f"/servers/{made['id']}").json()["server"][
        "OS-EXT-SRV-ATTR:host"]
    response = member.compute("DELETE", f"/servers/{made['id']}")
    assert response.status_code == 204
    assert response.content == b""
    gone(member, made["id"])
    response = member.compute("GET", f"/servers/{made['id']}")
    assert response.json() == not_found(made["id"])
    assert admin.compute("GET", f"/servers/{made['id']}").status_code == 404
    assert ids(member.compute("GET", "/servers", params={"name": made["name"]})) == []
    deleted = admin.compute("GET", "/servers/detail", params={
        "deleted": "true", "all_tenants": "1", "name": made["name"]}).json()["servers"]
    assert [(s["id"], s["status"]) for s in deleted] == [(made["id"], "DELETED")]
    assert deleted[0]["OS-SRV-USG:terminated_at"] is not None
    assert deleted[0]["OS-EXT-STS:vm_state"] == "deleted"
    assert deleted[0]["OS-EXT-STS:task_state"] is None
    # Nova keeps the host of a deleted instance.
    assert deleted[0]["OS-EXT-SRV-ATTR:host"] == host
    by_status = admin.compute("GET", "/servers", params={
        "status": "DELETED", "all_tenants": "1", "name": made["name"]})
    assert ids(by_status) == [made["id"]]
    # changes-since shows recently deleted servers to their owner too.
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = member.compute("GET", "/servers/detail",
                            params={"name": made["name"], "changes-since": since}).json()
    assert [s["status"] for s in recent["servers"]] == ["DELETED"]
    assert member.compute("DELETE", f"/servers/{made['id']}").json() == not_found(made["id"])


def test_force_delete_action(servers: Servers, member: ApiSession) -> None:
    made = servers.boot(member)
    response = member.compute("POST", f"/servers/{made['id']}/action",
                              json={"forceDelete": None})
    assert response.status_code == 202
    assert response.content == b""
    gone(member, made["id"])


def test_action_dispatch_errors(server: dict[str, Any], member: ApiSession) -> None:
    path = f"/servers/{server['id']}/action"
    response = member.compute("POST", path, json={"noSuchAction": None})
    assert response.status_code == 400
    assert message(response) == "There is no such action: noSuchAction"
    response = member.compute("POST", path, json={"forceDelete": None, "other": None})
    assert response.status_code == 400
    assert message(response) == "Malformed request body"


# -- tenant isolation ---------------------------------------------------------------------


def test_other_projects_servers_are_404(server: dict[str, Any], alt: ApiSession,
                                        member: ApiSession) -> None:
    path = f"/servers/{server['id']}"
    expected = not_found(server["id"])
    assert alt.compute("GET", path).json() == expected
    assert alt.compute("GET", path).status_code == 404
    response = alt.compute("PUT", path, json={"server": {"name": "stolen"}})
    assert (response.status_code, response.json()) == (404, expected)
    response = alt.compute("DELETE", path)
    assert (response.status_code, response.json()) == (404, expected)
    response = alt.compute("POST", f"{path}/action", json={"forceDelete": None})
    assert (response.status_code, response.json()) == (404, expected)
    assert server["id"] not in ids(alt.compute("GET", "/servers"))
    assert server["id"] not in ids(alt.compute("GET", "/servers/detail"))
    assert member.compute("GET", path).json()["server"]["name"] == server["name"]
    for bogus in ("not-a-uuid", UNKNOWN_UUID):
        response = member.compute("GET", f"/servers/{bogus}")
        assert (response.status_code, response.json()) == (404, not_found(bogus))


def test_admin_sees_and_manages_other_projects_servers(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    made = servers.boot(member)
    shown = admin.compute("GET", f"/servers/{made['id']}").json()["server"]
    assert shown["tenant_id"] == member.project_id
    response = admin.compute("PUT", f"/servers/{made['id']}",
                             json={"server": {"name": f"{made['name']}-admin"}})
    assert response.status_code == 200
    assert admin.compute("DELETE", f"/servers/{made['id']}").status_code == 204
    gone(member, made["id"])


# -- bad create input ---------------------------------------------------------------------

#: (microversion, fields to set (None: delete), expected message). The expected texts are
#: Nova's: its schema (Draft 4 wording) or the check in its servers controller / compute API.
BAD_CREATES: list[tuple[str | None, dict[str, Any], str]] = [
    (None, {"name": None}, "'name' is a required property"),
    (None, {"flavorRef": None}, "'flavorRef' is a required property"),
    (None, {"name": 5}, "Invalid input for field/attribute name. Value: 5. "
                        "5 is not of type 'string'"),
    (None, {"name": ""}, "Invalid input for field/attribute name. Value: . "
                         "'' should be non-empty"),
    (None, {"name": " padded"}, NAME_RULE),
    (None, {"name": "x" * 256}, f"Invalid input for field/attribute name. Value: {'x' * 256}. "
                                f"'{'x' * 256}' is too long"),
    (None, {"flavorRef": ""}, "Invalid input for field/attribute flavorRef. Value: . "
                              "'' should be non-empty"),
    (None, {"flavorRef": [1]}, "Invalid input for field/attribute flavorRef. Value: [1]. "
                               "[1] is not of type 'string', 'integer'"),
    (None, {"flavorRef": "no-such-flavor"}, "Flavor no-such-flavor could not be found."),
    (None, {"flavorRef": "http://example.com/flavors/no-such"},
     "Flavor no-such could not be found."),
    (None, {"imageRef": "not-a-uuid"}, "Invalid input for field/attribute imageRef. "
                                       "Value: not-a-uuid. 'not-a-uuid' is not valid under "
                                       "any of the given schemas"),
    (None, {"imageRef": ""}, "Missing imageRef attribute"),
    (None, {"imageRef": None}, "Missing imageRef attribute"),
    (None, {"imageRef": UNKNOWN_UUID}, "Can not find requested image"),
    (None, {"key_name": "no-such-key"}, "Invalid key_name provided."),
    (None, {"key_name": ""}, "Invalid input for field/attribute key_name. Value: . "
                             "'' should be non-empty"),
    (None, {"adminPass": 5}, "Invalid input for field/attribute adminPass. Value: 5. "
                             "5 is not of type 'string'"),
    (None, {"metadata": []}, "Invalid input for field/attribute metadata. Value: []. "
                             "[] is not of type 'object'"),
    (None, {"metadata": {"k": 1}}, "Invalid input for field/attribute k. Value: 1. "
                                   "1 is not of type 'string'"),
    (None, {"metadata": {"k": "v" * 256}}, f"Invalid input for field/attribute k. "
                                           f"Value: {'v' * 256}. '{'v' * 256}' is too long"),
    (None, {"metadata": {"bad/key": "v"}},
     "Invalid input for field/attribute metadata. Value: {'bad/key': 'v'}. 'bad/key' does "
     "not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"),
    (None, {"min_count": 0}, "Invalid input for field/attribute min_count. Value: 0. "
                             "0 is less than the minimum of 1"),
    (None, {"max_count": "0"}, "Invalid input for field/attribute max_count. Value: 0. "
                               "0 is less than the minimum of 1"),
    (None, {"min_count": "two"}, "Invalid input for field/attribute min_count. Value: two. "
                                 "'two' does not match '^[0-9]*$'"),
    (None, {"max_count": True}, "Invalid input for field/attribute max_count. Value: True. "
                                "True is not of type 'integer', 'string'"),
    (None, {"return_reservation_id": "maybe"},
     "Invalid input for field/attribute return_reservation_id. Value: maybe. 'maybe' is not "
     "one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', "
     "False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']"),
    (None, {"config_drive": 2}, "Invalid input for field/attribute config_drive. Value: 2. "
                                "2 is not of type 'boolean', 'string'"),
    (None, {"config_drive": "maybe"}, "Invalid input for field/attribute config_drive. "
                                      "Value: maybe. 'maybe' is not one of [True, 'True', "
                                      "'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', "
                                      "'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', "
                                      "'Off', 'off', 'NO', 'No', 'no']"),
    (None, {"accessIPv4": "300.1.1.1"}, "Invalid input for field/attribute accessIPv4. "
                                        "Value: 300.1.1.1. '300.1.1.1' is not a 'ipv4'"),
    (None, {"accessIPv6": "::g"}, "Invalid input for field/attribute accessIPv6. Value: ::g. "
                                  "'::g' is not a 'ipv6'"),
    (None, {"OS-DCF:diskConfig": "auto"}, "Invalid input for field/attribute "
                                          "OS-DCF:diskConfig. Value: auto. 'auto' is not one "
                                          "of ['AUTO', 'MANUAL']"),
    (None, {"user_data": "abc"}, "Invalid input for field/attribute user_data. Value: abc. "
                                 "'abc' is not a 'base64'"),
    (None, {"user_data": 5}, "Invalid input for field/attribute user_data. Value: 5. "
                             "5 is not of type 'string'"),
    (None, {"availability_zone": ""}, "Invalid input for field/attribute availability_zone. "
                                      "Value: . '' should be non-empty"),
    (None, {"availability_zone": "no-such-zone"},
     "The requested availability zone is not available"),
    (None, {"availability_zone": "a:b:c:d"},
     "Invalid input received: Unable to parse availability_zone"),
    (None, {"security_groups": [{"name": "no-such-group"}]},
     "Security group no-such-group not found."),
    (None, {"security_groups": {"name": "default"}},
     "Invalid input for field/attribute security_groups. Value: {'name': 'default'}. "
     "{'name': 'default'} is not of type 'array'"),
    (None, {"networks": [{"uuid": "not-a-uuid"}]},
     "Bad networks format: network uuid is not in proper format (not-a-uuid)"),
    (None, {"networks": [{"uuid": UNKNOWN_UUID}]}, f"Network {UNKNOWN_UUID} could not be found."),
    (None, {"networks": [{"fixed_ip": "10.0.0.9"}]}, "Bad network format: missing 'uuid'"),
    (None, {"networks": [{"port": UNKNOWN_UUID, "fixed_ip": "10.0.0.9"}]},
     f"Specified Fixed IP '10.0.0.9' cannot be used with port '{UNKNOWN_UUID}': the two "
     "cannot be specified together."),
    (None, {"networks": [{"port": UNKNOWN_UUID}]}, f"Port id {UNKNOWN_UUID} could not be found."),
    (None, {"networks": [{"port": UNKNOWN_UUID}, {"port": UNKNOWN_UUID}]},
     f"Port ID '{UNKNOWN_UUID}' was specified twice: you cannot attach a port multiple times."),
    (None, {"personality": [{"path": "/etc/motd", "contents": "abc"}]},
     "Invalid input for field/attribute contents. Value: abc. 'abc' is not a 'base64'"),
    (None, {"colour": "red"}, "Additional properties are not allowed ('colour' was unexpected)"),
    ("2.19", {"description": "d" * 256}, f"Invalid input for field/attribute description. "
                                         f"Value: {'d' * 256}. '{'d' * 256}' is too long"),
    ("2.37", {"networks": "all"}, "Invalid input for field/attribute networks. Value: all. "
                                  "'all' is not valid under any of the given schemas"),
    ("2.37", {"networks": [{"uuid": "not-a-uuid"}]},
     "Invalid input for field/attribute networks. Value: [{'uuid': 'not-a-uuid'}]. "
     "[{'uuid': 'not-a-uuid'}] is not valid under any of the given schemas"),
    ("2.52", {"tags": ["a,b"]}, "Invalid input for field/attribute 0. Value: a,b. "
                                "'a,b' does not match '^[^,/]*$'"),
    ("2.52", {"tags": ["t" * 61]}, f"Invalid input for field/attribute 0. Value: {'t' * 61}. "
                                   f"'{'t' * 61}' is too long"),
    ("2.52", {"tags": [f"t{i}" for i in range(51)]}, "is too long"),
    ("2.57", {"personality": []}, "Additional properties are not allowed ('personality' was "
                                  "unexpected)"),
    ("2.63", {"trusted_image_certificates": []},
     "Invalid input for field/attribute trusted_image_certificates. Value: []. "
     "[] should be non-empty"),
    ("2.63", {"trusted_image_certificates": ["a", "a"]},
     "Invalid input for field/attribute trusted_image_certificates. Value: ['a', 'a']. "
     "['a', 'a'] has non-unique elements"),
    ("2.90", {"hostname": "-bad"}, "Invalid input for field/attribute hostname. Value: -bad. "
                                   "'-bad' does not match "
                                   "'^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$'"),
    ("2.90", {"hostname": "one", "max_count": 2},
     "Unable to allocate a single hostname to multiple instances"),
    ("2.94", {"hostname": "a b"}, "Invalid input for field/attribute hostname. Value: a b. "
                                  "'a b' does not match '^[a-zA-Z0-9-._]*$'"),
]


@pytest.mark.parametrize(("version", "fields", "expected"), BAD_CREATES,
                         ids=[f"{v or '2.1'}-{'-'.join(f)}-{i}"
                              for i, (v, f, _) in enumerate(BAD_CREATES)])
def test_create_bad_input(servers: Servers, member: ApiSession, version: str | None,
                          fields: dict[str, Any], expected: str) -> None:
    body = servers.body(version=version)
    for key, value in fields.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    response = servers.post(member, body, version=version)
    assert response.status_code == 400, response.text
    text = message(response)
    if expected.endswith(("is a required property", "was unexpected)")) \
            or expected == "is too long":
        # The message quotes the whole body first.
        assert text.startswith("Invalid input for field/attribute ") or \
            text.startswith("Additional properties"), text
        assert text.endswith(expected), text
    else:
        assert text == expected


def test_create_bad_bodies(member: ApiSession) -> None:
    for body, expected in (({"name": "x"}, "'server' is a required property"),
                           ({"server": "x"}, "Invalid input for field/attribute server. "
                                             "Value: x. 'x' is not of type 'object'"),
                           ({"server": {"name": "x", "flavorRef": "1"}, "extra": 1},
                            "Additional properties are not allowed ('extra' was unexpected)")):
        response = member.compute("POST", "/servers", json=body)
        assert response.status_code == 400
        assert message(response) == expected
    response = member.compute("POST", "/servers", content=b"{not json",
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert message(response) == "Malformed request body"


def test_member_cannot_boot_from_a_flavor_it_cannot_see(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    response = admin.compute("POST", "/flavors", json={"flavor": {
        "name": unique("private"), "ram": 64, "vcpus": 1, "disk": 1,
        "os-flavor-access:is_public": False}})
    flavor_id = response.json()["flavor"]["id"]
    try:
        response = servers.post(member, servers.body(flavorRef=flavor_id))
        assert response.status_code == 400
        assert message(response) == f"Flavor {flavor_id} could not be found."
    finally:
        admin.compute("DELETE", f"/flavors/{flavor_id}")


# -- fuzzing ------------------------------------------------------------------------------


@pytest.fixture
def fuzz_made(admin: ApiSession, image_id: str) -> Iterator[Servers]:
    created = Servers(admin, image_id)
    yield created
    listed = admin.compute("GET", "/servers", params={"all_tenants": "1", "name": "^fuzz-"})
    created.made += [s["id"] for s in listed.json()["servers"]]
    created.remove()


CREATE_VERSIONS = st.sampled_from(["2.1", "2.19", "2.37", "2.52", "2.57", "2.63", "2.74", "2.90",
                                   "2.94", "latest"])


def test_fuzz_create_body(member: ApiSession, http: httpx.Client, image_id: str,
                          fuzz_made: Servers) -> None:
    template = {"server": {
        "name": "fuzz-server", "imageRef": image_id, "flavorRef": "1", "networks": "auto",
        "metadata": {"k": "v"}, "min_count": 1, "max_count": 1, "description": "d",
        "tags": ["t"], "availability_zone": "nova", "key_name": "k",
        "security_groups": [{"name": "default"}], "accessIPv4": "192.0.2.1",
        "OS-DCF:diskConfig": "AUTO", "config_drive": False, "user_data": "aGk=",
        "hostname": "fuzz", "block_device_mapping_v2": [{"boot_index": 0, "uuid": image_id,
                                                         "source_type": "image"}],
    }, "os:scheduler_hints": {"same_host": []}}
    url = f"{member.compute_url}/servers"
    deadline = time.monotonic() + 10.0

    @fuzz_settings(2000)
    @given(body=broken(template), version=CREATE_VERSIONS, ascii_only=st.booleans())
    def attempt(body: Any, version: str, ascii_only: bool) -> None:
        if time.monotonic() > deadline:
            return
        if isinstance(body, dict) and isinstance(body.get("server"), dict):
            body["server"]["name"] = "fuzz-" + str(body["server"].get("name", ""))[:20]
            body["server"]["max_count"] = 1
            body["server"].pop("min_count", None)
        response = http.post(url, content=encode(body, ascii_only), headers={
            "X-Auth-Token": member.token, "Content-Type": "application/json",
            "X-OpenStack-Nova-API-Version": version})
        check(response, "nova")
        assert response.status_code in (202, 400, 403, 409, 413), response.text[:500]

    attempt()


LIST_KEYS = st.sampled_from([
    "name", "status", "changes-since", "changes-before", "ip", "ip6", "flavor", "image",
    "tags", "tags-any", "not-tags", "not-tags-any", "locked", "all_tenants", "deleted",
    "sort_key", "sort_dir", "limit", "marker", "reservation_id", "host", "node", "uuid",
    "vm_state", "task_state", "power_state", "key_name", "availability_zone", "config_drive",
    "hostname", "user_id", "project_id", "tenant_id", "soft_deleted", "progress",
    "launched_at", "created_at", "description", "_x", "metadata", "colour", "launch_index",
    "display_name", "image_ref", "access_ip_v4", "locked_by",
])
LIST_VALUES = st.sampled_from([
    "", "1", "0", "-1", "true", "false", "yes", "ACTIVE", "error", "DELETED", "active",
    "display_name", "created_at", "host", "asc", "desc", "2020-01-01T00:00:00Z", "2020-13-45",
    "[", ".*", "(a|b", "red,blue", ",", UNKNOWN_UUID, "x" * 300, "\u202e", "%", "名前",
]) | st.text(max_size=12)


def test_fuzz_list_query(member: ApiSession, admin: ApiSession, http: httpx.Client,
                         server: dict[str, Any]) -> None:
    deadline = time.monotonic() + 10.0
    sessions = {"member": member, "admin": admin}

    @fuzz_settings(3000)
    @given(pairs=st.lists(st.tuples(LIST_KEYS, LIST_VALUES), max_size=5),
           version=st.sampled_from(["2.1", "2.26", "2.38", "2.66", "2.73", "2.75", "2.83",
                                    "2.90", "latest"]),
           who=st.sampled_from(["member", "admin"]), detail=st.booleans())
    def attempt(pairs: list[tuple[str, str]], version: str, who: str, detail: bool) -> None:
        if time.monotonic() > deadline:
            return
        session = sessions[who]
        query = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}"
                         for k, v in pairs)
        path = "/servers/detail" if detail else "/servers"
        response = http.get(f"{session.compute_url}{path}?{query}", headers={
            "X-Auth-Token": session.token, "X-OpenStack-Nova-API-Version": version})
        check(response, "nova")
        assert response.status_code in (200, 400, 403), response.text[:500]

    attempt()


@pytest.mark.parametrize("query", [
    "name=%00", "name=a%00b", "host=%00", "user_id=%00", "image=%00", "key_name=%00",
    "name=(%3FP%3Cn%3Ea)", "ip=%00", "tags=%00&name=x"])
def test_a_nul_or_a_foreign_regex_in_a_filter_is_not_a_500(
        admin: ApiSession, member: ApiSession, server: dict[str, Any], query: str) -> None:
    """No stored name holds a NUL (the API refuses them), so a filter with one matches
    nothing, on SQLite and PostgreSQL alike (whose text holds no NUL); a Python regex
    PostgreSQL's regexes refuse matches nothing there (on SQLite it is Python's). The
    member's list too (with API workers, a follower answers it from its own reads)."""
    listed = admin.compute("GET", f"/servers?all_tenants=1&{query}")
    assert listed.status_code == 200, listed.text
    names = [s["name"] for s in listed.json()["servers"]]
    if "%00" in query:
        assert names == [], names
    # (a member's host, user_id and image filters are not its own: ignored, as Nova does)
    mine = member.compute("GET", f"/servers/detail?{query}")
    assert mine.status_code == 200, mine.text
    if query.startswith("name=%00"):
        assert mine.json()["servers"] == [], mine.text
    marker = admin.compute("GET", "/servers?marker=%00")
    assert marker.status_code == 400, marker.text
    assert marker.json()["badRequest"]["message"] == "marker [\x00] not found"


def test_fuzz_update_body(member: ApiSession, http: httpx.Client,
                          server: dict[str, Any]) -> None:
    template = {"server": {"name": server["name"], "description": "d", "hostname": "h",
                           "accessIPv4": "192.0.2.1", "accessIPv6": "::1",
                           "OS-DCF:diskConfig": "MANUAL"}}
    url = f"{member.compute_url}/servers/{server['id']}"
    deadline = time.monotonic() + 5.0
    make: Callable[[Any], Any] = copy.deepcopy

    @fuzz_settings(1000)
    @given(body=broken(make(template)) | JSON_VALUES | TEXT, version=CREATE_VERSIONS)
    def attempt(body: Any, version: str) -> None:
        if time.monotonic() > deadline:
            return
        response = http.put(url, content=encode(body, True), headers={
            "X-Auth-Token": member.token, "Content-Type": "application/json",
            "X-OpenStack-Nova-API-Version": version})
        check(response, "nova")
        assert response.status_code in (200, 400, 413), response.text[:500]

    attempt()
    member.compute("PUT", url.removeprefix(member.compute_url),
                   json={"server": {"name": server["name"]}})


# -- how many servers one request may make --------------------------------------------------


def test_a_huge_multi_create_is_refused_at_once(servers: Servers, member: ApiSession,
                                                 target: Any) -> None:
    """A multi-create far over the project's quotas is Nova's 403 at once (the
    resources over, what was asked, used and allowed), nothing made, and the emulator
    answers as before."""
    # NOTE: with no network: Nova checks the port quota first ("Maximum number of ports
    # exceeded", see test_server_ports).
    response = servers.post(member, servers.body(min_count=100000, max_count=100000,
                                                 version="2.37", networks="none"),
                            version="2.37")
    assert response.status_code == 403, response.text
    assert message(response).startswith(
        "Quota exceeded for cores, instances, ram: Requested 100000, 100000, ")
    assert servers.boot(member)["status"] == "ACTIVE"


def test_a_multi_create_is_cut_to_what_one_request_may_make(target: Any,
                                                            http: httpx.Client) -> None:
    """As Nova cuts a multi-create to what its quota leaves: ``max_count`` above the limit
    makes as many as the limit allows, ``min_count`` above it is refused."""
    with dedicated_emulator(target, tomli_w.dumps(
            {"compute": {"max_count_per_request": 3}})) as process:
        member = ApiSession(seeded_accounts(process.url)["member"], http)
        image = member.compute("GET", "/images").json()["images"][0]["id"]
        name = unique("cut")
        body = {"server": {"name": name, "imageRef": image, "flavorRef": "1",
                           "min_count": 2, "max_count": 50}}
        assert member.compute("POST", "/servers", json=body).status_code == 202
        made = member.compute("GET", f"/servers?name=^{name}-").json()["servers"]
        assert sorted(s["name"] for s in made) == [f"{name}-1", f"{name}-2", f"{name}-3"]
        body["server"].update(min_count=4, max_count=4)
        refused = member.compute("POST", "/servers", json=body)
        assert refused.status_code == 403, refused.text
        assert "requested 4, the limit is 3" in message(refused)
