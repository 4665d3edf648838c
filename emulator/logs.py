"""Logging of ``nova-emulator serve``: one line per record, whatever a request put in it.

Messages carry request data (paths, names, fault messages). A newline in a path could
start a line that looks like the emulator's own (``GET /servers/x%0a<date> ERROR ...``) and
a NUL byte could hide the rest of one, so every control character (and every Unicode line
separator) of a message is escaped: ``\\n`` becomes the two characters ``\\`` ``n``, NUL
``\\x00``. A traceback keeps its own lines, but each exception's message in it is escaped
the same way.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

#: Code point -> what stands for it in a log line: C0 controls, DEL, NEL and the Unicode
#: line and paragraph separators (``str.splitlines`` splits on all of them).
ESCAPES: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, 0x85)},
    0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r",
    0x2028: "\\u2028", 0x2029: "\\u2029",
}

#: Every line: time, level, logger, message (the request id is in the message).
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

#: ``[server] log_level`` -> logging's level (``trace`` is uvicorn's level 5).
LEVELS: dict[str, int] = {
    "critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING,
    "info": logging.INFO, "debug": logging.DEBUG, "trace": 5,
}

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def escape(text: str) -> str:
    """``text`` with every control character and line separator escaped."""
    return text.translate(ESCAPES)


def _exception_lines(exc: BaseException, seen: set[int]) -> list[str]:
    """``traceback.format_exception``'s lines with each exception's message escaped
    (frames are the code's own; chained exceptions are followed as Python prints them)."""
    seen.add(id(exc))
    lines: list[str] = []
    if exc.__cause__ is not None and id(exc.__cause__) not in seen:
        lines += [*_exception_lines(exc.__cause__, seen), _CAUSE]
    elif (exc.__context__ is not None and not exc.__suppress_context__
          and id(exc.__context__) not in seen):
        lines += [*_exception_lines(exc.__context__, seen), _CONTEXT]
    if exc.__traceback__ is not None:
        lines.append("Traceback (most recent call last):\n")
        lines += traceback.format_tb(exc.__traceback__)
    message = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
    lines.append(escape(message) + "\n")
    return lines


class OneLineFormatter(logging.Formatter):
    """A formatter whose records cannot forge lines: see the module's docstring."""

    def format(self, record: logging.LogRecord) -> str:
        # Not Formatter.format: it would reuse an exc_text another formatter cached.
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = escape(self.formatMessage(record))
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text

    def formatException(self, ei: ExcInfo | tuple[None, None, None]) -> str:
        if ei[1] is None:
            return ""
        return "".join(_exception_lines(ei[1], set())).rstrip("\n")


def setup_logging(level: str) -> None:
    """Every logger (uvicorn's too) to stderr through ``OneLineFormatter`` at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=LEVELS[level], handlers=[handler], force=True)
