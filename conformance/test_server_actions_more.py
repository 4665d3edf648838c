"""More server actions: rescue/unrescue, shelve/shelveOffload/unshelve, console output and
console URLs (legacy actions up to 2.5, ``remote-consoles`` from 2.6), the server password,
diagnostics, and soft delete with restore/forceDelete (``reclaim_instance_interval``).

Happy paths poll until the server settles; responses are checked against Tempest's schemas
for the microversion sent; refusals carry Nova's exact 409 text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tempest.lib.api_schema.response.compute.v2_1 import servers as v21
from tempest.lib.api_schema.response.compute.v2_6 import servers as v26
from tempest.lib.api_schema.response.compute.v2_8 import servers as v28
from tempest.lib.api_schema.response.compute.v2_48 import servers as v248
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.conftest import dedicated_emulator, seeded_accounts
from conformance.polling import TIMEOUT, settle
from conformance.schemas import for_version, validate
from conformance.test_servers import Servers, image_id, message  # noqa: F401

ACTION_202 = {"status_code": [202]}


def act(session: ApiSession, server_id: str, body: dict[str, Any],
        version: str | None = None) -> httpx.Response:
    return session.compute("POST", f"/servers/{server_id}/action", json=body, version=version)


def conflict(response: httpx.Response, text: str) -> None:
    assert response.status_code == 409, response.text
    assert message(response) == text


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:  # noqa: F811
    created = Servers(admin, image_id)
    yield created
    created.remove()


# -- rescue -------------------------------------------------------------------------------


def test_rescue_and_unrescue(servers: Servers, member: ApiSession) -> None:
    server = servers.boot(member)
    sid = server["id"]
    response = act(member, sid, {"rescue": None})
    body = validate(response, v21.rescue_server_with_admin_pass)
    assert len(body["adminPass"]) >= 8
    shown = settle(member, sid, "RESCUE")
    assert shown["OS-EXT-STS:vm_state"] == "rescued"
    assert shown["OS-EXT-STS:power_state"] == 1
    # Rescued: a second rescue is refused by vm_state; the log shows a second boot.
    conflict(act(member, sid, {"rescue": {"adminPass": "x"}}),
             f"Cannot 'rescue' instance {sid} while it is in vm_state rescued")
    validate(act(member, sid, {"unrescue": None}), ACTION_202)
    settle(member, sid, "ACTIVE")
    conflict(act(member, sid, {"unrescue": None}),
             f"Cannot 'unrescue' instance {sid} while it is in vm_state active")
    # A given password is echoed.
    response = act(member, sid, {"rescue": {"adminPass": "s3cret-pass"}})
    assert validate(response, v21.rescue_server_with_admin_pass) == {"adminPass": "s3cret-pass"}
    settle(member, sid, "RESCUE")
    actions = member.compute("GET", f"/servers/{sid}/os-instance-actions").json()
    names = [a["action"] for a in actions["instanceActions"]]
    assert names[:3] == ["rescue", "unrescue", "rescue"]


def test_rescue_from_stopped_and_bad_input(servers: Servers, member: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    assert act(member, sid, {"os-stop": None}).status_code == 202
    settle(member, sid, "SHUTOFF")
    for bad in ({"rescue": {"adminPass": 5}}, {"rescue": {"bogus": 1}},
                {"rescue": {"rescue_image_ref": "not-a-uuid"}}):
        assert act(member, sid, bad).status_code == 400, bad
    response = act(member, sid, {"rescue": {"rescue_image_ref":
                                            "8d8d5b5d-1a53-4bd1-a3d3-3e1c7a6a2c9f"}})
    assert response.status_code == 400
    assert message(response) == ("Requested rescue image "
                                 "'8d8d5b5d-1a53-4bd1-a3d3-3e1c7a6a2c9f' is not supported")
    assert act(member, sid, {"rescue": None}).status_code == 200
    assert settle(member, sid, "RESCUE")["OS-EXT-STS:power_state"] == 1


def test_locked_server_refuses_member(servers: Servers, member: ApiSession,
                                      admin: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    assert act(member, sid, {"lock": None}).status_code == 202
    for body in ({"rescue": None}, {"shelve": None}):
        conflict(act(member, sid, body), f"Instance {sid} is locked")
    # An admin is not held by the lock.
    assert act(admin, sid, {"rescue": None}).status_code == 200
    settle(member, sid, "RESCUE")
    conflict(act(member, sid, {"unrescue": None}), f"Instance {sid} is locked")


# -- shelve -------------------------------------------------------------------------------


def test_shelve_offloads_and_unshelve_reschedules(servers: Servers, member: ApiSession,
                                                  admin: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    validate(act(member, sid, {"shelve": None}), ACTION_202)
    shown = settle(admin, sid, "SHELVED_OFFLOADED")
    assert shown["OS-EXT-STS:vm_state"] == "shelved_offloaded"
    assert shown["OS-EXT-STS:power_state"] == 4
    assert shown["OS-EXT-SRV-ATTR:host"] is None
    assert shown["OS-EXT-SRV-ATTR:hypervisor_hostname"] is None
    conflict(act(member, sid, {"shelve": None}),
             f"Cannot 'shelve' instance {sid} while it is in vm_state shelved_offloaded")
    conflict(act(admin, sid, {"shelveOffload": None}),
             f"Cannot 'shelveOffload' instance {sid} while it is in vm_state "
             "shelved_offloaded")
    # Offloaded: no host, so no console.
    conflict(act(member, sid, {"os-getConsoleOutput": {}}), f"Instance {sid} is not ready")
    validate(act(member, sid, {"unshelve": None}), ACTION_202)
    shown = settle(admin, sid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"]
    assert shown["OS-EXT-STS:power_state"] == 1
    actions = member.compute("GET", f"/servers/{sid}/os-instance-actions").json()
    assert [a["action"] for a in actions["instanceActions"]][:2] == ["unshelve", "shelve"]
    conflict(act(member, sid, {"unshelve": None}),
             f"Cannot 'unshelve' instance {sid} while it is in vm_state active")


def compute_hosts(admin: ApiSession) -> dict[str, str]:
    """host -> its availability zone, from the admin's zone detail."""
    detail = admin.compute("GET", "/os-availability-zone/detail").json()
    return {host: zone["zoneName"] for zone in detail["availabilityZoneInfo"]
            if zone["zoneName"] != "internal" for host in zone["hosts"] or {}}


