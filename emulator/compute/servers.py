"""Servers: create (with scheduling and the build in the background), read, list, update,
delete, metadata, tags, addresses and instance actions. No HTTP here.

State changes the API acknowledges are committed before the call returns; the long part
of an operation (the backend verb) runs in a background task owned by ``Lifecycle``.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backends.base import ComputeBackend, HostInfo
from emulator.compute.flavors import FlavorRecord, FlavorService
from emulator.compute.keypairs import KeyPairService
from emulator.compute.models import (
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceAddress,
    InstanceFault,
    InstanceMetadata,
    InstanceTag,
)
from emulator.compute.policy import authorize
from emulator.compute.scheduler import HostRequest, Usage, select_host
from emulator.compute.states import TaskState, VmState, status_of
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput, NotFound, OverQuota

#: Nova's limits (``[quota]`` defaults and API constants).
MAX_METADATA_ITEMS = 128
MAX_TAGS = 50
#: The network every server gets with ``networks: auto`` until Neutron exists.
DEFAULT_NETWORK = "private"
DEFAULT_NETWORK_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-emulator/networks/private"))
DEFAULT_SUBNET = ipaddress.IPv4Network("10.0.0.0/16")


def now() -> datetime:
    return datetime.now(UTC)


def not_found(server_id: str) -> NotFound:
    return NotFound(f"Instance {server_id} could not be found.")


@dataclass(frozen=True)
class ImageInfo:
    """What the build needs to know of an image (from the image service)."""

    id: str
    status: str
    min_ram: int
    min_disk: int


ImageLookup = Callable[[RequestContext, str], ImageInfo | None]


@dataclass(frozen=True)
class NewServer:
    """A validated create request (the API layer has applied its schema)."""

    name: str
    flavor_ref: str
    image_ref: str = ""
    key_name: str | None = None
    admin_pass: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    disk_config: str = "MANUAL"
    availability_zone: str | None = None
    #: None: no preference; "auto"/"none"; or [{"uuid"|"port"|"fixed_ip": ...}].
    networks: Any = None
    security_groups: tuple[str, ...] = ("default",)
    config_drive: bool = False
    min_count: int = 1
    max_count: int = 1
    description: str | None = None
    tags: tuple[str, ...] = ()
    trusted_certs: tuple[str, ...] | None = None
    host: str | None = None
    node: str | None = None
    hostname: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    #: True when the root disk comes from a volume (image_ref then is "").
    boot_from_volume: bool = False


@dataclass(frozen=True)
class ServerRecord:
    """A server with everything its views show, detached from the database."""

    instance: Instance
    metadata: dict[str, str]
    tags: tuple[str, ...]
    addresses: tuple[InstanceAddress, ...]
    fault: InstanceFault | None
    host_status: str

    @property
    def uuid(self) -> str:
        return self.instance.uuid

    @property
    def status(self) -> str:
        if self.instance.deleted:
            return "DELETED"
        return status_of(self.instance.vm_state, self.instance.task_state)


@dataclass(frozen=True)
class Created:
    servers: tuple[ServerRecord, ...]
    admin_pass: str
    reservation_id: str


@dataclass(frozen=True)
class ServerQuery:
    """Parsed list filters; every field None means "no filter"."""

    project_id: str | None = None  # None: all projects (admin with all_tenants)
    user_id: str | None = None
    name: str | None = None  # regex
    statuses: frozenset[str] | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    ip: str | None = None  # regex on IPv4 addresses
    ip6: str | None = None  # regex on IPv6 addresses
    flavor: str | None = None
    image: str | None = None
    host: str | None = None
    node: str | None = None
    availability_zone: str | None = None
    key_name: str | None = None
    config_drive: bool | None = None
    locked: bool | None = None
    vm_state: frozenset[str] | None = None
    task_state: frozenset[str] | None = None
    power_state: frozenset[int] | None = None
    uuid: str | None = None
    tags: frozenset[str] | None = None
    tags_any: frozenset[str] | None = None
    not_tags: frozenset[str] | None = None
    not_tags_any: frozenset[str] | None = None
    #: None: live servers only; True: deleted only (admins); False: live only.
    deleted: bool | None = None
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)
    limit: int = 1000
    marker: str | None = None


#: Sort keys the list accepts -> Instance attribute.
SORT_KEYS: dict[str, str] = {
    "access_ip_v4": "access_ip_v4", "access_ip_v6": "access_ip_v6",
    "auto_disk_config": "disk_config", "availability_zone": "availability_zone",
    "config_drive": "config_drive", "created_at": "created_at",
    "display_description": "display_description", "display_name": "display_name",
    "host": "host", "hostname": "hostname", "image_ref": "image_ref",
    "instance_type_id": "flavor_id", "kernel_id": "id", "key_name": "key_name",
    "launch_index": "launch_index", "launched_at": "launched_at", "locked": "locked",
    "locked_by": "locked_by", "node": "node", "power_state": "power_state",
    "progress": "progress", "project_id": "project_id", "ramdisk_id": "id",
    "root_device_name": "root_device_name", "task_state": "task_state",
    "terminated_at": "terminated_at", "updated_at": "updated_at", "user_id": "user_id",
    "uuid": "uuid", "vm_state": "vm_state",
}


def sanitize_hostname(name: str, default: str = "server") -> str:
    """Nova's ``sanitize_hostname``: lower case, [a-z0-9-.], at most 63 characters."""
    text = name.lower()
    text = re.sub(r"[ _]", "-", text)
    text = re.sub(r"[^\w.-]+", "", text, flags=re.ASCII)
    text = text.strip(".-")[:63].strip(".-")
    return text or default


