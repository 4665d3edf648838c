"""Log lines cannot be forged: control characters from requests are escaped, on every line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from conformance.process import EmulatorProcess
from emulator.logs import FORMAT, OneLineFormatter, escape

FORGED = "2026-12-05 17:00:00,000 ERROR nova_emulator forged line"


@pytest.mark.parametrize(("raw", "escaped"), [
    ("a\nb", "a\\nb"),
    ("a\r\nb", "a\\r\\nb"),
    ("a\x00b", "a\\x00b"),
    ("\ttab", "\\ttab"),
    ("esc\x1b[31mred", "esc\\x1b[31mred"),
    ("del\x7f", "del\\x7f"),
    ("nel\x85", "nel\\x85"),
    ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029"),
    ("vt\x0bff\x0cfs\x1c", "vt\\x0bff\\x0cfs\\x1c"),
    ("plain \\n, é and 日 stay", "plain \\n, é and 日 stay"),
])
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped
    assert escaped.splitlines() == [escaped]


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through ``OneLineFormatter`` to a string."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logger = logging.getLogger("tests.test_logging")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def test_a_message_stays_on_its_line(log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = log
    logger.warning("GET %s %d", f"/servers/x\n{FORGED}\x00", 404)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"WARNING tests.test_logging GET /servers/x\\n{FORGED}\\x00 404")


def test_a_traceback_keeps_its_lines_but_not_the_messages_lines(
        log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = log
    try:
        try:
            raise KeyError(f"x\n{FORGED}")
        except KeyError as exc:
            raise ValueError(f"bad name 'x\n{FORGED}'\u2028") from exc
    except ValueError:
        logger.exception("request failed:\n%s", FORGED)
    text = out.getvalue()
    lines = text.splitlines()
    assert not any(line.startswith(FORGED) for line in lines), text
    assert lines[0].endswith(f"ERROR tests.test_logging request failed:\\n{FORGED}")
    # Python's own layout, frames and chaining included.
    assert "Traceback (most recent call last):" in lines
    assert "The above exception was the direct cause of the following exception:" in lines
    assert any(line.strip() == 'raise KeyError(f"x\\n{FORGED}")' for line in lines), text
    assert f"KeyError: 'x\\n{FORGED}'" in lines
    assert f"ValueError: bad name 'x\\n{FORGED}'\\u2028" == lines[-1]


def test_a_served_emulator_writes_no_forged_line() -> None:
    """End to end: the request paths of the issue, through uvicorn, to the process's log."""
    with EmulatorProcess() as emulator:
        base = f"{emulator.url}/compute/v2.1/servers/"
        forged = FORGED.replace(" ", "%20")
        assert httpx.get(f"{base}x%0a{forged}").status_code == 401
        assert httpx.get(f"{base}x%00y%0d%e2%80%a8z").status_code == 401
    raw = emulator.log_path.read_bytes()
    assert b"\x00" not in raw
    lines = raw.decode().splitlines()
    assert not any(line.startswith(FORGED) for line in lines), raw
    assert any(f" GET /compute/v2.1/servers/x\\n{FORGED} 401 " in line for line in lines), raw
    assert any(" GET /compute/v2.1/servers/x\\x00y\\r\\u2028z 401 " in line
               for line in lines), raw
