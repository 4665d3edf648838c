"""The emulator's control plane (``/_emulator``): a manual clock that makes lifecycle tests
deterministic, fault rules that shape builds and answers, reset, and who may use it.

These tests run against a dedicated emulator, so nothing here disturbs the rest of the
suite; each test starts from a reset and ends with no fault rule left, whatever its
outcome. Fault rules act above the backend seam and a reset deletes every server on any
backend, so their tests run on every backend: on the simulated cloud builds wait for the
manual clock (spawn takes 30 virtual seconds) and a test advances it, elsewhere they take
real time and a test waits. Only what needs the simulated clock or stage table is
``simulated_only`` (each says why); on another backend the clock and stages answer 409.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tempest.lib.services.compute.servers_client import ServersClient

from conformance.client import ApiSession
from conformance.conftest import dedicated_emulator
from conformance.manual_cloud import ManualCloud
from conformance.polling import settle
from conformance.process import EmulatorProcess
from conformance.schemas import for_version, validate

pytestmark = pytest.mark.emulator_only
#: Why a test needs the simulated cloud (elsewhere it is skipped with this reason).
NEEDS_CLOCK = pytest.mark.simulated_only(reason="needs the simulated cloud's manual clock")
NEEDS_STAGES = pytest.mark.simulated_only(reason="needs the simulated cloud's stage table")
NEEDS_CONTROLS = pytest.mark.simulated_only(
    reason="the simulated cloud's clock and stages (elsewhere 409 before a body is read)")

SPAWN = 30.0
DESTROY = 5.0
MANUAL_CONFIG = f"""
[simulated]
progression = "manual"
seed = 1

[simulated.stages.spawn]
delay = {SPAWN}
jitter = 0.0

