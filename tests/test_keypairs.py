"""Key pairs: fingerprints, parsing, generation, the service's rules, and the 2.92 schema."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from emulator.api import microversion
from emulator.api.app import Emulator
from emulator.api.compute.schemas import schema_for
from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body
from emulator.compute import keypairs as kp
from emulator.compute.keypairs import KeyPairService, NewKeyPair
from emulator.compute.quotas import QuotaService
from emulator.config import Config
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput, NotFound, OverQuota

#: A public key and its fingerprint from Nova's API samples (os-keypairs, v2.92).
NOVA_SAMPLE_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8JttD"
    "CE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/"
    "0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova"
)
NOVA_SAMPLE_FINGERPRINT = "1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c"

SSH_KEYGEN = shutil.which("ssh-keygen")
OPENSSL = shutil.which("openssl")

#: ssh-keygen key types and sizes -> the key line prefix they produce.
KEYGEN_TYPES = [
    (["-t", "rsa", "-b", "2048"], "ssh-rsa"),
    (["-t", "ecdsa", "-b", "256"], "ecdsa-sha2-nistp256"),
    (["-t", "ecdsa", "-b", "384"], "ecdsa-sha2-nistp384"),
    (["-t", "ecdsa", "-b", "521"], "ecdsa-sha2-nistp521"),
    (["-t", "ed25519"], "ssh-ed25519"),
]


# -- fingerprints ------------------------------------------------------------------------


def test_fingerprint_of_novas_sample_key() -> None:
    assert kp.ssh_fingerprint(NOVA_SAMPLE_KEY) == NOVA_SAMPLE_FINGERPRINT


@pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen is not installed")
@pytest.mark.parametrize(("args", "prefix"), KEYGEN_TYPES)
def test_fingerprint_matches_ssh_keygen(tmp_path: Path, args: list[str], prefix: str) -> None:
    assert SSH_KEYGEN is not None
    key = tmp_path / "id"
    subprocess.run([SSH_KEYGEN, *args, "-N", "", "-C", "me@host", "-q", "-f", str(key)],
                   check=True, timeout=60)
    public = (tmp_path / "id.pub").read_text()
    assert public.startswith(prefix + " ")
    listed = subprocess.run([SSH_KEYGEN, "-l", "-E", "md5", "-f", str(tmp_path / "id.pub")],
                            check=True, capture_output=True, text=True, timeout=60).stdout
    # "<bits> MD5:aa:bb:... <comment> (<TYPE>)"
    expected = listed.split()[1].removeprefix("MD5:")
    assert kp.ssh_fingerprint(public) == expected
    assert kp.ssh_fingerprint(public.strip()) == expected
    assert kp.fingerprint(public, kp.SSH) == expected


def test_fingerprint_format() -> None:
    generated = kp.generate_ssh_key()
    pairs = generated.fingerprint.split(":")
    assert len(pairs) == 16 and all(len(p) == 2 and p == p.lower() for p in pairs)


def test_fingerprint_hashes_the_field_after_the_first_single_space() -> None:
    """Nova's quirk, kept: a doubled space still parses, and hashes an empty field."""
    doubled = NOVA_SAMPLE_KEY.replace(" ", "  ", 1)
    assert kp.ssh_fingerprint(doubled) == "d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e"


