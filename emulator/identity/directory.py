"""Admin CRUD of domains, projects, users and roles, by kind, with Keystone's answers.

Each kind is a row of ``KINDS``: its table, the fields a create may set and an update may
change, and the words of Keystone's 409 for a duplicate. Deleting cascades as Keystone
does (a domain's projects and users, anyone's role assignments on what goes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from emulator.config import DEFAULT_DOMAIN_ID
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput
from emulator.identity.lookups import TABLES, get_or_404, new_id, record_of
from emulator.identity.models import Domain, Project, RoleAssignment, User
from emulator.identity.passwords import hash_password
from emulator.identity.records import Kind, Record
from emulator.identity.tokens import revoke_user_tokens

#: Stored for a user created without a password: it can never authenticate.
UNUSABLE_PASSWORD = "disabled$"

_NAME_DESCRIPTION_ENABLED = frozenset({"name", "description", "enabled"})
_USER_FIELDS = frozenset({"name", "description", "enabled", "password", "default_project_id",
                          "email"})
_GENERIC_DUPLICATE = "Duplicate entry found with name {name}."


@dataclass(frozen=True)
class KindSpec:
    updatable: frozenset[str]
    #: Fields only a create sets (``domain_id``: in which domain).
    create_only: frozenset[str] = frozenset()
    #: Keystone's 409 reads "Conflict occurred attempting to store <stored_as> - <details>";
    #: details are formatted with the row's ``name``, ``id`` and ``domain_id``.
    stored_as: str = ""
    duplicate: str = _GENERIC_DUPLICATE
    duplicate_on_update: str | None = None
    #: Defaults a create starts from (a field sent as null keeps its default).
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def creatable(self) -> frozenset[str]:
        return self.updatable | self.create_only


#: Projects and domains (projects acting as domains) have their own words in
#: keystone.resource.core; users and roles get keystone.common.sql's generic ones (and a
#: user's update has no domain id to name).
KINDS: dict[Kind, KindSpec] = {
    "domain": KindSpec(
        _NAME_DESCRIPTION_ENABLED, stored_as="project",
        duplicate="it is not permitted to have two projects acting as domains with the same "
                  "name: {name}."),
    "project": KindSpec(
        _NAME_DESCRIPTION_ENABLED, frozenset({"domain_id"}), stored_as="project",
        duplicate="it is not permitted to have two projects with either the same name or "
                  "same id in the same domain: name is {name}, project id {id}.",
        defaults={"domain_id": DEFAULT_DOMAIN_ID}),
    "user": KindSpec(
        _USER_FIELDS, frozenset({"domain_id"}), stored_as="user",
        duplicate="Duplicate entry found with name {name} at domain ID {domain_id}.",
        duplicate_on_update=_GENERIC_DUPLICATE,
        defaults={"domain_id": DEFAULT_DOMAIN_ID, "password": None}),
    "role": KindSpec(frozenset({"name", "description"}), stored_as="role"),
}


def _conflict(spec: KindSpec, template: str, values: Mapping[str, Any]) -> Conflict:
    details = template.format(name=values.get("name", ""), id=values.get("id", ""),
                              domain_id=values.get("domain_id", ""))
    return Conflict(f"Conflict occurred attempting to store {spec.stored_as} - {details}")


def _prepare(s: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Check the fields that name other entities, hash a password (in that order)."""
    if "domain_id" in values:
        get_or_404(s, "domain", values["domain_id"])
    project_id = values.get("default_project_id")
    # Keystone accepts an unknown default project (for backward compatibility) but not a
    # domain's id.
    if project_id and s.get(Domain, project_id) is not None:
        raise InvalidInput(f"User's default project ID cannot be a domain ID: {project_id}")
    if "password" in values:
        password = values.pop("password")
        values["password_hash"] = (hash_password(password) if password is not None
                                   else UNUSABLE_PASSWORD)
    return values


