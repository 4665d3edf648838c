"""Configuration: defaults, the TOML overlay, strictness about what it accepts, accounts."""

from __future__ import annotations

import dataclasses
import datetime
import socket
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from pydantic import TypeAdapter

from backends.qemu.inventory import HostShare
from emulator.config import (
    SEEDED_ACCOUNTS,
    Account,
    Config,
    ConfigError,
    QemuConfig,
    QemuHostConfig,
    load_config,
    with_overrides,
)


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    """``data`` as the TOML file ``emulator.toml``."""
    path = tmp_path / "emulator.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def write_text(tmp_path: Path, text: str) -> Path:
    """``text`` as it is (for files TOML itself refuses)."""
    path = tmp_path / "emulator.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- defaults -----------------------------------------------------------------------------


def test_defaults() -> None:
    config = load_config(None)
    assert config == Config()
    assert config.server.host == "127.0.0.1"
    assert config.server.port == 8774
    assert config.server.state == "sqlite://"
    assert config.server.max_request_body_bytes == 114688  # oslo.middleware's default
    assert config.server.log_level == "info"
    assert config.identity.region == "RegionOne"
    assert config.identity.token_ttl_seconds == 3600
    assert config.public_url == "http://127.0.0.1:8774"
    assert config.compute.backend == "simulated"
    assert config.compute.max_count_per_request == 1000
    assert config.backend_settings == {}


def test_seeded_accounts() -> None:
    by_user = {a.user: a for a in Config().accounts}
    assert set(by_user) == {"admin", "demo", "alt_demo"}
    assert by_user["admin"].roles == ("admin",)
    assert by_user["demo"] == Account("demo", "demo", "demo", ("member",))
    assert by_user["alt_demo"].project == "alt_demo"


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, {})) == Config()


# -- overlay ------------------------------------------------------------------------------


def test_overlay_keeps_unset_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {
        "server": {"port": 9000, "state": "sqlite:////tmp/x.db"},
        "identity": {"region": "RegionTwo"},
    }))
    assert config.server.port == 9000
    assert config.server.state == "sqlite:////tmp/x.db"
    assert config.server.host == "127.0.0.1"
    assert config.identity.region == "RegionTwo"
    assert config.identity.token_ttl_seconds == 3600


def test_accounts_are_added_to_the_seeded_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"identity": {"accounts": [
        {"user": "demo1-member", "password": "secret", "project": "demo1",
         "roles": ["member", "reader"]},
        {"user": "demo1-default", "password": "p", "project": "demo1"},
    ]}}))
    assert config.identity.accounts == (
        Account("demo1-member", "secret", "demo1", ("member", "reader")),
        Account("demo1-default", "p", "demo1", ("member",)),
    )
    assert config.accounts[:len(SEEDED_ACCOUNTS)] == SEEDED_ACCOUNTS
    assert config.accounts[len(SEEDED_ACCOUNTS):] == config.identity.accounts


@pytest.mark.parametrize(("host", "port", "expected"), [
    ("127.0.0.1", 8774, "http://127.0.0.1:8774"),
    ("0.0.0.0", 80, "http://127.0.0.1:80"),
    ("::", 8774, "http://127.0.0.1:8774"),
    ("", 8774, "http://127.0.0.1:8774"),
    ("::1", 8774, "http://[::1]:8774"),
    ("example.test", 1234, "http://example.test:1234"),
])
def test_public_url_derived_from_host_and_port(host: str, port: int, expected: str) -> None:
    assert with_overrides(Config(), host=host, port=port).public_url == expected


def test_explicit_public_url_wins_and_loses_its_trailing_slash(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"server": {"public_url": "https://cloud.test:443/"}}))
    assert config.public_url == "https://cloud.test:443"


def test_overrides_ignore_none_and_touch_only_the_server() -> None:
    base = Config()
    config = with_overrides(base, host=None, port=1234, state=None, public_url=None)
    assert config.server.port == 1234
    assert config.server.host == base.server.host
    assert config.identity == base.identity


