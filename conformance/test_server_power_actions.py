"""Server power actions (os-stop, os-start, reboot, pause, suspend, changePassword, lock,
trigger_crash_dump, os-resetState) as a polling client sees them.

The first part runs on a dedicated emulator whose clock only moves when a test advances it,
with a known delay for every backend stage, so each interim status can be observed; on the
qemu backend the same emulator runs real guests, and the tests of final states, refusals,
locks and records wait for each action instead (``simulated_only`` are those about interim
states and stages). The second part drives the shared emulator (or a real cloud) with the
``openstack`` CLI and openstacksdk.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import tomli_w
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.bios_image import boot_image
from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.conftest import dedicated_emulator
from conformance.manual_cloud import ManualCloud
from conformance.schemas import for_version, validate

SPAWN = 10.0
#: backend verb -> seconds it takes on the manual clock (no jitter).
STAGES = {"power_off": 4.0, "power_on": 3.0, "reboot_soft": 8.0, "reboot_hard": 5.0,
          "pause": 1.0, "unpause": 2.0, "suspend": 3.0, "resume": 6.0,
          "set_admin_password": 2.0, "trigger_crash_dump": 1.0, "destroy": 1.0}
MANUAL_CONFIG = tomli_w.dumps({"simulated": {"progression": "manual", "seed": 1, "stages": {
    verb: {"delay": delay, "jitter": 0.0} for verb, delay in {"spawn": SPAWN, **STAGES}.items()}}})

SOFT_TYPES = "['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"


class Cloud(ManualCloud):
    """The manual-clock emulator, with this file's shortcuts."""

    def active(self) -> str:
        """A new ACTIVE server of the member's."""
        server_id = self.boot("pw")
        self.finish(server_id, SPAWN)
        assert self.states(server_id) == ("ACTIVE", None, 1)
        return server_id

    def states(self, server_id: str) -> tuple[str, str | None, int]:
        server = self.show(server_id)
        return (server["status"], server["OS-EXT-STS:task_state"],
                server["OS-EXT-STS:power_state"])


    def accepted(self, server_id: str, body: Any, session: ApiSession | None = None,
                 version: str | None = None) -> str:
        """Run an action that must be accepted; its request id."""
        response = self.act(server_id, body, session, version)
        assert response.status_code == 202, response.text
        assert response.content == b""
        return response.headers["x-openstack-request-id"]

    def run(self, server_id: str, body: Any, verb: str) -> str:
        """Accept an action and let its stage finish."""
        request_id = self.accepted(server_id, body)
        self.finish(server_id, STAGES[verb])
        return request_id


@pytest.fixture(scope="module")
def cloud(http: httpx.Client, target: Any) -> Iterator[Cloud]:
    with dedicated_emulator(target, MANUAL_CONFIG) as process:
        yield Cloud(process, http)


@pytest.fixture
def fresh(cloud: Cloud) -> Cloud:
    cloud.reset()
    return cloud


def conflict(response: httpx.Response, message: str) -> None:
    assert response.status_code == 409, response.text
    assert response.json() == {"conflictingRequest": {"code": 409, "message": message}}


def bad_request(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"badRequest": {"code": 400, "message": message}}


# -- the happy paths, step by step ---------------------------------------------------------

#: (body, stage, status while it runs, task_state, power before, end status, end power)
PATHS = {
    "stop": ({"os-stop": None}, "power_off", "ACTIVE", "powering-off", 1, "SHUTOFF", 4),
    "reboot-soft": ({"reboot": {"type": "SOFT"}}, "reboot_soft", "REBOOT", "rebooting", 1,
                    "ACTIVE", 1),
    "reboot-hard": ({"reboot": {"type": "hard"}}, "reboot_hard", "HARD_REBOOT",
                    "rebooting_hard", 1, "ACTIVE", 1),
    "pause": ({"pause": None}, "pause", "ACTIVE", "pausing", 1, "PAUSED", 3),
    "suspend": ({"suspend": None}, "suspend", "ACTIVE", "suspending", 1, "SUSPENDED", 7),
    "changePassword": ({"changePassword": {"adminPass": "s3cret-Pa55"}},
                       "set_admin_password", "PASSWORD", "updating_password", 1, "ACTIVE", 1),
    "trigger_crash_dump": ({"trigger_crash_dump": None}, "trigger_crash_dump", "ACTIVE",
                           None, 1, "ACTIVE", 1),
}


