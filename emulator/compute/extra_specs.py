"""Flavor extra spec validation, as Nova does it from microversion 2.86.

From 2.86 on, ``POST /flavors/{id}/os-extra_specs`` and
``PUT /flavors/{id}/os-extra_specs/{key}`` check every spec against the extra specs Nova
knows. This module holds those as data, in :data:`EXTRA_SPECS`, and
:func:`validate_extra_spec` applies them in Nova's order:

1. a spec whose name is exactly an entry's name (its template, for entries with embedded
   parameters) is checked against that entry;
2. otherwise the first entry, in table order, whose name regex matches the whole name;
3. otherwise a name with a namespace (the part before the first ``:``) that is one of the
   known namespaces (:data:`NAMESPACES`, which are derived from the entries' regexes) is
   rejected as unknown; names without a namespace, and names in other namespaces, pass.

Names may embed parameters, written ``{param}`` in :attr:`ExtraSpec.name`, each standing
for a regex given in :attr:`ExtraSpec.params`; the entry's :attr:`ExtraSpec.name_regex`
replaces each ``{param}`` with a named group of that regex and keeps the rest of the name
as it is, as Nova does (so the ``.`` in ``hw:numa_cpus.{num}`` matches any character).

The standard traits and resource classes are those of os-traits 3.9.0 and
os-resource-classes 1.1.0, the libraries Nova builds those entries from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

__all__ = [
    "BOOL_STRINGS",
    "EXTRA_SPECS",
    "NAMESPACES",
    "BoolRule",
    "ExtraSpec",
    "IntRule",
    "InvalidExtraSpec",
    "StrRule",
    "ValueRule",
    "find_extra_spec",
    "validate_extra_spec",
]


class InvalidExtraSpec(ValueError):
    """An extra spec Nova would refuse; ``message`` is Nova's text for it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- value rules -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StrRule:
    """Any string, or one matching ``pattern`` in full, or one of ``enum``.

    At most one of the two is set (were both, ``pattern`` would win, as in Nova).
    """

    pattern: str | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class IntRule:
    """A string Python's ``int()`` accepts, within ``[min, max]`` where those are set."""

    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class BoolRule:
    """A boolean-like string: oslo's strict ``bool_from_string`` (see :data:`BOOL_STRINGS`)."""


ValueRule = StrRule | IntRule | BoolRule

#: What ``oslo_utils.strutils.bool_from_string(strict=True)`` accepts, compared with the
#: value stripped of surrounding whitespace and lower-cased.
BOOL_STRINGS: frozenset[str] = frozenset(
    {"1", "t", "true", "on", "y", "yes", "0", "f", "false", "off", "n", "no"}
)


# -- entries ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtraSpec:
    """One extra spec Nova knows.

    ``name`` is Nova's name for it; each ``{param}`` in it is a parameter whose regex is
    given in ``params`` as a ``(param, regex)`` pair.
    """

    name: str
    value: ValueRule
    params: tuple[tuple[str, str], ...] = ()
    deprecated: bool = False
    name_regex: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = self.name
        for param, pattern in self.params:
            regex = regex.replace(f"{{{param}}}", f"(?P<{param}>{pattern})")
        object.__setattr__(self, "name_regex", regex)

    @property
    def namespace(self) -> str | None:
        """The namespace regex (what precedes the first ``:`` of the name regex), if any."""
        if ":" not in self.name_regex:
            return None
        return self.name_regex.split(":", 1)[0]


# Parameters shared by many entries.
#: The optional request group suffix of ``resources`` and ``trait`` (``resources_gpu1:...``).
_GROUP: tuple[tuple[str, str], ...] = (("group", r"([a-zA-Z0-9_-]{1,64})?"),)
#: The optional ``:key:subkey...`` path into a nested host capability.
_FILTER: tuple[tuple[str, str], ...] = (("filter", r"(:\w+)*"),)
#: The value of any ``trait`` spec.
_TRAIT = StrRule(enum=("required", "forbidden"))

