"""The backend seam: what the compute domain asks of a hypervisor backend.

This docstring is the contract; the simulated and the QEMU backends both meet it.

Vocabulary is Nova's virt driver's: an *instance* lives on a *host*; hosts are grouped in
availability zones and report their capacity. The domain above the seam owns every
vm_state/task_state decision (which operation is allowed when, what the API shows); a
backend only carries an operation out, decides *when* it completes, and reports the
instance's power state.

Rules every backend follows:

- ``hosts()`` is cheap and synchronous; it reflects the backend's current view.
- Every verb is a coroutine that returns when the operation has completed on the
  hypervisor (``spawn`` returns once the guest runs; ``destroy`` once nothing is left).
  The domain awaits verbs outside any database transaction, in a background task, so a
  verb may take as long as the operation takes.
- Verbs are idempotent where Nova's are: ``destroy`` of an instance the backend does not
  know succeeds; ``spawn`` of an instance that already runs raises ``InstanceExists``.
- Every failure is a ``BackendError`` subclass; nothing else escapes a verb. The domain
  turns a failed build into an ERROR server whose ``fault`` carries the error's message.
- ``recover`` is called once at start-up with every instance the database says should
  exist on this backend, with its last recorded power state: the backend re-adopts what
  still exists and reports each instance's actual power state (``NOSTATE`` for an
  instance it cannot find; a backend that keeps nothing across restarts adopts the
  recorded state).
- A power state that changes by itself (a guest that powers itself off, a hypervisor
  process that dies), not as the result of a verb, is reported to the listener set with
  ``set_power_listener`` as ``(uuid, PowerState)``, one call at a time, in order. A verb's
  own outcome is not news: the domain records it when the verb returns.
- ``close`` is awaited once at shutdown and stops the backend's background work (watchers,
  dispatchers). Whether guests outlive the emulator is decided when the backend is built
  (the QEMU backend's ``ephemeral``), not by ``close``.
- Moves between hosts: ``resize`` (with the same flavor: a cold migration) moves a
  guest and its disk while it is off; ``live_migrate`` moves it while it runs;
  ``evacuate`` builds it again elsewhere when its host is down. The domain holds the
  resources on both hosts while a move runs and decides, not the backend, where a
  guest goes.
- Volumes and interfaces (``attach_volume``/``detach_volume``, ``attach_interface``/
  ``detach_interface``, Nova's virt driver verbs): the domain (with Cinder and Neutron)
  decides what is attached; the backend plugs the device in. A running or paused guest
  gets it hot-plugged and its OS sees it appear; a stopped (SHUTDOWN) guest gets it in its
  definition only and sees it at its next boot (a SUSPENDED one may be refused: Nova's API
  allows no attach or detach there) (NOTE: as Nova's libvirt driver,
  which changes a stopped domain's persistent config only). Devices are kept by every
  verb that keeps the guest (reboots, power off/on, suspend/resume, moves; a backend that
  cannot carry them through a move refuses it with a ``BackendError`` before anything
  moves) and recorded so that ``recover`` re-adopts them. Attaching a volume or a port the
  instance already has, or using a device name it has, raises ``DeviceBusy``; detaching
  one it does not have raises ``DeviceNotFound`` (the domain decides whether that is an
  error for the API); a guest that does not release a device in time raises
  ``DeviceDetachFailed`` and the device stays attached. ``destroy`` removes the devices
  with the guest but never deletes a volume's backing file (it is Cinder's).
- Time is the emulator's: a backend that simulates durations waits on the ``Clock`` it is
  given, never on a clock of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from backends.processes import GuestProcess


class PowerState(IntEnum):
    """Nova's power states (``nova.compute.power_state``); 2 and 5 are unused."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7

    @property
    def nova_name(self) -> str:
        """Nova's name of the state (``power_state.STATE_MAP``), as the API and the
        diagnostics show it."""
        return _NOVA_NAMES[self]


#: ``nova.compute.power_state.STATE_MAP``.
_NOVA_NAMES: Mapping[PowerState, str] = {
    PowerState.NOSTATE: "pending",
    PowerState.RUNNING: "running",
    PowerState.PAUSED: "paused",
    PowerState.SHUTDOWN: "shutdown",
    PowerState.CRASHED: "crashed",
    PowerState.SUSPENDED: "suspended",
}

#: ``listener(uuid, power_state)``: told of a power state that changed by itself.
PowerListener = Callable[[str, PowerState], Awaitable[None]]


class Clock(Protocol):
    """The emulator's time, as a backend waits on it."""

    async def sleep(self, seconds: float, stage: bool = True) -> None:
        """Wait ``seconds``: a stage is skipped in immediate mode; anything else takes the
        clock's time."""
        ...