def test_overrides_set_the_backend_to_any_name() -> None:
    """Backends are plug-ins: whether the name is registered is checked where they load."""
    assert with_overrides(Config(), backend="example").compute.backend == "example"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"port": 99999}, "--port must be at most 65535"),
    ({"port": -1}, "--port must be at least 1"),
    ({"port": 0}, "--port must be at least 1"),
    ({"state": "nonsense"}, "--state must be a database URL"),
    ({"state": "mysql://u@h/db"}, "--state must be a sqlite:// or postgresql:// URL, not mysql://"),
    ({"log_level": "loud"}, "--log-level must be one of critical, error, warning, info, debug"),
    ({"backend": ""}, "--backend must not be empty"),
])
def test_bad_overrides_name_their_flag(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        with_overrides(Config(), **overrides)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


# -- strictness ---------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "fragment"), [
    ({"database": {"url": "x"}}, "unknown section(s): database"),
    ({"title": "x"}, "unknown section(s): title"),
    ({"server": {"prot": 1}}, "unknown key(s) in [server]: prot"),
    ({"identity": {"regoin": "x"}}, "unknown key(s) in [identity]: regoin"),
    ({"server": {"port": "8774"}}, "[server] port must be of type int"),
    ({"server": {"port": 87.74}}, "[server] port must be of type int"),
    ({"server": {"port": True}}, "[server] port must be of type int"),
    ({"server": {"host": 127}}, "[server] host must be of type str"),
    ({"server": {"host": datetime.date(1979, 5, 27)}}, "[server] host must be of type str"),
    ({"server": {"max_request_body_bytes": False}}, "must be of type int"),
    ({"identity": {"token_ttl_seconds": "1h"}},
     "[identity] token_ttl_seconds must be of type int"),
    ({"identity": {"token_ttl_seconds": 0}}, "token_ttl_seconds must be positive"),
    ({"identity": {"token_ttl_seconds": -5}}, "token_ttl_seconds must be positive"),
    ({"server": {"port": 70000}}, "[server] port must be at most 65535"),
    ({"server": {"port": 0}}, "[server] port must be at least 1"),
    ({"server": {"port": -1}}, "[server] port must be at least 1"),
    ({"server": {"state": "nonsense"}}, "[server] state must be a database URL"),
    ({"server": {"state": "mysql://u@h/db"}},
     "[server] state must be a sqlite:// or postgresql:// URL, not mysql://"),
    ({"server": {"max_request_body_bytes": 0}}, "max_request_body_bytes must be positive"),
    ({"server": {"log_level": "INFO"}}, "log_level must be one of"),
    ({"server": {"log_level": "verbose"}}, "log_level must be one of"),
    ({"server": 5}, "[server] must be a table"),
    ({"identity": "x"}, "[identity] must be a table"),
    ({"identity": {"accounts": "x"}}, "[identity] accounts must be an array"),
    ({"identity": {"accounts": ["x"]}}, "identity.accounts[0] must be a table"),
    ({"image": {"size_cap_bytes": 0}}, "[image] size_cap_bytes must be positive"),
    ({"image": {"require_format_match": "yes"}}, "must be of type bool"),
    ({"image": {"require_format_match": 1}}, "must be of type bool"),
    ({"image": {"store": 5}}, "[image] store must be of type str"),
    ({"image": {"bucket": "x"}}, "unknown key(s) in [image]: bucket"),
    ({"compute": {"allow_resize_to_same_host": 1}}, "must be of type bool"),
    ({"compute": {"allow_resize_to_same_host": "true"}}, "must be of type bool"),
    ({"compute": {"resize_confirm_window": -1}}, "resize_confirm_window must not be negative"),
    ({"compute": {"resize_confirm_window": 1.5}},
     "[compute] resize_confirm_window must be of type int"),
    ({"compute": {"shelved_offload_time": 0.5}},
     "[compute] shelved_offload_time must be of type int"),
    ({"compute": {"shelved_offload_time": "never"}},
     "[compute] shelved_offload_time must be of type int"),
    ({"compute": {"resize_confirm_windows": 1}},
     "unknown key(s) in [compute]: resize_confirm_windows"),
    ({"compute": {"backend": ""}}, "[compute] backend must not be empty"),
    ({"compute": {"backend": 1}}, "[compute] backend must be of type str"),
    ({"compute": {"max_count_per_request": 0}},
     "[compute] max_count_per_request must be at least 1"),
    ({"compute": {"max_count_per_request": 1.0}},
     "[compute] max_count_per_request must be of type int"),
    ({"qemu": {"accel": "hvf"}}, "[qemu] accel must be one of tcg, kvm"),
    ({"qemu": {"boot_concurrency": 0}}, "[qemu] boot_concurrency must be at least 1"),
    ({"qemu": {"shutdown_timeout": -1}}, "[qemu] shutdown_timeout must not be negative"),
    ({"qemu": {"boot_timeout": float("inf")}}, "[qemu] boot_timeout must be a finite number"),
    ({"qemu": {"vcpus": -1}}, "[qemu] vcpus must not be negative"),
    ({"qemu": {"hosts": 0}}, "[qemu] hosts must be at least 1, not 0"),
    ({"qemu": {"hosts": "2"}}, "[qemu] hosts must be a number of hosts or an array of "
                               "[[qemu.hosts]] tables"),
    ({"qemu": {"hosts": []}}, "[qemu] hosts must list at least one host"),
    ({"qemu": {"hosts": [{"name": "a"}, {"name": "a"}]}},
     "[qemu] hosts must name each host once: 'a' twice"),
    ({"qemu": {"hosts": [{"name": "a/b"}, {"name": "c"}]}},
     "[qemu] hosts must have names of 1-32 letters, digits, '.', '_' or '-' (each names "
     "its host's directory): 'a/b'"),
    ({"qemu": {"hosts": [{"name": "a", "memory_mb": -1}]}},
     "qemu.hosts[0]: memory_mb must not be negative"),
    ({"qemu": {"hosts": [{"vcpus": 1}]}}, "qemu.hosts[0] needs 'name'"),
    ({"backends": 1}, "[backends] must be a table"),
    ({"backends": {"example": 1}}, "[backends.example] must be a table"),
])
def test_invalid_files_are_rejected(tmp_path: Path, data: dict[str, Any], fragment: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert fragment in str(caught.value)
    # One line, naming the file first.
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_every_complaint_is_reported_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, {"server": {"port": "x", "prot": 1, "hots": 2},
                            "compute": {"backend": ""}})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: [server] port must be of type int; unknown key(s) in [server]: prot, hots; "
        "[compute] backend must not be empty")


