"""The simulated backend's volumes and interfaces: attach/detach on the emulator's clock,
the instance's devices, the errors of the contract and the console lines."""

from __future__ import annotations

import asyncio

import pytest

from backends.base import (
    DeviceBusy,
    DeviceNotFound,
    InstanceNotFound,
    InstanceSpec,
    PowerState,
    VifSpec,
    VolumeSpec,
)
from backends.simulated import STAGES, SimulatedBackend, Stage
from backends.simulated.backend import ActionFailed
from emulator.clock import Clock, Progression
from tests.test_clock import run, spin

VOLUME = VolumeSpec(volume_id="7c0f2d1e-volume", device="/dev/vdb", size_gb=2)
PORT = VifSpec(port_id="p-1", mac="fa:16:3e:00:00:02", fixed_ips=("10.0.0.5",),
               network="private")


def spec(uuid: str = "u-1") -> InstanceSpec:
    return InstanceSpec(uuid=uuid, name=uuid, hostname=uuid, host="compute-001",
                        project_id="p", vcpus=1, memory_mb=512, root_gb=1,
                        addresses=(("private", "10.0.0.4", "fa:16:3e:00:00:01"),))


def booted() -> SimulatedBackend:
    backend = SimulatedBackend(clock=Clock())
    run(backend.spawn(spec()))
    return backend


def console(backend: SimulatedBackend) -> list[str]:
    return str(run(backend.get_console_output(spec()))).splitlines()


def test_device_verbs_have_stages_as_a_small_kvm_cloud() -> None:
    for verb in ("attach_volume", "detach_volume", "attach_interface", "detach_interface"):
        assert 0.5 <= STAGES[verb].delay <= 5.0


def test_attach_volume_waits_for_its_stage_then_the_guest_has_the_disk() -> None:
    async def main() -> None:
        clock = Clock(Progression.MANUAL)
        backend = SimulatedBackend(clock=clock, stages={"attach_volume": Stage(2.0)})
        await backend.spawn(spec())
        task = asyncio.create_task(backend.attach_volume(spec(), VOLUME))
        await spin()
        assert not task.done() and backend.instances["u-1"].devices.volumes == {}
        clock.advance(2)
        await task
        assert backend.instances["u-1"].devices.volumes == {VOLUME.volume_id: VOLUME}

    run(main())


def test_the_console_shows_the_disk_appear_and_go() -> None:
    backend = booted()
    run(backend.attach_volume(spec(), VOLUME))
    lines = console(backend)
    assert lines[-1] == f"GUEST-DISK-ADDED vdb {2 * 1024**3} serial=7c0f2d1e-volume"
    assert "[vdb] 4194304 512-byte logical blocks" in lines[-2]
    run(backend.detach_volume(spec(), VOLUME))
    assert console(backend)[-1] == "GUEST-DISK-REMOVED vdb"
    assert backend.instances["u-1"].devices.volumes == {}


def test_attaching_a_volume_twice_or_on_a_used_device_is_device_busy() -> None:
    backend = booted()
    run(backend.attach_volume(spec(), VOLUME))
    with pytest.raises(DeviceBusy, match="attached already"):
        run(backend.attach_volume(spec(), VOLUME))
    other = VolumeSpec(volume_id="other", device="/dev/vdb", size_gb=1)
    with pytest.raises(DeviceBusy, match="/dev/vdb is in use"):
        run(backend.attach_volume(spec(), other))
    with pytest.raises(DeviceBusy, match="in use"):  # the root disk
        run(backend.attach_volume(spec(), VolumeSpec("root", "/dev/vda", 1)))


def test_detaching_what_is_not_attached_is_device_not_found() -> None:
    backend = booted()
    with pytest.raises(DeviceNotFound, match=VOLUME.volume_id):
        run(backend.detach_volume(spec(), VOLUME))
    with pytest.raises(DeviceNotFound, match="p-1"):
        run(backend.detach_interface(spec(), PORT))


