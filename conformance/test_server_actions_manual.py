"""Disk, flavor and rescue/shelve actions as a polling client sees them, step by step.

Dedicated emulators whose clock only moves when a test advances it, with a known delay for
every backend stage, so that each interim status can be observed: rebuild, resize with
confirm and revert (and the move to another host Nova's ``allow_resize_to_same_host =
False`` makes), rescue/unrescue, shelve/unshelve, createImage, and the automatic confirm
``resize_confirm_window`` turns on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import tomli_w

from conformance.conftest import dedicated_emulator
from conformance.manual_cloud import ManualCloud

#: Interim statuses exist only between the manual clock's steps; the final states of these
#: actions are checked on every backend in test_server_actions_images/_more.
pytestmark = [pytest.mark.emulator_only, pytest.mark.simulated_only(
    reason="interim statuses exist only between the manual clock's steps")]

SPAWN = 10.0
#: backend verb -> seconds it takes on the manual clock (no jitter).
STAGES = {"rebuild": 8.0, "resize": 10.0, "confirm_resize": 1.0, "revert_resize": 6.0,
          "snapshot": 6.0, "rescue": 6.0, "unrescue": 4.0, "shelve": 10.0,
          "shelve_offload": 2.0, "unshelve": 8.0, "destroy": 1.0}
_STAGE_TABLES = {verb: {"delay": delay, "jitter": 0.0}
                 for verb, delay in {"spawn": SPAWN, **STAGES}.items()}
#: Two zones of one host each: a server pinned to a zone has nowhere to resize to.
MANUAL_CONFIG = tomli_w.dumps({"simulated": {
    "progression": "manual", "seed": 1, "stages": _STAGE_TABLES,
    "zones": [{"name": "nova", "hosts": 1}, {"name": "az2", "hosts": 1}]}})
WINDOW = 60
#: One host, resizes allowed on it, and confirmed after WINDOW seconds.
WINDOW_CONFIG = tomli_w.dumps({
    "compute": {"resize_confirm_window": WINDOW, "allow_resize_to_same_host": True},
    "simulated": {"progression": "manual", "seed": 1, "stages": _STAGE_TABLES,
                  "zones": [{"name": "nova", "hosts": 1}]}})


class Cloud(ManualCloud):
    """The manual-clock emulator, with this file's shortcuts."""

    def active(self, zone: str | None = None) -> str:
        """A new ACTIVE server of the member's (in ``zone`` if given)."""
        server_id = self.boot("mn", zone)
        self.advance(SPAWN)
        assert self.states(server_id) == ("ACTIVE", None)
        return server_id

    def states(self, server_id: str) -> tuple[str, str | None]:
        server = self.show(server_id)
        return server["status"], server["OS-EXT-STS:task_state"]

    def host(self, server_id: str) -> str | None:
        host: str | None = self.show(server_id, self.admin)["OS-EXT-SRV-ATTR:host"]
        return host


    def accepted(self, server_id: str, body: Any, status: int = 202) -> httpx.Response:
        response = self.act(server_id, body)
        assert response.status_code == status, response.text
        return response

    def actions(self, server_id: str) -> list[dict[str, Any]]:
        response = self.admin.compute("GET", f"/servers/{server_id}/os-instance-actions")
        assert response.status_code == 200, response.text
        actions: list[dict[str, Any]] = response.json()["instanceActions"]
        return actions

    def action(self, server_id: str, request_id: str) -> dict[str, Any]:
        response = self.admin.compute(
            "GET", f"/servers/{server_id}/os-instance-actions/{request_id}", version="2.51")
        assert response.status_code == 200, response.text
        action: dict[str, Any] = response.json()["instanceAction"]
        return action

    def image_status(self, image_id: str) -> str:
        response = self.member.request(
            "GET", f"{self.member.endpoint('image')}/v2/images/{image_id}")
        assert response.status_code == 200, response.text
        return str(response.json()["status"])


@pytest.fixture(scope="module")
def cloud(http: httpx.Client, target: Any) -> Iterator[Cloud]:
    with dedicated_emulator(target, MANUAL_CONFIG) as process:
        yield Cloud(process, http)


@pytest.fixture(scope="module")
def windowed(http: httpx.Client, target: Any) -> Iterator[Cloud]:
    with dedicated_emulator(target, WINDOW_CONFIG) as process:
        yield Cloud(process, http)


