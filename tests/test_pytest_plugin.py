"""The pytest plugin as a user's project meets it: a directory outside this repository,
no conftest, the package installed by pip from this checkout (into a directory of its
own, first on the path: the plugin found by its ``pytest11`` entry point, the emulator
imported from there), pytest run there in a process of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.testing import ControlPlaneError, ThreadedEmulator

THREE_LINES = '''
def test_boot(nova_connection):
    image = next(nova_connection.image.images())
    server = nova_connection.compute.create_server(name="a", image_id=image.id,
                                                   flavor_id="1", networks="none")
    assert nova_connection.compute.wait_for_server(server).status == "ACTIVE"
'''

#: Two tests in order: the second sees the seeded cloud again (the reset between them),
#: and the control plane, the marker, the other roles and clouds.yaml work.
RESET_AND_CONTROL = '''
import pytest
import yaml


def test_makes_a_server_and_a_fault_rule(nova_connection, nova_control):
    image = next(nova_connection.image.images())
    nova_connection.compute.create_server(name="left", image_id=image.id, flavor_id="1",
                                          networks="none")
    nova_control.add_fault({"match": {"server_name": "^never$"}, "build": "error"})
    nova_control.set_clock("manual")


def test_the_next_test_starts_from_the_seeded_cloud(nova_connection, nova_control):
    assert list(nova_connection.compute.servers()) == []
    assert nova_control.faults() == []
    assert nova_control.clock()["mode"] == "immediate"


def test_roles_and_clouds_yaml(nova_connection, nova_alt_connection,
                               nova_admin_connection, nova_clouds_yaml, nova_emulator):
    assert nova_connection.current_project.name == "demo"
    assert nova_alt_connection.current_project.name == "alt_demo"
    assert nova_admin_connection.current_project.name == "admin"
    clouds = yaml.safe_load(nova_clouds_yaml.read_text())["clouds"]
    assert clouds["nova-emulator"]["auth"]["auth_url"] == nova_emulator.url + "/identity/v3"


@pytest.mark.nova_backend("simulated")
def test_the_marker_picks_a_backend(nova_control):
    assert nova_control.health()["backend"] == "simulated"
'''


CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as pip installs it from this checkout (its dependencies are this
    environment's)."""
    # A copy of what the package is built from: the build's files stay out of the
    # checkout (which CI's other stage builds from at the same time).
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(CHECKOUT / name, source / name)
    for package in ("emulator", "backends"):
        shutil.copytree(CHECKOUT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("site-packages")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert built.returncode == 0, built.stdout + built.stderr
    return target


@pytest.fixture
def project(tmp_path: Path, installed: Path) -> Path:
    """A user's project: just a tests directory, outside this repository."""
    root = tmp_path / "someone-elses-project"
    root.mkdir()
    return root


def _environment(project: Path, installed: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(installed)  # the installed package, not this checkout
    # A user's environment may point at a real cloud: the fixtures' connections ignore it.
    env.update(OS_CLOUD="somewhere-else", OS_AUTH_URL="http://192.0.2.1:5000/v3",
               OS_USERNAME="someone", OS_PASSWORD="secret")
    return env


def _pytest_in(project: Path, installed: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args], cwd=project, env=_environment(project, installed),
                          capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_a_three_line_test_passes_in_a_project_of_its_own(project: Path,
                                                           installed: Path) -> None:
    (project / "test_cloud.py").write_text(THREE_LINES)
    ran = _pytest_in(project, installed)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed" in ran.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import emulator.pytest_plugin as p; print(p.__file__)"],
        cwd=project, env=_environment(project, installed), capture_output=True, text=True,
        timeout=60, stdin=subprocess.DEVNULL)
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr


def test_each_test_starts_from_the_seeded_cloud(project: Path, installed: Path) -> None:
    (project / "test_cloud.py").write_text(RESET_AND_CONTROL)
    ran = _pytest_in(project, installed)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "4 passed" in ran.stdout


def test_a_new_emulator_each_test_when_the_scope_is_function(project: Path,
                                                             installed: Path) -> None:
    (project / "pytest.ini").write_text("[pytest]\nnova_emulator_scope = function\n")
    (project / "test_cloud.py").write_text('''
urls = set()


def test_one(nova_emulator):
    urls.add(nova_emulator.url)


def test_two(nova_emulator):
    urls.add(nova_emulator.url)
    assert len(urls) == 2
''')
    ran = _pytest_in(project, installed)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_emulator_can_be_a_process_of_its_own(project: Path, installed: Path) -> None:
    """``nova_emulator_process = true``: the same fixtures on ``nova-emulator serve``."""
    (project / "pytest.ini").write_text("[pytest]\nnova_emulator_process = true\n")
    (project / "test_cloud.py").write_text(RESET_AND_CONTROL + '''

def test_it_is_a_process(nova_emulator):
    assert type(nova_emulator).__name__ == "EmulatorProcess"
    assert nova_emulator.proc.poll() is None
''')
    ran = _pytest_in(project, installed)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "5 passed" in ran.stdout


def test_a_scope_it_does_not_know_is_a_usage_error(project: Path, installed: Path) -> None:
    (project / "pytest.ini").write_text("[pytest]\nnova_emulator_scope = forever\n")
    (project / "test_cloud.py").write_text("def test_nothing():\n    pass\n")
    ran = _pytest_in(project, installed)
    assert ran.returncode == 4, ran.stdout + ran.stderr
    assert "nova_emulator_scope = 'forever'" in ran.stderr


def test_the_control_plane_client_drives_the_clock_stages_and_hosts() -> None:
    with ThreadedEmulator() as cloud:
        control = cloud.control
        with pytest.raises(ControlPlaneError) as refused:
            control.advance(5)  # an immediate clock does not move by hand
        assert refused.value.status == 409
        assert control.set_clock("manual")["mode"] == "manual"
        assert control.advance(5)["now"] == 5.0
        with pytest.raises(ControlPlaneError) as unknown:
            control.set_stage("no-such-verb", delay=1)
        assert unknown.value.status == 404
        assert control.set_stage("spawn", delay=3)["delay"] == 3.0
        assert control.set_host("compute-001", up=False) == {"host": "compute-001",
                                                             "up": False}
        assert control.hosts_down() == ["compute-001"]
        control.reset()
        assert control.hosts_down() == [] and control.clock()["now"] == 0.0
        assert control.stages()["stages"]["spawn"]["delay"] != 3.0
