"""Emulator configuration: defaults, overlaid by a TOML file, overlaid by command-line flags.

Long because this docstring is the annotated example of every section (~170 lines, the
file format in one place); the code is one strict dataclass a section.

The file is TOML (``tomllib`` is in the standard library)::

    [server]
    host = "127.0.0.1"
    port = 8774
    state = "sqlite:////var/lib/nova-emulator/state.db"  # default sqlite:// (in memory);
                                              # postgresql://user:password@host/db needs
                                              # nova-emulator[postgresql] (psycopg 3)
    public_url = "http://127.0.0.1:8774"     # what the catalog advertises
    metrics_unauthenticated = false           # true: GET /_emulator/metrics needs no token
    seed = 1                                  # ids drawn from it (the same every run of
                                              # the same requests); default: random
    request_log_size = 1000                   # requests GET /_emulator/requests keeps; 0: none
    header_timeout_seconds = 30.0             # a connection must send a request's head
                                              # (line and headers) within this, or is dropped
    workers = 1                               # API worker processes on the port (more:
                                              # PostgreSQL state, simulated backend)

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
    shelved_offload_time = 0                  # 0: a shelve offloads at once; > 0: after
                                              # that many seconds; < 0: never
    backend = "simulated"                     # or "qemu" (real guests), or any backend
                                              # registered as a plug-in (serve --backend)
    max_count_per_request = 1000              # the most servers one create may ask for

    [quota]                                   # Nova's [quota] defaults (-1: unlimited)
    driver = "db"                             # "noop": Nova's NoopQuotaDriver, no limits
    instances = 10
    cores = 20
    ram = 51200
    metadata_items = 128
    injected_files = 5
    injected_file_content_bytes = 10240
    injected_file_path_length = 255
    key_pairs = 100
    server_groups = 10
    server_group_members = 10

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
    vcpus = 0                                 # this machine's inventory; 0: measured
    memory_mb = 0
    local_gb = 0
    reserved_host_memory_mb = 512
    cpu_allocation_ratio = 4.0
    ram_allocation_ratio = 1.0
    disk_allocation_ratio = 1.0
    live_migration_bandwidth = 0              # MiB/s a live migration may copy; 0: as
                                              # fast as it goes (Nova's [libvirt] option)
    force_config_drive = true                 # a config drive for every server (Nova's
                                              # option): the free guest's SSH key comes
                                              # from it
    hosts = 1                                 # compute hosts sharing the machine equally:
                                              # 1: named after it, its run_dir; N > 1:
                                              # qemu-1 ... qemu-N, in run_dir/<name>/
                                              # (live migration moves guests between them)

    [[qemu.hosts]]                            # instead of hosts = N: each host, its name
    name = "qemu-a"                           # (its directory's) and its share; 0 or left
    vcpus = 1                                 # out: an equal part of the machine's
    memory_mb = 4096
    local_gb = 0

    [network]                                 # the seeded Neutron networks
    public_cidr = ""                          # the public (floating IP) subnet; default:
                                              # 172.24.4.0/24 (devstack's), 127.24.4.0/24
                                              # on qemu (loopback: each floating IP is
                                              # forwarded to its guest's SSH port)
    public_gateway = ""                       # default: the CIDR's first address

    [simulated]                               # the simulated cloud
    progression = "immediate"                 # or "time" (wall clock), "manual" (control plane)
    vcpus = 32                                # every host's shape
    memory_mb = 131072
    local_gb = 2000
    cpu_allocation_ratio = 4.0
    ram_allocation_ratio = 1.0
    disk_allocation_ratio = 1.0
    seed = 42                                 # for the stages' jitter; default: random
    ssh_port = 22                             # guests answer SSH there at their 127/8
                                              # addresses ([network] public_cidr); 0: off

    [scheduler]                               # Nova's filter scheduler over placement
    filters = ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
               "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
               "SameHostFilter", "DifferentHostFilter"]
                                              # in order; Nova's names, a plug-in's entry
                                              # point name, or a dotted path
    max_placement_results = 1000              # candidates examined per decision
    host_subset_size = 1                      # pick at random among the best N
    seed = 7                                  # of that random pick; default: random
    limit_tenants_to_placement_aggregate = false   # Nova's tenant isolation by the
    placement_aggregate_required_for_tenants = false  # aggregates' filter_tenant_id

    [scheduler.weighers]                      # multipliers over Nova's defaults (0: off);
    RAMWeigher = -1.0                         # negative packs, positive spreads
    "mypackage.weighers:gpu_weigher" = 2.0    # a plug-in (entry point name or dotted path)

    [[simulated.zones]]                       # default: nova and az2, 4 hosts each
    name = "nova"
    hosts = 4

    [simulated.stages.spawn]                  # overrides of STAGES, per verb
    delay = 30.0
    jitter = 0.0
    fails = false

    [ratelimit]                               # request-rate limits (429 + Retry-After);
    enabled = false                           # off: not in the request path at all
    store = "memory"                          # or "redis://host:6379/0": shared by several
                                              # processes (nova-emulator[redis])
    [[ratelimit.limits]]                      # any number; see emulator/ratelimit/settings.py
    name = "post"                             # unique; names the limit's state
    tier = "user"                             # project, user or route (every caller)
    verb = "POST"                             # "*": any
    regex = ".*"                              # re.search on the path (and ?query)
    uri = "*"                                 # shown by GET /limits
    value = 120
    unit = "MINUTE"                           # SECOND, MINUTE, HOUR, DAY
    burst = 0                                 # sent at once by an idle key; 0: value

    [backends.<name>]                         # a plug-in backend's own settings: kept as
    any_key = "any value"                     # a raw table in config.backend_settings[name]

Unknown sections or keys are an error at start-up, not a silent no-op. The schema is the
pydantic dataclasses below (strict types: ``"8774"`` is not a port); every complaint is one
line naming the file, the table and the key, e.g. ``emulator.toml: [server] port must be at
most 65535``.
"""
from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from backends.qemu.inventory import HostShare, shares
from backends.simulated import (
    DEFAULT_LOCAL_GB,
    DEFAULT_MEMORY_MB,
    DEFAULT_VCPUS,
    DEFAULT_ZONES,
    STAGES,
    Stage,
)
from emulator.clock import Progression
from emulator.compute.quotas.resources import DEFAULT_OPTIONS as NOVA_QUOTAS
from emulator.config_wording import Loc, explain
from emulator.network.settings import NetworkConfig
from emulator.placement.filters import DEFAULT_FILTERS
from emulator.placement.weighers import DEFAULT_WEIGHERS
from emulator.ratelimit.settings import RateLimitConfig

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"


