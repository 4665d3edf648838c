"""The commands that act on a running emulator through its control plane, and
``config show``: ``reset``, ``snapshot save FILE``, ``snapshot load FILE``.

Each logs in as the seeded admin of ``--config`` (or ``--username``/``--password``) at
``--url`` (default: the configuration's public URL) and makes one control-plane call
(``emulator.testing.ControlPlane``); a refusal or an unreachable emulator exits 1 with
one line on stderr, a usage error 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from emulator.config import Config, ConfigError, load_config

#: The seeded cloud whose account a remote command logs in as by default.
ADMIN_CLOUD = "nova-emulator-admin"


def add_remote_arguments(command: argparse.ArgumentParser) -> None:
    """``--url``, ``--config`` and the account to log in as."""
    command.add_argument("--url", help="the emulator's base URL (default: its public URL "
                                       "from --config, http://127.0.0.1:8774)")
    command.add_argument("--config", type=Path, help="TOML configuration file (for the "
                                                     "URL and the seeded admin account)")
    command.add_argument("--username", help="log in as this user (default: the seeded admin)")
    command.add_argument("--password")
    command.add_argument("--project", help="project to scope to (default: the user's)")


def add_parsers(sub: Any) -> None:
    reset = sub.add_parser(
        "reset", help="destroy and forget every server and fault rule of a running emulator")
    add_remote_arguments(reset)
    reset.add_argument("--mode", choices=["immediate", "time", "manual"],
                       help="simulated backend only: the clock's progression afterwards")

    snapshot = sub.add_parser("snapshot", help="save a running emulator's whole cloud to a "
                                               "file, or load one into it")
    snapshot_sub = snapshot.add_subparsers(dest="snapshot_command", required=True)
    for name, text in (("save", "write the cloud to FILE (a gzipped tar)"),
                       ("load", "replace the cloud with the one FILE holds")):
        command = snapshot_sub.add_parser(name, help=text)
        command.add_argument("file", type=Path, metavar="FILE")
        add_remote_arguments(command)



def _control(args: argparse.Namespace) -> tuple[Any, str] | int:
    """The control plane the arguments name, and its URL (or an exit status)."""
    from emulator.cli import CLOUD_NAMES
    from emulator.testing import Account, ControlPlane

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 2
    admin = {a.user: a for a in config.accounts}[CLOUD_NAMES[ADMIN_CLOUD]]
    username = args.username or admin.user
    password = args.password if args.password is not None else (
        admin.password if username == admin.user else None)
    if password is None:
        print("nova-emulator: --password is needed with --username", file=sys.stderr)
        return 2
    project = args.project or (admin.project if username == admin.user else username)
    url = (args.url or config.public_url).rstrip("/")
    account = Account(f"{url}/identity/v3", username, password, project,
                      config.identity.region)
    return ControlPlane(url, account), url


def run(args: argparse.Namespace) -> int:
    """``reset`` or ``snapshot save|load``."""
    from emulator.testing import ControlPlaneError, LoginFailed

    found = _control(args)
    if isinstance(found, int):
        return found
    control, url = found
    what = "reset" if args.command == "reset" else f"snapshot {args.snapshot_command}"
    try:
        if args.command == "reset":
            control.reset(args.mode)
            done = f"nova-emulator at {url} reset"
        elif args.snapshot_command == "save":
            control.save_snapshot(args.file)
            done = f"snapshot of {url} saved to {args.file} ({args.file.stat().st_size} bytes)"
        else:
            if not args.file.is_file():
                print(f"nova-emulator: no snapshot file {args.file}", file=sys.stderr)
                return 2
            control.load_snapshot(args.file)
            done = f"snapshot {args.file} loaded into {url}"
    except LoginFailed as exc:
        print(f"nova-emulator: login as {control.admin.username} failed: {exc}",
              file=sys.stderr)
        return 1
    except ControlPlaneError as exc:
        print(f"nova-emulator: {what} failed: {exc}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"nova-emulator: cannot reach {url}: {exc}", file=sys.stderr)
        return 1
    print(done)
    return 0


def _toml_value(value: Any) -> str:
    """A TOML value (None has none: its key is left out by the caller)."""
    if isinstance(value, str | int | float | bool):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                           for k, v in value.items() if v is not None) + "}"


def _toml_lines(table: dict[str, Any]) -> list[str]:
    return [f"{key} = {_toml_value(value)}" if value is not None else f"# {key}: unset"
            for key, value in table.items()]


def config_dump(config: Config) -> dict[str, Any]:
    """The configuration as JSON values, by the names of the file's tables and keys."""
    dumped: dict[str, Any] = TypeAdapter(Config).dump_python(config, mode="json",
                                                               by_alias=True)
    return dumped


def config_text(config: Config) -> str:
    """The configuration as ``[section]`` tables of ``key = value`` lines (secrets too:
    they are the seeded accounts' well-known passwords or the user's own file's)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    top: dict[str, Any] = {}
    for key, value in config_dump(config).items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            top[key] = value
    lines += _toml_lines(top)
    for name, table in tables:
        lines += ["", f"[{name}]", *_toml_lines(table)]
    return "\n".join(lines).lstrip("\n") + "\n"


def config_show(config: Config, as_json: bool) -> int:
    if as_json:
        print(json.dumps(config_dump(config), indent=2))
    else:
        sys.stdout.write(config_text(config))
    return 0