def test_unshelve_to_a_zone_and_a_host(servers: Servers, member: ApiSession,
                                       admin: ApiSession) -> None:
    hosts = compute_hosts(admin)
    sid = servers.boot(member)["id"]
    assert act(member, sid, {"shelve": None}).status_code == 202
    settle(member, sid, "SHELVED_OFFLOADED")
    # 2.77: a zone; {} and unknown zones are refused.
    assert act(member, sid, {"unshelve": {}}, version="2.77").status_code == 400
    response = act(member, sid, {"unshelve": {"availability_zone": "nowhere"}}, version="2.77")
    assert response.status_code == 400
    assert message(response) == "The requested availability zone is not available"
    # 2.91: a host is for admins only.
    host, zone = max(hosts.items())
    response = act(member, sid, {"unshelve": {"host": host}}, version="2.91")
    assert response.status_code == 403
    # A host of another zone (where the cloud has two) is refused.
    for other, other_zone in sorted(hosts.items()):
        if other_zone != zone:
            response = act(admin, sid, {"unshelve": {"host": other,
                                                     "availability_zone": zone}}, version="2.91")
            conflict(response, f'Host "{other}" is not in the availability zone "{zone}".')
            break
    response = act(admin, sid, {"unshelve": {"host": host, "availability_zone": zone}},
                   version="2.91")
    assert response.status_code == 202, response.text
    shown = settle(admin, sid, "ACTIVE")
    assert shown["OS-EXT-SRV-ATTR:host"] == host
    assert shown["OS-EXT-AZ:availability_zone"] == zone
    # Only an offloaded server may be given a zone.
    admin_cfg = act(admin, sid, {"unshelve": {"availability_zone": zone}}, version="2.77")
    conflict(admin_cfg, f"Cannot 'unshelve' instance {sid} while it is in vm_state active")


