"""Identity tables: domains, projects, users, roles, role assignments, tokens, and the
epoch row API workers follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Domain(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(index=True, unique=True, max_length=64)
    description: str = ""
    enabled: bool = True


class Project(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(index=True, max_length=64)
    domain_id: str = Field(foreign_key="domain.id", max_length=64)
    description: str = ""
    enabled: bool = True


class User(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(index=True, max_length=255)
    domain_id: str = Field(foreign_key="domain.id", max_length=64)
    #: ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``; never the password itself.
    password_hash: str
    enabled: bool = True
    default_project_id: str | None = None
    email: str | None = None
    description: str = ""


class Role(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(index=True, unique=True, max_length=255)
    description: str = ""


class RoleAssignment(SQLModel, table=True):
    """A role granted to a user on a project (the only assignment kind we model)."""

    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=64)
    project_id: str = Field(foreign_key="project.id", primary_key=True, max_length=64)
    role_id: str = Field(foreign_key="role.id", primary_key=True, max_length=64)


class Token(SQLModel, table=True):
    """An issued token, keyed by the SHA-256 of its secret (the secret is never stored)."""

    key_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(index=True, max_length=64)
    project_id: str | None = Field(default=None, index=True, max_length=64)
    methods: str  # comma separated, e.g. "password" or "password,token"
    issued_at: datetime
    expires_at: datetime
    audit_id: str = Field(max_length=64)
    #: The audit id of the token this one was made from (``token`` method), if any.
    parent_audit_id: str | None = None
    revoked: bool = False



class WorkerEpoch(SQLModel, table=True):
    """One row that API workers sharing the database (``--workers``) follow: ``identity``
    is bumped by every write to an identity table (each worker's cache of validated tokens
    follows it), ``fault_rules`` is how many fault rules the leader holds (followers then
    leave every request to it)."""

    __tablename__ = "worker_epoch"
    id: int = Field(default=1, primary_key=True)
    identity: int = 0
    fault_rules: int = 0
