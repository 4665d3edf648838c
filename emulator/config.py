"""Emulator configuration: defaults, overlaid by a TOML file, overlaid by command-line flags.

The file is TOML (``tomllib`` is in the standard library)::

    [server]
    host = "127.0.0.1"
    port = 8774
    state = "sqlite:///var/nova-emulator.db"
    public_url = "http://127.0.0.1:8774"     # what the catalog advertises

    [identity]
    region = "RegionOne"
    token_ttl_seconds = 3600

    [[identity.accounts]]                     # added to the seeded ones
    user = "demo1-member"
    password = "secret"
    project = "demo1"
    roles = ["member"]

    [image]
    store = "/var/lib/nova-emulator/images"  # default: beside a state file, else temporary
    require_format_match = true               # data must be what disk_format says
    size_cap_bytes = 1099511627776

    [compute]
    reclaim_instance_interval = 0             # > 0: DELETE soft-deletes, reclaimed after
                                              # that many seconds (restore/forceDelete)
    allow_resize_to_same_host = false         # true: a resize may stay on its host
    resize_confirm_window = 0                 # > 0: a resize left unconfirmed that many
                                              # seconds is confirmed (0: never)
    backend = "simulated"                     # or "qemu": real guests (serve --backend)

    [qemu]                                    # the QEMU backend
    cache = ""                                # guest image cache (default: XDG cache)
    run_dir = ""                              # instance files; short (UNIX sockets).
                                              # default: <state dir>/qemu when short,
                                              # else /tmp/nova-emulator-<uid>
    accel = "tcg"                             # or "kvm" (only where it really boots)
    shutdown_timeout = 60.0                   # clean shutdown before QEMU is stopped
    boot_timeout = 60.0
    boot_concurrency = 2                      # guests booting at once
    boot_grace = 10.0                         # boot slot of an image with no ready marker
    vcpus = 0                                 # host inventory; 0: this machine's
    memory_mb = 0
    local_gb = 0
    reserved_host_memory_mb = 512
    cpu_allocation_ratio = 4.0
    ram_allocation_ratio = 1.0
    disk_allocation_ratio = 1.0

    [simulated]                               # the simulated cloud
    progression = "immediate"                 # or "time" (wall clock), "manual" (control plane)
    vcpus = 32                                # every host's shape
    memory_mb = 131072
    local_gb = 2000
    cpu_allocation_ratio = 4.0
    ram_allocation_ratio = 1.0
    disk_allocation_ratio = 1.0
    seed = 42                                 # for the stages' jitter; default: random

    [[simulated.zones]]                       # default: nova and az2, 4 hosts each
    name = "nova"
    hosts = 4

    [simulated.stages.spawn]                  # overrides of STAGES, per verb
    delay = 30.0
    jitter = 0.0
    fails = false

Unknown sections or keys are an error at start-up, not a silent no-op.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from backends.simulated import (
    DEFAULT_LOCAL_GB,
    DEFAULT_MEMORY_MB,
    DEFAULT_VCPUS,
    DEFAULT_ZONES,
    STAGES,
    Stage,
)
from emulator.clock import Progression

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"


class ConfigError(ValueError):
    """The configuration file or a flag is not valid."""


@dataclass(frozen=True)
class Account:
    """A user seeded at start-up, with its roles on one project (domain ``Default``)."""

    user: str
    password: str
    project: str
    roles: tuple[str, ...] = ("member",)


#: The accounts every emulator starts with; ``nova-emulator clouds-yaml`` prints them.
SEEDED_ACCOUNTS: tuple[Account, ...] = (
    Account(user="admin", password="admin", project="admin", roles=("admin",)),
    Account(user="demo", password="demo", project="demo", roles=("member",)),
    Account(user="alt_demo", password="alt_demo", project="alt_demo", roles=("member",)),
)


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8774
    #: SQLAlchemy URL of the state database; the default keeps everything in memory.
    state: str = "sqlite://"
    #: Base URL published in the service catalog; derived from host and port when empty.
    public_url: str = ""
    #: Nova's ``max_request_body_size`` (oslo.middleware sizelimit default).
    max_request_body_bytes: int = 114688
    log_level: str = "info"


@dataclass(frozen=True)
class IdentityConfig:
    region: str = "RegionOne"
    token_ttl_seconds: int = 3600
    accounts: tuple[Account, ...] = ()


@dataclass(frozen=True)
class ImageConfig:
    #: Directory of image data; empty: ``<dir of the --state file>/images`` for a SQLite
    #: file state, else a temporary directory removed at exit.
    store: str = ""
    #: Glance's ``require_image_format_match``: refuse bare uploads not in their disk_format.
    require_format_match: bool = True
    #: Glance's ``image_size_cap`` (1 TiB).
    size_cap_bytes: int = 1099511627776


@dataclass(frozen=True)
class ComputeConfig:
    #: Nova's ``[DEFAULT] reclaim_instance_interval``: seconds a deleted server stays
    #: SOFT_DELETED (restorable) before it is reclaimed; 0 deletes at once.
    reclaim_instance_interval: int = 0
    #: Nova's ``[DEFAULT] allow_resize_to_same_host``: False makes the scheduler ignore a
    #: resizing server's own host (``RequestSpec.ignore_hosts``). Unset: False, except on
    #: a one-host QEMU cloud (True, as devstack sets it).
    allow_resize_to_same_host: bool | None = None
    #: Nova's ``[DEFAULT] resize_confirm_window``: seconds after which a server left in
    #: VERIFY_RESIZE is confirmed by the periodic task; 0 disables it.
    resize_confirm_window: int = 0
    #: Which backend runs the servers: ``simulated`` or ``qemu``.
    backend: str = "simulated"


#: The backends ``[compute] backend`` (and ``serve --backend``) can name.
BACKENDS = ("simulated", "qemu")


@dataclass(frozen=True)
class QemuConfig:
    #: Cache of the free guest image; empty: ``$XDG_CACHE_HOME/nova-emulator/guest``.
    cache: str = ""
    #: Instance directories (QMP sockets live there, so keep it short); empty: beside a
    #: SQLite state file when that is short, else ``/tmp/nova-emulator-<uid>``.
    run_dir: str = ""
    #: ``tcg`` (the default: KVM is present on some machines but boots nothing) or ``kvm``.
    accel: str = "tcg"
    #: Nova's clean-shutdown timeout: seconds a guest has to power off on ACPI before QEMU
    #: is stopped (``[DEFAULT] shutdown_timeout``, 60 in Nova).
    shutdown_timeout: float = 60.0
    #: How long a start may take to reach QEMU's ``running``, and the free guest to boot.
    boot_timeout: float = 60.0
    #: Guests booting at once (a TCG boot costs ~4.5 CPU-seconds); another image's boot
    #: holds its slot ``boot_grace`` seconds (there is no ready marker to wait for).
    boot_concurrency: int = 2
    boot_grace: float = 10.0
    #: The host's inventory: 0 means "what this machine has"; the ratios are Nova's.
    vcpus: int = 0
    memory_mb: int = 0
    local_gb: int = 0
    reserved_host_memory_mb: int = 512
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0


@dataclass(frozen=True)
class ZoneConfig:
    """An availability zone of the simulated cloud and how many hosts it has."""

    name: str
    hosts: int


#: More hosts than this is a typo, not a cloud (each host is a small object in memory).
MAX_SIMULATED_HOSTS = 100_000


@dataclass(frozen=True)
class SimulatedConfig:
    #: How stages take time: ``immediate``, ``time`` (wall clock) or ``manual``.
    progression: Progression = Progression.IMMEDIATE
    zones: tuple[ZoneConfig, ...] = tuple(ZoneConfig(n, c) for n, c in DEFAULT_ZONES)
    #: Every host's shape.
    vcpus: int = DEFAULT_VCPUS
    memory_mb: int = DEFAULT_MEMORY_MB
    local_gb: int = DEFAULT_LOCAL_GB
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    #: Seed of the stages' jitter; None: a different run each time.
    seed: int | None = None
    #: The stage table with the file's overrides applied (``[simulated.stages.<verb>]``).
    stages: Mapping[str, Stage] = field(default_factory=lambda: dict(STAGES))


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    simulated: SimulatedConfig = field(default_factory=SimulatedConfig)
    qemu: QemuConfig = field(default_factory=QemuConfig)

    @property
    def public_url(self) -> str:
        """The base URL clients should use, without a trailing slash."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server.port}"

    @property
    def accounts(self) -> tuple[Account, ...]:
        return SEEDED_ACCOUNTS + self.identity.accounts


