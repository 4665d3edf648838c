"""The identity domain: seeding, authentication, tokens and admin CRUD (Keystone v3 semantics).

Knows nothing of HTTP. Roles are re-read at every validation, as Keystone does, so a
revoked assignment, a deleted user or a deleted project invalidates tokens at once.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from emulator.config import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, Account
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from emulator.identity.models import Domain, Project, Role, RoleAssignment, Token, User
from emulator.identity.passwords import hash_password, verify_password

#: Roles created at start-up, and the roles each one implies (keystone-manage bootstrap).
BOOTSTRAP_ROLES: tuple[str, ...] = ("admin", "member", "reader", "manager", "service")
IMPLIED_ROLES: dict[str, tuple[str, ...]] = {
    "admin": ("member",),
    "member": ("reader",),
    "manager": ("member",),
}

_Row = TypeVar("_Row", bound=SQLModel)

_IDENTITY_TABLES = (Domain, Project, Role, RoleAssignment, Token, User)
_VALIDATION_CACHE_SIZE = 10000

AUTH_FAILED = "The request you have made requires authentication."
#: Keystone's words for an expired or revoked token (``TokenNotFound``, a 404).
VALIDATION_FAILED = "Failed to validate token"


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class RoleRef:
    id: str
    name: str


@dataclass(frozen=True)
class NamedRef:
    """A user or project as a token shows it: id, name and domain."""

    id: str
    name: str
    domain_id: str
    domain_name: str


@dataclass(frozen=True)
class TokenInfo:
    """What a valid token says about its bearer."""

    user: NamedRef
    project: NamedRef | None
    roles: tuple[RoleRef, ...]
    methods: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    audit_ids: tuple[str, ...]

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.roles)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.role_names


@dataclass(frozen=True)
class IssuedToken:
    token: str
    info: TokenInfo


@dataclass(frozen=True)
class Assignment:
    """One (possibly implied) role assignment of a user on a project, with names."""

    user: User
    user_domain_name: str
    project: Project
    project_domain_name: str
    role: Role
    #: The role this one is implied by, for an implied (effective) assignment.
    prior_role_id: str | None = None


@dataclass(frozen=True)
class UserSelector:
    """A user named by id, or by name within a domain given by id or name."""

    id: str | None = None
    name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None


@dataclass(frozen=True)
class ProjectSelector:
    id: str | None = None
    name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None


def _duplicate(row: SQLModel) -> str:
    """The details of Keystone's 409 for a duplicate ``row`` (a sentence, with its dot).

    Projects and domains (projects acting as domains) have their own words in
    keystone.resource.core; users and roles get keystone.common.sql's generic ones.
    """
    name = getattr(row, "name", "")
    if isinstance(row, Domain):
        return ("it is not permitted to have two projects acting as domains with the same "
                f"name: {name}.")
    if isinstance(row, Project):
        return ("it is not permitted to have two projects with either the same name or same "
                f"id in the same domain: name is {name}, project id {row.id}.")
    domain_id = getattr(row, "domain_id", None)
    if domain_id:
        return f"Duplicate entry found with name {name} at domain ID {domain_id}."
    return f"Duplicate entry found with name {name}."


def expand_implied(names: Iterable[str]) -> set[str]:
    """The role names ``names`` grant once implied roles are followed."""
    result: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in result:
            result.add(name)
            todo.extend(IMPLIED_ROLES.get(name, ()))
    return result


class IdentityService:
    def __init__(self, db: Database, token_ttl: timedelta) -> None:
        self.db = db
        self.token_ttl = token_ttl
        #: Validated tokens by key hash, with the identity generation they were read at.
        self._validated: dict[str, tuple[int, TokenInfo]] = {}
        self._generation = 0
        event.listen(Session, "after_flush", self._on_flush)

    def _on_flush(self, session: Session, _context: Any) -> None:
        """Any write to an identity table (a revocation, a deleted user, a removed role)
        makes every cached validation stale.

        NOTE: the cache is per process; several API workers on one PostgreSQL database
        would each see another's revocation only when their own cache entry is redone.
        """
        for row in (*session.new, *session.dirty, *session.deleted):
            if isinstance(row, _IDENTITY_TABLES):
                self._generation += 1
                self._validated.clear()
                return

    # -- seeding -------------------------------------------------------------------------

    def seed(self, accounts: Sequence[Account]) -> None:
        """Create the default domain, bootstrap roles and ``accounts``; idempotent."""
        with self.db.session() as s:
            if s.get(Domain, DEFAULT_DOMAIN_ID) is None:
                s.add(Domain(id=DEFAULT_DOMAIN_ID, name=DEFAULT_DOMAIN_NAME,
                             description="The default domain"))
            roles = {r.name: r for r in s.exec(select(Role)).all()}
            for name in BOOTSTRAP_ROLES + tuple(r for a in accounts for r in a.roles):
                if name not in roles:
                    roles[name] = Role(id=new_id(), name=name)
                    s.add(roles[name])
            s.flush()
            for account in accounts:
                project = self._find_project(s, account.project, DEFAULT_DOMAIN_ID)
                if project is None:
                    project = Project(id=new_id(), name=account.project,
                                      domain_id=DEFAULT_DOMAIN_ID)
                    s.add(project)
                user = self._find_user(s, account.user, DEFAULT_DOMAIN_ID)
                if user is None:
                    user = User(id=new_id(), name=account.user, domain_id=DEFAULT_DOMAIN_ID,
                                password_hash=hash_password(account.password),
                                default_project_id=project.id)
                    s.add(user)
                s.flush()
                for role_name in account.roles:
                    key = (user.id, project.id, roles[role_name].id)
                    if s.get(RoleAssignment, key) is None:
                        s.add(RoleAssignment(user_id=user.id, project_id=project.id,
                                             role_id=roles[role_name].id))

    # -- lookups -------------------------------------------------------------------------

    @staticmethod
    def _find_project(s: Session, name: str, domain_id: str) -> Project | None:
        stmt = select(Project).where(Project.name == name, Project.domain_id == domain_id)
        return s.exec(stmt).first()

    @staticmethod
    def _find_user(s: Session, name: str, domain_id: str) -> User | None:
        return s.exec(select(User).where(User.name == name, User.domain_id == domain_id)).first()

    @staticmethod
    def _resolve_domain(s: Session, domain_id: str | None, domain_name: str | None) -> Domain:
        domain: Domain | None = None
        if domain_id is not None:
            domain = s.get(Domain, domain_id)
        elif domain_name is not None:
            domain = s.exec(select(Domain).where(Domain.name == domain_name)).first()
        if domain is None or not domain.enabled:
            raise NotAuthenticated(AUTH_FAILED)
        return domain

    def _roles_on(self, s: Session, user_id: str, project_id: str) -> tuple[RoleRef, ...]:
        stmt = (
            select(Role)
            .join(RoleAssignment, col(RoleAssignment.role_id) == col(Role.id))
            .where(RoleAssignment.user_id == user_id, RoleAssignment.project_id == project_id)
        )
        direct = {r.name for r in s.exec(stmt).all()}
        if not direct:
            return ()
        names = expand_implied(direct)
        rows = s.exec(select(Role).where(col(Role.name).in_(names))).all()
        return tuple(sorted((RoleRef(r.id, r.name) for r in rows), key=lambda r: r.name))

    # -- authentication ------------------------------------------------------------------

    def authenticate(
        self,
        *,
        methods: Sequence[str],
        user: UserSelector | None,
        password: str | None,
        token: str | None,
        project: ProjectSelector | None,
        unscoped: bool = False,
    ) -> IssuedToken:
        """Issue a token for a password or an existing token, scoped to ``project``.

        Checked in Keystone's order: the requested scope (401), then every method named
        (a password's failures are 401; the token method validates its token fully, as
        token validation does, and answers its 404), the default project, then the roles
        on the project (401). A rescoped token keeps its token's expiry and audit chain.
        """
        now = utcnow()
        with self.db.session() as s:
            project_row = self._project_for_scope(s, project) if project is not None else None
            user_ids: set[str] = set()
            expires_at = now + self.token_ttl
            parent_audit: str | None = None
            all_methods: list[str] = []
            for method in methods:
                if method == "token":
                    assert token is not None
                    parent, _info = self._checked(s, token, now)
                    user_ids.add(parent.user_id)
                    expires_at = parent.expires_at
                    parent_audit = parent.parent_audit_id or parent.audit_id
                    all_methods += ["token", *parent.methods.split(",")]
                else:
                    assert user is not None
                    user_ids.add(self._user_for_password(s, user, password).id)
                    all_methods.append(method)
            if len(user_ids) != 1:
                # Keystone cannot reconcile two users from two methods: 401.
                raise NotAuthenticated(AUTH_FAILED)
            user_id = user_ids.pop()
            if project_row is None and not unscoped:
                project_row = self._default_project(s, user_id)
            if project_row is not None and not self._roles_on(s, user_id, project_row.id):
                raise NotAuthenticated(AUTH_FAILED)
            secret = secrets.token_urlsafe(32)
            row = Token(
                key_hash=_token_hash(secret),
                user_id=user_id,
                project_id=project_row.id if project_row else None,
                methods=",".join(dict.fromkeys(all_methods)),
                issued_at=now,
                expires_at=expires_at,
                audit_id=secrets.token_urlsafe(16),
                parent_audit_id=parent_audit,
            )
            s.add(row)
            s.flush()
            return IssuedToken(token=secret, info=self._checked(s, secret, now)[1])

    def _default_project(self, s: Session, user_id: str) -> Project | None:
        """The user's default project if it and its domain are enabled and the user has a
        role there; Keystone issues an unscoped token otherwise."""
        user = s.get(User, user_id)
        if user is None or not user.default_project_id:
            return None
        project = s.get(Project, user.default_project_id)
        if project is None or not project.enabled or not self._roles_on(s, user_id, project.id):
            return None
        domain = s.get(Domain, project.domain_id)
        return project if domain is not None and domain.enabled else None

    def _user_for_password(
        self, s: Session, sel: UserSelector, password: str | None
    ) -> User:
        if sel.id is not None:
            user = s.get(User, sel.id)
            if user is not None:
                self._resolve_domain(s, user.domain_id, None)  # its domain must be enabled
        else:
            assert sel.name is not None
            domain = self._resolve_domain(s, sel.domain_id, sel.domain_name)
            user = self._find_user(s, sel.name, domain.id)
        if (user is None or password is None or not user.enabled
                or not verify_password(password, user.password_hash)):
            raise NotAuthenticated(AUTH_FAILED)
        return user

    def _project_for_scope(self, s: Session, sel: ProjectSelector) -> Project:
        if sel.id is not None:
            project = s.get(Project, sel.id)
            if project is not None:
                self._resolve_domain(s, project.domain_id, None)
        else:
            assert sel.name is not None
            domain = self._resolve_domain(s, sel.domain_id, sel.domain_name)
            project = self._find_project(s, sel.name, domain.id)
        if project is None or not project.enabled:
            raise NotAuthenticated(AUTH_FAILED)
        return project

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
        roles = self._roles_on(s, user.id, project_ref.id) if project_ref else ()
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

    def validate_subject(self, token: str) -> TokenInfo:
        """What ``token`` grants; Keystone's ``NotFound`` (404) when it is not valid.

        Validations are cached until any identity table changes or the token expires, so
        the common case costs one dictionary lookup instead of six queries.
        """
        key = _token_hash(token)
        cached = self._validated.get(key)
        if cached is not None and cached[0] == self._generation:
            if cached[1].expires_at > utcnow():
                return cached[1]
            del self._validated[key]
        generation = self._generation
        with self.db.session() as s:
            _row, info = self._checked(s, token, utcnow())
        if generation == self._generation:
            if len(self._validated) >= _VALIDATION_CACHE_SIZE:
                self._validated.clear()
            self._validated[key] = (generation, info)
        return info

    def validate(self, token: str) -> TokenInfo:
        """What the bearer's ``token`` grants; ``NotAuthenticated`` when it is not valid."""
        try:
            return self.validate_subject(token)
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

    @staticmethod
    def _revoke_user_tokens(s: Session, user_id: str) -> None:
        """Keystone's revocation event for a user: every token issued so far is invalid."""
        for row in s.exec(select(Token).where(Token.user_id == user_id)).all():
            row.revoked = True
            s.add(row)

    def project_exists(self, project_id: str) -> bool:
        """Whether a project with this id exists (compute checks tenants it is told of)."""
        with self.db.session() as s:
            return s.get(Project, project_id) is not None

    def projects_of(self, user_id: str) -> list[Project]:
        """Enabled projects on which ``user_id`` has at least one role."""
        with self.db.session() as s:
            stmt = (
                select(Project)
                .join(RoleAssignment, col(RoleAssignment.project_id) == col(Project.id))
                .where(RoleAssignment.user_id == user_id, Project.enabled == True)  # noqa: E712
                .distinct()
                .order_by(col(Project.name))
            )
            return list(s.exec(stmt).all())

    # -- admin CRUD ----------------------------------------------------------------------

    @staticmethod
    def require_admin(info: TokenInfo, rule: str) -> None:
        if not info.is_admin:
            raise Forbidden(f"You are not authorized to perform the requested action: {rule}.")

    def list_rows(self, model: type[Any], filters: dict[str, Any]) -> list[Any]:
        with self.db.session() as s:
            stmt = select(model)
            for name, value in filters.items():
                stmt = stmt.where(getattr(model, name) == value)
            return list(s.exec(stmt.order_by(model.name)).all())

    def get_row(self, model: type[Any], row_id: str, kind: str) -> Any:
        with self.db.session() as s:
            row = s.get(model, row_id)
            if row is None:
                raise NotFound(f"Could not find {kind}: {row_id}.")
            return row

    def create_domain(self, name: str, description: str, enabled: bool) -> Domain:
        row = Domain(id=new_id(), name=name, description=description, enabled=enabled)
        return self._insert(row, "project", _duplicate(row))

    def create_project(
        self, name: str, domain_id: str, description: str, enabled: bool
    ) -> Project:
        self.get_row(Domain, domain_id, "domain")
        row = Project(id=new_id(), name=name, domain_id=domain_id, description=description,
                      enabled=enabled)
        return self._insert(row, "project", _duplicate(row))

    def create_user(
        self,
        name: str,
        domain_id: str,
        password: str | None,
        enabled: bool,
        default_project_id: str | None,
        email: str | None,
        description: str,
    ) -> User:
        self.get_row(Domain, domain_id, "domain")
        self.check_default_project(default_project_id)
        # A user without a password cannot authenticate: store an unusable hash.
        stored = hash_password(password) if password is not None else "disabled$"
        row = User(id=new_id(), name=name, domain_id=domain_id, password_hash=stored,
                   enabled=enabled, default_project_id=default_project_id, email=email,
                   description=description)
        return self._insert(row, "user", _duplicate(row))

    def check_default_project(self, project_id: str | None) -> None:
        """Keystone accepts an unknown default project (for backward compatibility) but
        not a domain's id."""
        if project_id:
            with self.db.session() as s:
                if s.get(Domain, project_id) is not None:
                    raise InvalidInput(
                        f"User's default project ID cannot be a domain ID: {project_id}"
                    )

    def create_role(self, name: str, description: str) -> Role:
        row = Role(id=new_id(), name=name, description=description)
        return self._insert(row, "role", _duplicate(row))

    def _insert(self, row: _Row, kind: str, duplicate: str) -> _Row:
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            raise Conflict(f"Conflict occurred attempting to store {kind} - {duplicate}") from None
        return row

    def update_row(self, model: type[Any], row_id: str, kind: str, changes: dict[str, Any]) -> Any:
        try:
            with self.db.session() as s:
                row = s.get(model, row_id)
                if row is None:
                    raise NotFound(f"Could not find {kind}: {row_id}.")
                if model is User and (
                    changes.get("password") is not None
                    or (changes.get("enabled") is False and row.enabled)
                ):
                    # Keystone persists a revocation event for the user when its password
                    # changes or it is disabled: re-enabling it does not revive old tokens.
                    self._revoke_user_tokens(s, row_id)
                if "password" in changes:
                    row.password_hash = hash_password(changes.pop("password"))
                for name, value in changes.items():
                    setattr(row, name, value)
                s.add(row)
                s.flush()
                return row
        except IntegrityError:
            # Keystone words the conflict of an update like that of a create, except that
            # a user's update carries no domain_id (keystone.common.sql.handle_conflicts).
            name = changes.get("name", "")
            if model is Domain:
                details = _duplicate(Domain(id=row_id, name=name))
            elif model is Project:
                details = _duplicate(Project(id=row_id, name=name, domain_id=""))
            else:
                details = f"Duplicate entry found with name {name}."
            stored_as = "user" if model is User else "role" if model is Role else "project"
            raise Conflict(
                f"Conflict occurred attempting to store {stored_as} - {details}"
            ) from None

    def delete_domain(self, domain_id: str) -> None:
        """Delete a disabled domain and, as Keystone does, every project and user in it."""
        with self.db.session() as s:
            domain = s.get(Domain, domain_id)
            if domain is None:
                raise NotFound(f"Could not find domain: {domain_id}.")
            if domain.enabled:
                raise Forbidden(
                    "Cannot delete a domain that is enabled, please disable it first."
                )
            if domain_id == DEFAULT_DOMAIN_ID:
                # NOTE: Keystone would allow it; the seeded accounts live there.
                raise Forbidden("You are not authorized to delete the default domain.")
            projects = s.exec(select(Project).where(Project.domain_id == domain_id)).all()
            users = s.exec(select(User).where(User.domain_id == domain_id)).all()
            for project in projects:
                self._delete_project_rows(s, project)
            for user in users:
                self._delete_assignments(s, col(RoleAssignment.user_id) == user.id)
                s.delete(user)
            s.flush()
            s.delete(domain)

    def delete_project(self, project_id: str) -> None:
        with self.db.session() as s:
            project = s.get(Project, project_id)
            if project is None:
                raise NotFound(f"Could not find project: {project_id}.")
            self._delete_project_rows(s, project)

    def _delete_project_rows(self, s: Session, project: Project) -> None:
        """Delete ``project``, its assignments, and unset it as anyone's default project."""
        self._delete_assignments(s, col(RoleAssignment.project_id) == project.id)
        for user in s.exec(select(User).where(User.default_project_id == project.id)).all():
            user.default_project_id = None
            s.add(user)
        s.flush()
        s.delete(project)
        s.flush()

    def delete_user(self, user_id: str) -> None:
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound(f"Could not find user: {user_id}.")
            self._delete_assignments(s, col(RoleAssignment.user_id) == user_id)
            self._revoke_user_tokens(s, user_id)
            s.delete(user)

    def delete_role(self, role_id: str) -> None:
        with self.db.session() as s:
            role = s.get(Role, role_id)
            if role is None:
                raise NotFound(f"Could not find role: {role_id}.")
            self._delete_assignments(s, col(RoleAssignment.role_id) == role_id)
            s.delete(role)

    @staticmethod
    def _delete_assignments(s: Session, condition: Any) -> None:
        for assignment in s.exec(select(RoleAssignment).where(condition)).all():
            s.delete(assignment)
        s.flush()

    # -- role assignments ----------------------------------------------------------------

    def _check_triplet(self, s: Session, project_id: str, user_id: str, role_id: str) -> None:
        for model, row_id, kind in ((Project, project_id, "project"), (User, user_id, "user"),
                                    (Role, role_id, "role")):
            if s.get(model, row_id) is None:
                raise NotFound(f"Could not find {kind}: {row_id}.")

    def grant(self, project_id: str, user_id: str, role_id: str) -> None:
        with self.db.session() as s:
            self._check_triplet(s, project_id, user_id, role_id)
            if s.get(RoleAssignment, (user_id, project_id, role_id)) is None:
                s.add(RoleAssignment(user_id=user_id, project_id=project_id, role_id=role_id))

    def check_grant(self, project_id: str, user_id: str, role_id: str) -> None:
        with self.db.session() as s:
            self._check_triplet(s, project_id, user_id, role_id)
            if s.get(RoleAssignment, (user_id, project_id, role_id)) is None:
                raise NotFound(
                    f"Could not find role assignment with role: {role_id}, user or group: "
                    f"{user_id}, project, domain, or system: {project_id}."
                )

    def revoke_grant(self, project_id: str, user_id: str, role_id: str) -> None:
        self.check_grant(project_id, user_id, role_id)
        with self.db.session() as s:
            row = s.get(RoleAssignment, (user_id, project_id, role_id))
            if row is not None:
                s.delete(row)

    def roles_granted(self, project_id: str, user_id: str) -> list[Role]:
        with self.db.session() as s:
            for model, row_id, kind in ((Project, project_id, "project"),
                                        (User, user_id, "user")):
                if s.get(model, row_id) is None:
                    raise NotFound(f"Could not find {kind}: {row_id}.")
            stmt = (
                select(Role)
                .join(RoleAssignment, col(RoleAssignment.role_id) == col(Role.id))
                .where(RoleAssignment.user_id == user_id, RoleAssignment.project_id == project_id)
                .order_by(col(Role.name))
            )
            return list(s.exec(stmt).all())

    def assignments(
        self,
        *,
        user_id: str | None = None,
        project_id: str | None = None,
        role_id: str | None = None,
        effective: bool = False,
    ) -> list[Assignment]:
        """Role assignments matching the filters; ``effective`` adds the implied roles.

        An implied assignment names the role it was implied by (``prior_role_id``), as
        Keystone's ``indirect.role_id`` does; the role filter applies after expansion.
        """
        with self.db.session() as s:
            stmt = (
                select(Role, User, Project)
                .join(RoleAssignment, col(Role.id) == col(RoleAssignment.role_id))
                .join(User, col(User.id) == col(RoleAssignment.user_id))
                .join(Project, col(Project.id) == col(RoleAssignment.project_id))
            )
            if user_id is not None:
                stmt = stmt.where(RoleAssignment.user_id == user_id)
            if project_id is not None:
                stmt = stmt.where(RoleAssignment.project_id == project_id)
            domains = {d.id: d.name for d in s.exec(select(Domain)).all()}
            rows = [
                Assignment(user=u, user_domain_name=domains.get(u.domain_id, u.domain_id),
                           project=p, project_domain_name=domains.get(p.domain_id, p.domain_id),
                           role=r)
                for r, u, p in s.exec(stmt).all()
            ]
            if effective:
                roles_by_name = {r.name: r for r in s.exec(select(Role)).all()}
                seen = {(a.user.id, a.project.id, a.role.id) for a in rows}
                todo = list(rows)
                while todo:
                    prior = todo.pop(0)
                    for name in IMPLIED_ROLES.get(prior.role.name, ()):
                        implied = roles_by_name.get(name)
                        if implied is None:
                            continue
                        key = (prior.user.id, prior.project.id, implied.id)
                        if key in seen:
                            continue
                        seen.add(key)
                        row = replace(prior, role=implied, prior_role_id=prior.role.id)
                        rows.append(row)
                        todo.append(row)
            if role_id is not None:
                rows = [a for a in rows if a.role.id == role_id]
            return rows
