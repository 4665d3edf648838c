"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for a request's head: a client that
opens a connection and sends nothing, or sends a request line and headers that never end
(Slowloris), is dropped after ``header_timeout`` seconds instead of holding a connection
and its memory for ever (uvicorn's keep-alive timeout only runs between requests, and
stops at the first byte). nginx's ``client_header_timeout`` is the model; like nginx we
close without an answer. A request whose head is complete is never cut: its body and the
handler take what they take (``max_request_body_bytes`` bounds the body).
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Seconds a connection may take to send a request's head (nginx's default is 60).
DEFAULT_HEADER_TIMEOUT = 30.0


class HeaderDeadlineProtocol(H11Protocol):
    """``H11Protocol`` whose connections must complete each request's head in time."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            # A head begun (uvicorn stopped its keep-alive timer at the first byte).
            if self._head_deadline is None:
                self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _too_slow(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def protocol_with(header_timeout: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class uvicorn instantiates, with this deadline."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,),
                {"header_timeout": header_timeout})
