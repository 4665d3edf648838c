"""Every extra spec Nova knows, in the order Nova registers them (which is the order in
which name regexes are tried); names are unique. Runs of entries that differ only in a
name are built from lists of those names.
"""

from __future__ import annotations

from emulator.compute.extra_specs.rules import BoolRule, ExtraSpec, IntRule, StrRule
from emulator.compute.extra_specs.standard import STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS

# Parameters shared by many entries.
#: The optional request group suffix of ``resources`` and ``trait`` (``resources_gpu1:...``).
_GROUP: tuple[tuple[str, str], ...] = (("group", r"([a-zA-Z0-9_-]{1,64})?"),)
#: The optional ``:key:subkey...`` path into a nested host capability.
_FILTER: tuple[tuple[str, str], ...] = (("filter", r"(:\w+)*"),)
#: The value of any ``trait`` spec.
_TRAIT = StrRule(enum=("required", "forbidden"))
#: A CPU list such as ``0-3,^2`` (``hw:cpu_dedicated_mask``, ``hw:numa_cpus.N``).
_CPU_LIST = StrRule(pattern=r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*")
#: VMware's shares levels.
_SHARES_LEVEL = StrRule(enum=("custom", "high", "normal", "low"))

#: ComputeCapabilitiesFilter's plain compute node / host state fields ('vcpus_used' is
#: listed twice upstream, once from each source; registered once).
_CAPABILITY_FIELDS = (
    "id", "uuid", "service_id", "host", "vcpus", "memory_mb", "local_gb", "vcpus_used",
    "memory_mb_used", "local_gb_used", "hypervisor_type", "hypervisor_version",
    "hypervisor_hostname", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
    "disk_available_least", "host_ip", "mapped", "cpu_allocation_ratio",
    "ram_allocation_ratio", "disk_allocation_ratio", "total_usable_ram_mb",
    "total_usable_disk_gb", "disk_mb_used", "free_disk_mb", "vcpus_total", "num_instances",
    "num_io_ops", "failed_builds", "aggregates", "cell_uuid", "updated",
)
#: Its nested fields, which take an optional ``:sub:key`` path.
_NESTED_CAPABILITY_FIELDS = (
    "cpu_info", "metrics", "stats", "numa_topology", "supported_hv_specs", "pci_device_pools",
    "nodename", "pci_stats", "supported_instances", "limits", "instances",
)
#: The resources VMware's allocation knobs (limit, reservation, shares) exist for.
_VMWARE_QUOTAS = ("cpu", "memory", "disk_io", "vif")
#: libvirt's disk IO tuning and VIF bandwidth knobs, all non-negative integers.
_LIBVIRT_IO_QUOTAS = (
    *(f"disk_{op}_{unit}_sec" for op in ("read", "write", "total") for unit in ("bytes", "iops")),
    *(f"vif_{way}_{what}" for way in ("inbound", "outbound")
      for what in ("average", "peak", "burst")),
)

EXTRA_SPECS: tuple[ExtraSpec, ...] = (
    # accel: the Cyborg device profile to attach.
    ExtraSpec("accel:device_profile", StrRule()),

    # aggregate_instance_extra_specs: AggregateInstanceExtraSpecsFilter matches, any key,
    # any (operator-prefixed) value.
    ExtraSpec("aggregate_instance_extra_specs:{key}", StrRule(), (("key", ".+"),)),

    # capabilities: ComputeCapabilitiesFilter matches on compute node / host state fields.
    *(ExtraSpec(f"capabilities:{name}", StrRule()) for name in _CAPABILITY_FIELDS),
    *(ExtraSpec(f"capabilities:{name}{{filter}}", StrRule(), _FILTER)
      for name in _NESTED_CAPABILITY_FIELDS),

    # hw: guest hardware (libvirt for the most part).
    ExtraSpec("hw:cpu_realtime", BoolRule()),
    ExtraSpec("hw:cpu_realtime_mask", StrRule(pattern=r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*")),
    ExtraSpec("hw:hide_hypervisor_id", BoolRule()),
    ExtraSpec("hw:cpu_policy", StrRule(enum=("dedicated", "shared", "mixed"))),
    ExtraSpec("hw:cpu_thread_policy", StrRule(enum=("prefer", "isolate", "require"))),
    ExtraSpec("hw:emulator_threads_policy", StrRule(enum=("isolate", "share"))),
    ExtraSpec("hw:cpu_dedicated_mask", _CPU_LIST),
    ExtraSpec("hw:mem_page_size", StrRule(pattern=r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)")),
    ExtraSpec("hw:locked_memory", BoolRule()),
    ExtraSpec("hw:numa_nodes", IntRule(min=1)),
    ExtraSpec("hw:numa_cpus.{num}", _CPU_LIST, (("num", r"\d+"),)),
    ExtraSpec("hw:numa_mem.{num}", IntRule(min=1), (("num", r"\d+"),)),
    ExtraSpec(
        "hw:pci_numa_affinity_policy",
        StrRule(enum=("required", "preferred", "legacy", "socket")),
    ),
    # hw:cpu_sockets, cores, threads, then hw:cpu_max_sockets, cores, threads
    *(ExtraSpec(f"hw:cpu_{limit}{part}", IntRule(min=1))
      for limit in ("", "max_") for part in ("sockets", "cores", "threads")),
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
    *(spec for resource in _VMWARE_QUOTAS for spec in (
        ExtraSpec(f"quota:{resource}_limit", IntRule(min=0)),
        ExtraSpec(f"quota:{resource}_reservation", IntRule()),
        ExtraSpec(f"quota:{resource}_shares_level", _SHARES_LEVEL),
        ExtraSpec(f"quota:{resource}_shares_share", IntRule(min=0)),
    )),
    ExtraSpec("quota:cpu_shares", IntRule(min=0)),
    ExtraSpec("quota:cpu_period", IntRule(min=0)),
    ExtraSpec("quota:cpu_quota", IntRule()),
    *(ExtraSpec(f"quota:{name}", IntRule(min=0)) for name in _LIBVIRT_IO_QUOTAS),

    # resources[GROUP]: placement resource amounts; the standard resource classes, then
    # any CUSTOM_ class.
    *(ExtraSpec(f"resources{{group}}:{name}", IntRule(), _GROUP)
      for name in STANDARD_RESOURCE_CLASSES),
    ExtraSpec("resources{group}:CUSTOM_{resource}", IntRule(),
              (*_GROUP, ("resource", "[A-Z0-9_]+"))),

    # trait[GROUP]: required/forbidden placement traits; the standard traits, then any
    # CUSTOM_ trait.
    *(ExtraSpec(f"trait{{group}}:{name}", _TRAIT, _GROUP) for name in STANDARD_TRAITS),
    ExtraSpec("trait{group}:CUSTOM_{trait}", _TRAIT, (*_GROUP, ("trait", "[A-Z0-9_]+"))),

    # vmware: VMware driver knobs.
    ExtraSpec("vmware:hw_version", StrRule()),
    ExtraSpec("vmware:storage_policy", StrRule()),
)

#: The known namespaces, as regexes (``resources`` and ``trait`` take a group suffix).
NAMESPACES: frozenset[str] = frozenset(
    ns for ns in (spec.namespace for spec in EXTRA_SPECS) if ns is not None
)
