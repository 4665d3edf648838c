"""The emulated cloud: every domain service, built and wired from a ``Config``. No HTTP.

The API layer (``emulator.api.app``) serves a ``Cloud``; tests may drive one directly.
``start`` re-adopts instances and re-drives what was in flight; ``stop`` ends background
work, closes the backend and releases the state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import make_url

from backends.base import ComputeBackend, HostInfo
from backends.environment import BackendEnvironment
from backends.processes import GuestProcess
from emulator import ids
from emulator.clock import Clock, Progression
from emulator.compute.admin_actions import AdminActions
from emulator.compute.aggregates import AggregateService
from emulator.compute.audit_log import InstanceUsageAuditLog
from emulator.compute.checks import ImageInfo
from emulator.compute.claims import Claims
from emulator.compute.console_operations import ServerConsoles
from emulator.compute.consoles import ConsoleTokens
from emulator.compute.create import ServerCreator
from emulator.compute.disk_operations import DiskOperations
from emulator.compute.external_events import ExternalEvents
from emulator.compute.flavors import FlavorService
from emulator.compute.image_proxy import ImageProxy
from emulator.compute.instance_actions import InstanceActions
from emulator.compute.instances import Instances
from emulator.compute.keypairs import KeyPairService
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.migrations import Migrations
from emulator.compute.moves import Moves
from emulator.compute.operations import ServerOperations
from emulator.compute.quotas import QuotaService
from emulator.compute.recovery import Recovery
from emulator.compute.server_groups import ServerGroupService
from emulator.compute.server_metadata import ServerMetadata
from emulator.compute.server_networking import ServerNetworking
from emulator.compute.servers import Servers
from emulator.compute.services import Hosts, Hypervisors, Services
from emulator.compute.shelving import ShelvedImages
from emulator.compute.snapshots import Snapshots
from emulator.compute.usage import TenantUsage
from emulator.compute.volume_snapshots import AssistedVolumeSnapshots
from emulator.compute.volumes.attachments import ServerVolumes
from emulator.compute.volumes.boot import BootVolumes
from emulator.compute.volumes.snapshots import VolumeBackedSnapshots
from emulator.compute.zones import ZoneService
from emulator.config import Config, ConfigError, SchedulerSettings
from emulator.context import RequestContext
from emulator.control.faults import FaultRules
from emulator.control.simulation import Simulation
from emulator.control.snapshots import Snapshot, SnapshotMeta, now_text, restore_images
from emulator.db import Database
from emulator.errors import Conflict, NotFound
from emulator.identity.service import IdentityService
from emulator.image.service import ImageService
from emulator.image.startup import PLACEHOLDER_IMAGES, placeholder_refusal
from emulator.image.store import ImageStore, store_dir
from emulator.image_files import StoredImages
from emulator.network.service import NetworkService
from emulator.placement import GroupSpec, Placement, Scheduler, SchedulerConfig
from emulator.placement.plugins import UnknownPolicy, load_filters, load_weighers
from emulator.plugins import create_backend
from emulator.volume.files import Qcow2VolumeStore
from emulator.volume.service import VolumeService
from emulator.volume.store import MemoryVolumeStore, VolumeStore
from emulator.workers import publish_fault_rules


def in_memory(state_url: str) -> bool:
    """Whether the state lives only in this process (in-memory SQLite)."""
    url = make_url(state_url)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def state_dir(state_url: str) -> Path | None:
    """The directory of a SQLite state file; None for other states."""
    url = make_url(state_url)
    if url.get_backend_name() != "sqlite" or in_memory(state_url):
        return None
    assert url.database is not None
    return Path(url.database).resolve().parent


def backend_settings(config: Config, name: str) -> dict[str, Any]:
    """A backend's own settings: ``[simulated]``/``[qemu]`` for the built-in ones, else
    the ``[backends.<name>]`` table."""
    if name == "simulated":
        return dataclasses.asdict(config.simulated)
    if name == "qemu":
        return dataclasses.asdict(config.qemu)
    return dict(config.backend_settings.get(name, {}))


def make_scheduler(placement: Placement, settings: SchedulerSettings) -> Scheduler:
    """The scheduler ``[scheduler]`` describes, its plug-ins loaded; a ``ConfigError``
    naming a policy that cannot be found."""
    try:
        return Scheduler(
            placement,
            SchedulerConfig(filters=settings.filters,
                            weighers=tuple(settings.weighers.items()),
                            max_placement_results=settings.max_placement_results,
                            host_subset_size=settings.host_subset_size, seed=settings.seed,
                            limit_tenants_to_placement_aggregate=(
                                settings.limit_tenants_to_placement_aggregate),
                            placement_aggregate_required_for_tenants=(
                                settings.placement_aggregate_required_for_tenants)),
            filters=load_filters(settings.filters),
            weighers=load_weighers(settings.weighers))
    except UnknownPolicy as exc:
        raise ConfigError(f"[scheduler] {exc.message}") from None


def volume_store(config: Config, images: StoredImages) -> VolumeStore:
    """Where volumes keep their data: qcow2 files QEMU guests open (``volumes`` beside
    the state file, else a temporary directory), or only their sizes elsewhere."""
    if config.compute.backend != "qemu":
        return MemoryVolumeStore()
    directory = state_dir(config.server.state)
    return Qcow2VolumeStore(directory / "volumes" if directory is not None else None,
                            images.__getitem__)


def require_snapshots(config: Config) -> None:
    """Snapshots of the cloud are the simulated backend's (a real backend's guests are not
    in a file): ``Conflict`` elsewhere, before anything is read or stopped."""
    if config.compute.backend != "simulated":
        raise Conflict("Snapshots of the cloud are the simulated backend's: a real "
                       "backend's guests are not in a file.")


#: The scheduler reads images as Nova's does, with an admin context.
SCHEDULER_CONTEXT = RequestContext(user_id="", project_id=None, roles=frozenset({"admin"}))


class Cloud:
    def __init__(self, config: Config, snapshot: Snapshot | None = None,
                 follower: bool = False) -> None:
        """The cloud ``config`` describes; from ``snapshot``'s state when given (see
        ``require_snapshots``). A ``follower`` (an API worker that serves reads while
        another leads: ``emulator.workers``) changes nothing at start-up."""
        self.config = config
        compute = config.compute
        ids.seed(config.server.seed, snapshot.digest if snapshot is not None else "")
        self.db = db = Database(config.server.state,
                                initial=snapshot.database if snapshot is not None else None)
        self.identity = IdentityService(db, timedelta(seconds=config.identity.token_ttl_seconds),
                                        shared=config.server.workers > 1)
        self.identity.seed(config.accounts)
        self.flavors = FlavorService(db, project_exists=self.identity.project_exists)
        self.flavors.seed()
        self.quotas = QuotaService(db, config.quota.options(),
                                   noop=config.quota.driver == "noop",
                                   project_exists=self.identity.project_exists)
        self.keypairs = KeyPairService(db, self.quotas)
        self.server_groups = ServerGroupService(db, self.quotas)
        store = ImageStore(store_dir(config.image.store, config.server.state))
        if snapshot is not None:
            restore_images(snapshot, store.root)
        self.images = ImageService(
            db, store,
            require_format_match=config.image.require_format_match,
            size_cap=config.image.size_cap_bytes)
        if not follower:  # the leader's uploads in progress are not a crash's
            self.images.recover()
        self.image_proxy = ImageProxy(self.images)
        admin_project = self.identity.project_id_named("admin")
        self.images.seed(owner=admin_project)
        self.network = NetworkService(db)
        self.network.seed(admin_project, *config.network.public_subnet(compute.backend))
        stored_images = StoredImages(self.images, admin_project)
        self.volume_store = volume_store(config, stored_images)
        self.volumes = VolumeService(db, self.volume_store, self.images)

        # The clock is the emulator's; the simulated cloud's progression sets its mode.
        simulated = compute.backend == "simulated"
        self.clock = Clock(config.simulated.progression if simulated
                           else Progression.IMMEDIATE)
        self.backend: ComputeBackend = create_backend(compute.backend, BackendEnvironment(
            settings=backend_settings(config, compute.backend), clock=self.clock,
            images=stored_images,
            state_dir=state_dir(config.server.state),
            ephemeral=in_memory(config.server.state)))
        # A backend that runs what an image holds refuses the seeded placeholders (empty
        # disks) as Nova's ImageUnacceptable, rather than build a guest that never boots
        # (a plug-in that does not declare it, or answers every name, is taken as False).
        self._unbootable = placeholder_refusal(compute.backend) \
            if getattr(self.backend, "runs_image_data", False) is True else None
        # Each host the backend reports runs a compute service; from then on its record
        # says whether the host is enabled and up (``hosts``: the backend's hosts as the
        # records say they are).
        self.services = Services(db, self.backend.hosts,
                                 zone_of=lambda host: self.aggregates.host_zone(host))
        self.services.seed()
        hosts = self.services.hosts

        # The zones the backend reports become aggregates; from then on every question
        # of a host's zone is the aggregates' (Nova's).
        self.aggregates = zones = AggregateService(db, hosts, self.image_info)
        zones.seed()
        self.zones = ZoneService(self.services.all)
        self.instances = Instances(db)
        self.actions = InstanceActions(db)
        self.migrations = Migrations(db)
        self.placement = Placement()
        self.scheduler = make_scheduler(self.placement, config.scheduler)
        self.claims = Claims(db, self.placement, self.scheduler, hosts,
                             groups=self.group_of, image_properties=self.image_properties)
        self._follow_aggregates()
        self._follow_services()
        self.hypervisors = Hypervisors(db, self.services, self.placement)
        self.servers = Servers(db, self.services.host)
        self.metadata = ServerMetadata(db, self.quotas)
        clock = self.clock
        self.lifecycle = Lifecycle(
            self.instances, self.actions, self.claims, self.backend,
            # NOTE: a window is not a stage: it takes its time even in immediate mode.
            sleep=lambda seconds: clock.sleep(seconds, stage=False),
            resize_confirm_window=compute.resize_confirm_window,
            reclaim_instance_interval=compute.reclaim_instance_interval,
            shelved_offload_time=compute.shelved_offload_time)
        snapshots = Snapshots(self.images, self.owner_names)
        shelved = ShelvedImages(snapshots, self.lifecycle, self.backend.snapshot)
        self.recovery = Recovery(self.lifecycle, shelved, self.migrations)
        self.backend.set_power_listener(self.recovery.power_changed)
        self.faults = FaultRules()
        if config.server.workers > 1 and not follower:
            self.faults.on_change = lambda count: publish_fault_rules(db, count)
            publish_fault_rules(db, 0)  # a leader starts with none (a dead one's are gone)
        self.lifecycle.hangs = self.faults.hangs
        self.operations = ServerOperations(
            self.servers,
            ServerCreator(db, self.flavors, self.keypairs, self.image_info, self.services.host,
                          zones, groups=self.server_groups, quotas=self.quotas,
                          max_count_per_request=compute.max_count_per_request,
                          boot_volumes=BootVolumes(db, self.volumes, self.image_info)),
            self.lifecycle, self.instances, self.image_info,
            shelved, hosts, zones,
            guest_agent=self.backend.guest_agent, plan_for=self.faults.plan_for)
        self.disk = DiskOperations(
            self.operations, self.servers, self.instances, self.actions, self.claims,
            self.flavors, self.keypairs, self.image_info,
            snapshots, zones, self.migrations,
            # NOTE: unless configured, a one-host cloud resizes in place, as devstack
            # configures Nova; otherwise every resize there would be NoValidHost.
            allow_resize_to_same_host=compute.allow_resize_to_same_host
            if compute.allow_resize_to_same_host is not None else len(hosts()) == 1,
            volume_backed=VolumeBackedSnapshots(db, self.volumes, snapshots, self.actions))
        self.lifecycle.confirm_due = self.disk.confirm_due
        self.services.done_evacuations = self.migrations.evacuated_from
        self.services.on_restart = self.migrations.complete_evacuations
        self.services.moves_on = self.migrations.in_progress_on
        self.moves = Moves(self.servers, self.lifecycle, self.actions, self.claims,
                           self.migrations, self.services, self.disk, self.backend)
        self.console_tokens = ConsoleTokens(db)
        self.networking = ServerNetworking(db, self.backend, self.actions,
                                           background=self.lifecycle.aside)
        self.network.network_changed = self.networking.network_changed
        self.consoles = ServerConsoles(self.servers, self.instances, self.console_tokens,
                                       self.backend)
        self.simulation = Simulation(self.backend, self.clock, self.instances,
                                     self.lifecycle, self.faults, services=self.services,
                                     migrations=self.migrations)
        # The operator's smaller APIs: hosts (until 2.42), usage, the audit log, the
        # calls other services make, and the admin network action.
        self.hosts = Hosts(db, self.services, self.hypervisors)
        self.usage = TenantUsage(db)
        self.audit_log = InstanceUsageAuditLog(self.services)
        self.external_events = ExternalEvents(db, self.actions, self.lifecycle)
        self.volume_snapshots = AssistedVolumeSnapshots()
        self.admin_actions = AdminActions(db)
        # Nova's volume side: attachments, and what a server delete does to its volumes.
        self.server_volumes = ServerVolumes(db, self.volumes, self.backend, self.instances,
                                            self.actions, run=self.lifecycle.aside)
        self.volumes.nova_attachment = self.server_volumes.server_of_attachment
        self.lifecycle.release_volumes = self.server_volumes.release
        self.operations.volumes_unshelved = self.server_volumes.unshelve_hooks
        boot_volumes = self.operations.creator.boot_volumes
        assert boot_volumes is not None
        self.lifecycle.block_devices = boot_volumes.prepare
        if snapshot is not None:
            self.clock.mode = snapshot.meta.clock_mode
            self.clock.now = snapshot.meta.clock_now
            for host in snapshot.meta.hosts_down:
                self.services.set_reporting(host, False)

    def image_info(self, ctx: RequestContext, image_id: str) -> ImageInfo | None:
        """What the compute domain needs of an image, or None if ``ctx`` cannot see it."""
        try:
            image = self.images.get(ctx, image_id)
        except NotFound:
            return None
        return ImageInfo(id=image.id, status=image.status, min_ram=image.min_ram,
                         min_disk=image.min_disk, properties=image.properties,
                         unbootable=self._unbootable if image.id in PLACEHOLDER_IMAGES
                         else None)

    def guest_processes(self) -> list[tuple[str, str, float]]:
        """(host, instance, CPU seconds) of the backend's hypervisor processes now (a
        backend that has none: none)."""
        read: Callable[[], Sequence[GuestProcess]] | None = getattr(
            self.backend, "guest_processes", None)
        return [(p.host, p.instance, p.cpu_seconds) for p in (read() if read else ())]

    def _follow_aggregates(self) -> None:
        """Placement sees each host's aggregates and zone, and the scheduler their
        metadata, now and after every change (``AggregateService.on_change``)."""
        aggregates, placement = self.aggregates, self.placement

        metadata = self.scheduler.aggregate_metadata

        def changed(host: str) -> None:
            # NOTE: an aggregate's metadata matters only through its hosts, and a change to
            # it is a change to each of them: an aggregate left with no host keeps its
            # last metadata here, read by no one.
            joined = aggregates.aggregates_of(host)
            for info in joined:
                metadata[info.uuid] = dict(info.metadata)
            if placement.get(host) is not None:
                placement.set_aggregates(host, [a.uuid for a in joined],
                                         aggregates.host_zone(host))

        for provider in placement.providers():
            changed(provider.name)
        aggregates.on_change = changed

    def _follow_services(self) -> None:
        """Placement takes new servers only on hosts whose compute service is enabled and
        up, now and after every change (``Services.on_change``); a deleted compute service
        takes its host out of its aggregates."""
        placement, services = self.placement, self.services

        def follow(name: str, host: HostInfo | None) -> None:
            # NOTE: as in Nova, a disabled service's host is not among placement's
            # candidates (NoValidHost's reason is empty); a down one is, and ComputeFilter
            # refuses it ("There are not enough hosts available.").
            placement.set_enabled(name, host is not None and host.enabled)
            placement.set_up(name, host is not None and host.up)

        known = {h.name: h for h in services.hosts()}
        for provider in placement.providers():
            follow(provider.name, known.get(provider.name))

        def changed(host: str) -> None:
            if placement.get(host) is not None:
                follow(host, next((h for h in services.hosts() if h.name == host), None))

        def leave_aggregates(ctx: RequestContext, host: str) -> None:
            for aggregate in self.aggregates.list_aggregates(ctx):
                if host in aggregate.hosts:
                    self.aggregates.remove_host(ctx, str(aggregate.id), host)

        services.on_change = changed
        services.leave_aggregates = leave_aggregates

    def group_of(self, server_id: str) -> GroupSpec | None:
        """The server group a server is in, as the scheduler reads it (None: none, or
        deleted since)."""
        group = self.server_groups.group_of(server_id)
        if group is None:
            return None
        try:
            return self.server_groups.spec_for(group)
        except NotFound:
            return None

    def image_properties(self, image_id: str) -> dict[str, str]:
        """An image's properties as the scheduler's image filters read them ({} for an
        image that is gone)."""
        try:
            return dict(self.images.get(SCHEDULER_CONTEXT, image_id).properties)
        except NotFound:
            return {}

    def owner_names(self, user_id: str, project_id: str) -> tuple[str, str]:
        """The names of a server's user and project ("" for one that is gone)."""
        def name(kind: Literal["user", "project"], row_id: str) -> str:
            try:
                return str(getattr(self.identity.directory.get(kind, row_id), "name", ""))
            except NotFound:
                return ""

        return name("user", user_id), name("project", project_id)

    def snapshot(self, directory: Path) -> tuple[SnapshotMeta, Path, list[Path]]:
        """What a snapshot of this cloud holds: its description, a copy of the database
        in ``directory`` and the image files (packed later, off the event loop)."""
        require_snapshots(self.config)
        database = directory / "state.sqlite"
        self.db.copy_to(database)
        store = self.images.store
        meta = SnapshotMeta(backend=self.backend.name, clock_mode=self.clock.mode,
                            clock_now=self.clock.now,
                            hosts_down=tuple(self.services.silent()), created_at=now_text())
        files = [path for path in store.root.iterdir()
                 if path.is_file() and not path.name.startswith(".")]
        return meta, database, files

    async def start(self) -> None:
        await self.recovery.recover()

    async def stop(self) -> None:
        await self.lifecycle.shutdown()
        await self.backend.close()
        self.db.close()
        self.images.store.close()
        if isinstance(self.volume_store, Qcow2VolumeStore):
            self.volume_store.close()