[simulated.stages.destroy]
delay = {DESTROY}
jitter = 0.0
"""
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


class Cloud(ManualCloud):
    """A dedicated emulator and sessions on it (``manual``: its builds wait for the
    simulated cloud's manual clock; else they take real time)."""

    def __init__(self, process: EmulatorProcess, http: httpx.Client) -> None:
        super().__init__(process, http)
        self.http = http

    def control(self, method: str, path: str, *, session: ApiSession | None = None,
                token: str | bool | None = True, **kwargs: Any) -> httpx.Response:
        who = session or self.admin
        return who.request(method, f"{self.process.url}/_emulator{path}", token=token,
                           **kwargs)

    def add_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        response = self.control("POST", "/faults", json=rule)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def create(self, name: str | None = None, **extra: Any) -> str:
        body = {"server": {"name": name or f"cp-{uuid.uuid4().hex[:8]}", "flavorRef": "1",
                           "imageRef": self.image_id(), **extra}}
        response = self.member.compute("POST", "/servers", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["server"]["id"])

    def wait_for(self, server_id: str, status: str) -> dict[str, Any]:
        """The server once it shows ``status`` with no task (an ERROR not asked for
        fails at once, with its fault)."""
        return settle(self.member, server_id, status)

    def built(self, *server_ids: str) -> list[dict[str, Any]]:
        """Let builds started at the current time end (the manual clock moved by the
        spawn stage; elsewhere, waited for): each server once ACTIVE."""
        if self.manual:
            self.advance(SPAWN)
        return [self.wait_for(server_id, "ACTIVE") for server_id in server_ids]

    def deleted(self, server_id: str, timeout: float = 60.0) -> None:
        """Let a delete end (the destroy stage on the manual clock, else waited for)."""
        if self.manual:
            self.advance(DESTROY)
        deadline = time.monotonic() + timeout
        while (found := self.member.compute("GET", f"/servers/{server_id}")).status_code \
                != 404:
            assert found.status_code == 200, found.text
            assert time.monotonic() < deadline, f"{server_id} not deleted: {found.text}"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def cloud(http: httpx.Client, target: Any) -> Iterator[Cloud]:
    with dedicated_emulator(target, MANUAL_CONFIG) as process:
        yield Cloud(process, http)


@pytest.fixture(autouse=True)
def fresh(cloud: Cloud) -> Iterator[None]:
    """A reset before each test (no server and no rule; on the simulated cloud time 0 on
    the manual clock), and every fault rule removed after it, pass or fail."""
    response = cloud.control("POST", "/reset", json={"mode": "manual"} if cloud.manual
                             else None)
    assert response.status_code == 204, response.text
    yield
    cleared = cloud.control("DELETE", "/faults")
    assert cleared.status_code == 204, cleared.text
    assert cloud.control("GET", "/faults").json() == {"rules": []}


def states(server: dict[str, Any]) -> tuple[str, str | None, int]:
    return (server["status"], server["OS-EXT-STS:task_state"],
            server["OS-EXT-STS:power_state"])


def tempest_schema(version: str | None) -> Any:
    return for_version(ServersClient, version).get_server


# -- health and the clock ------------------------------------------------------------------


#: What health adds for each backend (the simulated cloud: its clock and hosts; whether
#: guests run an agent that sets their password).
HEALTH_EXTRA = {"simulated": {"guest_agent": True, "progression": "manual", "hosts": 8},
                "qemu": {"guest_agent": False}, "example": {"guest_agent": True}}


def test_health_needs_no_token(cloud: Cloud) -> None:
    response = cloud.http.get(f"{cloud.process.url}/_emulator/health")
    assert response.status_code == 200, response.text
    body = response.json()
    backend = cloud.process.backend
    assert body["status"] == "ok" and body["backend"] == backend
    assert {k: v for k, v in body.items() if k not in ("status", "backend", "version")} == \
        HEALTH_EXTRA[backend]


#: The simulated cloud's own controls, and what they answer on each backend.
SIMULATED_CONTROLS = [
    ("GET", "/clock", None), ("PUT", "/clock", {"mode": "manual"}),
    ("POST", "/clock/advance", {"seconds": 0}), ("GET", "/stages", None),
    ("PUT", "/stages/spawn", {"delay": SPAWN}),
]
CONTROL_STATUS = {"simulated": 200, "qemu": 409}


@pytest.mark.parametrize(("method", "path", "body"), SIMULATED_CONTROLS)
def test_the_clock_and_stages_drive_the_simulated_backend_only(
        cloud: Cloud, method: str, path: str, body: Any) -> None:
    backend = cloud.process.backend
    response = cloud.control(method, path, json=body)
    assert response.status_code == CONTROL_STATUS[backend], response.text
    if response.status_code == 409:
        assert response.json() == {"conflictingRequest": {"code": 409, "message": (
            f"The {backend} backend has no simulated clock or stages; they drive the "
            "simulated backend only.")}}


@NEEDS_CLOCK
def test_the_manual_clock_holds_a_build_until_it_is_advanced(cloud: Cloud) -> None:
    server_id = cloud.create()
    for _ in range(3):
        server = cloud.show(server_id)
        assert server["status"] == "BUILD"
        time.sleep(0.05)
    assert cloud.control("GET", "/clock").json() == {"mode": "manual", "now": 0.0,
                                                     "waiting": 1}
    early = cloud.advance(SPAWN - 1)
    assert (early["now"], early["woken"], early["waiting"]) == (SPAWN - 1, 0, 1)
    assert states(cloud.show(server_id)) == ("BUILD", "spawning", 0)

    advanced = cloud.advance(1)
    assert (advanced["now"], advanced["woken"], advanced["waiting"]) == (SPAWN, 1, 0)
    # Right after the advance, with no polling, the build has finished.
    assert states(cloud.show(server_id)) == ("ACTIVE", None, 1)
    for version in (None, "2.47", "2.96"):
        response = cloud.member.compute("GET", f"/servers/{server_id}", version=version)
        validate(response, tempest_schema(version))


@NEEDS_CLOCK
def test_advancing_runs_later_stages_at_their_own_deadlines(cloud: Cloud) -> None:
    first = cloud.create()
    assert cloud.advance(10)["woken"] == 0
    second = cloud.create()  # its spawn ends at 10 + 30
    assert cloud.advance(20)["woken"] == 1
    assert cloud.show(first)["status"] == "ACTIVE"
    assert cloud.show(second)["status"] == "BUILD"
    assert cloud.advance(10)["woken"] == 1
    assert cloud.show(second)["status"] == "ACTIVE"


@NEEDS_CLOCK
def test_delete_waits_for_the_destroy_stage(cloud: Cloud) -> None:
    server_id = cloud.create()
    cloud.advance(SPAWN)
    assert cloud.member.compute("DELETE", f"/servers/{server_id}").status_code == 204
    assert cloud.show(server_id)["OS-EXT-STS:task_state"] == "deleting"
    cloud.advance(DESTROY)
    assert cloud.member.compute("GET", f"/servers/{server_id}").status_code == 404


@NEEDS_CLOCK
def test_switching_the_clock_away_from_manual_finishes_parked_builds(cloud: Cloud) -> None:
    server_id = cloud.create()
    response = cloud.control("PUT", "/clock", json={"mode": "immediate"})
    assert response.status_code == 200, response.text
    assert response.json()["mode"] == "immediate"
    assert states(cloud.show(server_id)) == ("ACTIVE", None, 1)
    # Only a manual clock can be advanced.
    refused = cloud.control("POST", "/clock/advance", json={"seconds": 1})
    assert refused.status_code == 409, refused.text
    assert "conflictingRequest" in refused.json()
    cloud.control("PUT", "/clock", json={"mode": "manual"})
    assert cloud.control("GET", "/clock").json()["mode"] == "manual"


# -- stages ---------------------------------------------------------------------------------


@NEEDS_STAGES
def test_stages_are_listed_and_changed(cloud: Cloud) -> None:
    stages = cloud.control("GET", "/stages").json()["stages"]
    assert stages["spawn"] == {"delay": SPAWN, "jitter": 0.0, "fails": False}
    assert stages["destroy"] == {"delay": DESTROY, "jitter": 0.0, "fails": False}

    changed = cloud.control("PUT", "/stages/spawn", json={"delay": 10})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"verb": "spawn", "delay": 10.0, "jitter": 0.0, "fails": False}
    server_id = cloud.create()
    cloud.advance(10)
    assert cloud.show(server_id)["status"] == "ACTIVE"


