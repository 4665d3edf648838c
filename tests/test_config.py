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


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
