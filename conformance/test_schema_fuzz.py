"""Schema fuzzing: schemathesis generates requests for every operation of the emulator's
own OpenAPI document (``GET /_emulator/openapi.json``, generated from the route table),
path parameters, microversion headers and bodies (each server action's too), sent with a
member's token. Any 5xx, any request without an answer within ``TIMEOUT`` (a hang) and any
connection reset fails the test; so does a budget not spent (fewer than ``MINIMUM``
requests sent).

The examples are the same every run (hypothesis derandomized: a red CI is a bug, never
luck); ``NOVA_EMULATOR_FUZZ_RANDOM=1`` draws new ones, to explore."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core import NotSet

from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts

#: Examples per operation (hypothesis stops early where an operation has fewer distinct
#: requests: one without parameters has one).
EXAMPLES = 60
#: The requests the run must at least send.
MINIMUM = 20_000
#: Seconds an answer may take before the request counts as a hang.
TIMEOUT = 30.0
#: Draw new examples each run instead of the same ones.
RANDOM = os.environ.get("NOVA_EMULATOR_FUZZ_RANDOM", "") == "1"


def _send(http: httpx.Client, base: str, token: str, case: Any) -> httpx.Response:
    headers = {**(case.headers or {}), "X-Auth-Token": token}
    content = None
    if not isinstance(case.body, NotSet):
        content = json.dumps(case.body).encode()
        headers["Content-Type"] = "application/json"
    return http.request(case.method, f"{base}{case.formatted_path}", params=case.query,
                        headers=headers, content=content)


@pytest.mark.emulator_only
@pytest.mark.simulated_only(reason="once per CI run and database: ~20,000 requests")
def test_schemathesis_finds_no_5xx_hang_or_reset(target: Target) -> None:
    with dedicated_emulator(target) as process, httpx.Client(timeout=TIMEOUT) as http:
        accounts = seeded_accounts(process.url)
        admin = ApiSession(accounts["admin"], http)
        token = ApiSession(accounts["member"], http).token
        document = admin.request("GET", f"{process.url}/_emulator/openapi.json")
        assert document.status_code == 200, document.text
        schema = schemathesis.openapi.from_dict(document.json())
        sent = 0
        statuses: dict[int, int] = {}
        failures: list[str] = []
        started = time.monotonic()
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 400, len(operations)
        for operation in operations:

            @settings(max_examples=EXAMPLES, database=None, deadline=None,
                      derandomize=not RANDOM,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def attempt(case: Any) -> None:
                nonlocal sent
                try:
                    answer = _send(http, process.url, token, case)
                except httpx.HTTPError as exc:  # a hang (timeout) or a reset
                    failures.append(f"{case.operation.label}: {type(exc).__name__} "
                                    f"{case.as_curl_command()}")
                    return
                finally:
                    sent += 1
                statuses[answer.status_code // 100] = statuses.get(
                    answer.status_code // 100, 0) + 1
                if answer.status_code >= 500:
                    failures.append(f"{case.operation.label}: {answer.status_code} "
                                    f"{answer.text[:200]} {case.as_curl_command()}")

            attempt()
            assert process.proc is not None and process.proc.poll() is None, \
                f"the emulator died under {operation.label}"
        elapsed = time.monotonic() - started
        print(f"schemathesis: {sent} requests over {len(operations)} operations in "
              f"{elapsed:.0f} s, {len(failures)} failures; answers by class: "
              f"{ {f'{k}xx': v for k, v in sorted(statuses.items())} }")
        assert not failures, "\n".join(failures[:20])
        assert sent >= MINIMUM, sent