@NEEDS_STAGES
def test_a_failing_spawn_stage_lands_the_server_in_error(cloud: Cloud) -> None:
    response = cloud.control("PUT", "/stages/spawn", json={"fails": True})
    assert response.json()["fails"] is True and response.json()["delay"] == SPAWN
    server_id = cloud.create()
    cloud.advance(SPAWN)
    server = cloud.show(server_id)
    assert server["status"] == "ERROR"
    assert server["fault"]["code"] == 500
    assert "simulated failure" in server["fault"]["message"]


# -- build fault rules ------------------------------------------------------------------------


def test_an_error_rule_fails_the_next_matching_build_only(cloud: Cloud) -> None:
    rule = cloud.add_rule({"match": {"server_name": "^doomed"}, "build": "error",
                           "message": "The hypervisor caught fire.", "times": 1})
    assert rule["id"] and rule["times"] == 1 and rule["hits"] == 0
    assert rule["build"] == "error" and rule["match"] == {"server_name": "^doomed"}

    spared = cloud.create("spared")  # does not match
    doomed = cloud.create(f"doomed-{uuid.uuid4().hex[:6]}")
    server = cloud.wait_for(doomed, "ERROR")
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"] == "The hypervisor caught fire."
    assert server["fault"]["created"]
    assert server["OS-EXT-STS:task_state"] is None
    assert server["OS-SRV-USG:launched_at"] is None  # it never ran
    for version in (None, "2.47", "2.96"):
        response = cloud.member.compute("GET", f"/servers/{doomed}", version=version)
        validate(response, tempest_schema(version))
    # The rule is used up; the next create is a normal build.
    assert cloud.control("GET", "/faults").json() == {"rules": []}
    assert cloud.control("GET", f"/faults/{rule['id']}").status_code == 404
    again = cloud.create(f"doomed-{uuid.uuid4().hex[:6]}")
    if cloud.manual:
        assert cloud.show(again)["status"] == "BUILD"
    for built in cloud.built(again, spared):
        assert states(built) == ("ACTIVE", None, 1)
        assert "fault" not in built


