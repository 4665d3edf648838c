"""Run the real ``openstack`` CLI (python-openstackclient) as one account."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.client import Account


def openstack_executable() -> str:
    beside = Path(sys.executable).with_name("openstack")
    if beside.exists():
        return str(beside)
    found = shutil.which("openstack")
    if found is None:
        raise RuntimeError("the openstack CLI (python-openstackclient) is not installed")
    return found


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_openstack(account: Account, *args: str, timeout: float = 120.0,
                  env: dict[str, str] | None = None) -> CliResult:
    """``openstack <args>`` with the account's ``OS_*`` variables and a throwaway HOME."""
    with tempfile.TemporaryDirectory(prefix="osc-home-") as home:
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith("OS_")}
        environ.update(account.os_environ())
        environ["HOME"] = home
        environ.update(env or {})
        done = subprocess.run([openstack_executable(), *args], capture_output=True, text=True,
                              timeout=timeout, env=environ, stdin=subprocess.DEVNULL,
                              check=False)
    return CliResult(done.returncode, done.stdout, done.stderr)


def openstack_json(account: Account, *args: str) -> Any:
    """Run a command with ``-f json`` and return its decoded output (it must succeed)."""
    result = run_openstack(account, *args, "-f", "json")
    assert result.returncode == 0, result.stderr
    return result.json()
