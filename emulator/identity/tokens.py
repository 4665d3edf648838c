"""Tokens: issued for a password or another token, validated and revoked as Keystone does.

Keystone re-reads what a token names at every validation (``validate_token``), so a
removed role, a deleted user or a deleted project invalidates its tokens at once. The
``token`` auth method validates its token the same way before it issues anything: a
token that is refused everywhere cannot be exchanged for a fresh one.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import event, update
from sqlmodel import Session, select

from emulator.db import Database
from emulator.errors import NotAuthenticated, NotFound
from emulator.identity.lookups import AUTH_FAILED, find_selected, roles_on, utcnow
from emulator.identity.models import (
    Domain,
    Project,
    Role,
    RoleAssignment,
    Token,
    User,
    WorkerEpoch,
)
from emulator.identity.passwords import verify_password
from emulator.identity.records import AuthRequest, IssuedToken, NamedRef, Selector, TokenInfo

#: Keystone's words for an expired or revoked token (``TokenNotFound``, a 404).
VALIDATION_FAILED = "Failed to validate token"

#: The request (its task) that read the identity epoch last in this context: a follower
#: worker validates a token to route the request, then its service does again.
_EPOCH_READ: ContextVar[object | None] = ContextVar("identity_epoch_read", default=None)


def _current_task() -> object | None:
    """The asyncio task this runs in (None outside one: the epoch is then always read)."""
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
_IDENTITY_TABLES = (Domain, Project, Role, RoleAssignment, Token, User)
_VALIDATION_CACHE_SIZE = 10000


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def revoke_user_tokens(s: Session, user_id: str) -> None:
    """Keystone's revocation event for a user: every token issued so far is invalid."""
    for row in s.exec(select(Token).where(Token.user_id == user_id)).all():
        row.revoked = True
        s.add(row)


@dataclass(frozen=True)
class _Proof:
    """What one auth method established (a piece of Keystone's auth context)."""

    user_id: str
    methods: tuple[str, ...]
    #: A token method's token: the new token ends when it does, in its audit chain.
    expires_at: datetime | None = None
    audit_chain_id: str | None = None


