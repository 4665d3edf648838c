"""How a service's error reaches Nova: the text Nova's client exceptions carry.

Nova wraps a Neutron error as ``str(NeutronClientException)``: the server's message, then
``Neutron server returns request_ids: [...]`` on a line of its own (python-neutronclient
adds the request id of the failed call)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from emulator.errors import EmulatorError
from emulator.network import rows


def neutron_text(error: EmulatorError) -> str:
    """``str()`` of the neutronclient exception ``error`` becomes in Nova."""
    return f"{error.message}\nNeutron server returns request_ids: ['req-{rows.new_id()}']"


#: A table of one call's translations: the service's error class -> Nova's.
Translations = Mapping[type[EmulatorError], type[EmulatorError]]


@contextmanager
def neutron_errors(table: Translations) -> Iterator[None]:
    """Re-raise a Neutron error the way Nova's proxy does for this call (``table``), its
    text as Nova's client saw it. NOTE: an error Nova does not expect is a 500 there;
    here it keeps its own class (a 4xx with Neutron's text), as a clear fault beats one."""
    try:
        yield
    except EmulatorError as error:
        for kind, nova_kind in table.items():
            if isinstance(error, kind):
                raise nova_kind(neutron_text(error)) from error
        raise