def test_a_stuck_build_stays_in_build_while_others_finish(cloud: Cloud) -> None:
    cloud.add_rule({"match": {"server_name": "^stuck"}, "build": "stuck"})
    server_id = cloud.create("stuck-1")
    other = cloud.create("unstuck-1")  # created after it, built before it
    cloud.built(other)
    if cloud.manual:  # however far the clock moves
        for seconds in (3600, 86400 * 30):
            cloud.advance(seconds)
    server = cloud.show(server_id)
    assert (server["status"], server["OS-EXT-STS:power_state"]) == ("BUILD", 0)
    assert server["OS-SRV-USG:launched_at"] is None and "fault" not in server
    # A stuck server can still be deleted.
    assert cloud.member.compute("DELETE", f"/servers/{server_id}").status_code == 204
    cloud.deleted(server_id)
    assert states(cloud.show(other)) == ("ACTIVE", None, 1)


def test_active_then_error(cloud: Cloud) -> None:
    cloud.add_rule({"match": {"server_name": "^flaky"}, "build": "active_then_error",
                    "message": "Lost the guest.", "times": 1})
    server_id = cloud.create("flaky-1")
    if cloud.manual:
        assert cloud.show(server_id)["status"] == "BUILD"
        cloud.advance(SPAWN)
    server = cloud.wait_for(server_id, "ERROR")
    assert server["OS-EXT-STS:task_state"] is None
    assert server["fault"]["message"] == "Lost the guest."
    assert server["OS-SRV-USG:launched_at"] is not None  # it did go ACTIVE first
    validate(cloud.member.compute("GET", f"/servers/{server_id}"), tempest_schema(None))


def test_a_hang_rule_leaves_an_action_in_its_task_state(cloud: Cloud) -> None:
    hung, calm = cloud.create("hung-1"), cloud.create("calm-1")
    cloud.built(hung, calm)
    rule = cloud.add_rule({"match": {"server_name": "^hung", "path": "/action$"},
                           "hang": True, "times": 1})
    assert rule["hang"] is True and rule["times"] == 1
    for server_id in (hung, calm):
        reboot = cloud.member.compute("POST", f"/servers/{server_id}/action",
                                      json={"reboot": {"type": "HARD"}})
        assert reboot.status_code == 202, reboot.text
    if cloud.manual:  # however far the clock moves
        cloud.advance(86400)
    assert states(cloud.wait_for(calm, "ACTIVE")) == ("ACTIVE", None, 1)
    server = cloud.show(hung)
    assert server["status"] == "HARD_REBOOT", server
    assert server["OS-EXT-STS:task_state"] in ("rebooting_hard", "reboot_pending_hard",
                                               "reboot_started_hard"), server
    assert cloud.control("GET", "/faults").json() == {"rules": []}  # used up
    # A hung server can still be deleted.
    assert cloud.member.compute("DELETE", f"/servers/{hung}").status_code == 204
    cloud.deleted(hung)


def test_no_valid_host(cloud: Cloud) -> None:
    cloud.add_rule({"match": {"server_name": "^nohost"}, "build": "no_valid_host"})
    server_id = cloud.create("nohost-1")
    server = cloud.wait_for(server_id, "ERROR")
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"] == NO_VALID_HOST
    assert cloud.show(server_id, session=cloud.admin)["OS-EXT-SRV-ATTR:host"] is None
    validate(cloud.member.compute("GET", f"/servers/{server_id}"), tempest_schema(None))