#: NOTE: Nova's libvirt driver needs the QEMU guest agent to set a password; without one
#: changePassword is a 409 at once.
NO_AGENT = "QEMU guest agent is not enabled"


def guest_agent(cloud: Cloud) -> bool:
    """Whether the backend's guests run an agent that sets their admin password (the
    emulator's health says; the simulated cloud's do, QEMU's free guest does not)."""
    health = httpx.get(f"{cloud.process.url}/_emulator/health").json()
    return bool(health["guest_agent"])


@pytest.mark.emulator_only
@pytest.mark.parametrize("name", sorted(set(PATHS) - {"changePassword"}))
def test_an_action_ends_in_its_final_state(fresh: Cloud, name: str) -> None:
    body, stage, _during, _task, _power, end, end_power = PATHS[name]
    server_id = fresh.active()
    version = "2.17" if name == "trigger_crash_dump" else None
    request_id = fresh.accepted(server_id, body, version=version)
    fresh.finish(server_id, STAGES[stage])
    assert [result for _event, result in fresh.events_done(server_id, request_id)] == \
        ["Success"]
    assert fresh.states(server_id) == (end, None, end_power)
    for version in (None, "2.9", "2.73", "2.96"):
        response = fresh.member.compute("GET", f"/servers/{server_id}", version=version)
        validate(response, for_version(ServersClient, version).get_server)


@pytest.mark.emulator_only
def test_change_password_needs_a_guest_agent(fresh: Cloud) -> None:
    server_id = fresh.active()
    body = {"changePassword": {"adminPass": "s3cret-Pa55"}}
    if not guest_agent(fresh):
        conflict(fresh.act(server_id, body), NO_AGENT)
        assert fresh.states(server_id) == ("ACTIVE", None, 1)
        return
    request_id = fresh.accepted(server_id, body)
    fresh.finish(server_id, STAGES["set_admin_password"])
    assert fresh.events_done(server_id, request_id) == [
        ("compute_set_admin_password", "Success")]
    assert fresh.states(server_id) == ("ACTIVE", None, 1)


@pytest.mark.emulator_only
@pytest.mark.simulated_only(reason="interim states exist only between the manual clock's steps")
@pytest.mark.parametrize("name", sorted(PATHS))
def test_an_action_holds_its_interim_state_until_its_stage_ends(fresh: Cloud,
                                                                name: str) -> None:
    body, stage, during, task, power, end, end_power = PATHS[name]
    server_id = fresh.active()
    version = "2.17" if name == "trigger_crash_dump" else None
    fresh.accepted(server_id, body, version=version)
    assert fresh.states(server_id) == (during, task, power)
    fresh.advance(STAGES[stage] - 0.5)
    assert fresh.states(server_id) == (during, task, power)
    fresh.advance(0.5)
    assert fresh.states(server_id) == (end, None, end_power)
    for version in (None, "2.9", "2.73", "2.96"):
        response = fresh.member.compute("GET", f"/servers/{server_id}", version=version)
        validate(response, for_version(ServersClient, version).get_server)


@pytest.mark.emulator_only
@pytest.mark.simulated_only(  # on qemu: test_cli_power_actions, test_sdk_power_actions
    reason="steps the manual clock through each stage")
def test_stop_start_pause_unpause_suspend_resume_round_trip(fresh: Cloud) -> None:
    server_id = fresh.active()
    fresh.run(server_id, {"os-stop": None}, "power_off")
    assert fresh.states(server_id) == ("SHUTOFF", None, 4)
    fresh.accepted(server_id, {"os-start": None})
    assert fresh.states(server_id) == ("SHUTOFF", "powering-on", 4)
    fresh.advance(STAGES["power_on"])
    assert fresh.states(server_id) == ("ACTIVE", None, 1)

    fresh.run(server_id, {"pause": None}, "pause")
    fresh.accepted(server_id, {"unpause": None})
    assert fresh.states(server_id) == ("PAUSED", "unpausing", 3)
    fresh.advance(STAGES["unpause"])
    assert fresh.states(server_id) == ("ACTIVE", None, 1)

    fresh.run(server_id, {"suspend": None}, "suspend")
    fresh.accepted(server_id, {"resume": None})
    assert fresh.states(server_id) == ("SUSPENDED", "resuming", 7)
    fresh.advance(STAGES["resume"] - 1)
    assert fresh.states(server_id) == ("SUSPENDED", "resuming", 7)
    fresh.advance(1)
    assert fresh.states(server_id) == ("ACTIVE", None, 1)