class Tokens:
    def __init__(self, db: Database, token_ttl: timedelta, shared: bool = False) -> None:
        """``shared``: other processes (API workers) write the same database: the identity
        generation is then the database's ``worker_epoch`` row, read at each validation
        (one query by key), so that another worker's revocation is seen at once."""
        self.db = db
        self.token_ttl = token_ttl
        self.shared = shared
        #: Validated tokens by key hash, with the identity generation they were read at.
        self._validated: dict[str, tuple[int, TokenInfo]] = {}
        self._generation = 0
        #: Shared: the leader's fault rules, as of the last ``follow_epoch``.
        self.leader_fault_rules = 0
        if shared:
            with db.session() as s:
                if s.get(WorkerEpoch, 1) is None:
                    s.add(WorkerEpoch(id=1))
        event.listen(Session, "after_flush", self._on_flush)

    def _on_flush(self, session: Session, _context: Any) -> None:
        """Any write to an identity table (a revocation, a deleted user, a removed role)
        makes every cached validation stale (every worker's, when ``shared``)."""
        # (a token issued makes no validation stale: new Token rows are not a change)
        new = (row for row in session.new if not isinstance(row, Token))
        for row in (*new, *session.dirty, *session.deleted):
            if isinstance(row, _IDENTITY_TABLES):
                self._generation += 1
                self._validated.clear()
                if self.shared:
                    session.connection().execute(update(WorkerEpoch).values(
                        identity=WorkerEpoch.identity + 1))
                return

    def follow_epoch(self) -> None:
        """Shared: read the ``worker_epoch`` row, once per request (asyncio task): the
        identity generation (the cache cleared if it moved), and the leader's count of
        fault rules that the same row carries (``leader_fault_rules``)."""
        task = _current_task()
        if task is not None and _EPOCH_READ.get() is task:
            return
        with self.db.reading() as connection:
            epoch, self.leader_fault_rules = connection.execute(
                select(WorkerEpoch.identity, WorkerEpoch.fault_rules)).one()
        if epoch != self._generation:
            self._generation = epoch
            self._validated.clear()
        _EPOCH_READ.set(task)

    # -- issue ---------------------------------------------------------------------------

    def authenticate(self, request: AuthRequest) -> IssuedToken:
        """Issue a token, checked in Keystone's order: the requested scope (401), each
        method (a password's failures are 401, a token's are its validation's 404), the
        default project, then the roles on the project (401)."""
        now = utcnow()
        with self.db.session() as s:
            project = self._scope(s, request.project) if request.project else None
            proofs = [self._METHODS[method](self, s, request) for method in request.methods]
            users = {proof.user_id for proof in proofs}
            if len(users) != 1:
                # Keystone cannot reconcile two users from two methods: 401.
                raise NotAuthenticated(AUTH_FAILED)
            user_id = users.pop()
            if project is None and not request.unscoped:
                project = self._default_project(s, user_id)
            if project is not None and not roles_on(s, user_id, project.id):
                raise NotAuthenticated(AUTH_FAILED)
            expiries = [p.expires_at for p in proofs if p.expires_at is not None]
            secret = secrets.token_urlsafe(32)
            row = Token(
                key_hash=_token_hash(secret),
                user_id=user_id,
                project_id=project.id if project else None,
                methods=",".join(dict.fromkeys(m for p in proofs for m in p.methods)),
                issued_at=now,
                expires_at=min(expiries) if expiries else now + self.token_ttl,
                audit_id=secrets.token_urlsafe(16),
                parent_audit_id=next((p.audit_chain_id for p in proofs if p.audit_chain_id),
                                     None),
            )
            s.add(row)
            s.flush()
            return IssuedToken(token=secret, info=self._checked(s, secret, now)[1])

    def _by_password(self, s: Session, request: AuthRequest) -> _Proof:
        assert request.user is not None
        user = find_selected(s, User, request.user)
        password = request.password
        if (user is None or password is None or not user.enabled
                or not verify_password(password, user.password_hash)):
            raise NotAuthenticated(AUTH_FAILED)
        return _Proof(user.id, ("password",))

    def _by_token(self, s: Session, request: AuthRequest) -> _Proof:
        """Keystone's token method: the token must pass a full validation.

        The new token keeps the original's expiry (rescoping never extends a login) and
        its audit chain id (the first token's audit id)."""
        assert request.token is not None
        row, _info = self._checked(s, request.token, utcnow())
        return _Proof(row.user_id, ("token", *row.methods.split(",")), row.expires_at,
                      row.parent_audit_id or row.audit_id)

    #: Each auth method's check, in Keystone's words its plugin.
    _METHODS: ClassVar[dict[str, Callable[[Tokens, Session, AuthRequest], _Proof]]] = {
        "password": _by_password,
        "token": _by_token,
    }
    METHODS: ClassVar[tuple[str, ...]] = tuple(_METHODS)

    @staticmethod
    def _scope(s: Session, sel: Selector) -> Project:
        """The project a request scopes to: it and its domain exist and are enabled."""
        project = find_selected(s, Project, sel)
        if project is None or not project.enabled:
            raise NotAuthenticated(AUTH_FAILED)
        return project

    @staticmethod
    def _default_project(s: Session, user_id: str) -> Project | None:
        """The user's default project if it and its domain are enabled and the user has a
        role there; Keystone issues an unscoped token otherwise."""
        user = s.get(User, user_id)
        if user is None or not user.default_project_id:
            return None
        project = s.get(Project, user.default_project_id)
        if project is None or not project.enabled or not roles_on(s, user_id, project.id):
            return None
        domain = s.get(Domain, project.domain_id)
        return project if domain is not None and domain.enabled else None

    # -- validate ------------------------------------------------------------------------

    @staticmethod
    def _enabled_domain(s: Session, domain_id: str) -> Domain:
        domain = s.get(Domain, domain_id)
        if domain is None:
            raise NotFound(f"Could not find domain: {domain_id}.")
        if not domain.enabled:
            raise NotFound(f"Unable to validate token because domain {domain_id} is disabled")
        return domain

    def _checked(self, s: Session, token: str, now: datetime) -> tuple[Token, TokenInfo]:
        """``token``'s row and what it grants now, or Keystone's ``NotFound`` for it.

        Keystone's order (``TokenModel.mint``, then ``_is_valid_token``): the project
        (gone, disabled, its domain disabled), the user (gone, its domain disabled), a
        role on the project (else the token is not found), then expiry and revocation;
        disabling a user revokes its tokens.
        """
        not_found = NotFound(f"Could not find token: {token}.")
        row = s.get(Token, _token_hash(token))
        if row is None:
            raise not_found
        project_ref: NamedRef | None = None
        if row.project_id is not None:
            project = s.get(Project, row.project_id)
            if project is None:
                raise NotFound(f"Could not find project: {row.project_id}.")
            if not project.enabled:
                raise NotFound(
                    f"Unable to validate token because project {project.id} is disabled")
            domain = self._enabled_domain(s, project.domain_id)
            project_ref = NamedRef(project.id, project.name, domain.id, domain.name)
        user = s.get(User, row.user_id)
        if user is None:
            raise NotFound(f"Could not find user: {row.user_id}.")
        user_domain = self._enabled_domain(s, user.domain_id)
        roles = roles_on(s, user.id, project_ref.id) if project_ref else ()
        if project_ref is not None and not roles:
            raise not_found
        if row.expires_at <= now or row.revoked:
            raise NotFound(VALIDATION_FAILED)
        if not user.enabled:
            raise not_found
        return row, TokenInfo(
            user=NamedRef(user.id, user.name, user_domain.id, user_domain.name),
            project=project_ref,
            roles=roles,
            methods=tuple(row.methods.split(",")),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            audit_ids=(row.audit_id,) + ((row.parent_audit_id,) if row.parent_audit_id else ()),
        )

    def inspect(self, token: str) -> TokenInfo:
        """What ``token`` grants; Keystone's ``NotFound`` (404) when it is not valid.

        Validations are cached until any identity table changes or the token expires, so
        the common case costs one dictionary lookup instead of six queries.
        """
        key = _token_hash(token)
        if self.shared:
            self.follow_epoch()
        cached = self._validated.get(key)
        if cached is not None and cached[0] == self._generation:
            if cached[1].expires_at > utcnow():
                return cached[1]
            del self._validated[key]
        generation = self._generation
        with self.db.session() as s:
            # shared: the epoch was read before the rows (a change in between is seen
            # at the next validation, as the epoch moved)
            _row, info = self._checked(s, token, utcnow())
        if generation == self._generation:
            if len(self._validated) >= _VALIDATION_CACHE_SIZE:
                self._validated.clear()
            self._validated[key] = (generation, info)
        return info

    def validate(self, token: str) -> TokenInfo:
        """What the bearer's ``token`` grants; ``NotAuthenticated`` when not valid."""
        try:
            return self.inspect(token)
        except NotFound:
            raise NotAuthenticated(AUTH_FAILED) from None

    def revoke(self, token: str) -> None:
        """Revoke ``token`` alone, as ``DELETE /v3/auth/tokens`` does in Keystone.

        Keystone revokes by the token's own audit id (``revoke_chain=False``), so tokens
        rescoped from it (which carry it as their audit chain id) stay valid.
        """
        with self.db.session() as s:
            row, _info = self._checked(s, token, utcnow())
            row.revoked = True
            s.add(row)
