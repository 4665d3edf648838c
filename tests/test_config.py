"""Configuration: defaults, the TOML overlay, strictness about what it accepts, accounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.config import (
    SEEDED_ACCOUNTS,
    Account,
    Config,
    ConfigError,
    load_config,
    with_overrides,
)


def write(tmp_path: Path, text: str) -> Path:
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


def test_seeded_accounts() -> None:
    by_user = {a.user: a for a in Config().accounts}
    assert set(by_user) == {"admin", "demo", "alt_demo"}
    assert by_user["admin"].roles == ("admin",)
    assert by_user["demo"] == Account("demo", "demo", "demo", ("member",))
    assert by_user["alt_demo"].project == "alt_demo"


def test_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")) == Config()


# -- overlay ------------------------------------------------------------------------------


def test_overlay_keeps_unset_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
[server]
port = 9000
state = "sqlite:////tmp/x.db"

[identity]
region = "RegionTwo"
"""))
    assert config.server.port == 9000
    assert config.server.state == "sqlite:////tmp/x.db"
    assert config.server.host == "127.0.0.1"
    assert config.identity.region == "RegionTwo"
    assert config.identity.token_ttl_seconds == 3600


def test_accounts_are_added_to_the_seeded_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
[[identity.accounts]]
user = "demo1-member"
password = "secret"
project = "demo1"
roles = ["member", "reader"]

