"""The request recorder: the last requests the emulator answered, in a bounded ring. No HTTP.

The access middleware (``emulator.api.app.RequestIdMiddleware``) appends one tuple per
answered request (``record``: a deque append, the oldest falling out once the ring is
full); the ISO time, the milliseconds and an error's fault are worked out only when the
ring is read (``entries``). An error answer's body is kept raw for that (up to
``MAX_ERROR_BODY`` bytes), a success's not at all.

Size 0 (``[server] request_log_size = 0``) records nothing.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

#: (wall time, request id, service, method, path, route template, status, seconds,
#: project id, the body of an error answer) of one request, as the middleware keeps it.
Entry = tuple[float, str, str, str, str, str, int, float, str | None, bytes | None]
#: Bytes of an error's body kept to find its fault in.
MAX_ERROR_BODY = 4096
#: Characters of a fault's message kept (an HTML page's text is cut there too).
MAX_MESSAGE = 300
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class FaultFacts:
    """What an error answer said: its fault's name (Nova's ``itemNotFound``, Keystone's
    title, Neutron's type) and message."""

    name: str | None
    message: str | None


@dataclass(frozen=True)
class RecordedRequest:
    time: str
    request_id: str
    service: str
    method: str
    path: str
    route: str
    status: int
    latency_ms: float
    project_id: str | None
    fault: FaultFacts | None


def _short(text: str) -> str:
    return _SPACE.sub(" ", text).strip()[:MAX_MESSAGE]


def fault_in(body: Any) -> FaultFacts | None:
    """Nova's ``{"<name>": {"code", "message"}}``, Keystone's ``{"error": {"title", ...}}``,
    Neutron's ``{"NeutronError": {"type", "message"}}``."""
    if not isinstance(body, dict) or not body:
        return None
    key, inner = next(iter(body.items()))
    if not isinstance(inner, dict):
        message = body.get("message")
        return FaultFacts(None, _short(message)) if isinstance(message, str) else None
    name = inner.get("type") or (inner.get("title") if key == "error" else None) or key
    message = inner.get("message")
    return FaultFacts(str(name), _short(message) if isinstance(message, str) else None)


def fault_of(body: bytes) -> FaultFacts | None:
    """The fault an error's body names: JSON in any service's dialect, else its text (an
    HTML page's without the tags)."""
    text = body.decode("utf-8", errors="replace")
    try:
        return fault_in(json.loads(text))
    except ValueError:
        plain = _short(_TAG.sub(" ", text))
        return FaultFacts(None, plain) if plain else None


def iso_time(when: float) -> str:
    """``2026-01-02T03:04:05.678Z``."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def recorded(entry: Entry) -> RecordedRequest:
    when, request_id, service, method, path, route, status, seconds, project, body = entry
    return RecordedRequest(
        time=iso_time(when), request_id=request_id, service=service, method=method,
        path=path, route=route, status=status, latency_ms=round(seconds * 1000, 3),
        project_id=project, fault=fault_of(body) if body else None)


class RequestLog:
    """The ring (see the module docstring)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ring: deque[Entry] | None = deque(maxlen=size) if size > 0 else None

    @property
    def enabled(self) -> bool:
        return self._ring is not None

    def record(self, entry: Entry) -> None:
        if self._ring is not None:
            self._ring.append(entry)

    def entries(self, limit: int | None = None) -> list[RecordedRequest]:
        """The last ``limit`` requests (all kept without one), the newest last."""
        if self._ring is None:
            return []
        ring = self._ring
        if limit is None or limit >= len(ring):
            kept = list(ring)
        else:  # the newest ``limit`` only, not a copy of the whole ring first
            kept = list(islice(reversed(ring), max(limit, 0)))[::-1]
        return [recorded(entry) for entry in kept]

    def clear(self) -> None:
        if self._ring is not None:
            self._ring.clear()

    def __len__(self) -> int:
        return len(self._ring) if self._ring is not None else 0
