"""The harness itself: what ``target`` says it runs against, and which tests ``--cloud``
leaves out.

With ``--cloud`` the suite talks to a real cloud from clouds.yaml: ``target.backend`` is
None (nothing of ours runs its servers) and tests that need the emulator's own text,
configuration or control plane are skipped. The emulator is a real Nova-compatible
endpoint, so the proof runs the suite's own selection in a child pytest pointed with
``--cloud`` at this session's emulator through the clouds.yaml ``nova-emulator
clouds-yaml`` prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.conftest import Target, cloud_target

CLOUD_SKIP = "needs the emulator itself; --cloud was given"


def test_the_target_says_what_it_is(target: Target, pytestconfig: pytest.Config,
                                    http: httpx.Client) -> None:
    if pytestconfig.getoption("--cloud") is not None:
        assert (target.emulator, target.backend) == (None, None)
        return
    assert target.emulator is not None
    assert target.backend == pytestconfig.getoption("--backend")
    health = http.get(f"{target.emulator.url}/_emulator/health").json()
    assert health["backend"] == target.backend


class _Options:
    """The command-line options ``cloud_target`` reads, as a pytest.Config gives them."""

    def __init__(self, **options: Any) -> None:
        self.options = {f"--{name.replace('_', '-')}": value for name, value in options.items()}

    def getoption(self, name: str) -> Any:
        return self.options[name]


CLOUDS_YAML = """
clouds:
  far:
    auth:
      auth_url: "https://keystone.example:5000"
      username: "u"
      password: "p"
      project_name: "proj"
    region_name: "North"
  far-admin:
    auth:
      auth_url: "https://keystone.example:5000/v3/"
      username: "boss"
      password: "q"
      project_name: "admin"
      user_domain_name: "Corp"
"""


def test_a_cloud_target_has_no_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever ``--backend`` says, a ``--cloud`` target names no backend and no emulator;
    its accounts are clouds.yaml's (the v3 identity URL, the region, the domains)."""
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(CLOUDS_YAML, encoding="utf-8")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    for backend in ("simulated", "qemu"):
        options = _Options(backend=backend, cloud="far", alt_cloud=None,
                           admin_cloud="far-admin")
        made = cloud_target(options)  # type: ignore[arg-type]
        assert made is not None
        assert (made.emulator, made.backend) == (None, None)
        assert sorted(made.accounts) == ["admin", "member"]
        member, admin = made.accounts["member"], made.accounts["admin"]
        assert member.auth_url == "https://keystone.example:5000/v3"
        assert (member.username, member.project_name, member.region) == ("u", "proj", "North")
        assert member.user_domain_name == "Default"
        assert admin.auth_url == "https://keystone.example:5000/v3"
        assert (admin.username, admin.user_domain_name) == ("boss", "Corp")
    without = _Options(backend="qemu", cloud=None, alt_cloud=None, admin_cloud=None)
    assert cloud_target(without) is None  # type: ignore[arg-type]


#: A selection run with --cloud, and the outcome each test must have there: tests of the
#: emulator's own text, config or control plane skipped, the rest run (and pass: the cloud
#: is an emulator, whose defaults they must not assume).
ON_A_CLOUD = {
    "conformance/test_harness.py::test_the_target_says_what_it_is": "passed",
    "conformance/test_availability_zones.py::test_default_zones_of_the_backend": CLOUD_SKIP,
    "conformance/test_availability_zones.py::test_unknown_query_ignored_before_2_102[2.85]":
        "passed",
    "conformance/test_availability_zones.py::test_admin_detail_lists_hosts_and_services":
        "passed",
    "conformance/test_control_plane.py::test_health_needs_no_token": CLOUD_SKIP,
    "conformance/test_control_plane.py::test_no_valid_host": CLOUD_SKIP,
    "conformance/test_control_plane.py::test_delete_waits_for_the_destroy_stage": CLOUD_SKIP,
    "conformance/test_server_actions_more.py::test_console_output": CLOUD_SKIP,
    "conformance/test_remote_console.py::test_expired_tokens_are_dropped": CLOUD_SKIP,
}


def _outcomes(junit: Path) -> dict[str, str]:
    """Test id -> "passed", "failed: ..." or the skip reason, from a junit XML report."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        path = case.get("classname", "").replace(".", "/")
        test_id = f"{path}.py::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag == "skipped":
                outcome = str(child.get("message", "")).removeprefix("Skipped: ")
            elif child.tag in ("failure", "error"):
                outcome = f"{child.tag}: {child.get('message')}"
        found[test_id] = outcome
    return found


@pytest.mark.emulator_only
def test_cloud_runs_skip_what_needs_the_emulator(target: Target, tmp_path: Path) -> None:
    assert target.emulator is not None
    clouds = subprocess.run(
        [sys.executable, "-m", "emulator", "clouds-yaml", "--port", str(target.emulator.port)],
        capture_output=True, text=True, check=True).stdout
    (tmp_path / "clouds.yaml").write_text(clouds, encoding="utf-8")
    junit = tmp_path / "junit.xml"
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--cloud",
         "nova-emulator", "--alt-cloud", "nova-emulator-alt", "--admin-cloud",
         "nova-emulator-admin", "--backend", target.backend or "simulated",
         f"--junitxml={junit}", *ON_A_CLOUD],
        cwd=root, capture_output=True, text=True, timeout=600,
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("OS_", "PYTEST_"))},
             "OS_CLIENT_CONFIG_FILE": str(tmp_path / "clouds.yaml")})
    assert junit.is_file(), run.stdout + run.stderr
    assert _outcomes(junit) == ON_A_CLOUD, run.stdout[-4000:]