@pytest.mark.parametrize(("account", "fragment"), [
    ({"user": "u", "password": "p"}, "identity.accounts[0] needs 'project'"),
    ({"password": "p", "project": "x"}, "needs 'user'"),
    ({"user": "u", "project": "x"}, "needs 'password'"),
    ({"user": "", "password": "p", "project": "x"},
     "identity.accounts[0]: user must not be empty"),
    ({"user": 1, "password": "p", "project": "x"},
     "identity.accounts[0]: user must be of type str"),
    ({"user": "u", "password": "p", "project": "x", "roles": "member"},
     "identity.accounts[0]: roles must be an array"),
    ({"user": "u", "password": "p", "project": "x", "roles": [1]},
     "identity.accounts[0]: roles[0] must be of type str"),
    ({"user": "u", "password": "p", "project": "x", "roles": ["member", ""]},
     "identity.accounts[0]: roles[1] must not be empty"),
    ({"user": "u", "password": "p", "project": "x", "domain": "d"},
     "unknown key(s) in identity.accounts[0]: domain"),
])
def test_invalid_accounts_are_rejected(tmp_path: Path, account: dict[str, Any],
                                       fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, {"identity": {"accounts": [account]}}))
    assert fragment in str(caught.value)


def test_the_failing_account_is_named_by_index(tmp_path: Path) -> None:
    good = {"user": "u", "password": "p", "project": "x"}
    with pytest.raises(ConfigError, match=r"identity\.accounts\[1\] needs 'password'"):
        load_config(write(tmp_path, {"identity": {"accounts": [good, {"user": "v",
                                                                       "project": "x"}]}}))


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(write_text(tmp_path, "[server\nport = 1\n"))
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(write_text(tmp_path, "[server]\nport = 1\nport = 2\n"))
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(path)


