"""The Image (Glance v2) API at ``/image``: discovery, images, data, tags, members, schemas.

Request path, as Glance's paste pipeline orders it: version negotiation first (the root,
``/versions`` and any unknown version segment answer the versions list without a token),
then the token check, then the v2 router (a known path with another method is a 405).

Glance speaks its own error dialect: webob's, negotiated on ``Accept`` (HTML for ``*/*``,
JSON when JSON is preferred, plain text otherwise), never Nova's ``{"badRequest": …}``.
Glance has no request size limit in front of it; only JSON bodies are bounded here.
"""

from __future__ import annotations

import copy
import html
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, BinaryIO, Literal
from urllib.parse import urlencode

import jsonschema
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from emulator.api.faults import Fault
from emulator.api.requests import dump_json, parse_json, read_body
from emulator.api.routing import Call, Route, base_url, empty_response, json_response
from emulator.api.service import AuthFault, Service
from emulator.context import RequestContext
from emulator.errors import EmulatorError, Forbidden, NotFound
from emulator.identity.service import IdentityService
from emulator.image.service import (
    CONTAINER_FORMATS,
    DISK_FORMATS,
    SORT_KEYS,
    Change,
    Gone,
    ImageQuery,
    ImageRecord,
    ImageService,
    InvalidImageData,
    LimitExceeded,
    MemberRecord,
    NewImage,
    TagNotFound,
)

log = logging.getLogger("nova_emulator.api")

# -- version discovery ---------------------------------------------------------------------

#: Glance's versions document without a cache or multiple stores: (id, status).
VERSIONS: tuple[tuple[str, str], ...] = (
    ("v2.15", "SUPPORTED"), ("v2.9", "SUPPORTED"), ("v2.17", "CURRENT"),
    ("v2.7", "SUPPORTED"), ("v2.6", "SUPPORTED"), ("v2.5", "SUPPORTED"),
    ("v2.4", "SUPPORTED"), ("v2.3", "SUPPORTED"), ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"), ("v2.0", "SUPPORTED"),
)
#: URL version segments the negotiation accepts; all of them are the v2 API.
URL_VERSIONS = frozenset({"v2", "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6",
                          "v2.7", "v2.9", "v2.15", "v2.17"})

# -- the error dialect ---------------------------------------------------------------------

#: webob's status titles.
TITLES: dict[int, str] = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 410: "Gone",
    413: "Request Entity Too Large", 415: "Unsupported Media Type",
    416: "Request Range Not Satisfiable", 500: "Internal Server Error",
}
#: Domain errors Glance has beyond the shared table (``emulator.api.faults``).
GLANCE_STATUS: dict[type[EmulatorError], int] = {
    LimitExceeded: 413,
    InvalidImageData: 415,
    Gone: 410,
}
_SERVER_ERROR = "The server has either erred or is incapable of performing the requested " \
                "operation."


def _accepted(accept: str | None) -> str:
    """webob's choice among ``text/html`` and ``application/json``, else ``text/plain``."""
    if not accept:
        return "text/plain"
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    best, best_q = "text/plain", 0.0
    for offer in ("text/html", "application/json"):
        kind = offer.split("/")[0]
        matches = [(3 if m == offer else 2 if m == f"{kind}/*" else 1, q)
                   for m, q in ranges if m in (offer, f"{kind}/*", "*/*")]
        if matches:
            quality = max(matches)[1]
            if quality > best_q:
                best, best_q = offer, quality
    return best


def render_glance(fault: Fault, accept: str | None) -> Response:
    """webob's body for an HTTP error, in the media type the client prefers."""
    title = TITLES.get(fault.status, "Error")
    status_line = f"{fault.status} {title}"
    message = fault.message
    media = _accepted(accept)
    if media == "application/json":
        body = dump_json({"message": f"{message}<br /><br />\n\n\n", "code": status_line,
                          "title": title})
        content_type = "application/json"
    elif media == "text/html":
        body = (f"<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n"
                f"  <h1>{status_line}</h1>\n  {html.escape(message)}<br /><br />\n\n\n\n"
                " </body>\n</html>").encode()
        content_type = "text/html; charset=UTF-8"
    else:
        body = f"{status_line}\n\n{message}\n\n   ".encode()
        content_type = "text/plain; charset=UTF-8"
    return Response(body, status_code=fault.status, headers=dict(fault.headers),
                    media_type=content_type)


