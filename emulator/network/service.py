"""Neutron as the API sees it: one entry per operation, each in one transaction (nothing
half-made when an operation fails), over the resource table ``RESOURCES``. No HTTP."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.db import Database
from emulator.network import (
    bodies,
    changes,
    extensions,
    floating_ips,
    networks,
    ports,
    quotas,
    routers,
    security_group_rules,
    security_groups,
    seeding,
    subnets,
    tags,
    topology,
)
from emulator.network.errors import not_authorized, resource_not_found
from emulator.network.listing import ListQuery, Record, apply, parse_query
from emulator.network.resources import Resource, view

P = ParamSpec("P")
T = TypeVar("T")

#: Every resource by its collection (its URL segment with ``-`` for ``_``).
RESOURCES: dict[str, Resource] = {r.collection: r for r in (
    networks.RESOURCE, subnets.RESOURCE, ports.RESOURCE, security_groups.RESOURCE,
    security_group_rules.RESOURCE, routers.RESOURCE, floating_ips.RESOURCE)}

#: Neutron's availability zones: the one every network and router is in.
AVAILABILITY_ZONES = ({"name": networks.ZONE, "resource": "network", "state": "available"},
                      {"name": networks.ZONE, "resource": "router", "state": "available"})


@dataclass(frozen=True)
class Page:
    items: list[Record]
    query: ListQuery


class NetworkService:
    def __init__(self, db: Database) -> None:
        self.db = db
        #: Told which servers' addresses a call changed (``emulator.network.changes``).
        self.network_changed: changes.NetworkChanged | None = None

    def _watch(self, collection: str, ids: list[str],
               operation: Callable[[Session], T]) -> T:
        """Run ``operation`` in one transaction; then tell ``network_changed`` of the
        servers whose ports (those of resources ``ids`` before it, and after it) changed."""
        if collection not in changes.WATCHED or self.network_changed is None:
            return self._transaction(operation)
        with self.db.session() as s:
            ports = changes.ports_of(s, collection, ids)
            # before too: a port deleted or unbound no longer names its server afterwards
            servers = changes.servers_of(s, ports)
            result = operation(s)
            s.flush()
            after = [str(r["id"]) for r in (result if isinstance(result, list) else [result])
                     if isinstance(r, dict) and "id" in r]
            servers |= changes.servers_of(s, ports | changes.ports_of(s, collection, after))
        if servers:
            self.network_changed(servers)
        return result

    def _transaction(self, operation: Callable[Concatenate[Session, P], T],
                     *args: P.args, **kwargs: P.kwargs) -> T:
        with self.db.session() as s:
            return operation(s, *args, **kwargs)

    def seed(self, admin_project_id: str | None, public_cidr: str = seeding.PUBLIC_CIDR,
             public_gateway: str = seeding.PUBLIC_GATEWAY) -> None:
        """The seeded networks, owned by the admin project (none without one)."""
        if admin_project_id is not None:
            self._transaction(seeding.seed, admin_project_id, public_cidr, public_gateway)

    @staticmethod
    def resource(collection: str) -> Resource:
        found = RESOURCES.get(collection)
        if found is None:
            raise resource_not_found()
        return found

    # -- the generic resource operations ---------------------------------------------------

    def index(self, ctx: RequestContext, collection: str,
             params: Sequence[tuple[str, str]]) -> Page:
        resource = self.resource(collection)
        query = parse_query(resource.attributes, params, resource.special_filters)

        def run(s: Session) -> list[Record]:
            return apply(resource.load(s, ctx), query, resource.special_filters,
                         lambda marker: resource.get(s, ctx, marker))

        found = self._transaction(run)
        return Page([view(resource.attributes, r, ctx, query.fields) for r in found], query)

    def show(self, ctx: RequestContext, collection: str, resource_id: str,
             fields: list[str]) -> Record:
        resource = self.resource(collection)
        return view(resource.attributes,
                    self._transaction(resource.get, ctx, resource_id), ctx, fields)

    def create(self, ctx: RequestContext, collection: str, body: Any) -> list[Record]:
        """One resource, or a bulk create's several, all made or none."""
        resource = self.resource(collection)
        objects = bodies.items(body, resource.name, resource.collection)
        prepared = [bodies.prepare_create(resource.attributes, o, resource.name, ctx)
                    for o in objects]

        _member(ctx, f"create_{resource.name}")

        def run(s: Session) -> list[Record]:
            return [resource.create(s, ctx, values) for values in prepared]

        return [view(resource.attributes, r, ctx) for r in self._watch(collection, [], run)]

    def update(self, ctx: RequestContext, collection: str, resource_id: str,
               body: Any) -> Record:
        resource = self.resource(collection)
        values = bodies.prepare_update(resource.attributes, body, resource.name, ctx)

        def run(s: Session) -> Record:
            _writable(s, ctx, resource, resource_id, f"update_{resource.name}")
            return resource.update(s, ctx, resource_id, values)

        record = self._watch(collection, [resource_id], run)
        return view(resource.attributes, record, ctx)

    def delete(self, ctx: RequestContext, collection: str, resource_id: str) -> None:
        resource = self.resource(collection)

        def run(s: Session) -> None:
            _writable(s, ctx, resource, resource_id, f"delete_{resource.name}")
            resource.delete(s, ctx, resource_id)

        self._watch(collection, [resource_id], run)

    # -- tags ---------------------------------------------------------------------------

    def tags(self, ctx: RequestContext, collection: str, resource_id: str) -> list[str]:
        return self._transaction(tags.list_tags, ctx, self._tagged(collection), resource_id)

    def check_tag(self, ctx: RequestContext, collection: str, resource_id: str,
                  tag: str) -> None:
        self._transaction(tags.check, ctx, self._tagged(collection), resource_id, tag)

    def replace_tags(self, ctx: RequestContext, collection: str, resource_id: str,
                     body: Any) -> list[str]:
        return self._tag_write(ctx, collection, resource_id, "update", tags.replace, body)

    def add_tag(self, ctx: RequestContext, collection: str, resource_id: str,
                tag: str) -> None:
        self._tag_write(ctx, collection, resource_id, "create", tags.add, tag)

    def remove_tag(self, ctx: RequestContext, collection: str, resource_id: str,
                   tag: str) -> None:
        self._tag_write(ctx, collection, resource_id, "delete", tags.remove, tag)

    def remove_tags(self, ctx: RequestContext, collection: str, resource_id: str) -> None:
        self._tag_write(ctx, collection, resource_id, "delete", tags.remove_all)

    def _tag_write(self, ctx: RequestContext, collection: str, resource_id: str, verb: str,
                   operation: Callable[..., T], *args: Any) -> T:
        resource = self._tagged(collection)

        def run(s: Session) -> T:
            _writable(s, ctx, resource, resource_id, f"{verb}_{resource.name}:tags")
            return operation(s, ctx, resource, resource_id, *args)

        return self._transaction(run)

    def _tagged(self, collection: str) -> Resource:
        if collection not in tags.TAGGED:
            raise resource_not_found()
        return self.resource(collection)

    # -- routers ------------------------------------------------------------------------

    def add_router_interface(self, ctx: RequestContext, router_id: str,
                             body: Any) -> dict[str, Any]:
        _member(ctx, "add_router_interface")
        return self._transaction(routers.add_interface, ctx, router_id, body)

    def remove_router_interface(self, ctx: RequestContext, router_id: str,
                                body: Any) -> dict[str, Any]:
        _member(ctx, "remove_router_interface")
        return self._transaction(routers.remove_interface, ctx, router_id, body)

    # -- quotas -------------------------------------------------------------------------

    def quotas(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return self._transaction(quotas.list_all, ctx)

    def quota(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        return self._transaction(quotas.show, ctx, project_id)

    def quota_defaults(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        return quotas.defaults(ctx, project_id)

    def quota_details(self, ctx: RequestContext, project_id: str) -> dict[str, Any]:
        return self._transaction(quotas.details, ctx, project_id)

    def update_quota(self, ctx: RequestContext, project_id: str, body: Any) -> dict[str, int]:
        return self._transaction(quotas.update, ctx, project_id, body)

    def reset_quota(self, ctx: RequestContext, project_id: str) -> None:
        self._transaction(quotas.reset, ctx, project_id)

    # -- the rest -----------------------------------------------------------------------

    def auto_allocated_topology(self, ctx: RequestContext, project_id: str,
                                dry_run: bool) -> dict[str, str]:
        return self._transaction(topology.get, ctx, project_id, dry_run)

    def delete_auto_allocated_topology(self, ctx: RequestContext, project_id: str) -> None:
        self._transaction(topology.delete, ctx, project_id)

    @staticmethod
    def extensions() -> list[dict[str, Any]]:
        return extensions.list_extensions()

    @staticmethod
    def extension(alias: str) -> dict[str, Any]:
        return extensions.get(alias)

    @staticmethod
    def availability_zones() -> list[dict[str, str]]:
        return [dict(zone) for zone in AVAILABILITY_ZONES]


def _member(ctx: RequestContext, rule: str) -> None:
    """Neutron's defaults since 2023.2 (``enforce_new_defaults``): a project's resources
    are written by its members and admins; its readers only read."""
    if not (ctx.is_admin or "member" in ctx.roles):
        raise not_authorized(f"rule:{rule}")


def _writable(s: Session, ctx: RequestContext, resource: Resource, resource_id: str,
              rule: str) -> None:
    """The resource is one ``ctx`` sees (else its 404), then ``rule`` for a member.

    NOTE: Neutron looks a refused write's resource up: one the caller cannot see is a 404,
    one it can a 403."""
    resource.get(s, ctx, resource_id)
    _member(ctx, rule)
