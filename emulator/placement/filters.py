"""Host filters: an ordered table of small functions, as Nova's ``enabled_filters`` names
them. Each answers whether a provider may take the instance being decided.

A filter is ``(provider, decision) -> bool``: ``provider`` is read only (``name``,
``zone``, ``aggregates``, ``traits``, ``capabilities``, ``enabled``, ``free(rc)``,
``consumers``), ``decision`` is what the scheduler knows of the request (``Decision``).
Third parties add filters through the entry point group ``nova_emulator.scheduler_filters``
or a dotted path in ``[scheduler] filters`` (``emulator.placement.plugins``).
"""

from __future__ import annotations

import ipaddress
import json
import operator
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.placement.providers import Provider
from emulator.placement.request import AFFINITY, ANTI_AFFINITY, RequestSpec

Filter = Callable[[Provider, "Decision"], bool]


@dataclass
class Decision:
    """One instance's decision: the request and what the filters and weighers read."""

    spec: RequestSpec
    #: Host -> members of the request's server group there (the instances of this
    #: request already placed included).
    group_hosts: Counter[str] = field(default_factory=Counter)
    #: Hosts of the servers named by the ``same_host`` / ``different_host`` hints.
    same_hosts: frozenset[str] = frozenset()
    different_hosts: frozenset[str] = frozenset()
    #: Aggregate uuid -> its metadata (the aggregates service's, kept by the scheduler).
    aggregate_metadata: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: The enabled filters that can refuse anything for this request (see ``RELEVANT``).
    filters: tuple[Filter, ...] = ()



# -- Nova's extra_specs_ops: how a spec's value is compared ---------------------------------

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda x, y: float(x) >= float(y),
    "<in>": lambda x, y: y in x,
    "<all-in>": lambda x, y: all(v in x for v in y),
    "==": lambda x, y: float(x) == float(y),
    "!=": lambda x, y: float(x) != float(y),
    ">=": lambda x, y: float(x) >= float(y),
    "<=": lambda x, y: float(x) <= float(y),
    "s==": operator.eq, "s!=": operator.ne, "s<": operator.lt, "s<=": operator.le,
    "s>": operator.gt, "s>=": operator.ge,
}


def spec_matches(value: str | None, requirement: str) -> bool:
    """Nova's ``extra_specs_ops.match``: ``requirement`` may start with an operator
    (``= 4``, ``<in> ssd``, ``<or> a <or> b``, ``s== x`` ...); else plain equality."""
    words = requirement.split()
    op = words.pop(0) if words else None
    method = _OPS.get(op) if op is not None else None
    if op != "<or>" and method is None:
        return value == requirement
    if value is None:
        return False
    if op == "<or>":
        while words:
            if words.pop(0) == value:
                return True
            if words:
                words.pop(0)  # the next <or>
        return False
    if not words:
        return False
    try:
        return bool(method(value, words if op == "<all-in>" else words[0]))  # type: ignore[misc]
    except ValueError:  # a numeric operator on a non-number
        return False


# -- the filters ---------------------------------------------------------------------------


def compute_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``ComputeFilter``: the compute service is enabled (and up)."""
    return p.enabled


def availability_zone_filter(p: Provider, d: Decision) -> bool:
    return d.spec.zone is None or p.zone == d.spec.zone


def compute_capabilities_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``ComputeCapabilitiesFilter``: ``capabilities:<key>`` extra specs (and bare
    keys the host has) match the host's capabilities."""
    if not d.spec.flavor_extra_specs:
        return True
    for key, requirement in d.spec.flavor_extra_specs.items():
        scope = key.split(":")
        if len(scope) == 1:
            if key not in p.capabilities:
                continue
        elif scope[0] != "capabilities":
            continue
        else:
            key = ":".join(scope[1:])
        if not spec_matches(p.capabilities.get(key), str(requirement)):
            return False
    return True


#: Image properties and the host capability each names (Nova's ImagePropertiesFilter).
_IMAGE_PROPERTIES = {"hw_architecture": "cpu_arch", "architecture": "cpu_arch",
                     "img_hv_type": "hypervisor_type", "hypervisor_type": "hypervisor_type",
                     "hw_vm_mode": "vm_mode", "vm_mode": "vm_mode"}