@pytest.mark.parametrize("public_key", [
    "",
    "junk",
    "ssh-rsa",
    "ssh-rsa AAAA",
    "ssh-rsa not*base64",
    NOVA_SAMPLE_KEY.replace(" ", "\t", 1),  # parses, but Nova splits on a single space
    NOVA_SAMPLE_KEY[:80],
    " " + NOVA_SAMPLE_KEY,
    "ssh-foo " + NOVA_SAMPLE_KEY.split()[1],
])
def test_invalid_ssh_keys(public_key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        kp.ssh_fingerprint(public_key)
    assert raised.value.message == "Keypair data is invalid: failed to generate fingerprint"


def test_x509_fingerprint(tmp_path: Path) -> None:
    pem = kp.generate_x509_cert("someone", bits=1024).public_key
    ours = kp.x509_fingerprint(pem)
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert ours == ":".join(f"{b:02x}" for b in cert.fingerprint(hashes.SHA1()))
    assert len(ours.split(":")) == 20
    if OPENSSL is not None:
        (tmp_path / "cert.pem").write_text(pem)
        out = subprocess.run([OPENSSL, "x509", "-noout", "-fingerprint", "-sha1", "-in",
                              str(tmp_path / "cert.pem")], check=True, capture_output=True,
                             text=True, timeout=60).stdout
        assert ours == out.strip().split("=", 1)[1].lower()
    assert kp.fingerprint(pem, kp.X509) == ours


@pytest.mark.parametrize("pem", ["", "junk", NOVA_SAMPLE_KEY,
                                 "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"])
def test_invalid_certificates(pem: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        kp.x509_fingerprint(pem)
    assert raised.value.message.startswith(
        "Keypair data is invalid: failed to generate X509 fingerprint. Error message: ")


# -- generation --------------------------------------------------------------------------


def test_generated_ssh_key() -> None:
    generated = kp.generate_ssh_key()
    assert generated.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(generated.private_key.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode()
    assert generated.public_key == f"{line} Generated-by-Nova"
    assert generated.fingerprint == kp.ssh_fingerprint(generated.public_key)


@pytest.mark.filterwarnings("ignore:Attribute's length must be")
def test_generated_x509_certificate() -> None:
    user = "u" * 200  # long enough for a multi-byte DER length in the UPN
    generated = kp.generate_x509_cert(user, bits=1024)
    cert = x509.load_pem_x509_certificate(generated.public_key.encode())
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == user
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == timedelta(days=3650)
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    (other,) = san.get_values_for_type(x509.OtherName)
    assert other.type_id == kp.UPN_OID
    upn = f"{user}@localhost".encode()
    assert other.value == b"\x0c\x81" + bytes([len(upn)]) + upn
    key, bundled, extra = pkcs12.load_key_and_certificates(
        base64.b64decode(generated.private_key), None)
    assert isinstance(key, rsa.RSAPrivateKey) and bundled == cert and extra == []
    assert generated.fingerprint == kp.x509_fingerprint(generated.public_key)


@pytest.mark.parametrize(("text", "encoded"), [
    ("", b"\x0c\x00"),
    ("ab", b"\x0c\x02ab"),
    ("x" * 127, b"\x0c\x7f" + b"x" * 127),
    ("x" * 128, b"\x0c\x81\x80" + b"x" * 128),
    ("x" * 300, b"\x0c\x82\x01\x2c" + b"x" * 300),
    ("é", b"\x0c\x02\xc3\xa9"),
])
def test_der_utf8_string(text: str, encoded: bytes) -> None:
    assert kp._der_utf8_string(text) == encoded


# -- the service -------------------------------------------------------------------------

MEMBER = RequestContext(user_id="u-member", project_id="p1", roles=frozenset({"member"}))
OTHER = RequestContext(user_id="u-other", project_id="p1", roles=frozenset({"member"}))
ADMIN = RequestContext(user_id="u-admin", project_id="p0", roles=frozenset({"admin"}))


@pytest.fixture
def service() -> Iterator[KeyPairService]:
    db = Database("sqlite://")
    yield KeyPairService(db, QuotaService(db, {"key_pairs": 3}))
    db.close()


def test_import_show_list_delete(service: KeyPairService) -> None:
    created = service.create(MEMBER, NewKeyPair("b", public_key=NOVA_SAMPLE_KEY))
    assert created.private_key is None and created.fingerprint == NOVA_SAMPLE_FINGERPRINT
    assert created.user_id == "u-member" and created.type == "ssh"
    service.create(MEMBER, NewKeyPair("a", public_key=NOVA_SAMPLE_KEY))
    shown = service.get(MEMBER, "b")
    assert (shown.id, shown.public_key) == (created.id, NOVA_SAMPLE_KEY)
    assert [k.name for k in service.list_keypairs(MEMBER)] == ["a", "b"]
    assert service.list_keypairs(OTHER) == []
    service.delete(MEMBER, "b")
    with pytest.raises(NotFound) as raised:
        service.get(MEMBER, "b")
    assert raised.value.message == "Keypair b not found for user u-member"


def test_generated_keys_are_returned_once(service: KeyPairService) -> None:
    created = service.create(MEMBER, NewKeyPair("gen"))
    assert created.private_key is not None
    assert service.get(MEMBER, "gen").private_key is None


def test_names_are_unique_per_user(service: KeyPairService) -> None:
    service.create(MEMBER, NewKeyPair("k", public_key=NOVA_SAMPLE_KEY))
    with pytest.raises(Conflict) as raised:
        service.create(MEMBER, NewKeyPair("k", public_key=NOVA_SAMPLE_KEY))
    assert raised.value.message == "Key pair 'k' already exists."
    service.create(OTHER, NewKeyPair("k", public_key=NOVA_SAMPLE_KEY))


def test_paging(service: KeyPairService) -> None:
    for name in ("c", "a", "b"):
        service.create(MEMBER, NewKeyPair(name, public_key=NOVA_SAMPLE_KEY))
    assert [k.name for k in service.list_keypairs(MEMBER, limit=2)] == ["a", "b"]
    assert [k.name for k in service.list_keypairs(MEMBER, marker="a")] == ["b", "c"]
    assert service.list_keypairs(MEMBER, limit=0) == []
    with pytest.raises(InvalidInput) as raised:
        service.list_keypairs(MEMBER, marker="zz")
    assert raised.value.message == "Marker zz could not be found."


def test_quota_comes_before_the_key_check(service: KeyPairService) -> None:
    for name in ("a", "b", "c"):
        service.create(MEMBER, NewKeyPair(name, public_key=NOVA_SAMPLE_KEY))
    for new in (NewKeyPair("d", public_key=NOVA_SAMPLE_KEY), NewKeyPair("d", public_key="x"),
                NewKeyPair("a", public_key=NOVA_SAMPLE_KEY)):
        with pytest.raises(OverQuota) as raised:
            service.create(MEMBER, new)
        assert raised.value.message == "Quota exceeded, too many key pairs."
    service.create(OTHER, NewKeyPair("a", public_key=NOVA_SAMPLE_KEY))


def test_unlimited_quota() -> None:
    db = Database("sqlite://")
    service = KeyPairService(db, QuotaService(db, {"key_pairs": -1}))
    for index in range(5):
        service.create(MEMBER, NewKeyPair(f"k{index}", public_key=NOVA_SAMPLE_KEY))
    assert len(service.list_keypairs(MEMBER)) == 5
    db.close()


def test_only_admins_name_another_user(service: KeyPairService) -> None:
    created = service.create(ADMIN, NewKeyPair("k", public_key=NOVA_SAMPLE_KEY,
                                               user_id="u-member"))
    assert created.user_id == "u-member"
    assert service.get(MEMBER, "k").id == created.id
    assert service.get(ADMIN, "k", user_id="u-member").id == created.id
    with pytest.raises(NotFound):
        service.get(ADMIN, "k")
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: service.list_keypairs(OTHER, user_id="u-member"), "index"),
        (lambda: service.get(OTHER, "k", user_id="u-member"), "show"),
        (lambda: service.delete(OTHER, "k", user_id="u-member"), "delete"),
        (lambda: service.create(OTHER, NewKeyPair("x", public_key=NOVA_SAMPLE_KEY,
                                                  user_id="u-member")), "create"),
    ]
    for call, rule in attempts:
        with pytest.raises(Forbidden) as raised:
            call()
        assert raised.value.message == (
            f"Policy doesn't allow os_compute_api:os-keypairs:{rule} to be performed.")
    assert service.list_keypairs(MEMBER, user_id="u-member")[0].name == "k"
    service.delete(ADMIN, "k", user_id="u-member")
    assert service.list_keypairs(MEMBER) == []


# -- request schemas per microversion ----------------------------------------------------


def create_schema(version: APIVersion) -> Mapping[str, Any]:
    schema = schema_for("keypair_create", version)
    assert schema is not None, f"no keypair_create schema at {version}"
    return schema


def _required(version: APIVersion) -> list[str]:
    return list(create_schema(version)["properties"]["keypair"]["required"])


def _fields(version: APIVersion) -> set[str]:
    return set(create_schema(version)["properties"]["keypair"]["properties"])


def test_create_schema_per_version() -> None:
    assert _fields(APIVersion(2, 1)) == {"name", "public_key"}
    assert _fields(APIVersion(2, 2)) == _fields(APIVersion(2, 9)) == {
        "name", "public_key", "type"}
    assert _fields(APIVersion(2, 10)) == _fields(APIVersion(2, 92)) == {
        "name", "public_key", "type", "user_id"}
    assert _required(APIVersion(2, 91)) == ["name"]
    assert _required(APIVersion(2, 92)) == _required(APIVersion(2, 104)) == [
        "name", "public_key"]


@pytest.mark.parametrize(("version", "name", "ok"), [
    (APIVersion(2, 91), "me@host", False),
    (APIVersion(2, 91), "a.b", False),
    (APIVersion(2, 92), "me.and.myself@this.nice.domain.com mooh.", True),
    (APIVersion(2, 92), "bad!", False),
])
def test_name_pattern_changes_at_2_92(version: APIVersion, name: str, ok: bool) -> None:
    body = {"keypair": {"name": name, "public_key": NOVA_SAMPLE_KEY}}
    if ok:
        validate_body(create_schema(version), body)
    else:
        with pytest.raises(Fault) as raised:
            validate_body(create_schema(version), body)
        assert "does not match" in raised.value.message


def test_public_key_is_required_from_2_92() -> None:
    validate_body(create_schema(APIVersion(2, 91)), {"keypair": {"name": "k"}})
    with pytest.raises(Fault) as raised:
        validate_body(create_schema(APIVersion(2, 92)), {"keypair": {"name": "k"}})
    assert raised.value.message == (
        "Invalid input for field/attribute keypair. Value: {'name': 'k'}. "
        "'public_key' is a required property")


# -- the whole API at 2.92, with the advertised maximum raised in-process ------------------

_AUTH = {"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"name": "Default"}, "password": "demo"}}},
    "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
}}


