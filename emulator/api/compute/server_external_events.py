"""Server external events (``POST /os-server-external-events``), for services (Neutron,
Cinder, Cyborg, Ironic) and admins.

| version | event names added |
|---|---|
| 2.51 | ``volume-extended`` |
| 2.76 | ``power-update`` |
| 2.82 | ``accelerator-request-bound`` |
| 2.93 | ``volume-reimaged`` |

The answer echoes each event with its ``status`` (``completed`` or ``failed``) and
``code``: 200 when all were delivered, else 207.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.routing import Call, json_response
from emulator.compute.external_events import Event, ExternalEvents


class ExternalEventsController:
    def __init__(self, events: ExternalEvents) -> None:
        self.events = events

    async def create(self, call: Call) -> Response:
        body = common.check_body(call, "external_events")
        asked: list[dict[str, Any]] = body["events"]
        deliveries = self.events.create(common.context(call), [
            Event(e["name"], e["server_uuid"], e.get("tag")) for e in asked])
        shown = [{**event, "status": d.status, "code": d.code}
                 for event, d in zip(asked, deliveries, strict=True)]
        failed = any(d.code != 200 for d in deliveries)
        return json_response({"events": shown}, status=207 if failed else 200)