[[identity.accounts]]
user = "demo1-default"
password = "p"
project = "demo1"
"""))
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
    config = load_config(write(tmp_path, '[server]\npublic_url = "https://cloud.test:443/"\n'))
    assert config.public_url == "https://cloud.test:443"


def test_overrides_ignore_none_and_touch_only_the_server() -> None:
    base = Config()
    config = with_overrides(base, host=None, port=1234, state=None, public_url=None)
    assert config.server.port == 1234
    assert config.server.host == base.server.host
    assert config.identity == base.identity


# -- strictness ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "fragment"), [
    ("[database]\nurl = 'x'\n", "unknown section(s): database"),
    ("title = 'x'\n", "unknown section(s): title"),
    ("[server]\nprot = 1\n", "unknown key(s) in [server]: prot"),
    ("[identity]\nregoin = 'x'\n", "unknown key(s) in [identity]: regoin"),
    ("[server]\nport = '8774'\n", "[server] port must be of type int"),
    ("[server]\nport = 87.74\n", "[server] port must be of type int"),
    ("[server]\nport = true\n", "[server] port must be of type int"),
    ("[server]\nhost = 127\n", "[server] host must be of type str"),
    ("[server]\nhost = 1979-05-27\n", "[server] host must be of type str"),
    ("[server]\nmax_request_body_bytes = false\n", "must be of type int"),
    ("[identity]\ntoken_ttl_seconds = '1h'\n", "[identity] token_ttl_seconds must be of type int"),
    ("[identity]\ntoken_ttl_seconds = 0\n", "token_ttl_seconds must be positive"),
    ("[identity]\ntoken_ttl_seconds = -5\n", "token_ttl_seconds must be positive"),
    ("[server]\nport = 70000\n", "port must be between 0 and 65535"),
    ("[server]\nport = -1\n", "port must be between 0 and 65535"),
    ("[server]\nmax_request_body_bytes = 0\n", "max_request_body_bytes must be positive"),
    ("[server]\nlog_level = 'INFO'\n", "log_level must be one of"),
    ("[server]\nlog_level = 'verbose'\n", "log_level must be one of"),
    ("server = 5\n", "[server] must be a table"),
    ("identity = 'x'\n", "[identity] must be a table"),
    ("[identity]\naccounts = 'x'\n", "identity.accounts must be an array of tables"),
    ("[identity]\naccounts = ['x']\n", "identity.accounts[0] must be a table"),
    ("[image]\nsize_cap_bytes = 0\n", "[image] size_cap_bytes must be positive"),
    ("[image]\nrequire_format_match = 'yes'\n", "must be of type bool"),
    ("[image]\nrequire_format_match = 1\n", "must be of type bool"),
    ("[image]\nstore = 5\n", "[image] store must be of type str"),
    ("[image]\nbucket = 'x'\n", "unknown key(s) in [image]: bucket"),
    ("[compute]\nallow_resize_to_same_host = 1\n", "must be of type bool"),
    ("[compute]\nallow_resize_to_same_host = 'true'\n", "must be of type bool"),
    ("[compute]\nresize_confirm_window = -1\n", "resize_confirm_window must not be negative"),
    ("[compute]\nresize_confirm_window = 1.5\n",
     "[compute] resize_confirm_window must be of type int"),
    ("[compute]\nresize_confirm_windows = 1\n",
     "unknown key(s) in [compute]: resize_confirm_windows"),
])
def test_invalid_files_are_rejected(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert fragment in str(caught.value)


@pytest.mark.parametrize(("account", "fragment"), [
    ('user = "u"\npassword = "p"\n', "needs 'project'"),
    ('password = "p"\nproject = "x"\n', "needs 'user'"),
    ('user = "u"\nproject = "x"\n', "needs 'password'"),
    ('user = ""\npassword = "p"\nproject = "x"\n', "must be non-empty strings"),
    ('user = 1\npassword = "p"\nproject = "x"\n', "must be non-empty strings"),
    ('user = "u"\npassword = "p"\nproject = "x"\nroles = "member"\n', "roles must be a list"),
    ('user = "u"\npassword = "p"\nproject = "x"\nroles = [1]\n', "roles must be a list"),
    ('user = "u"\npassword = "p"\nproject = "x"\nroles = [""]\n', "roles must be a list"),
    ('user = "u"\npassword = "p"\nproject = "x"\ndomain = "d"\n',
     "unknown key(s) in identity.accounts[0]: domain"),
])
def test_invalid_accounts_are_rejected(tmp_path: Path, account: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, f"[[identity.accounts]]\n{account}"))
    assert fragment in str(caught.value)


def test_the_failing_account_is_named_by_index(tmp_path: Path) -> None:
    good = 'user = "u"\npassword = "p"\nproject = "x"\n'
    text = f"[[identity.accounts]]\n{good}\n[[identity.accounts]]\nuser = 'v'\n"
    with pytest.raises(ConfigError, match=r"identity\.accounts\[1\]"):
        load_config(write(tmp_path, text))


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(write(tmp_path, "[server\nport = 1\n"))
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(write(tmp_path, "[server]\nport = 1\nport = 2\n"))


def test_compute_defaults_are_novas() -> None:
    compute = Config().compute
    # unset: nova.conf.compute's False, but True on a one-host QEMU cloud (tests/qemu)
    assert compute.allow_resize_to_same_host is None
    assert compute.resize_confirm_window == 0  # disabled
    assert compute.reclaim_instance_interval == 0


def test_compute_overlay(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
[compute]
allow_resize_to_same_host = true
resize_confirm_window = 60
"""))
    assert config.compute.allow_resize_to_same_host is True
    assert config.compute.resize_confirm_window == 60
    assert config.compute.reclaim_instance_interval == 0
    assert config.server == Config().server


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

    config = load_config(write(tmp_path, """
[simulated]
progression = "manual"
vcpus = 8
memory_mb = 16384
local_gb = 100
cpu_allocation_ratio = 16      # an integer is taken as a float
ram_allocation_ratio = 1.5
seed = 42

[[simulated.zones]]
name = "east"
hosts = 3

[[simulated.zones]]
name = "west"
hosts = 0

[simulated.stages.spawn]
delay = 30.0
jitter = 0.0

[simulated.stages.destroy]
fails = true
"""))
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
    assert config.server == Config().server


