"""Keystone's JSON views: entities, lists, tokens and role assignments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator.api.routing import Call, base_url
from emulator.identity.records import (
    Assignment,
    DomainRecord,
    Kind,
    NamedRef,
    ProjectRecord,
    RoleRecord,
    TokenInfo,
    UserRecord,
)

PREFIX = "/identity"

V3_VERSION = {
    "id": "v3.14",
    "status": "stable",
    "updated": "2020-04-07T00:00:00Z",
    "media-types": [
        {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
    ],
}


def v3_url(call: Call) -> str:
    return f"{base_url(call.request)}{PREFIX}/v3"


def version(call: Call) -> dict[str, Any]:
    return {**V3_VERSION, "links": [{"rel": "self", "href": f"{v3_url(call)}/"}]}


def listing(call: Call, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A collection with Keystone's (unpaged) ``links``."""
    return {key: items, "links": {"self": str(call.request.url), "previous": None,
                                  "next": None}}


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- entities --------------------------------------------------------------------------------


def domain_view(v3: str, d: DomainRecord) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
            "tags": [], "options": {}, "links": {"self": f"{v3}/domains/{d.id}"}}


def project_view(v3: str, p: ProjectRecord) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id,
            "description": p.description, "enabled": p.enabled, "parent_id": p.domain_id,
            "is_domain": False, "tags": [], "options": {},
            "links": {"self": f"{v3}/projects/{p.id}"}}


def user_view(v3: str, u: UserRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "password_expires_at": None, "options": {}, "links": {"self": f"{v3}/users/{u.id}"},
    }
    optional = {"default_project_id": u.default_project_id, "email": u.email,
                "description": u.description}
    view.update({key: value for key, value in optional.items() if value})
    return view


def role_view(v3: str, r: RoleRecord) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "domain_id": None, "description": r.description,
            "options": {}, "links": {"self": f"{v3}/roles/{r.id}"}}


#: Each kind's view (the record is that kind's).
VIEWS: dict[Kind, Callable[[str, Any], dict[str, Any]]] = {
    "domain": domain_view,
    "project": project_view,
    "user": user_view,
    "role": role_view,
}


# -- tokens and assignments ------------------------------------------------------------------


def _named(ref: NamedRef) -> dict[str, Any]:
    return {"id": ref.id, "name": ref.name,
            "domain": {"id": ref.domain_id, "name": ref.domain_name}}


def project_catalog(catalog: list[dict[str, Any]], project_id: str) -> list[dict[str, Any]]:
    """The catalog with ``$(project_id)s`` in endpoint URLs made the project's (Keystone
    substitutes it, and ``$(tenant_id)s``, for a project-scoped token)."""
    def url(template: str) -> str:
        return template.replace("$(project_id)s", project_id).replace("$(tenant_id)s",
                                                                       project_id)

    return [{**service, "endpoints": [{**e, "url": url(e["url"])}
                                      for e in service["endpoints"]]}
            for service in catalog]


def token_view(info: TokenInfo, catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A token body; a project-scoped one carries its roles and ``catalog`` (if given)."""
    token: dict[str, Any] = {
        "methods": list(info.methods),
        "user": {**_named(info.user), "password_expires_at": None},
        "audit_ids": list(info.audit_ids),
        "expires_at": timestamp(info.expires_at),
        "issued_at": timestamp(info.issued_at),
    }
    if info.project is not None:
        token["project"] = _named(info.project)
        token["is_domain"] = False
        token["roles"] = [{"id": r.id, "name": r.name} for r in info.roles]
        if catalog is not None:
            token["catalog"] = project_catalog(catalog, info.project.id)
    return {"token": token}


def assignment_view(v3: str, a: Assignment, include_names: bool) -> dict[str, Any]:
    role: dict[str, Any] = {"id": a.role.id}
    user: dict[str, Any] = {"id": a.user.id}
    project: dict[str, Any] = {"id": a.project.id}
    if include_names:
        role["name"] = a.role.name
        user.update(name=a.user.name, domain={"id": a.user.domain_id, "name": a.user_domain_name})
        project.update(name=a.project.name,
                       domain={"id": a.project.domain_id, "name": a.project_domain_name})
    # An implied role links to the assignment of the role that implies it, and (sic,
    # Keystone's argument order) to /prior_role/<implied>/implies/<prior>.
    link_role = a.prior_role_id or a.role.id
    links = {"assignment": f"{v3}/projects/{a.project.id}/users/{a.user.id}/roles/{link_role}"}
    if a.prior_role_id is not None:
        links["prior_role"] = f"{v3}/prior_role/{a.role.id}/implies/{a.prior_role_id}"
    return {"role": role, "user": user, "scope": {"project": project}, "links": links}
