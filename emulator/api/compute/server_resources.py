"""Server sub-resources: metadata, tags, IPs and instance actions (``/servers/{id}/...``).

| resource | since | notes |
|---|---|---|
| ``metadata`` | 2.1 | POST merges, PUT replaces; PUT ``{key}`` takes one item; DELETE 204 |
| ``tags`` | 2.26 | PUT ``{tag}`` 201 (204 if present) with ``Location``; GET ``{tag}`` 204 |
| ``ips`` | 2.1 | addresses without the ``OS-EXT-IPS`` extensions |
| ``os-instance-actions`` | 2.1 | see below |

Instance actions: deleted servers' from 2.21; events for everyone from 2.51 (before,
admins only); paging, ``changes-since``, ``updated_at`` and ``links`` from 2.58;
``changes-before`` 2.66; events' ``hostId`` (and ``host`` for admins) 2.62; ``details``
(admins) 2.84.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.server_views import ServerView, host_id, naive
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.instance_actions import ActionQuery, InstanceActions
from emulator.compute.policy import allowed
from emulator.compute.records import ActionRecord, EventRecord
from emulator.compute.server_metadata import ServerMetadata
from emulator.compute.servers import Servers

#: Where a tag view starts to exist (every tag route is 404 below it).
TAGS_VERSION = V(2, 26)

_METADATA = "os_compute_api:server-metadata:"
_IPS = "os_compute_api:ips:"
_ACTIONS = "os_compute_api:os-instance-actions:"


def _parse_time(raw: str) -> datetime:
    """An ISO 8601 time the query schema accepted, as an aware UTC datetime."""
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class ServerResourcesController:
    """The handlers of every ``/servers/{server_id}/<sub-resource>`` route."""

    def __init__(self, servers: Servers, metadata: ServerMetadata,
                 actions: InstanceActions) -> None:
        self.servers = servers
        self.metadata = metadata
        self.actions = actions
        self.view = ServerView()

    # -- metadata ------------------------------------------------------------------------

    async def metadata_index(self, call: Call) -> Response:
        common.check_query(call, "metadata_index_query")
        items = self.metadata.metadata(common.context(call), call.params["server_id"],
                                       _METADATA + "index")
        return json_response({"metadata": items})

    async def metadata_show(self, call: Call) -> Response:
        common.check_query(call, "metadata_show_query")
        key = call.params["key"]
        value = self.metadata.item(common.context(call), call.params["server_id"], key)
        return json_response({"meta": {key: value}})

    async def metadata_create(self, call: Call) -> Response:
        """POST: merge into the metadata (200, as Nova kept it; the whole set back)."""
        items = common.check_body(call, "metadata_create")["metadata"]
        merged = self.metadata.set_metadata(common.context(call), call.params["server_id"],
                                            items, replace=False, rule=_METADATA + "create")
        return json_response({"metadata": merged})

    async def metadata_update_all(self, call: Call) -> Response:
        items = common.check_body(call, "metadata_update_all")["metadata"]
        merged = self.metadata.set_metadata(common.context(call), call.params["server_id"],
                                            items, replace=True,
                                            rule=_METADATA + "update_all")
        return json_response({"metadata": merged})

    async def metadata_update(self, call: Call) -> Response:
        """PUT one item: the body's single key must be the URL's."""
        item = common.check_body(call, "metadata_update")["meta"]
        self.metadata.set_item(common.context(call), call.params["server_id"],
                               call.params["key"], item)
        return json_response({"meta": item})

    async def metadata_delete(self, call: Call) -> Response:
        self.metadata.delete_item(common.context(call), call.params["server_id"],
                                  call.params["key"])
        return empty_response(204)

    # -- tags ----------------------------------------------------------------------------

    async def tags_index(self, call: Call) -> Response:
        common.check_query(call, "tags_index_query")
        tags = self.metadata.tags(common.context(call), call.params["server_id"])
        return json_response({"tags": list(tags)})

    async def tags_show(self, call: Call) -> Response:
        common.check_query(call, "tags_show_query")
        server_id, tag = call.params["server_id"], call.params["tag"]
        if not self.metadata.has_tag(common.context(call), server_id, tag):
            raise Fault(404, f"Server {server_id} has no tag '{tag}'")
        return empty_response(204)

    async def tags_update(self, call: Call) -> Response:
        """PUT one tag: 201 with its ``Location`` when new, a bare 204 when present."""
        common.check_body(call, "tags_update")
        server_id, tag = call.params["server_id"], call.params["tag"]
        if not self.metadata.add_tag(common.context(call), server_id, tag):
            return empty_response(204)
        location = f"{common.href(call, 'servers', server_id)}/tags/{quote(tag, safe='')}"
        return empty_response(201, headers={"Location": location})

    async def tags_update_all(self, call: Call) -> Response:
        tags = common.check_body(call, "tags_update_all")["tags"]
        result = self.metadata.set_tags(common.context(call), call.params["server_id"], tags)
        return json_response({"tags": list(result)})

    async def tags_delete_all(self, call: Call) -> Response:
        self.metadata.delete_tags(common.context(call), call.params["server_id"])
        return empty_response(204)

    async def tags_delete(self, call: Call) -> Response:
        self.metadata.delete_tag(common.context(call), call.params["server_id"],
                                 call.params["tag"])
        return empty_response(204)

    # -- ips -----------------------------------------------------------------------------

    async def ips_index(self, call: Call) -> Response:
        common.check_query(call, "ips_index_query")
        record = self.servers.get(common.context(call), call.params["server_id"],
                                  _IPS + "index")
        return json_response({"addresses": self.view.addresses(record, extended=False)})

    async def ips_show(self, call: Call) -> Response:
        common.check_query(call, "ips_show_query")
        record = self.servers.get(common.context(call), call.params["server_id"],
                                  _IPS + "show")
        network = call.params["network"]
        addresses = self.view.addresses(record, extended=False)
        if network not in addresses:
            raise Fault(404, "Instance is not a member of specified network")
        return json_response({network: addresses[network]})

    # -- instance actions ----------------------------------------------------------------

    @staticmethod
    def _action(call: Call, action: ActionRecord) -> dict[str, Any]:
        view: dict[str, Any] = {
            "action": action.action,
            "instance_uuid": action.instance_uuid,
            "request_id": action.request_id,
            "user_id": action.user_id or None,
            "project_id": action.project_id or None,
            "start_time": naive(action.start_time),
            "message": action.message,
        }
        if call.version >= V(2, 58):
            view["updated_at"] = naive(action.updated_at)
        return view

    @staticmethod
    def _action_query(call: Call) -> ActionQuery:
        """Paging and change filters (2.58+); older versions list everything."""
        if call.version < V(2, 58):
            return ActionQuery()
        since = common.last_value(call, "changes-since")
        before = common.last_value(call, "changes-before")
        changes_since = _parse_time(since) if since is not None else None
        changes_before = _parse_time(before) if before is not None else None
        if changes_since and changes_before and changes_before < changes_since:
            raise Fault(400, "The value of changes-since must be less than or equal to "
                             "changes-before.")
        limit, marker = common.limit_and_marker(call)
        return ActionQuery(limit=limit, marker=marker, changes_since=changes_since,
                           changes_before=changes_before)

    async def actions_index(self, call: Call) -> Response:
        common.check_query(call, "instance_actions_index_query")
        server_id = call.params["server_id"]
        actions = self.actions.of_server(common.context(call), server_id,
                                         self._action_query(call),
                                         read_deleted=call.version >= V(2, 21))
        items = [self._action(call, a) for a in actions]
        body: dict[str, Any] = {"instanceActions": items}
        if call.version >= V(2, 58):
            links = common.next_links(call, f"servers/{server_id}/os-instance-actions",
                                      len(items), items[-1]["request_id"] if items else None)
            if links:
                body["links"] = links
        return json_response(body)

    async def actions_show(self, call: Call) -> Response:
        common.check_query(call, "instance_actions_show_query")
        ctx = common.context(call)
        server_id, request_id = call.params["server_id"], call.params["request_id"]
        found = self.actions.show(ctx, server_id, request_id,
                                  read_deleted=call.version >= V(2, 21))
        if found is None:
            raise Fault(404, f"Action {request_id} not found")
        view = self._action(call, found.action)
        # NOTE: events are for admins before 2.51 and for everyone after, but the
        # traceback (and from 2.62 the host) only for those the events policy lets in.
        privileged = allowed(ctx, _ACTIONS + "events", found.server_project_id)
        if privileged or call.version >= V(2, 51):
            details = call.version >= V(2, 84) and allowed(
                ctx, _ACTIONS + "events:details", found.server_project_id)
            project_id = found.action.project_id or found.server_project_id
            view["events"] = [
                self._event(call, e, project_id, privileged, details) for e in found.events]
        return json_response({"instanceAction": view})

    @staticmethod
    def _event(call: Call, event: EventRecord, project_id: str, privileged: bool,
               details: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "event": event.event,
            "start_time": naive(event.start_time),
            "finish_time": naive(event.finish_time),
            "result": event.result,
        }
        if privileged:
            view["traceback"] = event.traceback
        if privileged and call.version >= V(2, 62):
            view["host"] = event.host
        if call.version >= V(2, 62):
            view["hostId"] = host_id(project_id, event.host)
        if details:
            view["details"] = event.details
        return view
