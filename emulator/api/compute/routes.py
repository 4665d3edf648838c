"""The compute route table: one literal list, as Nova's ``ROUTE_LIST``.

Each entry: method, path under ``/v2.1`` (without the optional project id), handler, and
the microversion window outside which the route answers 404. Order matters where a
literal segment and a parameter compete (``/flavors/detail`` before ``/flavors/{id}``).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.api.compute.availability_zones import AvailabilityZonesController
from emulator.api.compute.common import V
from emulator.api.compute.flavors import FlavorsController
from emulator.api.routing import Route


@dataclass(frozen=True)
class Controllers:
    """One controller per compute resource; ``emulator.api.app`` builds them."""

    flavors: FlavorsController
    zones: AvailabilityZonesController


def route_list(c: Controllers) -> list[Route]:
    fl, az = c.flavors, c.zones
    return [
        Route("GET", "/os-availability-zone", az.index),
        Route("GET", "/os-availability-zone/detail", az.detail),
        Route("GET", "/flavors", fl.index),
        Route("POST", "/flavors", fl.create),
        Route("GET", "/flavors/detail", fl.detail),
        Route("GET", "/flavors/{flavor_id}", fl.show),
        Route("PUT", "/flavors/{flavor_id}", fl.update, min_version=V(2, 55)),
        Route("DELETE", "/flavors/{flavor_id}", fl.delete),
        Route("POST", "/flavors/{flavor_id}/action", fl.action),
        Route("GET", "/flavors/{flavor_id}/os-flavor-access", fl.access_list),
        Route("GET", "/flavors/{flavor_id}/os-extra_specs", fl.specs_index),
        Route("POST", "/flavors/{flavor_id}/os-extra_specs", fl.specs_create),
        Route("GET", "/flavors/{flavor_id}/os-extra_specs/{key}", fl.specs_show),
        Route("PUT", "/flavors/{flavor_id}/os-extra_specs/{key}", fl.specs_update),
        Route("DELETE", "/flavors/{flavor_id}/os-extra_specs/{key}", fl.specs_delete),
    ]
