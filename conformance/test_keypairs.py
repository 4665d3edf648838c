"""Key pairs: generate and import, shapes per microversion, ownership, admins' user_id, paging.

Every response is checked against Tempest's schema for the version sent, and the fields
against keys computed here independently (MD5 of the OpenSSH blob, SHA-1 of the
certificate). Key pairs belong to a user: the member, the alt user and the admin each see
only their own, unless an admin names another user (2.10).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from tempest.lib.api_schema.response.compute.v2_1 import parameter_types
from tempest.lib.services.compute.keypairs_client import KeyPairsClient

from conformance.cli import openstack_executable
from conformance.client import ApiSession
from conformance.schemas import for_version, validate

#: The versions whose shapes differ: base, type (2.2), user_id (2.10), paging (2.35).
VERSIONS = ["2.1", "2.2", "2.10", "2.35", "latest"]

NAME_PATTERN = r"^[_\- a-zA-Z0-9]+$"


# -- keys made here, independently of the server ------------------------------------------


def ssh_public_key(kind: str = "rsa", comment: str = "conformance") -> str:
    """A fresh OpenSSH public key line of ``kind``."""
    key: Any
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        curve = {"ecdsa256": ec.SECP256R1(), "ecdsa384": ec.SECP384R1(),
                 "ecdsa521": ec.SECP521R1()}[kind]
        key = ec.generate_private_key(curve)
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}"


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def sha1_fingerprint(pem: str) -> str:
    digest = x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA1()).hex()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def certificate_pem(common_name: str = "conformance") -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


RSA_KEY = ssh_public_key("rsa")


# -- helpers ---------------------------------------------------------------------------


def max_version(session: ApiSession) -> str:
    return str(session.http.get(f"{session.compute_url}/").json()["version"]["version"])


def schema_for(session: ApiSession, version: str | None) -> Any:
    if version == "latest":
        version = max_version(session)
    return for_version(KeyPairsClient, version)


def paged_list_schema(session: ApiSession, version: str) -> dict[str, Any]:
    """Tempest's list schema plus ``keypairs_links`` (2.35), which Tempest never asks for."""
    schema = copy.deepcopy(schema_for(session, version).list_keypairs)
    schema["response_body"]["properties"]["keypairs_links"] = parameter_types.links
    return schema  # type: ignore[no-any-return]


