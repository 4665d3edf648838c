"""SSH key pairs for the tests that log into guests, made by OpenSSH's ``ssh-keygen`` as a
user makes them (PEM private keys: paramiko, hence Tempest, reads them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """A new key pair at ``path`` (private) and ``path``.pub, of ``kind``."""
    if shutil.which("ssh-keygen") is None:
        pytest.fail("ssh-keygen is not installed (apt-get install openssh-client)")
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-m", "PEM", "-N", "", "-f", str(path)],
                   check=True)
    return path
