"""Neutron's tables: networks, subnets, ports and their IP allocations, security groups
and rules, routers, floating IPs, tags, quotas and auto-allocated topologies.

Every resource row carries Neutron's standard attributes (project, description, revision
number, timestamps as aware UTC). Lists a subnet owns (allocation pools, DNS servers, host
routes) are JSON columns; what must stay unique or be looked up (a fixed IP on a subnet, a
port's security groups, tags) has its own table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel


class NeutronNetwork(SQLModel, table=True):
    __tablename__ = "neutron_network"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(default="", max_length=255)
    project_id: str = Field(index=True, max_length=255)
    admin_state_up: bool = True
    status: str = Field(default="ACTIVE", max_length=16)
    shared: bool = False
    #: ``router:external``.
    external: bool = False
    #: The default external network (auto-allocated topology).
    is_default: bool = False
    mtu: int = 1500
    network_type: str | None = Field(default=None, max_length=32)
    physical_network: str | None = Field(default=None, max_length=64)
    segmentation_id: int | None = None
    port_security_enabled: bool = True
    availability_zone_hints: list[str] = Field(default_factory=list, sa_type=JSON)
    description: str = Field(default="", max_length=255)
    revision_number: int = 0
    created_at: datetime
    updated_at: datetime


class NeutronSubnet(SQLModel, table=True):
    __tablename__ = "neutron_subnet"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(default="", max_length=255)
    project_id: str = Field(index=True, max_length=255)
    network_id: str = Field(foreign_key="neutron_network.id", index=True, max_length=36)
    ip_version: int
    cidr: str = Field(max_length=64)
    gateway_ip: str | None = Field(default=None, max_length=64)
    enable_dhcp: bool = True
    ipv6_ra_mode: str | None = Field(default=None, max_length=16)
    ipv6_address_mode: str | None = Field(default=None, max_length=16)
    #: [{"start": ..., "end": ...}] in order.
    allocation_pools: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    dns_nameservers: list[str] = Field(default_factory=list, sa_type=JSON)
    host_routes: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    description: str = Field(default="", max_length=255)
    revision_number: int = 0
    created_at: datetime
    updated_at: datetime


class NeutronPort(SQLModel, table=True):
    __tablename__ = "neutron_port"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(default="", max_length=255)
    project_id: str = Field(index=True, max_length=255)
    network_id: str = Field(foreign_key="neutron_network.id", index=True, max_length=36)
    mac_address: str = Field(index=True, max_length=32)
    admin_state_up: bool = True
    status: str = Field(default="DOWN", max_length=16)
    device_id: str = Field(default="", index=True, max_length=255)
    device_owner: str = Field(default="", max_length=255)
    port_security_enabled: bool = True
    binding_host_id: str = Field(default="", max_length=255)
    binding_vnic_type: str = Field(default="normal", max_length=64)
    binding_profile: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    description: str = Field(default="", max_length=255)
    revision_number: int = 0
    created_at: datetime
    updated_at: datetime


class NeutronIPAllocation(SQLModel, table=True):
    """A fixed IP of a port; the key makes an address unique on its subnet."""

    __tablename__ = "neutron_ip_allocation"

    subnet_id: str = Field(foreign_key="neutron_subnet.id", primary_key=True, max_length=36)
    ip_address: str = Field(primary_key=True, max_length=64)
    port_id: str = Field(foreign_key="neutron_port.id", index=True, max_length=36)
    network_id: str = Field(index=True, max_length=36)
    #: The order the port lists its fixed IPs in.
    position: int = 0


class NeutronPortSecurityGroup(SQLModel, table=True):
    __tablename__ = "neutron_port_security_group"

    port_id: str = Field(foreign_key="neutron_port.id", primary_key=True, max_length=36)
    security_group_id: str = Field(foreign_key="neutron_security_group.id",
                                   primary_key=True, index=True, max_length=36)


class NeutronSecurityGroup(SQLModel, table=True):
    __tablename__ = "neutron_security_group"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(default="", max_length=255)
    project_id: str = Field(index=True, max_length=255)
    stateful: bool = True
    description: str = Field(default="", max_length=255)
    revision_number: int = 0
    created_at: datetime
    updated_at: datetime


class NeutronDefaultSecurityGroup(SQLModel, table=True):
    """Each project's ``default`` group: the key makes it one per project."""

    __tablename__ = "neutron_default_security_group"

    project_id: str = Field(primary_key=True, max_length=255)
    security_group_id: str = Field(foreign_key="neutron_security_group.id", max_length=36)


class NeutronSecurityGroupRule(SQLModel, table=True):
    __tablename__ = "neutron_security_group_rule"

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(index=True, max_length=255)
    security_group_id: str = Field(foreign_key="neutron_security_group.id", index=True,
                                   max_length=36)
    direction: str = Field(max_length=8)
    ethertype: str = Field(default="IPv4", max_length=8)
    protocol: str | None = Field(default=None, max_length=40)
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = Field(default=None, max_length=64)
    remote_group_id: str | None = Field(default=None, index=True, max_length=36)
    description: str = Field(default="", max_length=255)
    revision_number: int = 0
    created_at: datetime
    updated_at: datetime


class NeutronRouter(SQLModel, table=True):
    __tablename__ = "neutron_router"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(default="", max_length=255)
    project_id: str = Field(index=True, max_length=255)
    admin_state_up: bool = True
    status: str = Field(default="ACTIVE", max_length=16)
    #: The external gateway: its network and port (None: no gateway).
    gw_network_id: str | None = Field(default=None, max_length=36)
    gw_port_id: str | None = Field(default=None, max_length=36)
    enable_snat: bool = True
    description: str = Field(default="", max_length=255)
    revision_number: int = 0
    created_at: datetime
    updated_at: datetime


class NeutronFloatingIP(SQLModel, table=True):
    __tablename__ = "neutron_floating_ip"

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(index=True, max_length=255)
    floating_ip_address: str = Field(max_length=64)
    floating_network_id: str = Field(foreign_key="neutron_network.id", index=True,
                                     max_length=36)
    #: The port on the external network that holds the address.
    floating_port_id: str = Field(foreign_key="neutron_port.id", max_length=36)
    fixed_port_id: str | None = Field(default=None, index=True, max_length=36)
    fixed_ip_address: str | None = Field(default=None, max_length=64)
    router_id: str | None = Field(default=None, index=True, max_length=36)
    status: str = Field(default="DOWN", max_length=16)
    description: str = Field(default="", max_length=255)
    revision_number: int = 0
    created_at: datetime
    updated_at: datetime


class NeutronTag(SQLModel, table=True):
    __tablename__ = "neutron_tag"

    resource_id: str = Field(primary_key=True, max_length=36)
    tag: str = Field(primary_key=True, max_length=255)


class NeutronQuota(SQLModel, table=True):
    """A project's limit of one resource, where it is not the default."""

    __tablename__ = "neutron_quota"

    project_id: str = Field(primary_key=True, max_length=255)
    resource: str = Field(primary_key=True, max_length=64)
    limit: int


class NeutronAutoAllocatedTopology(SQLModel, table=True):
    __tablename__ = "neutron_auto_allocated_topology"

    project_id: str = Field(primary_key=True, max_length=255)
    network_id: str = Field(max_length=36)
    router_id: str = Field(max_length=36)
