"""Neutron's other calls: router interfaces, the tag subresource, quotas, extensions,
availability zones and the auto-allocated topology."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.compute.common import context
from emulator.api.network.resources import collection_of
from emulator.api.routing import Call, empty_response, json_response
from emulator.network.service import NetworkService


class RouterInterfacesController:
    def __init__(self, network: NetworkService) -> None:
        self.network = network

    async def add(self, call: Call) -> Response:
        return json_response(self.network.add_router_interface(
            context(call), call.params["id"], call.body))

    async def remove(self, call: Call) -> Response:
        return json_response(self.network.remove_router_interface(
            context(call), call.params["id"], call.body))


class TagsController:
    def __init__(self, network: NetworkService) -> None:
        self.network = network

    async def index(self, call: Call) -> Response:
        return json_response({"tags": self.network.tags(
            context(call), collection_of(call), call.params["id"])})

    async def replace(self, call: Call) -> Response:
        return json_response({"tags": self.network.replace_tags(
            context(call), collection_of(call), call.params["id"], call.body)})

    async def remove_all(self, call: Call) -> Response:
        self.network.remove_tags(context(call), collection_of(call), call.params["id"])
        return empty_response(204)

    async def check(self, call: Call) -> Response:
        self.network.check_tag(context(call), collection_of(call), call.params["id"],
                               call.params["tag"])
        return empty_response(204)

    async def add(self, call: Call) -> Response:
        self.network.add_tag(context(call), collection_of(call), call.params["id"],
                             call.params["tag"])
        return empty_response(201)

    async def remove(self, call: Call) -> Response:
        self.network.remove_tag(context(call), collection_of(call), call.params["id"],
                                call.params["tag"])
        return empty_response(204)


class QuotasController:
    def __init__(self, network: NetworkService) -> None:
        self.network = network

    async def index(self, call: Call) -> Response:
        return json_response({"quotas": self.network.quotas(context(call))})

    async def show(self, call: Call) -> Response:
        return json_response({"quota": self.network.quota(context(call),
                                                          call.params["project_id"])})

    async def defaults(self, call: Call) -> Response:
        return json_response({"quota": self.network.quota_defaults(
            context(call), call.params["project_id"])})

    async def details(self, call: Call) -> Response:
        return json_response({"quota": self.network.quota_details(
            context(call), call.params["project_id"])})

    async def update(self, call: Call) -> Response:
        return json_response({"quota": self.network.update_quota(
            context(call), call.params["project_id"], call.body)})

    async def delete(self, call: Call) -> Response:
        self.network.reset_quota(context(call), call.params["project_id"])
        return empty_response(204)

    async def project(self, call: Call) -> Response:
        """``GET /quotas/project``: who the caller's project is."""
        return json_response({"project": {"project_id": context(call).project_id}})


class MiscController:
    def __init__(self, network: NetworkService) -> None:
        self.network = network

    async def extensions(self, call: Call) -> Response:
        return json_response({"extensions": self.network.extensions()})

    async def extension(self, call: Call) -> Response:
        return json_response({"extension": self.network.extension(call.params["alias"])})

    async def availability_zones(self, call: Call) -> Response:
        return json_response({"availability_zones": self.network.availability_zones()})

    async def topology(self, call: Call) -> Response:
        dry_run = "dry-run" in call.request.query_params.getlist("fields")
        return json_response({"auto_allocated_topology": self.network.auto_allocated_topology(
            context(call), call.params["project_id"], dry_run)})

    async def delete_topology(self, call: Call) -> Response:
        self.network.delete_auto_allocated_topology(context(call), call.params["project_id"])
        return empty_response(204)