@pytest.mark.emulator_only
def test_a_hard_reboot_brings_back_a_stopped_or_paused_server(fresh: Cloud) -> None:
    server_id = fresh.active()
    fresh.run(server_id, {"os-stop": None}, "power_off")
    fresh.accepted(server_id, {"reboot": {"type": "HARD"}})
    if fresh.manual:  # stopped + rebooting_hard has no status of its own
        assert fresh.states(server_id) == ("SHUTOFF", "rebooting_hard", 4)
    fresh.finish(server_id, STAGES["reboot_hard"])
    assert fresh.states(server_id) == ("ACTIVE", None, 1)
    fresh.run(server_id, {"pause": None}, "pause")
    fresh.run(server_id, {"reboot": {"type": "HARD"}}, "reboot_hard")
    assert fresh.states(server_id) == ("ACTIVE", None, 1)


@pytest.mark.emulator_only
@pytest.mark.simulated_only(reason="needs the simulated cloud's stage table")
def test_stage_delays_set_through_the_control_plane(fresh: Cloud) -> None:
    changed = fresh.control("PUT", "/stages/power_off", json={"delay": 20})
    assert changed.status_code == 200, changed.text
    server_id = fresh.active()
    fresh.accepted(server_id, {"os-stop": None})
    fresh.advance(STAGES["power_off"])
    assert fresh.states(server_id) == ("ACTIVE", "powering-off", 1)
    fresh.advance(20 - STAGES["power_off"])
    assert fresh.states(server_id) == ("SHUTOFF", None, 4)


# -- refused states -----------------------------------------------------------------------


@pytest.mark.emulator_only
def test_actions_refused_from_the_wrong_state(fresh: Cloud) -> None:
    server_id = fresh.active()
    vm = f"Cannot '%s' instance {server_id} while it is in vm_state %s"
    conflict(fresh.act(server_id, {"os-start": None}), vm % ("start", "active"))
    conflict(fresh.act(server_id, {"unpause": None}), vm % ("unpause", "active"))
    conflict(fresh.act(server_id, {"resume": None}), vm % ("resume", "active"))

    fresh.run(server_id, {"os-stop": None}, "power_off")
    conflict(fresh.act(server_id, {"os-stop": None}), vm % ("stop", "stopped"))
    conflict(fresh.act(server_id, {"reboot": {"type": "SOFT"}}), vm % ("reboot", "stopped"))
    conflict(fresh.act(server_id, {"pause": None}), vm % ("pause", "stopped"))
    conflict(fresh.act(server_id, {"suspend": None}), vm % ("suspend", "stopped"))
    conflict(fresh.act(server_id, {"changePassword": {"adminPass": "x"}}),
             vm % ("changePassword", "stopped"))
    conflict(fresh.act(server_id, {"trigger_crash_dump": None}, version="2.17"),
             vm % ("trigger_crash_dump", "stopped"))

    fresh.run(server_id, {"os-start": None}, "power_on")
    fresh.run(server_id, {"pause": None}, "pause")
    conflict(fresh.act(server_id, {"pause": None}), vm % ("pause", "paused"))
    conflict(fresh.act(server_id, {"reboot": {"type": "soft"}}), vm % ("reboot", "paused"))


