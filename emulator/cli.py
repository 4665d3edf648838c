"""``nova-emulator``: serve the emulator, print a clouds.yaml for its seeded accounts, or
build the QEMU backend's guest image."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from emulator import __version__
from emulator.config import Config, ConfigError, load_config, with_overrides

#: clouds.yaml entry name -> seeded user it logs in as.
CLOUD_NAMES: dict[str, str] = {
    "nova-emulator": "demo",
    "nova-emulator-admin": "admin",
    "nova-emulator-alt": "alt_demo",
}


def clouds_yaml(config: Config) -> str:
    """A clouds.yaml (YAML is a superset of JSON-style quoting, so no YAML library needed)."""
    by_user = {a.user: a for a in config.accounts}
    lines = ["clouds:"]
    for cloud, user in CLOUD_NAMES.items():
        account = by_user[user]
        lines += [
            f"  {cloud}:",
            "    auth:",
            f'      auth_url: "{config.public_url}/identity/v3"',
            f'      username: "{account.user}"',
            f'      password: "{account.password}"',
            f'      project_name: "{account.project}"',
            '      user_domain_name: "Default"',
            '      project_domain_name: "Default"',
            f'    region_name: "{config.identity.region}"',
            '    interface: "public"',
            "    identity_api_version: 3",
            # Without a network service openstacksdk must not look for floating IPs.
            '    floating_ip_source: "None"',
        ]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nova-emulator", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve every API on one port")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8774)")
    serve.add_argument("--state", help="SQLAlchemy URL of the state (default: in-memory SQLite)")
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.add_argument("--public-url", help="base URL to publish in the service catalog")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--backend", choices=["simulated", "qemu"],
                       help="what runs the servers (default: [compute] backend, simulated)")

    clouds = sub.add_parser("clouds-yaml", help="print a clouds.yaml for the seeded accounts")
    clouds.add_argument("--config", type=Path, help="TOML configuration file")
    clouds.add_argument("--host")
    clouds.add_argument("--port", type=int)
    clouds.add_argument("--public-url")

    guest = sub.add_parser("guest", help="the free guest image of the QEMU backend")
    guest_sub = guest.add_subparsers(dest="guest_command", required=True)
    guest_build = guest_sub.add_parser(
        "build", help="build (or find in the cache) the guest image from Debian packages"
    )
    guest_build.add_argument(
        "--cache", type=Path,
        help="cache directory (default $XDG_CACHE_HOME/nova-emulator/guest)",
    )
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
        backend=getattr(args, "backend", None),
    )


def serve(config: Config) -> None:
    import uvicorn

    from emulator.api.app import build_app

    logging.basicConfig(
        level=config.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    app = build_app(config)
    logging.getLogger("nova_emulator").info(
        "nova-emulator %s serving on %s (state: %s)", __version__, config.public_url,
        config.server.state,
    )
    uvicorn.run(
        app,
        host=config.server.host,
        port=config.server.port,
        log_level=config.server.log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "guest":
        return guest_build(args.cache)
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"nova-emulator: {exc}", file=sys.stderr)
        return 2
    if args.command == "clouds-yaml":
        sys.stdout.write(clouds_yaml(config))
        return 0
    serve(config)
    return 0
