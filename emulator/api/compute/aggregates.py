"""Host aggregates (``/os-aggregates``), admin only.

| version | change |
|---|---|
| 2.41 | ``uuid`` in every view |
| 2.81 | ``POST /os-aggregates/{id}/images`` (an image cache request: 202) |
| 2.102 | unknown query parameters -> 400 |

NOTE: as Nova, create answers 200 (not 201) without ``hosts`` and ``metadata``, delete
answers 200 with no body, and the host actions answer 200 with the aggregate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.aggregates import ZONE_KEY, AggregateRecord, AggregateService

UUID_VERSION = V(2, 41)
IMAGES_VERSION = V(2, 81)


def _time(value: datetime | None) -> str | None:
    """Nova's naive timestamps (``YYYY-MM-DDTHH:MM:SS.ffffff``, no zone)."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


class AggregatesController:
    def __init__(self, aggregates: AggregateService) -> None:
        self.aggregates = aggregates

    @staticmethod
    def _view(call: Call, agg: AggregateRecord, created: bool = False) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": agg.id,
            "name": agg.name,
            "availability_zone": agg.availability_zone,
            "hosts": list(agg.hosts),
            "metadata": dict(agg.metadata),
            "created_at": _time(agg.created_at),
            "updated_at": _time(agg.updated_at),
            "deleted_at": None,
            "deleted": False,
        }
        if call.version >= UUID_VERSION:
            view["uuid"] = agg.uuid
        if created:
            del view["hosts"], view["metadata"]
        return view

    def _shown(self, call: Call, agg: AggregateRecord) -> Response:
        return json_response({"aggregate": self._view(call, agg)})

    async def index(self, call: Call) -> Response:
        common.check_query(call, "aggregate_query")
        found = self.aggregates.list_aggregates(common.context(call))
        return json_response({"aggregates": [self._view(call, a) for a in found]})

    async def create(self, call: Call) -> Response:
        data = common.check_body(call, "aggregate_create")["aggregate"]
        zone = data.get(ZONE_KEY)
        agg = self.aggregates.create(common.context(call), data["name"].strip(),
                                     zone.strip() if zone else None)
        return json_response({"aggregate": self._view(call, agg, created=True)})

    async def show(self, call: Call) -> Response:
        common.check_query(call, "aggregate_query")
        return self._shown(call, self.aggregates.get(common.context(call),
                                                      call.params["aggregate_id"]))

    async def update(self, call: Call) -> Response:
        values = dict(common.check_body(call, "aggregate_update")["aggregate"])
        if "name" in values:
            values["name"] = values["name"].strip()
        return self._shown(call, self.aggregates.update(
            common.context(call), call.params["aggregate_id"], values))

    async def delete(self, call: Call) -> Response:
        self.aggregates.delete(common.context(call), call.params["aggregate_id"])
        return empty_response(200)

    async def action(self, call: Call) -> Response:
        return await common.dispatch_action(call, {
            "add_host": (V(2, 1), self._add_host),
            "remove_host": (V(2, 1), self._remove_host),
            "set_metadata": (V(2, 1), self._set_metadata),
        })

    async def _add_host(self, call: Call, _payload: Any) -> Response:
        host = common.check_body(call, "aggregate_add_host")["add_host"]["host"]
        return self._shown(call, self.aggregates.add_host(
            common.context(call), call.params["aggregate_id"], host))

    async def _remove_host(self, call: Call, _payload: Any) -> Response:
        host = common.check_body(call, "aggregate_remove_host")["remove_host"]["host"]
        return self._shown(call, self.aggregates.remove_host(
            common.context(call), call.params["aggregate_id"], host))

    async def _set_metadata(self, call: Call, _payload: Any) -> Response:
        metadata = common.check_body(call, "aggregate_set_metadata")["set_metadata"]
        return self._shown(call, self.aggregates.set_metadata(
            common.context(call), call.params["aggregate_id"], metadata["metadata"]))

    async def images(self, call: Call) -> Response:
        cache = common.check_body(call, "aggregate_images")["cache"]
        self.aggregates.cache_images(common.context(call), call.params["aggregate_id"],
                                     [item["id"] for item in cache])
        return empty_response(202)
