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

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from backends.base import ComputeBackend, HostInfo
from emulator.compute.actions import Transition, refusal
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
MAX_TAG_LENGTH = 60
#: The vm_states in which metadata and tags may change (Nova's compute API, tag controller).
MUTABLE_VM_STATES = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED,
                               VmState.STOPPED})
#: The network every server gets with ``networks: auto`` until Neutron exists.
DEFAULT_NETWORK = "private"
DEFAULT_NETWORK_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-emulator/networks/private"))
DEFAULT_SUBNET = ipaddress.IPv4Network("10.0.0.0/16")
#: Nova's ``[DEFAULT] default_availability_zone``: where hosts in no aggregate are.
DEFAULT_ZONE = "nova"


def now() -> datetime:
    return datetime.now(UTC)


def not_found(server_id: str) -> NotFound:
    return NotFound(f"Instance {server_id} could not be found.")


def invalid_state(action: str, server_id: str, attr: str, state: object) -> Conflict:
    """Nova's 409 for ``InstanceInvalidState`` (``raise_http_conflict_for_...``)."""
    return Conflict(f"Cannot '{action}' instance {server_id} while it is in {attr} {state}")


def check_tag(tag: str) -> None:
    """Nova's check of a tag named in the URL: its schema, worded by the tag controller."""
    problem = None
    if "," in tag or "/" in tag:
        problem = f"{tag!r} does not match '^[^,/]*$'"
    elif len(tag) > MAX_TAG_LENGTH:
        problem = f"{tag!r} is too long"
    if problem is not None:
        raise InvalidInput(f"Tag '{tag}' is invalid. It must be a non empty string without "
                           f"characters '/' and ','. Validation error message: {problem}")


@dataclass(frozen=True)
class ActionQuery:
    """Paging and change filters of a server's action list (2.58+); None: no limit."""

    limit: int | None = None
    marker: str | None = None  # a request id
    changes_since: datetime | None = None
    changes_before: datetime | None = None


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
    #: (Instance attribute, pattern): Nova's regular-expression filters (``re.search``; a
    #: NULL column never matches, other values are matched as their SQL text).
    regex: tuple[tuple[str, str], ...] = ()
    #: Every sort key in order, Nova's defaults (``created_at``, ``id``) included.
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"), ("id", "desc"))
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
    # Nova's last default sort key, the table's integer id (not a key clients may give).
    "id": "id",
}


def parse_zone(zone: str | None) -> tuple[str | None, str | None, str | None]:
    """Nova's ``parse_availability_zone``: ``az``, ``az:host``, ``az:host:node``, ``az::node``
    -> (zone, forced host, forced node); empty parts are None."""
    host = node = None
    if zone and ":" in zone:
        count = zone.count(":")
        if count == 1:
            zone, host = zone.split(":")
        elif count == 2 and "::" in zone:
            zone, node = zone.split("::")
        elif count == 2:
            zone, host, node = zone.split(":")
        else:
            raise InvalidInput("Invalid input received: Unable to parse availability_zone")
    return zone or None, host or None, node or None


#: Nova's ``generate_password`` symbol groups (no look-alike characters).
_PASSWORD_GROUPS = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz")


