"""The one place where a backend's errors become the domain's.

A verb the API waits for (console output, diagnostics, a VNC socket) raises the domain
error of the table; a verb that runs in the background fails its operation with
``failure_message`` as the server's fault and the event's traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from backends.base import (
    BackendError,
    HostUnavailable,
    InstanceNotFound,
    NotSupported,
)
from emulator.compute.records import not_found
from emulator.errors import BackendFailure, Conflict, EmulatorError, NotImplementedYet

#: Backend error class -> the domain error it becomes, given the server id and the error.
#: The first class the error is an instance of wins; anything else is a ``BackendFailure``.
TRANSLATIONS: tuple[tuple[type[BackendError], Callable[[str, BackendError], EmulatorError]],
                    ...] = (
    (InstanceNotFound, lambda server_id, _exc: not_found(server_id)),
    (NotSupported, lambda _server_id, exc: NotImplementedYet(failure_message(exc))),
    (HostUnavailable, lambda _server_id, exc: Conflict(failure_message(exc))),
)


def failure_message(exc: BaseException) -> str:
    """What a failed operation records: the error's text, else its class name."""
    return str(exc) or type(exc).__name__


def translate(server_id: str, exc: BackendError) -> EmulatorError:
    for kind, make in TRANSLATIONS:
        if isinstance(exc, kind):
            return make(server_id, exc)
    return BackendFailure(failure_message(exc))


@contextmanager
def backend_errors(server_id: str) -> Iterator[None]:
    """Run a backend call for ``server_id``; its ``BackendError`` leaves as a domain error."""
    try:
        yield
    except BackendError as exc:
        raise translate(server_id, exc) from exc
