"""The columns a resize moves between: the new flavor in place with the old one kept
(``old_*``, as Nova's ``instance.old_flavor``) until confirm or revert, and where the
server was before (``source_host``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.compute.checks import ImageLookup, check_flavor_fits
from emulator.compute.flavors import FlavorRecord, FlavorService
from emulator.compute.models import Instance
from emulator.context import RequestContext
from emulator.errors import InvalidInput, NotFound

#: Columns that end a resize on its new flavor (confirm): nothing old is kept.
FORGET_OLD_FLAVOR: dict[str, Any] = {
    "old_flavor_id": None, "old_flavor_name": None, "old_vcpus": 0, "old_memory_mb": 0,
    "old_root_gb": 0, "old_ephemeral_gb": 0, "old_swap": 0, "old_flavor_extra_specs": None}
#: Columns a confirmed resize ends with: the new flavor only, the source released.
CONFIRMED: dict[str, Any] = {**FORGET_OLD_FLAVOR, "old_vm_state": None,
                             "source_host": None, "source_node": None}


def resized_columns(row: Instance, flavor: FlavorRecord) -> dict[str, Any]:
    """The columns a resize of ``row`` to ``flavor`` sets (the old flavor kept)."""
    return {
        "old_flavor_id": row.flavor_id, "old_flavor_name": row.flavor_name,
        "old_vcpus": row.vcpus, "old_memory_mb": row.memory_mb,
        "old_root_gb": row.root_gb, "old_ephemeral_gb": row.ephemeral_gb,
        "old_swap": row.swap, "old_flavor_extra_specs": dict(row.flavor_extra_specs),
        "flavor_id": flavor.flavorid, "flavor_name": flavor.name,
        "vcpus": flavor.vcpus, "memory_mb": flavor.memory_mb, "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
        "flavor_extra_specs": dict(flavor.extra_specs),
    }


def kept_flavor_columns(row: Instance) -> dict[str, Any]:
    """The columns a cold migration sets: its flavor kept as the old one too (Nova's
    migration holds the same flavor on both hosts)."""
    return {"old_flavor_id": row.flavor_id, "old_flavor_name": row.flavor_name,
            "old_vcpus": row.vcpus, "old_memory_mb": row.memory_mb,
            "old_root_gb": row.root_gb, "old_ephemeral_gb": row.ephemeral_gb,
            "old_swap": row.swap, "old_flavor_extra_specs": dict(row.flavor_extra_specs)}


def restore_old_flavor(row: Instance) -> dict[str, Any]:
    """Columns that end a resize on its old flavor (revert, or a failed resize)."""
    if row.old_flavor_id is None:
        return {}
    return {"flavor_id": row.old_flavor_id, "flavor_name": row.old_flavor_name or "",
            "vcpus": row.old_vcpus, "memory_mb": row.old_memory_mb,
            "root_gb": row.old_root_gb, "ephemeral_gb": row.old_ephemeral_gb,
            "swap": row.old_swap, "flavor_extra_specs": dict(row.old_flavor_extra_specs or {}),
            **FORGET_OLD_FLAVOR}


def reverted_columns(row: Instance, host_zone: Callable[[str], str]) -> dict[str, Any]:
    """Columns a reverted resize ends with: the old flavor, back on the source host (the
    destination released)."""
    columns: dict[str, Any] = {**restore_old_flavor(row), "old_vm_state": None,
                               "source_host": None, "source_node": None}
    if row.source_host is not None:
        columns.update(host=row.source_host, node=row.source_node or row.source_host)
        columns["availability_zone"] = host_zone(row.source_host)
    return columns


def failed_resize_columns(row: Instance) -> dict[str, Any]:
    """Columns a resize that failed goes back to (``row`` as accepted, its new flavor in
    place): the old flavor on the host it had."""
    return {**restore_old_flavor(row), "old_vm_state": None, "host": row.host,
            "node": row.node, "availability_zone": row.availability_zone,
            "source_host": None, "source_node": None}


def resize_columns(flavors: FlavorService, images: ImageLookup, ctx: RequestContext,
                   row: Instance, flavor_ref: str) -> dict[str, Any]:
    """The columns a resize to ``flavor_ref`` sets (the new flavor, the old one kept),
    after Nova's checks: an unknown or disabled flavor, the same flavor, a zero disk, the
    image's minimums."""
    flavor_id = str(flavor_ref)
    try:
        flavor = flavors.get(ctx, flavor_id)
    except NotFound:
        raise InvalidInput(f"Flavor {flavor_id} could not be found.") from None
    if flavor.root_gb == 0 and row.root_gb != 0 and row.image_ref:
        raise InvalidInput("Server disk was unable to be resized because: Resize to zero "
                           "disk flavor is not allowed.")
    if flavor.flavorid == row.flavor_id:
        raise InvalidInput("When resizing, instances must change flavor!")
    if flavor.disabled:
        raise InvalidInput(f"Flavor {flavor_id} could not be found.")
    if row.image_ref:
        # Nova checks the flavor against the image as the instance's system metadata keeps
        # it, where min_disk is at least the root disk of the flavor it was built with
        # (NOTE: approximated by the current flavor's): so a smaller disk is a 400.
        image = images(ctx, row.image_ref)
        min_ram = image.min_ram if image is not None else 0
        min_disk = max(image.min_disk if image is not None else 0, row.root_gb)
        check_flavor_fits(min_ram, min_disk, flavor.memory_mb, flavor.root_gb,
                          check_disk=bool(flavor.root_gb))
    return resized_columns(row, flavor)
