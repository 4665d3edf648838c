"""What a simulated guest's disk holds: nothing (an empty qcow2 of its size)."""

from __future__ import annotations

import struct


def empty_qcow2(virtual_size: int, cluster_bits: int = 16) -> bytes:
    """A qcow2 (version 3) of ``virtual_size`` bytes with nothing allocated: what a
    simulated guest's snapshot holds (header, refcount table and block, zero L1 table)."""
    cluster = 1 << cluster_bits
    l1_entries = max(1, -(-virtual_size // ((cluster // 8) * cluster)))
    header = struct.pack(">4sIQIIQIIQQIIQ", b"QFI\xfb", 3, 0, 0, cluster_bits, virtual_size,
                         0, l1_entries, 3 * cluster, cluster, 1, 0, 0)
    header += struct.pack(">QQQII", 0, 0, 0, 4, 104)
    return (header.ljust(cluster, b"\0") + struct.pack(">Q", 2 * cluster).ljust(cluster, b"\0")
            + struct.pack(">4H", 1, 1, 1, 1).ljust(cluster, b"\0") + b"\0" * (8 * l1_entries))
