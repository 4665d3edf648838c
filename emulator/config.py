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

Unknown sections or keys are an error at start-up, not a silent no-op.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

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
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    image: ImageConfig = field(default_factory=ImageConfig)

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


def _section(cls: type[Any], data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{where}]: {', '.join(unknown)}")
    for f in fields(cls):
        if f.name in data and f.name != "accounts":
            want = type(getattr(cls(), f.name))
            value = data[f.name]
            if not isinstance(value, want) or isinstance(value, bool) is not (want is bool):
                raise ConfigError(f"[{where}] {f.name} must be of type {want.__name__}")
    return dict(data)


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
    unknown = sorted(set(data) - {"server", "identity", "image"})
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
    return Config(server=server, identity=identity, image=image)


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


def with_overrides(config: Config, **server_overrides: Any) -> Config:
    """Apply command-line flags (``None`` means "not given") to the server section."""
    given = {k: v for k, v in server_overrides.items() if v is not None}
    return replace(config, server=replace(config.server, **given))
