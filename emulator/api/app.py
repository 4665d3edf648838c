"""The one ASGI application: every service under its path, behind the shared middleware."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator import __version__
from emulator.api.compute import ComputeAPI
from emulator.api.compute.admin_actions import AdminActionsController
from emulator.api.compute.aggregates import AggregatesController
from emulator.api.compute.assisted_volume_snapshots import AssistedVolumeSnapshotsController
from emulator.api.compute.availability_zones import AvailabilityZonesController
from emulator.api.compute.console_auth_tokens import ConsoleAuthTokensController
from emulator.api.compute.flavors import FlavorsController
from emulator.api.compute.hosts import HostsController
from emulator.api.compute.hypervisors import HypervisorsController
from emulator.api.compute.images import ImagesController
from emulator.api.compute.interfaces import InterfacesController
from emulator.api.compute.keypairs import KeypairsController
from emulator.api.compute.limits import LimitsController
from emulator.api.compute.migrations import MigrationsController
from emulator.api.compute.proxies import ProxyControllers
from emulator.api.compute.quotas import QuotaClassSetsController, QuotaSetsController
from emulator.api.compute.routes import Controllers
from emulator.api.compute.server_actions import ServerActions
from emulator.api.compute.server_consoles import ServerConsolesController
from emulator.api.compute.server_disk_actions import DiskActions
from emulator.api.compute.server_external_events import ExternalEventsController
from emulator.api.compute.server_groups import ServerGroupsController
from emulator.api.compute.server_resources import ServerResourcesController
from emulator.api.compute.servers import ServersController
from emulator.api.compute.services import ServicesController
from emulator.api.compute.usage import UsageController
from emulator.api.compute.usage_audit_log import AuditLogController
from emulator.api.compute.volume_attachments import VolumeAttachmentsController
from emulator.api.console_proxy import CONSOLE_PREFIX, ConsoleProxy
from emulator.api.control import ControlAPI, FaultHooks
from emulator.api.control_dashboard import UNRECORDED_KEY, page, prefers_html
from emulator.api.control_routes import RouteListing
from emulator.api.control_snapshots import SnapshotControl
from emulator.api.faults import Fault, render_keystone
from emulator.api.forwarding import FORWARDED_ID, Follower
from emulator.api.identity import IdentityAPI
from emulator.api.image import ImageAPI
from emulator.api.metrics import UNROUTED, Metrics
from emulator.api.network import NetworkAPI
from emulator.api.ratelimit import RateLimitMiddleware
from emulator.api.routing import MATCHED, base_url, json_response
from emulator.api.service import PROJECT_KEY, Service
from emulator.api.volume import VolumeAPI
from emulator.clock import Progression
from emulator.cloud import Cloud, require_snapshots
from emulator.config import Config
from emulator.control import snapshots
from emulator.control.dashboard import Dashboard
from emulator.control.requestlog import MAX_ERROR_BODY, RequestLog
from emulator.errors import RateLimited
from emulator.ids import new_request_id
from emulator.ratelimit.settings import RateLimiting

log = logging.getLogger("nova_emulator.access")
FORWARDED_ID_RAW = FORWARDED_ID.encode()

#: The service catalog: (type, name, path of the endpoint). Only services that exist are
#: listed, because clients act on the catalog (openstacksdk lists networks as soon as a
#: ``network`` entry is present).
CATALOG: tuple[tuple[str, str, str], ...] = (
    ("identity", "keystone", "/identity"),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
    ("network", "neutron", "/network"),
    # Cinder, as devstack publishes it: both types, the project in the URL.
    ("block-storage", "cinder", "/volume/v3/$(project_id)s"),
    ("volumev3", "cinderv3", "/volume/v3/$(project_id)s"),
    # The emulator's own control plane (admin only): clients ignore a type they do not
    # know; the pytest plugin and scripts find it here.
    ("emulator", "nova-emulator", "/_emulator"),
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


#: Where ``Emulator`` leaves the name of the service a request went to (``compute``, ...).
SERVICE_KEY = "nova.service"


class RequestIdMiddleware:
    """Gives every request a ``req-<uuid4>`` id, returns it in both Nova headers, logs it,
    counts it (``metrics``) and records it (``requests``: an error answer's body too, for
    its fault, unless compressed)."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None,
                 requests: RequestLog | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.requests = requests if requests is not None and requests.enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # a follower's forwarded request (on the leader's Unix socket) keeps its id
        internal = scope.get("server") is not None and scope["server"][1] is None
        forwarded = next((v.decode("latin-1") for k, v in scope["headers"]
                          if k == FORWARDED_ID_RAW), None) if internal else None
        request_id = forwarded or new_request_id()
        MATCHED.set(UNROUTED)
        scope.setdefault("state", {})["request_id"] = request_id
        started, wall = time.perf_counter(), time.time()
        status = 0
        #: An error's body as it goes out (None: not kept).
        error_body: bytearray | None = None
        recording = self.requests is not None

        async def send_with_id(message: Message) -> None:
            nonlocal status, error_body
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if recording and status >= 400 and not any(
                        name.lower() == b"content-encoding" for name, _ in headers):
                    error_body = bytearray()
                if forwarded is None:  # else the follower adds them
                    headers.append((b"x-openstack-request-id", request_id.encode()))
                    headers.append((b"x-compute-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            elif error_body is not None and len(error_body) < MAX_ERROR_BODY:
                error_body += message.get("body", b"")[:MAX_ERROR_BODY - len(error_body)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            log.info("%s %s %s %s %.1fms", request_id, scope["method"], scope["path"],
                     status, elapsed * 1000)
            service = scope.get(SERVICE_KEY, UNROUTED)
            if self.metrics is not None:
                self.metrics.observe(service, MATCHED.get(), scope["method"], status, elapsed)
            if self.requests is not None and not scope.get(UNRECORDED_KEY):
                self.requests.record((wall, request_id, service, scope["method"],
                                      scope["path"], MATCHED.get(), status, elapsed,
                                      scope.get(PROJECT_KEY),
                                      bytes(error_body) if error_body else None))


class Emulator:
    """Serves a ``Cloud``: dispatches each request to its service by path prefix."""

    def __init__(self, config: Config, follower: bool = False) -> None:
        self.config = config
        cloud = Cloud(config, follower=follower)
        self.ratelimiting = RateLimiting(config.ratelimit)
        self.metrics = Metrics(cloud.instances.count_by_state, cloud.claims.stats,
                               cloud.guest_processes)
        self.requests = RequestLog(config.server.request_log_size)
        self._serve(cloud)

    def _serve(self, cloud: Cloud) -> None:
        """Answer for ``cloud`` from now on: its controllers and services."""
        config = self.config
        self.cloud = cloud
        self.metrics.follow(cloud.instances.count_by_state, cloud.claims.stats,
                            cloud.guest_processes)
        dashboard = Dashboard(cloud.db, cloud.placement, cloud.server_groups,
                              cloud.aggregates, cloud.quotas, cloud.simulation)
        self.console = ConsoleProxy(cloud.console_tokens, cloud.consoles)
        hooks = FaultHooks(cloud.faults, cloud.servers)
        consoles = ServerConsolesController(cloud.consoles)
        migrations = MigrationsController(cloud.moves)
        interfaces = InterfacesController(cloud.networking)
        actions = {**ServerActions(cloud.operations).table(
            DiskActions(cloud.disk), consoles, AdminActionsController(cloud.admin_actions)),
            **migrations.actions(), **interfaces.actions()}
        self.actions = actions
        controllers = Controllers(
            servers=ServersController(cloud.servers, cloud.operations, actions),
            server_resources=ServerResourcesController(cloud.servers, cloud.metadata,
                                                       cloud.actions),
            server_consoles=consoles,
            flavors=FlavorsController(cloud.flavors),
            zones=AvailabilityZonesController(cloud.zones),
            keypairs=KeypairsController(cloud.keypairs),
            images=ImagesController(cloud.image_proxy),
            console_auth_tokens=ConsoleAuthTokensController(cloud.console_tokens),
            server_groups=ServerGroupsController(cloud.server_groups),
            aggregates=AggregatesController(cloud.aggregates),
            services=ServicesController(cloud.services),
            hypervisors=HypervisorsController(cloud.hypervisors),
            migrations=migrations,
            quota_sets=QuotaSetsController(cloud.quotas),
            quota_classes=QuotaClassSetsController(cloud.quotas),
            limits=LimitsController(
                cloud.quotas,
                rate_limits=lambda ctx: self.ratelimiting.rate(ctx.project_id, ctx.user_id)),
            hosts=HostsController(cloud.hosts),
            usage=UsageController(cloud.usage),
            audit_log=AuditLogController(cloud.audit_log),
            external_events=ExternalEventsController(cloud.external_events),
            volume_snapshots=AssistedVolumeSnapshotsController(cloud.volume_snapshots),
            proxies=ProxyControllers.build(cloud.network, cloud.volumes),
            volume_attachments=VolumeAttachmentsController(cloud.server_volumes),
            interfaces=interfaces,
        )
        public_url = config.public_url
        catalog = build_catalog(public_url, config.identity.region)
        max_body = config.server.max_request_body_bytes
        self.services: list[Service] = [
            IdentityAPI(cloud.identity, public_url, max_body, catalog=lambda: catalog),
            ComputeAPI(cloud.identity, public_url, max_body, controllers,
                       intercept=hooks.intercept),
            ImageAPI(cloud.identity, public_url, max_body, cloud.images),
            NetworkAPI(cloud.identity, public_url, max_body, cloud.network),
            VolumeAPI(cloud.identity, public_url, max_body, cloud.volumes),
            ControlAPI(cloud.identity, public_url, max_body, cloud.simulation, cloud.faults,
                       self.ratelimiting, self.metrics, self.requests, dashboard,
                       RouteListing(lambda: self.services, lambda: self.actions),
                       metrics_unauthenticated=config.server.metrics_unauthenticated,
                       snapshots=SnapshotControl(self.save_snapshot, self.load_snapshot,
                                                 config.image.size_cap_bytes)),
        ]

    async def save_snapshot(self, target: Path) -> None:
        """Write a snapshot of the cloud to ``target``: the database copied at once, the
        file packed in a thread."""
        with tempfile.TemporaryDirectory(prefix="nova-emulator-snapshot-") as scratch:
            meta, database, images = self.cloud.snapshot(Path(scratch))
            await asyncio.to_thread(snapshots.pack, target, meta, database, images)

    async def load_snapshot(self, source: Path) -> None:
        """Replace the cloud with the one the snapshot file ``source`` holds: checked and
        unpacked first (a bad file changes nothing), then the running cloud stops and a
        new one starts on the snapshot's state and re-adopts its servers.

        NOTE: requests in flight on the old cloud may fail; the caller's token is gone
        with the old database (log in again)."""
        require_snapshots(self.config)
        with tempfile.TemporaryDirectory(prefix="nova-emulator-load-") as scratch:
            snapshot = await asyncio.to_thread(snapshots.unpack, source, Path(scratch))
            await self.cloud.stop()
            cloud = Cloud(self.config, snapshot)
            self._serve(cloud)
            await cloud.start()

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
            scope[SERVICE_KEY] = service.prefix.strip("/")
            response = await service.handle(request, subpath)
        await response(scope, receive, send)

    def refuse(self, request: Request, error: RateLimited) -> Response:
        """A rate-limit refusal in the dialect of the service the request is for."""
        found = self._service_for(request.scope["path"])
        self.metrics.rejections.labels(
            found[0].prefix.strip("/") if found is not None else UNROUTED).inc()
        if found is None:
            return render_keystone(Fault.from_error(error))
        return found[0].error_response(request, error)

    def index(self, request: Request) -> Response:
        """``/``: the dashboard for a browser, else what this emulator serves (JSON)."""
        if request.url.path != "/":
            return json_response(
                {"error": {"code": 404, "title": "Not Found",
                           "message": "The resource could not be found."}}, status=404)
        if prefers_html(request.headers.get("accept", "")):
            return page(request)
        root = base_url(request)
        return json_response(headers={"Vary": "Accept"}, body={
            "name": "nova-emulator",
            "version": __version__,
            "services": {kind: f"{root}{path.removesuffix('/$(project_id)s')}"
                         for kind, _name, path in CATALOG},
        })

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.cloud.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.cloud.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_app(config: Config, leader: Path | None = None) -> ASGIApp:
    """The full middleware stack around a new ``Emulator``; with ``leader`` (the Unix
    socket of the worker that leads), a follower's (``emulator.api.forwarding``)."""
    emulator = Emulator(config, follower=leader is not None)
    app: ASGIApp = emulator
    if leader is not None:
        ordered = emulator.ratelimiting.installed or (
            config.compute.backend == "simulated"
            and config.simulated.progression == Progression.MANUAL)

        def local_reads() -> bool:
            if ordered:
                return False
            tokens = emulator.cloud.identity.tokens
            tokens.follow_epoch()  # the request's one read of the row (its token's too)
            return not tokens.leader_fault_rules

        app = Follower(_compressing(app), lambda: emulator.cloud.identity, leader,
                       local_reads=local_reads)
        return RequestIdMiddleware(app, emulator.metrics, emulator.requests)
    if emulator.ratelimiting.installed:  # off: not in the request path at all
        app = RateLimitMiddleware(app, emulator.ratelimiting, lambda: emulator.cloud.identity,
                                  emulator.refuse)
    return RequestIdMiddleware(_compressing(app), emulator.metrics, emulator.requests)


def _compressing(app: ASGIApp) -> ASGIApp:
    # NOTE: image data (application/octet-stream) goes out as stored, with its length.
    # Level 1 (nginx's default): a third less CPU than Starlette's 9 on a server's JSON,
    # and a page of 1,000 servers still shrinks tenfold. Under 2 KiB (one server, 1.4-1.7
    # KB) a body goes as it is: a packet or two, where compressing costs more than it saves.
    return GZipMiddleware(app, minimum_size=2048, compresslevel=1, exclude_content_types=(
        *DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream"))

