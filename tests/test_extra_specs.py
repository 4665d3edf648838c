"""Flavor extra spec validation (microversion 2.86+): the table and Nova's lookup and messages.

The cases under "Nova's own cases" are those of Nova's unit tests for its validators and
for the flavor extra specs API; the rest cover each namespace and each message.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest

from emulator.compute.extra_specs import (
    EXTRA_SPECS,
    NAMESPACES,
    BoolRule,
    ExtraSpec,
    IntRule,
    InvalidExtraSpec,
    StrRule,
    find_extra_spec,
    validate_extra_spec,
)

GROUP = "([a-zA-Z0-9_-]{1,64})?"


def unknown(name: str) -> str:
    return f"Validation failed; extra spec '{name}' does not appear to be a valid extra spec."


def not_one_of(value: str, *allowed: str) -> str:
    return f"Validation failed; '{value}' is not one of: {', '.join(allowed)}."


def not_format(value: str, pattern: str) -> str:
    return f"Validation failed; '{value}' is not of the format '{pattern}'."


def not_int(value: str) -> str:
    return f"Validation failed; '{value}' is not a valid integer value."


def too_big(value: int, limit: int) -> str:
    return f"Validation failed; '{value}' is greater than the max value of '{limit}'."


def too_small(value: int, limit: int) -> str:
    return f"Validation failed; '{value}' is less than the min value of '{limit}'."


def not_bool(value: str) -> str:
    return f"Validation failed; '{value}' is not a valid boolean-like value."


def rejected(name: str, value: str) -> str:
    with pytest.raises(InvalidExtraSpec) as info:
        validate_extra_spec(name, value)
    assert str(info.value) == info.value.message
    return info.value.message


CPU_MASK = r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"
REALTIME_MASK = r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"
PAGE_SIZE = r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)"
PCI_ALIAS = r"[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*"


# -- Nova's own cases: the validators ------------------------------------------------------


def test_nova_namespaces() -> None:
    assert {
        "accel", "aggregate_instance_extra_specs", "capabilities", "hw", "hw_rng", "hw_video",
        "os", "pci_passthrough", "quota", f"resources(?P<group>{GROUP})",
        f"trait(?P<group>{GROUP})", "vmware",
    } <= NAMESPACES


@pytest.mark.parametrize(("name", "value"), [
    ("hhw:cpu_realtime_mask", "^0"),
    ("w:cpu_realtime_mask", "^0"),
    ("hw_cpu_realtime_mask", "^0"),
    ("foo", "bar"),
])
def test_nova_unknown_namespaces_pass(name: str, value: str) -> None:
    validate_extra_spec(name, value)


@pytest.mark.parametrize(("name", "value"), [
    ("hw:cpu_realtime_maskk", "^0"),
    ("hw:cpu_realtime_mas", "^0"),
    ("hw:foo", "bar"),
])
def test_nova_known_namespace_unknown_spec(name: str, value: str) -> None:
    assert rejected(name, value) == unknown(name)


@pytest.mark.parametrize(("name", "value"), [
    # patterns
    ("hw:cpu_realtime_mask", "0"),
    ("hw:cpu_realtime_mask", "^0"),
    ("hw:cpu_realtime_mask", "^0,2-3,1"),
    ("hw:cpu_dedicated_mask", "0-4,^2,6"),
    ("hw:mem_page_size", "large"),
    ("hw:mem_page_size", "2kbit"),
    ("hw:mem_page_size", "1GB"),
    # enums
    ("hw:cpu_thread_policy", "prefer"),
    ("hw:emulator_threads_policy", "isolate"),
    ("hw:pci_numa_affinity_policy", "legacy"),
    ("hw:pci_numa_affinity_policy", "required"),
    ("hw:pci_numa_affinity_policy", "preferred"),
    ("hw:pci_numa_affinity_policy", "socket"),
    ("hw:cpu_policy", "mixed"),
    ("hw:viommu_model", "auto"),
    ("hw:viommu_model", "intel"),
    ("hw:viommu_model", "smmuv3"),
    ("hw:viommu_model", "virtio"),
    ("hw:tpm_model", "tpm-tis"),
    ("hw:tpm_model", "tpm-crb"),
    ("hw:tpm_version", "1.2"),
    ("hw:tpm_version", "2.0"),
    ("hw:tpm_secret_security", "user"),
    ("hw:tpm_secret_security", "host"),
    ("hw:tpm_secret_security", "deployment"),
])
def test_nova_str_valid(name: str, value: str) -> None:
    validate_extra_spec(name, value)


@pytest.mark.parametrize(("name", "value", "message"), [
    # patterns
    ("hw:cpu_realtime_mask", "a", not_format("a", REALTIME_MASK)),
    ("hw:cpu_realtime_mask", "^0,2-3,b", not_format("^0,2-3,b", REALTIME_MASK)),
    ("hw:mem_page_size", "largest", not_format("largest", PAGE_SIZE)),
    ("hw:mem_page_size", "2kbits", not_format("2kbits", PAGE_SIZE)),
    ("hw:mem_page_size", "1gigabyte", not_format("1gigabyte", PAGE_SIZE)),
    # enums
    ("hw:cpu_thread_policy", "preferred",
     not_one_of("preferred", "prefer", "isolate", "require")),
    ("hw:emulator_threads_policy", "iisolate", not_one_of("iisolate", "isolate", "share")),
    ("hw:pci_numa_affinity_policy", "lgacy",
     not_one_of("lgacy", "required", "preferred", "legacy", "socket")),
    ("hw:pci_numa_affinity_policy", "requird",
     not_one_of("requird", "required", "preferred", "legacy", "socket")),
    ("hw:pci_numa_affinity_policy", "prefrred",
     not_one_of("prefrred", "required", "preferred", "legacy", "socket")),
    ("hw:pci_numa_affinity_policy", "socet",
     not_one_of("socet", "required", "preferred", "legacy", "socket")),
    ("hw:viommu_model", "autt", not_one_of("autt", "intel", "smmuv3", "virtio", "auto")),
    ("hw:tpm_model", "tpm-foo", not_one_of("tpm-foo", "tpm-tis", "tpm-crb")),
    ("hw:tpm_version", "4.2", not_one_of("4.2", "1.2", "2.0")),
    ("hw:tpm_secret_security", "bar", not_one_of("bar", "user", "host", "deployment")),
])
def test_nova_str_invalid(name: str, value: str, message: str) -> None:
    assert rejected(name, value) == message


def test_nova_int_valid() -> None:
    validate_extra_spec("hw:numa_nodes", "1")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("hw:serial_port_count", "five", not_int("five")),  # NaN
    ("hw:serial_port_count", "!", not_int("!")),  # NaN
    ("hw:numa_nodes", "0", too_small(0, 1)),  # has min
])
def test_nova_int_invalid(name: str, value: str, message: str) -> None:
    assert rejected(name, value) == message


@pytest.mark.parametrize(("name", "value"), [
    ("hw:cpu_realtime", "1"),
    ("hw:cpu_realtime", "0"),
    ("hw:mem_encryption", "true"),
    ("hw:boot_menu", "y"),
])
def test_nova_bool_valid(name: str, value: str) -> None:
    validate_extra_spec(name, value)


@pytest.mark.parametrize(("name", "value"), [
    ("hw:cpu_realtime", "2"),
    ("hw:cpu_realtime", "00"),
    ("hw:mem_encryption", "tru"),
    ("hw:boot_menu", "yah"),
])
def test_nova_bool_invalid(name: str, value: str) -> None:
    assert rejected(name, value) == not_bool(value)


# -- Nova's own cases: the flavor extra specs API at 2.86 ----------------------------------


@pytest.mark.parametrize(("name", "value"), [
    ("hw:numa_nodes", "foo"),
    ("hw:cpu_policy", "sharrred"),
    ("hw:cpu_policyyyyyyy", "shared"),
    ("hw:foo", "bar"),
    ("resources:VCPU", "N"),
    ("resources_foo:VCPU", "N"),
    ("resources:VVCPU", "1"),
    ("resources_foo:VVCPU", "1"),
    ("trait:STORAGE_DISK_SSD", "forbiden"),
    ("trait_foo:HW_CPU_X86_AVX2", "foo"),
    ("trait:bar", "required"),
    ("trait_foo:bar", "required"),
    ("trait:CUSTOM_foo", "required"),
    ("trait:CUSTOM_FOO", "bar"),
    ("trait_foo:CUSTOM_BAR", "foo"),
])
def test_nova_api_invalid_known_namespace(name: str, value: str) -> None:
    assert rejected(name, value).startswith("Validation failed; ")


@pytest.mark.parametrize(("name", "value"), [
    ("foo", "bar"),
    ("foo:bar", "baz"),
    ("hww:cpu_policy", "sharrred"),
])
def test_nova_api_unknown_namespace(name: str, value: str) -> None:
    validate_extra_spec(name, value)


@pytest.mark.parametrize(("name", "value"), [
    ("hide_hypervisor_id", "true"),
    ("hw:hide_hypervisor_id", "true"),
    ("hw:numa_nodes", "1"),
    ("hw:numa_cpus.0", "0-3,8-9,11,10"),
    ("resources:VCPU", "4"),
    ("resources_foo:VCPU", "4"),
    ("resources:CUSTOM_FOO", "1"),
    ("resources_foo:CUSTOM_BAR", "2"),
    ("trait:STORAGE_DISK_SSD", "forbidden"),
    ("trait_foo:HW_CPU_X86_AVX2", "required"),
    ("trait:CUSTOM_FOO", "forbidden"),
    ("trait_foo:CUSTOM_BAR", "required"),
])
def test_nova_api_valid(name: str, value: str) -> None:
    validate_extra_spec(name, value)


# -- each namespace: accepted ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [
    # accel
    ("accel:device_profile", "my-fpga-profile"),
    ("accel:device_profile", ""),
    # aggregate_instance_extra_specs
    ("aggregate_instance_extra_specs:ssd", "true"),
    ("aggregate_instance_extra_specs:a:b", "<in> x"),
    ("aggregate_instance_extra_specs:cpu_arch", "s== x86_64"),
    # capabilities
    ("capabilities:hypervisor_type", "s== QEMU"),
    ("capabilities:vcpus", ">= 4"),
    ("capabilities:vcpus_used", "<= 2"),
    ("capabilities:updated", "anything"),
    ("capabilities:cpu_info", "<all-in> aes mmx"),
    ("capabilities:cpu_info:features", "<in> avx2"),
    ("capabilities:stats:num_instances", "<or> 1 <or> 2"),
    ("capabilities:supported_instances:x:y:z", ""),
    # hw
    ("hw:cpu_policy", "dedicated"),
    ("hw:cpu_realtime", "yes"),
    ("hw:cpu_realtime", " TRUE "),
    ("hw:cpu_realtime", "Off"),
    ("hw:cpu_realtime_mask", "^0-1"),
    ("hw:mem_page_size", "2048"),
    ("hw:mem_page_size", "2MiB"),
    ("hw:mem_page_size", "any"),
    ("hw:numa_cpus.1", "4-7"),
    ("hw:numa_cpus.10", "^0"),
    ("hw:numa_mem.0", "2048"),
    ("hw:numa_nodes", "2"),
    ("hw:cpu_sockets", "+2"),
    ("hw:cpu_cores", " 4 "),
    ("hw:cpu_max_threads", "1_0"),
    ("hw:pmem", "4GB,SMALL"),
    ("hw:pmem", "a,b,"),
    ("hw:serial_port_count", "0"),
    ("hw:redirected_usb_ports", "15"),
    ("hw:redirected_usb_ports", "0"),
    ("hw:watchdog_action", "disabled"),
    ("hw:sound_model", "ich9"),
    ("hw:usb_model", "qemu-xhci"),
    ("hw:mem_encryption_model", "amd-sev-snp"),
    ("hw:ephemeral_encryption", "f"),
    ("hw:ephemeral_encryption_format", "luksv2"),
    ("hw:locked_memory", "on"),
    # hw_rng
    ("hw_rng:allowed", "False"),
    ("hw_rng:rate_bytes", "24"),
    ("hw_rng:rate_period", "5000"),
    # hw_video
    ("hw_video:ram_max_mb", "64"),
    # no namespace
    ("group_policy", "isolate"),
    ("group_policy", "none"),
    ("hide_hypervisor_id", "n"),
    # os
    ("os:secure_boot", "required"),
    ("os:secure_boot", "disabled"),
    # pci_passthrough
    ("pci_passthrough:alias", "a1:2"),
    ("pci_passthrough:alias", "a1:2, gpu-b:1 ,c:3"),
    # quota
    ("quota:cpu_limit", "0"),
    ("quota:cpu_reservation", "-100"),
    ("quota:memory_shares_level", "custom"),
    ("quota:disk_io_shares_share", "1000"),
    ("quota:cpu_quota", "-1"),
    ("quota:cpu_period", "1000000"),
    ("quota:disk_total_iops_sec", "500"),
    ("quota:vif_outbound_burst", "1024"),
    # resources
    ("resources:PCPU", "2"),
    ("resources:MEMORY_MB", "-1"),
    ("resources1:VGPU", "1"),
    ("resources_gpu-2:NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC", "1000"),
    (f"resources{'a' * 64}:VCPU", "1"),
    ("resources:CUSTOM_MAGIC_1", "1"),
    # traits
    ("trait:HW_CPU_X86_AVX2", "required"),
    ("trait1:COMPUTE_STATUS_DISABLED", "forbidden"),
    ("trait_net:HW_NIC_SRIOV_TRUSTED", "required"),
    ("trait:COMPUTE_SECURITY_TPM_SECRET_SECURITY_DEPLOYMENT", "required"),
    ("trait:HW_NVME_CES", "forbidden"),
    ("trait:CUSTOM_RAID_1", "required"),
    # vmware
    ("vmware:hw_version", "vmx-13"),
    ("vmware:storage_policy", "gold"),
])
def test_namespace_valid(name: str, value: str) -> None:
    validate_extra_spec(name, value)


# -- each namespace: refused, with Nova's message --------------------------------------------


@pytest.mark.parametrize(("name", "value", "message"), [
    # accel
    ("accel:device_profiles", "x", unknown("accel:device_profiles")),
    # aggregate_instance_extra_specs: the key must not be empty
    ("aggregate_instance_extra_specs:", "x", unknown("aggregate_instance_extra_specs:")),
    # capabilities
    ("capabilities:foo", "x", unknown("capabilities:foo")),
    ("capabilities:vcpus:used", "x", unknown("capabilities:vcpus:used")),
    ("capabilities:cpu_info:", "x", unknown("capabilities:cpu_info:")),
    ("capabilities:cpu_info:a-b", "x", unknown("capabilities:cpu_info:a-b")),
    # hw
    ("hw:cpu_policy", "Shared", not_one_of("Shared", "dedicated", "shared", "mixed")),
    ("hw:numa_nodes", "1.0", not_int("1.0")),
    ("hw:numa_nodes", "", not_int("")),
    ("hw:numa_mem.0", "0", too_small(0, 1)),
    ("hw:numa_cpus.0", "0-", not_format("0-", CPU_MASK)),
    ("hw:numa_cpus.a", "0", unknown("hw:numa_cpus.a")),
    ("hw:numa_cpus.", "0", unknown("hw:numa_cpus.")),
    ("hw:cpu_dedicated_mask", "(0)", not_format("(0)", CPU_MASK)),
    ("hw:redirected_usb_ports", "16", too_big(16, 15)),
    ("hw:redirected_usb_ports", " 16 ", too_big(16, 15)),
    ("hw:redirected_usb_ports", "-1", too_small(-1, 0)),
    ("hw:serial_port_count", "-1", too_small(-1, 0)),
    ("hw:pmem", ",a", not_format(",a", "([a-zA-Z0-9_]+(,)?)+")),
    ("hw:pmem", "a b", not_format("a b", "([a-zA-Z0-9_]+(,)?)+")),
    ("hw:mem_page_size", "2 MB", not_format("2 MB", PAGE_SIZE)),
    ("hw:watchdog_action", "shutdown",
     not_one_of("shutdown", "none", "pause", "poweroff", "reset", "disabled")),
    ("hw:sound_model", "hda",
     not_one_of("hda", "sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "virtio")),
    ("hw:usb_model", "ehci", not_one_of("ehci", "none", "nec-xhci", "qemu-xhci")),
    ("hw:mem_encryption_model", "tdx",
     not_one_of("tdx", "amd-sev", "amd-sev-es", "amd-sev-snp")),
    ("hw:ephemeral_encryption_format", "LUKS",
     not_one_of("LUKS", "plain", "luks", "luksv2")),
    ("hw:locked_memory", "", not_bool("")),
    ("hw:virtio_packed_ring", "enabled", not_bool("enabled")),
    # hw_rng
    ("hw_rng:allowed", "maybe", not_bool("maybe")),
    ("hw_rng:rate_bytes", "-5", too_small(-5, 0)),
    ("hw_rng:rate_period", "1ms", not_int("1ms")),
    ("hw_rng:rate", "1", unknown("hw_rng:rate")),
    # hw_video
    ("hw_video:ram_max_mb", "-1", too_small(-1, 0)),
    ("hw_video:ram", "1", unknown("hw_video:ram")),
    # no namespace
    ("group_policy", "isolated", not_one_of("isolated", "isolate", "none")),
    ("hide_hypervisor_id", "hidden", not_bool("hidden")),
    # os
    ("os:secure_boot", "optional", not_one_of("optional", "disabled", "required")),
    ("os:foo", "bar", unknown("os:foo")),
    # pci_passthrough
    ("pci_passthrough:alias", "a1", not_format("a1", PCI_ALIAS)),
    ("pci_passthrough:alias", "a1:x", not_format("a1:x", PCI_ALIAS)),
    ("pci_passthrough:alias", "a1:2,", not_format("a1:2,", PCI_ALIAS)),
    ("pci_passthrough:aliases", "a1:2", unknown("pci_passthrough:aliases")),
    # quota
    ("quota:cpu_limit", "-1", too_small(-1, 0)),
    ("quota:cpu_shares_level", "medium", not_one_of("medium", "custom", "high", "normal", "low")),
    ("quota:vif_inbound_peak", "fast", not_int("fast")),
    ("quota:disk_read_bytes", "1", unknown("quota:disk_read_bytes")),
    # resources
    ("resources:VCPU", "1.5", not_int("1.5")),
    ("resources:CUSTOM_FOO", "", not_int("")),
    ("resources:CUSTOM_", "1", unknown("resources:CUSTOM_")),
    ("resources:custom_foo", "1", unknown("resources:custom_foo")),
    ("resources:", "1", unknown("resources:")),
    # traits
    ("trait:HW_CPU_X86_AVX2", "Required", not_one_of("Required", "required", "forbidden")),
    ("trait:CUSTOM_X", "", not_one_of("", "required", "forbidden")),
    ("trait:HW_CPU_X86_AVX3", "required", unknown("trait:HW_CPU_X86_AVX3")),
    # vmware
    ("vmware:hw", "vmx-13", unknown("vmware:hw")),
])
def test_namespace_invalid(name: str, value: str, message: str) -> None:
    assert rejected(name, value) == message


@pytest.mark.parametrize("name", [
    "trait.x:HW_NIC_SRIOV",  # '.' is not allowed in a group, so not the trait namespace
    "resources!:VCPU",
    f"resources{'a' * 65}:VCPU",  # a group is at most 64 characters
    "hw-x:cpu_policy",
    "quota_x:cpu_limit",
    ":",
    ":hw",
])
def test_outside_known_namespaces_pass(name: str) -> None:
    validate_extra_spec(name, "anything")


# -- lookup order and Nova's quirks ------------------------------------------------------------


def test_exact_template_name_is_found_but_refused() -> None:
    # Nova looks the name up as given first; a template name is found, then fails its regex.
    name = "hw:numa_cpus.{num}"
    assert rejected(name, "0") == (
        f"Validation failed; expected a name of format '{name}' but got '{name}'."
    )
    name = "trait{group}:CUSTOM_{trait}"
    assert rejected(name, "required") == (
        f"Validation failed; expected a name of format '{name}' but got '{name}'."
    )


def test_name_is_checked_before_value() -> None:
    assert rejected("resources{group}:VCPU", "x").startswith(
        "Validation failed; expected a name of format"
    )


def test_unescaped_dot_in_numa_names() -> None:
    # The '.' of 'hw:numa_cpus.{num}' is a regex wildcard in Nova too.
    validate_extra_spec("hw:numa_cpusX0", "0")
    assert rejected("hw:numa_memX1", "0") == too_small(0, 1)


def test_namespace_is_the_text_before_the_first_colon() -> None:
    assert rejected("hw:cpu_policy:x", "shared") == unknown("hw:cpu_policy:x")
    validate_extra_spec("x:hw:cpu_policy", "bogus")


def test_patterns_beat_the_namespace_check() -> None:
    spec = find_extra_spec("aggregate_instance_extra_specs:x:y")
    assert spec is not None
    assert spec.name == "aggregate_instance_extra_specs:{key}"
    assert find_extra_spec("hw:cpu_policy") is EXTRA_SPECS[
        [s.name for s in EXTRA_SPECS].index("hw:cpu_policy")
    ]
    assert find_extra_spec("hw:nope") is None
    assert find_extra_spec("nope") is None


@pytest.mark.parametrize(("value", "message"), [
    ("99999999999999999999", too_big(99999999999999999999, 15)),
    ("1" + "0" * 5000, not_int("1" + "0" * 5000)),  # beyond Python's int-from-text limit
])
def test_int_edges(value: str, message: str) -> None:
    assert rejected("hw:redirected_usb_ports", value) == message


def test_invalid_extra_spec_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^Validation failed; "):
        validate_extra_spec("hw:numa_nodes", "x")


# -- the table -------------------------------------------------------------------------------


def namespace_of(spec: ExtraSpec) -> str:
    if ":" not in spec.name:
        return ""
    return spec.name.split(":", 1)[0].replace("{group}", "")


def test_entries_per_namespace() -> None:
    assert Counter(namespace_of(spec) for spec in EXTRA_SPECS) == {
        "accel": 1,
        "aggregate_instance_extra_specs": 1,
        "capabilities": 45,
        "hw": 37,
        "hw_rng": 3,
        "hw_video": 1,
        "": 2,
        "os": 1,
        "pci_passthrough": 1,
        "quota": 31,
        "resources": 22,
        "trait": 378,
        "vmware": 2,
    }
    assert len(EXTRA_SPECS) == 525


def test_namespaces_exactly() -> None:
    assert NAMESPACES == {
        "accel", "aggregate_instance_extra_specs", "capabilities", "hw", "hw_rng", "hw_video",
        "os", "pci_passthrough", "quota", f"resources(?P<group>{GROUP})",
        f"trait(?P<group>{GROUP})", "vmware",
    }


def test_names_unique_and_regexes_compile() -> None:
    names = [spec.name for spec in EXTRA_SPECS]
    assert len(names) == len(set(names))
    for spec in EXTRA_SPECS:
        re.compile(spec.name_regex)
        if isinstance(spec.value, StrRule):
            assert spec.value.pattern is None or spec.value.enum is None
            if spec.value.pattern is not None:
                re.compile(spec.value.pattern)
        for param, _ in spec.params:
            assert f"{{{param}}}" in spec.name


def test_entries_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        EXTRA_SPECS[0].name = "x"  # type: ignore[misc]


def test_name_regex_built_from_params() -> None:
    spec = ExtraSpec("x:{a}.{b}", IntRule(), (("a", r"\d+"), ("b", "[a-z]")))
    assert spec.name_regex == r"x:(?P<a>\d+).(?P<b>[a-z])"
    assert spec.namespace == "x"
    assert ExtraSpec("plain", BoolRule()).namespace is None


SAMPLE_PARAMS = {"group": "_g1", "num": "0", "key": "k", "filter": ":a:b",
                 "resource": "FOO", "trait": "BAR"}


def concrete(spec: ExtraSpec) -> str:
    name = spec.name
    for param, _ in spec.params:
        name = name.replace(f"{{{param}}}", SAMPLE_PARAMS[param])
    return name


def good_value(spec: ExtraSpec) -> str:
    rule = spec.value
    if isinstance(rule, BoolRule):
        return "true"
    if isinstance(rule, IntRule):
        return str(rule.min if rule.min is not None else 1)
    if rule.enum is not None:
        return rule.enum[-1]
    if rule.pattern is not None:
        return "gpu:1" if spec.name == "pci_passthrough:alias" else "0"
    return "anything"


@pytest.mark.parametrize("spec", EXTRA_SPECS, ids=lambda spec: spec.name)
def test_every_entry(spec: ExtraSpec) -> None:
    name = concrete(spec)
    assert find_extra_spec(name) is spec
    validate_extra_spec(name, good_value(spec))
    if spec.params:  # each grouped entry also works without its group
        validate_extra_spec(name.replace("_g1:", ":"), good_value(spec))
    rule = spec.value
    if isinstance(rule, BoolRule):
        assert rejected(name, "2") == not_bool("2")
    elif isinstance(rule, IntRule):
        assert rejected(name, "x") == not_int("x")
        if rule.min is not None:
            assert rejected(name, str(rule.min - 1)) == too_small(rule.min - 1, rule.min)
        if rule.max is not None:
            assert rejected(name, str(rule.max + 1)) == too_big(rule.max + 1, rule.max)
    elif rule.enum is not None:
        assert rejected(name, "?") == not_one_of("?", *rule.enum)
    elif rule.pattern is not None:
        assert rejected(name, "?") == not_format("?", rule.pattern)
    else:
        validate_extra_spec(name, "")