# -- schemas (what ``GET /v2/schemas/image`` publishes) -------------------------------------

_UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                 "-([0-9a-fA-F]){12}$")


def _prop(kind: Any, description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **more}


#: The image attributes: Glance's base properties.
BASE_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": _prop("string", "An identifier for the image", pattern=_UUID_PATTERN),
    "name": _prop(["null", "string"], "Descriptive name for the image", maxLength=255),
    "status": _prop("string", "Status of the image", readOnly=True,
                    enum=["queued", "saving", "active", "killed", "deleted", "uploading",
                          "importing", "pending_delete", "deactivated"]),
    "visibility": _prop("string", "Scope of image accessibility",
                        enum=["community", "public", "private", "shared"]),
    "protected": _prop("boolean", "If true, image will not be deletable."),
    "os_hidden": _prop("boolean", "If true, image will not appear in default image list "
                                  "response."),
    "checksum": _prop(["null", "string"], "md5 hash of image contents.", readOnly=True,
                      maxLength=32),
    "os_hash_algo": _prop(["null", "string"], "Algorithm to calculate the os_hash_value",
                          readOnly=True, maxLength=64),
    "os_hash_value": _prop(["null", "string"], "Hexdigest of the image contents using the "
                           "algorithm specified by the os_hash_algo", readOnly=True,
                           maxLength=128),
    "owner": _prop(["null", "string"], "Owner of the image", maxLength=255),
    "size": _prop(["null", "integer"], "Size of image file in bytes", readOnly=True),
    "virtual_size": _prop(["null", "integer"], "Virtual size of image in bytes",
                          readOnly=True),
    "container_format": _prop(["null", "string"], "Format of the container",
                              enum=[None, *CONTAINER_FORMATS]),
    "disk_format": _prop(["null", "string"], "Format of the disk",
                         enum=[None, *DISK_FORMATS]),
    "created_at": _prop("string", "Date and time of image registration", readOnly=True),
    "updated_at": _prop("string", "Date and time of the last image modification",
                        readOnly=True),
    "tags": _prop("array", "List of strings related to the image",
                  items={"type": "string", "maxLength": 255}),
    "direct_url": _prop("string", "URL to access the image file kept in external store",
                        readOnly=True),
    "min_ram": _prop("integer", "Amount of ram (in MB) required to boot image."),
    "min_disk": _prop("integer", "Amount of disk space (in GB) required to boot image."),
    "self": _prop("string", "An image self url", readOnly=True),
    "file": _prop("string", "An image file url", readOnly=True),
    "stores": _prop("string", "Store in which image data resides.  Only present when the "
                    "operator has enabled multiple stores.  May be a comma-separated list "
                    "of store identifiers.", readOnly=True),
    "schema": _prop("string", "An image schema url", readOnly=True),
    "locations": _prop("array", "A set of URLs to access the image file kept in external "
                       "store", items={"type": "object", "properties": {
                           "url": {"type": "string", "maxLength": 255},
                           "metadata": {"type": "object"}},
                           "required": ["url", "metadata"]}),
}
#: The custom properties of the ``schema-image.json`` Glance ships.
CUSTOM_PROPERTIES: dict[str, dict[str, Any]] = {
    "kernel_id": _prop(["null", "string"], "ID of image stored in Glance that should be used "
                       "as the kernel when booting an AMI-style image.",
                       pattern=_UUID_PATTERN, is_base=False),
    "ramdisk_id": _prop(["null", "string"], "ID of image stored in Glance that should be "
                        "used as the ramdisk when booting an AMI-style image.",
                        pattern=_UUID_PATTERN, is_base=False),
    "instance_uuid": _prop("string", "Metadata which can be used to record which instance "
                           "this image is associated with. (Informational only, does not "
                           "create an instance snapshot.)", is_base=False),
    "architecture": _prop("string", "Operating system architecture", is_base=False),
    "os_distro": _prop("string", "Common name of operating system distribution",
                       is_base=False),
    "os_version": _prop("string", "Operating system version as specified by the "
                        "distributor.", is_base=False),
    "description": _prop("string", "A human-readable string describing this image.",
                         is_base=False),
    "cinder_encryption_key_id": _prop("string", "Identifier in the OpenStack Key Management "
                                      "Service for the encryption key for the Block Storage "
                                      "Service to use when mounting a volume created from "
                                      "this image", is_base=False),
    "cinder_encryption_key_deletion_policy": _prop(
        "string", "States the condition under which the Image Service will delete the "
        "object associated with the 'cinder_encryption_key_id' image property.",
        enum=["on_image_deletion", "do_not_delete"], is_base=False),
}
IMAGE_SCHEMA: dict[str, Any] = {
    "name": "image",
    "properties": {**BASE_PROPERTIES, **CUSTOM_PROPERTIES},
    "additionalProperties": {"type": "string"},
    "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
              {"rel": "describedby", "href": "{schema}"}],
}
IMAGES_SCHEMA: dict[str, Any] = {
    "name": "images",
    "properties": {
        "images": {"type": "array", "items": IMAGE_SCHEMA},
        "first": {"type": "string"},
        "next": {"type": "string"},
        "schema": {"type": "string"},
    },
    "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
              {"rel": "describedby", "href": "{schema}"}],
}
MEMBER_SCHEMA: dict[str, Any] = {
    "name": "member",
    "properties": {
        "member_id": _prop("string", "An identifier for the image member (tenantId)"),
        "image_id": _prop("string", "An identifier for the image", pattern=_UUID_PATTERN),
        "created_at": _prop("string", "Date and time of image member creation"),
        "updated_at": _prop("string", "Date and time of last modification of image member"),
        "status": _prop("string", "The status of this image member",
                        enum=["pending", "accepted", "rejected"]),
        "schema": {"readOnly": True, "type": "string"},
    },
}
MEMBERS_SCHEMA: dict[str, Any] = {
    "name": "members",
    "properties": {"members": {"type": "array", "items": MEMBER_SCHEMA},
                   "schema": {"type": "string"}},
    "links": [{"rel": "describedby", "href": "{schema}"}],
}
#: What create and patch values are checked against (the published schema, as an object).
_VALIDATION_SCHEMA = {**copy.deepcopy(IMAGE_SCHEMA), "type": "object"}
_VALIDATOR = jsonschema.Draft4Validator(_VALIDATION_SCHEMA)