def _section(cls: type[Any], data: Any, where: str, sample: Any = None) -> dict[str, Any]:
    """``data`` checked against ``cls``'s fields: no unknown keys, scalars of the default's
    type (``sample``'s, else ``cls()``'s; an int is taken as a float). Other fields (tables,
    arrays, optional values) are left to the caller."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{where}]: {', '.join(unknown)}")
    sample = cls() if sample is None else sample
    checked = dict(data)
    for f in fields(cls):
        want = type(getattr(sample, f.name))
        if f.name not in data or want not in (str, int, float, bool):
            continue
        value = data[f.name]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = checked[f.name] = float(value)
        if not isinstance(value, want) or isinstance(value, bool) is not (want is bool):
            raise ConfigError(f"[{where}] {f.name} must be of type {want.__name__}")
    return checked


def _account(data: Any, index: int) -> Account:
    where = f"identity.accounts[{index}]"
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(data) - {"user", "password", "project", "roles"})
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(unknown)}")
    try:
        user, password, project = data["user"], data["password"], data["project"]
    except KeyError as exc:
        raise ConfigError(f"{where} needs {exc.args[0]!r}") from None
    roles = data.get("roles", ["member"])
    if not all(isinstance(v, str) and v for v in (user, password, project)):
        raise ConfigError(f"{where}: user, password and project must be non-empty strings")
    if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
        raise ConfigError(f"{where}: roles must be a list of role names")
    return Account(user=user, password=password, project=project, roles=tuple(roles))


def load_config(path: Path | None = None) -> Config:
    """Read ``path`` (TOML) over the defaults; ``None`` gives the defaults."""
    config = Config()
    if path is None:
        return config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    unknown = sorted(set(data) - {"server", "identity", "image", "compute", "simulated",
                                 "qemu"})
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(unknown)}")
    server = replace(config.server, **_section(ServerConfig, data.get("server", {}), "server"))
    identity_data = _section(IdentityConfig, data.get("identity", {}), "identity")
    accounts = identity_data.pop("accounts", [])
    if not isinstance(accounts, list):
        raise ConfigError("identity.accounts must be an array of tables")
    identity = replace(
        config.identity,
        **identity_data,
        accounts=tuple(_account(a, i) for i, a in enumerate(accounts)),
    )
    image = replace(config.image, **_section(ImageConfig, data.get("image", {}), "image"))
    _check_ranges(server, identity)
    if image.size_cap_bytes <= 0:
        raise ConfigError("[image] size_cap_bytes must be positive")
    compute = replace(config.compute,
                      **_section(ComputeConfig, data.get("compute", {}), "compute"))
    if compute.reclaim_instance_interval < 0:
        raise ConfigError("[compute] reclaim_instance_interval must not be negative")
    if compute.resize_confirm_window < 0:
        raise ConfigError("[compute] resize_confirm_window must not be negative")
    same_host = compute.allow_resize_to_same_host
    if same_host is not None and not isinstance(same_host, bool):
        raise ConfigError("[compute] allow_resize_to_same_host must be of type bool")
    if compute.backend not in BACKENDS:
        raise ConfigError(f"[compute] backend must be one of {', '.join(BACKENDS)}")
    simulated = _simulated(data.get("simulated", {}))
    qemu = replace(config.qemu, **_section(QemuConfig, data.get("qemu", {}), "qemu"))
    _check_qemu(qemu)
    return Config(server=server, identity=identity, image=image, compute=compute,
                  simulated=simulated, qemu=qemu)


def _check_qemu(qemu: QemuConfig) -> None:
    if qemu.accel not in ("tcg", "kvm"):
        raise ConfigError('[qemu] accel must be "tcg" or "kvm"')
    for name in ("shutdown_timeout", "boot_timeout", "boot_grace", "cpu_allocation_ratio",
                 "ram_allocation_ratio", "disk_allocation_ratio"):
        value = getattr(qemu, name)
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"[qemu] {name} must be a finite number >= 0")
    for name in ("vcpus", "memory_mb", "local_gb", "reserved_host_memory_mb"):
        if getattr(qemu, name) < 0:
            raise ConfigError(f"[qemu] {name} must not be negative")
    if qemu.boot_concurrency < 1:
        raise ConfigError("[qemu] boot_concurrency must be at least 1")


def _zones(data: Any) -> tuple[ZoneConfig, ...]:
    if not isinstance(data, list):
        raise ConfigError("simulated.zones must be an array of tables")
    zones: list[ZoneConfig] = []
    for index, zone in enumerate(data):
        where = f"simulated.zones[{index}]"
        if not isinstance(zone, dict):
            raise ConfigError(f"{where} must be a table")
        unknown = sorted(set(zone) - {"name", "hosts"})
        if unknown:
            raise ConfigError(f"unknown key(s) in {where}: {', '.join(unknown)}")
        name, hosts = zone.get("name"), zone.get("hosts")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: name must be a non-empty string")
        if not isinstance(hosts, int) or isinstance(hosts, bool) or hosts < 0:
            raise ConfigError(f"{where}: hosts must be an integer >= 0")
        if any(z.name == name for z in zones):
            raise ConfigError(f"{where}: zone {name!r} is listed twice")
        zones.append(ZoneConfig(name=name, hosts=hosts))
    if sum(z.hosts for z in zones) > MAX_SIMULATED_HOSTS:
        raise ConfigError(f"simulated.zones: at most {MAX_SIMULATED_HOSTS} hosts in all")
    return tuple(zones)


def _stages(data: Any) -> dict[str, Stage]:
    """``STAGES`` with each ``[simulated.stages.<verb>]`` table laid over its verb's stage."""
    if not isinstance(data, dict):
        raise ConfigError("[simulated.stages] must be a table")
    unknown = sorted(set(data) - set(STAGES))
    if unknown:
        raise ConfigError(f"unknown verb(s) in [simulated.stages]: {', '.join(unknown)} "
                          f"(known: {', '.join(STAGES)})")
    stages = dict(STAGES)
    for verb, overrides in data.items():
        where = f"simulated.stages.{verb}"
        stage = replace(STAGES[verb], **_section(Stage, overrides, where, STAGES[verb]))
        for name in ("delay", "jitter"):
            value = getattr(stage, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"[{where}] {name} must be a finite number >= 0")
        stages[verb] = stage
    return stages