class ConfigError(ValueError):
    """The configuration file or a flag is not valid (one line, ready for the user)."""


# -- value types: pydantic checks them, ``_explain`` words the complaint ----------------------

NonEmptyStr = Annotated[StrictStr, StringConstraints(min_length=1)]
Name = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]
PositiveInt = Annotated[StrictInt, Field(gt=0)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
AtLeastOne = Annotated[StrictInt, Field(ge=1)]
Port = Annotated[StrictInt, Field(ge=1, le=65535)]
#: ``--workers``: at most this many processes (each holds a cloud's read side in memory).
MAX_WORKERS = 32
#: Seconds and ratios: an int is taken as a float; inf and nan are refused.
NonNegativeFloat = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]

#: Log levels uvicorn and ``logging`` both understand.
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]
LOG_LEVELS: tuple[str, ...] = get_args(LogLevel)

#: The databases ``[server] state`` may name (SQLAlchemy backend names).
STATE_DATABASES = ("sqlite", "postgresql")


def _state_url(url: str) -> str:
    """``url`` if SQLAlchemy parses it and it names a database we support."""
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        raise PydanticCustomError(
            "state_url", "must be a database URL (sqlite:// for memory, sqlite:////path/to/"
            "state.db or postgresql://user:password@host/db), not {url}", {"url": repr(url)},
        ) from None
    if backend not in STATE_DATABASES:
        raise PydanticCustomError("state_url", "must be a sqlite:// or postgresql:// URL, "
                                  "not {backend}://", {"backend": backend})
    return url