@pytest.mark.emulator_only
@pytest.mark.simulated_only(reason="holds a task in progress on the manual clock")
def test_actions_refused_while_a_task_runs(fresh: Cloud) -> None:
    server_id = fresh.active()
    fresh.accepted(server_id, {"os-stop": None})
    task = f"Cannot '%s' instance {server_id} while it is in task_state %s"
    # hard reboot allows only task_states.ALLOW_REBOOT: powering-off is not one of them
    conflict(fresh.act(server_id, {"reboot": {"type": "HARD"}}),
             task % ("reboot", "powering-off"))
    conflict(fresh.act(server_id, {"os-stop": None}), task % ("stop", "powering-off"))
    conflict(fresh.act(server_id, {"changePassword": {"adminPass": "x"}}),
             task % ("changePassword", "powering-off"))
    fresh.advance(STAGES["power_off"])
    fresh.run(server_id, {"os-start": None}, "power_on")

    # a hard reboot may interrupt a soft one; a soft one may not
    fresh.accepted(server_id, {"reboot": {"type": "SOFT"}})
    conflict(fresh.act(server_id, {"reboot": {"type": "SOFT"}}), task % ("reboot", "rebooting"))
    fresh.accepted(server_id, {"reboot": {"type": "HARD"}})
    assert fresh.states(server_id)[:2] == ("HARD_REBOOT", "rebooting_hard")


@pytest.mark.emulator_only
def test_a_server_that_never_got_a_host_is_not_ready(fresh: Cloud) -> None:
    huge = fresh.admin.compute("POST", "/flavors", json={"flavor": {
        "name": f"pw-huge-{uuid.uuid4().hex[:8]}", "ram": 64, "vcpus": 1, "disk": 10**7}})
    assert huge.status_code == 200, huge.text
    body = {"server": {"name": "pw-nohost", "flavorRef": huge.json()["flavor"]["id"],
                       "imageRef": fresh.image_id()}}
    server_id = fresh.member.compute("POST", "/servers", json=body).json()["server"]["id"]
    assert fresh.finish(server_id, SPAWN)["status"] == "ERROR"
    assert fresh.show(server_id, fresh.admin)["OS-EXT-SRV-ATTR:host"] is None
    # check_instance_host comes before the vm_state and launched_at checks
    conflict(fresh.act(server_id, {"os-stop": None}), f"Instance {server_id} is not ready")
    conflict(fresh.act(server_id, {"trigger_crash_dump": None}, version="2.17"),
             f"Instance {server_id} is not ready")
    # a hard reboot has no host check: from error it falls to the launched_at check
    conflict(fresh.act(server_id, {"reboot": {"type": "HARD"}}),
             f"Instance {server_id} is in an invalid state for 'reboot'")


# -- locks ----------------------------------------------------------------------------------


@pytest.mark.emulator_only
def test_locked_servers(fresh: Cloud) -> None:
    server_id = fresh.active()
    fresh.accepted(server_id, {"lock": {"locked_reason": "maintenance"}}, version="2.73")
    locked_msg = f"Instance {server_id} is locked"
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"pause": None},
                 {"suspend": None}, {"changePassword": {"adminPass": "x"}}):
        conflict(fresh.act(server_id, body), locked_msg)
    # the lock is checked before the state
    conflict(fresh.act(server_id, {"os-start": None}), locked_msg)

    at_273 = fresh.member.compute("GET", f"/servers/{server_id}", version="2.73")
    shown = validate(at_273, for_version(ServersClient, "2.73").get_server)["server"]
    assert (shown["locked"], shown["locked_reason"]) == (True, "maintenance")
    at_29 = fresh.member.compute("GET", f"/servers/{server_id}", version="2.9")
    shown = validate(at_29, for_version(ServersClient, "2.9").get_server)["server"]
    assert shown["locked"] is True and "locked_reason" not in shown
    assert "locked" not in fresh.show(server_id, version="2.8")

    # an admin is not held by the lock
    fresh.accepted(server_id, {"os-stop": None}, session=fresh.admin)
    fresh.finish(server_id, STAGES["power_off"])
    assert fresh.states(server_id) == ("SHUTOFF", None, 4)

    fresh.accepted(server_id, {"unlock": None})
    shown = fresh.show(server_id, version="2.73")
    assert (shown["locked"], shown["locked_reason"]) == (False, None)
    fresh.run(server_id, {"os-start": None}, "power_on")

    # locked by the admin: the member may not unlock it (unlock_override is admin's)
    fresh.accepted(server_id, {"lock": None}, session=fresh.admin)
    response = fresh.act(server_id, {"unlock": None})
    assert response.status_code == 403, response.text
    assert response.json() == {"forbidden": {"code": 403, "message": (
        "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override "
        "to be performed.")}}
    assert fresh.show(server_id, version="2.9")["locked"] is True
    fresh.accepted(server_id, {"unlock": None}, session=fresh.admin)
    assert fresh.show(server_id, version="2.9")["locked"] is False


