"""Two emulator processes sharing one Redis store keep one allowance between them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess
from tests.redis_server import MISSING, available, redis_server

pytestmark = pytest.mark.skipif(not available(), reason=MISSING)

LIMIT = 12


def config(redis_url: str) -> str:
    # a route limit: one allowance for every caller of every process (project ids are
    # each emulator's own, so a project-tier key would differ between them)
    return f"""
[ratelimit]
enabled = true
store = "{redis_url}"

[[ratelimit.limits]]
name = "flavors"
tier = "route"
verb = "GET"
regex = "/flavors$"
value = {LIMIT}
unit = "MINUTE"
"""


@pytest.fixture(scope="module")
def emulators() -> Iterator[list[EmulatorProcess]]:
    with redis_server() as url, EmulatorProcess(config(url)) as one, \
            EmulatorProcess(config(url)) as two:
        yield [one, two]


def test_two_processes_admit_the_limit_together(emulators: list[EmulatorProcess]) -> None:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    with httpx.Client(timeout=30.0) as http:
        sessions = [ApiSession(seeded_accounts(e.url)["member"], http) for e in emulators]
        for session in sessions:
            assert session.token

        def hammer(session: ApiSession) -> None:
            for _ in range(10):
                status = session.compute("GET", "/flavors").status_code
                with lock:
                    statuses[status] += 1

        threads = [threading.Thread(target=hammer, args=(sessions[i % 2],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        refused = sessions[1].compute("GET", "/flavors")
    assert statuses == {200: LIMIT, 429: 40 - LIMIT}
    assert refused.status_code == 429
    assert refused.json()["overLimit"]["retryAfter"] == refused.headers["Retry-After"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
