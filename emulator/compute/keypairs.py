"""Key pairs: a user's SSH public keys and x509 certificates, imported or generated.

Key pairs belong to a *user*, not a project: the same user sees the same key pairs in
every project, and another user (even in the same project) never sees them. Names are
unique per user. Nova checks, in this order: policy, quota, the key itself, the name.
"""

from __future__ import annotations

import base64
import hashlib
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from emulator.compute.models import KeyPair
from emulator.compute.policy import authorize
from emulator.compute.quotas import QuotaService
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, InvalidInput, NotFound, OverQuota

#: The key types Nova knows (``nova.objects.keypair``): an OpenSSH public key, or a PEM
#: certificate (Windows WinRM certificate authentication).
SSH, X509 = "ssh", "x509"
KEY_TYPES = (SSH, X509)


#: Size of generated RSA keys (Nova's ``crypto.generate_key_pair`` default).
GENERATED_BITS = 2048
#: Comment Nova appends to the public key lines it generates.
GENERATED_COMMENT = "Generated-by-Nova"
#: Lifetime of a generated x509 certificate (``openssl req -days 3650`` in Nova).
CERT_DAYS = 3650
#: Microsoft's User Principal Name, the otherName in a generated certificate's SAN.
UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


@dataclass(frozen=True)
class KeyPairRecord:
    """A key pair as the API shows it, detached from the database."""

    id: int
    name: str
    user_id: str
    fingerprint: str
    public_key: str
    type: str
    created_at: datetime
    #: Only right after Nova generated the key pair; never stored.
    private_key: str | None = None


@dataclass(frozen=True)
class NewKeyPair:
    """A create request: ``public_key`` None means "generate one" (refused from 2.92)."""

    name: str
    type: str = SSH
    public_key: str | None = None
    #: Owner; None is the caller. Admins may name another user (2.10).
    user_id: str | None = None


@dataclass(frozen=True)
class GeneratedKey:
    private_key: str
    public_key: str
    fingerprint: str


# -- fingerprints and key material (pure functions) -----------------------------------------


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key line, as ``aa:bb:...`` (16 pairs).

    The key must parse (rsa, ecdsa-sha2-nistp256/384/521, ssh-ed25519, ...). The hash is
    taken over the base64 field after the *first single space*, as Nova takes it, so an
    oddly spaced line that still parses hashes what that field holds.
    """
    try:
        serialization.load_ssh_public_key(public_key.encode("utf-8"))
        blob = base64.b64decode(public_key.split(" ")[1])
    except Exception:
        raise InvalidInput("Keypair data is invalid: failed to generate fingerprint") from None
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(pem: str) -> str:
    """The SHA-1 fingerprint of a PEM certificate, as ``aa:bb:...`` (20 pairs)."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("utf-8"))
        return _colon_hex(cert.fingerprint(hashes.SHA1()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            "Keypair data is invalid: failed to generate X509 fingerprint. "
            f"Error message: {exc}"
        ) from None


def fingerprint(public_key: str, key_type: str) -> str:
    return x509_fingerprint(public_key) if key_type == X509 else ssh_fingerprint(public_key)


def generate_ssh_key(bits: int = GENERATED_BITS) -> GeneratedKey:
    """An RSA key: the private half as a traditional ``RSA PRIVATE KEY`` PEM, the public
    half as an OpenSSH line ending in ``Generated-by-Nova``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode("ascii")
    public = f"{line} {GENERATED_COMMENT}"
    return GeneratedKey(private, public, ssh_fingerprint(public))


def _der_utf8_string(text: str) -> bytes:
    """DER encoding of an ASN.1 UTF8String (tag 12), the value of the UPN otherName."""
    data = text.encode("utf-8")
    size = len(data)
    if size < 0x80:
        length = bytes([size])
    else:
        octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return b"\x0c" + length + data


def generate_x509_cert(user_id: str, bits: int = GENERATED_BITS) -> GeneratedKey:
    """A self-signed client certificate for ``CN=<user_id>`` (UPN ``<user_id>@localhost``).

    The public half is the certificate PEM; the private half is a PKCS#12 bundle of key
    and certificate, base64-encoded. NOTE: Nova's bundle is encrypted with an empty
    password (``openssl pkcs12 -password pass:``); ``cryptography`` cannot use an empty
    password, so ours is unencrypted, which every PKCS#12 reader opens the same way.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    # NOTE: X.520 caps a common name at 64 characters and ``openssl req`` refuses longer
    # ones (Nova then fails with a 500); user ids an admin names may be longer, so the cap
    # is not enforced here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        common_name = x509.NameAttribute(NameOID.COMMON_NAME, user_id, _validate=False)
    name = x509.Name([common_name])
    now = datetime.now(UTC)
    upn = _der_utf8_string(f"{user_id}@localhost")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=CERT_DAYS))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.OtherName(UPN_OID, upn)]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    bundle = pkcs12.serialize_key_and_certificates(
        None, key, cert, None, serialization.NoEncryption()
    )
    return GeneratedKey(base64.b64encode(bundle).decode("ascii"), pem, x509_fingerprint(pem))


