"""``/_emulator/requests``: the request recorder's ring (``emulator.control.requestlog``).

| route | what |
|---|---|
| ``GET /requests`` | ``{"size", "requests": [...]}``, the newest last; ``?limit=N``: the last N |
| ``GET /requests.jsonl`` | the same as JSON Lines, a download |
| ``DELETE /requests`` | forget them (204) |

Admin only, as the rest of the control plane (``ControlAPI.dispatch`` checks the token).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.requests import dump_json
from emulator.api.routing import Call, empty_response, json_response
from emulator.control.requestlog import RecordedRequest, RequestLog

#: The media type of the download (JSON Lines).
JSONL = "application/x-ndjson"
#: The largest ``limit`` taken (a ring is never larger in practice).
MAX_LIMIT = 1_000_000


def request_view(entry: RecordedRequest) -> dict[str, Any]:
    view = asdict(entry)
    if entry.fault is None:
        del view["fault"]
    return view


def parse_limit(call: Call) -> int | None:
    """``?limit=N`` (1 to ``MAX_LIMIT``); a Nova-style 400 for anything else."""
    raw = call.request.query_params.get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Fault(400, f"Invalid input for query parameters limit. Value: {raw}. "
                         f"Expected an integer from 1 to {MAX_LIMIT}.")
    return int(raw)


class RequestLogControl:
    """The handlers of ``/_emulator/requests``."""

    def __init__(self, log: RequestLog) -> None:
        self.log = log

    async def show(self, call: Call) -> Response:
        entries = self.log.entries(parse_limit(call))
        return json_response({"size": self.log.size,
                              "requests": [request_view(e) for e in entries]})

    async def download(self, call: Call) -> Response:
        entries = self.log.entries(parse_limit(call))
        body = b"".join(dump_json(request_view(e)) + b"\n" for e in entries)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return Response(body, media_type=JSONL, headers={
            "Content-Disposition": f'attachment; filename="nova-emulator-requests-{stamp}.jsonl"'})

    async def clear(self, call: Call) -> Response:
        self.log.clear()
        return empty_response(204)