def test_build_rules_match_metadata_and_project(cloud: Cloud) -> None:
    alt_project = "0" * 32  # matches no project: the rule never applies
    cloud.add_rule({"match": {"project_id": alt_project}, "build": "error"})
    cloud.add_rule({"match": {"metadata": {"doom": "yes"}}, "build": "error"})
    doomed = cloud.create(metadata={"doom": "yes", "other": "x"})
    fine = cloud.create(metadata={"doom": "no"})
    assert cloud.wait_for(doomed, "ERROR")["fault"]["message"] == "Injected fault"
    assert states(cloud.built(fine)[0]) == ("ACTIVE", None, 1)


# -- request fault rules ----------------------------------------------------------------------


def test_a_fail_rule_answers_with_a_nova_fault_and_the_version_headers(cloud: Cloud) -> None:
    cloud.add_rule({"match": {"method": "GET", "path": "^/servers$"},
                    "fail": {"status": 503, "message": "Nova is down for maintenance."},
                    "times": 2})
    response = cloud.member.compute("GET", "/servers", version="2.47")
    assert response.status_code == 503, response.text
    assert response.json() == {"serviceUnavailable": {
        "code": 503, "message": "Nova is down for maintenance."}}
    assert response.headers["openstack-api-version"] == "compute 2.47"
    assert response.headers["x-openstack-nova-api-version"] == "2.47"
    assert "OpenStack-API-Version" in response.headers["vary"]
    assert response.headers["x-compute-request-id"].startswith("req-")
    # Other paths are untouched, and the project-id form of the path matches too.
    assert cloud.member.compute("GET", "/servers/detail").status_code == 200
    with_project = cloud.member.compute("GET", f"/{cloud.member.project_id}/servers")
    assert with_project.status_code == 503
    assert cloud.member.compute("GET", "/servers").status_code == 200


def test_a_fail_rule_can_let_the_create_happen(cloud: Cloud) -> None:
    cloud.add_rule({"match": {"method": "POST", "path": "^/servers$"},
                    "fail": {"status": 500, "create": True}, "times": 1})
    name = f"half-{uuid.uuid4().hex[:6]}"
    body = {"server": {"name": name, "flavorRef": "1", "imageRef": cloud.image_id()}}
    response = cloud.member.compute("POST", "/servers", json=body)
    assert response.status_code == 500, response.text
    assert response.json()["computeFault"]["code"] == 500
    listed = cloud.member.compute("GET", "/servers", params={"name": f"^{name}$"}).json()
    assert len(listed["servers"]) == 1
    # The server the failed answer hid is a real one: it builds as any other.
    assert states(cloud.built(listed["servers"][0]["id"])[0]) == ("ACTIVE", None, 1)


def test_fail_rules_honour_the_microversion_window(cloud: Cloud) -> None:
    cloud.add_rule({"match": {"path": "^/flavors$", "min_version": "2.50",
                              "max_version": "2.60"}, "fail": {"status": 429}})
    assert cloud.member.compute("GET", "/flavors", version="2.49").status_code == 200
    limited = cloud.member.compute("GET", "/flavors", version="2.50")
    assert limited.status_code == 429 and "overLimit" in limited.json()
    assert cloud.member.compute("GET", "/flavors", version="2.60").status_code == 429
    assert cloud.member.compute("GET", "/flavors", version="2.61").status_code == 200


def test_fail_rules_match_a_server_by_its_name(cloud: Cloud) -> None:
    cloud.add_rule({"match": {"method": "GET", "server_name": "^touchy"},
                    "fail": {"status": 404}})
    touchy, calm = cloud.create("touchy-1"), cloud.create("calm-1")
    hidden = cloud.member.compute("GET", f"/servers/{touchy}")
    assert hidden.status_code == 404
    assert "itemNotFound" in hidden.json()
    assert cloud.member.compute("GET", f"/servers/{calm}").status_code == 200
    # Only GETs match: the server is there for anything else.
    assert cloud.member.compute("DELETE", f"/servers/{touchy}").status_code == 204


