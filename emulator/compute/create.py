"""Creating servers (``POST /servers``): Nova's checks of the request, in Nova's order,
then every server recorded in BUILD (scheduling) in one transaction. The builds run
afterwards, in the background (``emulator.compute.lifecycle``)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from emulator.compute.checks import (
    ImageInfo,
    ImageLookup,
    check_flavor_fits,
    check_image_active,
    check_metadata_count,
    check_tag,
    image_id_of,
    key_data,
)
from emulator.compute.flavors import FlavorRecord, FlavorService
from emulator.compute.keypairs import KeyPairService
from emulator.compute.models import Instance, InstanceAction, InstanceMetadata, InstanceTag
from emulator.compute.naming import generate_password, sanitize_hostname
from emulator.compute.policy import authorize
from emulator.compute.quotas import QuotaService
from emulator.compute.quotas.service import Levels
from emulator.compute.records import HostLookup, now
from emulator.compute.server_groups import GroupRef, ServerGroupService, membership
from emulator.compute.states import TaskState, VmState
from emulator.compute.volumes.boot import BlockDeviceRequest, BootVolumes
from emulator.compute.zones import HostZones
from emulator.context import RequestContext
from emulator.db import Database, table_of
from emulator.errors import Forbidden, InvalidInput, NotFound, OverQuota
from emulator.ids import new_hex, new_uuid
from emulator.network import nova_client, nova_security_groups
from emulator.reads import Prebuilt

#: Servers of a multi-create committed in one transaction.
CHUNK = 100

#: The tables a create inserts into, as Core inserts built once.
_INSERT = {model: Prebuilt(insert(table_of(model)))
           for model in (Instance, InstanceMetadata, InstanceTag, InstanceAction)}


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
    #: ``block_device_mapping_v2``: the volumes to boot with.
    block_devices: tuple[BlockDeviceRequest, ...] = ()
    #: 2.60+: multiattach volumes may be given.
    multiattach: bool = False
    #: Personality files (before 2.57): (path, base64 contents), checked against the
    #: injected file quotas (the files themselves are not injected).
    personality: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Created:
    """The servers a create recorded: every id (the first one's is the response's), and
    what the response shows of them."""

    server_ids: tuple[str, ...]
    disk_config: str
    admin_pass: str
    reservation_id: str
    #: The properties of the image it boots ({}: none), for the request spec.
    image_properties: Mapping[str, str] = field(default_factory=dict)


def discard(s: Session, ids: list[str]) -> None:
    """Remove servers just recorded (never built) with everything recorded with them."""
    for server_id in ids:
        membership.remove(s, server_id)
    for table in (InstanceAction, InstanceMetadata, InstanceTag):
        s.execute(delete(table).where(col(table.instance_uuid).in_(ids)))
    s.execute(delete(Instance).where(col(Instance.uuid).in_(ids)))


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


class ServerCreator:
    """Checks a ``NewServer`` and records its servers: as many as the quotas let in;
    ``max_count_per_request`` bounds one request even when nothing limits it."""

    def __init__(self, db: Database, flavors: FlavorService, keypairs: KeyPairService,
                 images: ImageLookup, host_of: HostLookup, zones: HostZones,
                 *, groups: ServerGroupService, quotas: QuotaService | None = None,
                 max_count_per_request: int = 1000,
                 boot_volumes: BootVolumes | None = None) -> None:
        self.db = db
        self.quotas = quotas if quotas is not None else QuotaService(db)
        self.flavors = flavors
        self.keypairs = keypairs
        self.images = images
        self.host_of = host_of
        self.zones = zones
        self.groups = groups
        self.max_count_per_request = max_count_per_request
        #: Checks and records the volumes of ``block_device_mapping_v2``.
        self.boot_volumes = boot_volumes

    # -- checks, in Nova's order -----------------------------------------------------------

    def _flavor(self, ctx: RequestContext, flavor_ref: str) -> FlavorRecord:
        flavor_id = image_id_of(flavor_ref)
        try:
            return self.flavors.get(ctx, flavor_id)
        except NotFound:
            raise InvalidInput(f"Flavor {flavor_id} could not be found.") from None

    def _image(self, ctx: RequestContext, new: NewServer,
               flavor: FlavorRecord) -> ImageInfo | None:
        if (new.boot_from_volume or new.block_devices) and not new.image_ref:
            return None  # the mappings' check says whether something boots
        image_id = image_id_of(new.image_ref)
        image = self.images(ctx, image_id)
        if image is None:
            raise InvalidInput("Can not find requested image")
        check_image_active(image)
        check_flavor_fits(image.min_ram, image.min_disk, flavor.memory_mb, flavor.root_gb,
                          check_disk=not new.boot_from_volume)
        return image

    def _forced_zone(self, zone: str | None, host: str | None) -> str | None:
        """Nova's ``_validate_host_availability_zone``: the zone asked for with a forced
        host is kept only if the host is in it (a host in no zone is in the default one)."""
        return zone if zone == self.zones.host_zone(host or "") else None

    def _check_zone(self, zone: str | None, forced_host: str | None) -> None:
        """A zone asked for without a forced host must exist (Nova's ``create``)."""
        if zone and forced_host is None and zone not in self.zones.zones():
            raise InvalidInput("The requested availability zone is not available")

    def _check_networking(self, ctx: RequestContext, new: NewServer) -> NewServer:
        """Nova's checks of security groups, then of the requested ports and networks
        (``validate_networks``), against Neutron; ``max_count`` cut to what the port
        quota leaves room for (a 403 when not even ``min_count`` fits)."""
        with self.db.session() as s:
            for name in new.security_groups:
                if name != nova_security_groups.DEFAULT_GROUP:
                    nova_security_groups.security_group_ids(s, ctx.project_id or "", [name])
            room = nova_client.validate_networks(s, ctx, new.networks, new.max_count)
        if room < new.min_count:
            raise OverQuota("Maximum number of ports exceeded")
        return dataclasses.replace(new, max_count=room)

    def _check_destination(self, new: NewServer) -> None:
        """2.74 ``host``/``hypervisor_hostname`` must name compute hosts (checked last)."""
        for wanted in (new.host, new.node):
            if wanted is not None and self.host_of(wanted) is None:
                raise InvalidInput(f"Compute host {wanted} could not be found.")

    def _count(self, ctx: RequestContext, new: NewServer, flavor: FlavorRecord,
               levels: Levels) -> int:
        """How many servers to make: ``max_count`` cut to what the quotas leave (Nova's
        ``check_num_instances_quota``: a 403 when not even ``min_count`` fits), and to
        what one request may make."""
        cap = self.max_count_per_request
        with self.db.session() as s:
            allowed = self.quotas.check_instances(
                s, ctx.project_id or "", ctx.user_id, flavor.vcpus, flavor.memory_mb,
                new.min_count, new.max_count, levels)
        if new.min_count > cap:
            raise OverQuota(
                f"Maximum number of servers per request exceeded: requested {new.min_count}, "
                f"the limit is {cap} ([compute] max_count_per_request)")
        return min(allowed, cap)

    async def create(self, ctx: RequestContext, new: NewServer) -> Created:
        """Record the servers in BUILD (scheduling); the builds run afterwards.

        Nova's order: policies, then the flavor, the hostname, the zone, the image, the key
        pair, the image against the flavor, metadata quota, the ``group`` hint, the
        requested host, how many servers the request may make, and the group's member
        quota (with the first servers' insert). Every server joins the hint's group in the
        transaction that records it.
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
        flavor = self._flavor(ctx, new.flavor_ref)
        if new.hostname and new.max_count > 1:
            raise InvalidInput("Unable to allocate a single hostname to multiple instances")
        self._check_zone(zone, forced_host)
        image = self._image(ctx, new, flavor)
        image_ref = image.id if image is not None else ""
        new = self._check_networking(ctx, new)
        key = key_data(self.keypairs, ctx, new.key_name)
        # The limits are read once for the request's three checks (metadata, the count,
        # the recheck: which counts the servers again).
        levels = self.quotas.levels(ctx.project_id or "", ctx.user_id)
        check_metadata_count(len(new.metadata), self.quotas.metadata_limit(
            ctx.project_id or "", ctx.user_id, levels))
        self.quotas.check_injected_files(ctx.project_id or "", ctx.user_id, new.personality)
        for tag in new.tags:
            check_tag(tag)
        group = self.groups.requested(ctx, new.scheduler_hints)
        self._check_destination(new)
        count = self._count(ctx, new, flavor, levels)
        devices = self.boot_volumes.requested(image, new.block_devices) \
            if self.boot_volumes is not None else ()
        volumes = self.boot_volumes if devices else None
        if volumes is not None:
            volumes.validate(ctx, devices, image_ref, count, new.multiattach)
        common: dict[str, Any] = dict(
            display_description=new.description, project_id=ctx.project_id or "",
            user_id=ctx.user_id, image_ref=image_ref, flavor_id=flavor.flavorid,
            flavor_name=flavor.name, memory_mb=flavor.memory_mb, vcpus=flavor.vcpus,
            root_gb=flavor.root_gb, ephemeral_gb=flavor.ephemeral_gb, swap=flavor.swap,
            flavor_extra_specs=dict(flavor.extra_specs), key_name=new.key_name, key_data=key,
            user_data=new.user_data, config_drive="True" if new.config_drive else "",
            access_ip_v4=new.access_ip_v4, access_ip_v6=new.access_ip_v6,
            disk_config=new.disk_config, requested_availability_zone=zone,
            # The request spec's zone: what 2.96+ shows as pinned.
            pinned_availability_zone=zone,
            requested_host=new.host or forced_host, requested_node=new.node or forced_node,
            reservation_id=f"r-{new_hex(4)}", vm_state=VmState.BUILDING,
            task_state=TaskState.SCHEDULING, power_state=0,
            security_groups=list(new.security_groups), requested_networks=new.networks,
            trusted_certs=list(new.trusted_certs) if new.trusted_certs else None,
            scheduler_hints=dict(new.scheduler_hints))
        created_at = now()
        servers = [self._row(new, index, count, common, created_at) for index in range(count)]
        # NOTE: as Nova records the instances of a multi-create one by one, a big one is
        # committed in chunks, the event loop free for other clients between them.
        for start in range(0, count, CHUNK):
            self._insert(ctx, new, servers[start:start + CHUNK], created_at, group,
                         joining=count if start == 0 else 0)
            await asyncio.sleep(0)
        self._recheck(ctx, flavor, [server["uuid"] for server in servers], levels)
        if volumes is not None:
            self._record_volumes(ctx, volumes, devices, [server["uuid"] for server in servers])
        admin_pass = new.admin_pass if new.admin_pass is not None else generate_password()
        return Created(server_ids=tuple(server["uuid"] for server in servers),
                       disk_config=new.disk_config,
                       admin_pass=admin_pass, reservation_id=common["reservation_id"],
                       image_properties=image.properties if image is not None else {})

    def _record_volumes(self, ctx: RequestContext, volumes: BootVolumes,
                        devices: tuple[BlockDeviceRequest, ...], ids: list[str]) -> None:
        """The servers' volume mappings; a volume that cannot be reserved after all takes
        the request back."""
        try:
            volumes.record(ctx, ids, devices)
        except Exception:
            volumes.forget(ctx, ids)
            with self.db.session() as s:
                discard(s, ids)
            raise

    @staticmethod
    def _row(new: NewServer, index: int, count: int, common: dict[str, Any],
             created_at: datetime) -> dict[str, Any]:
        """The columns of the ``index``-th of ``count`` servers."""
        # Nova's _populate_instance_names: both get "-<n>" when there are several.
        server_id = new_uuid()
        hostname = new.hostname or sanitize_hostname(new.name)
        if not hostname:
            hostname = f"Server-{server_id}"
        elif count > 1 and not new.hostname:
            hostname = f"{hostname}-{index + 1}"
        return {**common, "uuid": server_id, "hostname": hostname, "launch_index": index,
                "display_name": new.name if count == 1 else f"{new.name}-{index + 1}",
                "created_at": created_at, "updated_at": created_at}

    def _recheck(self, ctx: RequestContext, flavor: FlavorRecord, ids: list[str],
                 levels: Levels) -> None:
        """Nova's quota recheck once every server is recorded: if concurrent creates went
        over meanwhile, this request's servers are taken back and it is refused.

        NOTE: Nova puts the servers of a request that fails the recheck in ERROR; here
        they are removed, so that a refused request leaves nothing behind.
        """
        try:
            with self.db.session() as s:
                self.quotas.recheck_instances(s, ctx.project_id or "", ctx.user_id,
                                              flavor.vcpus, flavor.memory_mb, len(ids),
                                              levels)
        except OverQuota:
            with self.db.session() as s:
                discard(s, ids)
            raise

    def _insert(self, ctx: RequestContext, new: NewServer, servers: list[dict[str, Any]],
                created_at: datetime, group: GroupRef | None, joining: int) -> None:
        """Insert ``servers``, their metadata, tags, ``create`` actions and group membership
        in one transaction (bulk inserts: a hundred servers cost a few milliseconds);
        ``joining``: how many servers of the request the group's quota must take (checked
        with the first chunk, so that a refused request records nothing)."""
        ids = [server["uuid"] for server in servers]
        if group is None:
            with self.db.writing() as connection:
                self._insert_rows(connection, ctx, new, servers, created_at)
            return
        with self.db.session() as s:
            if joining:
                self.groups.check_members(s, ctx, group, joining)
            self._insert_rows(s.connection(), ctx, new, servers, created_at)
            self.groups.add_members(s, group, ids)

    @staticmethod
    def _insert_rows(connection: Connection, ctx: RequestContext, new: NewServer,
                     servers: list[dict[str, Any]], created_at: datetime) -> None:
        """The servers, their metadata, tags and ``create`` actions: Core inserts (an ORM
        bulk insert maps every row first)."""
        ids = [server["uuid"] for server in servers]
        _INSERT[Instance](connection, servers)
        if new.metadata:
            _INSERT[InstanceMetadata](connection, [
                {"instance_uuid": i, "key": k, "value": v}
                for i in ids for k, v in new.metadata.items()])
        if new.tags:
            _INSERT[InstanceTag](connection, [
                {"instance_uuid": i, "tag": t} for i in ids for t in set(new.tags)])
        _INSERT[InstanceAction](connection, [
            {"request_id": ctx.request_id, "instance_uuid": i, "action": "create",
             "project_id": ctx.project_id or "", "user_id": ctx.user_id,
             "start_time": created_at, "updated_at": created_at} for i in ids])