StateURL = Annotated[StrictStr, AfterValidator(_state_url)]

#: Every section is strict about its keys.
_TABLE = ConfigDict(extra="forbid")


# -- the schema -----------------------------------------------------------------------------


@dataclass(frozen=True, config=_TABLE)
class Account:
    """A user seeded at start-up, with its roles on one project (domain ``Default``)."""

    user: NonEmptyStr
    password: NonEmptyStr
    project: NonEmptyStr
    roles: tuple[NonEmptyStr, ...] = ("member",)


#: The accounts every emulator starts with; ``nova-emulator clouds-yaml`` prints them.
SEEDED_ACCOUNTS: tuple[Account, ...] = (
    Account(user="admin", password="admin", project="admin", roles=("admin",)),
    Account(user="demo", password="demo", project="demo", roles=("member",)),
    Account(user="alt_demo", password="alt_demo", project="alt_demo", roles=("member",)),
)


@dataclass(frozen=True, config=_TABLE)
class ServerConfig:
    host: StrictStr = "127.0.0.1"
    port: Port = 8774
    #: SQLAlchemy URL of the state database; the default keeps everything in memory.
    state: StateURL = "sqlite://"
    #: Base URL published in the service catalog; derived from host and port when empty.
    public_url: StrictStr = ""
    #: Nova's ``max_request_body_size`` (oslo.middleware sizelimit default).
    max_request_body_bytes: PositiveInt = 114688
    log_level: LogLevel = "info"
    #: ``GET /_emulator/metrics`` without a token (a Prometheus scraper's); by default an
    #: admin's token is asked for, as for the rest of the control plane.
    metrics_unauthenticated: StrictBool = False
    #: Deterministic ids (``emulator.ids``): every id the emulator makes comes from a
    #: generator with this seed; None: random.
    seed: StrictInt | None = None
    #: Requests the request recorder keeps (``GET /_emulator/requests``, the dashboard's
    #: recent requests), the oldest dropped first; 0 records none.
    request_log_size: NonNegativeInt = 1000
    #: Seconds a connection has to send a request's head before it is dropped (a client
    #: that sends nothing, or headers that never end: ``emulator.http_protocol``).
    header_timeout_seconds: PositiveFloat = 30.0
    #: API worker processes on the one port (``emulator.workers``); more than one needs a
    #: PostgreSQL state they share.
    workers: Annotated[StrictInt, Field(ge=1, le=MAX_WORKERS)] = 1


@dataclass(frozen=True, config=_TABLE)
class IdentityConfig:
    region: StrictStr = "RegionOne"
    token_ttl_seconds: PositiveInt = 3600
    accounts: tuple[Account, ...] = ()


@dataclass(frozen=True, config=_TABLE)
class ImageConfig:
    #: Directory of image data; empty: ``<dir of the --state file>/images`` for a SQLite
    #: file state, else a temporary directory removed at exit.
    store: StrictStr = ""
    #: Glance's ``require_image_format_match``: refuse bare uploads not in their disk_format.
    require_format_match: StrictBool = True
    #: Glance's ``image_size_cap`` (1 TiB).
    size_cap_bytes: PositiveInt = 1099511627776


@dataclass(frozen=True, config=_TABLE)
class ComputeConfig:
    #: Nova's ``[DEFAULT] reclaim_instance_interval``: seconds a deleted server stays
    #: SOFT_DELETED (restorable) before it is reclaimed; 0 deletes at once.
    reclaim_instance_interval: NonNegativeInt = 0
    #: Nova's ``[DEFAULT] allow_resize_to_same_host``: False makes the scheduler ignore a
    #: resizing server's own host (``RequestSpec.ignore_hosts``). Unset: False, except on
    #: a one-host QEMU cloud (True, as devstack sets it).
    allow_resize_to_same_host: StrictBool | None = None
    #: Nova's ``[DEFAULT] resize_confirm_window``: seconds after which a server left in
    #: VERIFY_RESIZE is confirmed by the periodic task; 0 disables it.
    resize_confirm_window: NonNegativeInt = 0
    #: Nova's ``[DEFAULT] shelved_offload_time``: seconds a SHELVED server keeps its host
    #: before it is offloaded (Nova's ``_poll_shelved_instances``); 0 offloads right after
    #: the shelve, a negative value never (only ``shelveOffload`` does).
    shelved_offload_time: StrictInt = 0
    #: Which backend runs the servers: the name of a registered backend (``simulated``,
    #: ``qemu`` or a plug-in's); whether it exists is checked where backends are found.
    backend: Name = "simulated"
    #: The most servers one create request may ask for (``min_count``/``max_count``).
    max_count_per_request: AtLeastOne = 1000


