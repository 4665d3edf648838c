"""The Azure Public Dataset's vmtable.csv reader, on small files written here in the
dataset's format: no header, eleven columns (vmid, subscriptionid, deploymentid,
vmcreated, vmdeleted, maxcpu, avgcpu, p95maxcpu, vmcategory, vmcorecountbucket,
vmmemorybucket), seconds from 0 in 5-minute steps, V2's buckets."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from emulator.bench.azure import read_vmtable
from emulator.bench.trace import TraceError, dump_lines, read_lines


def _row(vmid: str, created: int, deleted: int, cores: str, memory: str) -> str:
    return (f"{vmid},sub+{vmid}=,dep/{vmid}=,{created},{deleted},91.77,0.72,20.75,"
            f"Delay-insensitive,{cores},{memory}\n")


ROWS = [
    _row("vmB", 600, 1500, "4", "8"),
    _row("vmA", 0, 2591700, ">24", ">64"),
    _row("vmC", 1500, 1500, "2", "2"),  # shorter than the 5-minute step
    _row("vmD", 1500, 3000, "12", "32"),
]


def _write(tmp_path: Path, rows: list[str], name: str = "vmtable.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(rows), encoding="utf-8")
    return path


def test_vms_become_creates_and_deletes_in_time_order(tmp_path: Path) -> None:
    trace = read_vmtable(_write(tmp_path, ROWS))
    assert "vmtable.csv" == trace.name
    assert [
        (0.0, "create", "vmA", {"VCPU": 30, "MEMORY_MB": 70 * 1024}),
        (600.0, "create", "vmB", {"VCPU": 4, "MEMORY_MB": 8192}),
        # at 1500: vmB's end frees its room first; vmC is created before it is deleted
        (1500.0, "delete", "vmB", {}),
        (1500.0, "create", "vmC", {"VCPU": 2, "MEMORY_MB": 2048}),
        (1500.0, "create", "vmD", {"VCPU": 12, "MEMORY_MB": 32768}),
        (1500.0, "delete", "vmC", {}),
        (3000.0, "delete", "vmD", {}),
        (2591700.0, "delete", "vmA", {}),
    ] == sorted(((e.time, e.event, e.server, dict(e.resources)) for e in trace.events),
                key=lambda t: t[0]) \
        == [(e.time, e.event, e.server, dict(e.resources)) for e in trace.events]
    # and it is a valid trace, as written and read back
    assert trace.events == read_lines(list(dump_lines(trace.events))).events


def test_limit_window_disk_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "vmtable.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(ROWS)
    trace = read_vmtable(path, limit=2, disk_gb=30)
    assert ["vmA", "vmB", "vmB", "vmA"] == [e.server for e in trace.events]
    assert {"VCPU": 4, "MEMORY_MB": 8192, "DISK_GB": 30} == trace.events[1].resources
    window = read_vmtable(path, start=600, end=2000)
    # vmA started before the window; vmD ends after it: created, never deleted
    assert [(0.0, "create", "vmB"), (900.0, "delete", "vmB"), (900.0, "create", "vmC"),
            (900.0, "create", "vmD"), (900.0, "delete", "vmC")] == \
        [(e.time, e.event, e.server) for e in window.events]


def test_v1_counts_and_a_header_line_are_read(tmp_path: Path) -> None:
    header = ",".join(["vmid", "subscriptionid", "deploymentid", "vmcreated", "vmdeleted",
                       "maxcpu", "avgcpu", "p95maxcpu", "vmcategory", "vmcorecountbucket",
                       "vmmemorybucket"]) + "\n"
    trace = read_vmtable(_write(tmp_path, [header, _row("v1", 0, 300, "1", "1.75")]))
    assert {"VCPU": 1, "MEMORY_MB": 1792} == trace.events[0].resources


@pytest.mark.parametrize(("row", "error"), [
    ("a,b,c\n", "vmtable.csv:2: 3 columns, not the 11 of vmtable.csv"),
    (_row("x", 600, 300, "2", "2"), "vmtable.csv:2: vmdeleted 300 is before vmcreated 600"),
    (_row("x", -5, 300, "2", "2"), "vmtable.csv:2: vmcreated '-5' is not a number of sec"),
    (_row("x", 0, 300, "many", "2"),
     "vmtable.csv:2: vmcorecountbucket 'many' is neither a positive number nor >24"),
    (_row("x", 0, 300, "2", "0"),
     "vmtable.csv:2: vmmemorybucket '0' is neither a positive number nor >64"),
    (_row("", 0, 300, "2", "2"), "vmtable.csv:2: vmid is empty"),
    (_row("vmB", 0, 300, "2", "2"), "vmtable.csv:2: vmid vmB is also on row 1"),
])
def test_a_bad_row_is_named(tmp_path: Path, row: str, error: str) -> None:
    with pytest.raises(TraceError) as raised:
        read_vmtable(_write(tmp_path, [ROWS[0], row]))
    assert str(raised.value).startswith(error), str(raised.value)


def test_no_vm_or_no_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no VM in the window"):
        read_vmtable(_write(tmp_path, ROWS), start=10**7)
    with pytest.raises(TraceError, match="cannot read"):
        read_vmtable(tmp_path / "missing.csv")