def test_a_latency_rule_delays_the_answer(cloud: Cloud) -> None:
    rule = cloud.add_rule({"match": {"path": "^/flavors$"}, "latency": 0.5, "times": 1})
    assert rule["latency"] == 0.5
    started = time.monotonic()
    assert cloud.member.compute("GET", "/flavors").status_code == 200
    assert time.monotonic() - started >= 0.45
    started = time.monotonic()
    assert cloud.member.compute("GET", "/flavors").status_code == 200
    assert time.monotonic() - started < 0.45


def test_rules_are_listed_shown_and_deleted(cloud: Cloud) -> None:
    first = cloud.add_rule({"match": {"method": "delete"}, "fail": {"status": 500}})
    second = cloud.add_rule({"latency": 0.01})
    assert first["match"] == {"method": "DELETE"} and first["times"] is None
    assert first["fail"] == {"status": 500, "create": False}
    assert second["match"] == {}
    listed = cloud.control("GET", "/faults").json()["rules"]
    assert [r["id"] for r in listed] == [first["id"], second["id"]]
    assert cloud.control("GET", f"/faults/{first['id']}").json() == first
    assert cloud.control("DELETE", f"/faults/{first['id']}").status_code == 204
    assert cloud.control("GET", f"/faults/{first['id']}").status_code == 404
    assert cloud.control("DELETE", f"/faults/{first['id']}").status_code == 404
    cloud.member.compute("GET", "/flavors")
    assert cloud.control("GET", f"/faults/{second['id']}").json()["hits"] == 1
    assert cloud.control("DELETE", "/faults").status_code == 204
    assert cloud.control("GET", "/faults").json() == {"rules": []}


# -- reset ------------------------------------------------------------------------------------


def test_reset_forgets_servers_and_rules(cloud: Cloud) -> None:
    """On every backend; on a real one each server's guest is destroyed (no process and
    no instance file left)."""
    active = cloud.create()
    cloud.built(active)
    building = cloud.create()  # on the manual clock still in BUILD; on qemu maybe booting
    cloud.add_rule({"latency": 0.01})

    response = cloud.control("POST", "/reset")
    assert response.status_code == 204 and response.content == b""
    for server_id in (active, building):
        assert cloud.member.compute("GET", f"/servers/{server_id}").status_code == 404
    assert cloud.member.compute("GET", "/servers").json()["servers"] == []
    everyone = cloud.admin.compute("GET", "/servers/detail", params={"all_tenants": "1"})
    assert everyone.json()["servers"] == []
    assert cloud.control("GET", "/faults").json() == {"rules": []}
    assert cloud.process.leftovers(timeout=30.0) == []
    # The cloud works as before.
    server_id = cloud.create()
    assert states(cloud.built(server_id)[0]) == ("ACTIVE", None, 1)


@NEEDS_CLOCK
def test_reset_restarts_the_clock_and_restores_the_stages(cloud: Cloud) -> None:
    cloud.create()
    cloud.advance(SPAWN)
    cloud.create()  # parked on the clock
    cloud.control("PUT", "/stages/spawn", json={"delay": 99})

    assert cloud.control("POST", "/reset").status_code == 204
    assert cloud.control("GET", "/clock").json() == {"mode": "manual", "now": 0.0,
                                                     "waiting": 0}
    assert cloud.control("GET", "/stages").json()["stages"]["spawn"]["delay"] == SPAWN
    server_id = cloud.create()
    cloud.advance(SPAWN)
    assert cloud.show(server_id)["status"] == "ACTIVE"


def test_reset_can_change_the_mode_of_a_simulated_clock_only(cloud: Cloud) -> None:
    server_id = cloud.create()
    response = cloud.control("POST", "/reset", json={"mode": "immediate"})
    if not cloud.manual:
        backend = cloud.process.backend
        assert response.status_code == 409, response.text
        assert response.json() == {"conflictingRequest": {"code": 409, "message": (
            f"The {backend} backend has no simulated clock; reset takes no mode there.")}}
        # Refused before anything was forgotten.
        assert cloud.show(server_id)["id"] == server_id
        return
    assert response.status_code == 204, response.text
    assert cloud.member.compute("GET", f"/servers/{server_id}").status_code == 404
    assert cloud.control("GET", "/clock").json()["mode"] == "immediate"
    server_id = cloud.create()
    assert cloud.wait_for(server_id, "ACTIVE")["OS-EXT-STS:power_state"] == 1