#: A quota limit: -1 is unlimited.
Limit = Annotated[StrictInt, Field(ge=-1)]


@dataclass(frozen=True, config=_TABLE)
class QuotaConfig:
    """Nova's ``[quota]``: the default limits of every project (before the ``default``
    quota class and the per-project and per-user limits an admin sets)."""

    #: ``db``: Nova's ``DbQuotaDriver``; ``noop``: its ``NoopQuotaDriver`` (every limit -1).
    driver: Literal["db", "noop"] = "db"
    instances: Limit = NOVA_QUOTAS["instances"]
    cores: Limit = NOVA_QUOTAS["cores"]
    ram: Limit = NOVA_QUOTAS["ram"]
    metadata_items: Limit = NOVA_QUOTAS["metadata_items"]
    injected_files: Limit = NOVA_QUOTAS["injected_files"]
    injected_file_content_bytes: Limit = NOVA_QUOTAS["injected_file_content_bytes"]
    injected_file_path_length: Limit = NOVA_QUOTAS["injected_file_path_length"]
    key_pairs: Limit = NOVA_QUOTAS["key_pairs"]
    server_groups: Limit = NOVA_QUOTAS["server_groups"]
    server_group_members: Limit = NOVA_QUOTAS["server_group_members"]

    def options(self) -> dict[str, int]:
        """The limits by option name (without ``driver``)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "driver"}


@dataclass(frozen=True, config=_TABLE)
class QemuHostConfig:
    """A ``[[qemu.hosts]]`` table: one compute host sharing this machine; each size left 0
    is an equal part of the machine's."""

    name: Name
    vcpus: NonNegativeInt = 0
    memory_mb: NonNegativeInt = 0
    local_gb: NonNegativeInt = 0


def _host_count(value: Any) -> Any:
    """``hosts = N`` as the tables of N equal hosts (their default names)."""
    if isinstance(value, bool) or not isinstance(value, int | list | tuple):
        raise PydanticCustomError("hosts", "must be a number of hosts or an array of "
                                  "[[qemu.hosts]] tables")
    if isinstance(value, int):
        try:
            return [{"name": share.name} for share in shares(value, None)]
        except ValueError as exc:
            raise PydanticCustomError("hosts", str(exc)) from None
    return value


def _distinct_hosts(hosts: tuple[QemuHostConfig, ...]) -> tuple[QemuHostConfig, ...]:
    try:
        shares([HostShare(h.name, h.vcpus, h.memory_mb, h.local_gb) for h in hosts], None)
    except ValueError as exc:
        raise PydanticCustomError("hosts", str(exc)) from None
    return hosts