# -- request rules (Glance's ``RequestDeserializer``) ----------------------------------------

#: Keys a create body may not carry at all.
DISALLOWED = ("direct_url", "self", "file", "schema", "stores")
#: Attributes only Glance sets.
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size",
             "direct_url", "self", "file", "schema", "id", "os_hash_algo", "os_hash_value")
#: Property names nobody may set (and, at create, ``locations``).
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_ON_CREATE = (*RESERVED, "locations")
RESERVED_NAMESPACE = "os_glance"
#: Keys of a create body that are attributes; every other key is a property.
CREATE_ATTRIBUTES = ("id", "name", "visibility", "protected", "os_hidden", "owner",
                     "disk_format", "container_format", "min_disk", "min_ram")
PATCH_TYPES = {
    "application/openstack-images-v2.0-json-patch": 4,
    "application/openstack-images-v2.1-json-patch": 10,
}
OPERATIONS = ("add", "remove", "replace")
OPERATION_NAMES: dict[str, Literal["add", "remove", "replace"]] = {
    "add": "add", "remove": "remove", "replace": "replace"}
MEMBER_STATUS_FILTERS = ("pending", "accepted", "rejected", "all")
VISIBILITY_FILTERS = ("community", "public", "private", "shared", "all")
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
CHUNK = 64 * 1024


def _schema_error(error: jsonschema.ValidationError) -> Fault:
    return Fault(400, f"Provided object does not match schema 'image': {error}")


def validate_image(obj: Any) -> None:
    error = next(iter(_VALIDATOR.iter_errors(obj)), None)
    if error is not None:
        raise _schema_error(error)


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _context(call: Call) -> RequestContext:
    token = call.token
    return RequestContext(
        user_id=token.user.id,
        project_id=token.project.id if token.project else None,
        roles=token.role_names,
        request_id=getattr(call.request.state, "request_id", ""),
    )


