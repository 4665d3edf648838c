"""``[server] seed``: the same requests in the same order give the same ids every run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import openstack

from emulator.config import Config
from emulator.testing import ThreadedEmulator


def _seeded(seed: int | None) -> Config:
    config = Config()
    return replace(config, server=replace(config.server, seed=seed))


def run_once(seed: int | None) -> dict[str, Any]:
    with ThreadedEmulator(_seeded(seed)) as cloud:
        conn = openstack.connect(**cloud.sdk_arguments("member"))
        # Request ids are the same for the same requests: here, before any polling.
        first = conn.compute.get("/flavors").headers["x-openstack-request-id"]
        image = conn.image.find_image("cirros-0.6.2-x86_64-disk")
        made = []
        for name in ("a", "b"):
            server = conn.compute.create_server(name=name, image_id=image.id, flavor_id="1",
                                                networks="auto")
            made.append(conn.compute.wait_for_server(server))
        ports = sorted((p.device_id, p.id, p.mac_address) for p in conn.network.ports())
        return {
            "servers": [(s.id, s.reservation_id) for s in made],
            "ports": ports,
            "networks": sorted(n.id for n in conn.network.networks()),
            "project": conn.current_project_id,
            "request_id": first,
        }


def test_a_seed_gives_the_same_ids_every_run() -> None:
    first, second = run_once(7), run_once(7)
    assert first == second
    assert len(first["ports"]) == 2 and first["servers"][0] != first["servers"][1]
    other = run_once(8)
    assert other["servers"] != first["servers"] and other["ports"] != first["ports"]
    unseeded = run_once(None)
    assert unseeded["servers"] != first["servers"]


def _create(cloud: ThreadedEmulator, name: str) -> str:
    conn = openstack.connect(**cloud.sdk_arguments("member"))
    image = conn.image.find_image("cirros-0.6.2-x86_64-disk")
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id="1",
                                        networks="auto")
    return str(conn.compute.wait_for_server(server).id)


def test_a_seeded_cloud_loaded_from_a_snapshot_draws_new_ids(tmp_path: Path) -> None:
    """The snapshot's servers were drawn from the seed's stream: a cloud loaded from it
    draws from another (salted with the snapshot), the same one every time."""
    snapshot = tmp_path / "cloud.tar.gz"
    with ThreadedEmulator(_seeded(3)) as saved:
        first = _create(saved, "saved")
        saved.control.save_snapshot(snapshot)
    made_after_load = []
    for _ in range(2):
        with ThreadedEmulator(_seeded(3)) as fresh:
            fresh.control.load_snapshot(snapshot)
            made_after_load.append(_create(fresh, "after"))
    assert made_after_load[0] == made_after_load[1] != first
