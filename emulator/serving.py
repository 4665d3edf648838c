"""``nova-emulator serve``: the state database checked, the port bound, then the app served.

Every start-up failure a user can cause (a database that cannot be opened or reached, its
driver missing, a port taken) is a ``ConfigError``: one line, exit status 2. The
"listening" line is logged only once requests are answered.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
from collections.abc import Callable

import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp

from emulator import __version__, schema
from emulator.config import Config, ConfigError
from emulator.db import make_engine
from emulator.http_protocol import protocol_with
from emulator.logs import setup_logging

#: Connections the listening socket queues (uvicorn's default).
LISTEN_BACKLOG = 2048


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_started`` once it answers requests."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        # What start-up made lives as long as the process: out of the cyclic collector's
        # sight, so its full collections (which hold the event loop) walk only what
        # requests made since (during a 1,000-server build: from 85-90 ms to 6-12 ms each).
        gc.collect()
        gc.freeze()
        self.on_started()


def _state_shown(url: str) -> str:
    """The state URL as logs and errors show it: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def check_state(url: str) -> None:
    """Open the state database once, so that a missing driver or a database that cannot be
    opened or reached is a ``ConfigError`` (one line), not a traceback at start-up."""
    try:
        engine = make_engine(url)
    except ModuleNotFoundError as exc:  # the driver: make_engine says which extra has it
        raise ConfigError(f"cannot open the state database {_state_shown(url)}: {exc}") from None
    try:
        with engine.connect() as connection:
            schema.check_known(connection)
    except schema.SchemaTooNew as exc:
        raise ConfigError(f"cannot open the state database {_state_shown(url)}: {exc}") from None
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise ConfigError(
            f"cannot open the state database {_state_shown(url)}: {reason}") from None
    finally:
        engine.dispose()


def check_backend(name: str) -> None:
    """The backend must be registered (``nova_emulator.backends``): else one line naming
    the ones that are."""
    from emulator.plugins import UnknownBackend, find_factory

    try:
        find_factory(name)
    except UnknownBackend as exc:
        raise ConfigError(f"--backend / [compute] backend: {exc.message}") from None


def check_ratelimit(config: Config) -> None:
    """An enabled shared rate-limit store must load and answer: else one line."""
    from emulator.ratelimit.settings import shown_url, store_problem

    if config.ratelimit.enabled and (problem := store_problem(config.ratelimit.store)):
        raise ConfigError(f"[ratelimit] store {shown_url(config.ratelimit.store)}: {problem}")


def check_scheduler(config: Config) -> None:
    """Every filter and weigher ``[scheduler]`` names must load: else one line."""
    from emulator.cloud import make_scheduler
    from emulator.placement import Placement

    make_scheduler(Placement(), config.scheduler)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(host: str, port: int, reuse_port: bool = False,
           backlog: int | None = LISTEN_BACKLOG) -> socket.socket:
    """A socket bound to ``host:port`` and listening, as uvicorn would make it; a
    ``ConfigError`` when the address cannot be had (taken, not ours, unknown host).
    ``reuse_port``: others may bind the same address (``SO_REUSEPORT``: the kernel spreads
    connections over the ones listening); ``backlog`` None: bound, not listening."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {_address(host, port)}: {_reason(exc)}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if backlog is not None:
            sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {_address(host, port)}: {_reason(exc)}") from None
    return sock


def _reason(exc: OSError) -> str:
    """``Address already in use`` -> ``address already in use``."""
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


def serve(config: Config) -> int:
    """Check the state, bind the port, build the app, serve until SIGINT or SIGTERM; the
    "listening" line is logged once the app has started and requests are answered (with
    ``workers`` > 1, once every worker answers: ``emulator.workers``)."""
    from emulator.api.app import build_app
    from emulator.workers import Supervisor, check_workers

    setup_logging(config.server.log_level)
    check_backend(config.compute.backend)
    check_scheduler(config)
    check_workers(config)
    check_state(config.server.state)
    check_ratelimit(config)
    workers = config.server.workers
    # several workers: each listens on a socket of its own on this address (SO_REUSEPORT,
    # so that the kernel spreads the connections); this one only holds the port
    sock = listen(config.server.host, config.server.port, reuse_port=workers > 1,
                  backlog=None if workers > 1 else LISTEN_BACKLOG)
    bound = sock.getsockname()

    def listening() -> None:
        logging.getLogger("nova_emulator").info(
            "nova-emulator %s listening on %s (public URL %s, state %s, backend %s%s)",
            __version__, _address(bound[0], bound[1]), config.public_url,
            _state_shown(config.server.state), config.compute.backend,
            f", {workers} workers" if workers > 1 else "")

    with sock:
        if workers > 1:
            return Supervisor(config, (config.server.host, bound[1]), listening).run()
        with contextlib.suppress(KeyboardInterrupt):  # SIGINT, raised again once stopped
            serve_sockets(config, build_app(config), [sock], listening)
    return 0


def serve_sockets(config: Config, app: ASGIApp, sockets: list[socket.socket],
                  on_started: Callable[[], None]) -> None:
    """Serve ``app`` on ``sockets`` (bound and listening) until SIGINT or SIGTERM."""
    server = _Server(uvicorn.Config(
        app,
        log_config=None,  # our logging, set up above, for uvicorn's loggers too
        log_level=config.server.log_level,
        access_log=False,  # RequestIdMiddleware logs each request with its id
        lifespan="on",
        timeout_keep_alive=75,
        http=protocol_with(config.server.header_timeout_seconds),
        backlog=LISTEN_BACKLOG,
    ), on_started=on_started)
    server.run(sockets=sockets)