def generate_password(length: int = 12) -> str:
    """Nova's ``utils.generate_password``: ``[DEFAULT] password_length`` characters, at
    least one from each group."""
    chosen = [secrets.choice(group) for group in _PASSWORD_GROUPS]
    symbols = "".join(_PASSWORD_GROUPS)
    chosen += [secrets.choice(symbols) for _ in range(length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def sanitize_hostname(name: str, default: str | None = None) -> str:
    """Nova's ``utils.sanitize_hostname``: Latin-1 only, cut to 63 characters, then spaces,
    underscores and dots become hyphens, other punctuation goes, lower case, no leading or
    trailing dots and hyphens; ``default`` (cut to 63) when nothing is left."""
    text = name.encode("latin-1", "ignore").decode("latin-1")[:63]
    text = re.sub(r"[ _.]", "-", text)
    text = re.sub(r"[^\w.-]+", "", text)
    text = text.lower().strip(".-")
    if not text and default is not None:
        return default[:63]
    return text


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
            elif query.deleted is False or (query.changes_since is None
                                            and query.changes_before is None):
                stmt = stmt.where(Instance.deleted == False)  # noqa: E712
            for column, value in (("user_id", query.user_id), ("flavor_id", query.flavor),
                                  ("image_ref", query.image), ("host", query.host),
                                  ("node", query.node), ("key_name", query.key_name),
                                  ("uuid", query.uuid),
                                  ("availability_zone", query.availability_zone)):
                if value is not None:
                    stmt = stmt.where(getattr(Instance, column) == value)
            if query.marker is None and not _needs_python(query):
                # The common page (filters the database can apply, no marker): let SQL
                # sort and cut it. NULLs sort first ascending, as in _sortable below.
                order = [getattr(col(getattr(Instance, SORT_KEYS[key])), direction)()
                         for key, direction in query.sort]
                page = list(s.exec(stmt.order_by(*order).limit(query.limit)).all())
                return self._records(s, page)
            rows = list(s.exec(stmt).all())
            matching = {r.uuid: r for r in self._candidates(s, rows, query)
                        if self._matches(r, query)}
            # Nova pages from the marker's place in the order: any server (of any project,
            # deleted or not, matching the filters or not) will do.
            marker = None if query.marker is None else s.exec(
                select(Instance).where(Instance.uuid == query.marker)).first()
            if query.marker is not None and marker is None:
                raise InvalidInput(f"marker [{query.marker}] not found")
            ordered = [r.instance for r in matching.values()]
            if marker is not None and marker.uuid not in matching:
                ordered.append(marker)
            for key, direction in reversed(query.sort):
                attribute = SORT_KEYS[key]
                ordered.sort(key=lambda i, a=attribute: _sortable(getattr(i, a)),  # type: ignore[misc]
                             reverse=direction == "desc")
            if marker is not None:
                ordered = ordered[[i.uuid for i in ordered].index(marker.uuid) + 1:]
            page = [i for i in ordered if i.uuid in matching][: query.limit]
            # Only the page is dressed with metadata, faults and host status.
            return self._records(s, page)

    def _candidates(self, s: Session, rows: Sequence[Instance],
                    q: ServerQuery) -> list[ServerRecord]:
        """Bare records to filter: tags and addresses are loaded only if a filter reads them."""
        uuids = [r.uuid for r in rows]
        tags: dict[str, list[str]] = {}
        if any(t is not None for t in (q.tags, q.tags_any, q.not_tags, q.not_tags_any)):
            for t in s.exec(select(InstanceTag).where(col(InstanceTag.instance_uuid).in_(uuids))):
                tags.setdefault(t.instance_uuid, []).append(t.tag)
        addresses: dict[str, list[InstanceAddress]] = {}
        if q.ip is not None or q.ip6 is not None:
            for a in s.exec(select(InstanceAddress)
                            .where(col(InstanceAddress.instance_uuid).in_(uuids))):
                addresses.setdefault(a.instance_uuid, []).append(a)
        return [ServerRecord(instance=r, metadata={}, tags=tuple(tags.get(r.uuid, ())),
                             addresses=tuple(addresses.get(r.uuid, ())), fault=None,
                             host_status="")
                for r in rows]

    @staticmethod
    def _matches(r: ServerRecord, q: ServerQuery) -> bool:
        i = r.instance
        checks: list[bool] = []
        if q.name is not None:
            checks.append(re.search(q.name, i.display_name) is not None)
        for attribute, expression in q.regex:
            value = getattr(i, attribute)
            checks.append(value is not None
                          and re.search(expression, _sql_text(value)) is not None)
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

    def _forced_zone(self, zone: str | None, host: str | None) -> str | None:
        """Nova's ``_validate_host_availability_zone``: the zone asked for with a forced
        host is kept only if the host is in it (a host in no aggregate is in ``nova``)."""
        zones = {h.name: h.availability_zone for h in self.backend.hosts()}
        return zone if zone == zones.get(host or "", DEFAULT_ZONE) else None

    def _check_zone(self, zone: str | None, forced_host: str | None) -> None:
        """A zone asked for without a forced host must exist (Nova's ``create``)."""
        if zone and forced_host is None:
            zones = {h.availability_zone for h in self.backend.hosts()}
            if zone not in zones:
                raise InvalidInput("The requested availability zone is not available")

    @staticmethod
    def _check_networking(new: NewServer) -> None:
        """Security groups, then requested ports and networks, must exist (without Neutron:
        the ``default`` group and the ``private`` network, and no ports)."""
        for name in new.security_groups:
            if name != "default":
                raise InvalidInput(f"Security group {name} not found.")
        if not isinstance(new.networks, list):
            return
        for network in new.networks:
            if network.get("port"):
                raise InvalidInput(f"Port id {network['port']} could not be found.")
            net_id = str(network.get("uuid", ""))
            if net_id.replace("-", "") != DEFAULT_NETWORK_ID.replace("-", ""):
                raise InvalidInput(f"Network {net_id} could not be found.")

    def _check_destination(self, new: NewServer) -> None:
        """2.74 ``host``/``hypervisor_hostname`` must name compute hosts (checked last)."""
        hosts = {h.name for h in self.backend.hosts()}
        for wanted in (new.host, new.node):
            if wanted is not None and wanted not in hosts:
                raise InvalidInput(f"Compute host {wanted} could not be found.")

    def create(self, ctx: RequestContext, new: NewServer) -> Created:
        """Record ``max_count`` servers in BUILD (scheduling); the build runs afterwards.

        Nova's order: policies, then the flavor, the hostname, the zone, the image, the key
        pair, the image against the flavor, metadata quota, and the requested host.
        """
        authorize(ctx, "os_compute_api:servers:create", ctx.project_id)
        zone, forced_host, forced_node = parse_zone(new.availability_zone)
        if forced_host or forced_node:
            if not ctx.is_admin:
                raise Forbidden("Policy doesn't allow os_compute_api:servers:create:forced_host "
                                "to be performed.")
            zone = self._forced_zone(zone, forced_host)
        if new.host or new.node:
            if not ctx.is_admin:
                raise Forbidden("Policy doesn't allow compute:servers:create:requested_"
                                "destination to be performed.")
            if forced_host or forced_node:
                raise InvalidInput("One mechanism with host and/or hypervisor_hostname and "
                                   "another mechanism with zone:host:node are mutually "
                                   "exclusive.")
        if new.min_count > new.max_count:
            raise InvalidInput("min_count must be <= max_count")
        flavor = self._resolve_flavor(ctx, new.flavor_ref)
        if new.hostname and new.max_count > 1:
            raise InvalidInput("Unable to allocate a single hostname to multiple instances")
        self._check_zone(zone, forced_host)
        image_ref = self._check_image(ctx, new, flavor)
        self._check_networking(new)
        key_data: str | None = None
        if new.key_name is not None:
            try:
                key_data = self.keypairs.get(ctx, new.key_name).public_key
            except NotFound:
                raise InvalidInput("Invalid key_name provided.") from None
        if len(new.metadata) > MAX_METADATA_ITEMS:
            raise OverQuota(f"Maximum number of metadata items exceeds {MAX_METADATA_ITEMS}")
        self._check_destination(new)
        host = new.host or forced_host
        node = new.node or forced_node
        admin_pass = new.admin_pass if new.admin_pass is not None else generate_password()
        reservation_id = f"r-{secrets.token_hex(4)}"
        created_at = now()
        rows: list[Instance] = []
        with self.db.session() as s:
            for index in range(new.max_count):
                # Nova's _populate_instance_names: both get "-<n>" when there are several.
                server_id = str(uuid.uuid4())
                name = new.name if new.max_count == 1 else f"{new.name}-{index + 1}"
                hostname = new.hostname or sanitize_hostname(new.name)
                if not hostname:
                    hostname = f"Server-{server_id}"
                elif new.max_count > 1 and not new.hostname:
                    hostname = f"{hostname}-{index + 1}"
                row = Instance(
                    uuid=server_id, display_name=name,
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
                    # The request spec's zone: what 2.96+ shows as pinned.
                    pinned_availability_zone=zone,
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

    def usage(self, s: Session, excluding: str | None = None) -> dict[str, Usage]:
        """Resources claimed on each host by live servers (but ``excluding``). A server in
        a resize holds its new flavor on ``host`` and its old one on ``source_host`` until
        confirm or revert; resized on the same host, it holds the larger of the two."""
        moved = col(Instance.source_host).is_not(None)

        def held(new: Any, old: Any) -> Any:
            return case((moved, new), (old > new, old), else_=new)

        live = (Instance.deleted == False)  # noqa: E712
        stmt = (
            select(Instance.host, func.sum(held(Instance.vcpus, Instance.old_vcpus)),
                   func.sum(held(Instance.memory_mb, Instance.old_memory_mb)),
                   func.sum(held(Instance.root_gb + Instance.ephemeral_gb,
                                 Instance.old_root_gb + Instance.old_ephemeral_gb)))
            .where(live, col(Instance.host).is_not(None))
            .group_by(Instance.host)
        )
        sources = (
            select(Instance.source_host, func.sum(Instance.old_vcpus),
                   func.sum(Instance.old_memory_mb),
                   func.sum(Instance.old_root_gb + Instance.old_ephemeral_gb))
            .where(live, moved)
            .group_by(Instance.source_host)
        )
        if excluding is not None:
            stmt = stmt.where(Instance.uuid != excluding)
            sources = sources.where(Instance.uuid != excluding)
        usage: dict[str, Usage] = {}
        for host, v, m, d in [*s.exec(stmt).all(), *s.exec(sources).all()]:
            if host:
                was = usage.get(host, Usage())
                usage[host] = Usage(was.vcpus + int(v or 0), was.memory_mb + int(m or 0),
                                    was.disk_gb + int(d or 0))
        return usage

    def claim_host(self, server_id: str, task_state: str | None = TaskState.NETWORKING,
                   destination: str | None = None) -> HostInfo | None:
        """Schedule ``server_id`` and record its claim atomically; None if nothing fits.

        A build honours the host and node asked for at create; a reschedule (an unshelve:
        ``task_state`` is its own) only ``destination`` (Nova resets forced destinations).
        """
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            build = task_state == TaskState.NETWORKING
            request = HostRequest(
                vcpus=row.vcpus, memory_mb=row.memory_mb, disk_gb=row.root_gb + row.ephemeral_gb,
                availability_zone=row.requested_availability_zone,
                host=row.requested_host if build else destination,
                node=row.requested_node if build else None,
            )
            host = select_host(self.backend.hosts(), self.usage(s), request)
            if host is not None:
                row.host = row.node = host.name
                row.availability_zone = host.availability_zone
                row.task_state = task_state
                row.updated_at = now()
                s.add(row)
            return host

    def claim_resize(self, server_id: str, same_host: bool = False) -> HostInfo | None:
        """Schedule a resize (the server's new flavor is in place, the old one kept) and
        record its claim atomically; None if nothing fits (Nova's NoValidHost).

        Without ``same_host`` (Nova's ``allow_resize_to_same_host``) the server's own host
        is ignored. On another host the server moves there (``host``) and its old flavor
        stays claimed on ``source_host``; on its own host it holds the larger flavor.
        """
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            current = row.host
            usage = self.usage(s, excluding=row.uuid)
            if current is not None:
                was = usage.get(current, Usage())
                usage[current] = Usage(
                    was.vcpus + max(0, row.old_vcpus - row.vcpus),
                    was.memory_mb + max(0, row.old_memory_mb - row.memory_mb),
                    was.disk_gb + max(0, row.old_root_gb + row.old_ephemeral_gb
                                      - row.root_gb - row.ephemeral_gb))
            request = HostRequest(
                vcpus=row.vcpus, memory_mb=row.memory_mb,
                disk_gb=row.root_gb + row.ephemeral_gb,
                availability_zone=row.pinned_availability_zone
                or row.requested_availability_zone,
                ignore_hosts=frozenset() if same_host or current is None
                else frozenset({current}))
            host = select_host(self.backend.hosts(), usage, request)
            if host is not None and host.name != current:
                row.source_host, row.source_node = row.host, row.node
                row.host = row.node = host.name
                row.availability_zone = host.availability_zone
                row.updated_at = now()
                s.add(row)
            return host

    def resize_columns(self, ctx: RequestContext, row: Instance,
                       flavor_ref: str) -> dict[str, Any]:
        """The columns a resize to ``flavor_ref`` sets (the new flavor, the old one kept),
        after Nova's checks: an unknown or disabled flavor, the same flavor, a zero disk."""
        flavor_id = str(flavor_ref)
        try:
            flavor = self.flavors.get(ctx, flavor_id)
        except NotFound:
            raise InvalidInput(f"Flavor {flavor_id} could not be found.") from None
        if flavor.root_gb == 0 and row.root_gb != 0 and row.image_ref:
            raise InvalidInput("Server disk was unable to be resized because: Resize to zero "
                               "disk flavor is not allowed.")
        if flavor.flavorid == row.flavor_id:
            raise InvalidInput("When resizing, instances must change flavor!")
        if flavor.disabled:
            raise InvalidInput(f"Flavor {flavor_id} could not be found.")
        if not row.image_ref:
            return self._resized_columns(row, flavor)
        # Nova checks the flavor against the image as the instance's system metadata keeps
        # it, where min_disk is at least the root disk of the flavor it was built with
        # (NOTE: approximated by the current flavor's): so a smaller disk is a 400.
        image = self.images(ctx, row.image_ref)
        min_ram = image.min_ram if image is not None else 0
        min_disk = max(image.min_disk if image is not None else 0, row.root_gb)
        if min_ram > flavor.memory_mb:
            raise InvalidInput("Flavor's memory is too small for requested image.")
        if flavor.root_gb and min_disk > flavor.root_gb:
            raise InvalidInput(
                "Flavor's disk is smaller than the minimum size specified in image metadata. "
                f"Flavor disk is {flavor.root_gb * 1024**3} bytes, minimum size is "
                f"{min_disk * 1024**3} bytes.")
        return self._resized_columns(row, flavor)

    @staticmethod
    def _resized_columns(row: Instance, flavor: FlavorRecord) -> dict[str, Any]:
        return {
            "old_flavor_id": row.flavor_id, "old_flavor_name": row.flavor_name,
            "old_vcpus": row.vcpus, "old_memory_mb": row.memory_mb,
            "old_root_gb": row.root_gb, "old_ephemeral_gb": row.ephemeral_gb,
            "old_swap": row.swap, "old_flavor_extra_specs": dict(row.flavor_extra_specs),
            "flavor_id": flavor.flavorid, "flavor_name": flavor.name,
            "vcpus": flavor.vcpus, "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb,
            "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
            "flavor_extra_specs": dict(flavor.extra_specs),
        }

    @staticmethod
    def forget_old_flavor() -> dict[str, Any]:
        """Columns that end a resize on its new flavor (confirm)."""
        return {"old_flavor_id": None, "old_flavor_name": None, "old_vcpus": 0,
                "old_memory_mb": 0, "old_root_gb": 0, "old_ephemeral_gb": 0, "old_swap": 0,
                "old_flavor_extra_specs": None}

    @staticmethod
    def confirmed_columns() -> dict[str, Any]:
        """Columns a confirmed resize ends with: the new flavor only, the source released."""
        return {**ServerService.forget_old_flavor(), "old_vm_state": None,
                "source_host": None, "source_node": None}

    def reverted_columns(self, row: Instance) -> dict[str, Any]:
        """Columns a reverted resize ends with: the old flavor, back on the source host
        (the destination released)."""
        columns: dict[str, Any] = {**self.restore_old_flavor(row), "old_vm_state": None,
                                   "source_host": None, "source_node": None}
        if row.source_host is not None:
            source = self._hosts().get(row.source_host)
            columns.update(host=row.source_host, node=row.source_node or row.source_host)
            if source is not None:
                columns["availability_zone"] = source.availability_zone
        return columns

    @staticmethod
    def restore_old_flavor(row: Instance) -> dict[str, Any]:
        """Columns that end a resize on its old flavor (revert, or a failed resize)."""
        if row.old_flavor_id is None:
            return {}
        return {"flavor_id": row.old_flavor_id, "flavor_name": row.old_flavor_name or "",
                "vcpus": row.old_vcpus, "memory_mb": row.old_memory_mb,
                "root_gb": row.old_root_gb, "ephemeral_gb": row.old_ephemeral_gb,
                "swap": row.old_swap, "flavor_extra_specs": dict(row.old_flavor_extra_specs or {}),
                **ServerService.forget_old_flavor()}

    def allocate_addresses(self, server_id: str) -> None:
        """Give the server an address on the default network unless it asked for none."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            if row.requested_networks == "none":
                return
            used = {int(ipaddress.IPv4Address(a)) for a in s.exec(
                select(InstanceAddress.address)
                .where(InstanceAddress.network_name == DEFAULT_NETWORK)).all()}
            first = int(DEFAULT_SUBNET.network_address) + 1
            size = DEFAULT_SUBNET.num_addresses - 2
            # Probe from just past the addresses in use: O(1) while nothing is freed.
            for step in range(size):
                candidate = first + (len(used) + step) % size
                if candidate & 0xFF < 3 or candidate in used:
                    continue
                mac = "fa:16:3e:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))
                s.add(InstanceAddress(instance_uuid=server_id, network_name=DEFAULT_NETWORK,
                                      address=str(ipaddress.IPv4Address(candidate)), version=4,
                                      mac_address=mac))
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

    def replace_metadata(self, server_id: str, items: dict[str, str]) -> None:
        """Set a server's metadata to ``items`` (a rebuild's; checked by the caller)."""
        with self.db.session() as s:
            for meta in s.exec(select(InstanceMetadata).where(
                    InstanceMetadata.instance_uuid == server_id)).all():
                s.delete(meta)
            s.flush()
            for key, value in items.items():
                s.add(InstanceMetadata(instance_uuid=server_id, key=key, value=value))

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

    def record_action(self, ctx: RequestContext, server_id: str, action: str) -> None:
        """Start an instance action that no API request made (a periodic task's)."""
        with self.db.session() as s:
            self._start_action(s, ctx, server_id, action, now())

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
                    # NOTE: Nova's failed event carries the formatted exception (admins see
                    # it); here its message stands for the traceback.
                    if traceback is None and result == "Error" and message:
                        traceback = message
                    ev.finish_time, ev.result, ev.traceback = when, result, traceback
                    s.add(ev)
            action.finish_time, action.updated_at = when, when
            if result == "Error":
                action.message = "Error"  # NOTE: Nova's word; the failure is the fault's
            s.add(action)

    # -- updating and deleting -----------------------------------------------------------

    def update(self, ctx: RequestContext, server_id: str, changes: dict[str, Any],
               pin: bool = False, pinned_zone: str | None = None) -> ServerRecord:
        """Rename, describe, re-hostname (the API layer validated ``changes``); with ``pin``
        (2.104) pin the server to ``pinned_zone``, its current zone, or unpin it (None).

        NOTE: Nova's ``update_instance`` has no lock check: a locked server can be renamed.
        """
        with self.db.session() as s:
            row = self._instance(s, ctx, server_id)
            authorize(ctx, "os_compute_api:servers:update", row.project_id)
            if pin:
                self._pin(row, pinned_zone)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now()
            s.add(row)
            s.flush()
            return self._records(s, [row])[0]

    @staticmethod
    def _pin(row: Instance, zone: str | None) -> None:
        """Nova's 2.104 ``pinned_availability_zone`` update (the request spec's zone)."""
        current = row.pinned_availability_zone
        if zone is None:
            row.pinned_availability_zone = None
            return
        if current is not None:
            if zone != current:
                raise Conflict("Cannot change pinned availability zone directly. Unpin first "
                               "by setting pinned_availability_zone to null.")
            return
        instance_zone = row.availability_zone or row.requested_availability_zone
        if zone != instance_zone:
            raise Conflict("Server can only be pinned to its current availability zone "
                           f"'{instance_zone}', but '{zone}' was requested.")
        row.pinned_availability_zone = zone

    @staticmethod
    def _check_lock(ctx: RequestContext, row: Instance) -> None:
        if row.locked and not ctx.is_admin:
            raise Conflict(f"Instance {row.uuid} is locked")

    def accept_action(self, ctx: RequestContext, server_id: str, transition: Transition,
                      rule: str,
                      changes: Callable[[Instance], dict[str, Any]] | None = None) -> Instance:
        """Check ``transition``'s guards and commit its interim state and instance action.

        Order as Nova's: lookup (404), policy (403), lock (409), host, vm_state, task_state,
        launched_at (409). ``changes(row)`` gives more columns to set with the interim state
        (it may raise, e.g. a policy check that depends on the row).
        """
        with self.db.session() as s:
            row = self._instance(s, ctx, server_id)
            authorize(ctx, rule, row.project_id)
            if transition.lock_checked:
                self._check_lock(ctx, row)
            refused = refusal(transition, row.uuid, row.vm_state, row.task_state,
                              row.launched_at is not None, has_host=bool(row.host))
            if refused is not None:
                raise Conflict(refused)
            extra = changes(row) if changes is not None else {}
            if transition.remembers:
                row.old_vm_state = row.vm_state
            if transition.interim is not None:
                row.task_state = transition.interim
            for name, value in extra.items():
                setattr(row, name, value)
            row.updated_at = now()
            s.add(row)
            self._start_action(s, ctx, row.uuid, transition.record or transition.name,
                               row.updated_at)
            return row

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
            # NOTE: Nova keeps host and node on a deleted instance (admins see them with
            # ``deleted=true``); the claim ends because usage counts live servers only.
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

    def server(self, ctx: RequestContext, server_id: str, rule: str,
               read_deleted: bool = False) -> ServerRecord:
        """The server ``ctx`` may see (else 404), once ``rule`` allows it on the server."""
        with self.db.session() as s:
            row = self._instance(s, ctx, server_id, read_deleted)
            authorize(ctx, rule, row.project_id)
            return self._records(s, [row])[0]

    @staticmethod
    def _check_state(row: Instance, action: str) -> None:
        """Nova's ``check_instance_state`` on metadata: a settled vm_state, launched once."""
        if row.vm_state not in MUTABLE_VM_STATES:
            raise invalid_state(action, row.uuid, "vm_state", row.vm_state)
        if row.launched_at is None:
            raise invalid_state(action, row.uuid, "launched_at", None)

    def set_metadata(self, ctx: RequestContext, server_id: str, items: dict[str, str],
                     replace: bool,
                     rule: str = "os_compute_api:server-metadata:update") -> dict[str, str]:
        """Merge (POST, PUT key) or replace (PUT all) a server's metadata.

        Nova's order: the server (404), ``rule`` (403), lock, state (409), quota (403).
        """
        with self.db.session() as s:
            row = self._mutable(s, ctx, server_id, rule)
            self._check_lock(ctx, row)
            self._check_state(row, "update metadata")
            current = {m.key: m for m in s.exec(select(InstanceMetadata).where(
                InstanceMetadata.instance_uuid == row.uuid)).all()}
            merged = dict(items) if replace else {**{k: m.value for k, m in current.items()},
                                                  **items}
            if len(merged) > MAX_METADATA_ITEMS:
                raise OverQuota(f"Maximum number of metadata items exceeds {MAX_METADATA_ITEMS}")
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
            meta = s.get(InstanceMetadata, (row.uuid, key))
            if meta is None:
                raise NotFound("Metadata item was not found")
            self._check_lock(ctx, row)
            self._check_state(row, "delete metadata")
            s.delete(meta)

    def _tagged(self, s: Session, ctx: RequestContext, server_id: str, rule: str,
                action: str | None = None) -> Instance:
        """The server of a tag call, found as Nova's tag controller finds it.

        NOTE: Nova reads the instance *mapping* (any project) and checks ``rule`` on its
        project before it reads the instance, so another project's server is a 403 here,
        not the usual 404; an unknown id is a 404 about the mapping, a deleted server
        (still mapped) the ordinary 404. Changes (``action``) need a settled vm_state.
        """
        row = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
        if row is None:
            raise NotFound(f"Instance {server_id} has no mapping to a cell.")
        authorize(ctx, rule, row.project_id)
        if row.deleted:
            raise not_found(server_id)
        if action is not None and row.vm_state not in MUTABLE_VM_STATES:
            raise invalid_state(action, server_id, "vm_state", row.vm_state)
        return row

    @staticmethod
    def _tag_rows(s: Session, server_id: str) -> dict[str, InstanceTag]:
        return {t.tag: t for t in s.exec(select(InstanceTag).where(
            InstanceTag.instance_uuid == server_id)).all()}

    def tags(self, ctx: RequestContext, server_id: str) -> tuple[str, ...]:
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, "os_compute_api:os-server-tags:index")
            return tuple(sorted(self._tag_rows(s, row.uuid)))

    def has_tag(self, ctx: RequestContext, server_id: str, tag: str) -> bool:
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, "os_compute_api:os-server-tags:show")
            return s.get(InstanceTag, (row.uuid, tag)) is not None

    def add_tag(self, ctx: RequestContext, server_id: str, tag: str) -> bool:
        """Add one tag; False when the server already has it.

        NOTE: as in Nova, a server at the limit refuses even a tag it already has.
        """
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, "os_compute_api:os-server-tags:update",
                               "update tag")
            check_tag(tag)
            current = self._tag_rows(s, row.uuid)
            if len(current) >= MAX_TAGS:
                raise InvalidInput(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
            if tag in current:
                return False
            s.add(InstanceTag(instance_uuid=row.uuid, tag=tag))
            return True

    def set_tags(self, ctx: RequestContext, server_id: str, tags: Iterable[str],
                 replace: bool, rule: str = "os_compute_api:os-server-tags:update_all",
                 action: str = "update tags") -> tuple[str, ...]:
        with self.db.session() as s:
            row = self._tagged(s, ctx, server_id, rule, action)
            current = self._tag_rows(s, row.uuid)
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
            row = self._tagged(s, ctx, server_id, "os_compute_api:os-server-tags:delete",
                               "delete tag")
            entry = s.get(InstanceTag, (row.uuid, tag))
            if entry is None:
                raise NotFound(f"Instance {row.uuid} has no tag '{tag}'")
            s.delete(entry)
            row.updated_at = now()
            s.add(row)

    # -- reading instance actions --------------------------------------------------------

    def actions(self, ctx: RequestContext, server_id: str, query: ActionQuery,
                read_deleted: bool = False) -> list[InstanceAction]:
        """A server's actions, newest first, filtered and paged (Nova's ``actions_get``)."""
        with self.db.session() as s:
            row = self._instance(s, ctx, server_id, read_deleted)
            authorize(ctx, "os_compute_api:os-instance-actions:list", row.project_id)
            if query.limit == 0:
                return []
            every = list(s.exec(select(InstanceAction)
                                .where(InstanceAction.instance_uuid == row.uuid)).all())

        def order(a: InstanceAction) -> tuple[datetime, int]:
            return _utc(a.start_time), a.id or 0

        every.sort(key=order, reverse=True)
        found = [a for a in every
                 if (query.changes_since is None
                     or _utc(a.updated_at or a.start_time) >= query.changes_since)
                 and (query.changes_before is None
                      or _utc(a.updated_at or a.start_time) <= query.changes_before)]
        if query.marker is not None:
            marker = next((a for a in every if a.request_id == query.marker), None)
            if marker is None:
                # NOTE: Nova words the marker after replacing it with the failed lookup.
                raise InvalidInput("Marker None could not be found.")
            found = [a for a in found if order(a) < order(marker)]
        return found if query.limit is None else found[: query.limit]

    def action(self, ctx: RequestContext, server_id: str, request_id: str,
               read_deleted: bool = False,
               ) -> tuple[Instance, InstanceAction, list[InstanceActionEvent]] | None:
        """The server, its action for ``request_id`` and the events (newest first)."""
        with self.db.session() as s:
            row = self._instance(s, ctx, server_id, read_deleted)
            authorize(ctx, "os_compute_api:os-instance-actions:show", row.project_id)
            action = s.exec(select(InstanceAction).where(
                InstanceAction.instance_uuid == row.uuid,
                InstanceAction.request_id == request_id,
            ).order_by(col(InstanceAction.start_time).desc(),
                       col(InstanceAction.id).desc())).first()
            if action is None:
                return None
            events = s.exec(select(InstanceActionEvent)
                            .where(InstanceActionEvent.action_id == action.id)
                            .order_by(col(InstanceActionEvent.id).desc())).all()
            return row, action, list(events)

    def purge(self) -> None:
        """Forget every server (the control plane's reset)."""
        with self.db.session() as s:
            for model in (InstanceActionEvent, InstanceAction, InstanceFault, InstanceAddress,
                          InstanceTag, InstanceMetadata, Instance):
                for row in s.exec(select(model)).all():
                    s.delete(row)
                s.flush()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _needs_python(q: ServerQuery) -> bool:
    """Whether ``q`` has a filter only Python applies (regexes, statuses, tags, ...)."""
    return any(value is not None for value in (
        q.name, q.statuses, q.changes_since, q.changes_before, q.ip, q.ip6, q.config_drive,
        q.locked, q.vm_state, q.task_state, q.power_state, q.tags, q.tags_any, q.not_tags,
        q.not_tags_any)) or bool(q.regex)


def _updated(instance: Instance) -> datetime:
    value = instance.updated_at or instance.created_at
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _sql_text(value: Any) -> str:
    """A column value as a regular expression filter sees it (its SQL text)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def _sortable(value: Any) -> tuple[bool, Any]:
    """Sort None first (ascending), as SQL NULLs sort in Nova's MySQL."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value is not None, value if value is not None else 0)