def _simulated(data: Any) -> SimulatedConfig:
    values = _section(SimulatedConfig, data, "simulated")
    if "progression" in values:
        if values["progression"] not in tuple(Progression):
            raise ConfigError("[simulated] progression must be one of "
                              f"{', '.join(p.value for p in Progression)}")
        values["progression"] = Progression(values["progression"])
    if "zones" in values:
        values["zones"] = _zones(values["zones"])
    seed = values.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ConfigError("[simulated] seed must be of type int")
    if "stages" in values:
        values["stages"] = _stages(values["stages"])
    simulated = replace(SimulatedConfig(), **values)
    for name in ("vcpus", "memory_mb", "local_gb"):
        if getattr(simulated, name) <= 0:
            raise ConfigError(f"[simulated] {name} must be positive")
    for name in ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio"):
        value = getattr(simulated, name)
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"[simulated] {name} must be a positive number")
    return simulated


#: Log levels uvicorn and ``logging`` both understand.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _check_ranges(server: ServerConfig, identity: IdentityConfig) -> None:
    if not 0 <= server.port <= 65535:
        raise ConfigError("[server] port must be between 0 and 65535")
    if server.max_request_body_bytes <= 0:
        raise ConfigError("[server] max_request_body_bytes must be positive")
    if server.log_level not in LOG_LEVELS:
        raise ConfigError(f"[server] log_level must be one of {', '.join(LOG_LEVELS)}")
    if identity.token_ttl_seconds <= 0:
        raise ConfigError("[identity] token_ttl_seconds must be positive")


def with_overrides(config: Config, backend: str | None = None,
                   **server_overrides: Any) -> Config:
    """Apply command-line flags (``None`` means "not given") to the server section, and
    ``backend`` to ``[compute] backend``."""
    given = {k: v for k, v in server_overrides.items() if v is not None}
    config = replace(config, server=replace(config.server, **given))
    if backend is not None:
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}")
        config = replace(config, compute=replace(config.compute, backend=backend))
    return config
