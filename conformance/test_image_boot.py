"""Images that boot: every image the emulator seeds boots to ACTIVE, or, where a guest runs
what its image holds (the qemu backend), is refused at create and rebuild with Nova's
``ImageUnacceptable`` (a 400) when it is a placeholder with no operating system; and an
image a user uploads (a tiny BIOS-bootable disk built here) boots and, on a real
hypervisor, prints its message on the serial console.

QEMU boots cost seconds under TCG: this file boots two guests there (the free guest and
the tiny disk).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.bios_image import upload
from conformance.client import ApiSession
from conformance.polling import TIMEOUT
from conformance.test_servers import Servers, message, unique, wait_for

#: The emulator's seeded placeholders (an empty disk each), by name, per backend where a
#: guest boots them: none is refused on the simulated cloud, both on the qemu backend.
REFUSED: dict[str | None, set[str]] = {
    "simulated": set(),
    "qemu": {"cirros-0.6.2-x86_64-disk", "debian-12-genericcloud-amd64"},
}
#: Backends whose guests run what their image holds (None: a real cloud), so that a
#: console shows what the image prints; the simulated cloud's console is made up.
REAL_GUESTS = {"qemu", None}


@pytest.fixture
def servers(admin: ApiSession) -> Iterator[Servers]:
    made = Servers(admin, "")
    yield made
    made.remove()


@pytest.fixture
def bios_image(member: ApiSession) -> Iterator[tuple[str, str]]:
    """(image id, the message its boot sector prints): uploaded as the member would."""
    text = f"tiny guest {uuid.uuid4().hex[:12]} says hello"
    image_id = upload(member, text, name=unique())
    yield image_id, text
    member.request("DELETE", f"{member.endpoint('image')}/v2/images/{image_id}")


def console_showing(member: ApiSession, server_id: str, wanted: str) -> str:
    """The server's console output once it contains ``wanted`` (polled)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = member.compute("POST", f"/servers/{server_id}/action",
                             json={"os-getConsoleOutput": {}})
        assert got.status_code == 200, got.text
        output = str(got.json()["output"])
        if wanted in output:
            return output
        assert time.monotonic() < deadline, f"the console never showed {wanted!r}: {output!r}"
        time.sleep(0.5)


def unacceptable(response: httpx.Response, image_id: str) -> None:
    """Nova's ``ImageUnacceptable`` as the API answers it: a 400 saying why."""
    assert response.status_code == 400, response.text
    assert "badRequest" in response.json(), response.text
    text = message(response)
    assert text.startswith(f"Image {image_id} is unacceptable: it is a placeholder with no "
                           "operating system"), text
    assert "nova-emulator-guest" in text and "upload" in text, text


def public_images(member: ApiSession) -> list[dict[str, Any]]:
    listed = member.request("GET", f"{member.endpoint('image')}/v2/images",
                            params={"visibility": "public", "status": "active"})
    assert listed.status_code == 200, listed.text
    images: list[dict[str, Any]] = listed.json()["images"]
    return images


@pytest.mark.emulator_only  # the emulator's seeded images
def test_every_seeded_image_boots_or_is_refused(member: ApiSession, servers: Servers,
                                                target: Any) -> None:
    images = public_images(member)
    refused = REFUSED.get(target.backend, set())
    assert refused <= {image["name"] for image in images}
    booted = []
    for image in images:
        body = servers.body(imageRef=image["id"])
        response = servers.post(member, body)
        if image["name"] in refused:
            unacceptable(response, image["id"])
            # nor as the volume a server boots from
            from_volume = servers.body(imageRef="", block_device_mapping_v2=[{
                "boot_index": 0, "uuid": image["id"], "source_type": "image",
                "destination_type": "volume", "volume_size": 1,
                "delete_on_termination": True}])
            unacceptable(servers.post(member, from_volume), image["id"])
            # refused before anything was made: no server of that name, no quota held
            listed = member.compute("GET", "/servers", params={"name": f"^{body['name']}$"})
            assert listed.json()["servers"] == [], listed.text
            continue
        assert response.status_code == 202, (image["name"], response.text)
        booted.append(response.json()["server"]["id"])
    assert len(booted) == len(images) - len(refused) >= 1
    for server_id in booted:
        wait_for(member, server_id, "ACTIVE")
        # every guest says something on its console (SeaBIOS, a kernel, the made-up log)
        console_showing(member, server_id, "\n")


def test_an_uploaded_bios_image_boots_and_prints(member: ApiSession, servers: Servers,
                                                 bios_image: tuple[str, str],
                                                 target: Any) -> None:
    image_id, text = bios_image
    response = servers.post(member, servers.body(imageRef=image_id))
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    server = wait_for(member, server_id, "ACTIVE")
    assert server["image"]["id"] == image_id
    if target.backend in REAL_GUESTS:  # its own boot sector wrote to COM1
        console_showing(member, server_id, text)
    else:
        console_showing(member, server_id, "\n")
    if target.backend is None:
        return
    # a rescue or a rebuild onto a placeholder: refused where a guest would not boot it,
    # as a create
    seeded = {image["name"]: image["id"] for image in public_images(member)}
    placeholder = seeded["cirros-0.6.2-x86_64-disk"]
    rescued = member.compute("POST", f"/servers/{server_id}/action",
                             json={"rescue": {"rescue_image_ref": placeholder}})
    if "cirros-0.6.2-x86_64-disk" in REFUSED.get(target.backend, set()):
        unacceptable(rescued, placeholder)
    else:
        assert rescued.status_code == 200, rescued.text
        wait_for(member, server_id, "RESCUE")
        unrescued = member.compute("POST", f"/servers/{server_id}/action",
                                   json={"unrescue": None})
        assert unrescued.status_code == 202, unrescued.text
        wait_for(member, server_id, "ACTIVE")
    rebuilt = member.compute("POST", f"/servers/{server_id}/action",
                             json={"rebuild": {"imageRef": placeholder}})
    if "cirros-0.6.2-x86_64-disk" in REFUSED.get(target.backend, set()):
        unacceptable(rebuilt, placeholder)
        assert wait_for(member, server_id, "ACTIVE")["image"]["id"] == image_id
    else:
        assert rebuilt.status_code == 202, rebuilt.text
        assert wait_for(member, server_id, "ACTIVE")["image"]["id"] == placeholder
