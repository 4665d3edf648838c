"""``nova-emulator``: serve the emulator, or print a clouds.yaml for its seeded accounts."""

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

    clouds = sub.add_parser("clouds-yaml", help="print a clouds.yaml for the seeded accounts")
    clouds.add_argument("--config", type=Path, help="TOML configuration file")
    clouds.add_argument("--host")
    clouds.add_argument("--port", type=int)
    clouds.add_argument("--public-url")
    return parser


def _config(args: argparse.Namespace) -> Config:
    return with_overrides(
        load_config(args.config),
        host=args.host,
        port=args.port,
        state=getattr(args, "state", None),
        public_url=args.public_url,
        log_level=getattr(args, "log_level", None),
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
