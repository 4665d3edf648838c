"""Servers (``/servers``): create, list, detail, show, update, delete, and the action
dispatch. Each handler parses and validates the request, makes one domain call and builds
the view."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.block_devices import block_devices
from emulator.api.compute.common import ActionTable, V
from emulator.api.compute.server_queries import list_query, truthy
from emulator.api.compute.server_views import ServerView, ShowFlags
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.create import NewServer
from emulator.compute.operations import ServerOperations
from emulator.compute.policy import authorize
from emulator.compute.servers import Servers
from emulator.compute.volumes.boot import boots_from_volume


def _address(raw: str | None) -> str | None:
    """NOTE: Nova stores access IPs normalised (``0:0::babe:220.12.22.2`` reads back as
    ``::babe:dc0c:1602``)."""
    if not raw:
        return None
    return str(ipaddress.ip_address(raw))


#: ``PUT /servers/{id}`` body key -> the server's column it changes.
UPDATE_FIELDS = {"name": "display_name", "description": "display_description",
                 "hostname": "hostname", "accessIPv4": "access_ip_v4",
                 "accessIPv6": "access_ip_v6", "OS-DCF:diskConfig": "disk_config"}


class ServersController:
    def __init__(self, servers: Servers, operations: ServerOperations,
                 actions: ActionTable) -> None:
        self.servers = servers
        self.operations = operations
        self.view = ServerView()
        #: ``POST /servers/{id}/action``: body key -> (first microversion, handler).
        self.actions = actions

    # -- list ----------------------------------------------------------------------------

    def _list(self, call: Call, detail: bool) -> Response:
        query = list_query(call, detail)
        found = [] if query is None else self.servers.matching(common.context(call), query)
        if detail:
            items = [self.view.show(call, r) for r in found]
        else:
            items = [self.view.basic(call, r) for r in found]
        collection = "servers/detail" if detail else "servers"
        return json_response(common.page_body(call, "servers", collection, items,
                                              found[-1].uuid if found else None))

    async def index(self, call: Call) -> Response:
        authorize(common.context(call), "os_compute_api:servers:index")
        return self._list(call, detail=False)

    async def detail(self, call: Call) -> Response:
        authorize(common.context(call), "os_compute_api:servers:detail")
        return self._list(call, detail=True)

    # -- one server ----------------------------------------------------------------------

    async def show(self, call: Call) -> Response:
        common.check_query(call, "show_query")
        record = self.servers.get(common.context(call), call.params["server_id"])
        flags = ShowFlags(show_server_groups=call.version >= V(2, 71))
        return json_response({"server": self.view.show(call, record, flags)})

    async def update(self, call: Call) -> Response:
        server = common.check_body(call, "update")["server"]
        changes: dict[str, Any] = {column: server[key] for key, column in UPDATE_FIELDS.items()
                                   if key in server}
        if "display_name" in changes:
            changes["display_name"] = changes["display_name"].strip()
        for column in ("access_ip_v4", "access_ip_v6"):
            if column in changes:
                changes[column] = _address(changes[column])
        pin = call.version >= V(2, 104) and "pinned_availability_zone" in server
        record = self.servers.update(common.context(call), call.params["server_id"], changes,
                                     pin=pin, pinned_zone=server.get("pinned_availability_zone"))
        return json_response({"server": self.view.update(call, record)})

    async def delete(self, call: Call) -> Response:
        self.operations.delete(common.context(call), call.params["server_id"])
        return empty_response(204)

    async def action(self, call: Call) -> Response:
        return await common.dispatch_action(call, self.actions)

    # -- create --------------------------------------------------------------------------

    @staticmethod
    def _networks(raw: Any) -> Any:
        """Nova's checks of ``networks`` beyond its schema."""
        if raw is None or isinstance(raw, str):
            return raw
        ports: list[str] = []
        for network in raw:
            port = network.get("port")
            if port:
                if port in ports:
                    raise Fault(400, f"Port ID '{port}' was specified twice: you cannot attach "
                                     "a port multiple times.")
                if network.get("fixed_ip") is not None:
                    raise Fault(400, f"Specified Fixed IP '{network['fixed_ip']}' cannot be "
                                     f"used with port '{port}': the two cannot be specified "
                                     "together.")
                ports.append(port)
                continue
            if "uuid" not in network:
                raise Fault(400, "Bad network format: missing 'uuid'")
            net_id = network["uuid"]
            if not re.fullmatch(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                                r"[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}", str(net_id)):
                raise Fault(400, "Bad networks format: network uuid is not in proper format "
                                 f"({net_id})")
        # NOTE: whether the ports and networks exist is the compute API's question (after
        # the flavor, zone and image): see ServerCreator.create.
        return raw

    @staticmethod
    def _new_server(call: Call) -> tuple[NewServer, bool]:
        body: Mapping[str, Any] = common.check_body(call, "create")
        server: Mapping[str, Any] = body["server"]
        bdms: list[dict[str, Any]] = (server.get("block_device_mapping_v2")
                                      or server.get("block_device_mapping") or [])
        devices = block_devices(server.get("block_device_mapping_v2"),
                                server.get("block_device_mapping"), bool(server.get("imageRef")))
        boot_from_volume = boots_from_volume(devices)
        # Nova's order: counts, (zone and hosts: ServerService.create), block devices,
        # image, networks, flavor.
        min_count = int(server.get("min_count", 1))
        max_count = int(server.get("max_count", min_count))
        if min_count > max_count:
            raise Fault(400, "min_count must be <= max_count")
        if server.get("block_device_mapping") and server.get("block_device_mapping_v2"):
            raise Fault(400, "Using different block_device_mapping syntaxes is not allowed in "
                             "the same request.")
        image_ref = server.get("imageRef") or ""
        if not image_ref and bdms:
            image_ref = next((d.uuid or "" for d in devices
                              if d.source_type == "image" and d.boot_index == 0
                              and not d.to_volume), "")
        if not image_ref and not bdms:
            raise Fault(400, "Missing imageRef attribute")
        groups = server.get("security_groups")
        names = sorted({g["name"] for g in groups if g.get("name")}) if groups else ["default"]
        hints = (body["os:scheduler_hints"] if "os:scheduler_hints" in body
                 else body.get("OS-SCH-HNT:scheduler_hints", {}))
        # Nova drops hints meant for itself.
        hints = {k: v for k, v in hints.items() if not k.startswith("_nova")}
        new = NewServer(
            name=server["name"].strip(),
            flavor_ref=str(server["flavorRef"]),
            image_ref=str(image_ref),
            key_name=server.get("key_name"),
            admin_pass=server.get("adminPass"),
            user_data=server.get("user_data"),
            metadata=dict(server.get("metadata", {})),
            access_ip_v4=_address(server.get("accessIPv4")),
            access_ip_v6=_address(server.get("accessIPv6")),
            disk_config=server.get("OS-DCF:diskConfig", "MANUAL"),
            availability_zone=server.get("availability_zone"),
            networks=ServersController._networks(server.get("networks")),
            security_groups=tuple(names),
            config_drive=truthy(str(server.get("config_drive", ""))),
            min_count=min_count,
            max_count=max_count,
            # Before 2.19 Nova describes a server by its name.
            description=server.get("description") if call.version >= V(2, 19)
            else server["name"].strip(),
            tags=tuple(server.get("tags") or ()),
            trusted_certs=tuple(server["trusted_image_certificates"])
            if server.get("trusted_image_certificates") else None,
            host=server.get("host"),
            node=server.get("hypervisor_hostname"),
            hostname=server.get("hostname") if call.version >= V(2, 90) else None,
            scheduler_hints=dict(hints),
            boot_from_volume=boot_from_volume,
            block_devices=devices,
            multiattach=call.version >= V(2, 60),
            # NOTE: an item without a path or contents is a 500 in Nova (a KeyError).
            personality=tuple((str(f.get("path", "")), str(f.get("contents", "")))
                              for f in server.get("personality") or ()),
        )
        return new, truthy(str(server.get("return_reservation_id", "")))

    async def create(self, call: Call) -> Response:
        new, return_reservation = self._new_server(call)
        created = await self.operations.create(common.context(call), new)
        if return_reservation:
            return json_response({"reservation_id": created.reservation_id}, status=202)
        server_id = created.server_ids[0]
        links = common.links(call, "servers", server_id)
        body = {"server": {
            "id": server_id,
            "links": links,
            "OS-DCF:diskConfig": created.disk_config,
            "security_groups": call.body["server"].get("security_groups",
                                                       [{"name": "default"}]),
            "adminPass": created.admin_pass,
        }}
        return json_response(body, status=202, headers={"Location": links[0]["href"]})