def _exchange(app: Any, requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
            token = (await client.post("/identity/v3/auth/tokens", json=_AUTH)).headers[
                "X-Subject-Token"]
            headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.92"}
            return [await client.request(method, path, headers=headers, **kwargs)
                    for method, path, kwargs in requests]

    return asyncio.run(run())


def test_api_at_2_92(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(microversion, "MAX_VERSION", APIVersion(2, 92))
    name = "me.and.myself@this.nice.domain.com mooh."
    generated, imported, shown, deleted = _exchange(Emulator(Config()), [
        ("POST", "/compute/v2.1/os-keypairs", {"json": {"keypair": {"name": "gen"}}}),
        ("POST", "/compute/v2.1/os-keypairs",
         {"json": {"keypair": {"name": name, "public_key": NOVA_SAMPLE_KEY}}}),
        ("GET", f"/compute/v2.1/os-keypairs/{name}", {}),
        ("DELETE", f"/compute/v2.1/os-keypairs/{name}", {}),
    ])
    assert generated.status_code == 400
    assert generated.json()["badRequest"]["message"].endswith(
        "'public_key' is a required property")
    assert imported.status_code == 201
    assert imported.json() == {"keypair": {
        "name": name, "public_key": NOVA_SAMPLE_KEY, "fingerprint": NOVA_SAMPLE_FINGERPRINT,
        "user_id": imported.json()["keypair"]["user_id"], "type": "ssh",
    }}
    assert shown.status_code == 200 and shown.json()["keypair"]["name"] == name
    assert deleted.status_code == 204
