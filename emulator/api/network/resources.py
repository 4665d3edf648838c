"""The controller every Neutron resource shares (Neutron's ``api.v2.base.Controller``):
list with filters, fields, sorting and paging links; show; create (one, or a bulk list);
update; delete. Each handler parses, makes one domain call, builds the body."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response

from emulator.api.compute.common import context
from emulator.api.routing import Call, base_url, empty_response, json_response
from emulator.network.listing import ListQuery, Record
from emulator.network.service import NetworkService

#: URL segment -> the domain's collection (Neutron's dashes for underscores).
COLLECTIONS: dict[str, str] = {
    "networks": "networks", "subnets": "subnets", "ports": "ports",
    "security-groups": "security_groups", "security-group-rules": "security_group_rules",
    "routers": "routers", "floatingips": "floatingips",
}


def collection_of(call: Call) -> str:
    return COLLECTIONS[call.params["collection"]]


def page_links(call: Call, collection: str, page: list[Record],
               query: ListQuery) -> dict[str, list[dict[str, str]]]:
    """``<collection>_links``: ``next`` unless a forward page came back short, ``previous``
    unless a backward one did (``api_common.get_pagination_links``)."""
    if query.limit is None:
        return {}
    url = f"{base_url(call.request)}{call.request.url.path}"
    kept = [(k, v) for k, v in call.request.query_params.multi_items()
            if k not in ("marker", "page_reverse")]
    found: list[dict[str, str]] = []
    short = len(page) < query.limit
    if not (short and not query.page_reverse):
        marker = [("marker", page[-1]["id"])] if page else []
        found.append({"rel": "next", "href": f"{url}?{urlencode(kept + marker)}"})
    if not (short and query.page_reverse):
        marker = [("marker", page[0]["id"])] if page else []
        back = kept + marker + [("page_reverse", "True")]
        found.append({"rel": "previous", "href": f"{url}?{urlencode(back)}"})
    return {f"{collection}_links": found}


class ResourcesController:
    def __init__(self, network: NetworkService) -> None:
        self.network = network

    def _member(self, collection: str) -> str:
        return self.network.resource(collection).name

    async def index(self, call: Call) -> Response:
        collection = collection_of(call)
        page = self.network.index(context(call), collection,
                                  call.request.query_params.multi_items())
        return json_response({collection: page.items,
                              **page_links(call, collection, page.items, page.query)})

    async def show(self, call: Call) -> Response:
        collection = collection_of(call)
        fields = [f for f in call.request.query_params.getlist("fields") if f]
        record = self.network.show(context(call), collection, call.params["id"], fields)
        return json_response({self._member(collection): record})

    async def create(self, call: Call) -> Response:
        collection = collection_of(call)
        made = self.network.create(context(call), collection, call.body)
        if isinstance(call.body, dict) and collection in call.body:
            return json_response({collection: made}, status=201)
        return json_response({self._member(collection): made[0]}, status=201)

    async def update(self, call: Call) -> Response:
        collection = collection_of(call)
        record = self.network.update(context(call), collection, call.params["id"], call.body)
        return json_response({self._member(collection): record})

    async def delete(self, call: Call) -> Response:
        self.network.delete(context(call), collection_of(call), call.params["id"])
        return empty_response(204)
