"""What Glance answers with: an image, a member, a page of images (with its links)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from emulator.image.service import ImagePage, ImageRecord, MemberRecord


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_view(image: ImageRecord) -> dict[str, Any]:
    """The image: its properties, then its attributes and links (attributes win)."""
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


def images_view(page: ImagePage, query: Mapping[str, str]) -> dict[str, Any]:
    """A page of images; ``first`` and ``next`` repeat the query (``marker`` replaced)."""
    params = {name: value for name, value in query.items() if name != "marker"}
    body: dict[str, Any] = {
        "images": [image_view(image) for image in page.images],
        "first": "/v2/images" + (f"?{urlencode(params)}" if params else ""),
        "schema": "/v2/schemas/images",
    }
    if page.next_marker is not None:
        body["next"] = f"/v2/images?{urlencode({**params, 'marker': page.next_marker})}"
    return body


def member_view(member: MemberRecord) -> dict[str, Any]:
    return {"member_id": member.member_id, "image_id": member.image_id,
            "status": member.status, "created_at": _time(member.created_at),
            "updated_at": _time(member.updated_at), "schema": "/v2/schemas/member"}
