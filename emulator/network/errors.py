"""Neutron's exceptions as data: each name (the ``type`` of a ``NeutronError`` body) with
its category and message, as ``neutron_lib.exceptions`` and Neutron's extensions word them.

The domain raises ``fail("NetworkNotFound", net_id=...)``; the category is one of the
emulator's semantic errors (not found, conflict, bad input, forbidden), so the API maps it
to a status through the shared table and renders ``kind`` as Neutron's ``type``.
"""

from __future__ import annotations

from typing import Any

from emulator.errors import Conflict, EmulatorError, Forbidden, InvalidInput, NotFound


class NeutronNotFound(NotFound):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class NeutronConflict(Conflict):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class NeutronBadRequest(InvalidInput):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class NeutronForbidden(Forbidden):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


Category = type[NeutronNotFound | NeutronConflict | NeutronBadRequest | NeutronForbidden]

#: Neutron's exception name -> (category, message with ``%(name)s`` parameters).
ERRORS: dict[str, tuple[Category, str]] = {
    # webob's own (the API layer's checks)
    "HTTPBadRequest": (NeutronBadRequest, "%(msg)s"),
    "HTTPNotFound": (NeutronNotFound, "%(msg)s"),
    "InvalidInput": (NeutronBadRequest, "Invalid input for operation: %(error_message)s."),
    "BadRequest": (NeutronBadRequest, "Bad %(resource)s request: %(msg)s."),
    "PolicyNotAuthorized": (NeutronForbidden, "%(rule)s is disallowed by policy"),
    # not found
    "NetworkNotFound": (NeutronNotFound, "Network %(net_id)s could not be found."),
    "SubnetNotFound": (NeutronNotFound, "Subnet %(subnet_id)s could not be found."),
    "SubnetPoolNotFound": (NeutronNotFound,
                           "Subnet pool %(subnetpool_id)s could not be found."),
    "PortNotFound": (NeutronNotFound, "Port %(port_id)s could not be found."),
    "SecurityGroupNotFound": (NeutronNotFound, "Security group %(id)s does not exist"),
    "SecurityGroupRuleNotFound": (NeutronNotFound,
                                  "Security group rule %(id)s does not exist"),
    "RouterNotFound": (NeutronNotFound, "Router %(router_id)s could not be found"),
    "FloatingIPNotFound": (NeutronNotFound,
                           "Floating IP %(floatingip_id)s could not be found"),
    "ExternalGatewayForFloatingIPNotFound": (
        NeutronNotFound, "External network %(external_network_id)s is not reachable from "
        "subnet %(subnet_id)s.  Therefore, cannot associate Port %(port_id)s with a "
        "Floating IP."),
    "RouterInterfaceNotFound": (NeutronNotFound, "Router %(router_id)s does not have an "
                                "interface with id %(port_id)s"),
    "RouterInterfaceNotFoundForSubnet": (NeutronNotFound, "Router %(router_id)s has no "
                                         "interface on subnet %(subnet_id)s"),
    "TagNotFound": (NeutronNotFound, "Tag %(tag)s could not be found for %(resource)s "
                    "%(resource_id)s."),
    "QuotaResourceUnknown": (NeutronNotFound, "Unknown quota resources %(unknown)s."),
    # conflicts and things in use
    "NetworkInUse": (NeutronConflict, "Unable to complete operation on network %(net_id)s. "
                     "There are one or more ports still in use on the network."),
    "SubnetInUse": (NeutronConflict, "Unable to complete operation on subnet %(subnet_id)s: "
                    "One or more ports have an IP allocation from this subnet."),
    "IpAddressInUse": (NeutronConflict, "Unable to complete operation for network "
                       "%(net_id)s. The IP address %(ip_address)s is in use."),
    "MacAddressInUse": (NeutronConflict, "Unable to complete operation for network "
                        "%(net_id)s. The mac address %(mac)s is in use."),
    "IpAddressGenerationFailure": (NeutronConflict, "No more IP addresses available on "
                                   "network %(net_id)s."),
    "OverQuota": (NeutronConflict, "Quota exceeded for resources: %(overs)s."),
    "OverlappingAllocationPools": (NeutronConflict, "Found overlapping allocation pools: "
                                   "%(pool_1)s %(pool_2)s for subnet %(subnet_cidr)s."),
    "GatewayConflictWithAllocationPools": (NeutronConflict, "Gateway ip %(ip_address)s "
                                           "conflicts with allocation pool %(pool)s."),
    "SecurityGroupInUse": (NeutronConflict, "Security Group %(id)s in use."),
    "SecurityGroupCannotRemoveDefault": (
        NeutronConflict, "Insufficient rights for removing default security group."),
    "SecurityGroupCannotUpdateDefault": (
        NeutronConflict, "Updating default security group not allowed."),
    "SecurityGroupDefaultAlreadyExists": (NeutronConflict,
                                          "Default security group already exists."),
    "SecurityGroupRuleExists": (NeutronConflict, "Security group rule already exists. "
                                "Rule id is %(rule_id)s."),
    "RouterInUse": (NeutronConflict, "Router %(router_id)s still has ports"),
    "RouterInterfaceInUseByFloatingIP": (
        NeutronConflict, "Router interface for subnet %(subnet_id)s on router %(router_id)s "
        "cannot be deleted, as it is required by one or more floating IPs."),
    "RouterExternalGatewayInUseByFloatingIp": (
        NeutronConflict, "Gateway cannot be updated for router %(router_id)s, since a "
        "gateway to external network %(net_id)s is required by one or more floating IPs."),
    "FloatingIPPortAlreadyAssociated": (
        NeutronConflict, "Cannot associate floating IP %(floating_ip_address)s "
        "(%(fip_id)s) with port %(port_id)s using fixed IP %(fixed_ip)s, as that fixed IP "
        "already has a floating IP on external network %(net_id)s."),
    "PortInUse": (NeutronConflict, "Unable to complete operation on port %(port_id)s for "
                  "network %(net_id)s. Port already has an attached device %(device_id)s."),
    "PortBound": (NeutronConflict, "Unable to complete operation on port %(port_id)s, port is "
                  "already bound, port type: %(vif_type)s, old_mac %(old_mac)s, new_mac "
                  "%(new_mac)s."),
    "PortSecurityPortHasSecurityGroup": (
        NeutronConflict, "Port has security group associated. Cannot disable port security "
        "or IP address until security group is removed."),
    "L3PortInUse": (NeutronConflict, "Port %(port_id)s has owner %(device_owner)s and "
                    "therefore cannot be deleted directly via the port API."),
    "InvalidSharedSetting": (NeutronConflict, "Unable to reconfigure sharing settings for "
                             "network %(network)s. Multiple projects are using it."),
    "InvalidQuotaValue": (NeutronConflict, "Change would make usage less than 0 for the "
                          "following resources: %(unders)s."),
    "DefaultExternalNetworkExists": (NeutronConflict,
                                     "A default external network already exists: %(net_id)s."),
    "AutoAllocationFailure": (NeutronConflict, "Deployment error: %(reason)s."),
    # bad requests
    "PortSecurityAndIPRequiredForSecurityGroups": (
        NeutronBadRequest, "Port security must be enabled and port must have an IP address "
        "in order to use security groups."),
    "InvalidIpForNetwork": (NeutronBadRequest, "IP address %(ip_address)s is not a valid "
                            "IP for any of the subnets on the specified network."),
    "InvalidIpForSubnet": (NeutronBadRequest, "IP address %(ip_address)s is not a valid IP "
                           "for the specified subnet."),
    "InvalidAllocationPool": (NeutronBadRequest, "The allocation pool %(pool)s is not "
                              "valid."),
    "OutOfBoundsAllocationPool": (NeutronBadRequest, "The allocation pool %(pool)s spans "
                                  "beyond the subnet cidr %(subnet_cidr)s."),
    "DNSNameServersExhausted": (NeutronBadRequest, "Unable to complete operation for "
                                "%(subnet_id)s. The number of DNS nameservers exceeds the "
                                "limit %(quota)s."),
    "HostRoutesExhausted": (NeutronBadRequest, "Unable to complete operation for "
                            "%(subnet_id)s. The number of host routes exceeds the limit "
                            "%(quota)s."),
    "InvalidCIDR": (NeutronBadRequest, "Invalid CIDR %(input)s given as IP prefix."),
    "ExternalIpAddressExhausted": (NeutronBadRequest, "Unable to find any IP address on "
                                   "external network %(net_id)s."),
    "BadL3Request": (NeutronBadRequest, "Bad router request: %(msg)s."),
    "SecurityGroupInvalidPortRange": (NeutronBadRequest, "For TCP/UDP protocols, "
                                      "port_range_min must be <= port_range_max"),
    "SecurityGroupInvalidPortValue": (NeutronBadRequest, "Invalid value for port %(port)s"),
    "SecurityGroupInvalidIcmpValue": (NeutronBadRequest, "Invalid value for ICMP %(field)s "
                                      "(%(attr)s) %(value)s. It must be 0 to 255."),
    "SecurityGroupMissingIcmpType": (NeutronBadRequest, "ICMP code (port-range-max) "
                                     "%(value)s is provided but ICMP type (port-range-min) "
                                     "is missing."),
    "SecurityGroupInvalidProtocolForPort": (
        NeutronBadRequest, "Ports cannot be specified for protocol %(protocol)s. Ports are "
        "only supported for %(valid_port_protocols)s."),
    "SecurityGroupEthertypeConflictWithProtocol": (
        NeutronBadRequest, "Invalid ethertype %(ethertype)s for protocol %(protocol)s."),
    "SecurityGroupRuleInvalidProtocol": (
        NeutronBadRequest, "Security group rule protocol %(protocol)s not supported. Only "
        "protocol values %(values)s and integer representations [0 to 255] are supported."),
    "SecurityGroupRuleInvalidEtherType": (
        NeutronBadRequest, "Security group rule for ethertype '%(ethertype)s' not "
        "supported. Allowed values are %(values)s."),
    "SecurityGroupMultipleRemoteEntites": (
        NeutronBadRequest, "Only one of remote_ip_prefix or remote_group_id or "
        "remote_address_group_id may be provided."),
    "SecurityGroupProtocolRequiredWithPorts": (
        NeutronBadRequest, "Must also specify protocol if port range is given."),
    "SecurityGroupRuleParameterConflict": (
        NeutronBadRequest, "Conflicting value ethertype %(ethertype)s for CIDR %(cidr)s"),
    "SecurityGroupRemoteGroupNotFound": (NeutronNotFound,
                                         "Security group %(id)s does not exist"),
    "TenantIdProjectIdFilterConflict": (NeutronBadRequest,
                                        "Both tenant_id and project_id passed as filters."),
}


def fail(kind: str, **params: Any) -> EmulatorError:
    """The error Neutron raises as ``kind``, its message filled from ``params``."""
    category, template = ERRORS[kind]
    return category(kind, template % params)


def bad_request(message: str) -> EmulatorError:
    """webob's ``HTTPBadRequest`` with ``message`` (the API layer's validation)."""
    return fail("HTTPBadRequest", msg=message)


def invalid_input(message: str) -> EmulatorError:
    """Neutron's ``InvalidInput``: ``Invalid input for operation: <message>.``"""
    return fail("InvalidInput", error_message=message)


def not_authorized(rule: str) -> EmulatorError:
    """oslo.policy's refusal of ``rule``."""
    return fail("PolicyNotAuthorized", rule=rule)


def resource_not_found() -> EmulatorError:
    """webob's ``HTTPNotFound`` as Neutron's API layer raises it (someone else's network
    hidden, an unknown path)."""
    return fail("HTTPNotFound", msg="The resource could not be found.")