def test_device_verbs_of_an_unknown_instance_are_instance_not_found() -> None:
    backend = SimulatedBackend(clock=Clock())
    with pytest.raises(InstanceNotFound):
        run(backend.attach_volume(spec(), VOLUME))
    with pytest.raises(InstanceNotFound):
        run(backend.attach_interface(spec(), PORT))


def test_interfaces_get_the_next_nic_after_the_boot_time_ones() -> None:
    backend = booted()
    second = VifSpec(port_id="p-2", mac="fa:16:3e:00:00:03")
    run(backend.attach_interface(spec(), PORT))
    run(backend.attach_interface(spec(), second))
    assert [line for line in console(backend) if line.startswith("GUEST-NET")] == [
        "GUEST-NET eth1 added mac=fa:16:3e:00:00:02",
        "GUEST-NET eth2 added mac=fa:16:3e:00:00:03"]
    with pytest.raises(DeviceBusy, match="p-1"):
        run(backend.attach_interface(spec(), PORT))
    run(backend.detach_interface(spec(), PORT))
    assert console(backend)[-1] == "GUEST-NET eth1 removed"
    run(backend.attach_interface(spec(), PORT))  # eth1 is free again
    assert console(backend)[-1] == "GUEST-NET eth1 added mac=fa:16:3e:00:00:02"


def test_a_stopped_guest_keeps_what_is_attached_to_it_and_a_reboot_too() -> None:
    backend = booted()
    run(backend.power_off(spec()))
    run(backend.attach_volume(spec(), VOLUME))
    run(backend.power_on(spec()))
    run(backend.rescue(spec(), "pw"))
    run(backend.unrescue(spec()))
    assert run(backend.get_info(spec())).power_state is PowerState.RUNNING
    assert list(backend.instances["u-1"].devices.volumes) == [VOLUME.volume_id]
    run(backend.detach_volume(spec(), VOLUME))


def test_an_evacuated_guest_keeps_its_volumes_and_ports() -> None:
    backend = booted()
    run(backend.attach_volume(spec(), VOLUME))
    run(backend.attach_interface(spec(), PORT))
    moved = InstanceSpec(**{**spec().__dict__, "host": "compute-002"})
    run(backend.evacuate(moved, spec(), power_on=True))
    devices = backend.instances["u-1"].devices
    assert list(devices.volumes) == [VOLUME.volume_id] and list(devices.vifs) == ["p-1"]


def test_a_failing_stage_changes_nothing() -> None:
    backend = SimulatedBackend(clock=Clock(), stages={"attach_volume": Stage(0.0, fails=True)})
    run(backend.spawn(spec()))
    with pytest.raises(ActionFailed, match="simulated failure"):
        run(backend.attach_volume(spec(), VOLUME))
    assert backend.instances["u-1"].devices.volumes == {}


def test_the_serial_is_the_volume_id() -> None:
    assert VOLUME.serial == VOLUME.volume_id


def test_an_offloaded_guest_gets_its_volumes_and_ports_back_at_unshelve() -> None:
    backend = booted()
    run(backend.attach_volume(spec(), VOLUME))
    run(backend.attach_interface(spec(), PORT))
    run(backend.shelve(spec()))
    run(backend.shelve_offload(spec()))
    assert "u-1" not in backend.instances
    run(backend.unshelve(spec()))
    devices = backend.instances["u-1"].devices
    assert list(devices.volumes) == [VOLUME.volume_id] and list(devices.vifs) == ["p-1"]
    run(backend.destroy(spec()))
    run(backend.spawn(spec()))  # a new instance of the same id starts with nothing
    assert backend.instances["u-1"].devices.volumes == {}


def test_volumes_attached_before_the_first_boot_are_the_guests_from_the_start() -> None:
    backend = SimulatedBackend(clock=Clock())
    data = VolumeSpec(volume_id="d-1", device="/dev/vdc", size_gb=1)
    run(backend.spawn(InstanceSpec(**{**spec().__dict__, "volumes": (VOLUME, data)})))
    with pytest.raises(DeviceBusy):
        run(backend.attach_volume(spec(), VOLUME))
    run(backend.detach_volume(spec(), data))
    with pytest.raises(DeviceNotFound):
        run(backend.detach_volume(spec(), data))
