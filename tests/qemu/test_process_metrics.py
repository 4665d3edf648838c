"""``GET /_emulator/metrics`` on the qemu backend: the QEMU processes running on each host
and the CPU time each instance's has used, read from /proc at the scrape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.qemu.conftest import ServedQemu
from tests.qemu.served import Cloud

pytestmark = pytest.mark.qemu

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def cloud(qemu_emulator: ServedQemu) -> Iterator[Cloud]:
    with httpx.Client(timeout=60.0) as http:
        yield Cloud(qemu_emulator.url, http)


def scrape(cloud: Cloud) -> Samples:
    got = cloud.admin.request("GET", f"{cloud.url}/_emulator/metrics")
    assert got.status_code == 200, got.text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(got.text)
            for sample in family.samples}


def named(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: value for (sample, labels), value in samples.items() if sample == name}


def test_qemu_processes_and_their_cpu_time(qemu_emulator: ServedQemu, cloud: Cloud) -> None:
    assert named(scrape(cloud), "nova_emulator_guest_processes") == {}
    image = cloud.bios_image()
    server_id = cloud.create_server("measured", image)
    try:
        cloud.wait_status(server_id, "ACTIVE")
        shown = cloud.admin.compute("GET", f"/servers/{server_id}")
        host = shown.json()["server"]["OS-EXT-SRV-ATTR:host"]
        [pid] = qemu_emulator.qemus()
        samples = scrape(cloud)
        assert named(samples, "nova_emulator_guest_processes") == {
            frozenset({("host", host)}): 1.0}
        cpu = named(samples, "nova_emulator_guest_cpu_seconds_total")
        assert list(cpu) == [frozenset({("host", host), ("instance", server_id)})]
        key = frozenset({("host", host), ("instance", server_id)})
        # QEMU's start (TCG, SeaBIOS, the boot sector) takes CPU time, and it only grows
        assert cpu[key] > 0
        assert named(scrape(cloud), "nova_emulator_guest_cpu_seconds_total")[key] >= cpu[key]
        assert qemu_emulator.qemus() == [pid]
    finally:
        cloud.delete_server(server_id)
        cloud.delete_image(image)
    after = scrape(cloud)
    assert named(after, "nova_emulator_guest_processes") == {}
    assert named(after, "nova_emulator_guest_cpu_seconds_total") == {}
