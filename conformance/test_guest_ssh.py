"""A server answers SSH at its floating IP, on both backends: a user logs in with the key pair
Nova generated, runs commands that see the server as the API shows it, and sees a volume it
attaches appear in the guest and go at its detach. The QEMU guest runs dropbear; the
simulated guest answers itself (``backends.simulated.ssh``). The emulator's public network
is put in 127.0.0.0/8 (``[network] public_cidr``), where this machine reaches it."""

from __future__ import annotations

import io
import socket
import time
from typing import Any

import httpx
import paramiko
import pytest

from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.network import loopback_net, neutron, ok
from conformance.polling import TIMEOUT, settle
from conformance.volume_client import cinder, wait_volume

#: Each backend's image that boots a guest answering SSH, and how long its boot may take
#: (the free guest boots in ~20 s under TCG; a loaded 2-core machine doubles that).
GUESTS = {"simulated": ("cirros", 30.0), "qemu": ("nova-emulator-guest", 240.0)}


def run(private_key: str, address: str, command: str, timeout: float) -> str:
    """``command``'s output over SSH as ``cirros``, tried until the guest answers."""
    deadline = time.monotonic() + timeout
    while True:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect(address, username="cirros", look_for_keys=False, timeout=10,
                           allow_agent=False, banner_timeout=10,
                           pkey=paramiko.RSAKey.from_private_key(io.StringIO(private_key)))
            _, stdout, stderr = client.exec_command(command, timeout=30)
            out = stdout.read().decode()
            assert stdout.channel.recv_exit_status() == 0, stderr.read().decode()
            return out
        except (paramiko.SSHException, OSError) as err:
            assert time.monotonic() < deadline, f"no SSH at {address}: {err}"
            time.sleep(1.0)
        finally:
            client.close()


def refused(address: str) -> bool:
    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex((address, 22)) != 0


def disks(private_key: str, address: str, timeout: float) -> dict[str, int]:
    """The guest's disks (name -> bytes), as Tempest's ``get_disks`` reads lsblk."""
    text = run(private_key, address, "set -eu -o pipefail; PATH=$PATH:/sbin:/usr/sbin; "
               "lsblk -lb --nodeps", timeout)
    lines = text.splitlines()
    at = lines[0].find("TYPE")
    return {line.split()[0]: int(line.split()[3]) for line in lines[1:]
            if line[at:at + 4] == "disk"}


def until(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(0.5)
    return found


@pytest.mark.emulator_only  # its public network on this machine's loopback
def test_a_user_logs_in_at_the_floating_ip_and_sees_a_volume_come_and_go(
        target: Target, http: httpx.Client) -> None:
    assert target.backend is not None
    image_prefix, boot_time = GUESTS[target.backend]
    net = loopback_net()
    config = f'[network]\npublic_cidr = "{net}.0/24"\n'
    with dedicated_emulator(target, config) as process:
        member = ApiSession(seeded_accounts(process.url)["member"], http)
        made = member.compute("POST", "/os-keypairs", json={"keypair": {"name": "login"}})
        assert made.status_code == 200, made.text
        private_key = made.json()["keypair"]["private_key"]
        images = member.compute("GET", "/images").json()["images"]
        image = next(i["id"] for i in images if i["name"].startswith(image_prefix))
        created = member.compute("POST", "/servers", json={"server": {
            "name": "ssh-target", "imageRef": image, "flavorRef": "1", "key_name": "login"}})
        assert created.status_code == 202, created.text
        server = settle(member, created.json()["server"]["id"], "ACTIVE")

        [port] = ok(neutron(member, "GET", "/ports",
                            params={"device_id": server["id"]}))["ports"]
        public = ok(neutron(member, "GET", "/networks", params={"name": "public"}))
        floating = ok(neutron(member, "POST", "/floatingips", json={"floatingip": {
            "floating_network_id": public["networks"][0]["id"], "port_id": port["id"]}}), 201)
        address = floating["floatingip"]["floating_ip_address"]
        assert address.startswith(f"{net}.")

        assert run(private_key, address, "hostname", boot_time).strip() == server["name"]
        flavor = member.compute("GET", "/flavors/1").json()["flavor"]
        assert run(private_key, address, "grep -c ^processor /proc/cpuinfo",
                   TIMEOUT).strip() == str(flavor["vcpus"])
        mac = port["mac_address"]
        assert mac in run(private_key, address, "ip -o link", TIMEOUT)
        assert set(disks(private_key, address, TIMEOUT)) == {"vda"}

        volume = ok(cinder(member, "POST", "/volumes", json={"volume": {"size": 1}}), 202)
        volume_id = volume["volume"]["id"]
        wait_volume(member, volume_id, "available")
        attached = member.compute("POST", f"/servers/{server['id']}/os-volume_attachments",
                                  json={"volumeAttachment": {"volumeId": volume_id}})
        assert attached.status_code == 200, attached.text
        device = attached.json()["volumeAttachment"]["device"].rsplit("/", 1)[-1]
        wait_volume(member, volume_id, "in-use")
        seen = until(lambda: (found := disks(private_key, address, TIMEOUT)).get(device)
                     and found, TIMEOUT)
        assert seen[device] == 2**30 and set(seen) == {"vda", device}

        detached = member.compute(
            "DELETE", f"/servers/{server['id']}/os-volume_attachments/{volume_id}")
        assert detached.status_code == 202, detached.text
        wait_volume(member, volume_id, "available")
        until(lambda: device not in disks(private_key, address, TIMEOUT), TIMEOUT)

        # the floating IP let go: nothing answers there any more
        let_go = neutron(member, "PUT", f"/floatingips/{floating['floatingip']['id']}",
                         json={"floatingip": {"port_id": None}})
        assert let_go.status_code == 200, let_go.text
        until(lambda: refused(address), TIMEOUT)
