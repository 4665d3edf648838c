"""The extensions this Neutron has (``GET /v2.0/extensions``): clients and Tempest read the
list to decide what to call, so it names exactly what is served."""

from __future__ import annotations

from typing import Any

from emulator.network.errors import fail

#: (alias, name, description, updated), as Neutron's extension descriptors give them.
EXTENSIONS: tuple[tuple[str, str, str, str], ...] = (
    ("auto-allocated-topology", "Auto Allocated Topology Services",
     "Auto Allocated Topology Services.", "2016-01-01T00:00:00-00:00"),
    ("availability_zone", "Availability Zone", "The availability zone extension.",
     "2015-01-01T10:00:00-00:00"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external "
     "application", "2014-02-03T10:00:00-00:00"),
    ("empty-string-filtering", "Empty String Filtering Extension",
     "Allow filtering by attributes with empty string value", "2018-05-01T10:00:00-00:00"),
    ("external-net", "Neutron external network", "Adds external network attribute to "
     "network resource.", "2013-01-14T10:00:00-00:00"),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the "
     "router abstraction for specifying whether SNAT should occur on the external gateway",
     "2013-03-28T10:00:00-00:00"),
    ("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute "
     "to Floating IP resource", "2018-04-09T10:00:00-00:00"),
    ("filter-validation", "Filter parameters validation", "Provides validation on filter "
     "parameters.", "2018-03-21T10:00:00-00:00"),
    ("network_availability_zone", "Network Availability Zone", "Availability zone support "
     "for network.", "2015-01-01T10:00:00-00:00"),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource.",
     "2015-03-25T10:00:00-00:00"),
    ("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a "
     "network resource.", "2017-07-12T00:00:00-00:00"),
    ("pagination", "Pagination support", "Extension that indicates that pagination is "
     "enabled.", "2016-06-12T00:00:00-00:00"),
    ("port-security", "Port Security", "Provides port security",
     "2012-07-23T10:00:00-00:00"),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id "
     "field is enabled.", "2016-09-09T09:09:09-09:09"),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical "
     "networks", "2012-09-07T10:00:00-00:00"),
    ("quotas", "Quota management support", "Expose functions for quotas management per "
     "project", "2012-07-29T10:00:00-00:00"),
    ("quota_details", "Quota details management support", "Expose functions for quotas "
     "usage statistics per project", "2017-02-10T10:00:00-00:00"),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 "
     "Neutron networks and access to external networks via a NAT gateway.",
     "2012-07-20T10:00:00-00:00"),
    ("security-group", "security-group", "The security groups extension.",
     "2012-10-05T10:00:00-00:00"),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled.",
     "2016-06-12T00:00:00-00:00"),
    ("standard-attr-description", "standard-attr-description", "Extension to add "
     "descriptions to standard attributes", "2016-02-10T10:00:00-00:00"),
    ("standard-attr-revisions", "Resource revision numbers", "This extension will display "
     "the revision number of neutron resources.", "2016-04-11T10:00:00-00:00"),
    ("standard-attr-tag", "Tag support for resources with standard attribute: subnet, "
     "trunk, network_segment_range, router, network, policy, subnetpool, port, "
     "security_group, floatingip", "Enables to set tag on resources with standard "
     "attribute.", "2017-01-01T00:00:00-00:00"),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at "
     "fields to all Neutron resources that have Neutron standard attributes.",
     "2016-09-12T10:00:00-00:00"),
    ("stateful-security-group", "Stateful security group", "Indicates if the security "
     "group is stateful or not", "2019-11-26T09:00:00-00:00"),
    ("tag-creation", "Tag support for resources during create", "Enables to set tags on "
     "resources during create.", "2023-05-24T00:00:00-00:00"),
)


def _view(alias: str, name: str, description: str, updated: str) -> dict[str, Any]:
    return {"alias": alias, "name": name, "description": description, "updated": updated,
            "links": []}


def list_extensions() -> list[dict[str, Any]]:
    return [_view(*extension) for extension in EXTENSIONS]


def get(alias: str) -> dict[str, Any]:
    for extension in EXTENSIONS:
        if extension[0] == alias:
            return _view(*extension)
    raise fail("HTTPNotFound", msg=f"Extension with alias {alias} does not exist")
