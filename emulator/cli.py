"""``nova-emulator``: serve the emulator, print a clouds.yaml for its seeded accounts or
the effective configuration, reset a running emulator or save and load its cloud, build the
QEMU backend's guest image, or benchmark placement and the rate limiter."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import yaml

from emulator import __version__, cli_remote
from emulator.bench import options as bench
from emulator.config import LOG_LEVELS, Config, ConfigError, load_config, with_overrides

#: clouds.yaml entry name -> seeded user it logs in as.
CLOUD_NAMES: dict[str, str] = {
    "nova-emulator": "demo",
    "nova-emulator-admin": "admin",
    "nova-emulator-alt": "alt_demo",
}

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


def serve_arguments(command: argparse.ArgumentParser) -> None:
    """What ``serve`` (and ``config show``) take besides the configuration file."""
    command.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    command.add_argument("--port", type=int, help="port to listen on (default 8774)")
    command.add_argument("--state",
                         help="SQLAlchemy URL of the state (default: in-memory SQLite)")
    command.add_argument("--config", type=Path, help="TOML configuration file")
    command.add_argument("--public-url", help="base URL to publish in the service catalog")
    command.add_argument("--log-level", choices=LOG_LEVELS, help="default info")
    command.add_argument("--workers", type=int,
                         help="API worker processes on the port (default 1; more need a "
                              "PostgreSQL --state)")
    command.add_argument("--backend", help="the registered backend that runs the servers: "
                                           "simulated, qemu or a plug-in's (default: "
                                           "[compute] backend, simulated)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nova-emulator", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve every API on one port")
    serve_arguments(serve)
    clouds = sub.add_parser("clouds-yaml", help="print a clouds.yaml for the seeded accounts")
    clouds.add_argument("--config", type=Path, help="TOML configuration file")
    clouds.add_argument("--host")
    clouds.add_argument("--port", type=int)
    clouds.add_argument("--public-url")

    cli_remote.add_parsers(sub)
    config = sub.add_parser("config", help="the effective configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser(
        "show", help="print the configuration serve would run with (the file, the defaults, "
                     "the flags)")
    serve_arguments(show)
    show.add_argument("--json", action="store_true", help="JSON rather than TOML")
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


def _config(args: argparse.Namespace) -> Config:
    return with_overrides(
        load_config(args.config),
        host=args.host,
        port=args.port,
        state=getattr(args, "state", None),
        public_url=args.public_url,
        log_level=getattr(args, "log_level", None),
        workers=getattr(args, "workers", None),
        backend=getattr(args, "backend", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "guest":
        return guest_build(args.cache)
    if args.command in ("reset", "snapshot"):
        return cli_remote.run(args)
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
    if args.command == "config":
        return cli_remote.config_show(config, args.json)
    from emulator.serving import serve

    try:
        return serve(config)
    except ConfigError as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 2
