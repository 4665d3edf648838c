"""What Nova removed but still routes, on every backend: a 410 ``computeFault`` at every
microversion and for any caller (no policy, no lookup first), the action routes' own 400s
for a body that names no action of theirs, the bare-metal node proxy's write routes (a
400 naming the Ironic command, until 2.35); and the admin server actions
``injectNetworkInfo`` (202) and ``resetNetwork`` (410).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from conformance.client import ApiSession
from conformance.test_aggregates import fault
from conformance.test_servers import Servers, image_id, made, not_found  # noqa: F401

GONE = "This resource is no longer available.  No forwarding address is given."
SERVER = str(uuid.UUID(int=3))

#: (method, path, body) of every route Nova answers 410.
REMOVED: list[tuple[str, str, Any]] = [
    ("GET", "/os-agents", None), ("POST", "/os-agents", {"agent": {}}),
    ("PUT", "/os-agents/1", {"para": {}}), ("DELETE", "/os-agents/1", None),
    ("GET", "/os-cells", None), ("POST", "/os-cells", {"cell": {}}),
    ("GET", "/os-cells/capacities", None), ("GET", "/os-cells/detail", None),
    ("GET", "/os-cells/info", None), ("POST", "/os-cells/sync_instances", {}),
    ("GET", "/os-cells/c1", None), ("PUT", "/os-cells/c1", {"cell": {}}),
    ("DELETE", "/os-cells/c1", None), ("GET", "/os-cells/c1/capacities", None),
    ("POST", "/os-certificates", None), ("GET", "/os-certificates/root", None),
    ("GET", "/os-cloudpipe", None), ("POST", "/os-cloudpipe", {"cloudpipe": {}}),
    ("PUT", "/os-cloudpipe/configure-project", {"configure_project": {}}),
    ("GET", "/os-fixed-ips/10.0.0.1", None),
    ("POST", "/os-fixed-ips/10.0.0.1/action", {"reserve": None}),
    ("POST", "/os-fixed-ips/10.0.0.1/action", {"unreserve": None}),
    ("GET", "/os-floating-ip-dns", None), ("PUT", "/os-floating-ip-dns/d", {}),
    ("DELETE", "/os-floating-ip-dns/d", None),
    ("GET", "/os-floating-ip-dns/d/entries/e", None),
    ("PUT", "/os-floating-ip-dns/d/entries/e", {}),
    ("DELETE", "/os-floating-ip-dns/d/entries/e", None),
    ("GET", "/os-floating-ips-bulk", None), ("POST", "/os-floating-ips-bulk", {}),
    ("GET", "/os-floating-ips-bulk/h", None), ("PUT", "/os-floating-ips-bulk/delete", {}),
    ("GET", "/os-fping", None), ("GET", "/os-fping/1", None),
    ("POST", "/os-networks", {"network": {}}), ("POST", "/os-networks/add", {"id": None}),
    ("DELETE", "/os-networks/n1", None),
    ("POST", "/os-networks/n1/action", {"disassociate": None}),
    ("POST", "/os-networks/n1/action", {"disassociate_host": None}),
    ("POST", "/os-networks/n1/action", {"disassociate_project": None}),
    ("POST", "/os-networks/n1/action", {"associate_host": "h"}),
    ("GET", "/os-security-group-default-rules", None),
    ("POST", "/os-security-group-default-rules", {}),
    ("GET", "/os-security-group-default-rules/1", None),
    ("DELETE", "/os-security-group-default-rules/1", None),
    ("POST", "/os-tenant-networks", {"network": {}}),
    ("DELETE", "/os-tenant-networks/n1", None),
    ("GET", f"/servers/{SERVER}/consoles", None),
    ("POST", f"/servers/{SERVER}/consoles", None),
    ("GET", f"/servers/{SERVER}/consoles/1", None),
    ("DELETE", f"/servers/{SERVER}/consoles/1", None),
    ("GET", f"/servers/{SERVER}/os-virtual-interfaces", None),
    ("POST", f"/servers/{SERVER}/action", {"resetNetwork": None}),
]


@pytest.mark.parametrize(("method", "path", "body"), REMOVED)
@pytest.mark.parametrize("version", ["2.1", "2.42", "latest"])
def test_removed_is_410_for_anyone(member: ApiSession, method: str, path: str, body: Any,
                                   version: str) -> None:
    response = member.compute(method, path, json=body, version=version)
    assert response.json() == {"computeFault": {"code": 410, "message": GONE}}
    assert response.status_code == 410


@pytest.mark.parametrize("path", ["/os-networks/n1/action", "/os-fixed-ips/1/action"])
@pytest.mark.parametrize(("body", "message"), [
    ({"add": None}, "There is no such action: add"),
    ({"disassociate": None, "reserve": None}, "Malformed request body"),
])
def test_an_action_route_still_needs_its_action(admin: ApiSession, path: str,
                                                body: dict[str, Any], message: str) -> None:
    assert fault(admin.compute("POST", path, json=body), 400) == message


# -- bare-metal nodes (the proxy's write routes) --------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "command"), [
    ("POST", "/os-baremetal-nodes", {"node": {}}, "node-create"),
    ("DELETE", "/os-baremetal-nodes/n1", None, "node-delete"),
    ("POST", "/os-baremetal-nodes/n1/action", {"add_interface": {}}, "port-create"),
    ("POST", "/os-baremetal-nodes/n1/action", {"remove_interface": {}}, "port-delete"),
])
def test_baremetal_writes_point_at_ironic(member: ApiSession, method: str, path: str,
                                          body: Any, command: str) -> None:
    """No policy check: anyone gets the pointer, until 2.35; a 404 from 2.36."""
    response = member.compute(method, path, json=body, version="2.35")
    assert fault(response, 400) == (f"Command not supported. Please use Ironic command "
                                    f"{command} to perform this action.")
    later = member.compute(method, path, json=body, version="2.36")
    assert fault(later, 404) == "The resource could not be found."


# -- injectNetworkInfo ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(made: Servers, member: ApiSession) -> dict[str, Any]:  # noqa: F811
    return made.boot(member)


def inject(session: ApiSession, server_id: str) -> Any:
    return session.compute("POST", f"/servers/{server_id}/action",
                           json={"injectNetworkInfo": None})


def test_inject_network_info(admin: ApiSession, member: ApiSession,
                             server: dict[str, Any]) -> None:
    """Admins: 202 with no body, the server as it was, no instance action."""
    before = member.compute("GET", f"/servers/{server['id']}/os-instance-actions").json()
    done = inject(admin, server["id"])
    assert (done.status_code, done.content) == (202, b"")
    shown = member.compute("GET", f"/servers/{server['id']}").json()["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    assert member.compute("GET", f"/servers/{server['id']}/os-instance-actions").json() == \
        before


def test_inject_network_info_faults(admin: ApiSession, member: ApiSession,
                                    server: dict[str, Any]) -> None:
    """Nova's order: the server (404), then the policy (403)."""
    assert inject(admin, SERVER).json() == not_found(SERVER)
    assert fault(inject(member, server["id"]), 403) == (
        "Policy doesn't allow os_compute_api:os-admin-actions:inject_network_info to be "
        "performed.")
    extra = admin.compute("POST", f"/servers/{server['id']}/action",
                          json={"injectNetworkInfo": {"x": 1}})
    assert extra.status_code == 202