class Directory:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._deleters: dict[Kind, Callable[[Session, Any], None]] = {
            "domain": self._delete_domain,
            "project": self._delete_project,
            "user": self._delete_user,
            "role": self._delete_role,
        }

    def find(self, kind: Kind, filters: Mapping[str, Any]) -> list[Record]:
        """Every ``kind`` whose columns equal ``filters``, by name."""
        table: Any = TABLES[kind]
        with self.db.session() as s:
            stmt = select(table)
            for name, value in filters.items():
                stmt = stmt.where(getattr(table, name) == value)
            return [record_of(row) for row in s.exec(stmt.order_by(table.name)).all()]

    def get(self, kind: Kind, row_id: str) -> Record:
        with self.db.session() as s:
            record: Record = record_of(get_or_404(s, kind, row_id))
            return record

    def create(self, kind: Kind, fields: Mapping[str, Any]) -> Record:
        """A new ``kind`` from the ``fields`` it may set (others are ignored)."""
        spec = KINDS[kind]
        given = {k: v for k, v in fields.items() if k in spec.creatable and v is not None}
        values = {"id": new_id(), **spec.defaults, **given}
        try:
            with self.db.session() as s:
                row: SQLModel = TABLES[kind](**_prepare(s, values))
                s.add(row)
                s.flush()
                record: Record = record_of(row)
        except IntegrityError:
            raise _conflict(spec, spec.duplicate, values) from None
        return record

    def update(self, kind: Kind, row_id: str, changes: Mapping[str, Any]) -> Record:
        """Change the fields of ``changes`` a ``kind`` allows; a null description clears it,
        a null password changes nothing.

        Keystone persists a revocation event for a user whose password changes or who is
        disabled: re-enabling it does not revive its old tokens.
        """
        spec = KINDS[kind]
        values = {k: "" if k == "description" and v is None else v
                  for k, v in changes.items()
                  if k in spec.updatable and not (k == "password" and v is None)}
        try:
            with self.db.session() as s:
                row = get_or_404(s, kind, row_id)
                if isinstance(row, User) and (
                        "password" in values or (values.get("enabled") is False and row.enabled)):
                    revoke_user_tokens(s, row_id)
                for name, value in _prepare(s, values).items():
                    setattr(row, name, value)
                s.add(row)
                s.flush()
                record: Record = record_of(row)
        except IntegrityError:
            template = spec.duplicate_on_update or spec.duplicate
            raise _conflict(spec, template, {**values, "id": row_id}) from None
        return record

    def delete(self, kind: Kind, row_id: str) -> None:
        with self.db.session() as s:
            self._deleters[kind](s, get_or_404(s, kind, row_id))

    # -- cascades ------------------------------------------------------------------------

    def _delete_domain(self, s: Session, domain: Domain) -> None:
        """Delete a disabled domain and, as Keystone does, every project and user in it."""
        if domain.enabled:
            raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
        if domain.id == DEFAULT_DOMAIN_ID:
            # NOTE: Keystone would allow it; the seeded accounts live there.
            raise Forbidden("You are not authorized to delete the default domain.")
        for project in s.exec(select(Project).where(Project.domain_id == domain.id)).all():
            self._delete_project(s, project)
        for user in s.exec(select(User).where(User.domain_id == domain.id)).all():
            _delete_assignments(s, col(RoleAssignment.user_id) == user.id)
            s.delete(user)
        s.flush()
        s.delete(domain)

    @staticmethod
    def _delete_project(s: Session, project: Project) -> None:
        """Delete ``project``, its assignments, and unset it as anyone's default project."""
        _delete_assignments(s, col(RoleAssignment.project_id) == project.id)
        for user in s.exec(select(User).where(User.default_project_id == project.id)).all():
            user.default_project_id = None
            s.add(user)
        s.flush()
        s.delete(project)
        s.flush()

    @staticmethod
    def _delete_user(s: Session, user: User) -> None:
        _delete_assignments(s, col(RoleAssignment.user_id) == user.id)
        revoke_user_tokens(s, user.id)
        s.delete(user)

    @staticmethod
    def _delete_role(s: Session, role: Any) -> None:
        _delete_assignments(s, col(RoleAssignment.role_id) == role.id)
        s.delete(role)


def _delete_assignments(s: Session, condition: Any) -> None:
    for assignment in s.exec(select(RoleAssignment).where(condition)).all():
        s.delete(assignment)
    s.flush()
