"""A QEMU guest reachable over SSH as on a real cloud (TCG): its port's floating IP in
127.0.0.0/8 forwards port 22 to the free guest's dropbear, which takes the server's key
pair from the config drive; ``ssh -i key cirros@<address>`` runs commands in it, as
Tempest's validation tests do (``hostname``; ``grep -c processor /proc/cpuinfo``). A
floating IP associated later (``update_interface``) is forwarded at once, the one it
replaced no longer, and the forwards come back when the guest's QEMU starts again; a key
other than the server's is refused."""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
from pathlib import Path

import paramiko
import pytest

from backends.base import BackendError, InstanceSpec, VifSpec
from backends.qemu.backend import QemuBackend
from backends.qemu.guest import GuestImage, build_guest, default_cache_dir
from conformance.network import loopback_net
from tests.qemu.test_backend import backend, console_count, run, spec
from tests.qemu.test_live_migration import Progress, on_two_hosts
from tests.ssh_keys import keygen

pytestmark = pytest.mark.qemu

SSH_TIMEOUT = 90.0


@pytest.fixture(scope="module")
def guest() -> GuestImage:
    return build_guest(default_cache_dir())


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return keygen(tmp_path / "id_ed25519")


def paramiko_exec(key: Path, user: str, address: str, command: str) -> str:
    """``command``'s output, as Tempest's ``RemoteClient`` runs it (paramiko)."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(address, username=user, key_filename=str(key), look_for_keys=False,
                       allow_agent=False, timeout=10, banner_timeout=10, auth_timeout=10)
        _stdin, stdout, _stderr = client.exec_command(command, timeout=20)
        return str(stdout.read().decode())
    finally:
        client.close()


def ssh(key: Path, user: str, address: str, command: str,
        timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "-o", "ConnectTimeout=10", f"{user}@{address}", command],
        capture_output=True, text=True, timeout=timeout, check=False)


async def ssh_until(key: Path, user: str, address: str, command: str) -> str:
    """The command's output once the guest answers (it boots slowly under TCG; hostfwd
    accepts before the guest listens, so each try has a short timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SSH_TIMEOUT
    last = ""
    while loop.time() < deadline:
        try:
            done = await asyncio.to_thread(ssh, key, user, address, command)
        except subprocess.TimeoutExpired:
            last = "timeout"
            continue
        if done.returncode == 0:
            return done.stdout
        last = done.stderr
        await asyncio.sleep(1.0)
    pytest.fail(f"no ssh {user}@{address} {command!r} within {SSH_TIMEOUT} s: {last}")