def new_name(prefix: str = "conf-kp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def message(response: httpx.Response, fault: str) -> str:
    return str(response.json()[fault]["message"])


@dataclass
class KeyPairs:
    """Creates key pairs and deletes, at the end of the test, those that were created."""

    made: list[tuple[ApiSession, str, str | None]] = field(default_factory=list)

    def create(
        self, session: ApiSession, version: str | None = None, owner: str | None = None,
        **fields: Any,
    ) -> httpx.Response:
        body = {"name": new_name(), **fields}
        if owner is not None:
            body["user_id"] = owner
        response = session.compute("POST", "/os-keypairs", version=version,
                                   json={"keypair": body})
        if response.status_code in (200, 201):
            self.made.append((session, body["name"], owner))
        return response

    def cleanup(self) -> None:
        for session, name, owner in self.made:
            params = {"user_id": owner} if owner else None
            session.compute("DELETE", f"/os-keypairs/{quote(name)}", version="2.10",
                            params=params)


@pytest.fixture
def keypairs() -> Iterator[KeyPairs]:
    made = KeyPairs()
    yield made
    made.cleanup()


# -- create: generated and imported ----------------------------------------------------


#: Nova generates key pairs only until 2.91.
GENERATING_VERSIONS = ["2.1", "2.2", "2.10", "2.35", "2.91"]


@pytest.mark.parametrize("version", GENERATING_VERSIONS)
def test_generated_ssh_key_pair(member: ApiSession, keypairs: KeyPairs, version: str) -> None:
    response = keypairs.create(member, version)
    body = validate(response, schema_for(member, version).create_keypair)["keypair"]
    assert response.status_code == (200 if version == "2.1" else 201)
    assert ("type" in body) is (version != "2.1")
    if version != "2.1":
        assert body["type"] == "ssh"
    assert body["user_id"] == member.user_id
    public = body["public_key"]
    assert public.startswith("ssh-rsa ") and public.endswith(" Generated-by-Nova")
    assert body["fingerprint"] == md5_fingerprint(public)
    private = body["private_key"]
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----")
    key = serialization.load_pem_private_key(private.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode()
    assert public.split()[:2] == line.split()


@pytest.mark.parametrize("version", ["2.92", "latest"])
def test_generation_refused_from_2_92(member: ApiSession, keypairs: KeyPairs,
                                      version: str) -> None:
    response = keypairs.create(member, version)
    assert response.status_code == 400
    assert "'public_key' is a required property" in message(response, "badRequest")


@pytest.mark.parametrize("kind", ["rsa", "ecdsa256", "ecdsa384", "ecdsa521", "ed25519"])
@pytest.mark.parametrize("version", VERSIONS)
def test_imported_ssh_key(
    member: ApiSession, keypairs: KeyPairs, version: str, kind: str
) -> None:
    public = ssh_public_key(kind)
    response = keypairs.create(member, version, public_key=public)
    body = validate(response, schema_for(member, version).create_keypair)["keypair"]
    assert "private_key" not in body
    assert body["public_key"] == public
    assert body["fingerprint"] == md5_fingerprint(public)


def test_generated_x509_certificate(member: ApiSession, keypairs: KeyPairs) -> None:
    response = keypairs.create(member, "2.2", type="x509")
    body = validate(response, schema_for(member, "2.2").create_keypair)["keypair"]
    assert body["type"] == "x509"
    cert = x509.load_pem_x509_certificate(body["public_key"].encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == member.user_id
    assert body["fingerprint"] == sha1_fingerprint(body["public_key"])
    bundle = base64.b64decode(body["private_key"])
    try:
        key, bundled, _extra = pkcs12.load_key_and_certificates(bundle, None)
    except ValueError:  # Nova's bundles use an empty password
        key, bundled, _extra = pkcs12.load_key_and_certificates(bundle, b"")
    assert bundled is not None and bundled.fingerprint(hashes.SHA1()) == cert.fingerprint(
        hashes.SHA1())
    assert isinstance(key, rsa.RSAPrivateKey)


def test_imported_x509_certificate(member: ApiSession, keypairs: KeyPairs) -> None:
    pem = certificate_pem()
    response = keypairs.create(member, "2.2", type="x509", public_key=pem)
    body = validate(response, schema_for(member, "2.2").create_keypair)["keypair"]
    assert body["type"] == "x509" and body["public_key"] == pem
    assert body["fingerprint"] == sha1_fingerprint(pem)
    shown = member.compute("GET", f"/os-keypairs/{body['name']}", version="2.2").json()
    assert shown["keypair"]["type"] == "x509"


def test_name_with_spaces_round_trips(member: ApiSession, keypairs: KeyPairs) -> None:
    name = f"my key {uuid.uuid4().hex[:6]}"
    response = keypairs.create(member, "2.2", name=name, public_key=RSA_KEY)
    assert response.status_code == 201, response.text
    shown = member.compute("GET", f"/os-keypairs/{quote(name)}", version="2.2")
    assert shown.status_code == 200 and shown.json()["keypair"]["name"] == name


# -- show, list, delete ------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_show(member: ApiSession, keypairs: KeyPairs, version: str) -> None:
    created = keypairs.create(member, "2.2", public_key=RSA_KEY).json()["keypair"]
    response = member.compute("GET", f"/os-keypairs/{created['name']}", version=version)
    body = validate(response, schema_for(member, version).get_keypair)["keypair"]
    expected = {"name", "public_key", "fingerprint", "user_id", "created_at", "deleted",
                "deleted_at", "id", "updated_at"}
    assert set(body) == (expected if version == "2.1" else expected | {"type"})
    assert isinstance(body["id"], int)
    assert body["deleted"] is False and body["deleted_at"] is None
    assert body["updated_at"] is None
    assert body["user_id"] == member.user_id
    assert (body["name"], body["public_key"], body["fingerprint"]) == (
        created["name"], RSA_KEY, md5_fingerprint(RSA_KEY))
    created_at = datetime.fromisoformat(body["created_at"])
    assert abs(created_at.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(minutes=10)


@pytest.mark.parametrize("version", VERSIONS)
def test_list(member: ApiSession, keypairs: KeyPairs, version: str) -> None:
    names = sorted(keypairs.create(member, "2.2", public_key=RSA_KEY).json()["keypair"]["name"]
                   for _ in range(2))
    response = member.compute("GET", "/os-keypairs", version=version)
    body = validate(response, schema_for(member, version).list_keypairs)
    items = [item["keypair"] for item in body["keypairs"]]
    listed = [kp["name"] for kp in items]
    assert [n for n in listed if n in names] == names
    assert listed == sorted(listed)
    for kp in items:
        assert set(kp) == ({"name", "public_key", "fingerprint"} if version == "2.1"
                           else {"name", "public_key", "fingerprint", "type"})


@pytest.mark.parametrize("version", VERSIONS)
def test_delete(member: ApiSession, version: str) -> None:
    name = new_name()
    created = member.compute("POST", "/os-keypairs", version="2.2",
                             json={"keypair": {"name": name, "public_key": RSA_KEY}})
    assert created.status_code == 201
    response = member.compute("DELETE", f"/os-keypairs/{name}", version=version)
    validate(response, schema_for(member, version).delete_keypair)
    assert response.status_code == (202 if version == "2.1" else 204)
    assert not response.content
    gone = member.compute("GET", f"/os-keypairs/{name}", version=version)
    assert gone.status_code == 404
    assert message(gone, "itemNotFound") == f"Keypair {name} not found for user {member.user_id}"
    again = member.compute("DELETE", f"/os-keypairs/{name}", version=version)
    assert again.status_code == 404


def test_duplicate_names_conflict(member: ApiSession, keypairs: KeyPairs) -> None:
    created = keypairs.create(member, "2.2", public_key=RSA_KEY).json()["keypair"]
    for extra in ({"public_key": ssh_public_key("ed25519")}, {}):
        response = member.compute("POST", "/os-keypairs", version="2.2",
                                  json={"keypair": {"name": created["name"], **extra}})
        assert response.status_code == 409
        assert message(response, "conflictingRequest") == (
            f"Key pair '{created['name']}' already exists.")


# -- ownership ---------------------------------------------------------------------------


def test_another_users_key_pair_is_not_found(
    member: ApiSession, alt: ApiSession, keypairs: KeyPairs
) -> None:
    name = keypairs.create(member, "2.2", public_key=RSA_KEY).json()["keypair"]["name"]
    expected = f"Keypair {name} not found for user {alt.user_id}"
    for method in ("GET", "DELETE"):
        response = alt.compute(method, f"/os-keypairs/{name}", version="2.2")
        assert response.status_code == 404
        assert message(response, "itemNotFound") == expected
    listed = alt.compute("GET", "/os-keypairs", version="2.2").json()["keypairs"]
    assert name not in {item["keypair"]["name"] for item in listed}
    # Names are unique per user only.
    same = keypairs.create(alt, "2.2", name=name, public_key=RSA_KEY)
    assert same.status_code == 201
    assert member.compute("GET", f"/os-keypairs/{name}").status_code == 200


def test_admin_acts_for_another_user_from_2_10(
    admin: ApiSession, member: ApiSession, keypairs: KeyPairs
) -> None:
    response = keypairs.create(admin, "2.10", owner=member.user_id, public_key=RSA_KEY)
    body = validate(response, schema_for(admin, "2.10").create_keypair)["keypair"]
    name = body["name"]
    assert body["user_id"] == member.user_id
    assert member.compute("GET", f"/os-keypairs/{name}", version="2.10").status_code == 200
    assert admin.compute("GET", f"/os-keypairs/{name}", version="2.10").status_code == 404
    params = {"user_id": member.user_id}
    shown = admin.compute("GET", f"/os-keypairs/{name}", version="2.10", params=params)
    assert validate(shown, schema_for(admin, "2.10").get_keypair)["keypair"]["user_id"] == (
        member.user_id)
    listed = admin.compute("GET", "/os-keypairs", version="2.10", params=params)
    names = {i["keypair"]["name"]
             for i in validate(listed, schema_for(admin, "2.10").list_keypairs)["keypairs"]}
    assert name in names
    deleted = admin.compute("DELETE", f"/os-keypairs/{name}", version="2.10", params=params)
    assert deleted.status_code == 204
    assert member.compute("GET", f"/os-keypairs/{name}").status_code == 404


def test_user_id_is_ignored_before_2_10(admin: ApiSession, member: ApiSession) -> None:
    listed = admin.compute("GET", "/os-keypairs", version="2.9",
                           params={"user_id": member.user_id})
    assert listed.status_code == 200
    own = admin.compute("GET", "/os-keypairs", version="2.9").json()
    assert listed.json() == own
    body = {"keypair": {"name": new_name(), "public_key": RSA_KEY, "user_id": "x"}}
    refused = admin.compute("POST", "/os-keypairs", version="2.9", json=body)
    assert refused.status_code == 400
    assert "Additional properties are not allowed ('user_id' was unexpected)" in message(
        refused, "badRequest")


def test_non_admin_naming_another_user_is_forbidden(
    member: ApiSession, alt: ApiSession, keypairs: KeyPairs
) -> None:
    params = {"user_id": alt.user_id}
    calls = [("GET", "/os-keypairs", "index"), ("GET", "/os-keypairs/whatever", "show"),
             ("DELETE", "/os-keypairs/whatever", "delete")]
    for method, path, rule in calls:
        response = member.compute(method, path, version="2.10", params=params)
        assert response.status_code == 403, (method, path)
        assert message(response, "forbidden") == (
            f"Policy doesn't allow os_compute_api:os-keypairs:{rule} to be performed.")
    created = keypairs.create(member, "2.10", owner=alt.user_id, public_key=RSA_KEY)
    assert created.status_code == 403
    assert message(created, "forbidden") == (
        "Policy doesn't allow os_compute_api:os-keypairs:create to be performed.")
    # Naming oneself is fine.
    own = member.compute("GET", "/os-keypairs", version="2.10",
                         params={"user_id": member.user_id})
    assert own.status_code == 200


# -- paging (2.35) -------------------------------------------------------------------------


def test_paging_with_limit_and_marker(admin: ApiSession, keypairs: KeyPairs) -> None:
    owner = uuid.uuid4().hex  # a user of our own: nobody else adds key pairs to it
    names = [f"page-{letter}" for letter in "abc"]
    for name in reversed(names):
        response = keypairs.create(admin, "2.10", owner=owner, name=name, public_key=RSA_KEY)
        assert response.status_code == 201, response.text
    schema = paged_list_schema(admin, "2.35")
    first = admin.compute("GET", "/os-keypairs", version="2.35",
                          params={"user_id": owner, "limit": 2})
    body = validate(first, schema)
    assert [i["keypair"]["name"] for i in body["keypairs"]] == names[:2]
    (link,) = body["keypairs_links"]
    # Nova sorts the query it was given, then sets the marker (last, when it was absent).
    assert link == {"rel": "next", "href": f"{admin.compute_url}/os-keypairs?limit=2&"
                                           f"user_id={owner}&marker={names[1]}"}
    second = admin.request("GET", link["href"], version="2.35")
    body = validate(second, schema)
    assert [i["keypair"]["name"] for i in body["keypairs"]] == names[2:]
    assert "keypairs_links" not in body
    # A page that is exactly full still links to a (then empty) next page.
    full = validate(admin.compute("GET", "/os-keypairs", version="2.35",
                                  params={"user_id": owner, "limit": 3}), schema)
    assert len(full["keypairs"]) == 3 and "keypairs_links" in full
    after = admin.compute("GET", "/os-keypairs", version="2.35",
                          params={"user_id": owner, "marker": names[2]})
    assert validate(after, schema)["keypairs"] == []
    # Before 2.35 limit and marker are ignored.
    old = admin.compute("GET", "/os-keypairs", version="2.34",
                        params={"user_id": owner, "limit": 1, "marker": "nope"})
    old_body = validate(old, schema_for(admin, "2.34").list_keypairs)
    assert len(old_body["keypairs"]) == 3


def test_paging_errors(member: ApiSession) -> None:
    unknown = member.compute("GET", "/os-keypairs", version="2.35", params={"marker": "nope"})
    assert unknown.status_code == 400
    assert message(unknown, "badRequest") == "Marker nope could not be found."
    negative = member.compute("GET", "/os-keypairs", version="2.35", params={"limit": -1})
    assert negative.status_code == 400
    assert message(negative, "badRequest") == (
        "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/os-keypairs"), ("GET", "/os-keypairs/x"), ("DELETE", "/os-keypairs/x"),
])
def test_unknown_query_parameters_are_refused_from_2_75(
    member: ApiSession, method: str, path: str
) -> None:
    refused = member.compute(method, path, version="2.75", params={"colour": "red"})
    assert refused.status_code == 400
    assert message(refused, "badRequest") == (
        "Additional properties are not allowed ('colour' was unexpected)")
    tolerated = member.compute(method, path, version="2.74", params={"colour": "red"})
    assert tolerated.status_code == (200 if path == "/os-keypairs" else 404)


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("public_key", [
    "",
    "junk",
    "ssh-rsa",
    "ssh-rsa AAAA",
    "ssh-rsa not*base64 comment",
    RSA_KEY.split()[0] + " " + RSA_KEY.split()[1][:-20] + " truncated",
    "ssh-dsa " + RSA_KEY.split()[1],
    certificate_pem(),
])
def test_corrupt_ssh_keys_are_refused(member: ApiSession, public_key: str) -> None:
    response = member.compute("POST", "/os-keypairs", version="2.2", json={
        "keypair": {"name": new_name(), "public_key": public_key}})
    assert response.status_code == 400
    assert message(response, "badRequest") == (
        "Keypair data is invalid: failed to generate fingerprint")


@pytest.mark.parametrize("public_key", ["", "junk", RSA_KEY])
def test_corrupt_certificates_are_refused(member: ApiSession, public_key: str) -> None:
    response = member.compute("POST", "/os-keypairs", version="2.2", json={
        "keypair": {"name": new_name(), "type": "x509", "public_key": public_key}})
    assert response.status_code == 400
    assert message(response, "badRequest").startswith(
        "Keypair data is invalid: failed to generate X509 fingerprint. Error message: ")


def _name_error(value: Any, reason: str) -> str:
    return f"Invalid input for field/attribute name. Value: {value}. {reason}"


PRINTABLE = ("An invalid 'name' value was provided. The name must be: printable characters. "
             "Can not start or end with whitespace.")


@pytest.mark.parametrize(("name", "expected"), [
    ("bad!name", _name_error("bad!name", f"'bad!name' does not match {NAME_PATTERN!r}")),
    ("a.b", _name_error("a.b", f"'a.b' does not match {NAME_PATTERN!r}")),
    ("me@home", _name_error("me@home", f"'me@home' does not match {NAME_PATTERN!r}")),
    ("x" * 256, _name_error("x" * 256, f"'{'x' * 256}' is too long")),
    (" leading", PRINTABLE),
    ("trailing ", PRINTABLE),
    ("tab\there", PRINTABLE),
    (123, _name_error(123, "123 is not of type 'string'")),
    (None, _name_error(None, "None is not of type 'string'")),
])
@pytest.mark.parametrize("version", ["2.1", "2.2", "2.10", "2.91"])
def test_bad_names_are_refused(member: ApiSession, name: Any, expected: str, version: str) -> None:
    response = member.compute("POST", "/os-keypairs", version=version,
                              json={"keypair": {"name": name, "public_key": RSA_KEY}})
    assert response.status_code == 400
    assert message(response, "badRequest") == expected


@pytest.mark.parametrize("version", ["2.92", "latest"])
def test_dots_and_at_signs_allowed_from_2_92(member: ApiSession, keypairs: KeyPairs,
                                             version: str) -> None:
    name = f"me@home.{uuid.uuid4().hex[:6]}"
    response = keypairs.create(member, version, name=name, public_key=RSA_KEY)
    assert response.status_code == 201, response.text
    refused = member.compute("POST", "/os-keypairs", version=version,
                             json={"keypair": {"name": "bad!name", "public_key": RSA_KEY}})
    assert refused.status_code == 400


def test_empty_name_is_refused(member: ApiSession) -> None:
    response = member.compute("POST", "/os-keypairs", version="2.2",
                              json={"keypair": {"name": "", "public_key": RSA_KEY}})
    assert response.status_code == 400
    assert message(response, "badRequest").startswith(
        "Invalid input for field/attribute name. Value: . ")


@pytest.mark.parametrize(("version", "body", "expected"), [
    ("2.2", {"public_key": 42}, "Invalid input for field/attribute public_key. Value: 42. "
                                "42 is not of type 'string'"),
    ("2.2", {"type": "rsa"}, "Invalid input for field/attribute type. Value: rsa. "
                             "'rsa' is not one of ['ssh', 'x509']"),
    ("2.1", {"type": "ssh"}, "Additional properties are not allowed ('type' was unexpected)"),
    ("2.2", {"user_id": "x"}, "Additional properties are not allowed ('user_id' was "
                              "unexpected)"),
    ("2.10", {"user_id": 7}, "Invalid input for field/attribute user_id. Value: 7. "
                             "7 is not of type 'string'"),
    ("2.2", {"colour": "red"}, "Additional properties are not allowed ('colour' was "
                               "unexpected)"),
])
def test_bad_fields_are_refused(
    member: ApiSession, version: str, body: dict[str, Any], expected: str
) -> None:
    response = member.compute("POST", "/os-keypairs", version=version,
                              json={"keypair": {"name": new_name(), **body}})
    assert response.status_code == 400
    assert expected in message(response, "badRequest")


def test_missing_name_and_missing_wrapper(member: ApiSession) -> None:
    no_name = member.compute("POST", "/os-keypairs", json={"keypair": {"public_key": RSA_KEY}})
    assert no_name.status_code == 400
    assert message(no_name, "badRequest").endswith("'name' is a required property")
    no_wrapper = member.compute("POST", "/os-keypairs", json={"name": "x"})
    assert no_wrapper.status_code == 400
    assert "'keypair' is a required property" in message(no_wrapper, "badRequest")


# -- quota -------------------------------------------------------------------------------


@pytest.mark.emulator_only
def test_quota_is_one_hundred_per_user(admin: ApiSession, keypairs: KeyPairs) -> None:
    owner = uuid.uuid4().hex
    for index in range(100):
        response = keypairs.create(admin, "2.10", owner=owner, name=f"quota-{index:03d}",
                                   public_key=RSA_KEY)
        assert response.status_code == 201, response.text
    for extra in ({"public_key": RSA_KEY}, {"public_key": "junk"}, {}):
        refused = keypairs.create(admin, "2.10", owner=owner, **extra)
        assert refused.status_code == 403
        assert message(refused, "forbidden") == "Quota exceeded, too many key pairs."
    # Another user is not affected.
    assert keypairs.create(admin, "2.10", public_key=RSA_KEY).status_code == 201


# -- real clients ------------------------------------------------------------------------


def test_openstacksdk(conn: Any, member: ApiSession) -> None:
    import openstack.exceptions

    public = ssh_public_key("ed25519")
    imported_name, generated_name = new_name("sdk"), new_name("sdk")
    try:
        imported = conn.compute.create_keypair(name=imported_name, public_key=public)
        assert imported.fingerprint == md5_fingerprint(public)
        assert imported.type == "ssh" and imported.user_id == member.user_id
        assert imported.private_key is None
        generated = conn.compute.create_keypair(name=generated_name)
        assert generated.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----")
        names = {kp.name for kp in conn.compute.keypairs()}
        assert {imported_name, generated_name} <= names
        fetched = conn.compute.get_keypair(imported_name)
        assert fetched.public_key == public and fetched.is_deleted is False
        assert fetched.created_at
    finally:
        conn.compute.delete_keypair(imported_name, ignore_missing=True)
        conn.compute.delete_keypair(generated_name, ignore_missing=True)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.compute.get_keypair(imported_name)


def _cli(member: ApiSession, home: Path, *args: str) -> str:
    executable = Path(openstack_executable())
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(member.account.os_environ())
    env["HOME"] = str(home)
    done = subprocess.run([str(executable), *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_openstack_cli(member: ApiSession, tmp_path: Path) -> None:
    generated, imported = new_name("cli"), new_name("cli")
    public = ssh_public_key("rsa")
    key_file = tmp_path / "key.pub"
    key_file.write_text(public + "\n")
    try:
        private = _cli(member, tmp_path, "keypair", "create", generated)
        assert "PRIVATE KEY-----" in private
        created = json.loads(_cli(member, tmp_path, "keypair", "create", "--public-key",
                                  str(key_file), imported, "-f", "json"))
        assert created["name"] == imported
        assert created["fingerprint"] == md5_fingerprint(public)
        listed = json.loads(_cli(member, tmp_path, "keypair", "list", "-f", "json"))
        assert {generated, imported} <= {row["Name"] for row in listed}
        shown = json.loads(_cli(member, tmp_path, "keypair", "show", imported, "-f", "json"))
        assert shown["fingerprint"] == md5_fingerprint(public)
        assert shown["user_id"] == member.user_id
        _cli(member, tmp_path, "keypair", "delete", generated, imported)
    finally:
        for name in (generated, imported):
            member.compute("DELETE", f"/os-keypairs/{name}")
    listed = json.loads(_cli(member, tmp_path, "keypair", "list", "-f", "json"))
    assert not {generated, imported} & {row["Name"] for row in listed}