@pytest.fixture
def fresh(cloud: Cloud) -> Cloud:
    cloud.reset()
    return cloud


# -- rebuild ------------------------------------------------------------------------------


def test_rebuild_shows_rebuild_until_its_stage_ends(fresh: Cloud) -> None:
    sid = fresh.active()
    fresh.accepted(sid, {"rebuild": {"imageRef": fresh.image_id()}})
    assert fresh.states(sid) == ("REBUILD", "rebuild_spawning")
    fresh.advance(STAGES["rebuild"] - 1)
    assert fresh.states(sid) == ("REBUILD", "rebuild_spawning")
    fresh.advance(1)
    assert fresh.states(sid) == ("ACTIVE", None)


# -- resize -------------------------------------------------------------------------------


def test_resize_moves_to_another_host_and_confirm_stays_there(fresh: Cloud) -> None:
    sid = fresh.active()
    source = fresh.host(sid)
    fresh.accepted(sid, {"resize": {"flavorRef": "2"}})
    assert fresh.states(sid) == ("RESIZE", "resize_finish")
    destination = fresh.host(sid)
    assert destination is not None and destination != source
    fresh.advance(STAGES["resize"] - 1)
    assert fresh.states(sid) == ("RESIZE", "resize_finish")
    fresh.advance(1)
    assert fresh.states(sid) == ("VERIFY_RESIZE", None)
    assert fresh.host(sid) == destination
    assert fresh.show(sid)["flavor"]["id"] == "2"
    response = fresh.act(sid, {"confirmResize": None})
    assert response.status_code == 204, response.text
    # NOTE: Nova's confirm sets no task_state: VERIFY_RESIZE until it is done.
    assert fresh.states(sid) == ("VERIFY_RESIZE", None)
    fresh.advance(STAGES["confirm_resize"])
    assert fresh.states(sid) == ("ACTIVE", None)
    assert fresh.host(sid) == destination
    assert [a["action"] for a in fresh.actions(sid)][:2] == ["confirmResize", "resize"]


def test_revert_shows_revert_resize_and_returns_to_the_first_host(fresh: Cloud) -> None:
    sid = fresh.active()
    source = fresh.host(sid)
    fresh.accepted(sid, {"resize": {"flavorRef": "2"}})
    fresh.advance(STAGES["resize"])
    assert fresh.states(sid) == ("VERIFY_RESIZE", None)
    assert fresh.host(sid) != source
    fresh.accepted(sid, {"revertResize": None})
    assert fresh.states(sid) == ("REVERT_RESIZE", "resize_reverting")
    fresh.advance(STAGES["revert_resize"] - 1)
    assert fresh.states(sid) == ("REVERT_RESIZE", "resize_reverting")
    fresh.advance(1)
    assert fresh.states(sid) == ("ACTIVE", None)
    assert fresh.host(sid) == source
    assert fresh.show(sid)["flavor"]["id"] == "1"


def test_resize_with_no_other_host_fails_like_nova(fresh: Cloud) -> None:
    sid = fresh.active(zone="nova")  # the zone has one host, and it is the server's own
    host = fresh.host(sid)
    response = fresh.accepted(sid, {"resize": {"flavorRef": "2"}})
    request_id = response.headers["x-openstack-request-id"]
    # The conductor finds no host: the server is back in its previous state, task cleared.
    assert fresh.states(sid) == ("ACTIVE", None)
    server = fresh.show(sid, fresh.admin)
    assert server["OS-EXT-SRV-ATTR:host"] == host
    assert server["flavor"]["id"] == "1"
    # NOTE: Nova records the fault, but shows a fault only in ERROR or DELETED.
    assert "fault" not in server
    action = fresh.action(sid, request_id)
    assert action["action"] == "resize" and action["message"] == "Error"
    assert [(e["event"], e["result"]) for e in action["events"]] == \
        [("conductor_migrate_server", "Error")]


# -- rescue -------------------------------------------------------------------------------


def test_rescue_then_unrescue(fresh: Cloud) -> None:
    sid = fresh.active()
    response = fresh.accepted(sid, {"rescue": None}, status=200)
    assert "adminPass" in response.json()
    assert fresh.states(sid) == ("ACTIVE", "rescuing")
    fresh.advance(STAGES["rescue"] - 1)
    assert fresh.states(sid) == ("ACTIVE", "rescuing")
    fresh.advance(1)
    assert fresh.states(sid) == ("RESCUE", None)
    fresh.accepted(sid, {"unrescue": None})
    assert fresh.states(sid) == ("RESCUE", "unrescuing")
    fresh.advance(STAGES["unrescue"])
    assert fresh.states(sid) == ("ACTIVE", None)