def image_properties_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``ImagePropertiesFilter``: the image's architecture, hypervisor type and
    VM mode are ones the host supports (a property the image leaves out matches all)."""
    if not d.spec.image_properties:
        return True
    for prop, capability in _IMAGE_PROPERTIES.items():
        wanted = d.spec.image_properties.get(prop)
        if wanted is not None and p.capabilities.get(capability, wanted).lower() \
                != str(wanted).lower():
            return False
    return True


def server_group_anti_affinity_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``ServerGroupAntiAffinityFilter``: at most ``max_server_per_host`` (2.64
    rules, else 1) members of the group on one host."""
    group = d.spec.group
    if group is None or group.policy != ANTI_AFFINITY:
        return True
    return d.group_hosts[p.name] < (group.max_server_per_host or 1)


def server_group_affinity_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``ServerGroupAffinityFilter``: once a member is placed, only its host."""
    group = d.spec.group
    if group is None or group.policy != AFFINITY or not d.group_hosts:
        return True
    return p.name in d.group_hosts


def same_host_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``SameHostFilter`` (the ``same_host`` hint)."""
    return not d.spec.same_host or p.name in d.same_hosts


def different_host_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``DifferentHostFilter`` (the ``different_host`` hint)."""
    return not d.spec.different_host or p.name not in d.different_hosts


def _aggregate_values(p: Provider, d: Decision, key: str) -> set[str]:
    values: set[str] = set()
    for uuid in p.aggregates:
        value = d.aggregate_metadata.get(uuid, {}).get(key)
        if value is not None:
            values.update(v.strip() for v in value.split(","))
    return values


def aggregate_instance_extra_specs_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``AggregateInstanceExtraSpecsFilter``: flavor extra specs (bare or
    ``aggregate_instance_extra_specs:``) must match a value of the host's aggregates."""
    if not d.spec.flavor_extra_specs:
        return True
    for key, requirement in d.spec.flavor_extra_specs.items():
        scope = key.split(":", 1)
        if len(scope) > 1:
            if scope[0] != "aggregate_instance_extra_specs":
                continue
            key = scope[1]
        values = _aggregate_values(p, d, key)
        if not values or not any(spec_matches(v, str(requirement)) for v in values):
            return False
    return True


def aggregate_multi_tenancy_isolation(p: Provider, d: Decision) -> bool:
    """Nova's ``AggregateMultiTenancyIsolation``: a host in aggregates with
    ``filter_tenant_id`` takes only those projects."""
    if not p.aggregates:
        return True
    tenants = _aggregate_values(p, d, "filter_tenant_id")
    return not tenants or d.spec.project_id in tenants


# -- Nova's JsonFilter: a query hint over the host's state -------------------------------------

_JSON_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<": operator.lt, ">": operator.gt, "<=": operator.le,
    ">=": operator.ge}


def _host_state(p: Provider) -> dict[str, Any]:
    """The ``HostState`` attributes a JsonFilter query may name (``$free_ram_mb`` ...)."""
    return {
        "host": p.name, "nodename": p.name, "free_ram_mb": p.free("MEMORY_MB"),
        "free_disk_mb": p.free("DISK_GB") * 1024, "vcpus_total": p.capacity.get("VCPU", 0),
        "vcpus_used": p.used.get("VCPU", 0), "total_usable_ram_mb": p.capacity.get(
            "MEMORY_MB", 0), "total_usable_disk_gb": p.capacity.get("DISK_GB", 0),
        "num_instances": p.consumers, "hypervisor_type": p.capabilities.get("hypervisor_type"),
        "host_ip": p.capabilities.get("host_ip"), "cpu_arch": p.capabilities.get("cpu_arch")}