def test_compute_defaults_are_novas() -> None:
    compute = Config().compute
    # unset: nova.conf.compute's False, but True on a one-host QEMU cloud (tests/qemu)
    assert compute.allow_resize_to_same_host is None
    assert compute.resize_confirm_window == 0  # disabled
    assert compute.reclaim_instance_interval == 0
    assert compute.shelved_offload_time == 0  # a shelve offloads at once


@pytest.mark.parametrize("seconds", [-1, -30, 0, 3600])
def test_shelved_offload_time_takes_novas_values(tmp_path: Path, seconds: int) -> None:
    # Nova's IntOpt: negative never offloads, 0 at once, > 0 after that many seconds.
    config = load_config(write(tmp_path, {"compute": {"shelved_offload_time": seconds}}))
    assert config.compute.shelved_offload_time == seconds


def test_compute_overlay(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"compute": {
        "allow_resize_to_same_host": True, "resize_confirm_window": 60,
        "backend": "example", "max_count_per_request": 50,
    }}))
    assert config.compute.allow_resize_to_same_host is True
    assert config.compute.resize_confirm_window == 60
    assert config.compute.reclaim_instance_interval == 0
    assert config.compute.backend == "example"
    assert config.compute.max_count_per_request == 50
    assert config.server == Config().server


def test_qemu_hosts_by_count_or_listed(tmp_path: Path) -> None:
    # one host (the default): named after this machine, as before there were several
    [host] = Config().qemu.hosts
    assert host == QemuHostConfig(socket.gethostname())
    two = load_config(write(tmp_path, {"qemu": {"hosts": 2}})).qemu
    assert [h.name for h in two.hosts] == ["qemu-1", "qemu-2"]
    assert two.host_shares() == [HostShare("qemu-1"), HostShare("qemu-2")]
    listed = load_config(write(tmp_path, {"qemu": {"hosts": [
        {"name": "qemu-a", "vcpus": 2, "memory_mb": 4096}, {"name": "qemu-b"}]}})).qemu
    assert listed.host_shares() == [HostShare("qemu-a", 2, 4096, 0), HostShare("qemu-b")]
    # the backend's factory gets the settings as data and validates them again
    again = TypeAdapter(QemuConfig).validate_python(dataclasses.asdict(listed))
    assert again.hosts == listed.hosts


def test_backend_tables_are_kept_raw(tmp_path: Path) -> None:
    settings = {"endpoint": "https://hv.test", "hosts": [{"name": "a", "vcpus": 4}],
                "retry": {"times": 3, "delay": 0.5}}
    config = load_config(write(tmp_path, {"compute": {"backend": "example"},
                                          "backends": {"example": settings, "other": {}}}))
    assert config.backend_settings == {"example": settings, "other": {}}
    # A loaded config can still be overridden (every section is validated again).
    assert with_overrides(config, port=1234).backend_settings == config.backend_settings


def test_sections_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().server.port = 1  # type: ignore[misc]


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


# -- [simulated] ----------------------------------------------------------------------------


