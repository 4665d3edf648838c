"""The benchmarks' reference servers (a bare Starlette app, moto's) as processes of their
own: started, waited for until they answer, stopped."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import httpx


@contextmanager
def serving(argv: Sequence[str], url: str, env: Mapping[str, str] | None = None,
            quiet: bool = False) -> Iterator[str]:
    """Run ``argv`` until the block ends, once ``url`` answers (anything: it listens)."""
    output = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=output,
                            stderr=output, env=dict(env) if env is not None else None)
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
