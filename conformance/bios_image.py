"""A tiny disk any BIOS boots, built here (test data, nothing downloaded): a 512-byte x86
boot sector, hand-assembled, that writes a message to COM1 (the serial console) and halts.

The code, at 0x7C00 in real mode (``ORG_SIZE`` bytes; the message follows it)::

    cli; cld                  FA FC
    xor ax, ax; mov ds, ax    31 C0 8E D8         DS = 0
    mov si, message           BE lo hi            SI = 0x7C00 + ORG_SIZE
    mov dx, 0x3F8             BA F8 03            COM1's data port
    next: lodsb               AC                  AL = [DS:SI++]
    test al, al; jz halt      84 C0 74 03         the NUL ends it
    out dx, al                EE
    jmp next                  EB F8
    halt: cli; hlt; jmp halt  FA F4 EB FC

and 0x55 0xAA at bytes 510-511, the boot signature.
"""

from __future__ import annotations

import struct
from typing import Any

from conformance.client import ApiSession

#: Where a BIOS loads the boot sector.
LOAD_ADDRESS = 0x7C00
#: What the sector prints unless told otherwise.
MESSAGE = "nova-emulator: the tiny BIOS guest booted"
_CODE_SIZE = 24
_SIGNATURE = b"\x55\xaa"


def boot_sector(message: str = MESSAGE) -> bytes:
    """The 512-byte sector that prints ``message`` (then CR LF) on COM1 and halts."""
    text = (message + "\r\n").encode("ascii") + b"\0"
    if _CODE_SIZE + len(text) > 510:
        raise ValueError(f"message too long for a boot sector: {len(text)} bytes")
    code = (b"\xfa\xfc" + b"\x31\xc0\x8e\xd8"
            + b"\xbe" + struct.pack("<H", LOAD_ADDRESS + _CODE_SIZE)
            + b"\xba\xf8\x03"
            + b"\xac" + b"\x84\xc0\x74\x03" + b"\xee" + b"\xeb\xf8"
            + b"\xfa\xf4\xeb\xfc")
    assert len(code) == _CODE_SIZE
    return (code + text).ljust(510, b"\0") + _SIGNATURE


def raw_disk(message: str = MESSAGE, size: int = 1 << 20) -> bytes:
    """A raw disk of ``size`` bytes (1 MiB) whose first sector is ``boot_sector``."""
    return boot_sector(message).ljust(size, b"\0")


def upload(session: ApiSession, message: str = MESSAGE, **fields: Any) -> str:
    """``raw_disk(message)`` uploaded through Glance as a user would (create the image,
    PUT its data) as ``session``'s raw image, with ``fields`` (its ``name``, default
    ``tiny-bios``; ``visibility`` ...); its id."""
    images = f"{session.endpoint('image')}/v2/images"
    created = session.request("POST", images, json={
        "name": "tiny-bios", "disk_format": "raw", "container_format": "bare", **fields})
    assert created.status_code == 201, created.text
    image_id = str(created.json()["id"])
    uploaded = session.request("PUT", f"{images}/{image_id}/file", content=raw_disk(message),
                               headers={"Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return image_id


#: Backends whose guests run what their image holds: the emulator's seeded images
#: (placeholders, an empty disk each) are refused there (Nova's ImageUnacceptable).
REFUSES_PLACEHOLDERS = frozenset({"qemu"})
#: The public image ``boot_image`` uploads on those backends, and its two inheritable
#: properties (as the seeded CirrOS has two).
SHARED_NAME = "conformance-tiny-bios"
SHARED_PROPERTIES = {"os_distro": "bootsector", "os_version": "1"}


def boot_image(member: ApiSession, admin: ApiSession, backend: str | None) -> dict[str, Any]:
    """An image any project's servers boot from cheaply (its ``id`` and ``name``...): the
    seeded CirrOS (else the first image listed) where it boots, i.e. the simulated cloud
    or a real one (``backend`` None); on a backend that refuses the seeded placeholders
    (qemu), this disk (SeaBIOS boots its one sector), uploaded once per emulator by the
    admin as the public image ``SHARED_NAME``."""
    if backend not in REFUSES_PLACEHOLDERS:
        images: list[dict[str, Any]] = member.compute("GET", "/images").json()["images"]
        return next((i for i in images if i["name"].startswith("cirros")), images[0])
    glance = f"{admin.endpoint('image')}/v2/images"
    found = admin.request("GET", glance, params={"name": SHARED_NAME}).json()["images"]
    if not found:
        upload(admin, name=SHARED_NAME, visibility="public", **SHARED_PROPERTIES)
        found = admin.request("GET", glance, params={"name": SHARED_NAME}).json()["images"]
    image: dict[str, Any] = found[0]
    return image
