"""The command line: clouds.yaml through a YAML library, one clear line (exit status 2) for
every bad value, and a "listening" line logged only once requests are answered."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openstack.config.loader
import pytest
import tomli_w
import yaml

from conformance.process import free_port
from emulator.cli import CLOUD_NAMES, clouds_yaml, main
from emulator.config import Config, load_config, with_overrides

# -- clouds-yaml ----------------------------------------------------------------------------

#: A region and a URL that broke the hand-written YAML: quotes, a backslash, a colon, '#'.
AWKWARD_REGION = 'Region "One" \\ #1: it\'s'
AWKWARD_URL = 'http://cloud.test:8774/a"b\\c #d'


def test_clouds_yaml_lists_each_seeded_account_with_todays_keys_in_order() -> None:
    clouds = yaml.safe_load(clouds_yaml(Config()))["clouds"]
    assert list(clouds) == list(CLOUD_NAMES)
    for cloud, user in CLOUD_NAMES.items():
        entry = clouds[cloud]
        assert list(entry) == ["auth", "region_name", "interface", "identity_api_version",
                               "floating_ip_source"]
        assert list(entry["auth"]) == ["auth_url", "username", "password", "project_name",
                                       "user_domain_name", "project_domain_name"]
        assert entry["auth"]["username"] == user
        assert entry["auth"]["auth_url"] == "http://127.0.0.1:8774/identity/v3"
        assert entry["region_name"] == "RegionOne"
        assert entry["identity_api_version"] == 3
        assert entry["floating_ip_source"] == "None"  # a string: openstacksdk's "no FIPs"


def _awkward_config(tmp_path: Path) -> Config:
    path = tmp_path / "emulator.toml"
    path.write_text(tomli_w.dumps({
        "identity": {"region": AWKWARD_REGION, "accounts": [
            {"user": "u", "password": 'p"w\\d: #x', "project": "p"}]},
    }), encoding="utf-8")
    return with_overrides(load_config(path), public_url=AWKWARD_URL)


def test_clouds_yaml_quotes_whatever_the_values_hold(tmp_path: Path) -> None:
    config = _awkward_config(tmp_path)
    clouds = yaml.safe_load(clouds_yaml(config))["clouds"]
    for cloud in CLOUD_NAMES:
        assert clouds[cloud]["auth"]["auth_url"] == f"{AWKWARD_URL}/identity/v3"
        assert clouds[cloud]["region_name"] == AWKWARD_REGION


def test_openstacksdk_reads_the_clouds_yaml(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config_path = tmp_path / "emulator.toml"
    config_path.write_text(tomli_w.dumps({"identity": {"region": AWKWARD_REGION}}),
                           encoding="utf-8")
    assert main(["clouds-yaml", "--config", str(config_path), "--public-url", AWKWARD_URL]) == 0
    clouds_path = tmp_path / "clouds.yaml"
    clouds_path.write_text(capsys.readouterr().out, encoding="utf-8")
    loader = openstack.config.loader.OpenStackConfig(
        config_files=[str(clouds_path)], vendor_files=[], secure_files=[], load_envvars=False)
    for cloud, user in CLOUD_NAMES.items():
        region = loader.get_one(cloud=cloud)
        assert region.config["auth"]["auth_url"] == f"{AWKWARD_URL}/identity/v3"
        assert region.config["auth"]["username"] == user
        assert region.region_name == AWKWARD_REGION


# -- bad values: one line on stderr, exit status 2 ----------------------------------------


def nova_emulator(*args: str, preamble: str = "") -> subprocess.CompletedProcess[str]:
    """``python -m emulator ARGS`` (after ``preamble``, Python run first), to its end."""
    if preamble:
        cmd = [sys.executable, "-c",
               f"{preamble}\nfrom emulator.cli import main\nraise SystemExit(main())", *args]
    else:
        cmd = [sys.executable, "-m", "emulator", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)


def assert_one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert (result.returncode, result.stderr) == (2, f"nova-emulator: {expected}\n")


@pytest.mark.parametrize(("args", "expected"), [
    (["--port", "99999"], "--port must be at most 65535"),
    (["--port", "-1"], "--port must be at least 1"),
    (["--port", "0"], "--port must be at least 1"),
    (["--state", "nonsense"],
     "--state must be a database URL (sqlite:// for memory, sqlite:////path/to/state.db or "
     "postgresql://user:password@host/db), not 'nonsense'"),
    (["--state", "mysql://user@127.0.0.1/db"],
     "--state must be a sqlite:// or postgresql:// URL, not mysql://"),
    (["--backend", ""], "--backend must not be empty"),
])
def test_bad_flags_are_one_line(args: list[str], expected: str) -> None:
    assert_one_line(nova_emulator("serve", *args), expected)


def test_argparse_errors_are_one_line_too() -> None:
    result = nova_emulator("serve", "--port", "eighty")
    assert result.returncode == 2
    assert result.stderr == ("nova-emulator serve: argument --port: invalid int value: "
                             "'eighty' (see nova-emulator serve --help)\n")


def test_a_bad_config_file_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text(tomli_w.dumps({"server": {"port": 70000}}), encoding="utf-8")
    assert_one_line(nova_emulator("serve", "--config", str(path)),
                    f"{path}: [server] port must be at most 65535")


def test_a_state_in_a_missing_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/state.db"
    assert_one_line(nova_emulator("serve", "--port", str(free_port()), "--state", url),
                    f"cannot open the state database {url}: unable to open database file")


def test_a_postgresql_nobody_answers_is_named_without_its_password() -> None:
    port = free_port()  # nothing listens there
    result = nova_emulator("serve", "--port", str(free_port()), "--state",
                           f"postgresql://user:s3cret@127.0.0.1:{port}/db")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "s3cret" not in result.stderr
    assert lines[0].startswith(f"nova-emulator: cannot open the state database "
                               f"postgresql://user:***@127.0.0.1:{port}/db: ")
    assert "Connection refused" in lines[0]


def test_postgresql_without_its_driver_says_which_extra_to_install() -> None:
    """No psycopg (``None`` in sys.modules makes its import fail as if not installed)."""
    port = free_port()
    result = nova_emulator("serve", "--state", f"postgresql://user@127.0.0.1:{port}/db",
                           preamble="import sys; sys.modules['psycopg'] = None")
    assert_one_line(result, f"cannot open the state database postgresql://user@127.0.0.1:"
                            f"{port}/db: no database driver 'psycopg': install "
                            "nova-emulator[postgresql]")


def test_postgresql_urls_use_psycopg_3() -> None:
    from emulator.db import make_engine

    engine = make_engine("postgresql://user@127.0.0.1:1/db")
    assert engine.url.drivername == "postgresql+psycopg"
    # An explicit driver is the user's choice.
    assert make_engine("postgresql+psycopg://u@h/db").url.drivername == "postgresql+psycopg"


def test_a_taken_port_is_one_line_and_never_claims_to_listen() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = nova_emulator("serve", "--port", str(port))
    assert_one_line(result, f"cannot listen on 127.0.0.1:{port}: address already in use")


# -- the "listening" line -----------------------------------------------------------------


Started = list[subprocess.Popen[bytes]]


@pytest.fixture
def serve_log(tmp_path: Path) -> Iterator[tuple[Started, Path]]:
    """Processes the test starts (killed at its end if still running), and a log file."""
    started: Started = []
    yield started, tmp_path / "serve.log"
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_listening_is_logged_once_requests_are_answered(
        serve_log: tuple[Started, Path]) -> None:
    started, log_path = serve_log
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve", "--port", str(port),
             "--public-url", "http://cloud.test:1234/"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    started.append(proc)
    expected = (f"listening on 127.0.0.1:{port} (public URL http://cloud.test:1234, "
                "state sqlite://, backend simulated)")
    deadline = time.monotonic() + 60
    while expected not in log_path.read_text(errors="replace"):
        assert proc.poll() is None, log_path.read_text(errors="replace")
        assert time.monotonic() < deadline, log_path.read_text(errors="replace")
        time.sleep(0.01)
    # The line is out: the port answers at once, with no retry.
    assert httpx.get(f"http://127.0.0.1:{port}/identity/v3", timeout=10).status_code == 200
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert proc.wait(timeout=30) == 0
    text = log_path.read_text()
    assert text.count("listening on") == 1
    assert "Traceback" not in text


def test_sigterm_stops_it(serve_log: tuple[Started, Path]) -> None:
    started, log_path = serve_log
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    started.append(proc)
    deadline = time.monotonic() + 60
    while "listening on" not in log_path.read_text(errors="replace"):
        assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM
    assert "Application shutdown complete" in log_path.read_text()


def test_a_state_of_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    from sqlalchemy import text

    from emulator import schema
    from emulator.db import Database

    url = f"sqlite:///{tmp_path}/state.db"
    db = Database(url)
    with db.writing() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0042'"))
    db.close()
    assert_one_line(nova_emulator("serve", "--port", str(free_port()), "--state", url),
                    f"cannot open the state database {url}: its schema is at revision "
                    f"'0042', which this nova-emulator does not know (its newest is "
                    f"'{schema.head()}'): a newer nova-emulator made it; run that one, or "
                    "start on another state")
