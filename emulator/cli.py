"""``nova-emulator``: serve the emulator, print a clouds.yaml for its seeded accounts,
reset a running emulator, build the QEMU backend's guest image, or benchmark placement and
the rate limiter."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from emulator import __version__
from emulator.bench import options as bench
from emulator.config import LOG_LEVELS, Config, ConfigError, load_config, with_overrides

#: clouds.yaml entry name -> seeded user it logs in as.
CLOUD_NAMES: dict[str, str] = {
    "nova-emulator": "demo",
    "nova-emulator-admin": "admin",
    "nova-emulator-alt": "alt_demo",
}
#: The seeded account ``reset`` logs in as unless told otherwise.
ADMIN_CLOUD = "nova-emulator-admin"
#: Seconds ``reset`` waits for the emulator (a real backend stops every guest first).
RESET_TIMEOUT = 600.0
def clouds_yaml(config: Config) -> str:
    """A clouds.yaml with one cloud per seeded account, in the order of ``CLOUD_NAMES``."""
    by_user = {a.user: a for a in config.accounts}
    clouds = {
        cloud: {
            "auth": {
                "auth_url": f"{config.public_url}/identity/v3",
                "username": by_user[user].user,
                "password": by_user[user].password,
                "project_name": by_user[user].project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": config.identity.region,
            "interface": "public",
            "identity_api_version": 3,
            # Without a network service openstacksdk must not look for floating IPs.
            "floating_ip_source": "None",
        }
        for cloud, user in CLOUD_NAMES.items()
    }
    return yaml.safe_dump({"clouds": clouds}, sort_keys=False, allow_unicode=True)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (exit status 2 as argparse's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nova-emulator", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve every API on one port")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8774)")
    serve.add_argument("--state", help="SQLAlchemy URL of the state (default: in-memory SQLite)")
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.add_argument("--public-url", help="base URL to publish in the service catalog")
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="default info")
    serve.add_argument("--backend", help="the registered backend that runs the servers: "
                                         "simulated, qemu or a plug-in's (default: "
                                         "[compute] backend, simulated)")

    clouds = sub.add_parser("clouds-yaml", help="print a clouds.yaml for the seeded accounts")
    clouds.add_argument("--config", type=Path, help="TOML configuration file")
    clouds.add_argument("--host")
    clouds.add_argument("--port", type=int)
    clouds.add_argument("--public-url")

    reset = sub.add_parser(
        "reset", help="destroy and forget every server and fault rule of a running emulator")
    reset.add_argument("--url", help="the emulator's base URL (default: its public URL "
                                     "from --config, http://127.0.0.1:8774)")
    reset.add_argument("--config", type=Path, help="TOML configuration file (for the URL "
                                                   "and the seeded admin account)")
    reset.add_argument("--username", help="log in as this user (default: the seeded admin)")
    reset.add_argument("--password")
    reset.add_argument("--project", help="project to scope to (default: the user's)")
    reset.add_argument("--mode", choices=["immediate", "time", "manual"],
                       help="simulated backend only: the clock's progression afterwards")

    guest = sub.add_parser("guest", help="the free guest image of the QEMU backend")
    guest_sub = guest.add_subparsers(dest="guest_command", required=True)
    guest_build = guest_sub.add_parser(
        "build", help="build (or find in the cache) the guest image from Debian packages"
    )
    guest_build.add_argument(
        "--cache", type=Path,
        help="cache directory (default $XDG_CACHE_HOME/nova-emulator/guest)",
    )
    bench.add_parser(sub)
    return parser


def _progress_bar(message: str, fraction: float) -> None:
    """A one-line text progress bar on stderr (redrawn on a terminal, one line per step else)."""
    width = 30
    filled = round(width * max(0.0, min(1.0, fraction)))
    line = f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {message}"
    if sys.stderr.isatty():
        end = "\n" if fraction >= 1.0 else ""
        sys.stderr.write(f"\r\x1b[K{line}{end}")
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def guest_build(cache: Path | None) -> int:
    from backends.base import BackendError
    from backends.qemu.guest import build_guest, default_cache_dir

    try:
        image = build_guest(cache or default_cache_dir(), progress=_progress_bar)
    except BackendError as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 1
    print(f"version:    {image.version}")
    print(f"vmlinux:    {image.vmlinux}")
    print(f"initramfs:  {image.initramfs}")
    print(f"base_qcow2: {image.base_qcow2}")
    return 0


class ResetFailed(Exception):
    """What the emulator (or the way to it) answered instead of a reset."""


def _post(url: str, body: dict[str, Any] | None, token: str | None = None,
          timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    """POST JSON; (status, headers, body), for errors too; ``ResetFailed`` if unreachable."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()
    except (urllib.error.URLError, OSError) as err:
        raise ResetFailed(f"cannot reach {url}: {err}") from err


def _message(status: int, raw: bytes) -> str:
    """The message of a Nova or Keystone fault body, else the raw text."""
    try:
        body = json.loads(raw)
        inner = next(iter(body.values()))
        return f"{status}: {inner['message']}"
    except (ValueError, StopIteration, TypeError, KeyError, AttributeError):
        return f"{status}: {raw.decode(errors='replace').strip()}"


def reset_emulator(url: str, username: str, password: str, project: str,
                   mode: str | None = None) -> None:
    """Log in to the emulator at ``url`` and ``POST /_emulator/reset``."""
    url = url.rstrip("/")
    auth = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": username, "password": password, "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    status, headers, raw = _post(f"{url}/identity/v3/auth/tokens", auth)
    token = {k.lower(): v for k, v in headers.items()}.get("x-subject-token")
    if status != 201 or token is None:
        raise ResetFailed(f"login as {username} failed: {_message(status, raw)}")
    status, _, raw = _post(f"{url}/_emulator/reset", {"mode": mode} if mode else None,
                           token, timeout=RESET_TIMEOUT)
    if status != 204:
        raise ResetFailed(f"reset failed: {_message(status, raw)}")


def reset(args: argparse.Namespace) -> int:
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
    url = args.url or config.public_url
    try:
        reset_emulator(url, username, password, project, args.mode)
    except ResetFailed as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 1
    print(f"nova-emulator at {url} reset")
    return 0


def _config(args: argparse.Namespace) -> Config:
    return with_overrides(
        load_config(args.config),
        host=args.host,
        port=args.port,
        state=getattr(args, "state", None),
        public_url=args.public_url,
        log_level=getattr(args, "log_level", None),
        backend=getattr(args, "backend", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "guest":
        return guest_build(args.cache)
    if args.command == "reset":
        return reset(args)
    if args.command == "bench" and args.bench_command == "ratelimit":
        from emulator.bench.ratelimit.command import run as run_ratelimit

        return run_ratelimit(args)
    if args.command == "bench":
        from emulator.bench.command import run

        return run(args)
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 2
    if args.command == "clouds-yaml":
        sys.stdout.write(clouds_yaml(config))
        return 0
    from emulator.serving import serve

    try:
        return serve(config)
    except ConfigError as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 2