def _pointer(pointer: Any) -> tuple[str, ...]:
    """A JSON pointer as path segments, with Glance's checks and messages."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise Fault(400, f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise Fault(400, f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise Fault(400, f'Pointer `{pointer}` end with "/".')
    if pointer[1:].strip() == "/":
        raise Fault(400, f"Pointer `{pointer}` does not contains valid token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise Fault(400, f'Pointer `{pointer}` contains "~" not part of a recognized '
                         "escape sequence.")
    return tuple(part.replace("~1", "/").replace("~0", "~").strip()
                 for part in pointer[1:].split("/"))


def _parse_change(raw: Any, draft: int) -> Change:
    """One operation of a JSON-patch body (``_parse_json_schema_change`` and friends)."""
    if not isinstance(raw, dict):
        raise Fault(400, "Operations must be JSON objects.")
    available = ", ".join(OPERATIONS)
    if draft == 10:
        op = raw.get("op")
        if op is None:
            raise Fault(400, "Unable to find `op` in JSON Schema change. It must be one of "
                             f"the following: {available}.")
        if op not in OPERATIONS:
            raise Fault(400, f"Invalid operation: `{op}`. It must be one of the following: "
                             f"{available}.")
        if "path" not in raw:
            raise Fault(400, "Unable to find 'path' in JSON Schema change")
        pointer = raw["path"]
    else:
        named = [key for key in OPERATIONS if key in raw]
        if len(named) != 1:
            raise Fault(400, "Operation objects must contain exactly one member named "
                             '"add", "remove", or "replace".' if not named else
                             "Operation objects must contain only one member named "
                             '"add", "remove", or "replace".')
        op = named[0]
        pointer = raw[op]
    path = _pointer(pointer)
    if len(path) != 1:
        raise Fault(400, f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
    value = None
    if op != "remove":
        if "value" not in raw:
            raise Fault(400, f'Operation "{op}" requires a member named "value".')
        value = raw["value"]
    name = path[0]
    if len(name) > 255:
        raise Fault(400, "Custom property should not be greater than 255 characters.")
    if name in READ_ONLY:
        raise Fault(403, f"Attribute '{name}' is read-only.")
    if name in RESERVED or name.startswith(RESERVED_NAMESPACE):
        raise Fault(403, f"Attribute '{name}' is reserved.")
    if op != "remove":
        validate_image({name: value})
    return Change(op=OPERATION_NAMES[op], path=path, value=value, draft=draft)


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """A single ``Range: bytes=a-b`` as inclusive offsets; 416 when it cannot be served."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            count = int(last)
            if count <= 0:
                raise ValueError
            start, end = max(size - count, 0), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        raise Fault(416, "Requested range not satisfiable") from None
    if start < 0 or start >= size or end < start:
        raise Fault(416, "Requested range not satisfiable",
                    {"Content-Range": f"bytes */{size}"})
    return start, min(end, size - 1)


