"""Cinder's error dialect: ``{"<faultName>": {"code": N, "message": "…"}}`` with the names
of ``cinder.api.openstack.wsgi.Fault`` (no ``overLimit`` for 429: anything unnamed is a
``computeFault``), a 413's ``Retry-After`` also in the body as ``retryAfter``."""

from __future__ import annotations

import json

from starlette.responses import Response

from emulator.api.faults import NOVA_FAULT_NAMES, Fault
from emulator.errors import EmulatorError
from emulator.volume.errors import QuotaExceeded

#: Cinder's fault names by status (``wsgi.Fault._fault_names``): Nova's, but for 429.
FAULT_NAMES: dict[int, str] = {status: name for status, name in NOVA_FAULT_NAMES.items()
                               if status != 429}


def fault_from_error(error: EmulatorError) -> Fault:
    """A domain error as Cinder's fault (quota errors are 413s; the rest as shared)."""
    if isinstance(error, QuotaExceeded):
        return Fault(413, error.message, {"Retry-After": "0"})
    return Fault.from_error(error)


def render_cinder(fault: Fault) -> Response:
    name = FAULT_NAMES.get(fault.status, "computeFault")
    inner: dict[str, object] = {"code": fault.status, "message": fault.message}
    if fault.status == 413 and "Retry-After" in fault.headers:
        inner["retryAfter"] = fault.headers["Retry-After"]
    return Response(json.dumps({name: inner}), status_code=fault.status,
                    headers=dict(fault.headers), media_type="application/json")
