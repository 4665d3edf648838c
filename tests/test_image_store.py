"""The image store, format inspection and the upload rules of the image domain."""

from __future__ import annotations

import asyncio
import hashlib
import struct
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from emulator.config import ConfigError, load_config
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput, NotFound
from emulator.image import formats
from emulator.image.data import begin_upload
from emulator.image.service import (
    SEED_IMAGES,
    Change,
    Gone,
    ImageQuery,
    ImageService,
    InvalidImageData,
    LimitExceeded,
    NewImage,
    PropertyLimitExceeded,
)
from emulator.image.store import ImageStore, default_store_dir, store_dir

OWNER = RequestContext(user_id="u1", project_id="p1", roles=frozenset({"member", "reader"}))
OTHER = RequestContext(user_id="u2", project_id="p2", roles=frozenset({"member", "reader"}))
ADMIN = RequestContext(user_id="u0", project_id="p0",
                       roles=frozenset({"admin", "member", "reader"}))


# -- where the store lives ------------------------------------------------------------------


def test_default_store_dir_is_beside_a_sqlite_state_file(tmp_path: Path) -> None:
    assert default_store_dir(f"sqlite:///{tmp_path}/state.db") == tmp_path / "images"
    assert default_store_dir("sqlite://") is None
    assert default_store_dir("sqlite:///:memory:") is None
    assert default_store_dir("postgresql://u:p@db/nova") is None
    assert store_dir("/srv/images", "sqlite://") == Path("/srv/images")
    assert store_dir("", f"sqlite:///{tmp_path}/s.db") == tmp_path / "images"