def _json_query(query: Any, state: dict[str, Any]) -> Any:
    """Nova's ``JsonFilter._process_filter``: ``[op, arg, ...]`` with ``$name`` variables;
    arguments that resolve to nothing are dropped before the operator sees them."""
    if not query:
        return True
    op, args = query[0], []
    for arg in query[1:]:
        if isinstance(arg, list):
            arg = _json_query(arg, state)
        elif isinstance(arg, str) and arg.startswith("$"):
            arg = state.get(arg[1:].split(".")[0])
        if arg is not None:
            args.append(arg)
    if op in _JSON_COMPARE:
        compare = _JSON_COMPARE[op]
        return len(args) >= 2 and all(compare(args[0], other) for other in args[1:])
    if op == "in":
        return len(args) >= 2 and args[0] in args[1:]
    if op == "not":
        return [not arg for arg in args]
    if op == "or":
        return any(args)
    if op == "and":
        return all(args)
    raise ValueError(f"unknown JsonFilter operator {op!r}")


def json_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``JsonFilter``: the ``query`` hint (JSON text or the decoded list) holds
    for the host. NOTE: off by default as in Nova; a query it cannot read passes no host."""
    query = d.spec.hints.get("query")
    if not query:
        return True
    try:
        result = _json_query(json.loads(query) if isinstance(query, str) else query,
                             _host_state(p))
    except (ValueError, TypeError, IndexError, KeyError):
        return False
    return bool(any(result) if isinstance(result, list) else result)


def simple_cidr_affinity_filter(p: Provider, d: Decision) -> bool:
    """Nova's ``SimpleCIDRAffinityFilter``: with ``build_near_host_ip``, only hosts whose
    address is in that network (``cidr`` hint, default ``/24``)."""
    near = d.spec.hints.get("build_near_host_ip")
    if not near:
        return True
    try:
        network = ipaddress.ip_network(f"{near}{d.spec.hints.get('cidr') or '/24'}",
                                       strict=False)
        return ipaddress.ip_address(str(p.capabilities.get("host_ip", ""))) in network
    except ValueError:
        return False


#: Nova's filter names -> the filters; ``[scheduler] filters`` enables them in order.
FILTERS: dict[str, Filter] = {
    "ComputeFilter": compute_filter,
    "AvailabilityZoneFilter": availability_zone_filter,
    "ComputeCapabilitiesFilter": compute_capabilities_filter,
    "ImagePropertiesFilter": image_properties_filter,
    "ServerGroupAntiAffinityFilter": server_group_anti_affinity_filter,
    "ServerGroupAffinityFilter": server_group_affinity_filter,
    "SameHostFilter": same_host_filter,
    "DifferentHostFilter": different_host_filter,
    "AggregateInstanceExtraSpecsFilter": aggregate_instance_extra_specs_filter,
    "AggregateMultiTenancyIsolation": aggregate_multi_tenancy_isolation,
    "JsonFilter": json_filter,
    "SimpleCIDRAffinityFilter": simple_cidr_affinity_filter,
}

#: When a built-in filter can refuse a host at all: the others pass every host for that
#: request, and the scheduler leaves them out of its decision (a plug-in always runs).
RELEVANT: dict[Filter, Callable[[RequestSpec], bool]] = {
    availability_zone_filter: lambda spec: spec.zone is not None,
    compute_capabilities_filter: lambda spec: bool(spec.flavor_extra_specs),
    image_properties_filter: lambda spec: bool(spec.image_properties),
    server_group_anti_affinity_filter: lambda spec: spec.group is not None,
    server_group_affinity_filter: lambda spec: spec.group is not None,
    same_host_filter: lambda spec: bool(spec.same_host),
    different_host_filter: lambda spec: bool(spec.different_host),
    aggregate_instance_extra_specs_filter: lambda spec: bool(spec.flavor_extra_specs),
    json_filter: lambda spec: bool(spec.hints.get("query")),
    simple_cidr_affinity_filter: lambda spec: bool(spec.hints.get("build_near_host_ip")),
}

#: ``[filter_scheduler] enabled_filters`` as devstack sets it (the cloud Tempest and most
#: users test against). NOTE: Nova's own default leaves out SameHostFilter and
#: DifferentHostFilter, so there the ``same_host``/``different_host`` hints do nothing;
#: the zone is placement's request filter here, as in Nova since it dropped
#: AvailabilityZoneFilter.
DEFAULT_FILTERS = ("ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
                   "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
                   "SameHostFilter", "DifferentHostFilter")
