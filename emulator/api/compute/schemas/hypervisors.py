"""Query schemas of ``/os-hypervisors`` (``nova/api/openstack/compute/schemas/
hypervisors.py``): anything goes until 2.33 adds paging; 2.53 closes the list's and the
show's queries and adds the hostname pattern and ``with_servers``. NOTE: Nova gives the
deprecated routes (statistics, uptime, search, servers) an empty schema: any query."""

from __future__ import annotations

from emulator.api.compute.schemas.parameter_types import (
    ANY_QUERY,
    BOOLEAN,
    FQDN,
    NON_NEGATIVE_INTEGER,
    PAGINATION,
    obj,
    single,
)
from emulator.api.compute.schemas.versions import V, Versioned

_INDEX_V233 = obj(dict(PAGINATION), additional=True)
_INDEX_V253 = obj({
    "limit": single(NON_NEGATIVE_INTEGER),
    "marker": single({"type": "string"}),
    "hypervisor_hostname_pattern": single(FQDN),
    "with_servers": single(BOOLEAN),
})
_SHOW_V253 = obj({"with_servers": single(BOOLEAN)})

SCHEMAS: Versioned = {
    # GET /os-hypervisors and GET /os-hypervisors/detail
    "hypervisor_query": ((V(2, 1), ANY_QUERY), (V(2, 33), _INDEX_V233),
                         (V(2, 53), _INDEX_V253)),
    "hypervisor_show_query": ((V(2, 1), ANY_QUERY), (V(2, 53), _SHOW_V253)),
}