def test_shelve_offload_is_admin_only(servers: Servers, member: ApiSession,
                                      admin: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    response = act(member, sid, {"shelveOffload": None})
    assert response.status_code == 403
    conflict(act(admin, sid, {"shelveOffload": None}),
             f"Cannot 'shelveOffload' instance {sid} while it is in vm_state active")


# -- console output and consoles ---------------------------------------------------------


#: Per backend: the image whose console has something to say, and the console's last line
#: once it has said it (the simulated cloud's made-up log; the free guest's DHCP lease).
#: Each backend's image with a console, and the lines that end its boot (in any order: the
#: free guest's network and SSH server start side by side).
CONSOLES = {"simulated": ("cirros", ("login:",)),
            "qemu": ("nova-emulator-guest", ("GUEST-DHCP eth0", "GUEST-SSH port=22"))}


def console_server(servers: Servers, member: ApiSession, backend: str) -> dict[str, Any]:
    """An ACTIVE server whose console log is complete (polled until its last line)."""
    prefix, finals = CONSOLES[backend]
    images = member.compute("GET", "/images").json()["images"]
    server = servers.boot(member, imageRef=next(
        i["id"] for i in images if i["name"].startswith(prefix)))
    deadline = time.monotonic() + TIMEOUT
    while not all(last in (output := act(member, server["id"], {"os-getConsoleOutput": {}}
                                         ).json()["output"]) for last in finals):
        assert time.monotonic() < deadline, f"the console never showed {finals!r}: {output!r}"
        time.sleep(0.2)
    return server


@pytest.mark.emulator_only  # the emulator's images and what their consoles say
def test_console_output(servers: Servers, member: ApiSession, target: Any) -> None:
    server = console_server(servers, member, target.backend)
    sid = server["id"]
    response = act(member, sid, {"os-getConsoleOutput": {}})
    output = validate(response, v21.get_console_output)["output"]
    if target.backend == "qemu":  # the guest's own console: its banner and hostname
        assert "GUEST-BANNER" in output
        assert f"GUEST-READY hostname={server['name']} " in output
    else:
        assert f"instance {server['name']}" in output
        addresses = [a["addr"] for net in server["addresses"].values() for a in net]
        assert addresses and all(a in output for a in addresses)
    last_line = output.rstrip().rsplit("\n", 1)[-1]
    assert any(final in last_line for final in CONSOLES[target.backend][1])
    lines = output.split("\n")
    for length, expected in ((3, lines[-3:]), ("2", lines[-2:]), (0, []), (None, lines),
                             (-1, lines[1:])):
        got = act(member, sid, {"os-getConsoleOutput": {"length": length}}).json()["output"]
        assert got == "\n".join(expected), length
    for bad in ("ten", -2, 1.5, "1.5", True):
        response = act(member, sid, {"os-getConsoleOutput": {"length": bad}})
        assert response.status_code == 400, bad
    assert act(member, sid, {"os-getConsoleOutput": {"lines": 1}}).status_code == 400


@pytest.mark.parametrize("action,kind", [("os-getVNCConsole", "novnc"),
                                         ("os-getSPICEConsole", "spice-html5"),
                                         ("os-getSerialConsole", "serial")])
def test_legacy_console_actions(servers: Servers, member: ApiSession, action: str,
                                kind: str, target: Any) -> None:
    sid = servers.boot(member)["id"]
    response = act(member, sid, {action: {"type": kind}}, version="2.5")
    body = validate(response, v21.get_vnc_console)
    assert body["console"]["type"] == kind
    if target.emulator is not None:
        assert body["console"]["url"].startswith(f"{target.emulator.url}/_emulator/console/")
    assert act(member, sid, {action: {"type": kind}}, version="2.6").status_code == 404
    assert act(member, sid, {action: {"type": "bogus"}}, version="2.5").status_code == 400
    assert act(member, sid, {action: {}}, version="2.1").status_code == 400


def test_legacy_vnc_and_rdp_refusals(servers: Servers, member: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    response = act(member, sid, {"os-getVNCConsole": {"type": "xvpvnc"}})
    assert response.status_code == 400
    assert message(response) == "Invalid console type xvpvnc"
    assert act(member, sid, {"os-getRDPConsole": {"type": "rdp-html5"}}).status_code == 400


def test_remote_consoles(servers: Servers, member: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    path = f"/servers/{sid}/remote-consoles"
    for protocol, kind in (("vnc", "novnc"), ("spice", "spice-html5"), ("serial", "serial")):
        response = member.compute("POST", path, version="2.6",
                                  json={"remote_console": {"protocol": protocol, "type": kind}})
        body = validate(response, v26.get_remote_consoles)
        assert (body["remote_console"]["protocol"], body["remote_console"]["type"]) == \
            (protocol, kind)
    mks = {"remote_console": {"protocol": "mks", "type": "webmks"}}
    assert member.compute("POST", path, version="2.6", json=mks).status_code == 400
    validate(member.compute("POST", path, version="2.8", json=mks), v28.get_remote_consoles)
    assert member.compute("POST", path, version="2.5", json=mks).status_code == 404
    mismatch = {"remote_console": {"protocol": "vnc", "type": "serial"}}
    response = member.compute("POST", path, version="2.6", json=mismatch)
    assert response.status_code == 400
    assert message(response) == "Invalid console type serial"
    rdp = {"remote_console": {"protocol": "rdp", "type": "rdp-html5"}}
    response = member.compute("POST", path, version="2.6", json=rdp)
    assert response.status_code == 400
    assert message(response) == "Unavailable console type rdp."
    assert member.compute("POST", path, version="2.6", json={}).status_code == 400


# -- password and diagnostics ---------------------------------------------------------------


def test_server_password(servers: Servers, member: ApiSession, alt: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    path = f"/servers/{sid}/os-server-password"
    assert validate(member.compute("GET", path), v21.show_password) == {"password": ""}
    response = member.compute("DELETE", path)
    assert response.status_code == 204, response.text
    assert alt.compute("GET", path).status_code == 404


def test_diagnostics(servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    path = f"/servers/{sid}/diagnostics"
    assert member.compute("GET", path).status_code == 403
    schema = for_version(ServersClient, "2.48").show_server_diagnostics
    assert schema is v248.show_server_diagnostics
    body = validate(admin.compute("GET", path, version="2.48"), schema)
    assert body["state"] == "running"
    assert body["num_cpus"] == len(body["cpu_details"]) >= 1
    assert body["num_nics"] == len(body["nic_details"]) == 1
    old = admin.compute("GET", path, version="2.47")
    assert old.status_code == 200
    assert "memory" in old.json() and "cpu0_time" in old.json()
    assert act(member, sid, {"os-stop": None}).status_code == 202
    settle(member, sid, "SHUTOFF")
    conflict(admin.compute("GET", path, version="2.48"),
             f"Cannot 'get_diagnostics' instance {sid} while it is in power state shutdown")


# -- soft delete ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deferred(target: Any, http: httpx.Client) -> Iterator[dict[str, ApiSession]]:
    with dedicated_emulator(target, "[compute]\nreclaim_instance_interval = 3\n") as process:
        yield {role: ApiSession(account, http)
               for role, account in seeded_accounts(process.url).items()}


def test_soft_delete_restore_and_force_delete(deferred: dict[str, ApiSession]) -> None:
    member, admin = deferred["member"], deferred["admin"]
    images = member.compute("GET", "/images").json()["images"]
    made = Servers(admin, images[0]["id"])
    sid = made.boot(member)["id"]
    assert member.compute("DELETE", f"/servers/{sid}").status_code == 204
    shown = settle(member, sid, "SOFT_DELETED")
    assert shown["OS-EXT-STS:vm_state"] == "soft-delete"
    assert shown["OS-EXT-STS:power_state"] == 4
    conflict(act(member, sid, {"rescue": None}),
             f"Cannot 'rescue' instance {sid} while it is in vm_state soft-delete")
    validate(act(member, sid, {"restore": None}), ACTION_202)
    assert settle(member, sid, "ACTIVE")["OS-EXT-STS:power_state"] == 1
    conflict(act(member, sid, {"restore": None}),
             f"Cannot 'restore' instance {sid} while it is in vm_state active")
    # Soft-delete again, then force the delete through.
    assert member.compute("DELETE", f"/servers/{sid}").status_code == 204
    settle(member, sid, "SOFT_DELETED")
    validate(act(member, sid, {"forceDelete": None}), ACTION_202)
    deadline = time.monotonic() + 30
    while member.compute("GET", f"/servers/{sid}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_soft_deleted_server_is_reclaimed(deferred: dict[str, ApiSession]) -> None:
    member, admin = deferred["member"], deferred["admin"]
    images = member.compute("GET", "/images").json()["images"]
    sid = Servers(admin, images[0]["id"]).boot(member)["id"]
    assert member.compute("DELETE", f"/servers/{sid}").status_code == 204
    settle(member, sid, "SOFT_DELETED")
    deadline = time.monotonic() + 15
    while member.compute("GET", f"/servers/{sid}").status_code != 404:
        assert time.monotonic() < deadline, "not reclaimed"
        time.sleep(0.2)


# -- the openstack CLI ------------------------------------------------------------------------


@pytest.mark.emulator_only  # the emulator's images, their console text, its console proxy
def test_cli_console_log_and_url(servers: Servers, member: ApiSession, target: Any) -> None:
    sid = console_server(servers, member, target.backend)["id"]
    account = member.account
    # NOTE: Nova tails the log split at newlines: a log that ends with one (a real
    # guest's) has an empty last line, so ask for two.
    result = run_openstack(account, "console", "log", "show", "--lines", "2", sid)
    assert result.returncode == 0, result.stderr
    assert any(final in result.stdout for final in CONSOLES[target.backend][1])
    url = openstack_json(account, "console", "url", "show", "--novnc", sid)
    assert url["url"].startswith(f"{target.emulator.url}/_emulator/console/")


def test_cli_rescue_and_shelve(servers: Servers, member: ApiSession) -> None:
    sid = servers.boot(member)["id"]
    account = member.account
    result = run_openstack(account, "server", "rescue", sid)
    assert result.returncode == 0, result.stderr
    settle(member, sid, "RESCUE")
    result = run_openstack(account, "server", "unrescue", sid)
    assert result.returncode == 0, result.stderr
    settle(member, sid, "ACTIVE")
    result = run_openstack(account, "server", "shelve", "--wait", sid, timeout=180)
    assert result.returncode == 0, result.stderr
    assert member.compute("GET", f"/servers/{sid}").json()["server"]["status"] == \
        "SHELVED_OFFLOADED"
    result = run_openstack(account, "server", "unshelve", "--wait", sid, timeout=180)
    assert result.returncode == 0, result.stderr
    assert member.compute("GET", f"/servers/{sid}").json()["server"]["status"] == "ACTIVE"
