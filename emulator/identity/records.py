"""What the identity domain takes and hands out: frozen records, never its tables.

The admin API shows domains, projects, users and roles as ``*Record``s; a token's holder
is a ``TokenInfo``; ``POST /v3/auth/tokens`` arrives as an ``AuthRequest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: The entities of the admin API, by the name Keystone gives them in paths and messages.
Kind = Literal["domain", "project", "user", "role"]


@dataclass(frozen=True)
class DomainRecord:
    id: str
    name: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class ProjectRecord:
    id: str
    name: str
    domain_id: str
    description: str
    enabled: bool


@dataclass(frozen=True)
class UserRecord:
    """A user as the API shows it (its password hash stays in the table)."""

    id: str
    name: str
    domain_id: str
    enabled: bool
    default_project_id: str | None
    email: str | None
    description: str


@dataclass(frozen=True)
class RoleRecord:
    id: str
    name: str
    description: str


Record = DomainRecord | ProjectRecord | UserRecord | RoleRecord

@dataclass(frozen=True)
class Assignment:
    """One (possibly implied) role assignment of a user on a project, with names."""

    user: UserRecord
    user_domain_name: str
    project: ProjectRecord
    project_domain_name: str
    role: RoleRecord
    #: The role this one is implied by, for an implied (effective) assignment.
    prior_role_id: str | None = None


@dataclass(frozen=True)
class Selector:
    """A user or project named by id, or by name within a domain given by id or name."""

    id: str | None = None
    name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None


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
class AuthRequest:
    """``POST /v3/auth/tokens`` once parsed: the methods, their credentials, the scope."""

    methods: tuple[str, ...]
    user: Selector | None = None
    password: str | None = None
    token: str | None = None
    project: Selector | None = None
    #: An explicit ``unscoped``: no default project either.
    unscoped: bool = False