def test_image_config_section(tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text('[image]\nstore = "/srv/img"\nrequire_format_match = false\n',
                    encoding="utf-8")
    config = load_config(path)
    assert config.image.store == "/srv/img"
    assert config.image.require_format_match is False
    assert load_config(None).image.store == ""
    path.write_text("[image]\nbogus = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)
    path.write_text("[image]\nsize_cap_bytes = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)


def test_temporary_store_is_removed_on_close() -> None:
    store = ImageStore(None)
    assert store.temporary and store.root.is_dir()
    store.put("a", b"data")
    store.close()
    assert not store.root.exists()
    store.close()


def test_configured_store_is_created_and_kept(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "images"
    store = ImageStore(root)
    assert root.is_dir() and not store.temporary
    store.put("a", b"data")
    store.close()
    assert (root / "a").read_bytes() == b"data"


# -- writes ---------------------------------------------------------------------------------


def test_a_write_appears_only_when_committed(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    write = store.begin("img")
    write.write(b"abc")
    write.write(b"def")
    assert not store.exists("img")
    assert write.path.exists() and write.path.name.startswith(".img.")
    write.commit()
    assert store.path("img").read_bytes() == b"abcdef"
    assert not write.path.exists()
    assert write.size == 6
    assert write.md5.hexdigest() == hashlib.md5(b"abcdef").hexdigest()
    assert write.sha512.hexdigest() == hashlib.sha512(b"abcdef").hexdigest()
    assert write.head == b"abcdef"


def test_an_aborted_write_leaves_nothing(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    write = store.begin("img")
    write.write(b"partial")
    write.abort()
    write.abort()
    assert list(tmp_path.iterdir()) == []


def test_partials_are_discarded(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    store.put("done", b"ok")
    store.begin("left1").write(b"x")
    store.begin("left2")
    assert store.discard_partials() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done"]


def test_open_and_delete(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    assert store.open("nothing") is None
    store.put("img", b"bytes")
    handle = store.open("img")
    assert handle is not None
    store.delete("img")
    store.delete("img")
    with handle:
        assert handle.read() == b"bytes"  # an open download survives a delete


def test_the_head_is_bounded(tmp_path: Path) -> None:
    write = ImageStore(tmp_path).begin("big")
    for _ in range(3):
        write.write(b"z" * formats.HEAD_BYTES)
    assert len(write.head) == formats.HEAD_BYTES
    write.abort()


# -- formats --------------------------------------------------------------------------------


def test_qcow2_image_is_a_valid_empty_qcow2() -> None:
    data = formats.qcow2_image(112 * 1024**2)
    magic, version = struct.unpack_from(">4sI", data)
    assert (magic, version) == (b"QFI\xfb", 3)
    cluster_bits, size = struct.unpack_from(">IQ", data, 20)
    assert (cluster_bits, size) == (16, 112 * 1024**2)
    l1_size, l1_offset, refcount_offset, refcount_clusters = struct.unpack_from(
        ">IQQI", data, 36)
    assert (l1_offset, refcount_offset, refcount_clusters) == (3 << 16, 1 << 16, 1)
    assert len(data) == l1_offset + 8 * l1_size
    assert struct.unpack_from(">Q", data, refcount_offset)[0] == 2 << 16
    assert struct.unpack_from(">4H", data, 2 << 16) == (1, 1, 1, 1)
    assert struct.unpack_from(">II", data, 96) == (4, 104)
    assert formats.inspect(data) == formats.Inspection("qcow2", 112 * 1024**2)
    assert formats.qcow2_image(2 * 1024**3) != data


@pytest.mark.parametrize("head, name", [
    (formats.qcow2_image(1 << 20), "qcow2"),
    (b"vhdxfile" + b"\0" * 100, "vhdx"),
    (b"KDMV" + b"\0" * 100, "vmdk"),
    (b"\0" * 0x40 + b"\x7f\x10\xda\xbe" + b"\0" * 0x200, "vdi"),
    (b"conectix" + b"\0" * 100, "vhd"),
    (b"\0" * 0x8001 + b"CD001" + b"\0" * 10, "iso"),
    (b"anything else", "raw"),
    (b"", "raw"),
])
def test_inspect(head: bytes, name: str) -> None:
    assert formats.inspect(head).format == name


def test_format_rules() -> None:
    qcow2 = formats.inspect(formats.qcow2_image(1 << 30))
    raw = formats.inspect(b"plain bytes")
    assert formats.check("qcow2", qcow2, 200_000) == 1 << 30
    assert formats.check("raw", raw, 11) == 11
    assert formats.check("raw", qcow2, 200_000) == 200_000  # raw takes anything
    assert formats.check("ami", raw, 11) is None  # not inspectable: anything unrecognised
    with pytest.raises(formats.FormatMismatch, match="does not match stream data raw"):
        formats.check("qcow2", raw, 11)
    with pytest.raises(formats.FormatMismatch):
        formats.check("ami", qcow2, 200_000)
    backed = bytearray(formats.qcow2_image(1 << 20))
    struct.pack_into(">Q", backed, 8, 1024)
    with pytest.raises(formats.FormatMismatch, match="safety"):
        formats.check("qcow2", formats.inspect(bytes(backed)), len(backed))


# -- the service: uploads and recovery --------------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> ImageService:
    return ImageService(Database("sqlite://"), ImageStore(tmp_path / "images"))


async def _chunks(parts: Iterable[bytes], fail_after: int | None = None) -> AsyncIterator[bytes]:
    for index, part in enumerate(parts):
        if fail_after is not None and index == fail_after:
            raise ConnectionError("client went away")
        yield part


def _new(service: ImageService, **fields: Any) -> str:
    base: dict[str, Any] = {"owner": "p1", "disk_format": "raw", "container_format": "bare"}
    return service.create(OWNER, NewImage(**{**base, **fields})).id


def test_upload_activates_with_hashes(service: ImageService) -> None:
    image_id = _new(service)
    record = asyncio.run(service.upload(OWNER, image_id, _chunks([b"ab", b"cd"])))
    assert record.status == "active" and record.size == 4 and record.virtual_size == 4
    assert record.checksum == hashlib.md5(b"abcd").hexdigest()
    assert record.os_hash_algo == "sha512"
    assert record.os_hash_value == hashlib.sha512(b"abcd").hexdigest()
    data = service.open_data(OWNER, image_id)
    assert data is not None
    with data.file:
        assert data.file.read() == b"abcd"


def test_an_interrupted_upload_leaves_the_image_queued(service: ImageService) -> None:
    image_id = _new(service)
    with pytest.raises(ConnectionError):
        asyncio.run(service.upload(OWNER, image_id, _chunks([b"a", b"b", b"c"], fail_after=2)))
    record = service.get(OWNER, image_id)
    assert record.status == "queued" and record.size is None and record.checksum is None
    assert service.open_data(OWNER, image_id) is None
    assert not [p for p in service.store.root.iterdir() if p.name.startswith(".")]
    assert not service.store.exists(image_id)
    again = asyncio.run(service.upload(OWNER, image_id, _chunks([b"whole"])))
    assert again.status == "active" and again.size == 5


def test_refused_formats_and_sizes_requeue(service: ImageService) -> None:
    image_id = _new(service, disk_format="qcow2")
    with pytest.raises(InvalidImageData):
        asyncio.run(service.upload(OWNER, image_id, _chunks([b"not qcow2"])))
    assert service.get(OWNER, image_id).status == "queued"
    capped = ImageService(service.db, service.store, size_cap=3)
    other = _new(service)
    with pytest.raises(LimitExceeded):
        asyncio.run(capped.upload(OWNER, other, _chunks([b"ab", b"cd"])))
    assert service.get(OWNER, other).status == "queued"
    assert [p.name for p in service.store.root.iterdir() if p.name.startswith(".")] == []


def test_format_matching_can_be_turned_off(service: ImageService) -> None:
    lax = ImageService(service.db, service.store, require_format_match=False)
    image_id = _new(service, disk_format="qcow2")
    record = asyncio.run(lax.upload(OWNER, image_id, _chunks([b"not qcow2"])))
    assert record.status == "active" and record.virtual_size is None


def test_upload_rules(service: ImageService) -> None:
    image_id = _new(service, visibility="community")
    with pytest.raises(Forbidden):
        asyncio.run(service.upload(OTHER, image_id, _chunks([b"x"])))  # visible, not theirs
    with pytest.raises(NotFound):
        asyncio.run(service.upload(OTHER, _new(service), _chunks([b"x"])))  # shared: unseen
    no_formats = _new(service, disk_format=None, container_format=None)
    with pytest.raises(InvalidInput, match="must be set prior to saving data"):
        asyncio.run(service.upload(OWNER, no_formats, _chunks([b"x"])))
    asyncio.run(service.upload(OWNER, image_id, _chunks([b"x"])))
    with pytest.raises(Conflict, match="from active to saving"):
        asyncio.run(service.upload(OWNER, image_id, _chunks([b"x"])))


def test_deleted_during_upload_is_gone(service: ImageService) -> None:
    image_id = _new(service)

    async def deleting() -> AsyncIterator[bytes]:
        yield b"first"
        service.delete(OWNER, image_id)
        yield b"second"

    with pytest.raises(Gone):
        asyncio.run(service.upload(OWNER, image_id, deleting()))
    assert not service.store.exists(image_id)
    with pytest.raises(NotFound):
        service.get(ADMIN, image_id)


def test_recover_requeues_saving_images_and_drops_their_data(service: ImageService) -> None:
    image_id = _new(service)
    with service.db.session() as s:  # a crash right after the upload started
        begin_upload(s, OWNER, image_id)
    service.store.put(image_id, b"renamed but never recorded")
    service.store.begin(image_id).write(b"half")
    assert service.get(OWNER, image_id).status == "saving"
    service.recover()
    assert service.get(OWNER, image_id).status == "queued"
    assert list(service.store.root.iterdir()) == []


def test_seed_is_idempotent_and_restores_missing_data(service: ImageService) -> None:
    service.seed(owner="p0")
    service.seed(owner="p0")
    page = service.list_images(OTHER, ImageQuery())
    seeded = {image.id: image for image in page.images}
    assert set(seeded) == {entry[0] for entry in SEED_IMAGES}
    for image_id, name, disk_format, virtual_size, _props in SEED_IMAGES:
        image = seeded[image_id]
        assert (image.name, image.disk_format, image.visibility) == (name, disk_format,
                                                                     "public")
        assert image.status == "active" and image.virtual_size == virtual_size
        assert image.owner == "p0"
    first = SEED_IMAGES[0][0]
    service.store.delete(first)
    service.seed(owner="p0")
    assert service.store.exists(first)


def test_register_file_makes_a_public_image_and_rewrites_only_changed_data(
        service: ImageService, tmp_path: Path) -> None:
    image_id, mib = "0b5f7c34-5a1e-4c39-9d43-1f0e2a7c8b10", 1024**2
    source = tmp_path / "guest.qcow2"
    data = formats.qcow2_image(64 * mib).ljust(5 * mib // 2, b"\0")  # read in several chunks
    source.write_bytes(data)
    service.register_file(image_id, "guest", "qcow2", source, owner="p0")
    image = service.get(OTHER, image_id)
    assert (image.name, image.visibility, image.owner, image.disk_format,
            image.container_format, image.status) == ("guest", "public", "p0", "qcow2",
                                                      "bare", "active")
    assert (image.size, image.virtual_size) == (len(data), 64 * mib)
    assert image.checksum == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert service.store.path(image_id).read_bytes() == data
    service.register_file(image_id, "guest", "qcow2", source, owner="p0")
    assert service.get(OTHER, image_id).updated_at == image.updated_at  # same data: untouched
    smaller = formats.qcow2_image(32 * mib)
    source.write_bytes(smaller)
    service.register_file(image_id, "guest", "qcow2", source, owner="p0")
    changed = service.get(OTHER, image_id)
    assert (changed.created_at, changed.virtual_size) == (image.created_at, 32 * mib)
    source.write_bytes(b"not a qcow2")
    with pytest.raises(formats.FormatMismatch):
        service.register_file(image_id, "guest", "qcow2", source, owner="p0")
    assert service.store.path(image_id).read_bytes() == smaller
    assert [p.name for p in service.store.root.iterdir()] == [image_id]


def test_too_many_properties_is_its_own_limit(service: ImageService) -> None:
    """Glance's ``image_property_quota`` (128): a ``PropertyLimitExceeded`` (still a 413
    ``LimitExceeded``), so the compute side can tell a snapshot refused for its metadata."""
    keys = {f"k{n}": "v" for n in range(129)}
    with pytest.raises(PropertyLimitExceeded) as created:
        _new(service, properties=keys)
    assert created.value.message == ("The limit has been exceeded on the number of allowed "
                                     "image properties. Attempted: 129, Maximum: 128")
    image_id = _new(service, properties=dict(list(keys.items())[:128]))
    with pytest.raises(PropertyLimitExceeded):
        service.update(OWNER, image_id, [Change("add", ("one-more",), "v")])
    with pytest.raises(LimitExceeded) as tags:
        _new(service, tags=[f"t{n}" for n in range(129)])
    assert not isinstance(tags.value, PropertyLimitExceeded)


def test_update_is_all_or_nothing(service: ImageService) -> None:
    image_id = _new(service, properties={"a": "1"})
    with pytest.raises(Conflict):
        service.update(OWNER, image_id, [Change("replace", ("name",), "new"),
                                         Change("remove", ("missing",))])
    assert service.get(OWNER, image_id).name is None
    record = service.update(OWNER, image_id, [Change("replace", ("a",), "2"),
                                              Change("add", ("b",), "3")])
    assert record.properties == {"a": "2", "b": "3"}
