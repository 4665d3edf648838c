"""Role assignments of users on projects (the only kind modelled): grants and listings."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session, col, select

from emulator.db import Database
from emulator.errors import NotFound
from emulator.identity.lookups import IMPLIED_ROLES, domain_names, get_or_404, record_of
from emulator.identity.models import Project, Role, RoleAssignment, User
from emulator.identity.records import Assignment, Kind, ProjectRecord, RoleRecord


def _require(s: Session, *named: tuple[Kind, str]) -> None:
    """Each (kind, id) exists; Keystone's 404 for the first that does not."""
    for kind, row_id in named:
        get_or_404(s, kind, row_id)


class Assignments:
    def __init__(self, db: Database) -> None:
        self.db = db

    def grant(self, project_id: str, user_id: str, role_id: str) -> None:
        with self.db.session() as s:
            _require(s, ("project", project_id), ("user", user_id), ("role", role_id))
            if s.get(RoleAssignment, (user_id, project_id, role_id)) is None:
                s.add(RoleAssignment(user_id=user_id, project_id=project_id, role_id=role_id))

    def check(self, project_id: str, user_id: str, role_id: str) -> None:
        with self.db.session() as s:
            self._existing(s, project_id, user_id, role_id)

    def revoke(self, project_id: str, user_id: str, role_id: str) -> None:
        with self.db.session() as s:
            s.delete(self._existing(s, project_id, user_id, role_id))

    @staticmethod
    def _existing(s: Session, project_id: str, user_id: str, role_id: str) -> RoleAssignment:
        _require(s, ("project", project_id), ("user", user_id), ("role", role_id))
        row = s.get(RoleAssignment, (user_id, project_id, role_id))
        if row is None:
            raise NotFound(
                f"Could not find role assignment with role: {role_id}, user or group: "
                f"{user_id}, project, domain, or system: {project_id}."
            )
        return row

    def roles_granted(self, project_id: str, user_id: str) -> list[RoleRecord]:
        """The roles granted directly to ``user_id`` on ``project_id``, by name."""
        with self.db.session() as s:
            _require(s, ("project", project_id), ("user", user_id))
            stmt = (
                select(Role)
                .join(RoleAssignment, col(RoleAssignment.role_id) == col(Role.id))
                .where(RoleAssignment.user_id == user_id, RoleAssignment.project_id == project_id)
                .order_by(col(Role.name))
            )
            return [record_of(r) for r in s.exec(stmt).all()]

    def projects_of(self, user_id: str) -> list[ProjectRecord]:
        """Enabled projects on which ``user_id`` has at least one role, by name."""
        with self.db.session() as s:
            stmt = (
                select(Project)
                .join(RoleAssignment, col(RoleAssignment.project_id) == col(Project.id))
                .where(RoleAssignment.user_id == user_id, Project.enabled == True)  # noqa: E712
                .distinct()
                .order_by(col(Project.name))
            )
            return [record_of(p) for p in s.exec(stmt).all()]

    def listing(
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
            domains = domain_names(s)
            rows = [
                Assignment(user=record_of(u),
                           user_domain_name=domains.get(u.domain_id, u.domain_id),
                           project=record_of(p),
                           project_domain_name=domains.get(p.domain_id, p.domain_id),
                           role=record_of(r))
                for r, u, p in s.exec(stmt).all()
            ]
            if effective:
                roles = {r.name: record_of(r) for r in s.exec(select(Role)).all()}
                rows = _with_implied(rows, roles)
        if role_id is not None:
            rows = [a for a in rows if a.role.id == role_id]
        return rows


def _with_implied(rows: list[Assignment], roles: dict[str, RoleRecord]) -> list[Assignment]:
    """``rows`` and the assignments their roles imply, each implied one once."""
    seen = {(a.user.id, a.project.id, a.role.id) for a in rows}
    result = list(rows)
    todo = list(rows)
    while todo:
        prior = todo.pop(0)
        for name in IMPLIED_ROLES.get(prior.role.name, ()):
            implied = roles.get(name)
            if implied is None or (prior.user.id, prior.project.id, implied.id) in seen:
                continue
            seen.add((prior.user.id, prior.project.id, implied.id))
            row = replace(prior, role=implied, prior_role_id=prior.role.id)
            result.append(row)
            todo.append(row)
    return result