def test_an_empty_zone_list_is_a_cloud_without_hosts(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[simulated]\nzones = []\n"))
    assert config.simulated.zones == ()


@pytest.mark.parametrize(("text", "fragment"), [
    ("[simulated]\nprogresion = 'manual'\n", "unknown key(s) in [simulated]: progresion"),
    ("[simulated]\nprogression = 'fast'\n", "progression must be one of immediate, time, manual"),
    ("[simulated]\nprogression = 1\n", "progression must be one of"),
    ("simulated = 1\n", "[simulated] must be a table"),
    ("[simulated]\nvcpus = 0\n", "[simulated] vcpus must be positive"),
    ("[simulated]\nmemory_mb = -1\n", "[simulated] memory_mb must be positive"),
    ("[simulated]\nlocal_gb = 1.5\n", "[simulated] local_gb must be of type int"),
    ("[simulated]\nvcpus = true\n", "[simulated] vcpus must be of type int"),
    ("[simulated]\ncpu_allocation_ratio = 0\n", "cpu_allocation_ratio must be a positive number"),
    ("[simulated]\nram_allocation_ratio = inf\n", "ram_allocation_ratio must be a positive"),
    ("[simulated]\ndisk_allocation_ratio = nan\n", "disk_allocation_ratio must be a positive"),
    ("[simulated]\ndisk_allocation_ratio = '1'\n", "must be of type float"),
    ("[simulated]\nseed = 'x'\n", "[simulated] seed must be of type int"),
    ("[simulated]\nseed = 1.5\n", "[simulated] seed must be of type int"),
    ("[simulated]\nseed = false\n", "[simulated] seed must be of type int"),
    ("[simulated]\nzones = 'nova'\n", "simulated.zones must be an array of tables"),
    ("[simulated]\nzones = ['nova']\n", "simulated.zones[0] must be a table"),
    ("[[simulated.zones]]\nname = 'a'\n", "simulated.zones[0]: hosts must be an integer >= 0"),
    ("[[simulated.zones]]\nname = 'a'\nhosts = -1\n", "hosts must be an integer >= 0"),
    ("[[simulated.zones]]\nname = 'a'\nhosts = 1.0\n", "hosts must be an integer >= 0"),
    ("[[simulated.zones]]\nhosts = 1\n", "simulated.zones[0]: name must be a non-empty string"),
    ("[[simulated.zones]]\nname = ' '\nhosts = 1\n", "name must be a non-empty string"),
    ("[[simulated.zones]]\nname = 'a'\nhosts = 1\nvcpus = 2\n",
     "unknown key(s) in simulated.zones[0]: vcpus"),
    ("[[simulated.zones]]\nname = 'a'\nhosts = 1\n[[simulated.zones]]\nname = 'a'\nhosts = 2\n",
     "simulated.zones[1]: zone 'a' is listed twice"),
    ("[[simulated.zones]]\nname = 'a'\nhosts = 100001\n", "at most 100000 hosts in all"),
    ("[simulated]\nstages = 1\n", "[simulated.stages] must be a table"),
    ("[simulated.stages.reboot_twice]\ndelay = 1\n",
     "unknown verb(s) in [simulated.stages]: reboot_twice"),
    ("[simulated.stages]\nspawn = 1\n", "[simulated.stages.spawn] must be a table"),
    ("[simulated.stages.spawn]\ndelay = 'slow'\n",
     "[simulated.stages.spawn] delay must be of type float"),
    ("[simulated.stages.spawn]\nfails = 1\n",
     "[simulated.stages.spawn] fails must be of type bool"),
    ("[simulated.stages.spawn]\ndelay = -1\n", "delay must be a finite number >= 0"),
    ("[simulated.stages.spawn]\njitter = inf\n", "jitter must be a finite number >= 0"),
    ("[simulated.stages.spawn]\ndelay = 1\nduration = 2\n",
     "unknown key(s) in [simulated.stages.spawn]: duration"),
])
def test_invalid_simulated_sections_are_rejected(tmp_path: Path, text: str,
                                                 fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert fragment in str(caught.value)


def test_the_app_builds_its_backend_from_the_simulated_section(tmp_path: Path) -> None:
    from backends.simulated import Stage
    from emulator.api.app import simulated_backend
    from emulator.clock import Clock, Progression

    config = load_config(write(tmp_path, """
[simulated]
progression = "manual"
vcpus = 4
ram_allocation_ratio = 2.0
seed = 1

[[simulated.zones]]
name = "z1"
hosts = 2

[[simulated.zones]]
name = "z2"
hosts = 3000

[simulated.stages.spawn]
delay = 30
"""))
    backend = simulated_backend(config.simulated, Clock(config.simulated.progression))
    hosts = backend.hosts()
    assert len(hosts) == 3002
    assert [h.availability_zone for h in hosts[:3]] == ["z1", "z1", "z2"]
    assert {h.vcpus for h in hosts} == {4} and {h.ram_allocation_ratio for h in hosts} == {2.0}
    assert config.simulated.progression is Progression.MANUAL
    assert backend.stages["spawn"] == Stage(delay=30.0, jitter=2.0)
    default = simulated_backend(Config().simulated, Clock())
    assert len(default.hosts()) == 8
    assert Config().simulated.progression is Progression.IMMEDIATE


def test_allow_resize_to_same_host_must_be_a_bool(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "[compute]\nallow_resize_to_same_host = false\n")
                       ).compute.allow_resize_to_same_host is False
    with pytest.raises(ConfigError, match="allow_resize_to_same_host must be of type bool"):
        load_config(write(tmp_path, '[compute]\nallow_resize_to_same_host = "yes"\n'))
