"""The identity domain (Keystone v3 semantics): one service made of its parts.

Knows nothing of HTTP. ``tokens`` issues, validates and revokes tokens; ``directory`` is
the admin CRUD of domains, projects, users and roles; ``assignments`` grants roles. The
rest of the emulator needs only ``validate``, ``project_exists``, ``project_id_named``
and ``require_admin``, and sees records (``emulator.identity.records``), never a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import select

from emulator.config import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, Account
from emulator.db import Database
from emulator.errors import Forbidden
from emulator.identity.assignments import Assignments
from emulator.identity.directory import Directory
from emulator.identity.lookups import BOOTSTRAP_ROLES, find_named, new_id
from emulator.identity.models import Domain, Project, Role, RoleAssignment, User
from emulator.identity.passwords import hash_password
from emulator.identity.records import TokenInfo
from emulator.identity.tokens import Tokens

#: The auth methods ``POST /v3/auth/tokens`` accepts (Keystone's ``[auth] methods``).
AUTH_METHODS = Tokens.METHODS

__all__ = ["AUTH_METHODS", "IdentityService", "TokenInfo"]


class IdentityService:
    def __init__(self, db: Database, token_ttl: timedelta, shared: bool = False) -> None:
        self.db = db
        self.tokens = Tokens(db, token_ttl, shared)
        self.directory = Directory(db)
        self.assignments = Assignments(db)

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
                project = find_named(s, Project, account.project, DEFAULT_DOMAIN_ID)
                if project is None:
                    project = Project(id=new_id(), name=account.project,
                                      domain_id=DEFAULT_DOMAIN_ID)
                    s.add(project)
                user = find_named(s, User, account.user, DEFAULT_DOMAIN_ID)
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

    def validate(self, token: str) -> TokenInfo:
        """What the bearer's ``token`` grants; ``NotAuthenticated`` when it is not valid."""
        return self.tokens.validate(token)

    def project_exists(self, project_id: str) -> bool:
        """Whether a project with this id exists (compute checks tenants it is told of)."""
        with self.db.session() as s:
            return s.get(Project, project_id) is not None

    def project_id_named(self, name: str) -> str | None:
        """The id of the project called ``name`` in the Default domain, if there is one."""
        with self.db.session() as s:
            project = find_named(s, Project, name, DEFAULT_DOMAIN_ID)
            return project.id if project else None

    @staticmethod
    def require_admin(info: TokenInfo, rule: str) -> None:
        if not info.is_admin:
            raise Forbidden(f"You are not authorized to perform the requested action: {rule}.")
