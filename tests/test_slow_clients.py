"""Slow clients and connection floods (emulator.http_protocol): a connection that sends
nothing, or a request head that never ends, is dropped after ``[server]
header_timeout_seconds``; meanwhile other clients are answered, a head sent slowly but in
time is served, and a finished request's keep-alive connection stays open."""

from __future__ import annotations

import socket
import time

import httpx

from emulator.testing_process import EmulatorProcess

DEADLINE = 1.5
CONFIG = f"[server]\nheader_timeout_seconds = {DEADLINE}\n"


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed it (end of stream or a reset)."""
    sock.settimeout(0.0)
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_slow_heads_and_idle_connections_are_dropped_others_served() -> None:
    with EmulatorProcess(config=CONFIG, state="sqlite://") as process:
        address = ("127.0.0.1", process.port)
        slowloris = []
        for number in range(150):
            sock = socket.create_connection(address)
            sock.sendall(b"GET /identity/v3 HTTP/1.1\r\nHost: x\r\nX-Slow-" +
                         str(number).encode() + b": ")  # the head never ends
            slowloris.append(sock)
        idle = [socket.create_connection(address) for _ in range(150)]
        kept = socket.create_connection(address)
        kept.sendall(b"GET /identity/v3 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept.recv(65536).startswith(b"HTTP/1.1 200")
        patient = socket.create_connection(address)
        with httpx.Client(timeout=10.0) as http:
            # Others are served while 300 connections hang.
            for _ in range(50):
                assert http.get(f"{process.url}/identity/v3").status_code == 200
            # A head sent in pieces, but within the deadline, is answered.
            for piece in (b"GET /identity/v3 HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
                patient.sendall(piece)
                time.sleep(DEADLINE / 4)
            assert patient.recv(65536).startswith(b"HTTP/1.1 200")
            deadline = time.monotonic() + DEADLINE + 10.0
            left = slowloris + idle
            while left and time.monotonic() < deadline:
                time.sleep(0.2)
                left = [sock for sock in left if not closed_by_server(sock)]
            assert not left, f"{len(left)} of 300 slow connections still open"
            # The finished request's connection is kept alive (uvicorn's 75 s), and
            # still answers.
            assert not closed_by_server(kept)
            kept.setblocking(True)
            kept.sendall(b"GET /identity/v3 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert kept.recv(65536).startswith(b"HTTP/1.1 200")
            assert http.get(f"{process.url}/identity/v3").status_code == 200
        for sock in [*slowloris, *idle, kept, patient]:
            sock.close()
