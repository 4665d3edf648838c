"""The Block Storage (Cinder v3) API at ``/volume``: its route table and request path.

Request path, as Cinder's paste pipeline orders it: ``/volume/`` answers the versions
list (300) without a token; everything under ``/v3`` is authenticated (401 in
keystonemiddleware's dialect), then the microversion is negotiated (400/406), then the
route is matched, with or without the project id segment (3.67 made it optional; Cinder
accepts both at every version, and a project id that is not the token's is a 400).
Every ``/v3`` response after negotiation carries ``OpenStack-API-Version: volume X.Y``,
faults included. Faults are Cinder's (``faults``).
"""

from __future__ import annotations

import json
import logging
import re

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion
from emulator.api.requests import read_body
from emulator.api.routing import Call, Route, base_url
from emulator.api.service import BODY_METHODS, Service
from emulator.api.volume.attachments import AttachmentsController
from emulator.api.volume.extensions import list_extensions
from emulator.api.volume.faults import fault_from_error, render_cinder
from emulator.api.volume.metadata import MetadataController, snapshot_ops, volume_ops
from emulator.api.volume.microversion import (
    HEADER,
    SERVICE,
    V,
    VersionNotAcceptable,
    negotiate,
)
from emulator.api.volume.quotas import LimitsController, QuotasController
from emulator.api.volume.snapshots import SnapshotsController
from emulator.api.volume.types import TypesController, ZonesController
from emulator.api.volume.versions import versions_response
from emulator.api.volume.volume_actions import VolumeActionsController
from emulator.api.volume.volumes import VolumesController
from emulator.errors import EmulatorError
from emulator.identity.service import IdentityService, TokenInfo
from emulator.volume.service import VolumeService

log = logging.getLogger("nova_emulator.api")

API_PREFIX = "/v3"
#: Cinder's ``project_id_regex``: what a leading path segment must look like to be taken
#: as a project id.
PROJECT_ID = re.compile(r"[0-9a-f\-]+")
#: Body media types Cinder reads (``SUPPORTED_CONTENT_TYPES``).
JSON_TYPES = ("application/json", "application/vnd.openstack.volume+json")
SERVER_ERROR = ("The server has either erred or is incapable of performing the requested "
                "operation.")


