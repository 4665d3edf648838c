"""Small server helpers against Nova's own functions: hostnames, zones, passwords, statuses."""

from __future__ import annotations

import pytest

from emulator.api.compute.server_queries import states_for
from emulator.compute.create import parse_zone
from emulator.compute.naming import generate_password, sanitize_hostname
from emulator.errors import InvalidInput


@pytest.mark.parametrize(("name", "hostname"), [
    ("web", "web"),
    ("My_Web.Server 01!", "my-web-server-01"),
    ("..lead-and-trail--", "lead-and-trail"),
    ("café au lait", "café-au-lait"),  # \w is Unicode; only non-Latin-1 is dropped
    ("名前", ""),
    ("x" * 70, "x" * 63),
    ("a" * 62 + " b", "a" * 62),  # cut to 63 first, then the trailing hyphen goes
])
def test_sanitize_hostname(name: str, hostname: str) -> None:
    assert sanitize_hostname(name) == hostname


def test_sanitize_hostname_default() -> None:
    assert sanitize_hostname("!!!", default="Server-1") == "Server-1"


@pytest.mark.parametrize(("zone", "parsed"), [
    (None, (None, None, None)),
    ("", (None, None, None)),
    ("nova", ("nova", None, None)),
    ("nova:host1", ("nova", "host1", None)),
    ("nova:host1:node1", ("nova", "host1", "node1")),
    ("nova::node1", ("nova", None, "node1")),
    (":host1", (None, "host1", None)),
    ("nova:", ("nova", None, None)),
])
def test_parse_zone(zone: str | None, parsed: tuple[str | None, ...]) -> None:
    assert parse_zone(zone) == parsed


def test_parse_zone_refuses_more_parts() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_zone("a:b:c:d")
    assert str(raised.value) == "Invalid input received: Unable to parse availability_zone"


def test_generate_password() -> None:
    for _ in range(50):
        password = generate_password()
        assert len(password) == 12
        assert any(c.isdigit() for c in password)
        assert any(c.isupper() for c in password) and any(c.islower() for c in password)
        assert not set(password) & set("01IOl")


@pytest.mark.parametrize(("statuses", "vm_states", "task_states"), [
    (["ACTIVE"], {"active"}, {"default"}),
    (["active"], {"active"}, {"default"}),
    (["REBOOT"], {"active"}, {"rebooting", "reboot_pending", "reboot_started"}),
    (["SHUTOFF", "ACTIVE"], {"stopped", "active"}, {"default"}),
    (["RESIZE"], {"active", "stopped"},
     {"resize_prep", "resize_migrating", "resize_migrated", "resize_finish"}),
    (["DELETED"], {"deleted"}, {"default"}),
    (["UNKNOWN"], set(), set()),
    (["nope"], set(), set()),
])
def test_states_for(statuses: list[str], vm_states: set[str], task_states: set[str]) -> None:
    assert states_for(statuses) == (frozenset(vm_states), frozenset(task_states))
