"""Nova's checks of what a server is built from, shared by create, rebuild and resize:
its image against its flavor, its key pair, how much metadata it carries, its tags."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from emulator.compute.keypairs import KeyPairService
from emulator.context import RequestContext
from emulator.errors import Forbidden, InvalidInput, NotFound, OverQuota

#: Nova's ``[quota] metadata_items`` default: metadata items a server (or an image it makes)
#: holds (the quota in force comes from ``emulator.compute.quotas``).
MAX_METADATA_ITEMS = 128
#: Nova's tag limits (``nova.objects.instance.MAX_TAG_COUNT``, the tag schema's length).
MAX_TAGS = 50
MAX_TAG_LENGTH = 60


@dataclass(frozen=True)
class ImageInfo:
    """What the compute domain needs to know of an image (from the image service)."""

    id: str
    status: str
    min_ram: int
    min_disk: int
    #: What a create hands on from its one read of the image (Nova's API reads it once):
    #: its block device mappings, and the scheduler's image filters.
    properties: Mapping[str, str] = field(default_factory=dict)
    #: Why the backend cannot boot it (None: it can), Nova's ``ImageUnacceptable``.
    unbootable: str | None = None


#: ``lookup(ctx, image_id)``: the image ``ctx`` can see, else None.
ImageLookup = Callable[[RequestContext, str], ImageInfo | None]


def image_id_of(ref: str) -> str:
    """An image or flavor reference may be a URL; Nova takes its last segment."""
    return ref.rstrip("/").rsplit("/", 1)[-1]


def check_metadata_count(count: int, limit: int = MAX_METADATA_ITEMS) -> None:
    """Nova's metadata quota check (``_check_metadata_properties_quota``), a 403;
    ``limit``: the ``metadata_items`` quota in force (-1: none)."""
    if 0 <= limit < count:
        raise OverQuota(f"Maximum number of metadata items exceeds {limit}")


def check_image_metadata_count(count: int, limit: int = MAX_METADATA_ITEMS) -> None:
    """Nova's ``check_img_metadata_properties_quota`` (the image proxy, and createImage and
    createBackup up to 2.38): the same quota, worded for images."""
    if 0 <= limit < count:
        raise Forbidden("Image metadata limit exceeded")


def check_image_active(image: ImageInfo) -> None:
    """The image a server boots is active (400), and one the backend can boot: Nova's
    ``ImageUnacceptable`` (400) otherwise."""
    if image.status != "active":
        raise InvalidInput(f"Image {image.id} is not active.")
    if image.unbootable is not None:
        raise InvalidInput(f"Image {image.id} is unacceptable: {image.unbootable}")


def check_flavor_fits(min_ram: int, min_disk: int, memory_mb: int, root_gb: int,
                      check_disk: bool = True) -> None:
    """Nova's ``_check_requested_image``: the flavor's memory and root disk against the
    image's minimums (the disk only when ``check_disk``)."""
    if min_ram > memory_mb:
        raise InvalidInput("Flavor's memory is too small for requested image.")
    if check_disk and min_disk > root_gb:
        raise InvalidInput(
            "Flavor's disk is smaller than the minimum size specified in image metadata. "
            f"Flavor disk is {root_gb * 1024**3} bytes, minimum size is "
            f"{min_disk * 1024**3} bytes.")


def key_data(keypairs: KeyPairService, ctx: RequestContext, key_name: str | None) -> str | None:
    """The public key of ``ctx``'s key pair ``key_name`` (None for None); 400 if unknown."""
    if key_name is None:
        return None
    try:
        return keypairs.get(ctx, key_name).public_key
    except NotFound:
        raise InvalidInput("Invalid key_name provided.") from None


def check_tag(tag: str) -> None:
    """Nova's tag schema (``parameter_types.tag``: 1-60 characters, no ``/`` or ``,``),
    worded as its tag controller words a bad tag.

    NOTE: Nova's pattern ``^[^,/]*$`` lets control characters through (``[^,/]`` and ``$``
    match newlines); we refuse them: a tag is a URL segment and a header value, and
    PostgreSQL cannot store a NUL.
    """
    problem = None
    if not tag:
        problem = f"{tag!r} is too short"
    elif "," in tag or "/" in tag:
        problem = f"{tag!r} does not match '^[^,/]*$'"
    elif len(tag) > MAX_TAG_LENGTH:
        problem = f"{tag!r} is too long"
    elif any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 for c in tag):
        problem = f"{tag!r} contains a control character"
    if problem is not None:
        raise InvalidInput(f"Tag '{tag}' is invalid. It must be a non empty string without "
                           f"characters '/' and ','. Validation error message: {problem}")
