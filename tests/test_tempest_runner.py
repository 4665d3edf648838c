"""The Tempest runner's configuration: ``--set``/``--profile`` change only the settings
they name, and without them tempest.conf and the accounts are the interop run's."""

from __future__ import annotations

import argparse
import configparser
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUN_PY = Path(__file__).resolve().parents[1] / "conformance" / "tempest" / "run.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tempest_run", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


run = _load()


def _conf() -> str:
    cloud = run.Cloud("http://127.0.0.1:1", services={"compute", "identity", "image"})
    return str(run.tempest_conf(cloud, Path("/ws"), run.Account("admin", "admin", "admin")))


def _parsed(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, default_section="-")
    parser.read_string(text)
    return parser


def test_no_settings_leave_the_interop_configuration_as_it_is() -> None:
    conf = _conf()
    assert run.with_settings(conf, []) == conf
    args = run.parse_args([])
    assert (args.profile, args.settings) == ([], [])
    # a member and a reader per project, and the two service users
    assert [a.role for a in run.tempest_accounts()] == ["member", "reader"] * 2 + [
        "admin", "admin"]


def test_a_setting_replaces_its_option_adds_a_new_one_and_a_new_section() -> None:
    settings = [run.parse_setting(t) for t in (
        "compute-feature-enabled.live_migration=true",  # replaced
        "compute.min_compute_nodes = 2",  # added to an existing section
        "placement.endpoint_type=public")]  # a section of its own
    before, after = _parsed(_conf()), _parsed(run.with_settings(_conf(), settings))
    assert before["compute-feature-enabled"]["live_migration"] == "false"
    assert after["compute-feature-enabled"]["live_migration"] == "true"
    assert after["compute"]["min_compute_nodes"] == "2"
    assert after["placement"]["endpoint_type"] == "public"
    changed = {(s, o) for s in after.sections() for o in after[s]
               if not before.has_option(s, o) or before[s][o] != after[s][o]}
    assert changed == {("compute-feature-enabled", "live_migration"),
                       ("compute", "min_compute_nodes"), ("placement", "endpoint_type")}


def test_the_last_of_two_settings_of_one_option_wins() -> None:
    settings = [("compute-feature-enabled", "pause", "true"),
                ("compute-feature-enabled", "pause", "false")]
    assert _parsed(run.with_settings(_conf(), settings))["compute-feature-enabled"][
        "pause"] == "false"


@pytest.mark.parametrize("text", ["live_migration=true", "compute.=1", ".x=1", "compute.x"])
def test_a_malformed_setting_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        run.parse_setting(text)


def test_the_admin_profile_asks_for_two_hosts_the_moves_and_a_manager() -> None:
    profile = run.PROFILES["admin"]
    conf = _parsed(run.with_settings(_conf(), [run.parse_setting(t)
                                                for t in profile.settings]))
    assert conf["compute"]["min_compute_nodes"] == "2"
    for option in ("live_migration", "cold_migration", "pause", "suspend"):
        assert conf["compute-feature-enabled"][option] == "true"
    assert "manager" in conf["compute-feature-enabled"]["nova_policy_roles"].split(",")
    assert conf["enforce_scope"]["nova"] == "true"
    accounts = run.tempest_accounts(profile.roles)
    assert {(a.project, a.role) for a in accounts} >= {(p, "manager") for p in run.PROJECTS}


def test_profiles_and_settings_parse_from_the_command_line() -> None:
    args = run.parse_args(["--profile", "admin", "--set", "compute-feature-enabled.shelve=true"])
    assert args.profile == ["admin"]
    assert args.settings == [("compute-feature-enabled", "shelve", "true")]


def test_a_cloud_with_neutron_tells_tempest_its_networks_and_attaches_interfaces() -> None:
    cloud = run.Cloud("http://127.0.0.1:1", services={"compute", "identity", "network"},
                      public_network=("pub-id", "public"), fixed_network="private")
    conf = _parsed(run.with_settings(
        run.tempest_conf(cloud, Path("/ws"), run.Account("admin", "admin", "admin")),
        run.network_settings(cloud)))
    assert conf["compute"]["fixed_network_name"] == "private"
    assert conf["validation"]["network_for_ssh"] == "private"
    assert conf["network"]["public_network_id"] == "pub-id"
    assert conf["network"]["floating_network_name"] == "public"
    assert conf["compute-feature-enabled"]["interface_attach"] == "true"
    assert conf["network-feature-enabled"]["floating_ips"] == "true"
    assert conf["validation"]["run_validation"] == "false"


def test_a_cloud_without_neutron_gets_no_network_settings() -> None:
    cloud = run.Cloud("http://127.0.0.1:1", services={"compute", "identity"})
    assert run.network_settings(cloud) == []
    assert _parsed(_conf())["compute-feature-enabled"]["interface_attach"] == "false"


def test_the_validation_profile_logs_in_over_a_floating_ip_with_a_key() -> None:
    settings = dict(((s, o), v) for s, o, v in map(run.parse_setting,
                                                   run.PROFILES["validation"].settings))
    assert settings[("validation", "run_validation")] == "true"
    assert settings[("validation", "connect_method")] == "floating"
    assert settings[("validation", "auth_method")] == "keypair"


def test_backend_qemu_starts_a_qemu_emulator_and_simulated_leaves_the_default() -> None:
    import tomllib

    accounts = [run.Account("demo", "demo", "member", "demo")]
    qemu = tomllib.loads(run.emulator_config(accounts, "qemu"))
    assert qemu["compute"] == {"backend": "qemu"}
    assert qemu["qemu"]["vcpus"] == 64
    simulated = tomllib.loads(run.emulator_config(accounts))
    assert "compute" not in simulated and "qemu" not in simulated
    assert simulated["identity"]["accounts"][0]["user"] == "demo"
    assert "network" not in simulated and "network" not in qemu


def test_the_dynamic_profile_makes_tempest_its_own_projects_and_networks() -> None:
    settings = dict(((s, o), v) for s, o, v in map(run.parse_setting,
                                                   run.PROFILES["dynamic"].settings))
    assert settings == {("auth", "use_dynamic_credentials"): "true",
                        ("auth", "create_isolated_networks"): "true"}


def test_validation_puts_the_simulated_public_network_on_loopback() -> None:
    import ipaddress
    import tomllib

    accounts = [run.Account("demo", "demo", "member", "demo")]
    config = tomllib.loads(run.emulator_config(accounts, "simulated", validation=True))
    public = ipaddress.ip_network(config["network"]["public_cidr"])
    assert public.prefixlen == 24 and public.subnet_of(ipaddress.ip_network("127.0.0.0/8"))
    # QEMU's default public network is on loopback already
    assert "network" not in tomllib.loads(run.emulator_config(accounts, "qemu", True))
