"""The Neutron slice: networks, subnets, ports, security groups, routers, floating IPs,
tags, quotas and the auto-allocated topology (``service.NetworkService``)."""