class BackendError(Exception):
    """Root of every error a backend raises."""


class InstanceNotFound(BackendError):
    """The backend has no such instance."""


class InstanceExists(BackendError):
    """The instance is already there (a second ``spawn``)."""


class HostUnavailable(BackendError):
    """The host cannot take the operation (down, disabled or gone)."""


class SpawnFailed(BackendError):
    """The guest could not be started."""


class NotSupported(BackendError):
    """This backend cannot do that (Nova's ``NotImplementedError`` -> 501)."""


class MigrationAborted(BackendError):
    """A live migration was cancelled (``live_migration_abort``): the guest runs on its
    source host, nothing is left on the destination."""


class NoLiveMigration(BackendError):
    """No live migration of the instance runs (not begun yet, or over)."""


class DeviceBusy(BackendError):
    """The volume or port is attached to the instance already (or its device name used)."""


class DeviceNotFound(BackendError):
    """The instance has no such volume or port attached."""


class DeviceDetachFailed(BackendError):
    """The guest did not release the device in time; it stays attached (libvirt's)."""


@dataclass(frozen=True)
class MigrationProgress:
    """How far a live migration has come, in bytes (Nova's migration ``memory_*`` and
    ``disk_*`` fields; ``disk_*`` stay 0 unless disks are copied too)."""

    memory_total: int = 0
    memory_processed: int = 0
    memory_remaining: int = 0
    disk_total: int = 0
    disk_processed: int = 0
    disk_remaining: int = 0


#: Told each new ``MigrationProgress`` of a live migration, in order, from the event loop.
ProgressListener = Callable[[MigrationProgress], None]


@dataclass(frozen=True)
class HostInfo:
    """A compute host as the scheduler and the admin APIs see it."""

    name: str
    availability_zone: str
    hypervisor_type: str
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    enabled: bool = True
    up: bool = True
    #: The compute service's address (Nova's ``my_ip``: SimpleCIDRAffinityFilter, the
    #: hypervisor's ``host_ip``).
    host_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class VolumeSpec:
    """A Cinder volume as the hypervisor attaches it (Nova's connection info and block
    device mapping, reduced to what a backend needs)."""

    volume_id: str
    #: The device name Nova assigned (``/dev/vdb``): what the attachment shows.
    device: str
    size_gb: int
    #: The qcow2 file holding the volume's data; None where the cloud is simulated.
    path: str | None = None
    read_only: bool = False

    @property
    def serial(self) -> str:
        """The disk's serial number the guest sees: the volume id (NOTE: Nova's libvirt
        driver sets ``<serial>`` to the volume id; virtio-blk keeps its first 20 bytes)."""
        return self.volume_id


@dataclass(frozen=True)
class VifSpec:
    """A Neutron port plugged into the instance as a NIC."""

    port_id: str
    mac: str
    #: The port's fixed IP addresses.
    fixed_ips: tuple[str, ...] = ()
    network: str = ""
    #: Floating IPs associated with the port (Neutron NATs them to a fixed IP): a backend
    #: that can make an address reachable from this machine (QEMU: one in 127.0.0.0/8)
    #: forwards it to the guest (see ``update_interface``).
    floating_ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstanceSpec:
    """Everything a backend needs to know to run one instance."""

    uuid: str
    name: str
    hostname: str
    host: str
    project_id: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap_mb: int = 0
    image_id: str | None = None
    user_data: bytes | None = None
    key_data: str | None = None
    #: The key pair's name (the config drive's ``public_keys`` key).
    key_name: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    config_drive: bool = False
    #: (network name, address, MAC) of each fixed address, for what the guest shows
    #: (console output, diagnostics); empty where the caller did not need them.
    addresses: tuple[tuple[str, str, str], ...] = ()
    #: The Neutron ports the instance boots with (Nova's network info), in order.
    vifs: tuple[VifSpec, ...] = ()
    #: The volumes attached at boot, besides a root volume (Nova's block device mapping).
    volumes: tuple[VolumeSpec, ...] = ()
    #: The volume the instance boots from (boot from volume), else None: the image's disk.
    root_volume: VolumeSpec | None = None


@dataclass(frozen=True)
class InstanceInfo:
    """What a backend reports about a running (or stopped) instance."""

    power_state: PowerState


@dataclass(frozen=True)
class Diagnostics:
    """Nova's standardised instance diagnostics (``nova.objects.diagnostics``, the 2.48 API
    shape); each ``*_details`` item is a dict with that API's keys. None: not known."""

    state: str  # a PowerState's nova_name
    driver: str  # Nova's API names the driver: libvirt, ironic, vmwareapi, ...
    hypervisor: str | None
    hypervisor_os: str | None
    uptime: int | None
    config_drive: bool
    cpu_details: tuple[Mapping[str, int | None], ...] = ()
    nic_details: tuple[Mapping[str, int | str | None], ...] = ()
    disk_details: tuple[Mapping[str, int | None], ...] = ()
    #: Memory in MiB: what the guest was given and what it uses.
    memory_maximum: int | None = None
    memory_used: int | None = None
    #: The driver's free-form dict, as the API answers before 2.48.
    legacy: Mapping[str, int] = field(default_factory=dict)