@pytest.mark.emulator_only
def test_lock_reason_needs_273(fresh: Cloud) -> None:
    server_id = fresh.active()
    response = fresh.act(server_id, {"lock": {"locked_reason": "x" * 256}}, version="2.73")
    assert response.status_code == 400, response.text
    response = fresh.act(server_id, {"lock": {"locked_reason": ""}}, version="2.73")
    assert response.status_code == 400, response.text
    fresh.accepted(server_id, {"lock": None}, version="2.73")
    shown = fresh.show(server_id, version="2.73")
    assert (shown["locked"], shown["locked_reason"]) == (True, None)


# -- os-resetState ------------------------------------------------------------------------


@pytest.mark.emulator_only
def test_reset_state_is_for_admins(fresh: Cloud) -> None:
    server_id = fresh.active()
    response = fresh.act(server_id, {"os-resetState": {"state": "error"}})
    assert response.status_code == 403, response.text
    assert response.json() == {"forbidden": {"code": 403, "message": (
        "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed.")}}

    fresh.accepted(server_id, {"os-resetState": {"state": "error"}}, session=fresh.admin)
    assert fresh.show(server_id)["status"] == "ERROR"
    assert fresh.show(server_id)["OS-EXT-STS:task_state"] is None
    # from error, a stop is allowed again
    fresh.accepted(server_id, {"os-resetState": {"state": "active"}}, session=fresh.admin)
    assert fresh.show(server_id)["status"] == "ACTIVE"
    bad = fresh.act(server_id, {"os-resetState": {"state": "paused"}}, session=fresh.admin)
    assert bad.status_code == 400, bad.text


@pytest.mark.emulator_only
@pytest.mark.simulated_only(reason="holds a task in progress on the manual clock")
def test_reset_state_clears_a_task_in_progress(fresh: Cloud) -> None:
    server_id = fresh.active()
    fresh.accepted(server_id, {"pause": None})
    assert fresh.states(server_id) == ("ACTIVE", "pausing", 1)
    fresh.accepted(server_id, {"os-resetState": {"state": "error"}}, session=fresh.admin)
    assert fresh.show(server_id)["status"] == "ERROR"
    assert fresh.show(server_id)["OS-EXT-STS:task_state"] is None


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.emulator_only
def test_bad_action_bodies(fresh: Cloud) -> None:
    server_id = fresh.active()
    bad_request(fresh.act(server_id, {"os-frobnicate": None}),
                "There is no such action: os-frobnicate")
    bad_request(fresh.act(server_id, {"os-stop": None, "os-start": None}),
                "Malformed request body")
    bad_request(fresh.act(server_id, {"reboot": {"type": "SOFTISH"}}),
                "Invalid input for field/attribute type. Value: SOFTISH. "
                f"'SOFTISH' is not one of {SOFT_TYPES}")
    bad_request(fresh.act(server_id, {"reboot": {}}),
                "Invalid input for field/attribute reboot. Value: {}. "
                "'type' is a required property")
    response = fresh.act(server_id, {"trigger_crash_dump": None}, version="2.16")
    assert response.status_code == 404, response.text
    bad_request(fresh.act(server_id, {"trigger_crash_dump": {"a": 1}}, version="2.17"),
                "Invalid input for field/attribute trigger_crash_dump. Value: {'a': 1}. "
                "{'a': 1} is not of type 'null'")
    response = fresh.act(server_id, {"changePassword": {}})
    assert response.status_code == 400, response.text
    # nothing was started
    assert fresh.states(server_id) == ("ACTIVE", None, 1)