@dataclass(frozen=True, config=_TABLE)
class QemuConfig:
    #: Cache of the free guest image; empty: ``$XDG_CACHE_HOME/nova-emulator/guest``.
    cache: StrictStr = ""
    #: Instance directories (QMP sockets live there, so keep it short); empty: beside a
    #: SQLite state file when that is short, else ``/tmp/nova-emulator-<uid>``.
    run_dir: StrictStr = ""
    #: ``tcg`` (the default: KVM is present on some machines but boots nothing) or ``kvm``.
    accel: Literal["tcg", "kvm"] = "tcg"
    #: Nova's clean-shutdown timeout: seconds a guest has to power off on ACPI before QEMU
    #: is stopped (``[DEFAULT] shutdown_timeout``, 60 in Nova).
    shutdown_timeout: NonNegativeFloat = 60.0
    #: How long a start may take to reach QEMU's ``running``, and the free guest to boot.
    boot_timeout: NonNegativeFloat = 60.0
    #: Guests booting at once (a TCG boot costs ~4.5 CPU-seconds); another image's boot
    #: holds its slot ``boot_grace`` seconds (there is no ready marker to wait for).
    boot_concurrency: AtLeastOne = 2
    boot_grace: NonNegativeFloat = 10.0
    #: The host's inventory: 0 means "what this machine has"; the ratios are Nova's.
    vcpus: NonNegativeInt = 0
    memory_mb: NonNegativeInt = 0
    local_gb: NonNegativeInt = 0
    reserved_host_memory_mb: NonNegativeInt = 512
    cpu_allocation_ratio: NonNegativeFloat = 4.0
    ram_allocation_ratio: NonNegativeFloat = 1.0
    disk_allocation_ratio: NonNegativeFloat = 1.0
    #: Nova's ``[libvirt] live_migration_bandwidth``: MiB/s a live migration may copy;
    #: 0: as fast as QEMU can (tests slow it down to watch a migration run).
    live_migration_bandwidth: NonNegativeInt = 0
    #: Nova's ``force_config_drive``: every server gets a config drive (the free guest
    #: takes its hostname and SSH key from it), not only those created with one.
    force_config_drive: StrictBool = True
    #: The compute hosts sharing the machine (``hosts = N`` in the file: N equal ones).
    hosts: Annotated[tuple[QemuHostConfig, ...], BeforeValidator(_host_count),
                     AfterValidator(_distinct_hosts)] = field(
        default_factory=lambda: (QemuHostConfig(shares(1, None)[0].name),))

    def host_shares(self) -> list[HostShare]:
        return [HostShare(h.name, h.vcpus, h.memory_mb, h.local_gb) for h in self.hosts]


@dataclass(frozen=True, config=_TABLE)
class ZoneConfig:
    """An availability zone of the simulated cloud and how many hosts it has."""

    name: Name
    hosts: NonNegativeInt


#: More hosts than this is a typo, not a cloud (each host is a small object in memory).
MAX_SIMULATED_HOSTS = 100_000


def _distinct_zones(zones: tuple[ZoneConfig, ...]) -> tuple[ZoneConfig, ...]:
    names = [zone.name for zone in zones]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise PydanticCustomError("zones", "list zone {names} more than once",
                                  {"names": ", ".join(map(repr, twice))})
    if sum(zone.hosts for zone in zones) > MAX_SIMULATED_HOSTS:
        raise PydanticCustomError("zones", "must have at most {most} hosts in all",
                                  {"most": MAX_SIMULATED_HOSTS})
    return zones


@dataclass(frozen=True, config=_TABLE)
class StageTable:
    """A ``[simulated.stages.<verb>]`` table: what it sets of the verb's built-in stage."""

    delay: NonNegativeFloat | None = None
    jitter: NonNegativeFloat | None = None
    fails: StrictBool | None = None


def _as_tables(value: Any) -> Any:
    """Stages given as ``Stage`` objects (``replace`` of a loaded config) as tables."""
    if isinstance(value, Mapping):
        return {verb: dataclasses.asdict(stage) if isinstance(stage, Stage) else stage
                for verb, stage in value.items()}
    return value


def _laid_over(tables: Mapping[str, StageTable]) -> dict[str, Stage]:
    """``STAGES`` with each table's keys laid over its verb's stage."""
    stages = dict(STAGES)
    for verb, table in tables.items():
        given = {k: v for k, v in dataclasses.asdict(table).items() if v is not None}
        stages[verb] = replace(STAGES[verb], **given)
    return stages


if TYPE_CHECKING:
    StageMap = Mapping[str, Stage]
else:
    # NOTE: the file gives partial tables per verb; the attribute is the whole stage table.
    StageMap = Annotated[dict[Literal[tuple(STAGES)], StageTable],
                         BeforeValidator(_as_tables), AfterValidator(_laid_over)]


