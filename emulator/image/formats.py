"""Disk image formats: what the bytes are, their virtual size, and a minimal qcow2 writer.

Glance inspects uploads of ``bare`` images and, with ``require_image_format_match`` (its
default), refuses data whose format differs from the ``disk_format`` the image claims.
``inspect`` does the same from the first bytes of the data: each known format is a
signature at an offset and a way to read the virtual size from the header. Anything else
is ``raw``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

#: Bytes of the data's head that ``inspect`` needs (an ISO's descriptor sits at 32 KiB).
HEAD_BYTES = 64 * 1024

QCOW2_MAGIC = b"QFI\xfb"
_QCOW2_HEADER = struct.Struct(">4sIQIIQIIQQIIQ")


@dataclass(frozen=True)
class Inspection:
    """What the head of an image says about it."""

    format: str
    #: Bytes the guest sees, when the header says (``None``: the data's own size).
    virtual_size: int | None = None
    #: Why the data is refused even though its format is recognised (Glance's safety checks).
    unsafe: str | None = None


def _qcow2(head: bytes) -> Inspection:
    if len(head) < _QCOW2_HEADER.size:
        return Inspection("qcow2", unsafe="truncated qcow2 header")
    fields = _QCOW2_HEADER.unpack_from(head)
    backing_file_offset, size = fields[2], fields[5]
    if backing_file_offset:
        return Inspection("qcow2", size, unsafe="qcow2 image has a backing file")
    return Inspection("qcow2", size)


def _vmdk(head: bytes) -> Inspection:
    capacity_sectors = struct.unpack_from("<Q", head, 12)[0] if len(head) >= 20 else 0
    return Inspection("vmdk", capacity_sectors * 512)


def _vdi(head: bytes) -> Inspection:
    size = struct.unpack_from("<Q", head, 0x170)[0] if len(head) >= 0x178 else None
    return Inspection("vdi", size)


def _vhd(head: bytes) -> Inspection:
    size = struct.unpack_from(">Q", head, 48)[0] if len(head) >= 56 else None
    return Inspection("vhd", size)


def _plain(name: str) -> Callable[[bytes], Inspection]:
    def inspect_(_head: bytes) -> Inspection:
        return Inspection(name)

    return inspect_


#: (format, offset, signature, reader) in the order they are tried.
SIGNATURES: tuple[tuple[str, int, bytes, Callable[[bytes], Inspection]], ...] = (
    ("qcow2", 0, QCOW2_MAGIC, _qcow2),
    ("vhdx", 0, b"vhdxfile", _plain("vhdx")),
    ("vmdk", 0, b"KDMV", _vmdk),
    ("vdi", 0x40, b"\x7f\x10\xda\xbe", _vdi),
    ("vhd", 0, b"conectix", _vhd),
    ("iso", 0x8001, b"CD001", _plain("iso")),
    ("iso", 0x8801, b"CD001", _plain("iso")),
    ("iso", 0x9001, b"CD001", _plain("iso")),
)

#: Formats Glance's inspector recognises; other disk formats (ami, aki, ari, ploop) take
#: any data.
INSPECTABLE = frozenset({"raw", "qcow2", "vhd", "vhdx", "vmdk", "vdi", "iso"})


def inspect(head: bytes) -> Inspection:
    """The format of data starting with ``head`` (at least ``HEAD_BYTES`` when available)."""
    for _name, offset, signature, reader in SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            return reader(head)
    return Inspection("raw")


class FormatMismatch(ValueError):
    """The data is not what the image's ``disk_format`` says (or fails a safety check)."""


def check(disk_format: str | None, found: Inspection, data_size: int) -> int | None:
    """The virtual size to record for data inspected as ``found``, or ``FormatMismatch``.

    Glance's rules: a matching format gives the header's virtual size; ``raw`` images take
    anything (their virtual size is the data size); formats it cannot inspect take data it
    does not recognise.
    """
    if found.format == disk_format:
        if found.unsafe:
            raise FormatMismatch("Image failed safety checks")
        return found.virtual_size if found.virtual_size is not None else data_size
    if disk_format == "raw":
        return data_size
    if found.format == "raw" and disk_format not in INSPECTABLE:
        return None
    raise FormatMismatch(
        f"Image disk_format {disk_format} does not match stream data {found.format}")


def qcow2_image(virtual_size: int, cluster_bits: int = 16) -> bytes:
    """An empty qcow2 (version 3) of ``virtual_size`` bytes, laid out as ``qemu-img create``.

    Cluster 0 holds the header, cluster 1 the refcount table, cluster 2 its one refcount
    block (16-bit entries counting clusters 0-3), and the L1 table starts cluster 3 with
    every entry zero: nothing is allocated, every guest read returns zeros.
    """
    cluster = 1 << cluster_bits
    l2_coverage = (cluster // 8) * cluster
    l1_entries = max(1, -(-virtual_size // l2_coverage))
    header = _QCOW2_HEADER.pack(
        QCOW2_MAGIC, 3,          # magic, version
        0, 0,                    # backing file offset, size
        cluster_bits,
        virtual_size,
        0,                       # no encryption
        l1_entries, 3 * cluster,  # L1 size, offset
        cluster, 1,              # refcount table offset, clusters
        0, 0,                    # no snapshots
    ) + struct.pack(">QQQII", 0, 0, 0, 4, 104)  # feature bits, refcount_order, header length
    refcount_table = struct.pack(">Q", 2 * cluster)
    refcount_block = struct.pack(">4H", 1, 1, 1, 1)
    return (header.ljust(cluster, b"\0") + refcount_table.ljust(cluster, b"\0")
            + refcount_block.ljust(cluster, b"\0") + b"\0" * (8 * l1_entries))
