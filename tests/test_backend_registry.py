"""Backends by name: the registry of entry points (``emulator.plugins``): the built-in
backends are registered, an unknown name is answered with the names there are, and a
third party's backend is registered the way a package installs it (a ``.dist-info`` with
``entry_points.txt``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import emulator.qemu
from backends.environment import ENTRY_POINT_GROUP, BackendEnvironment
from emulator import plugins
from emulator.clock import Clock
from emulator.errors import EmulatorError
from emulator.plugins import UnknownBackend, backend_names, create_backend, find_factory
from tests import example_backend
from tests.example_backend import NoImages


def test_the_built_in_backends_are_registered() -> None:
    names = backend_names()
    assert {"simulated", "qemu"} <= set(names)
    assert names == sorted(set(names))
    assert find_factory("simulated") is plugins.simulated
    assert find_factory("qemu") is emulator.qemu.create


def test_an_unknown_name_lists_the_registered_ones() -> None:
    with pytest.raises(UnknownBackend) as raised:
        find_factory("nope")
    assert raised.value.message == (
        f"no backend named 'nope' is registered (entry point group {ENTRY_POINT_GROUP}); "
        f"there are: {', '.join(backend_names())}")
    assert "qemu" in raised.value.message and "simulated" in raised.value.message
    assert isinstance(raised.value, EmulatorError)
    env = BackendEnvironment(settings={}, clock=Clock(), images=NoImages())
    with pytest.raises(UnknownBackend):
        create_backend("nope", env)


def test_simulated_is_built_from_its_settings() -> None:
    env = BackendEnvironment(settings={"zones": [{"name": "z1", "hosts": 2}], "vcpus": 4},
                             clock=Clock(), images=NoImages())
    hosts = create_backend("simulated", env).hosts()
    assert [(h.availability_zone, h.vcpus) for h in hosts] == [("z1", 4), ("z1", 4)]


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tests.example_backend`` installed as the backend ``example``, as pip would."""
    dist = tmp_path / "nova_emulator_example-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nova-emulator-example\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nexample = tests.example_backend:create\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_third_party_backend_is_found_by_its_entry_point(installed: None) -> None:
    assert "example" in backend_names()
    factory: object = find_factory("example")
    assert factory is example_backend.create
    env = BackendEnvironment(settings={"host": "example-9"}, clock=Clock(),
                             images=NoImages())
    backend = create_backend("example", env)
    assert isinstance(backend, example_backend.ExampleBackend)
    assert [h.name for h in backend.hosts()] == ["example-9"]
    with pytest.raises(UnknownBackend, match=r"there are: .*\bexample\b"):
        find_factory("nope")
