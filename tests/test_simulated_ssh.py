"""Simulated guests answer SSH at their reachable addresses: real SSH clients (Tempest's
``RemoteClient`` on paramiko, OpenSSH's ``ssh``) log in with the instance's key pair and
run commands that see the instance as the cloud has it (``backends.simulated.ssh``)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import paramiko
import pytest
from tempest.common.utils.linux.remote_client import RemoteClient
from tempest.lib import exceptions as tempest_exceptions
from tempest.lib.common.utils.linux.remote_client import RemoteClient as LibRemoteClient

from backends.base import InstanceSpec, VifSpec, VolumeSpec
from backends.simulated import SimulatedBackend
from backends.simulated.shell import GuestView, Shell
from conformance.network import loopback_net
from emulator.clock import Clock
from tests.ssh_keys import keygen

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def openssh(key: Path, user: str, address: str, port: int,
            command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-i", str(key), "-p", str(port), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", f"{user}@{address}", command],
        capture_output=True, text=True, timeout=30, check=False)


def tempest_client(key: Path, address: str, port: int) -> RemoteClient:
    """Tempest's validation client (its tests' methods, ``get_disks`` ...), made with the
    settings its tempest.conf would give (the library's constructor: no config file read);
    its port is always 22: set here."""
    client: RemoteClient = RemoteClient.__new__(RemoteClient)
    LibRemoteClient.__init__(client, address, "cirros", pkey=key.read_text(), ssh_timeout=10,
                             connect_timeout=5, console_output_enabled=False,
                             ssh_key_type="rsa")
    client.ssh_client.port = port
    return client


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return keygen(tmp_path / "id_rsa", "rsa")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The backend's event loop in this thread; the blocking clients run in threads."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def spec(key: Path, vifs: tuple[VifSpec, ...], **kwargs: object) -> InstanceSpec:
    fields: dict[str, object] = dict(
        uuid="6f1f3c8e-0000-4000-8000-000000000001", name="web", hostname="web-1",
        host="compute-001", project_id="p", vcpus=2, memory_mb=512, root_gb=1,
        key_data=key.with_suffix(".pub").read_text(), vifs=vifs)
    fields.update(kwargs)
    return InstanceSpec(**fields)  # type: ignore[arg-type]


def test_a_guest_answers_tempest_at_its_floating_ip(key: Path, tmp_path: Path,
                                                    loop: asyncio.AbstractEventLoop) -> None:
    port, net = free_port(), loopback_net()
    floating, second = f"{net}.10", f"{net}.11"
    boot = VifSpec("port-1", "fa:16:3e:00:00:01", ("10.0.0.5",), "private", (floating,))
    instance = spec(key, (boot,))
    backend = SimulatedBackend(clock=Clock(), ssh_port=port)

    def call(coro: object) -> object:
        return loop.run_until_complete(coro)  # type: ignore[arg-type]

    async def in_thread(fn: object, *args: object) -> object:
        return await asyncio.to_thread(fn, *args)  # type: ignore[arg-type]

    def blocking(fn: object, *args: object) -> object:
        """Run a blocking client call while the loop serves the guest."""
        return call(in_thread(fn, *args))

    try:
        call(backend.spawn(instance))
        assert backend.ssh.addresses(instance.uuid) == [floating]  # 10.0.0.5: not reachable
        client = tempest_client(key, floating, port)
        blocking(client.validate_authentication)
        assert blocking(client.exec_command, "hostname") == "web-1\n"
        assert blocking(client.exec_command, "grep -c processor /proc/cpuinfo") == "2\n"
        disks = str(blocking(client.get_disks))
        assert [line.split()[0] for line in disks.splitlines()] == ["NAME", "vda"]
        assert blocking(client.get_mac_address, "eth0") == "fa:16:3e:00:00:01"
        assert blocking(client.get_nic_name_by_ip, "10.0.0.5") == "eth0"
        assert blocking(client.get_nic_name_by_mac, "fa:16:3e:00:00:01") == "eth0"
        assert int(str(blocking(client.exec_command, "cut -f1 -d. /proc/uptime"))) >= 0
        blocking(client.write_to_console, "tempest was here")
        assert "tempest was here" in str(call(backend.get_console_output(instance)))

        # a volume and a NIC plugged: the guest's tools see them
        volume = VolumeSpec("0b9e1f6a-7c44-4a3a-9d2e-1234567890ab", "/dev/vdb", 2)
        call(backend.attach_volume(instance, volume))
        disks = str(blocking(client.get_disks))
        assert [line.split()[::3] for line in disks.splitlines()[1:]] == [
            ["vda", "1073741824"], ["vdb", "2147483648"]]
        plugged = VifSpec("port-2", "fa:16:3e:00:00:02", (f"{net}.20",), "private")
        call(backend.attach_interface(instance, plugged))
        assert blocking(client.get_nic_name_by_ip, f"{net}.20") == "eth1"
        done = blocking(openssh, key, "cirros", f"{net}.20", port, "ip -o link | wc -l")
        assert done.stdout == "3\n", done  # type: ignore[attr-defined]
        call(backend.detach_interface(instance, plugged))
        gone = blocking(openssh, key, "cirros", f"{net}.20", port, "true")
        assert gone.returncode == 255 and "refused" in gone.stderr  # type: ignore[attr-defined]

        # the floating IP moved: the new one answers, the old one no longer
        call(backend.update_interface(instance, VifSpec(
            boot.port_id, boot.mac, boot.fixed_ips, boot.network, (second,))))
        assert backend.ssh.addresses(instance.uuid) == [second]
        root = blocking(openssh, key, "root", second, port, "id -u; hostname")
        assert root.stdout == "0\nweb-1\n", root  # type: ignore[attr-defined]
        refused = blocking(openssh, key, "cirros", floating, port, "true")
        assert "refused" in refused.stderr  # type: ignore[attr-defined]

        # keys only, and only the guest's users
        other = keygen(tmp_path / "other", "rsa")
        denied = blocking(openssh, other, "cirros", second, port, "true")
        assert "Permission denied" in denied.stderr  # type: ignore[attr-defined]
        nobody = blocking(openssh, key, "nobody", second, port, "true")
        assert "Permission denied" in nobody.stderr  # type: ignore[attr-defined]

        # a stopped guest answers nothing; started again, it does
        call(backend.power_off(instance))
        assert backend.ssh.addresses(instance.uuid) == []
        assert "refused" in blocking(openssh, key, "cirros", second, port,  # type: ignore
                                     "true").stderr
        call(backend.power_on(instance))
        assert blocking(openssh, key, "cirros", second, port,  # type: ignore[attr-defined]
                        "hostname").stdout == "web-1\n"

        call(backend.destroy(instance))
        assert "refused" in blocking(openssh, key, "cirros", second, port,  # type: ignore
                                     "true").stderr
    finally:
        call(backend.close())


@dataclass
class Guest:
    """A running simulated guest answering SSH at ``address``:``port``."""

    backend: SimulatedBackend
    instance: InstanceSpec
    address: str
    port: int
    loop: asyncio.AbstractEventLoop

    def call(self, work: Callable[[], T]) -> T:
        """``work`` (a blocking client call) in a thread while the loop serves the guest."""
        return self.loop.run_until_complete(asyncio.to_thread(work))


@pytest.fixture
def guest(key: Path, loop: asyncio.AbstractEventLoop) -> Iterator[Guest]:
    port, address = free_port(), f"{loopback_net()}.5"
    instance = spec(key, (VifSpec("p", "fa:16:3e:00:00:03", (address,)),))
    backend = SimulatedBackend(clock=Clock(), ssh_port=port)
    loop.run_until_complete(backend.spawn(instance))
    try:
        yield Guest(backend, instance, address, port, loop)
    finally:
        loop.run_until_complete(backend.close())


def test_the_host_key_is_the_one_the_console_prints(guest: Guest) -> None:

    def host_key() -> paramiko.PKey:
        transport = paramiko.Transport((guest.address, guest.port))
        try:
            transport.get_security_options().key_types = ["ssh-ed25519"]
            transport.start_client(timeout=10)
            return transport.get_remote_server_key()
        finally:
            transport.close()

    digest = hashlib.sha256(guest.call(host_key).asbytes()).digest()
    fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
    console = guest.loop.run_until_complete(guest.backend.get_console_output(guest.instance))
    assert f"256 {fingerprint} root@web-1 (ED25519)" in console


def test_unreachable_addresses_and_port_0_listen_nowhere(
        key: Path, loop: asyncio.AbstractEventLoop) -> None:
    reachable = VifSpec("p", "fa:16:3e:00:00:04", (f"{loopback_net()}.6",))
    devstack = VifSpec("q", "fa:16:3e:00:00:05", ("10.0.0.7",), floating_ips=("172.24.4.9",))
    for ssh_port, vifs in ((free_port(), (devstack,)), (0, (reachable,))):
        backend = SimulatedBackend(clock=Clock(), ssh_port=ssh_port)
        instance = spec(key, vifs)
        loop.run_until_complete(backend.spawn(instance))
        assert backend.ssh.addresses(instance.uuid) == []
        loop.run_until_complete(backend.close())


def test_an_interactive_shell(key: Path, guest: Guest) -> None:
    def session() -> str:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(guest.address, guest.port, "cirros", key_filename=str(key), timeout=10,
                       allow_agent=False, look_for_keys=False)
        try:
            channel = client.invoke_shell()
            channel.sendall(b"hostname\nexit 3\n")
            output = b""
            while not channel.exit_status_ready() or channel.recv_ready():
                chunk = channel.recv(4096)
                if not chunk:
                    break
                output += chunk
            assert channel.recv_exit_status() == 3
            return output.decode()
        finally:
            client.close()

    text = guest.call(session)
    assert "web-1:~$ " in text and "web-1\r\n" in text


def test_tempest_sees_a_failing_command_fail(key: Path, guest: Guest) -> None:
    client = tempest_client(key, guest.address, guest.port)
    with pytest.raises(tempest_exceptions.SSHExecCommandFailed, match="not found"):
        guest.call(lambda: client.exec_command("ping -c1 x"))


VIEW = GuestView("web-1", 4, 2048, 42.5)


@pytest.mark.parametrize(("line", "stdout", "status"), [
    ("set -eu -o pipefail; PATH=$PATH:/sbin; hostname", "web-1\n", 0),
    ("nproc && grep -c ^processor /proc/cpuinfo", "4\n4\n", 0),
    ("cat /proc/uptime | cut -f1 -d.", "42\n", 0),
    ("grep MemTotal /proc/meminfo | awk '{print $2}'", "2031616\n", 0),
    ("false || echo recovered", "recovered\n", 0),
    ("set -e; false; echo never", "", 1),
    ("set -o pipefail; false | true", "", 1),
    ("false | true", "", 0),
    ("sudo id -u", "0\n", 0),
    ("sh -c 'echo a; echo b' | wc -l", "2\n", 0),
    ("echo 'a b' \"c d\"", "a b c d\n", 0),
    ("uname -sr", "Linux 5.15.0-71-generic\n", 0),
    ("exit 7; echo never", "", 7),
    ("cat /etc/shadow", "", 1),
    ("echo hi > /tmp/x; echo there >> /tmp/x; cat /tmp/x", "hi\nthere\n", 0),
    ("touch test_file && cat test_file /home/cirros/test_file", "", 0),
    ("rm f", "", 1),
    ("echo x > /proc/uptime", "", 1),
    ("grep -c -E [vs]d.$ /proc/partitions", "0\n", 1),
    ("ping -c1 10.0.0.1", "", 127),
    ("echo 'unterminated", "", 2),
])
def test_the_shell(line: str, stdout: str, status: int) -> None:
    result = Shell(VIEW, "cirros").run(line)
    assert (result.stdout, result.status) == (stdout, status), result