async def paramiko_until(key: Path, user: str, address: str, command: str) -> str:
    """``paramiko_exec``, tried again while the guest is too slow to answer in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SSH_TIMEOUT
    while True:
        try:
            return await asyncio.to_thread(paramiko_exec, key, user, address, command)
        except (paramiko.SSHException, OSError) as err:
            if loop.time() > deadline:
                pytest.fail(f"no paramiko {user}@{address} {command!r}: {err}")
        await asyncio.sleep(1.0)


def addresses() -> tuple[str, str]:
    """Two addresses nothing else on the machine uses (each test run its own)."""
    net = loopback_net()
    return f"{net}.{random.randrange(2, 120)}", f"{net}.{random.randrange(130, 250)}"


def test_ssh_into_the_guest_at_its_floating_ip(run_dir: Path, guest: GuestImage,
                                              tmp_path: Path) -> None:
    key = keygen(tmp_path / "id_rsa", "rsa")  # Nova's generated key pairs are RSA
    other_key = keygen(tmp_path / "other")
    first, second = addresses()
    port = VifSpec("port-1", "fa:16:3e:00:00:01", ("10.0.0.5",), "private", (first,))
    instance = spec("reach", hostname="web-1", vcpus=2, key_data=key.with_suffix(
        ".pub").read_text(), vifs=(port,), user_data=b"#!/bin/sh\necho ran >/run/marker\n")

    async def scenario() -> None:
        qemu = backend(run_dir, guest)
        try:
            await qemu.spawn(instance)
            assert (await ssh_until(key, "cirros", first, "hostname")).strip() == "web-1"
            # Tempest's test_verify_created_server_vcpus, as Tempest logs in
            assert (await paramiko_until(key, "cirros", first,
                                         "grep -c processor /proc/cpuinfo")).strip() == "2"
            assert (await ssh_until(key, "root", first, "id -u")).strip() == "0"
            # Tempest's get_disks, as its validation runs it (pipefail: not every shell)
            disks = await ssh_until(key, "cirros", first, "set -eu -o pipefail; "
                                    "PATH=$PATH:/sbin:/usr/sbin; lsblk -lb --nodeps")
            assert ["vda", "disk"] in [line.split()[::5][:2] for line in disks.splitlines()]
            console = await qemu.get_console_output(instance)
            assert "GUEST-CONFIG-DRIVE /dev/sr0 keys=1" in console
            # the user data script ran (as CirrOS runs it)
            assert (await ssh_until(key, "root", first, "cat /run/marker")).strip() == "ran"

            # a floating IP moved: the new one answers, the old one is no longer forwarded
            moved = VifSpec(port.port_id, port.mac, port.fixed_ips, port.network, (second,))
            await qemu.update_interface(instance, moved)
            assert (await ssh_until(key, "cirros", second, "hostname")).strip() == "web-1"
            gone = await asyncio.to_thread(ssh, key, "cirros", first, "hostname")
            assert gone.returncode != 0 and "Connection refused" in gone.stderr, gone.stderr

            # a new QEMU (stop, start) forwards the recorded address from its command line
            await qemu.power_off(instance)
            await qemu.power_on(instance)
            await console_count(qemu, instance, "GUEST-SSH port=22", 2)
            assert (await ssh_until(key, "cirros", second, "hostname")).strip() == "web-1"

            # keys only: a key pair other than the server's gets no shell
            assert await answers(other_key, second)  # "Permission denied", and no shell

            await qemu.destroy(instance)
            refused = await asyncio.to_thread(ssh, key, "cirros", second, "hostname")
            assert refused.returncode != 0 and "Connection refused" in refused.stderr
        except BaseException:
            with contextlib.suppress(BackendError):  # shown with the failure
                print(await qemu.get_console_output(instance))
            raise
        finally:
            with contextlib.suppress(BackendError):
                await qemu.destroy(instance)
            await qemu.close()

    run(scenario)


async def answers(key: Path, address: str) -> bool:
    """Whether the guest's dropbear answers at ``address`` (it refuses a key it was not
    given: the answer proves the forward), waiting for it to come up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SSH_TIMEOUT
    while loop.time() < deadline:
        try:
            done = await asyncio.to_thread(ssh, key, "cirros", address, "true")
        except subprocess.TimeoutExpired:
            continue
        if "Permission denied" in done.stderr:
            return True
        await asyncio.sleep(1.0)
    return False


def test_forwards_follow_a_live_migration(run_dir: Path, guest: GuestImage,
                                          key: Path) -> None:
    """A floating IP on the boot port and a fixed IP of a hot-plugged port, both added
    while the guest runs; the destination of a live migration (on this same machine:
    the source holds the addresses until it ends) forwards them once it took over."""
    floating, fixed = addresses()
    boot_port = VifSpec("port-boot", "fa:16:3e:00:00:11", ("10.0.0.7",), "private",
                        (floating,))
    plugged = VifSpec("port-plug", "fa:16:3e:00:00:12", (fixed,), "public")

    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        await qemu.update_interface(vm, boot_port)
        await qemu.attach_interface(vm, plugged)
        await console_count(qemu, vm, "GUEST-DHCP eth1")
        assert await answers(key, floating) and await answers(key, fixed)
        await qemu.live_migrate(moved, vm, Progress(), block_migration=False)
        assert await answers(key, floating) and await answers(key, fixed)
        await qemu.detach_interface(moved, plugged)  # its forward goes with its netdev
        gone = await asyncio.to_thread(ssh, key, "cirros", fixed, "true")
        assert gone.returncode != 0 and "Connection refused" in gone.stderr, gone.stderr

    on_two_hosts(run_dir, guest, "lmreach", scenario)