@pytest.mark.emulator_only
def test_other_projects_servers_are_not_found(fresh: Cloud) -> None:
    server_id = fresh.active()
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"pause": None},
                 {"lock": None}, {"changePassword": {"adminPass": "x"}}):
        response = fresh.act(server_id, body, session=fresh.alt)
        assert response.status_code == 404, response.text
        assert response.json()["itemNotFound"]["code"] == 404
    missing = str(uuid.uuid4())
    response = fresh.act(missing, {"os-stop": None})
    assert response.status_code == 404, response.text
    assert fresh.states(server_id) == ("ACTIVE", None, 1)
    assert fresh.show(server_id, version="2.9")["locked"] is False


# -- instance actions -----------------------------------------------------------------------


@pytest.mark.emulator_only
def test_instance_actions_record_each_call(fresh: Cloud) -> None:
    server_id = fresh.active()
    steps = [
        ({"os-stop": None}, "power_off", "stop", "compute_stop_instance"),
        ({"os-start": None}, "power_on", "start", "compute_start_instance"),
        ({"reboot": {"type": "SOFT"}}, "reboot_soft", "reboot", "compute_reboot_instance"),
        ({"reboot": {"type": "HARD"}}, "reboot_hard", "reboot", "compute_reboot_instance"),
        ({"pause": None}, "pause", "pause", "compute_pause_instance"),
        ({"unpause": None}, "unpause", "unpause", "compute_unpause_instance"),
        ({"suspend": None}, "suspend", "suspend", "compute_suspend_instance"),
        ({"resume": None}, "resume", "resume", "compute_resume_instance"),
        ({"changePassword": {"adminPass": "pw-12345"}}, "set_admin_password",
         "changePassword", "compute_set_admin_password"),
    ]
    if not guest_agent(fresh):  # refused at once (see above)
        steps = [step for step in steps if step[2] != "changePassword"]
    seen: list[str] = []
    for body, stage, action, event in steps:
        request_id = fresh.accepted(server_id, body)
        url = f"/servers/{server_id}/os-instance-actions/{request_id}"
        running = fresh.member.compute("GET", url, version="2.51").json()["instanceAction"]
        assert running["action"] == action and running["request_id"] == request_id
        if fresh.manual:  # on real guests the event may already be over
            assert [(e["event"], e["result"]) for e in running["events"]] == [(event, None)]
        fresh.finish(server_id, STAGES[stage])
        done = fresh.member.compute("GET", url, version="2.51").json()["instanceAction"]
        assert [(e["event"], e["result"]) for e in done["events"]] == [(event, "Success")]
        assert done["events"][0]["finish_time"] is not None
        seen.append(request_id)

    lock_id = fresh.accepted(server_id, {"lock": None})
    unlock_id = fresh.accepted(server_id, {"unlock": None})
    for request_id, action in ((lock_id, "lock"), (unlock_id, "unlock")):
        url = f"/servers/{server_id}/os-instance-actions/{request_id}"
        shown = fresh.member.compute("GET", url, version="2.51").json()["instanceAction"]
        assert shown["action"] == action
        assert [(e["event"], e["result"]) for e in shown["events"]] == [
            (f"api_{action}", "Success")]
    listed = fresh.member.compute("GET", f"/servers/{server_id}/os-instance-actions").json()
    ids = [a["request_id"] for a in listed["instanceActions"]]
    assert {*seen, lock_id, unlock_id} <= set(ids)


@pytest.mark.emulator_only
@pytest.mark.simulated_only(reason="needs the simulated cloud's stage table")
def test_a_failing_stage_ends_in_error_and_keeps_the_vm_state(fresh: Cloud) -> None:
    server_id = fresh.active()
    assert fresh.control("PUT", "/stages/pause", json={"fails": True}).status_code == 200
    request_id = fresh.accepted(server_id, {"pause": None})
    fresh.advance(STAGES["pause"])
    assert fresh.states(server_id) == ("ACTIVE", None, 1)
    url = f"/servers/{server_id}/os-instance-actions/{request_id}"
    shown = fresh.admin.compute("GET", url).json()["instanceAction"]
    assert [(e["event"], e["result"]) for e in shown["events"]] == [
        ("compute_pause_instance", "Error")]


# -- real clients ---------------------------------------------------------------------------