class VolumeAPI(Service):
    prefix = "/volume"
    route_root = API_PREFIX

    def __init__(self, identity: IdentityService, public_url: str, max_body: int,
                 volumes: VolumeService) -> None:
        self.volumes = VolumesController(volumes)
        self.actions = VolumeActionsController(volumes)
        self.volume_metadata = MetadataController(volume_ops(volumes))
        self.snapshots = SnapshotsController(volumes)
        self.snapshot_metadata = MetadataController(snapshot_ops(volumes))
        self.attachments = AttachmentsController(volumes)
        self.types = TypesController()
        self.zones = ZonesController()
        self.quotas = QuotasController(volumes)
        self.limits = LimitsController(volumes)
        super().__init__(identity, public_url, max_body)

    def routes(self) -> list[Route]:
        vol, act, vmeta = self.volumes, self.actions, self.volume_metadata
        snap, smeta, att = self.snapshots, self.snapshot_metadata, self.attachments
        quota = self.quotas
        return [
            Route("GET", "/volumes", vol.index),
            Route("POST", "/volumes", vol.create),
            Route("GET", "/volumes/detail", vol.detail),
            Route("GET", "/volumes/summary", vol.summary, min_version=V(12)),
            Route("GET", "/volumes/{volume_id}", vol.show),
            Route("PUT", "/volumes/{volume_id}", vol.update),
            Route("DELETE", "/volumes/{volume_id}", vol.delete),
            Route("POST", "/volumes/{volume_id}/action", act.action),
            Route("GET", "/volumes/{volume_id}/metadata", vmeta.index),
            Route("POST", "/volumes/{volume_id}/metadata", vmeta.create),
            Route("PUT", "/volumes/{volume_id}/metadata", vmeta.update_all),
            Route("GET", "/volumes/{volume_id}/metadata/{key}", vmeta.show),
            Route("PUT", "/volumes/{volume_id}/metadata/{key}", vmeta.update),
            Route("DELETE", "/volumes/{volume_id}/metadata/{key}", vmeta.delete),
            Route("GET", "/snapshots", snap.index),
            Route("POST", "/snapshots", snap.create),
            Route("GET", "/snapshots/detail", snap.detail),
            Route("GET", "/snapshots/{snapshot_id}", snap.show),
            Route("PUT", "/snapshots/{snapshot_id}", snap.update),
            Route("DELETE", "/snapshots/{snapshot_id}", snap.delete),
            Route("POST", "/snapshots/{snapshot_id}/action", snap.action),
            Route("GET", "/snapshots/{snapshot_id}/metadata", smeta.index),
            Route("POST", "/snapshots/{snapshot_id}/metadata", smeta.create),
            Route("PUT", "/snapshots/{snapshot_id}/metadata", smeta.update_all),
            Route("GET", "/snapshots/{snapshot_id}/metadata/{key}", smeta.show),
            Route("PUT", "/snapshots/{snapshot_id}/metadata/{key}", smeta.update),
            Route("DELETE", "/snapshots/{snapshot_id}/metadata/{key}", smeta.delete),
            Route("GET", "/attachments", att.index, min_version=V(27)),
            Route("POST", "/attachments", att.create, min_version=V(27)),
            Route("GET", "/attachments/detail", att.detail, min_version=V(27)),
            Route("GET", "/attachments/{attachment_id}", att.show, min_version=V(27)),
            Route("PUT", "/attachments/{attachment_id}", att.update, min_version=V(27)),
            Route("DELETE", "/attachments/{attachment_id}", att.delete, min_version=V(27)),
            Route("POST", "/attachments/{attachment_id}/action", att.action,
                  min_version=V(27)),
            Route("GET", "/types", self.types.index),
            Route("GET", "/types/{type_id}", self.types.show),
            Route("GET", "/os-availability-zone", self.zones.index),
            Route("GET", "/extensions", list_extensions),
            Route("GET", "/limits", self.limits.index),
            Route("GET", "/os-quota-sets/{project_id}", quota.show),
            Route("GET", "/os-quota-sets/{project_id}/defaults", quota.defaults),
            Route("PUT", "/os-quota-sets/{project_id}", quota.update),
            Route("DELETE", "/os-quota-sets/{project_id}", quota.delete),
        ]

    def render_fault(self, fault: Fault) -> Response:
        return render_cinder(fault)

    def error_response(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, Fault):
            return self.render(exc)
        if isinstance(exc, EmulatorError):
            return self.render(fault_from_error(exc))
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return self.render(Fault(500, SERVER_ERROR))

    async def read_json(self, request: Request) -> object:
        """The JSON body of a POST or PUT (None without one). NOTE: as Cinder, a body
        sent without a Content-Type is not read at all."""
        if request.method not in BODY_METHODS:
            return None
        raw = await read_body(request, self.max_body)
        content_type = request.headers.get("content-type")
        if not raw or not content_type:
            return None
        if content_type.split(";", 1)[0].strip().lower() not in JSON_TYPES:
            raise Fault(415, "Unsupported Content-Type")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise Fault(400, "Malformed request body") from None

    async def dispatch(self, request: Request, subpath: str) -> Response:
        root = f"{base_url(request)}{self.prefix}"
        if subpath in ("", "/"):
            return versions_response(root, 300)
        if subpath != API_PREFIX and not subpath.startswith(API_PREFIX + "/"):
            raise Fault(404)
        auth = self.authenticate(request)
        try:
            version = negotiate(request.headers)
        except VersionNotAcceptable as fault:
            return self._echo(self.render(fault), fault.version)
        try:
            response = await self._versioned(request, subpath[len(API_PREFIX):], auth,
                                             version, root)
        except Exception as exc:
            response = self.error_response(request, exc)
        return self._echo(response, version)

    @staticmethod
    def _echo(response: Response, version: APIVersion) -> Response:
        response.headers.append(HEADER, f"{SERVICE} {version}")
        response.headers.append("Vary", HEADER)
        return response

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        if path.endswith("/"):
            raise Fault(404)  # NOTE: Cinder's routes match exactly: ``/volumes/`` is none
        try:
            return self.table.match(method, path)
        except Fault as fault:
            if fault.status == 405:  # NOTE: Cinder's router answers another method with 404
                raise Fault(404) from None
            raise

    async def _versioned(self, request: Request, path: str, auth: TokenInfo,
                         version: APIVersion, root: str) -> Response:
        if path in ("", "/"):
            return versions_response(root, 200)
        url_project_id: str | None = None
        try:
            route, params = self._match(request.method, path)
        except Fault:
            segments = path.split("/")
            if len(segments) < 3 or not PROJECT_ID.fullmatch(segments[1]):
                raise
            url_project_id = segments[1]
            route, params = self._match(request.method, "/" + "/".join(segments[2:]))
        if not route.allows(version):
            raise Fault(404)
        if url_project_id is not None and url_project_id != (
                auth.project.id if auth.project else None):
            raise Fault(400, "Malformed request url")
        call = Call(request=request, params=params, auth=auth, version=version,
                    url_project_id=url_project_id)
        call.body = await self.read_json(request)
        return await route.handler(call)

