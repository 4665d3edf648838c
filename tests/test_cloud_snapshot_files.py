"""Snapshot files (``emulator.control.snapshots``): what a file may hold, the database copy
both ways, ``ControlPlane.save_snapshot/load_snapshot`` on a threaded emulator, and
``nova-emulator config show``."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import tomllib
from pathlib import Path

import pytest

from emulator.cli import main
from emulator.cli_remote import config_dump, config_text
from emulator.clock import Progression
from emulator.cloud import require_snapshots
from emulator.config import Config, load_config, with_overrides
from emulator.control.snapshots import SnapshotMeta, pack, unpack
from emulator.db import Database
from emulator.errors import Conflict, InvalidInput
from emulator.testing import ThreadedEmulator

META = SnapshotMeta(backend="simulated", clock_mode=Progression.MANUAL, clock_now=12.5,
                    hosts_down=("compute-001",), created_at="2026-12-06T00:00:00Z")


def _database(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (42)")
    return path


def _tar(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink is not None:
            link = tarfile.TarInfo(symlink)
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            tar.addfile(link)
    return path


def test_a_packed_snapshot_unpacks_as_it_was(tmp_path: Path) -> None:
    image = tmp_path / "be844b13-3d9f-4d4f-8805-b348e2a4ef07"
    image.write_bytes(b"qcow2 or not")
    target = tmp_path / "s.tar.gz"
    pack(target, META, _database(tmp_path / "db.sqlite"), [image, tmp_path / "gone"])
    snapshot = unpack(target, tmp_path)
    try:
        assert snapshot.meta == META
        assert (snapshot.images / image.name).read_bytes() == b"qcow2 or not"
        with sqlite3.connect(snapshot.database) as db:
            assert db.execute("SELECT x FROM t").fetchall() == [(42,)]
    finally:
        snapshot.discard()
    assert not snapshot.directory.exists()


@pytest.mark.parametrize("members, symlink, says", [
    ({"../evil": b"x"}, None, "'../evil'"),
    ({"images/../../x": b"x"}, None, "which no snapshot holds"),
    ({"other.txt": b"x"}, None, "'other.txt'"),
    ({}, "images/link", "'images/link'"),
    ({"state.sqlite": b"SQLite format 3\0"}, None, "no valid snapshot.json"),
    ({"snapshot.json": json.dumps({**META.as_json(), "format": 9}).encode()}, None,
     "format 9"),
    ({"snapshot.json": json.dumps(META.as_json()).encode()}, None, "no state.sqlite"),
    ({"snapshot.json": json.dumps(META.as_json()).encode(), "state.sqlite": b"nope"}, None,
     "not a SQLite database"),
])
def test_a_file_that_is_not_a_snapshot_is_refused_whole(
        tmp_path: Path, members: dict[str, bytes], symlink: str | None, says: str) -> None:
    source = _tar(tmp_path / "bad.tar.gz", members, symlink)
    with pytest.raises(InvalidInput) as caught:
        unpack(source, tmp_path)
    assert says in caught.value.message
    assert [p.name for p in tmp_path.iterdir()] == ["bad.tar.gz"]  # nothing left behind
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b not really")
    with pytest.raises(InvalidInput, match="not a gzipped tar"):
        unpack(garbage, tmp_path)


def test_the_database_copies_out_and_in_whole(tmp_path: Path) -> None:
    source = Database("sqlite://")
    with source.writing() as c:
        c.exec_driver_sql("CREATE TABLE extra (x)")
        c.exec_driver_sql("INSERT INTO extra VALUES (7)")
    copy = tmp_path / "copy.sqlite"
    source.copy_to(copy)
    loaded = Database("sqlite://", initial=copy)
    with loaded.reading() as c:
        assert c.exec_driver_sql("SELECT x FROM extra").all() == [(7,)]
    on_file = Database(f"sqlite:///{tmp_path / 'state.db'}", initial=copy)
    with on_file.reading() as c:
        assert c.exec_driver_sql("SELECT x FROM extra").all() == [(7,)]
    for db in (source, loaded, on_file):
        db.close()


def test_snapshots_are_the_simulated_backends() -> None:
    require_snapshots(Config())
    require_snapshots(with_overrides(Config(), state="sqlite:////tmp/state.db"))
    require_snapshots(with_overrides(Config(), state="postgresql://u:p@127.0.0.1/nova"))
    with pytest.raises(Conflict, match="simulated backend's: a real backend's guests"):
        require_snapshots(with_overrides(Config(), backend="qemu"))


def test_the_control_plane_client_saves_and_loads_a_cloud(tmp_path: Path) -> None:
    snapshot = tmp_path / "cloud.tar.gz"
    with ThreadedEmulator() as saved, ThreadedEmulator() as fresh:
        saved.control.set_clock("manual")
        saved.control.advance(90)
        saved.control.set_host("compute-001", False)
        saved.control.save_snapshot(snapshot)
        assert tarfile.is_tarfile(snapshot)
        fresh.control.load_snapshot(snapshot)
        clock = fresh.control.clock()  # the client logged in again by itself
        assert (clock["mode"], clock["now"]) == ("manual", 90.0)
        assert fresh.control.hosts_down() == ["compute-001"]


def test_config_show_prints_what_serve_would_run_with(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "emulator.toml"
    file.write_text('[compute]\nmax_count_per_request = 7\n[server]\nport = 9999\n')
    assert main(["config", "show", "--config", str(file), "--port", "8123"]) == 0
    shown = tomllib.loads(capsys.readouterr().out)
    assert shown["server"]["port"] == 8123
    assert shown["compute"]["max_count_per_request"] == 7
    assert shown["simulated"]["stages"]["spawn"]["delay"] == 5.0
    assert main(["config", "show", "--json", "--config", str(file)]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert as_json == config_dump(load_config(file))
    # Every key but the unset ones (TOML has no null) is in the text, as its JSON says.
    text = tomllib.loads(config_text(Config()))
    for table, values in config_dump(Config()).items():
        if isinstance(values, dict):
            assert {k for k, v in values.items() if v is not None} == set(text[table]), table
