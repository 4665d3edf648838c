"""``[network]``: the seeded public subnet by backend (devstack's 172.24.4.0/24; on qemu a
loopback /24 this machine reaches, so floating IPs can be forwarded to guests), and
``[qemu] force_config_drive``."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from emulator.config import ConfigError, load_config


def config(tmp_path: Path, data: dict[str, dict[str, object]]) -> Path:
    path = tmp_path / "emulator.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def test_the_public_subnet_follows_the_backend() -> None:
    network = load_config().network
    assert network.public_subnet("simulated") == ("172.24.4.0/24", "172.24.4.1")
    assert network.public_subnet("qemu") == ("127.24.4.0/24", "127.24.4.1")
    assert network.public_subnet("a-plugin") == ("172.24.4.0/24", "172.24.4.1")


def test_a_configured_public_subnet_wins(tmp_path: Path) -> None:
    network = load_config(config(tmp_path, {"network": {"public_cidr": "127.50.0.0/16"}}
                                 )).network
    assert network.public_subnet("qemu") == ("127.50.0.0/16", "127.50.0.1")
    network = load_config(config(tmp_path, {"network": {
        "public_cidr": "203.0.113.0/24", "public_gateway": "203.0.113.254"}})).network
    assert network.public_subnet("simulated") == ("203.0.113.0/24", "203.0.113.254")


@pytest.mark.parametrize(("key", "value", "complaint"), [
    ("public_cidr", "127.24.4.1/24", "must be an IPv4 CIDR"),
    ("public_cidr", "fd00::/64", "must be an IPv4 CIDR"),
    ("public_gateway", "gateway", "must be an IPv4 address"),
])
def test_bad_public_subnets_are_refused(tmp_path: Path, key: str, value: str,
                                        complaint: str) -> None:
    with pytest.raises(ConfigError, match=rf"\[network\] {key} {complaint}"):
        load_config(config(tmp_path, {"network": {key: value}}))


def test_config_drives_are_forced_unless_turned_off(tmp_path: Path) -> None:
    assert load_config().qemu.force_config_drive is True
    assert load_config(config(tmp_path, {"qemu": {"force_config_drive": False}})
                       ).qemu.force_config_drive is False