def test_simulated_defaults() -> None:
    from backends.simulated import STAGES
    from emulator.clock import Progression

    simulated = Config().simulated
    assert simulated.progression is Progression.IMMEDIATE
    assert [(z.name, z.hosts) for z in simulated.zones] == [("nova", 4), ("az2", 4)]
    assert (simulated.vcpus, simulated.memory_mb, simulated.local_gb) == (32, 131072, 2000)
    assert (simulated.cpu_allocation_ratio, simulated.ram_allocation_ratio,
            simulated.disk_allocation_ratio) == (4.0, 1.0, 1.0)
    assert simulated.seed is None
    assert simulated.stages == dict(STAGES)


def test_simulated_overlay(tmp_path: Path) -> None:
    from backends.simulated import STAGES, Stage
    from emulator.clock import Progression
    from emulator.config import ZoneConfig

    config = load_config(write(tmp_path, {"simulated": {
        "progression": "manual",
        "vcpus": 8,
        "memory_mb": 16384,
        "local_gb": 100,
        "cpu_allocation_ratio": 16,  # an integer is taken as a float
        "ram_allocation_ratio": 1.5,
        "seed": 42,
        "zones": [{"name": "east", "hosts": 3}, {"name": "west", "hosts": 0}],
        "stages": {"spawn": {"delay": 30.0, "jitter": 0.0}, "destroy": {"fails": True}},
    }}))
    simulated = config.simulated
    assert simulated.progression is Progression.MANUAL
    assert simulated.zones == (ZoneConfig("east", 3), ZoneConfig("west", 0))
    assert (simulated.vcpus, simulated.memory_mb, simulated.local_gb) == (8, 16384, 100)
    assert simulated.cpu_allocation_ratio == 16.0
    assert isinstance(simulated.cpu_allocation_ratio, float)
    assert simulated.ram_allocation_ratio == 1.5
    assert simulated.disk_allocation_ratio == 1.0
    assert simulated.seed == 42
    assert simulated.stages["spawn"] == Stage(delay=30.0, jitter=0.0, fails=False)
    # Keys not given keep the built-in stage's values.
    assert simulated.stages["destroy"] == Stage(delay=STAGES["destroy"].delay,
                                                jitter=STAGES["destroy"].jitter, fails=True)
    assert simulated.stages["pause"] == STAGES["pause"]
    assert config.server == Config().server
    # Overriding a flag validates the loaded sections again and keeps them as they are.
    assert with_overrides(config, port=1234).simulated == simulated


def test_an_empty_zone_list_is_a_cloud_without_hosts(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"simulated": {"zones": []}}))
    assert config.simulated.zones == ()