#: Every extra spec Nova knows, in the order Nova registers them (which is the order in
#: which name regexes are tried). Names are unique.
EXTRA_SPECS: tuple[ExtraSpec, ...] = (
    # accel: the Cyborg device profile to attach.
    ExtraSpec("accel:device_profile", StrRule()),

    # aggregate_instance_extra_specs: AggregateInstanceExtraSpecsFilter matches, any key,
    # any (operator-prefixed) value.
    ExtraSpec("aggregate_instance_extra_specs:{key}", StrRule(), (("key", ".+"),)),

    # capabilities: ComputeCapabilitiesFilter matches on compute node / host state fields.
    # Plain fields first ('vcpus_used' is listed twice upstream, once from each source;
    # registered once), then the nested fields, which take an optional ':sub:key' path.
    ExtraSpec("capabilities:id", StrRule()),
    ExtraSpec("capabilities:uuid", StrRule()),
    ExtraSpec("capabilities:service_id", StrRule()),
    ExtraSpec("capabilities:host", StrRule()),
    ExtraSpec("capabilities:vcpus", StrRule()),
    ExtraSpec("capabilities:memory_mb", StrRule()),
    ExtraSpec("capabilities:local_gb", StrRule()),
    ExtraSpec("capabilities:vcpus_used", StrRule()),
    ExtraSpec("capabilities:memory_mb_used", StrRule()),
    ExtraSpec("capabilities:local_gb_used", StrRule()),
    ExtraSpec("capabilities:hypervisor_type", StrRule()),
    ExtraSpec("capabilities:hypervisor_version", StrRule()),
    ExtraSpec("capabilities:hypervisor_hostname", StrRule()),
    ExtraSpec("capabilities:free_ram_mb", StrRule()),
    ExtraSpec("capabilities:free_disk_gb", StrRule()),
    ExtraSpec("capabilities:current_workload", StrRule()),
    ExtraSpec("capabilities:running_vms", StrRule()),
    ExtraSpec("capabilities:disk_available_least", StrRule()),
    ExtraSpec("capabilities:host_ip", StrRule()),
    ExtraSpec("capabilities:mapped", StrRule()),
    ExtraSpec("capabilities:cpu_allocation_ratio", StrRule()),
    ExtraSpec("capabilities:ram_allocation_ratio", StrRule()),
    ExtraSpec("capabilities:disk_allocation_ratio", StrRule()),
    ExtraSpec("capabilities:total_usable_ram_mb", StrRule()),
    ExtraSpec("capabilities:total_usable_disk_gb", StrRule()),
    ExtraSpec("capabilities:disk_mb_used", StrRule()),
    ExtraSpec("capabilities:free_disk_mb", StrRule()),
    ExtraSpec("capabilities:vcpus_total", StrRule()),
    ExtraSpec("capabilities:num_instances", StrRule()),
    ExtraSpec("capabilities:num_io_ops", StrRule()),
    ExtraSpec("capabilities:failed_builds", StrRule()),
    ExtraSpec("capabilities:aggregates", StrRule()),
    ExtraSpec("capabilities:cell_uuid", StrRule()),
    ExtraSpec("capabilities:updated", StrRule()),
    ExtraSpec("capabilities:cpu_info{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:metrics{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:stats{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:numa_topology{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:supported_hv_specs{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:pci_device_pools{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:nodename{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:pci_stats{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:supported_instances{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:limits{filter}", StrRule(), _FILTER),
    ExtraSpec("capabilities:instances{filter}", StrRule(), _FILTER),

    # hw: guest hardware (libvirt for the most part).
    ExtraSpec("hw:cpu_realtime", BoolRule()),
    ExtraSpec("hw:cpu_realtime_mask", StrRule(pattern=r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*")),
    ExtraSpec("hw:hide_hypervisor_id", BoolRule()),
    ExtraSpec("hw:cpu_policy", StrRule(enum=("dedicated", "shared", "mixed"))),
    ExtraSpec("hw:cpu_thread_policy", StrRule(enum=("prefer", "isolate", "require"))),
    ExtraSpec("hw:emulator_threads_policy", StrRule(enum=("isolate", "share"))),
    ExtraSpec("hw:cpu_dedicated_mask", StrRule(pattern=r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*")),
    ExtraSpec("hw:mem_page_size", StrRule(pattern=r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)")),
    ExtraSpec("hw:locked_memory", BoolRule()),
    ExtraSpec("hw:numa_nodes", IntRule(min=1)),
    ExtraSpec(
        "hw:numa_cpus.{num}",
        StrRule(pattern=r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"),
        (("num", r"\d+"),),
    ),
    ExtraSpec("hw:numa_mem.{num}", IntRule(min=1), (("num", r"\d+"),)),
    ExtraSpec(
        "hw:pci_numa_affinity_policy",
        StrRule(enum=("required", "preferred", "legacy", "socket")),
    ),
    ExtraSpec("hw:cpu_sockets", IntRule(min=1)),
    ExtraSpec("hw:cpu_cores", IntRule(min=1)),
    ExtraSpec("hw:cpu_threads", IntRule(min=1)),
    ExtraSpec("hw:cpu_max_sockets", IntRule(min=1)),
    ExtraSpec("hw:cpu_max_cores", IntRule(min=1)),
    ExtraSpec("hw:cpu_max_threads", IntRule(min=1)),
    ExtraSpec("hw:boot_menu", BoolRule()),
    ExtraSpec("hw:vif_multiqueue_enabled", BoolRule()),
    ExtraSpec("hw:mem_encryption", BoolRule()),
    ExtraSpec("hw:mem_encryption_model", StrRule(enum=("amd-sev", "amd-sev-es", "amd-sev-snp"))),
    ExtraSpec("hw:pmem", StrRule(pattern="([a-zA-Z0-9_]+(,)?)+")),
    ExtraSpec("hw:pmu", BoolRule()),
    ExtraSpec("hw:serial_port_count", IntRule(min=0)),
    ExtraSpec("hw:tpm_model", StrRule(enum=("tpm-tis", "tpm-crb"))),
    ExtraSpec("hw:tpm_version", StrRule(enum=("1.2", "2.0"))),
    ExtraSpec("hw:tpm_secret_security", StrRule(enum=("user", "host", "deployment"))),
    ExtraSpec(
        "hw:watchdog_action",
        StrRule(enum=("none", "pause", "poweroff", "reset", "disabled")),
    ),
    ExtraSpec("hw:viommu_model", StrRule(enum=("intel", "smmuv3", "virtio", "auto"))),
    ExtraSpec("hw:virtio_packed_ring", BoolRule()),
    ExtraSpec(
        "hw:sound_model",
        StrRule(enum=("sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "virtio")),
    ),
    ExtraSpec("hw:usb_model", StrRule(enum=("none", "nec-xhci", "qemu-xhci"))),
    ExtraSpec("hw:redirected_usb_ports", IntRule(min=0, max=15)),
    ExtraSpec("hw:ephemeral_encryption", BoolRule()),
    ExtraSpec("hw:ephemeral_encryption_format", StrRule(enum=("plain", "luks", "luksv2"))),

    # hw_rng: random number generator device.
    ExtraSpec("hw_rng:allowed", BoolRule()),
    ExtraSpec("hw_rng:rate_bytes", IntRule(min=0)),
    ExtraSpec("hw_rng:rate_period", IntRule(min=0)),

    # hw_video: video device.
    ExtraSpec("hw_video:ram_max_mb", IntRule(min=0)),

    # No namespace: the deprecated un-namespaced hypervisor ID switch, and group_policy.
    ExtraSpec("hide_hypervisor_id", BoolRule(), deprecated=True),
    ExtraSpec("group_policy", StrRule(enum=("isolate", "none"))),

    # os: firmware.
    ExtraSpec("os:secure_boot", StrRule(enum=("disabled", "required"))),

    # pci_passthrough: '$alias:$count[, ...]' PCI aliases.
    ExtraSpec("pci_passthrough:alias", StrRule(pattern=r"[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*")),

    # quota: VMware CPU/memory/disk IO/VIF allocations, then libvirt CPU tuning,
    # disk IO tuning and VIF bandwidth.
    ExtraSpec("quota:cpu_limit", IntRule(min=0)),
    ExtraSpec("quota:cpu_reservation", IntRule()),
    ExtraSpec("quota:cpu_shares_level", StrRule(enum=("custom", "high", "normal", "low"))),
    ExtraSpec("quota:cpu_shares_share", IntRule(min=0)),
    ExtraSpec("quota:memory_limit", IntRule(min=0)),
    ExtraSpec("quota:memory_reservation", IntRule()),
    ExtraSpec("quota:memory_shares_level", StrRule(enum=("custom", "high", "normal", "low"))),
    ExtraSpec("quota:memory_shares_share", IntRule(min=0)),
    ExtraSpec("quota:disk_io_limit", IntRule(min=0)),
    ExtraSpec("quota:disk_io_reservation", IntRule()),
    ExtraSpec("quota:disk_io_shares_level", StrRule(enum=("custom", "high", "normal", "low"))),
    ExtraSpec("quota:disk_io_shares_share", IntRule(min=0)),
    ExtraSpec("quota:vif_limit", IntRule(min=0)),
    ExtraSpec("quota:vif_reservation", IntRule()),
    ExtraSpec("quota:vif_shares_level", StrRule(enum=("custom", "high", "normal", "low"))),
    ExtraSpec("quota:vif_shares_share", IntRule(min=0)),
    ExtraSpec("quota:cpu_shares", IntRule(min=0)),
    ExtraSpec("quota:cpu_period", IntRule(min=0)),
    ExtraSpec("quota:cpu_quota", IntRule()),
    ExtraSpec("quota:disk_read_bytes_sec", IntRule(min=0)),
    ExtraSpec("quota:disk_read_iops_sec", IntRule(min=0)),
    ExtraSpec("quota:disk_write_bytes_sec", IntRule(min=0)),
    ExtraSpec("quota:disk_write_iops_sec", IntRule(min=0)),
    ExtraSpec("quota:disk_total_bytes_sec", IntRule(min=0)),
    ExtraSpec("quota:disk_total_iops_sec", IntRule(min=0)),
    ExtraSpec("quota:vif_inbound_average", IntRule(min=0)),
    ExtraSpec("quota:vif_inbound_peak", IntRule(min=0)),
    ExtraSpec("quota:vif_inbound_burst", IntRule(min=0)),
    ExtraSpec("quota:vif_outbound_average", IntRule(min=0)),
    ExtraSpec("quota:vif_outbound_peak", IntRule(min=0)),
    ExtraSpec("quota:vif_outbound_burst", IntRule(min=0)),

    # resources[GROUP]: placement resource amounts; the standard resource classes
    # (os-resource-classes 1.1.0 STANDARDS), then any CUSTOM_ class.
    ExtraSpec("resources{group}:VCPU", IntRule(), _GROUP),
    ExtraSpec("resources{group}:MEMORY_MB", IntRule(), _GROUP),
    ExtraSpec("resources{group}:DISK_GB", IntRule(), _GROUP),
    ExtraSpec("resources{group}:PCI_DEVICE", IntRule(), _GROUP),
    ExtraSpec("resources{group}:SRIOV_NET_VF", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NUMA_SOCKET", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NUMA_CORE", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NUMA_THREAD", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NUMA_MEMORY_MB", IntRule(), _GROUP),
    ExtraSpec("resources{group}:IPV4_ADDRESS", IntRule(), _GROUP),
    ExtraSpec("resources{group}:VGPU", IntRule(), _GROUP),
    ExtraSpec("resources{group}:VGPU_DISPLAY_HEAD", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NET_BW_EGR_KILOBIT_PER_SEC", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NET_BW_IGR_KILOBIT_PER_SEC", IntRule(), _GROUP),
    ExtraSpec("resources{group}:PCPU", IntRule(), _GROUP),
    ExtraSpec("resources{group}:MEM_ENCRYPTION_CONTEXT", IntRule(), _GROUP),
    ExtraSpec("resources{group}:FPGA", IntRule(), _GROUP),
    ExtraSpec("resources{group}:PGPU", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NET_PACKET_RATE_KILOPACKET_PER_SEC", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC", IntRule(), _GROUP),
    ExtraSpec("resources{group}:NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC", IntRule(), _GROUP),
    ExtraSpec(
        "resources{group}:CUSTOM_{resource}",
        IntRule(),
        (*_GROUP, ("resource", "[A-Z0-9_]+")),
    ),

    # trait[GROUP]: required/forbidden placement traits; the standard traits (os-traits
    # 3.9.0, in the library's own order), then any CUSTOM_ trait.
    ExtraSpec("trait{group}:COMPUTE_DEVICE_TAGGING", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NODE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_TRUSTED_CERTS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SAME_HOST_COLD_MIGRATE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_RESCUE_BFV", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ACCELERATORS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOCKET_PCI_NUMA_AFFINITY", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_REMOTE_MANAGED_PORTS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_MEM_BACKING_FILE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_MANAGED_PCI_DEVICE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ADDRESS_SPACE_PASSTHROUGH", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ADDRESS_SPACE_EMULATED", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SHARE_LOCAL_FS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ARCH_AARCH64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ARCH_PPC64LE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ARCH_MIPSEL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ARCH_S390X", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ARCH_RISCV64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_ARCH_X86_64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_CONFIG_DRIVE_REGENERATION", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_EPHEMERAL_ENCRYPTION", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_EPHEMERAL_ENCRYPTION_PLAIN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_EPHEMERAL_ENCRYPTION_LUKS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_EPHEMERAL_ENCRYPTION_LUKSV2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_FIRMWARE_BIOS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_FIRMWARE_UEFI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_BOCHS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_CIRRUS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_GOP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_NONE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_QXL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_VGA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_VIRTIO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_VMVGA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_GRAPHICS_MODEL_XEN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_AKI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_AMI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_ARI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_ISO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_QCOW2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_RAW", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_VDI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_VHD", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_VHDX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_VMDK", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_IMAGE_TYPE_PLOOP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_MIGRATE_AUTO_CONVERGE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_MIGRATE_POST_COPY", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_ATTACH_INTERFACE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIRTIO_PACKED", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_E1000", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_E1000E", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_LAN9118", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_NETFRONT", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_NE2K_PCI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_PCNET", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_RTL8139", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_SPAPR_VLAN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_SRIOV", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_VIRTIO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_VMXNET", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_VMXNET3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_NET_VIF_MODEL_IGB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_TPM_1_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_TPM_2_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_TPM_TIS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_TPM_CRB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_TPM_SECRET_SECURITY_HOST", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_TPM_SECRET_SECURITY_DEPLOYMENT", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_UEFI_SECURE_BOOT", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SECURITY_STATELESS_FIRMWARE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOUND_MODEL_SB16", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOUND_MODEL_ES1370", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOUND_MODEL_PCSPK", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOUND_MODEL_AC97", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOUND_MODEL_ICH6", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOUND_MODEL_ICH9", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOUND_MODEL_USB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_SOUND_MODEL_VIRTIO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STATUS_DISABLED", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_FDC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_IDE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_LXC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_SATA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_SCSI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_USB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_VIRTIO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_UML", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_BUS_XEN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_STORAGE_VIRTIO_FS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_USB_MODEL_QEMU_XHCI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_USB_MODEL_NEC_XHCI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_VIOMMU_MODEL_INTEL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_VIOMMU_MODEL_SMMUV3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_VIOMMU_MODEL_VIRTIO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_VIOMMU_MODEL_AUTO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_VOLUME_ATTACH", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_VOLUME_ATTACH_WITH_TAG", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_VOLUME_EXTEND", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:COMPUTE_VOLUME_MULTI_ATTACH", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_ALPHA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_ARMV6", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_ARMV7", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_ARMV7B", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_AARCH64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_CRIS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_I686", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_IA64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_LM32", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_M68K", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_MICROBLAZE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_MICROBLAZEEL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_MIPS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_MIPSEL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_MIPS64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_MIPS64EL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_OPENRISC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_PARISC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_PARISC64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_PPC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_PPCLE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_PPC64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_PPC64LE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_PPCEMB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_S390", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_S390X", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_SH4", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_SH4EB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_SPARC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_SPARC64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_UNICORE32", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_X86_64", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_XTENSA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_ARCH_XTENSAEB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_HYPERTHREADING", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_FP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_ASIMD", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_EVTSTRM", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_AES", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_PMULL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_SHA1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_SHA2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_CRC32", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_FPHP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_ASIMDHP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_ASIMDRDM", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_ATOMICS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_JSCVT", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_FCMA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_LRCPC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_DCPOP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_SHA3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_SM3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_SM4", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_ASIMDDP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_SHA512", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_SVE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AARCH64_CPUID", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_AMD_SEV", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_PPC64LE_POWER8", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_PPC64LE_POWER9", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_CLMUL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_FMA3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_FMA4", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_F16C", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_MMX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SSE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SSE2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SSE3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SSSE3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SSE41", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SSE42", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SSE4A", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_XOP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_3DNOW", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512F", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512CD", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512PF", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512ER", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512VL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512BW", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512DQ", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512VNNI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512VBMI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512IFMA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512VBMI2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512BITALG", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512VAES", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512GFNI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512VPCLMULQDQ", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AVX512VPOPCNTDQ", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_ABM", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_BMI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_BMI2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_TBM", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AESNI", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SHA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_MPX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SGX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_TSX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_ASF", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_VMX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_SVM", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_PDPE1GB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_STIBP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMXBF16", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMXINT8", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMXTILE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMD_SEV", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMD_SEV_ES", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMD_SEV_SNP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMD_SVM", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMD_IBPB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMD_NO_SSB", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMD_SSBD", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_AMD_VIRT_SSBD", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_INTEL_MD_CLEAR", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_INTEL_PCID", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_INTEL_SPEC_CTRL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_INTEL_SSBD", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_INTEL_VMX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_CPU_X86_INTEL_TDX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECTX_V10", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECTX_V11", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECTX_V12", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT2D", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V6_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V7_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V8_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V8_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V9_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V9_0B", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V9_0C", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V9_0L", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V10_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V10_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V11_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V11_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V11_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V11_3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DIRECT3D_V12_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_VULKAN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_DXVA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENCL_V1_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENCL_V1_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENCL_V1_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENCL_V2_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENCL_V2_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENCL_V2_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V1_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V1_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V1_3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V1_4", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V1_5", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V2_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V2_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V3_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V3_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V3_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V3_3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V4_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V4_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V4_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V4_3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V4_4", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_API_OPENGL_V4_5", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V1_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V1_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V1_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V1_3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V2_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V2_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V3_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V3_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V3_5", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V3_7", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V5_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V5_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V5_3", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V6_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V6_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V6_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_SDK_V6_5", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_SDK_V7_5", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_SDK_V8_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_SDK_V9_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_SDK_V9_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_SDK_V9_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_CUDA_SDK_V10_0", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_MAX_DISPLAY_HEADS_1", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_MAX_DISPLAY_HEADS_2", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_MAX_DISPLAY_HEADS_4", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_MAX_DISPLAY_HEADS_6", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_MAX_DISPLAY_HEADS_8", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W320H240", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W640H480", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W800H600", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1024H600", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1024H768", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1152H864", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1280H720", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1280H768", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1280H800", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1280H1024", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1360H768", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1366H768", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1440H900", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1600H900", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1600H1200", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1680H1050", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1920H1080", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W1920H1200", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W2560H1440", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W2560H1600", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W3840H2160", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_GPU_RESOLUTION_W7680H4320", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_SRIOV", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_MULTIQUEUE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_VMDQ", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_PROGRAMMABLE_PIPELINE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_ACCEL_SSL", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_ACCEL_IPSEC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_ACCEL_TLS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_ACCEL_DIFFIEH", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_ACCEL_RSA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_ACCEL_ECC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_ACCEL_LZS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_ACCEL_DEFLATE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_DCB_PFC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_DCB_ETS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_DCB_QCN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_TSO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_GRO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_GSO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_UFO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_LRO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_LSO", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_TCS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_UCS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_SCS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_L2CRC", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_FDF", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_RXVLAN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_TXVLAN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_VXLAN", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_GRE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_GENEVE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_TXUDP", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_QINQ", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_RDMA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_RXHASH", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_RX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_TX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_SG", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_OFFLOAD_SWITCHDEV", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_SRIOV_QOS_TX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_SRIOV_QOS_RX", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_SRIOV_MULTIQUEUE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NIC_SRIOV_TRUSTED", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NUMA_ROOT", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NVME_CES", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NVME_BES", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_NVME_WZS", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_PCI_LIVE_MIGRATABLE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:HW_PCI_ONE_TIME_USE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:MISC_SHARES_VIA_AGGREGATE", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:OWNER_CYBORG", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:OWNER_NOVA", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:STORAGE_DISK_HDD", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:STORAGE_DISK_SSD", _TRAIT, _GROUP),
    ExtraSpec("trait{group}:CUSTOM_{trait}", _TRAIT, (*_GROUP, ("trait", "[A-Z0-9_]+"))),

    # vmware: VMware driver knobs.
    ExtraSpec("vmware:hw_version", StrRule()),
    ExtraSpec("vmware:storage_policy", StrRule()),
)

#: The known namespaces, as regexes (``resources`` and ``trait`` take a group suffix).
NAMESPACES: frozenset[str] = frozenset(
    ns for ns in (spec.namespace for spec in EXTRA_SPECS) if ns is not None
)

_BY_NAME: dict[str, ExtraSpec] = {spec.name: spec for spec in EXTRA_SPECS}


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], ExtraSpec], ...]:
    return tuple((re.compile(spec.name_regex), spec) for spec in EXTRA_SPECS)


@cache
def _compiled_namespaces() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(ns) for ns in sorted(NAMESPACES))


@cache
def _compiled_value_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def find_extra_spec(name: str) -> ExtraSpec | None:
    """The entry that governs ``name`` (steps 1 and 2 of the module's lookup), if any."""
    spec = _BY_NAME.get(name)
    if spec is not None:
        return spec
    for regex, candidate in _compiled():
        if regex.fullmatch(name):
            return candidate
    return None


def _fail(detail: str) -> InvalidExtraSpec:
    return InvalidExtraSpec(f"Validation failed; {detail}")


def _check_value(rule: ValueRule, value: str) -> None:
    if isinstance(rule, BoolRule):
        if value.strip().lower() not in BOOL_STRINGS:
            raise _fail(f"'{value}' is not a valid boolean-like value.")
    elif isinstance(rule, IntRule):
        try:
            number = int(value)
        except ValueError:
            raise _fail(f"'{value}' is not a valid integer value.") from None
        if rule.max is not None and number > rule.max:
            raise _fail(f"'{number}' is greater than the max value of '{rule.max}'.")
        if rule.min is not None and number < rule.min:
            raise _fail(f"'{number}' is less than the min value of '{rule.min}'.")
    elif rule.pattern is not None:
        if not _compiled_value_pattern(rule.pattern).fullmatch(value):
            raise _fail(f"'{value}' is not of the format '{rule.pattern}'.")
    elif rule.enum is not None and value not in rule.enum:
        raise _fail(f"'{value}' is not one of: {', '.join(rule.enum)}.")


def _check(spec: ExtraSpec, name: str, value: str) -> None:
    # An exact hit on a template name (say 'hw:numa_cpus.{num}' itself) lands here
    # without matching the entry's regex; Nova refuses it so.
    if not re.fullmatch(spec.name_regex, name):
        raise _fail(f"expected a name of format '{spec.name}' but got '{name}'.")
    _check_value(spec.value, value)


def validate_extra_spec(name: str, value: str) -> None:
    """Check one extra spec as Nova does from microversion 2.86.

    :raises InvalidExtraSpec: with Nova's message, if Nova would refuse it.
    """
    spec = find_extra_spec(name)
    if spec is not None:
        _check(spec, name, value)
        return
    if ":" not in name:
        return
    prefix = name.split(":", 1)[0]
    if any(ns.fullmatch(prefix) for ns in _compiled_namespaces()):
        raise _fail(f"extra spec '{name}' does not appear to be a valid extra spec.")