@dataclass(frozen=True, config=_TABLE)
class SimulatedConfig:
    #: How stages take time: ``immediate``, ``time`` (wall clock) or ``manual``.
    progression: Progression = Progression.IMMEDIATE
    zones: Annotated[tuple[ZoneConfig, ...], AfterValidator(_distinct_zones)] = tuple(
        ZoneConfig(n, c) for n, c in DEFAULT_ZONES)
    #: Every host's shape.
    vcpus: PositiveInt = DEFAULT_VCPUS
    memory_mb: PositiveInt = DEFAULT_MEMORY_MB
    local_gb: PositiveInt = DEFAULT_LOCAL_GB
    cpu_allocation_ratio: PositiveFloat = 4.0
    ram_allocation_ratio: PositiveFloat = 1.0
    disk_allocation_ratio: PositiveFloat = 1.0
    #: Seed of the stages' jitter; None: a different run each time.
    seed: StrictInt | None = None
    #: The stage table with the file's overrides applied (``[simulated.stages.<verb>]``).
    stages: StageMap = field(default_factory=lambda: dict(STAGES))
    #: The port a running guest answers SSH on, at each of its addresses in 127.0.0.0/8
    #: (``backends.simulated.ssh``); 0: guests answer no SSH.
    ssh_port: Annotated[StrictInt, Field(ge=0, le=65535)] = 22


Multiplier = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _over_default_weighers(weighers: dict[str, float]) -> dict[str, float]:
    """The file's multipliers laid over Nova's defaults (in their order, new ones last)."""
    return {**dict(DEFAULT_WEIGHERS), **weighers}


@dataclass(frozen=True, config=_TABLE)
class SchedulerSettings:
    """``[scheduler]``: Nova's ``[filter_scheduler]`` and ``[scheduler]`` options that
    placement here reads. Which names exist is checked where policies are loaded."""

    #: ``enabled_filters``, in order.
    filters: tuple[Name, ...] = DEFAULT_FILTERS
    #: Weigher -> multiplier (``*_weight_multiplier``), over Nova's defaults.
    weighers: Annotated[dict[Name, Multiplier], AfterValidator(_over_default_weighers)] = \
        field(default_factory=lambda: dict(DEFAULT_WEIGHERS))
    #: ``[scheduler] max_placement_results``: candidates examined per decision.
    max_placement_results: AtLeastOne = 1000
    #: ``[filter_scheduler] host_subset_size``: choose at random among the best N.
    host_subset_size: AtLeastOne = 1
    #: Seed of that random choice; None: a different run each time.
    seed: StrictInt | None = None
    #: Nova's ``[scheduler] limit_tenants_to_placement_aggregate`` and
    #: ``placement_aggregate_required_for_tenants`` (aggregates' ``filter_tenant_id``).
    limit_tenants_to_placement_aggregate: StrictBool = False
    placement_aggregate_required_for_tenants: StrictBool = False


@dataclass(frozen=True, config=ConfigDict(extra="forbid", validate_by_name=True))
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    simulated: SimulatedConfig = field(default_factory=SimulatedConfig)
    qemu: QemuConfig = field(default_factory=QemuConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    ratelimit: RateLimitConfig = field(default_factory=RateLimitConfig)
    #: ``[backends.<name>]``: a plug-in backend's own settings, raw, by backend name.
    backend_settings: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                        alias="backends")

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


_CONFIG = TypeAdapter(Config)


def load_config(path: Path | None = None) -> Config:
    """Read ``path`` (TOML) over the defaults; ``None`` gives the defaults."""
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    try:
        return _CONFIG.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {explain(exc)}") from None


def _flag(loc: Loc) -> str:
    return f"--{str(loc[0]).replace('_', '-')}"


def with_overrides(config: Config, backend: str | None = None,
                   **server_overrides: Any) -> Config:
    """Apply command-line flags (``None`` means "not given") to the server section, and
    ``backend`` to ``[compute] backend``; a bad value is a ``ConfigError`` naming its flag."""
    given = {k: v for k, v in server_overrides.items() if v is not None}
    try:
        config = replace(config, server=replace(config.server, **given))
        if backend is not None:
            config = replace(config, compute=replace(config.compute, backend=backend))
    except ValidationError as exc:
        raise ConfigError(explain(exc, _flag)) from None
    return config