@pytest.mark.parametrize(("data", "fragment"), [
    ({"progresion": "manual"}, "unknown key(s) in [simulated]: progresion"),
    ({"progression": "fast"}, "progression must be one of immediate, time, manual"),
    ({"progression": 1}, "progression must be one of"),
    ({"vcpus": 0}, "[simulated] vcpus must be positive"),
    ({"memory_mb": -1}, "[simulated] memory_mb must be positive"),
    ({"local_gb": 1.5}, "[simulated] local_gb must be of type int"),
    ({"vcpus": True}, "[simulated] vcpus must be of type int"),
    ({"cpu_allocation_ratio": 0}, "[simulated] cpu_allocation_ratio must be positive"),
    ({"ram_allocation_ratio": float("inf")},
     "[simulated] ram_allocation_ratio must be a finite number"),
    ({"disk_allocation_ratio": float("nan")},
     "[simulated] disk_allocation_ratio must be a finite number"),
    ({"disk_allocation_ratio": "1"}, "must be of type float"),
    ({"seed": "x"}, "[simulated] seed must be of type int"),
    ({"seed": 1.5}, "[simulated] seed must be of type int"),
    ({"seed": False}, "[simulated] seed must be of type int"),
    ({"zones": "nova"}, "[simulated] zones must be an array"),
    ({"zones": ["nova"]}, "simulated.zones[0] must be a table"),
    ({"zones": [{"name": "a"}]}, "simulated.zones[0] needs 'hosts'"),
    ({"zones": [{"name": "a", "hosts": -1}]}, "simulated.zones[0]: hosts must not be negative"),
    ({"zones": [{"name": "a", "hosts": 1.0}]},
     "simulated.zones[0]: hosts must be of type int"),
    ({"zones": [{"hosts": 1}]}, "simulated.zones[0] needs 'name'"),
    ({"zones": [{"name": " ", "hosts": 1}]}, "simulated.zones[0]: name must not be empty"),
    ({"zones": [{"name": "a", "hosts": 1, "vcpus": 2}]},
     "unknown key(s) in simulated.zones[0]: vcpus"),
    ({"zones": [{"name": "a", "hosts": 1}, {"name": "a", "hosts": 2}]},
     "[simulated] zones list zone 'a' more than once"),
    ({"zones": [{"name": "a", "hosts": 100001}]},
     "[simulated] zones must have at most 100000 hosts in all"),
    ({"stages": 1}, "[simulated.stages] must be a table"),
    ({"stages": {"reboot_twice": {"delay": 1}}},
     "unknown key(s) in [simulated.stages]: reboot_twice (known: spawn, destroy,"),
    ({"stages": {"spawn": 1}}, "[simulated.stages.spawn] must be a table"),
    ({"stages": {"spawn": {"delay": "slow"}}},
     "[simulated.stages.spawn] delay must be of type float"),
    ({"stages": {"spawn": {"fails": 1}}}, "[simulated.stages.spawn] fails must be of type bool"),
    ({"stages": {"spawn": {"delay": -1}}}, "[simulated.stages.spawn] delay must not be negative"),
    ({"stages": {"spawn": {"jitter": float("inf")}}},
     "[simulated.stages.spawn] jitter must be a finite number"),
    ({"stages": {"spawn": {"delay": 1, "duration": 2}}},
     "unknown key(s) in [simulated.stages.spawn]: duration"),
])
def test_invalid_simulated_sections_are_rejected(tmp_path: Path, data: dict[str, Any],
                                                 fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, {"simulated": data}))
    assert fragment in str(caught.value)


def test_simulated_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[simulated\] must be a table"):
        load_config(write(tmp_path, {"simulated": 1}))


def test_the_app_builds_its_backend_from_the_simulated_section(tmp_path: Path) -> None:
    from backends.environment import BackendEnvironment
    from backends.simulated import Stage
    from emulator.clock import Clock, Progression
    from emulator.cloud import backend_settings
    from emulator.plugins import create_backend
    from tests.example_backend import NoImages

    def simulated_backend(config: Config, clock: Clock) -> Any:
        return create_backend("simulated", BackendEnvironment(
            settings=backend_settings(config, "simulated"), clock=clock, images=NoImages()))

    config = load_config(write(tmp_path, {"simulated": {
        "progression": "manual",
        "vcpus": 4,
        "ram_allocation_ratio": 2.0,
        "seed": 1,
        "zones": [{"name": "z1", "hosts": 2}, {"name": "z2", "hosts": 3000}],
        "stages": {"spawn": {"delay": 30}},
    }}))
    backend = simulated_backend(config, Clock(config.simulated.progression))
    hosts = backend.hosts()
    assert len(hosts) == 3002
    assert [h.availability_zone for h in hosts[:3]] == ["z1", "z1", "z2"]
    assert {h.vcpus for h in hosts} == {4} and {h.ram_allocation_ratio for h in hosts} == {2.0}
    assert config.simulated.progression is Progression.MANUAL
    assert backend.stages["spawn"] == Stage(delay=30.0, jitter=2.0)
    default = simulated_backend(Config(), Clock())
    assert len(default.hosts()) == 8
    assert Config().simulated.progression is Progression.IMMEDIATE


def test_allow_resize_to_same_host_must_be_a_bool(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, {"compute": {"allow_resize_to_same_host": False}})
                       ).compute.allow_resize_to_same_host is False
    with pytest.raises(ConfigError, match="allow_resize_to_same_host must be of type bool"):
        load_config(write(tmp_path, {"compute": {"allow_resize_to_same_host": "yes"}}))