# -- shelve -------------------------------------------------------------------------------


def test_shelve_offloads_then_unshelve_schedules_again(fresh: Cloud) -> None:
    sid = fresh.active()
    fresh.accepted(sid, {"shelve": None})
    assert fresh.states(sid) == ("ACTIVE", "shelving_image_uploading")
    fresh.advance(STAGES["shelve"])
    # The guest is off; its disk is uploaded to the shelve's image (the snapshot stage).
    assert fresh.states(sid) == ("ACTIVE", "shelving_image_uploading")
    fresh.advance(STAGES["snapshot"])
    # shelved_offload_time 0: the offload follows at once.
    assert fresh.states(sid) == ("SHELVED", "shelving_offloading")
    fresh.advance(STAGES["shelve_offload"])
    assert fresh.states(sid) == ("SHELVED_OFFLOADED", None)
    assert fresh.host(sid) is None
    fresh.accepted(sid, {"unshelve": None})
    assert fresh.states(sid) == ("SHELVED_OFFLOADED", "spawning")
    # Offloaded, the guest is booted anew on its new host: the spawn stage.
    fresh.advance(SPAWN - 1)
    assert fresh.states(sid) == ("SHELVED_OFFLOADED", "spawning")
    fresh.advance(1)
    assert fresh.states(sid) == ("ACTIVE", None)
    assert fresh.host(sid) is not None


# -- createImage --------------------------------------------------------------------------


def test_create_image_tasks_while_active_and_the_image_goes_active(fresh: Cloud) -> None:
    sid = fresh.active()
    response = fresh.act(sid, {"createImage": {"name": "snap"}}, version="2.45")
    assert response.status_code == 202, response.text
    image_id = response.json()["image_id"]
    assert fresh.states(sid) == ("ACTIVE", "image_uploading")
    assert fresh.image_status(image_id) == "queued"
    fresh.advance(STAGES["snapshot"] - 1)
    assert fresh.states(sid) == ("ACTIVE", "image_uploading")
    assert fresh.image_status(image_id) == "queued"
    fresh.advance(1)
    assert fresh.states(sid) == ("ACTIVE", None)
    assert fresh.image_status(image_id) == "active"


# -- resize_confirm_window ----------------------------------------------------------------


def test_a_resize_left_unconfirmed_is_confirmed_after_the_window(windowed: Cloud) -> None:
    cloud = windowed.reset()
    sid = cloud.active()
    host = cloud.host(sid)
    cloud.accepted(sid, {"resize": {"flavorRef": "2"}})
    cloud.advance(STAGES["resize"])
    assert cloud.states(sid) == ("VERIFY_RESIZE", None)
    # allow_resize_to_same_host = true: the only host will do.
    assert cloud.host(sid) == host
    cloud.advance(WINDOW - 1)
    assert cloud.states(sid) == ("VERIFY_RESIZE", None)
    cloud.advance(1 + STAGES["confirm_resize"])
    assert cloud.states(sid) == ("ACTIVE", None)
    assert cloud.show(sid)["flavor"]["id"] == "2"
    latest = cloud.actions(sid)[0]
    # Nova's periodic task confirms with an admin context of no user or project.
    assert latest["action"] == "confirmResize"
    assert latest["user_id"] is None and latest["project_id"] is None
    events = cloud.action(sid, latest["request_id"])["events"]
    assert [(e["event"], e["result"]) for e in events] == \
        [("compute_confirm_resize", "Success")]


def test_a_confirmed_or_reverted_resize_is_not_confirmed_again(windowed: Cloud) -> None:
    cloud = windowed.reset()
    sid = cloud.active()
    cloud.accepted(sid, {"resize": {"flavorRef": "2"}})
    cloud.advance(STAGES["resize"])
    cloud.accepted(sid, {"revertResize": None})
    cloud.advance(STAGES["revert_resize"])
    assert cloud.states(sid) == ("ACTIVE", None)
    cloud.advance(WINDOW + STAGES["confirm_resize"])
    assert cloud.states(sid) == ("ACTIVE", None)
    assert cloud.show(sid)["flavor"]["id"] == "1"
    assert [a["action"] for a in cloud.actions(sid)][:2] == ["revertResize", "resize"]