@pytest.fixture
def server(member: ApiSession, admin: ApiSession, target: Any) -> Iterator[dict[str, Any]]:
    image = boot_image(member, admin, target.backend)
    name = f"pwc-{uuid.uuid4().hex[:8]}"
    created = openstack_json(member.account, "server", "create", "--image", image["id"],
                             "--flavor", "m1.tiny", "--wait", name)
    yield created
    admin.compute("POST", f"/servers/{created['id']}/action", json={"unlock": None})
    run_openstack(member.account, "server", "delete", "--wait", created["id"])


def _cli(member: ApiSession, *args: str) -> None:
    result = run_openstack(member.account, *args)
    assert result.returncode == 0, result.stderr


def _settled(member: ApiSession, server_id: str, status: str,
             timeout: float = 60.0) -> tuple[str, int]:
    """Poll until the server shows ``status`` with no task (``openstack server stop``,
    ``start``, ``pause``, ... have no ``--wait``; only ``reboot`` has)."""
    deadline = time.monotonic() + timeout
    while True:
        shown = member.compute("GET", f"/servers/{server_id}").json()["server"]
        if shown["status"] == status and shown["OS-EXT-STS:task_state"] is None:
            return shown["status"], shown["OS-EXT-STS:power_state"]
        assert time.monotonic() < deadline, f"{server_id} stayed {shown['status']}"
        time.sleep(0.05)


def test_cli_power_actions(member: ApiSession, server: dict[str, Any]) -> None:
    sid = server["id"]
    _cli(member, "server", "stop", sid)
    assert _settled(member, sid, "SHUTOFF") == ("SHUTOFF", 4)
    _cli(member, "server", "start", sid)
    assert _settled(member, sid, "ACTIVE") == ("ACTIVE", 1)
    _cli(member, "server", "reboot", "--hard", "--wait", sid)
    assert _settled(member, sid, "ACTIVE") == ("ACTIVE", 1)
    _cli(member, "server", "pause", sid)
    assert _settled(member, sid, "PAUSED") == ("PAUSED", 3)
    _cli(member, "server", "unpause", sid)
    assert _settled(member, sid, "ACTIVE") == ("ACTIVE", 1)
    _cli(member, "server", "suspend", sid)
    assert _settled(member, sid, "SUSPENDED") == ("SUSPENDED", 7)
    _cli(member, "server", "resume", sid)
    assert _settled(member, sid, "ACTIVE") == ("ACTIVE", 1)

    _cli(member, "--os-compute-api-version", "2.73", "server", "lock", "--reason", "x", sid)
    shown = openstack_json(member.account, "--os-compute-api-version", "2.73", "server",
                           "show", sid)
    assert shown["locked"] is True and shown["locked_reason"] == "x"
    refused = run_openstack(member.account, "server", "stop", sid)
    assert refused.returncode != 0
    assert f"Instance {sid} is locked" in refused.stderr
    _cli(member, "server", "unlock", sid)
    shown = openstack_json(member.account, "--os-compute-api-version", "2.73", "server",
                           "show", sid)
    assert shown["locked"] is False


def test_sdk_power_actions(conn: Any, server: dict[str, Any]) -> None:
    sid = server["id"]
    compute = conn.compute
    compute.stop_server(sid)
    stopped = compute.wait_for_server(compute.get_server(sid), status="SHUTOFF", wait=60)
    assert stopped.power_state == 4 and stopped.vm_state == "stopped"
    compute.start_server(sid)
    assert compute.wait_for_server(compute.get_server(sid), status="ACTIVE",
                                   wait=60).power_state == 1
    compute.reboot_server(sid, "HARD")
    assert compute.wait_for_server(compute.get_server(sid), status="ACTIVE",
                                   wait=60).status == "ACTIVE"
    compute.pause_server(sid)
    paused = compute.wait_for_server(compute.get_server(sid), status="PAUSED", wait=60)
    assert paused.power_state == 3
    compute.unpause_server(sid)
    compute.wait_for_server(compute.get_server(sid), status="ACTIVE", wait=60)
    compute.lock_server(sid)
    assert compute.get_server(sid).is_locked is True
    compute.unlock_server(sid)
    assert compute.get_server(sid).is_locked is False