def _file_chunks(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


class ImageAPI(Service):
    prefix = "/image"

    def __init__(self, identity: IdentityService, public_url: str, max_body: int,
                 images: ImageService) -> None:
        self.images = images
        super().__init__(identity, public_url, max_body)

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/images", self.index),
            Route("POST", "/images", self.create),
            Route("GET", "/images/{image_id}", self.show),
            Route("PATCH", "/images/{image_id}", self.update),
            Route("DELETE", "/images/{image_id}", self.delete),
            Route("PUT", "/images/{image_id}/file", self.upload),
            Route("GET", "/images/{image_id}/file", self.download),
            Route("PUT", "/images/{image_id}/tags/{tag}", self.add_tag),
            Route("DELETE", "/images/{image_id}/tags/{tag}", self.remove_tag),
            Route("POST", "/images/{image_id}/actions/deactivate", self.deactivate),
            Route("POST", "/images/{image_id}/actions/reactivate", self.reactivate),
            Route("GET", "/images/{image_id}/members", self.list_members),
            Route("POST", "/images/{image_id}/members", self.add_member),
            Route("GET", "/images/{image_id}/members/{member_id}", self.show_member),
            Route("PUT", "/images/{image_id}/members/{member_id}", self.update_member),
            Route("DELETE", "/images/{image_id}/members/{member_id}", self.remove_member),
            Route("GET", "/schemas/image", self.schema(IMAGE_SCHEMA)),
            Route("GET", "/schemas/images", self.schema(IMAGES_SCHEMA)),
            Route("GET", "/schemas/member", self.schema(MEMBER_SCHEMA)),
            Route("GET", "/schemas/members", self.schema(MEMBERS_SCHEMA)),
        ]

    # -- dispatch and faults ------------------------------------------------------------------

    async def handle(self, request: Request, subpath: str) -> Response:
        # NOTE: no declared-size check here: Glance has no sizelimit middleware, and image
        # data is as large as it is. JSON bodies are still bounded when read.
        try:
            return await self.dispatch(request, subpath)
        except Exception as exc:
            return self.error_response(request, exc)

    def error_response(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, AuthFault):
            return self.render(exc)
        if isinstance(exc, Fault):
            fault = exc
        elif isinstance(exc, EmulatorError):
            status = next((code for kind, code in GLANCE_STATUS.items()
                           if isinstance(exc, kind)), None)
            fault = Fault(status, exc.message) if status else Fault.from_error(exc)
        else:
            log.error("unexpected error in %s %s", request.method, request.url.path,
                      exc_info=exc)
            fault = Fault(500, _SERVER_ERROR)
        return render_glance(fault, request.headers.get("accept"))

    def versions(self, request: Request, status: int) -> Response:
        href = f"{base_url(request)}{self.prefix}/v2/"
        return json_response({"versions": [
            {"id": ident, "status": state, "links": [{"rel": "self", "href": href}]}
            for ident, state in VERSIONS
        ]}, status=status)

    async def dispatch(self, request: Request, subpath: str) -> Response:
        segments = subpath.split("/", 2)
        first = segments[1] if len(segments) > 1 else ""
        if first == "versions":
            return self.versions(request, 200)
        if first not in URL_VERSIONS:
            return self.versions(request, 300)
        auth = self.authenticate(request)
        path = "/" + segments[2] if len(segments) > 2 else "/"
        if path.endswith("/"):
            # NOTE: Glance's routes match exactly: ``/v2/images/`` is no image and no list.
            raise Fault(404)
        try:
            route, params = self.table.match(request.method, path)
        except Fault as fault:
            if fault.status == 405:
                raise Fault(405, f"The method {request.method} is not allowed for this "
                                 "resource.", fault.headers) from None
            raise
        return await route.handler(Call(request=request, params=params, auth=auth))

    # -- bodies and views ----------------------------------------------------------------------

    async def _body(self, call: Call) -> Any:
        """A JSON body (dict or list), with Glance's messages."""
        raw = await read_body(call.request, self.max_body)
        if not raw:
            raise Fault(400, "Body expected in request.")
        try:
            body = parse_json(raw, None)
        except Fault:
            raise Fault(400, "Malformed JSON in request body.") from None
        if not isinstance(body, dict | list):
            raise Fault(400, "Unexpected body type. Expected list/dict.")
        return body

    @staticmethod
    def _view(image: ImageRecord) -> dict[str, Any]:
        view: dict[str, Any] = dict(image.properties)
        view.update({
            "name": image.name, "disk_format": image.disk_format,
            "container_format": image.container_format, "visibility": image.visibility,
            "size": image.size, "virtual_size": image.virtual_size, "status": image.status,
            "checksum": image.checksum, "protected": image.protected,
            "min_ram": image.min_ram, "min_disk": image.min_disk, "owner": image.owner,
            "os_hidden": image.os_hidden, "os_hash_algo": image.os_hash_algo,
            "os_hash_value": image.os_hash_value, "id": image.id,
            "created_at": _time(image.created_at), "updated_at": _time(image.updated_at),
            "tags": list(image.tags),
            "self": f"/v2/images/{image.id}",
            "file": f"/v2/images/{image.id}/file",
            "schema": "/v2/schemas/image",
        })
        return view

    @staticmethod
    def _member_view(member: MemberRecord) -> dict[str, Any]:
        return {"member_id": member.member_id, "image_id": member.image_id,
                "status": member.status, "created_at": _time(member.created_at),
                "updated_at": _time(member.updated_at), "schema": "/v2/schemas/member"}

    @staticmethod
    def schema(document: dict[str, Any]) -> Any:
        async def show(_call: Call) -> Response:
            return json_response(document)

        return show

    # -- images ---------------------------------------------------------------------------------

    @staticmethod
    def _sort(params: dict[str, list[str]]) -> tuple[tuple[str, str], ...]:
        def key(name: str) -> str:
            if name not in SORT_KEYS:
                raise Fault(400, f"Invalid sort key: {name}. It must be one of the "
                                 f"following: {', '.join(SORT_KEYS)}.")
            return name

        def direction(name: str) -> str:
            if name not in ("asc", "desc"):
                raise Fault(400, f"Invalid sort direction: {name}")
            return name

        if "sort" in params:
            if "sort_key" in params or "sort_dir" in params:
                raise Fault(400, "Old and new sorting syntax cannot be combined")
            pairs = []
            for item in params["sort"][-1].strip().split(","):
                name, _, way = item.partition(":")
                pairs.append((key(name.strip()), direction(way.strip() or "desc")))
            return tuple(pairs)
        keys = [key(k.strip()) for k in params.get("sort_key", [])] or ["created_at"]
        dirs = [direction(d.strip()) for d in params.get("sort_dir", [])] or ["desc"]
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise Fault(400, "Number of sort dirs does not match the number of sort keys")
        if len(dirs) == 1:
            dirs = dirs * len(keys)
        return tuple(zip(keys, dirs, strict=False))

    def _query(self, call: Call) -> ImageQuery:
        params: dict[str, list[str]] = {}
        for name, value in call.request.query_params.multi_items():
            params.setdefault(name, []).append(value)
        single = {name: values[-1] for name, values in params.items()}
        limit = DEFAULT_LIMIT
        if "limit" in single:
            try:
                limit = int(single["limit"])
            except ValueError:
                raise Fault(400, "limit param must be an integer") from None
            if limit < 0:
                raise Fault(400, "limit param must be positive")
            limit = min(limit, MAX_LIMIT)
        member_status = single.get("member_status", "accepted")
        if member_status not in MEMBER_STATUS_FILTERS:
            raise Fault(400, f"Invalid status: {member_status}")
        sort = self._sort(params)
        filters = {name: value for name, value in single.items()
                   if name not in ("limit", "marker", "member_status", "tag", "sort",
                                   "sort_key", "sort_dir")}
        visibility = filters.pop("visibility", None) or None
        if visibility is not None and visibility not in VISIBILITY_FILTERS:
            raise Fault(400, f"Invalid visibility value: {visibility}")
        if filters.get("changes-since"):
            raise Fault(400, 'The "changes-since" filter is no longer available on v2.')
        filters.pop("changes-since", None)
        os_hidden = filters.pop("os_hidden", "false").lower()
        if os_hidden not in ("true", "false"):
            raise Fault(400, f"Invalid value '{os_hidden}' for 'os_hidden' filter. Valid "
                             "values are 'true' or 'false'.")
        protected = filters.get("protected")
        if protected is not None and protected not in ("true", "false"):
            raise Fault(400, f"Invalid value '{protected}' for 'protected' filter. Valid "
                             "values are 'true' or 'false'.")
        return ImageQuery(
            filters=filters, tags=tuple(t.strip() for t in params.get("tag", [])),
            visibility=visibility, member_status=member_status,
            os_hidden=os_hidden == "true", sort=sort, limit=limit,
            marker=single.get("marker"),
        )

    async def index(self, call: Call) -> Response:
        page = self.images.list_images(_context(call), self._query(call))
        params = {name: value for name, value in call.request.query_params.items()
                  if name != "marker"}
        body: dict[str, Any] = {
            "images": [self._view(image) for image in page.images],
            "first": "/v2/images" + (f"?{urlencode(params)}" if params else ""),
            "schema": "/v2/schemas/images",
        }
        if page.next_marker is not None:
            body["next"] = f"/v2/images?{urlencode({**params, 'marker': page.next_marker})}"
        return json_response(body)

    async def show(self, call: Call) -> Response:
        image = self.images.get(_context(call), call.params["image_id"])
        return json_response(self._view(image))

    async def create(self, call: Call) -> Response:
        body = await self._body(call)
        if isinstance(body, dict):
            for key in DISALLOWED:
                if key in body:
                    raise Fault(403, f"Attribute '{key}' is read-only.")
        validate_image(body)
        assert isinstance(body, dict)
        for key in READ_ONLY:
            if key in body and key != "id":
                raise Fault(403, f"Attribute '{key}' is read-only.")
        properties = {k: v for k, v in body.items()
                      if k not in CREATE_ATTRIBUTES and k != "tags"}
        for key in properties:
            if len(key) > 255:
                raise Fault(400, "Custom property should not be greater than 255 characters.")
            if key in RESERVED_ON_CREATE or key.startswith(RESERVED_NAMESPACE):
                raise Fault(403, f"Attribute '{key}' is reserved.")
        ctx = _context(call)
        new = NewImage(
            owner=body.get("owner", ctx.project_id),
            id=body.get("id"),
            name=body.get("name"),
            visibility=body.get("visibility", "shared"),
            protected=body.get("protected", False),
            os_hidden=body.get("os_hidden", False),
            disk_format=body.get("disk_format"),
            container_format=body.get("container_format"),
            min_disk=body.get("min_disk", 0),
            min_ram=body.get("min_ram", 0),
            properties=properties,
            tags=body.get("tags", []),
        )
        image = self.images.create(ctx, new)
        location = f"{base_url(call.request)}{self.prefix}/v2/images/{image.id}"
        return json_response(self._view(image), status=201, headers={"Location": location})

    async def update(self, call: Call) -> Response:
        content_type = call.request.headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip()
        allowed = ", ".join(sorted(PATCH_TYPES))
        if media_type not in PATCH_TYPES:
            raise Fault(415, f"The request media type {media_type or None} is not supported "
                             f"by this server. Image PATCH expects Content-Type one of: "
                             f"{allowed}", {"Accept-Patch": allowed})
        body = await self._body(call)
        if not isinstance(body, list):
            raise Fault(400, "Request body must be a JSON array of operation objects.")
        changes = [_parse_change(raw, PATCH_TYPES[media_type]) for raw in body]
        image = self.images.update(_context(call), call.params["image_id"], changes)
        return json_response(self._view(image))

    async def delete(self, call: Call) -> Response:
        image_id = call.params["image_id"]
        try:
            self.images.delete(_context(call), image_id)
        except NotFound:
            raise Fault(404, f"Failed to find image {image_id} to delete") from None
        return empty_response(204)

    async def deactivate(self, call: Call) -> Response:
        self.images.set_active(_context(call), call.params["image_id"], active=False)
        return empty_response(204)

    async def reactivate(self, call: Call) -> Response:
        self.images.set_active(_context(call), call.params["image_id"], active=True)
        return empty_response(204)

    # -- data -----------------------------------------------------------------------------------

    async def upload(self, call: Call) -> Response:
        request = call.request
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip()
        if media_type != "application/octet-stream":
            raise Fault(415, f"Invalid content type {media_type or None}")
        declared = request.headers.get("x-openstack-image-size")
        if declared is not None and not declared.strip().lstrip("-").isdigit():
            raise Fault(400, "Invalid or missing image size in request headers.")

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in request.stream():
                if chunk:
                    yield chunk

        try:
            await self.images.upload(_context(call), call.params["image_id"], chunks())
        except ClientDisconnect:
            # The image is queued again; nobody is left to read this answer.
            raise Fault(400, "The client went away before the image data was complete.") \
                from None
        return empty_response(204)

    async def download(self, call: Call) -> Response:
        data = self.images.open_data(_context(call), call.params["image_id"])
        if data is None:
            return empty_response(204)
        headers = {"Content-Type": "application/octet-stream"}
        if data.record.checksum:
            headers["Content-MD5"] = data.record.checksum
        start, length, status = 0, data.size, 200
        requested = call.request.headers.get("range")
        if requested and data.size:
            try:
                span = _byte_range(requested, data.size)
            except Fault:
                data.file.close()
                raise
            if span is not None:
                start, end = span
                length, status = end - start + 1, 206
                headers["Content-Range"] = f"bytes {start}-{end}/{data.size}"
        headers["Content-Length"] = str(length)
        return StreamingResponse(_file_chunks(data.file, start, length), status_code=status,
                                 headers=headers, media_type="application/octet-stream")

    # -- tags -----------------------------------------------------------------------------------

    async def add_tag(self, call: Call) -> Response:
        image_id, tag = call.params["image_id"], call.params["tag"]
        validate_image({"tags": [tag]})
        try:
            self.images.add_tag(_context(call), image_id, tag)
        except NotFound:
            raise Fault(404, f"Image {image_id} not found.") from None
        except Forbidden:
            raise Fault(403, f"Not allowed to update tags for image {image_id}.") from None
        except LimitExceeded as exc:
            raise Fault(413, f"Image tag limit exceeded for image {image_id}: "
                             f"{exc.message}:") from None
        return empty_response(204)

    async def remove_tag(self, call: Call) -> Response:
        image_id, tag = call.params["image_id"], call.params["tag"]
        try:
            self.images.remove_tag(_context(call), image_id, tag)
        except TagNotFound:
            raise Fault(404) from None
        except NotFound:
            raise Fault(404, f"Image {image_id} not found.") from None
        except Forbidden:
            raise Fault(403, f"Not allowed to delete tags for image {image_id}.") from None
        return empty_response(204)

    # -- members --------------------------------------------------------------------------------

    @staticmethod
    def _image_not_found(image_id: str) -> Fault:
        return Fault(404, f"Image {image_id} not found.")

    async def list_members(self, call: Call) -> Response:
        image_id = call.params["image_id"]
        try:
            members = self.images.list_members(_context(call), image_id)
        except NotFound:
            raise self._image_not_found(image_id) from None
        except Forbidden as exc:
            raise Fault(403, f"Not allowed to list members for image {image_id}: "
                             f"{exc.message}") from None
        return json_response({"members": [self._member_view(m) for m in members],
                              "schema": "/v2/schemas/members"})

    async def add_member(self, call: Call) -> Response:
        image_id = call.params["image_id"]
        body = await self._body(call)
        if not isinstance(body, dict):
            raise Fault(400, 'Expected a member in the form: {"member": "image_id"}')
        if "member" not in body:
            raise Fault(400, "Member to be added not specified")
        member_id = body["member"]
        if not member_id:
            raise Fault(400, "Member can't be empty")
        if not isinstance(member_id, str) or len(member_id) > 255:
            raise Fault(400, 'Expected a member in the form: {"member": "image_id"}')
        try:
            member = self.images.add_member(_context(call), image_id, member_id)
        except NotFound:
            raise self._image_not_found(image_id) from None
        except Forbidden:
            raise Fault(403, f"Not allowed to create members for image {image_id}.") from None
        except LimitExceeded as exc:
            raise Fault(413, f"Image member limit exceeded for image {image_id}: "
                             f"{exc.message}:") from None
        return json_response(self._member_view(member))

    async def show_member(self, call: Call) -> Response:
        image_id, member_id = call.params["image_id"], call.params["member_id"]
        try:
            member = self.images.get_member(_context(call), image_id, member_id)
        except Forbidden:
            raise Fault(403, "You are not authorized to lookup the members of the image "
                             f"{image_id}.") from None
        return json_response(self._member_view(member))

    async def update_member(self, call: Call) -> Response:
        image_id, member_id = call.params["image_id"], call.params["member_id"]
        body = await self._body(call)
        if not isinstance(body, dict):
            raise Fault(400, 'Expected a status in the form: {"status": "status"}')
        if "status" not in body:
            raise Fault(400, "Status not specified")
        try:
            member = self.images.update_member(_context(call), image_id, member_id,
                                               str(body["status"]))
        except Forbidden:
            raise Fault(403, f"Not allowed to update members for image {image_id}.") from None
        return json_response(self._member_view(member))

    async def remove_member(self, call: Call) -> Response:
        image_id, member_id = call.params["image_id"], call.params["member_id"]
        try:
            self.images.remove_member(_context(call), image_id, member_id)
        except Forbidden:
            raise Fault(403, f"Not allowed to delete members for image {image_id}.") from None
        return empty_response(204)
