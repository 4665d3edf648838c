"""Reads the identity modules share (inside the caller's session), rows to records, and
the bootstrap roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from emulator.errors import NotAuthenticated, NotFound
from emulator.identity.models import Domain, Project, Role, RoleAssignment, User
from emulator.identity.records import (
    DomainRecord,
    Kind,
    ProjectRecord,
    RoleRecord,
    RoleRef,
    Selector,
    UserRecord,
)
from emulator.ids import new_uuid

#: Roles created at start-up, and the roles each one implies (keystone-manage bootstrap).
BOOTSTRAP_ROLES: tuple[str, ...] = ("admin", "member", "reader", "manager", "service")
IMPLIED_ROLES: dict[str, tuple[str, ...]] = {
    "admin": ("member",),
    "member": ("reader",),
    "manager": ("member",),
}

#: Keystone's one answer to every failure to prove an identity.
AUTH_FAILED = "The request you have made requires authentication."

#: Each table's record.
RECORDS: dict[type[SQLModel], type[Any]] = {
    Domain: DomainRecord,
    Project: ProjectRecord,
    User: UserRecord,
    Role: RoleRecord,
}

#: The table of each kind of entity.
TABLES: dict[Kind, type[SQLModel]] = {
    "domain": Domain,
    "project": Project,
    "user": User,
    "role": Role,
}

_Named = TypeVar("_Named", Project, User)


def new_id() -> str:
    return new_uuid().replace("-", "")


def utcnow() -> datetime:
    return datetime.now(UTC)


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


def record_of(row: SQLModel) -> Any:
    """The record of ``row`` (a ``Domain``, ``Project``, ``User`` or ``Role``)."""
    cls = RECORDS[type(row)]
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def get_or_404(s: Session, kind: Kind, row_id: str) -> Any:
    """The row of ``kind`` with this id; Keystone's 404 when there is none."""
    row = s.get(TABLES[kind], row_id)
    if row is None:
        raise NotFound(f"Could not find {kind}: {row_id}.")
    return row


def find_named(s: Session, table: type[_Named], name: str, domain_id: str) -> _Named | None:
    """The project or user called ``name`` in a domain."""
    stmt = select(table).where(table.name == name, table.domain_id == domain_id)
    return s.exec(stmt).first()


def auth_domain(s: Session, domain_id: str | None, domain_name: str | None) -> Domain:
    """The enabled domain a credential or a scope names; 401 otherwise."""
    domain: Domain | None = None
    if domain_id is not None:
        domain = s.get(Domain, domain_id)
    elif domain_name is not None:
        domain = s.exec(select(Domain).where(Domain.name == domain_name)).first()
    if domain is None or not domain.enabled:
        raise NotAuthenticated(AUTH_FAILED)
    return domain


def find_selected(s: Session, table: type[_Named], sel: Selector) -> _Named | None:
    """The project or user a credential or a scope names: by id (its domain must be
    enabled), or by name in an enabled domain; 401 for a missing or disabled domain."""
    if sel.id is not None:
        row = s.get(table, sel.id)
        if row is not None:
            auth_domain(s, row.domain_id, None)
        return row
    assert sel.name is not None
    domain = auth_domain(s, sel.domain_id, sel.domain_name)
    return find_named(s, table, sel.name, domain.id)


def domain_names(s: Session) -> dict[str, str]:
    return {d.id: d.name for d in s.exec(select(Domain)).all()}


def roles_on(s: Session, user_id: str, project_id: str) -> tuple[RoleRef, ...]:
    """The roles ``user_id`` holds on ``project_id``, implied ones included, by name."""
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