class ServerService:
    def __init__(
        self,
        db: Database,
        backend: ComputeBackend,
        flavors: FlavorService,
        keypairs: KeyPairService,
        images: ImageLookup,
    ) -> None:
        self.db = db
        self.backend = backend
        self.flavors = flavors
        self.keypairs = keypairs
        self.images = images

    # -- reading -------------------------------------------------------------------------

    def _hosts(self) -> dict[str, HostInfo]:
        return {h.name: h for h in self.backend.hosts()}

    @staticmethod
    def _host_status(instance: Instance, hosts: dict[str, HostInfo]) -> str:
        if instance.host is None:
            return ""
        host = hosts.get(instance.host)
        if host is None:
            return "UNKNOWN"
        if not host.up:
            return "DOWN"
        return "UP" if host.enabled else "MAINTENANCE"

    def _records(self, s: Session, rows: Sequence[Instance]) -> list[ServerRecord]:
        if not rows:
            return []
        uuids = [r.uuid for r in rows]
        metadata: dict[str, dict[str, str]] = {u: {} for u in uuids}
        for m in s.exec(select(InstanceMetadata)
                        .where(col(InstanceMetadata.instance_uuid).in_(uuids))).all():
            metadata[m.instance_uuid][m.key] = m.value
        tags: dict[str, list[str]] = {u: [] for u in uuids}
        for t in s.exec(select(InstanceTag).where(col(InstanceTag.instance_uuid).in_(uuids))):
            tags[t.instance_uuid].append(t.tag)
        addresses: dict[str, list[InstanceAddress]] = {u: [] for u in uuids}
        for a in s.exec(select(InstanceAddress)
                        .where(col(InstanceAddress.instance_uuid).in_(uuids))
                        .order_by(col(InstanceAddress.id))):
            addresses[a.instance_uuid].append(a)
        faults: dict[str, InstanceFault] = {}
        for f in s.exec(select(InstanceFault).where(col(InstanceFault.instance_uuid).in_(uuids))
                        .order_by(col(InstanceFault.id))):
            faults[f.instance_uuid] = f
        hosts = self._hosts()
        return [
            ServerRecord(instance=r, metadata=metadata[r.uuid], tags=tuple(sorted(tags[r.uuid])),
                         addresses=tuple(addresses[r.uuid]), fault=faults.get(r.uuid),
                         host_status=self._host_status(r, hosts))
            for r in rows
        ]

    def _instance(self, s: Session, ctx: RequestContext, server_id: str,
                  read_deleted: bool = False) -> Instance:
        """The instance ``ctx`` may see; others' and unknown ids are the same 404."""
        stmt = select(Instance).where(Instance.uuid == server_id)
        if not read_deleted:
            stmt = stmt.where(Instance.deleted == False)  # noqa: E712
        if not ctx.is_admin:
            stmt = stmt.where(Instance.project_id == ctx.project_id)
        row = s.exec(stmt).first()
        if row is None:
            raise not_found(server_id)
        return row

    def get(self, ctx: RequestContext, server_id: str) -> ServerRecord:
        with self.db.session() as s:
            row = self._instance(s, ctx, server_id)
            authorize(ctx, "os_compute_api:servers:show", row.project_id)
            return self._records(s, [row])[0]

    def list_servers(self, ctx: RequestContext, query: ServerQuery) -> list[ServerRecord]:
        """Servers matching ``query`` in its order, after its marker, up to its limit."""
        authorize(ctx, "os_compute_api:servers:index")
        with self.db.session() as s:
            stmt = select(Instance)
            if query.project_id is not None:
                stmt = stmt.where(Instance.project_id == query.project_id)
            if query.deleted is True:
                stmt = stmt.where(Instance.deleted == True)  # noqa: E712
            elif query.changes_since is None and query.changes_before is None:
                stmt = stmt.where(Instance.deleted == False)  # noqa: E712
            for column, value in (("user_id", query.user_id), ("flavor_id", query.flavor),
                                  ("image_ref", query.image), ("host", query.host),
                                  ("node", query.node), ("key_name", query.key_name),
                                  ("uuid", query.uuid),
                                  ("availability_zone", query.availability_zone)):
                if value is not None:
                    stmt = stmt.where(getattr(Instance, column) == value)
            rows = list(s.exec(stmt).all())
            records = [r for r in self._records(s, rows) if self._matches(r, query)]
        records.sort(key=lambda r: r.instance.id or 0)
        for key, direction in reversed(query.sort):
            attribute = SORT_KEYS[key]
            records.sort(key=lambda r, a=attribute: _sortable(getattr(r.instance, a)),  # type: ignore[misc]
                         reverse=direction == "desc")
        if query.marker is not None:
            ids = [r.uuid for r in records]
            if query.marker not in ids:
                raise InvalidInput(f"marker [{query.marker}] not found")
            records = records[ids.index(query.marker) + 1:]
        return records[: query.limit]

    @staticmethod
    def _matches(r: ServerRecord, q: ServerQuery) -> bool:
        i = r.instance
        checks: list[bool] = []
        if q.name is not None:
            checks.append(re.search(q.name, i.display_name) is not None)
        if q.statuses is not None:
            checks.append(r.status in q.statuses)
        if q.changes_since is not None:
            checks.append(_updated(i) >= q.changes_since)
        if q.changes_before is not None:
            checks.append(_updated(i) <= q.changes_before)
        for pattern, version in ((q.ip, 4), (q.ip6, 6)):
            if pattern is not None:
                checks.append(any(re.search(pattern, a.address) for a in r.addresses
                                  if a.version == version))
        if q.config_drive is not None:
            checks.append(bool(i.config_drive) == q.config_drive)
        if q.locked is not None:
            checks.append(i.locked == q.locked)
        if q.vm_state is not None:
            checks.append(i.vm_state in q.vm_state)
        if q.task_state is not None:
            checks.append((i.task_state or "") in q.task_state)
        if q.power_state is not None:
            checks.append(i.power_state in q.power_state)
        tags = set(r.tags)
        if q.tags is not None:
            checks.append(q.tags <= tags)
        if q.tags_any is not None:
            checks.append(bool(q.tags_any & tags))
        if q.not_tags is not None:
            checks.append(not q.not_tags <= tags)
        if q.not_tags_any is not None:
            checks.append(not q.not_tags_any & tags)
        return all(checks)

    # -- creating ------------------------------------------------------------------------

    def _resolve_flavor(self, ctx: RequestContext, flavor_ref: str) -> FlavorRecord:
        flavor_id = flavor_ref.rstrip("/").rsplit("/", 1)[-1]
        try:
            return self.flavors.get(ctx, flavor_id)
        except NotFound:
            raise InvalidInput(f"Flavor {flavor_id} could not be found.") from None

    def _check_image(self, ctx: RequestContext, new: NewServer, flavor: FlavorRecord) -> str:
        if new.boot_from_volume and not new.image_ref:
            return ""
        image_id = new.image_ref.rstrip("/").rsplit("/", 1)[-1]
        image = self.images(ctx, image_id)
        if image is None:
            raise InvalidInput("Can not find requested image")
        if image.status != "active":
            raise InvalidInput(f"Image {image_id} is not active.")
        if image.min_ram > flavor.memory_mb:
            raise InvalidInput("Flavor's memory is too small for requested image.")
        if image.min_disk > flavor.root_gb and not new.boot_from_volume:
            raise InvalidInput(
                "Flavor's disk is smaller than the minimum size specified in image metadata. "
                f"Flavor disk is {flavor.root_gb * 1024**3} bytes, minimum size is "
                f"{image.min_disk * 1024**3} bytes.")
        return image_id

    def _check_zone(self, new: NewServer) -> tuple[str | None, str | None, str | None]:
        """Nova's ``availability_zone`` forms: ``az``, ``az:host``, ``az:host:node``."""
        zone, host, node = new.availability_zone, new.host, new.node
        if zone and ":" in zone:
            parts = zone.split(":")
            zone = parts[0] or None
            host = parts[1] or host if len(parts) > 1 else host
            node = parts[2] or node if len(parts) > 2 else node
        zones = {h.availability_zone for h in self.backend.hosts()}
        if zone is not None and zone not in zones:
            raise InvalidInput("The requested availability zone is not available")
        hosts = {h.name for h in self.backend.hosts()}
        for wanted, kind in ((host, "Compute host"), (node, "Compute host")):
            if wanted is not None and wanted not in hosts:
                raise InvalidInput(f"{kind} {wanted} could not be found.")
        return zone, host, node

    def create(self, ctx: RequestContext, new: NewServer) -> Created:
        """Record ``max_count`` servers in BUILD (scheduling); the build runs afterwards."""
        authorize(ctx, "os_compute_api:servers:create", ctx.project_id)
        if (new.host or new.node) and not ctx.is_admin:
            raise Forbidden("Policy doesn't allow compute:servers:create:requested_destination "
                            "to be performed.")
        if len(new.metadata) > MAX_METADATA_ITEMS:
            raise OverQuota("Quota exceeded for metadata_items: Requested "
                            f"{len(new.metadata)}, but already used 0 of "
                            f"{MAX_METADATA_ITEMS} metadata_items")
        flavor = self._resolve_flavor(ctx, new.flavor_ref)
        image_ref = self._check_image(ctx, new, flavor)
        key_data: str | None = None
        if new.key_name is not None:
            try:
                key_data = self.keypairs.get(ctx, new.key_name).public_key
            except NotFound:
                raise InvalidInput("Invalid key_name provided.") from None
        zone, host, node = self._check_zone(new)
        if new.min_count > new.max_count:
            raise InvalidInput("min_count must be <= max_count")
        admin_pass = new.admin_pass or secrets.token_urlsafe(9)[:12]
        reservation_id = f"r-{secrets.token_hex(4)}"
        created_at = now()
        rows: list[Instance] = []
        with self.db.session() as s:
            for index in range(new.max_count):
                name = new.name if new.max_count == 1 else f"{new.name}-{index + 1}"
                hostname = new.hostname or sanitize_hostname(name)
                if new.hostname and new.max_count > 1:
                    hostname = f"{new.hostname}-{index + 1}"
                row = Instance(
                    uuid=str(uuid.uuid4()), display_name=name,
                    display_description=new.description, hostname=hostname,
                    project_id=ctx.project_id or "", user_id=ctx.user_id, image_ref=image_ref,
                    flavor_id=flavor.flavorid, flavor_name=flavor.name,
                    memory_mb=flavor.memory_mb, vcpus=flavor.vcpus, root_gb=flavor.root_gb,
                    ephemeral_gb=flavor.ephemeral_gb, swap=flavor.swap,
                    flavor_extra_specs=dict(flavor.extra_specs), key_name=new.key_name,
                    key_data=key_data, user_data=new.user_data,
                    config_drive="True" if new.config_drive else "",
                    access_ip_v4=new.access_ip_v4, access_ip_v6=new.access_ip_v6,
                    disk_config=new.disk_config, requested_availability_zone=zone,
                    requested_host=host, requested_node=node, launch_index=index,
                    reservation_id=reservation_id, vm_state=VmState.BUILDING,
                    task_state=TaskState.SCHEDULING, power_state=0,
                    security_groups=list(new.security_groups),
                    requested_networks=new.networks,
                    trusted_certs=list(new.trusted_certs) if new.trusted_certs else None,
                    scheduler_hints=dict(new.scheduler_hints),
                    created_at=created_at, updated_at=created_at,
                )
                s.add(row)
                for key, value in new.metadata.items():
                    s.add(InstanceMetadata(instance_uuid=row.uuid, key=key, value=value))
                for tag in set(new.tags):
                    s.add(InstanceTag(instance_uuid=row.uuid, tag=tag))
                self._start_action(s, ctx, row.uuid, "create", created_at)
                rows.append(row)
            s.flush()
            records = self._records(s, rows)
        return Created(servers=tuple(records), admin_pass=admin_pass,
                       reservation_id=reservation_id)

    # -- build steps (called by Lifecycle) -------------------------------------------------

    def usage(self, s: Session) -> dict[str, Usage]:
        """Resources claimed on each host by live servers."""
        stmt = (
            select(Instance.host, func.sum(Instance.vcpus), func.sum(Instance.memory_mb),
                   func.sum(Instance.root_gb + Instance.ephemeral_gb))
            .where(Instance.deleted == False, col(Instance.host).is_not(None))  # noqa: E712
            .group_by(Instance.host)
        )
        return {host: Usage(int(v or 0), int(m or 0), int(d or 0))
                for host, v, m, d in s.exec(stmt).all() if host}

    def claim_host(self, server_id: str) -> HostInfo | None:
        """Schedule ``server_id`` and record its claim atomically; None if nothing fits."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            request = HostRequest(
                vcpus=row.vcpus, memory_mb=row.memory_mb, disk_gb=row.root_gb + row.ephemeral_gb,
                availability_zone=row.requested_availability_zone, host=row.requested_host,
                node=row.requested_node,
            )
            host = select_host(self.backend.hosts(), self.usage(s), request)
            if host is not None:
                row.host = row.node = host.name
                row.availability_zone = host.availability_zone
                row.task_state = TaskState.NETWORKING
                row.updated_at = now()
                s.add(row)
            return host

    def allocate_addresses(self, server_id: str) -> None:
        """Give the server an address on the default network unless it asked for none."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            if row.requested_networks == "none":
                return
            used = set(s.exec(select(InstanceAddress.address)
                              .where(InstanceAddress.network_name == DEFAULT_NETWORK)).all())
            for candidate in DEFAULT_SUBNET.hosts():
                text = str(candidate)
                if int(candidate) & 0xFF < 3 or text in used:
                    continue
                mac = "fa:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))
                s.add(InstanceAddress(instance_uuid=server_id, network_name=DEFAULT_NETWORK,
                                      address=text, version=4, mac_address=mac))
                return
            raise InvalidInput("No more IP addresses available on network private.")

    def set_state(self, server_id: str, **changes: Any) -> Instance | None:
        """Update an instance's state columns; None if it no longer exists."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
            if row is None:
                return None
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now()
            s.add(row)
            return row

    def record_fault(self, server_id: str, code: int, message: str, details: str = "") -> None:
        with self.db.session() as s:
            s.add(InstanceFault(instance_uuid=server_id, code=code, message=message,
                                details=details, created_at=now()))

    def instance(self, server_id: str) -> Instance | None:
        with self.db.session() as s:
            return s.exec(select(Instance).where(Instance.uuid == server_id)).first()

    def pending(self) -> list[Instance]:
        """Live instances with an operation in flight (for recovery after a restart)."""
        with self.db.session() as s:
            stmt = select(Instance).where(Instance.deleted == False,  # noqa: E712
                                          col(Instance.task_state).is_not(None))
            return list(s.exec(stmt).all())

    def live_on_hosts(self) -> list[Instance]:
        with self.db.session() as s:
            stmt = select(Instance).where(Instance.deleted == False,  # noqa: E712
                                          col(Instance.host).is_not(None))
            return list(s.exec(stmt).all())

    # -- instance actions ----------------------------------------------------------------

    @staticmethod
    def _start_action(s: Session, ctx: RequestContext, server_id: str, action: str,
                      when: datetime) -> None:
        s.add(InstanceAction(request_id=ctx.request_id, instance_uuid=server_id, action=action,
                             project_id=ctx.project_id or "", user_id=ctx.user_id,
                             start_time=when, updated_at=when))

    def start_event(self, server_id: str, request_id: str, event: str, host: str | None) -> None:
        with self.db.session() as s:
            action = s.exec(select(InstanceAction).where(
                InstanceAction.instance_uuid == server_id,
                InstanceAction.request_id == request_id)).first()
            if action is None or action.id is None:
                return
            when = now()
            s.add(InstanceActionEvent(action_id=action.id, event=event, start_time=when,
                                      host=host))
            action.updated_at = when
            s.add(action)

    def finish_event(self, server_id: str, request_id: str, event: str, result: str,
                     message: str | None = None, traceback: str | None = None) -> None:
        with self.db.session() as s:
            action = s.exec(select(InstanceAction).where(
                InstanceAction.instance_uuid == server_id,
                InstanceAction.request_id == request_id)).first()
            if action is None:
                return
            when = now()
            for ev in s.exec(select(InstanceActionEvent).where(
                    InstanceActionEvent.action_id == action.id,
                    InstanceActionEvent.event == event)).all():
                if ev.finish_time is None:
                    ev.finish_time, ev.result, ev.traceback = when, result, traceback
                    s.add(ev)
            action.finish_time, action.updated_at = when, when
            if result == "Error":
                action.message = message or "Error"
            s.add(action)

    # -- updating and deleting -----------------------------------------------------------

    def update(self, ctx: RequestContext, server_id: str, changes: dict[str, Any]) -> ServerRecord:
        """Rename, describe, re-hostname (the API layer validated ``changes``)."""
        with self.db.session() as s:
            row = self._instance(s, ctx, server_id)
            authorize(ctx, "os_compute_api:servers:update", row.project_id)
            self._check_lock(ctx, row)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now()
            s.add(row)
            s.flush()
            return self._records(s, [row])[0]

    @staticmethod
    def _check_lock(ctx: RequestContext, row: Instance) -> None:
        if row.locked and not ctx.is_admin:
            raise Conflict(f"Instance {row.uuid} is locked")

    def begin_delete(self, ctx: RequestContext, server_id: str, force: bool = False) -> Instance:
        """Mark the server ``deleting`` (acknowledged); Lifecycle finishes the delete."""
        with self.db.session() as s:
            row = self._instance(s, ctx, server_id)
            rule = "os_compute_api:os-deferred-delete:force" if force else \
                "os_compute_api:servers:delete"
            authorize(ctx, rule, row.project_id)
            self._check_lock(ctx, row)
            row.task_state = TaskState.DELETING
            row.updated_at = now()
            s.add(row)
            self._start_action(s, ctx, row.uuid, "delete", now())
            return row

    def finish_delete(self, server_id: str) -> None:
        """The backend has destroyed it: soft-mark deleted, release claim and addresses."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
            if row is None:
                return
            when = now()
            row.deleted, row.deleted_at, row.terminated_at = True, when, when
            row.vm_state, row.task_state, row.power_state = VmState.DELETED, None, 0
            row.host = row.node = None
            row.updated_at = when
            s.add(row)
            for address in s.exec(select(InstanceAddress)
                                  .where(InstanceAddress.instance_uuid == server_id)).all():
                s.delete(address)

    # -- metadata and tags ---------------------------------------------------------------

    def _mutable(self, s: Session, ctx: RequestContext, server_id: str, rule: str) -> Instance:
        row = self._instance(s, ctx, server_id)
        authorize(ctx, rule, row.project_id)
        return row

    def metadata(self, ctx: RequestContext, server_id: str) -> dict[str, str]:
        return dict(self.get(ctx, server_id).metadata)

    def set_metadata(self, ctx: RequestContext, server_id: str, items: dict[str, str],
                     replace: bool) -> dict[str, str]:
        """Merge (POST, PUT key) or replace (PUT all) a server's metadata."""
        with self.db.session() as s:
            row = self._mutable(s, ctx, server_id, "os_compute_api:server-metadata:update")
            self._check_lock(ctx, row)
            current = {m.key: m for m in s.exec(select(InstanceMetadata).where(
                InstanceMetadata.instance_uuid == row.uuid)).all()}
            merged = dict(items) if replace else {**{k: m.value for k, m in current.items()},
                                                  **items}
            if len(merged) > MAX_METADATA_ITEMS:
                raise OverQuota("Quota exceeded for metadata_items: Requested "
                                f"{len(merged)}, but already used 0 of {MAX_METADATA_ITEMS} "
                                "metadata_items")
            for key, meta in current.items():
                if key not in merged:
                    s.delete(meta)
            for key, value in merged.items():
                if key in current:
                    current[key].value = value
                    s.add(current[key])
                else:
                    s.add(InstanceMetadata(instance_uuid=row.uuid, key=key, value=value))
            row.updated_at = now()
            s.add(row)
            return merged

    def delete_metadata(self, ctx: RequestContext, server_id: str, key: str) -> None:
        with self.db.session() as s:
            row = self._mutable(s, ctx, server_id, "os_compute_api:server-metadata:delete")
            self._check_lock(ctx, row)
            meta = s.get(InstanceMetadata, (row.uuid, key))
            if meta is None:
                raise NotFound("Metadata item was not found")
            s.delete(meta)

    def set_tags(self, ctx: RequestContext, server_id: str, tags: Iterable[str],
                 replace: bool) -> tuple[str, ...]:
        with self.db.session() as s:
            row = self._mutable(s, ctx, server_id, "os_compute_api:os-server-tags:update")
            current = {t.tag: t for t in s.exec(select(InstanceTag).where(
                InstanceTag.instance_uuid == row.uuid)).all()}
            wanted = set(tags) if replace else set(current) | set(tags)
            if len(wanted) > MAX_TAGS:
                raise InvalidInput(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
            for tag, entry in current.items():
                if tag not in wanted:
                    s.delete(entry)
            for tag in wanted - set(current):
                s.add(InstanceTag(instance_uuid=row.uuid, tag=tag))
            row.updated_at = now()
            s.add(row)
            return tuple(sorted(wanted))

    def delete_tag(self, ctx: RequestContext, server_id: str, tag: str) -> None:
        with self.db.session() as s:
            row = self._mutable(s, ctx, server_id, "os_compute_api:os-server-tags:delete")
            entry = s.get(InstanceTag, (row.uuid, tag))
            if entry is None:
                raise NotFound(f"Tag {tag} could not be found.")
            s.delete(entry)
            row.updated_at = now()
            s.add(row)

    def purge(self) -> None:
        """Forget every server (the control plane's reset)."""
        with self.db.session() as s:
            for model in (InstanceActionEvent, InstanceAction, InstanceFault, InstanceAddress,
                          InstanceTag, InstanceMetadata, Instance):
                for row in s.exec(select(model)).all():
                    s.delete(row)
                s.flush()


def _updated(instance: Instance) -> datetime:
    value = instance.updated_at or instance.created_at
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _sortable(value: Any) -> tuple[bool, Any]:
    """Sort None first (ascending), as SQL NULLs sort in Nova's MySQL."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value is not None, value if value is not None else 0)