# -- who may use it, and bad input --------------------------------------------------------------

ROUTES = [
    ("GET", "/clock", None), ("PUT", "/clock", {"mode": "manual"}),
    ("POST", "/clock/advance", {"seconds": 1}), ("GET", "/stages", None),
    ("PUT", "/stages/spawn", {"delay": 1}), ("POST", "/reset", None),
    ("GET", "/faults", None), ("POST", "/faults", {"latency": 1}),
    ("DELETE", "/faults", None), ("GET", f"/faults/{uuid.uuid4()}", None),
    ("DELETE", f"/faults/{uuid.uuid4()}", None), ("GET", "/no-such-thing", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_member_is_forbidden(cloud: Cloud, method: str, path: str, body: Any) -> None:
    response = cloud.control(method, path, session=cloud.member, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["forbidden"]["code"] == 403


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_token_is_required(cloud: Cloud, method: str, path: str, body: Any) -> None:
    response = cloud.control(method, path, token=None, json=body)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == 401
    bogus = cloud.control(method, path, token="not-a-token", json=body)
    assert bogus.status_code == 401, bogus.text


def test_unknown_routes_and_methods(cloud: Cloud) -> None:
    assert cloud.control("GET", "/no-such-thing").json()["itemNotFound"]["code"] == 404
    wrong = cloud.control("DELETE", "/clock")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]


@NEEDS_STAGES
def test_unknown_stage(cloud: Cloud) -> None:
    unknown_verb = cloud.control("PUT", "/stages/teleport", json={"delay": 1})
    assert unknown_verb.status_code == 404, unknown_verb.text


#: Bad bodies for the simulated cloud's clock and stages (on another backend those routes
#: answer 409 before they read a body: see test_the_clock_and_stages_drive_...).
SIMULATED_BAD_BODIES = [
    ("PUT", "/clock", {}),
    ("PUT", "/clock", {"mode": "fast"}),
    ("PUT", "/clock", {"mode": "manual", "now": 5}),
    ("PUT", "/clock", ["manual"]),
    ("PUT", "/clock", None),
    ("POST", "/clock/advance", {}),
    ("POST", "/clock/advance", {"seconds": -1}),
    ("POST", "/clock/advance", {"seconds": "30"}),
    ("POST", "/clock/advance", {"seconds": True}),
    ("POST", "/clock/advance", {"seconds": 1e12}),
    ("POST", "/clock/advance", {"seconds": math.nan}),
    ("POST", "/clock/advance", {"seconds": math.inf}),
    ("PUT", "/stages/spawn", {}),
    ("PUT", "/stages/spawn", {"delay": -1}),
    ("PUT", "/stages/spawn", {"delay": math.nan}),
    ("PUT", "/stages/spawn", {"fails": "yes"}),
    ("PUT", "/stages/spawn", {"duration": 1}),
]
#: Bad bodies for reset and fault rules, which work on every backend.
BAD_BODIES = [
    ("POST", "/reset", {"mode": "later"}),
    ("POST", "/reset", {"forget": True}),
    ("POST", "/reset", "all"),
    ("POST", "/faults", None),
    ("POST", "/faults", []),
    ("POST", "/faults", {}),
    ("POST", "/faults", {"match": {"method": "GET"}}),
    ("POST", "/faults", {"fail": {"status": 503}, "build": "error"}),
    ("POST", "/faults", {"fail": {"status": 302}}),
    ("POST", "/faults", {"fail": {"status": 600}}),
    ("POST", "/faults", {"fail": {"status": "503"}}),
    ("POST", "/faults", {"fail": {}}),
    ("POST", "/faults", {"fail": {"status": 500, "retry": True}}),
    ("POST", "/faults", {"latency": -1}),
    ("POST", "/faults", {"latency": 301}),
    ("POST", "/faults", {"latency": math.inf}),
    ("POST", "/faults", {"build": "normal"}),
    ("POST", "/faults", {"hang": False}),
    ("POST", "/faults", {"hang": True, "latency": 1}),
    ("POST", "/faults", {"hang": True, "message": "no"}),
    ("POST", "/faults", {"build": "explode"}),
    ("POST", "/faults", {"latency": 1, "message": "only for builds"}),
    ("POST", "/faults", {"latency": 1, "times": 0}),
    ("POST", "/faults", {"latency": 1, "times": 1.5}),
    ("POST", "/faults", {"latency": 1, "match": {"path": "("}}),
    ("POST", "/faults", {"latency": 1, "match": {"server_name": "[a-"}}),
    ("POST", "/faults", {"latency": 1, "match": {"min_version": "2.x"}}),
    ("POST", "/faults", {"latency": 1, "match": {"min_version": "2.60",
                                                 "max_version": "2.10"}}),
    ("POST", "/faults", {"latency": 1, "match": {"metadata": {"a": 1}}}),
    ("POST", "/faults", {"latency": 1, "match": {"colour": "red"}}),
    ("POST", "/faults", {"latency": 1, "match": {"method": "GET /"}}),
    ("POST", "/faults", {"latency": 1, "match": "everything"}),
]


def bad_body(cloud: Cloud, method: str, path: str, body: Any) -> None:
    content = json.dumps(body).encode()  # NaN and Infinity as Python writes them
    response = cloud.control(method, path, content=content,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["badRequest"]["code"] == 400
    assert response.json()["badRequest"]["message"]


@pytest.mark.parametrize(("method", "path", "body"), BAD_BODIES)
def test_bad_bodies_are_400(cloud: Cloud, method: str, path: str, body: Any) -> None:
    bad_body(cloud, method, path, body)
    # Nothing was made or forgotten by the refused call.
    assert cloud.control("GET", "/faults").json() == {"rules": []}


@NEEDS_CONTROLS
@pytest.mark.parametrize(("method", "path", "body"), SIMULATED_BAD_BODIES)
def test_bad_bodies_for_the_clock_and_stages_are_400(cloud: Cloud, method: str, path: str,
                                                     body: Any) -> None:
    bad_body(cloud, method, path, body)


def test_malformed_json_and_media_types(cloud: Cloud) -> None:
    malformed = cloud.control("POST", "/faults", content=b"{not json",
                              headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json()["badRequest"]["message"] == "Malformed request body"
    xml = cloud.control("POST", "/faults", content=b"<rule/>",
                        headers={"Content-Type": "application/xml"})
    assert xml.status_code == 415


# -- restart ----------------------------------------------------------------------------------


@NEEDS_CLOCK  # a build held on the clock across the restart
def test_a_restart_keeps_servers_and_redrives_builds(tmp_path: Path, http: httpx.Client,
                                                     target: Any) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    with dedicated_emulator(target, MANUAL_CONFIG, state) as process:
        cloud = Cloud(process, http)
        active = cloud.create("kept-active")
        cloud.advance(SPAWN)
        assert states(cloud.show(active)) == ("ACTIVE", None, 1)
        building = cloud.create("kept-building")
        assert cloud.show(building)["status"] == "BUILD"

        process.restart()

        assert states(cloud.show(active)) == ("ACTIVE", None, 1)
        # The build that was in flight is scheduled again and waits for the clock.
        assert cloud.show(building)["status"] == "BUILD"
        clock = cloud.control("GET", "/clock").json()
        assert (clock["mode"], clock["now"], clock["waiting"]) == ("manual", 0.0, 1)
        cloud.advance(SPAWN)
        assert states(cloud.show(building)) == ("ACTIVE", None, 1)
        assert states(cloud.show(active)) == ("ACTIVE", None, 1)
