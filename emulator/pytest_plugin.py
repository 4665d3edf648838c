"""The pytest plugin (entry point ``pytest11``: installed with the package, loaded by any
pytest run where the package is). A test asks for what it needs::

    def test_boot(nova_connection):
        image = next(nova_connection.image.images())
        server = nova_connection.compute.create_server(name="a", image_id=image.id,
                                                       flavor_id="1", networks="none")
        assert nova_connection.compute.wait_for_server(server).status == "ACTIVE"

Fixtures: ``nova_emulator`` (a running ``ServedEmulator``, the seeded cloud again for
each test), ``nova_control`` (its control plane), ``nova_connection`` /
``nova_alt_connection`` / ``nova_admin_connection`` (openstacksdk connections as the
seeded member, the member of another project, the admin), ``nova_clouds_yaml`` (a
clouds.yaml of the three). The marker ``nova_backend("qemu")`` runs a test on another
backend (one emulator per backend and scope).

ini options: ``nova_emulator_scope`` (``session``, the default: one emulator a run,
reset before each test; ``module``; ``function``: a new emulator each test, no reset
needed), ``nova_emulator_reset`` (``true``), ``nova_emulator_config`` (a TOML file of the
emulator's settings, relative to the rootdir), ``nova_emulator_process`` (``false``: the
emulator runs in a thread of the test process, started in ~0.3 s; ``true``: a
``nova-emulator serve`` process of its own, ~2.5 s, as the conformance suite runs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the emulator is imported when a test first asks for it, not by every
    # pytest run of a project that has the package installed
    from emulator.testing import ControlPlane, Role, ServedEmulator

SCOPES = ("session", "package", "module", "class", "function")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("nova_emulator_scope", "how long one emulator serves: session (reset "
                  "before each test), module, function", default="session")
    parser.addini("nova_emulator_reset", "reset the emulator before each test",
                  type="bool", default=True)
    parser.addini("nova_emulator_config", "a TOML file of the emulator's settings",
                  default="")
    parser.addini("nova_emulator_process", "run each emulator as a process of its own "
                  "rather than in a thread", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "nova_backend(name): run the test's emulator on "
                                       "this backend (simulated, qemu, or a plug-in's)")
    scope = config.getini("nova_emulator_scope")
    if scope not in SCOPES:
        raise pytest.UsageError(f"nova_emulator_scope = {scope!r}: one of {', '.join(SCOPES)}")


def _scope(fixture_name: str, config: pytest.Config) -> Any:
    return config.getini("nova_emulator_scope")


class Emulators:
    """The emulators a scope started, one per backend, stopped with the scope: threads of
    this process, or processes (``process``), configured by the TOML file ``config``."""

    def __init__(self, config: Path | None = None, process: bool = False) -> None:
        self.config = config
        self.process = process
        self.running: dict[str, ServedEmulator] = {}

    def get(self, backend: str | None) -> ServedEmulator:
        """The running emulator of ``backend`` (None: the configuration's), started now if
        this scope has none yet."""
        from emulator.config import load_config, with_overrides
        from emulator.testing import ThreadedEmulator
        from emulator.testing_process import EmulatorProcess

        base = load_config(self.config)
        name = backend or base.compute.backend
        if name not in self.running:
            if self.process:
                text = self.config.read_text(encoding="utf-8") if self.config else ""
                self.running[name] = EmulatorProcess(text, backend=name).start()
            else:
                self.running[name] = ThreadedEmulator(with_overrides(base, backend=name)).start()
        return self.running[name]

    def stop(self) -> None:
        for emulator in self.running.values():
            emulator.close()
        self.running.clear()


@pytest.fixture(scope=_scope)
def nova_emulators(pytestconfig: pytest.Config) -> Iterator[Emulators]:
    """The emulators of this scope (started on first use)."""
    path = pytestconfig.getini("nova_emulator_config")
    emulators = Emulators(pytestconfig.rootpath / path if path else None,
                          process=pytestconfig.getini("nova_emulator_process"))
    yield emulators
    emulators.stop()


@pytest.fixture
def nova_emulator(request: pytest.FixtureRequest,
                  nova_emulators: Emulators) -> ServedEmulator:
    """A running emulator (the test's ``nova_backend`` marker's backend), the seeded cloud
    again unless ``nova_emulator_reset = false``."""
    marker = request.node.get_closest_marker("nova_backend")
    emulator = nova_emulators.get(marker.args[0] if marker is not None else None)
    fresh = request.config.getini("nova_emulator_scope") == "function"
    if request.config.getini("nova_emulator_reset") and not fresh:
        emulator.reset()
    return emulator


@pytest.fixture
def nova_control(nova_emulator: ServedEmulator) -> ControlPlane:
    """The control plane (clock, stages, hosts, fault rules, reset) as the seeded admin."""
    return nova_emulator.control


@pytest.fixture
def nova_clouds_yaml(nova_emulator: ServedEmulator, tmp_path: Path) -> Path:
    """A clouds.yaml of the seeded accounts (``OS_CLIENT_CONFIG_FILE`` for the CLI)."""
    return nova_emulator.write_clouds_yaml(tmp_path / "clouds.yaml")


def _connection(emulator: ServedEmulator, role: Role) -> Any:
    try:
        import openstack
    except ImportError:  # pragma: no cover - a test dependency of the user's
        pytest.fail("the nova_*connection fixtures need openstacksdk: pip install openstacksdk")
    return openstack.connect(**emulator.sdk_arguments(role))


@pytest.fixture
def nova_connection(nova_emulator: ServedEmulator) -> Iterator[Any]:
    """An ``openstack.connection.Connection`` as the seeded member (project ``demo``)."""
    connection = _connection(nova_emulator, "member")
    yield connection
    connection.close()


@pytest.fixture
def nova_alt_connection(nova_emulator: ServedEmulator) -> Iterator[Any]:
    """The same as the member of another project (``alt_demo``)."""
    connection = _connection(nova_emulator, "alt")
    yield connection
    connection.close()


@pytest.fixture
def nova_admin_connection(nova_emulator: ServedEmulator) -> Iterator[Any]:
    """The same as the seeded admin."""
    connection = _connection(nova_emulator, "admin")
    yield connection
    connection.close()
