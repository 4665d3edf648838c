"""The one ASGI application: every service under its path, behind the shared middleware."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backends.base import ComputeBackend
from backends.simulated import SimulatedBackend, default_hosts
from emulator import __version__
from emulator.api.compute import ComputeAPI
from emulator.api.compute.availability_zones import AvailabilityZonesController
from emulator.api.compute.console_auth_tokens import ConsoleAuthTokensController
from emulator.api.compute.flavors import FlavorsController
from emulator.api.compute.images import ImagesController
from emulator.api.compute.keypairs import KeypairsController
from emulator.api.compute.routes import Controllers
from emulator.api.compute.server_extras import ServerExtrasController
from emulator.api.compute.server_resources import ServerResourcesController
from emulator.api.compute.servers import ServersController
from emulator.api.console_proxy import CONSOLE_PREFIX, ConsoleProxy
from emulator.api.control import ControlAPI, FaultHooks
from emulator.api.identity import IdentityAPI
from emulator.api.image import ImageAPI
from emulator.api.routing import base_url, json_response
from emulator.api.service import Service
from emulator.clock import Clock
from emulator.compute.consoles import ConsoleTokens
from emulator.compute.flavors import FlavorService
from emulator.compute.keypairs import KeyPairService
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.servers import ImageInfo, ServerService
from emulator.compute.snapshots import Snapshots
from emulator.compute.zones import ZoneService
from emulator.config import Config, SimulatedConfig
from emulator.context import RequestContext
from emulator.control.faults import FaultRules
from emulator.control.simulation import Simulation
from emulator.db import Database
from emulator.errors import NotFound
from emulator.identity.models import Project
from emulator.identity.service import IdentityService
from emulator.image.service import ImageService
from emulator.image.store import ImageStore, store_dir

if TYPE_CHECKING:
    from backends.qemu.backend import QemuBackend

log = logging.getLogger("nova_emulator.access")

#: The service catalog: (type, name, path of the endpoint). Only services that exist are
#: listed, because clients act on the catalog (openstacksdk lists networks as soon as a
#: ``network`` entry is present).
CATALOG: tuple[tuple[str, str, str], ...] = (
    ("identity", "keystone", "/identity"),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
)
INTERFACES = ("public", "internal", "admin")


def build_catalog(public_url: str, region: str) -> list[dict[str, Any]]:
    def stable_id(*parts: str) -> str:
        return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)).hex

    return [
        {
            "id": stable_id(kind),
            "type": kind,
            "name": name,
            "endpoints": [
                {
                    "id": stable_id(kind, interface),
                    "interface": interface,
                    "region": region,
                    "region_id": region,
                    "url": f"{public_url}{path}",
                }
                for interface in INTERFACES
            ],
        }
        for kind, name, path in CATALOG
    ]


class RequestIdMiddleware:
    """Gives every request a ``req-<uuid4>`` id, returns it in both Nova headers, logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-openstack-request-id", request_id.encode()))
                headers.append((b"x-compute-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "%s %s %s %s %.1fms", request_id, scope["method"], scope["path"], status,
                (time.perf_counter() - started) * 1000,
            )


def simulated_backend(config: SimulatedConfig, clock: Clock) -> SimulatedBackend:
    """The simulated cloud ``[simulated]`` describes, its stages on ``clock``."""
    hosts = default_hosts(
        [(zone.name, zone.hosts) for zone in config.zones],
        vcpus=config.vcpus, memory_mb=config.memory_mb, local_gb=config.local_gb,
        cpu_allocation_ratio=config.cpu_allocation_ratio,
        ram_allocation_ratio=config.ram_allocation_ratio,
        disk_allocation_ratio=config.disk_allocation_ratio,
    )
    return SimulatedBackend(hosts, clock=clock, stages=config.stages, seed=config.seed)


class Emulator:
    """Owns the state and the services; dispatches each request by path prefix."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db = Database(config.server.state)
        self.identity = IdentityService(
            self.db, timedelta(seconds=config.identity.token_ttl_seconds)
        )
        self.identity.seed(config.accounts)
        #: The simulated cloud; with ``[compute] backend = "qemu"`` only the control plane's
        #: clock (NOTE: the control plane does not drive the QEMU backend).
        self.clock = Clock(config.simulated.progression)
        self.simulated = simulated_backend(config.simulated, self.clock)
        self.flavors = FlavorService(self.db, project_exists=self.identity.project_exists)
        self.flavors.seed()
        self.keypairs = KeyPairService(self.db)
        self.images = ImageService(
            self.db, ImageStore(store_dir(config.image.store, config.server.state)),
            require_format_match=config.image.require_format_match,
            size_cap=config.image.size_cap_bytes,
        )
        self.images.recover()
        admins = self.identity.list_rows(Project, {"name": "admin"})
        self.images.seed(owner=admins[0].id if admins else None)
        self.backend: ComputeBackend = self.simulated
        self.qemu: QemuBackend | None = None
        self.ephemeral = False
        if config.compute.backend == "qemu":
            from emulator.qemu import ephemeral, qemu_backend

            self.ephemeral = ephemeral(config)
            self.qemu = qemu_backend(config, self.images, admins[0].id if admins else None)
            self.backend = self.qemu
        self.zones = ZoneService(self.backend)
        self.servers = ServerService(self.db, self.backend, self.flavors, self.keypairs,
                                     images=self._image_info)
        clock = self.clock
        self.lifecycle = Lifecycle(
            self.servers, self.backend,
            reclaim_instance_interval=config.compute.reclaim_instance_interval,
            # NOTE: unless configured, a one-host QEMU cloud resizes in place, as devstack
            # configures Nova; otherwise every resize there is NoValidHost.
            allow_resize_to_same_host=config.compute.allow_resize_to_same_host
            if config.compute.allow_resize_to_same_host is not None
            else (self.qemu is not None and len(self.qemu.hosts()) == 1),
            resize_confirm_window=config.compute.resize_confirm_window,
            # NOTE: a window is not a stage: it takes its time even in immediate mode.
            sleep=lambda seconds: clock.sleep(seconds, stage=False))
        self.backend.set_power_listener(self.lifecycle.power_changed)
        self.console_tokens = ConsoleTokens(self.db)
        self.console = ConsoleProxy(self.console_tokens, self.servers, self.backend)
        self.faults = FaultRules()
        hooks = FaultHooks(self.faults, self.servers)
        self.simulation = Simulation(self.simulated, self.clock, self.servers, self.lifecycle,
                                     self.faults)
        controllers = Controllers(
            servers=ServersController(self.servers, self.lifecycle, plan_for=hooks.plan_for,
                                      snapshots=Snapshots(self.images)),
            server_resources=ServerResourcesController(self.servers),
            server_extras=ServerExtrasController(self.servers, self.lifecycle),
            flavors=FlavorsController(self.flavors),
            zones=AvailabilityZonesController(self.zones),
            keypairs=KeypairsController(self.keypairs),
            images=ImagesController(self.images),
            console_auth_tokens=ConsoleAuthTokensController(self.console_tokens),
        )
        public_url = config.public_url
        catalog = build_catalog(public_url, config.identity.region)
        max_body = config.server.max_request_body_bytes
        self.services: list[Service] = [
            IdentityAPI(self.identity, public_url, max_body, catalog=lambda: catalog),
            ComputeAPI(self.identity, public_url, max_body, controllers,
                       intercept=hooks.intercept),
            ImageAPI(self.identity, public_url, max_body, self.images),
            ControlAPI(self.identity, public_url, max_body, self.simulation, self.faults,
                       backend=self.backend.name),
        ]

    def _image_info(self, ctx: RequestContext, image_id: str) -> ImageInfo | None:
        """What a server build needs of an image, or None if ``ctx`` cannot see it."""
        try:
            image = self.images.get(ctx, image_id)
        except NotFound:
            return None
        return ImageInfo(id=image.id, status=image.status, min_ram=image.min_ram,
                         min_disk=image.min_disk)

    def _service_for(self, path: str) -> tuple[Service, str] | None:
        for service in self.services:
            if path == service.prefix or path.startswith(service.prefix + "/"):
                return service, path[len(service.prefix):] or "/"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["path"].startswith(f"{CONSOLE_PREFIX}/"):  # noVNC's files and WebSocket
            await self.console.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        found = self._service_for(scope["path"])
        if found is None:
            response = self.index(request)
        else:
            service, subpath = found
            response = await service.handle(request, subpath)
        await response(scope, receive, send)

    def index(self, request: Request) -> Response:
        """``/``: what this emulator serves (a dashboard comes later)."""
        if request.url.path != "/":
            return json_response(
                {"error": {"code": 404, "title": "Not Found",
                           "message": "The resource could not be found."}}, status=404)
        root = base_url(request)
        return json_response({
            "name": "nova-emulator",
            "version": __version__,
            "services": {kind: f"{root}{path}" for kind, _name, path in CATALOG},
        })

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.lifecycle.recover()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.lifecycle.shutdown()
                # Guests keep running for the next start to re-adopt, unless the state
                # dies with this process: then nobody could, and they end with it (the
                # QEMU backend is built ephemeral).
                await self.backend.close()
                if self.qemu is not None and self.ephemeral and not self.config.qemu.run_dir:
                    shutil.rmtree(self.qemu.run_dir, ignore_errors=True)
                self.db.close()
                self.images.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_app(config: Config) -> ASGIApp:
    """The full middleware stack around a new ``Emulator``."""
    app: ASGIApp = Emulator(config)
    # NOTE: image data (application/octet-stream) goes out as stored, with its length.
    app = GZipMiddleware(app, minimum_size=500, exclude_content_types=(
        *DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream"))
    return RequestIdMiddleware(app)