class ComputeBackend(Protocol):
    """A hypervisor backend (see the module docstring for the contract)."""

    name: str
    #: Whether guests run an agent that can set their admin password (Nova's libvirt
    #: needs the QEMU guest agent); without one ``changePassword`` is refused (409).
    guest_agent: bool
    #: Nova's ``force_config_drive``: every new instance gets a config drive, so a build
    #: records ``config_drive`` true once spawned (``configdrive.update_instance``).
    force_config_drive: bool
    #: Whether a guest runs what its image holds (a real hypervisor): there the emulator's
    #: placeholder images (no operating system) are refused. Not declared: False.
    runs_image_data: bool

    def hosts(self) -> list[HostInfo]:
        """Every compute host this backend offers, in a stable order."""
        ...

    def set_power_listener(self, listener: PowerListener | None) -> None:
        """Tell ``listener`` of every power state that changes by itself; None: nobody."""
        ...

    async def close(self) -> None:
        """Stop background work at shutdown (guests outlive it unless built ephemeral)."""
        ...

    async def spawn(self, instance: InstanceSpec) -> None:
        """Create and start the guest on ``instance.host``; return once it runs."""
        ...

    async def destroy(self, instance: InstanceSpec) -> None:
        """Stop the guest and remove everything it had; unknown instances are fine."""
        ...

    async def get_info(self, instance: InstanceSpec) -> InstanceInfo:
        """The instance's current power state; ``InstanceNotFound`` if it is gone."""
        ...

    async def power_off(self, instance: InstanceSpec) -> None:
        """Shut the guest down (gracefully first, as Nova's clean shutdown); return when off."""
        ...

    async def power_on(self, instance: InstanceSpec) -> None:
        """Start a stopped guest; return when it runs."""
        ...

    async def reboot_soft(self, instance: InstanceSpec) -> None:
        """Ask the guest to restart (ACPI); fall back to a hard reboot if it does not."""
        ...

    async def reboot_hard(self, instance: InstanceSpec) -> None:
        """Reset the guest (as pressing the reset button); it runs afterwards."""
        ...

    async def pause(self, instance: InstanceSpec) -> None:
        """Freeze the guest's vCPUs in memory."""
        ...

    async def unpause(self, instance: InstanceSpec) -> None:
        ...

    async def suspend(self, instance: InstanceSpec) -> None:
        """Save the guest's memory to disk and stop it."""
        ...

    async def resume(self, instance: InstanceSpec) -> None:
        """Restore a suspended guest from its saved state."""
        ...

    async def set_admin_password(self, instance: InstanceSpec, password: str) -> None:
        """Change the guest's administrator password (NotSupported where it cannot)."""
        ...

    async def trigger_crash_dump(self, instance: InstanceSpec) -> None:
        """Inject an NMI; the guest's state does not change."""
        ...

    async def rebuild(self, instance: InstanceSpec, power_on: bool) -> None:
        """Re-create the guest's root disk from ``instance.image_id`` and boot it; with
        ``power_on`` False (a stopped server) leave it SHUTDOWN afterwards."""
        ...

    async def resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        """Move the guest from ``previous``'s flavor and host to ``instance``'s (the same
        host, or another one the scheduler chose), keeping its power state; the old
        flavor's resources stay held until ``confirm_resize`` or ``revert_resize``. A
        disk it cannot shrink is a ``BackendError`` (Nova's libvirt: "Resize error: Unable
        to resize disk down.")."""
        ...

    async def confirm_resize(self, instance: InstanceSpec) -> None:
        """Drop what the resize kept of the old flavor; the guest runs on the new one."""
        ...

    async def revert_resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        """Put the guest back on ``previous``'s flavor and host (its disk as before the
        resize), in the power state it had before the resize."""
        ...

    async def live_migrate(self, instance: InstanceSpec, previous: InstanceSpec,
                           progress: ProgressListener, block_migration: bool) -> None:
        """Move the running (or paused) guest from ``previous.host`` to ``instance.host``
        without stopping it: its memory (and with ``block_migration`` its disks) copied
        while it runs, then it runs on the destination only, in the power state it had
        and with its uptime kept. ``progress`` is told how far the copy has come as it
        goes. ``MigrationAborted`` when ``live_migration_abort`` cancelled it (the guest
        still runs on the source); any other ``BackendError`` leaves it on the source too.
        """
        ...

    async def live_migration_force_complete(self, instance: InstanceSpec) -> None:
        """Make the live migration of ``instance`` finish sooner (post-copy, or the guest
        paused so that the copy converges); ``NoLiveMigration`` when none runs."""
        ...

    async def live_migration_abort(self, instance: InstanceSpec) -> None:
        """Cancel the live migration of ``instance`` (its ``live_migrate`` then raises
        ``MigrationAborted``); ``NoLiveMigration`` when none runs, another ``BackendError``
        when it can no longer be cancelled."""
        ...

    async def evacuate(self, instance: InstanceSpec, previous: InstanceSpec,
                       power_on: bool) -> None:
        """Rebuild the guest on ``instance.host`` from ``instance.image_id`` (its source,
        ``previous.host``, is down: nothing is copied from there) and forget whatever is
        left of it on the source; with ``power_on`` False it is left SHUTDOWN."""
        ...

    async def snapshot(self, instance: InstanceSpec) -> bytes:
        """Capture the guest's root disk (a live snapshot; the guest's state does not
        change); return it as qcow2 image data for the image service."""
        ...

    async def rescue(self, instance: InstanceSpec, password: str,
                     rescue_image_id: str | None = None) -> None:
        """Boot the guest from a rescue image (``rescue_image_id``, else the instance's own
        image, as Nova's default) with its own disk attached; it runs afterwards (from
        ACTIVE, STOPPED or ERROR)."""
        ...

    async def unrescue(self, instance: InstanceSpec) -> None:
        """Leave rescue: boot the guest from its own disk again; it runs afterwards."""
        ...

    async def shelve(self, instance: InstanceSpec) -> None:
        """Power the guest off and keep its disk (Nova snapshots it to an image); the guest
        stays defined on its host, SHUTDOWN."""
        ...

    async def shelve_offload(self, instance: InstanceSpec) -> None:
        """Remove a shelved guest from its host; nothing is left there (as ``destroy``)."""
        ...

    async def unshelve(self, instance: InstanceSpec) -> None:
        """Bring a shelved guest back on ``instance.host``: power it on if it is still there
        (shelved), else spawn it there again (offloaded); return once it runs."""
        ...

    async def soft_delete(self, instance: InstanceSpec) -> None:
        """Stop the guest but keep everything (a deferred delete may still be restored)."""
        ...

    async def restore(self, instance: InstanceSpec) -> None:
        """Start a soft-deleted guest again."""
        ...

    async def get_console_output(self, instance: InstanceSpec) -> str:
        """The guest's serial console log so far (the whole of it; the domain cuts the tail).
        ``InstanceNotFound`` if the backend has no such guest."""
        ...

    async def get_diagnostics(self, instance: InstanceSpec) -> Diagnostics:
        """The guest's diagnostics; ``InstanceNotFound`` if the backend has no such guest."""
        ...

    def guest_processes(self) -> Sequence[GuestProcess]:
        """The hypervisor processes running now, read at the call (optional; a backend
        without processes answers none)."""
        ...

    async def get_vnc_socket(self, instance: InstanceSpec) -> str:
        """Path of a UNIX socket speaking RFB (VNC) to the guest's display, for the remote
        console proxy; ``NotSupported`` where the backend has no display to show."""
        ...

    async def attach_volume(self, instance: InstanceSpec, volume: VolumeSpec) -> None:
        """Plug ``volume`` into the instance as a virtio disk (hot-plugged when the guest
        runs, in its definition when stopped); ``DeviceBusy`` if it has it already."""
        ...

    async def detach_volume(self, instance: InstanceSpec, volume: VolumeSpec) -> None:
        """Unplug ``volume`` and return once the guest has released it;
        ``DeviceNotFound`` if it is not attached, ``DeviceDetachFailed`` on a timeout."""
        ...

    async def attach_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        """Plug ``vif`` into the instance as a virtio NIC; ``DeviceBusy`` if it has it."""
        ...

    async def detach_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        """Unplug ``vif``; ``DeviceNotFound`` if it is not plugged."""
        ...

    async def update_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        """The addresses of a port the instance has (plugged at boot or attached) changed:
        a floating IP was associated or released, a fixed IP added or removed. A backend
        that can reach guests from this machine makes each address of ``vif`` reach the
        guest (the QEMU backend forwards addresses in 127.0.0.0/8); others only record
        it. Never fails for an address it cannot forward; ``InstanceNotFound`` only."""
        ...

    async def recover(
        self, instances: Sequence[tuple[InstanceSpec, PowerState]]
    ) -> dict[str, PowerState]:
        """Re-adopt ``instances`` (with their recorded power states); actual states by uuid."""
        ...
