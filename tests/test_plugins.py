"""Backends are plug-ins: a third party's backend (``tests/example_backend.py``) is
registered through an entry point as a package manager would register it, served with
``--backend example``, and passes a slice of the conformance suite."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backends.environment import ENTRY_POINT_GROUP
from conformance.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
#: The conformance tests the example backend runs: creating, listing, showing, updating
#: and deleting servers, and every power action's end state.
SLICE = ["conformance/test_servers.py", "conformance/test_server_power_actions.py"]


def register(where: Path) -> dict[str, str]:
    """What pip leaves in site-packages for a distribution declaring
    ``[project.entry-points."nova_emulator.backends"] example = ...``: a ``.dist-info``
    with its entry points. The variables that make ``where`` a ``sys.path`` entry."""
    info = where / "nova_emulator_example-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nova-emulator-example\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nexample = tests.example_backend:create\n")
    path = os.pathsep.join([str(where), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path.rstrip(os.pathsep)}


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return register(tmp_path_factory.mktemp("plugin"))


def test_serve_finds_the_example_backend_by_its_entry_point(
        registered: dict[str, str]) -> None:
    with EmulatorProcess(backend="example", env=registered,
                         config='[backends.example]\nhost = "plug-1"\n') as emulator:
        health = httpx.get(f"{emulator.url}/_emulator/health").json()
        assert health["backend"] == "example"
    assert "backend example" in emulator.log()


def test_an_unregistered_backend_is_a_clear_error() -> None:
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--backend", "example",
                           "--port", "1"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert "no backend named 'example' is registered" in done.stderr
    assert "qemu, simulated" in done.stderr


def test_the_conformance_suite_runs_on_the_example_backend(
        registered: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *SLICE, "--backend", "example", "-q",
         "-p", "no:cacheprovider", "-x"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, **registered})
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None and int(passed.group(1)) > 100, summary
    assert "failed" not in summary and "error" not in summary, summary
