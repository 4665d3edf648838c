"""The Azure Public Dataset's VM table (``vmtable.csv``, V2 2019 and V1 2017) as a trace.

The file has no header; each row is one VM, eleven columns (the dataset's notebook
``Azure 2019 Public Dataset V2 - Trace Analysis.ipynb`` names them)::

    vmid, subscriptionid, deploymentid, vmcreated, vmdeleted, maxcpu, avgcpu,
    p95maxcpu, vmcategory, vmcorecountbucket, vmmemorybucket

``vmcreated``/``vmdeleted`` are seconds from the start of the 30-day trace (5-minute
steps). In V2 the core count is a bucket named by its upper end (``2`` for 0-2, then
``4``, ``8``, ``12``, ``24``, ``>24``) and so is memory in GB (``2``, ``4``, ``8``, ``32``,
``64``, ``>64``); V1 gives the counts themselves (memory may be fractional, e.g.
``1.75``). A bucket is read as its upper end, the open ones as the notebook does
(``>24`` cores: 30, ``>64`` GB: 70); memory becomes MiB (x 1024). The table has no disk:
every VM asks ``disk_gb`` (0: none). Each VM is created at ``vmcreated`` and deleted at
``vmdeleted``; a ``.gz`` file is read as it is.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from emulator.bench.trace import Event, Trace, TraceError

#: The columns of ``vmtable.csv``, in order.
COLUMNS: tuple[str, ...] = (
    "vmid", "subscriptionid", "deploymentid", "vmcreated", "vmdeleted", "maxcpu", "avgcpu",
    "p95maxcpu", "vmcategory", "vmcorecountbucket", "vmmemorybucket")
#: What the open-ended buckets stand for (the dataset's notebook).
OPEN_BUCKETS: dict[str, dict[str, float]] = {
    "vmcorecountbucket": {">24": 30},
    "vmmemorybucket": {">64": 70},
}


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _bucket(column: str, value: str) -> float:
    """A bucket's value (its upper end, or what an open one stands for)."""
    text = value.strip()
    if text in OPEN_BUCKETS[column]:
        return OPEN_BUCKETS[column][text]
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        known = ", ".join(OPEN_BUCKETS[column])
        raise ValueError(f"{column} {value!r} is neither a positive number nor {known}")
    return number


def _seconds(column: str, value: str) -> int:
    try:
        seconds = int(value.strip())
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise ValueError(f"{column} {value!r} is not a number of seconds >= 0")
    return seconds


def _vms(rows: Iterator[list[str]], name: str, limit: int | None
         ) -> Iterator[tuple[int, str, int, int, int, int]]:
    """(row, vmid, created, deleted, cores, memory MiB) of each VM row."""
    taken = 0
    for number, row in enumerate(rows, 1):
        if not row or (number == 1 and row[0].strip() == "vmid"):  # a header, if any
            continue
        if limit is not None and taken >= limit:
            return
        if len(row) != len(COLUMNS):
            raise TraceError(f"{name}:{number}: {len(row)} columns, not the {len(COLUMNS)} "
                             f"of vmtable.csv ({', '.join(COLUMNS)})")
        fields = dict(zip(COLUMNS, row, strict=True))
        try:
            vmid = fields["vmid"].strip()
            if not vmid:
                raise ValueError("vmid is empty")
            created = _seconds("vmcreated", fields["vmcreated"])
            deleted = _seconds("vmdeleted", fields["vmdeleted"])
            if deleted < created:
                raise ValueError(f"vmdeleted {deleted} is before vmcreated {created}")
            cores = math.ceil(_bucket("vmcorecountbucket", fields["vmcorecountbucket"]))
            memory_mb = round(_bucket("vmmemorybucket", fields["vmmemorybucket"]) * 1024)
        except ValueError as exc:
            raise TraceError(f"{name}:{number}: {exc}") from None
        taken += 1
        yield number, vmid, created, deleted, cores, memory_mb


def read_vmtable(path: Path, *, limit: int | None = None, disk_gb: int = 0,
                 start: int = 0, end: int | None = None) -> Trace:
    """A trace of the VMs in ``path`` (its first ``limit`` rows) created in
    ``[start, end)`` seconds, with times counted from ``start``. A VM deleted after
    ``end`` is not deleted in the trace."""
    timed: list[tuple[float, int, Event]] = []  # (time, order at that time, event)
    seen: dict[str, int] = {}
    try:
        with _open(path) as text:
            for number, vmid, created, deleted, cores, memory_mb in _vms(
                    csv.reader(text), path.name, limit):
                if vmid in seen:
                    raise TraceError(f"{path.name}:{number}: vmid {vmid} is also on row "
                                     f"{seen[vmid]}")
                seen[vmid] = number
                if created < start or (end is not None and created >= end):
                    continue
                resources = {"VCPU": cores, "MEMORY_MB": memory_mb}
                if disk_gb:
                    resources["DISK_GB"] = disk_gb
                at = float(created - start)
                timed.append((at, 1, Event(at, "create", vmid, resources=resources)))
                if end is None or deleted < end:
                    # At one time, VMs that end go before those that start (their room is
                    # free), but a VM shorter than the table's 5-minute step is created first.
                    gone = float(deleted - start)
                    timed.append((gone, 2 if deleted == created else 0,
                                  Event(gone, "delete", vmid)))
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as exc:
        raise TraceError(f"cannot read {path}: {exc}") from None
    if not timed:
        raise TraceError(f"{path.name}: no VM in the window asked for")
    timed.sort(key=lambda t: t[:2])
    return Trace(path.name, [event for *_, event in timed])