def generate(user_id: str, key_type: str) -> GeneratedKey:
    return generate_x509_cert(user_id) if key_type == X509 else generate_ssh_key()


# -- the service -----------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found(name: str, user_id: str) -> NotFound:
    return NotFound(f"Keypair {name} not found for user {user_id}")


def _record(row: KeyPair, private_key: str | None = None) -> KeyPairRecord:
    assert row.id is not None
    return KeyPairRecord(
        id=row.id, name=row.name, user_id=row.user_id, fingerprint=row.fingerprint,
        public_key=row.public_key, type=row.type, created_at=row.created_at,
        private_key=private_key,
    )


class KeyPairService:
    def __init__(self, db: Database, quotas: QuotaService | None = None) -> None:
        self.db = db
        #: Nova's ``key_pairs`` quota, counted per user.
        self.quotas = quotas if quotas is not None else QuotaService(db)

    @staticmethod
    def _owner(ctx: RequestContext, rule: str, user_id: str | None) -> str:
        """The user whose key pairs are meant (the caller unless named), policy-checked."""
        owner = user_id or ctx.user_id
        authorize(ctx, f"os_compute_api:os-keypairs:{rule}", owner)
        return owner

    @staticmethod
    def _row(s: Session, owner: str, name: str) -> KeyPair:
        row = s.exec(select(KeyPair).where(KeyPair.user_id == owner)
                     .where(KeyPair.name == name)).first()
        if row is None:
            raise _not_found(name, owner)
        return row

    @staticmethod
    def _count(s: Session, owner: str) -> int:
        stmt = select(func.count()).select_from(KeyPair).where(KeyPair.user_id == owner)
        return int(s.exec(stmt).one())

    def _over_quota(self, s: Session, ctx: RequestContext, owner: str, delta: int) -> bool:
        return self.quotas.over(s, "key_pairs", ctx.project_id or "", owner, delta,
                                user_count=self._count(s, owner))

    # -- reading -------------------------------------------------------------------------

    def list_keypairs(
        self,
        ctx: RequestContext,
        user_id: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[KeyPairRecord]:
        """The owner's key pairs by name; after ``marker`` (a name) and at most ``limit``."""
        owner = self._owner(ctx, "index", user_id)
        with self.db.session() as s:
            stmt = select(KeyPair).where(KeyPair.user_id == owner)
            if marker is not None:
                found = s.exec(select(KeyPair).where(KeyPair.user_id == owner)
                               .where(KeyPair.name == marker)).first()
                if found is None:
                    raise InvalidInput(f"Marker {marker} could not be found.")
                stmt = stmt.where(col(KeyPair.name) > marker)
            stmt = stmt.order_by(col(KeyPair.name))
            if limit is not None:
                stmt = stmt.limit(limit)
            return [_record(row) for row in s.exec(stmt).all()]

    def get(self, ctx: RequestContext, name: str, user_id: str | None = None) -> KeyPairRecord:
        owner = self._owner(ctx, "show", user_id)
        with self.db.session() as s:
            return _record(self._row(s, owner, name))

    # -- writing -------------------------------------------------------------------------

    def create(self, ctx: RequestContext, new: NewKeyPair) -> KeyPairRecord:
        """Import ``new.public_key``, or generate a key pair and return its private half."""
        owner = self._owner(ctx, "create", new.user_id)
        with self.db.session() as s:
            if self._over_quota(s, ctx, owner, 1):
                raise OverQuota("Quota exceeded, too many key pairs.")
        private_key: str | None = None
        if new.public_key is None:
            generated = generate(owner, new.type)
            public_key, fp, private_key = (generated.public_key, generated.fingerprint,
                                           generated.private_key)
        else:
            public_key, fp = new.public_key, fingerprint(new.public_key, new.type)
        duplicate = Conflict(f"Key pair '{new.name}' already exists.")
        try:
            with self.db.session() as s:
                if s.exec(select(KeyPair).where(KeyPair.user_id == owner)
                          .where(KeyPair.name == new.name)).first() is not None:
                    raise duplicate
                row = KeyPair(name=new.name, user_id=owner, fingerprint=fp,
                              public_key=public_key, type=new.type, created_at=_now())
                s.add(row)
                s.flush()
                # Nova rechecks the quota after the insert, against concurrent creates.
                if self._over_quota(s, ctx, owner, 0):
                    raise OverQuota("Quota exceeded, too many key pairs.")
                return _record(row, private_key)
        except IntegrityError:
            raise duplicate from None

    def delete(self, ctx: RequestContext, name: str, user_id: str | None = None) -> None:
        owner = self._owner(ctx, "delete", user_id)
        with self.db.session() as s:
            s.delete(self._row(s, owner, name))
