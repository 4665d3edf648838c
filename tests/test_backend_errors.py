"""Backend errors become domain errors in one place: each row of the table, the fallback,
and the context manager that applies them."""

from __future__ import annotations

import pytest

from backends.base import (
    BackendError,
    HostUnavailable,
    InstanceExists,
    InstanceNotFound,
    NotSupported,
    SpawnFailed,
)
from emulator.api.faults import Fault
from emulator.compute.backend_errors import (
    TRANSLATIONS,
    backend_errors,
    failure_message,
    translate,
)
from emulator.errors import BackendFailure, Conflict, EmulatorError, NotFound, NotImplementedYet

SERVER = "9b2b3f6a-4f6e-4b8e-9d4c-0c4a2b0e6f11"

#: Each row of ``TRANSLATIONS``: a backend error, the domain error, its message, its status.
ROWS: list[tuple[BackendError, type[EmulatorError], str, int]] = [
    (InstanceNotFound("no domain named instance-0001"), NotFound,
     f"Instance {SERVER} could not be found.", 404),
    (NotSupported("no serial console here"), NotImplementedYet, "no serial console here", 501),
    (HostUnavailable("compute-001 is down"), Conflict, "compute-001 is down", 409),
]


def test_every_row_has_a_case_here() -> None:
    assert [kind for kind, _ in TRANSLATIONS] == [type(error) for error, *_ in ROWS]


@pytest.mark.parametrize(("error", "kind", "message", "status"), ROWS)
def test_each_row(error: BackendError, kind: type[EmulatorError], message: str,
                  status: int) -> None:
    translated = translate(SERVER, error)
    assert type(translated) is kind
    assert translated.message == message
    assert Fault.from_error(translated).status == status


@pytest.mark.parametrize("error", [SpawnFailed("qemu exited with 1"), InstanceExists("twice"),
                                   BackendError("odd")])
def test_anything_else_is_a_backend_failure_with_its_text(error: BackendError) -> None:
    translated = translate(SERVER, error)
    assert type(translated) is BackendFailure
    assert translated.message == str(error)
    assert Fault.from_error(translated).status == 500


def test_an_error_without_text_is_named_by_its_class() -> None:
    assert failure_message(SpawnFailed()) == "SpawnFailed"
    assert failure_message(SpawnFailed("boom")) == "boom"
    assert translate(SERVER, NotSupported()).message == "NotSupported"
    assert translate(SERVER, InstanceExists()).message == "InstanceExists"


def test_a_subclass_takes_its_parents_row() -> None:
    class DomainGone(InstanceNotFound):
        pass

    class Fenced(HostUnavailable):
        pass

    assert type(translate(SERVER, DomainGone())) is NotFound
    assert type(translate(SERVER, Fenced("fenced"))) is Conflict


def test_backend_errors_raises_the_translation_from_the_original() -> None:
    original = HostUnavailable("compute-001 is down")
    with pytest.raises(Conflict) as raised, backend_errors(SERVER):
        raise original
    assert raised.value.message == "compute-001 is down"
    assert raised.value.__cause__ is original


def test_backend_errors_lets_other_exceptions_through() -> None:
    with pytest.raises(ValueError, match="not a backend error"), backend_errors(SERVER):
        raise ValueError("not a backend error")
    already = NotFound("already translated")
    with pytest.raises(NotFound) as raised, backend_errors(SERVER):
        raise already
    assert raised.value is already
