"""The compute route table: one literal list, as Nova's ``ROUTE_LIST``.

Each entry: method, path under ``/v2.1`` (without the optional project id), handler, and
the microversion window outside which the route answers 404. Order matters where a
literal segment and a parameter compete (``/flavors/detail`` before ``/flavors/{id}``).
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.api.compute import removed
from emulator.api.compute.aggregates import IMAGES_VERSION, AggregatesController
from emulator.api.compute.assisted_volume_snapshots import AssistedVolumeSnapshotsController
from emulator.api.compute.availability_zones import AvailabilityZonesController
from emulator.api.compute.common import V
from emulator.api.compute.console_auth_tokens import ConsoleAuthTokensController
from emulator.api.compute.flavors import FlavorsController
from emulator.api.compute.hosts import MAX_VERSION as MAX_HOSTS_VERSION
from emulator.api.compute.hosts import HostsController
from emulator.api.compute.hypervisors import (
    MAX_SEARCH_VERSION,
    MAX_STATISTICS_VERSION,
    HypervisorsController,
)
from emulator.api.compute.images import (
    MAX_IMAGE_METADATA_VERSION,
    MAX_IMAGES_VERSION,
    ImagesController,
)
from emulator.api.compute.interfaces import InterfacesController
from emulator.api.compute.keypairs import KeypairsController
from emulator.api.compute.limits import LimitsController
from emulator.api.compute.migrations import MigrationsController
from emulator.api.compute.proxies import MAX_PROXY_VERSION, ProxyControllers
from emulator.api.compute.quotas import QuotaClassSetsController, QuotaSetsController
from emulator.api.compute.server_consoles import ServerConsolesController
from emulator.api.compute.server_external_events import ExternalEventsController
from emulator.api.compute.server_groups import ServerGroupsController
from emulator.api.compute.server_resources import TAGS_VERSION, ServerResourcesController
from emulator.api.compute.servers import ServersController
from emulator.api.compute.services import ServicesController
from emulator.api.compute.usage import UsageController
from emulator.api.compute.usage_audit_log import AuditLogController
from emulator.api.compute.volume_attachments import VolumeAttachmentsController
from emulator.api.compute.volumes_boot import MAX_VOLUMES_BOOT_VERSION, VolumesBootController
from emulator.api.routing import Route


@dataclass(frozen=True)
class Controllers:
    """One controller per compute resource; ``emulator.api.app`` builds them."""

    flavors: FlavorsController
    zones: AvailabilityZonesController
    keypairs: KeypairsController
    images: ImagesController
    servers: ServersController
    server_resources: ServerResourcesController
    server_consoles: ServerConsolesController
    console_auth_tokens: ConsoleAuthTokensController
    server_groups: ServerGroupsController
    aggregates: AggregatesController
    services: ServicesController
    hypervisors: HypervisorsController
    migrations: MigrationsController
    quota_sets: QuotaSetsController
    quota_classes: QuotaClassSetsController
    limits: LimitsController
    hosts: HostsController
    usage: UsageController
    audit_log: AuditLogController
    external_events: ExternalEventsController
    volume_snapshots: AssistedVolumeSnapshotsController
    proxies: ProxyControllers
    volume_attachments: VolumeAttachmentsController
    interfaces: InterfacesController


def route_list(c: Controllers) -> list[Route]:
    fl, az, kp, im, sv = c.flavors, c.zones, c.keypairs, c.images, c.servers
    img, meta = MAX_IMAGES_VERSION, MAX_IMAGE_METADATA_VERSION
    return [
        Route("GET", "/servers", sv.index),
        Route("POST", "/servers", sv.create),
        Route("GET", "/servers/detail", sv.detail),
        Route("GET", "/servers/{server_id}", sv.show),
        Route("PUT", "/servers/{server_id}", sv.update),
        Route("DELETE", "/servers/{server_id}", sv.delete),
        Route("POST", "/servers/{server_id}/action", sv.action),
        *server_resource_routes(c.server_resources),
        *server_network_routes(c.interfaces),
        *server_console_routes(c.server_consoles),
        Route("GET", "/os-console-auth-tokens/{token}", c.console_auth_tokens.show),
        Route("GET", "/os-availability-zone", az.index),
        Route("GET", "/os-availability-zone/detail", az.detail),
        *aggregate_routes(c.aggregates),
        *operator_routes(c.services, c.hypervisors),
        *migration_routes(c.migrations),
        *host_routes(c.hosts),
        *usage_routes(c.usage, c.audit_log),
        Route("POST", "/os-server-external-events", c.external_events.create),
        Route("GET", "/servers/{server_id}/os-volume_attachments", c.volume_attachments.index),
        Route("POST", "/servers/{server_id}/os-volume_attachments",
              c.volume_attachments.create),
        Route("GET", "/servers/{server_id}/os-volume_attachments/{volume_id}",
              c.volume_attachments.show),
        Route("PUT", "/servers/{server_id}/os-volume_attachments/{volume_id}",
              c.volume_attachments.update),
        Route("DELETE", "/servers/{server_id}/os-volume_attachments/{volume_id}",
              c.volume_attachments.delete),
        Route("POST", "/os-assisted-volume-snapshots", c.volume_snapshots.create),
        Route("DELETE", "/os-assisted-volume-snapshots/{snapshot_id}",
              c.volume_snapshots.delete),
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
        Route("GET", "/os-keypairs", kp.index),
        Route("POST", "/os-keypairs", kp.create),
        Route("GET", "/os-keypairs/{keypair_name}", kp.show),
        Route("DELETE", "/os-keypairs/{keypair_name}", kp.delete),
        *quota_routes(c.quota_sets, c.quota_classes, c.limits),
        Route("GET", "/os-server-groups", c.server_groups.index),
        Route("POST", "/os-server-groups", c.server_groups.create),
        Route("GET", "/os-server-groups/{group_id}", c.server_groups.show),
        Route("DELETE", "/os-server-groups/{group_id}", c.server_groups.delete),
        Route("GET", "/images", im.index, max_version=img),
        Route("GET", "/images/detail", im.detail, max_version=img),
        Route("GET", "/images/{image_id}", im.show, max_version=img),
        Route("DELETE", "/images/{image_id}", im.delete, max_version=img),
        Route("GET", "/images/{image_id}/metadata", im.metadata_index, max_version=meta),
        Route("POST", "/images/{image_id}/metadata", im.metadata_create, max_version=meta),
        Route("PUT", "/images/{image_id}/metadata", im.metadata_update_all, max_version=meta),
        Route("GET", "/images/{image_id}/metadata/{key}", im.metadata_show, max_version=meta),
        Route("PUT", "/images/{image_id}/metadata/{key}", im.metadata_update,
              max_version=meta),
        Route("DELETE", "/images/{image_id}/metadata/{key}", im.metadata_delete,
              max_version=meta),
        *proxy_routes(c.proxies),
        *volumes_boot_routes(VolumesBootController(sv)),
        *removed_routes(),
    ]


def aggregate_routes(ag: AggregatesController) -> list[Route]:
    """``/os-aggregates``: CRUD, the host and metadata actions, the 2.81 image cache."""
    return [
        Route("GET", "/os-aggregates", ag.index),
        Route("POST", "/os-aggregates", ag.create),
        Route("GET", "/os-aggregates/{aggregate_id}", ag.show),
        Route("PUT", "/os-aggregates/{aggregate_id}", ag.update),
        Route("DELETE", "/os-aggregates/{aggregate_id}", ag.delete),
        Route("POST", "/os-aggregates/{aggregate_id}/action", ag.action),
        Route("POST", "/os-aggregates/{aggregate_id}/images", ag.images,
              min_version=IMAGES_VERSION),
    ]


def quota_routes(qs: QuotaSetsController, qc: QuotaClassSetsController,
                 lm: LimitsController) -> list[Route]:
    """``/os-quota-sets``, ``/os-quota-class-sets`` and ``/limits``."""
    return [
        Route("GET", "/limits", lm.index),
        Route("GET", "/os-quota-sets/{project_id}", qs.show),
        Route("PUT", "/os-quota-sets/{project_id}", qs.update),
        Route("DELETE", "/os-quota-sets/{project_id}", qs.delete),
        Route("GET", "/os-quota-sets/{project_id}/detail", qs.detail),
        Route("GET", "/os-quota-sets/{project_id}/defaults", qs.defaults),
        Route("GET", "/os-quota-class-sets/{class_name}", qc.show),
        Route("PUT", "/os-quota-class-sets/{class_name}", qc.update),
    ]


def operator_routes(sv: ServicesController, hv: HypervisorsController) -> list[Route]:
    """``/os-services`` and ``/os-hypervisors`` (the routes 2.53 and 2.88 took away end
    there: a later request is a 404, as Nova's)."""
    search, stats = MAX_SEARCH_VERSION, MAX_STATISTICS_VERSION
    return [
        Route("GET", "/os-services", sv.index),
        Route("PUT", "/os-services/{service_id}", sv.update),
        Route("DELETE", "/os-services/{service_id}", sv.delete),
        Route("GET", "/os-hypervisors", hv.index),
        Route("GET", "/os-hypervisors/detail", hv.detail),
        Route("GET", "/os-hypervisors/statistics", hv.statistics, max_version=stats),
        Route("GET", "/os-hypervisors/{hypervisor_id}", hv.show),
        Route("GET", "/os-hypervisors/{hypervisor_id}/search", hv.search, max_version=search),
        Route("GET", "/os-hypervisors/{hypervisor_id}/servers", hv.servers,
              max_version=search),
        Route("GET", "/os-hypervisors/{hypervisor_id}/uptime", hv.uptime, max_version=stats),
    ]


def migration_routes(mg: MigrationsController) -> list[Route]:
    """``/os-migrations`` and a server's live migrations under way (2.22-2.24 on)."""
    one = "/servers/{server_id}/migrations/{migration_id}"
    return [
        Route("GET", "/os-migrations", mg.index),
        Route("GET", "/servers/{server_id}/migrations", mg.server_index, min_version=V(2, 23)),
        Route("GET", one, mg.server_show, min_version=V(2, 23)),
        Route("DELETE", one, mg.server_delete, min_version=V(2, 24)),
        Route("POST", one + "/action", mg.server_action, min_version=V(2, 22)),
    ]


def server_resource_routes(sr: ServerResourcesController) -> list[Route]:
    """``/servers/{server_id}/...``: metadata, tags (2.26), ips, instance actions."""
    tags = TAGS_VERSION
    return [
        Route("GET", "/servers/{server_id}/metadata", sr.metadata_index),
        Route("POST", "/servers/{server_id}/metadata", sr.metadata_create),
        Route("PUT", "/servers/{server_id}/metadata", sr.metadata_update_all),
        Route("GET", "/servers/{server_id}/metadata/{key}", sr.metadata_show),
        Route("PUT", "/servers/{server_id}/metadata/{key}", sr.metadata_update),
        Route("DELETE", "/servers/{server_id}/metadata/{key}", sr.metadata_delete),
        Route("GET", "/servers/{server_id}/tags", sr.tags_index, min_version=tags),
        Route("PUT", "/servers/{server_id}/tags", sr.tags_update_all, min_version=tags),
        Route("DELETE", "/servers/{server_id}/tags", sr.tags_delete_all, min_version=tags),
        Route("GET", "/servers/{server_id}/tags/{tag}", sr.tags_show, min_version=tags),
        Route("PUT", "/servers/{server_id}/tags/{tag}", sr.tags_update, min_version=tags),
        Route("DELETE", "/servers/{server_id}/tags/{tag}", sr.tags_delete, min_version=tags),
        Route("GET", "/servers/{server_id}/ips", sr.ips_index),
        Route("GET", "/servers/{server_id}/ips/{network}", sr.ips_show),
        Route("GET", "/servers/{server_id}/os-instance-actions", sr.actions_index),
        Route("GET", "/servers/{server_id}/os-instance-actions/{request_id}",
              sr.actions_show),
    ]


def server_network_routes(ni: InterfacesController) -> list[Route]:
    """``/servers/{server_id}/os-interface`` and ``/os-security-groups``."""
    return [
        Route("GET", "/servers/{server_id}/os-interface", ni.index),
        Route("POST", "/servers/{server_id}/os-interface", ni.create),
        Route("GET", "/servers/{server_id}/os-interface/{port_id}", ni.show),
        Route("DELETE", "/servers/{server_id}/os-interface/{port_id}", ni.delete),
        Route("GET", "/servers/{server_id}/os-security-groups", ni.security_groups),
    ]


def server_console_routes(se: ServerConsolesController) -> list[Route]:
    """Remote consoles (2.6), the server password and diagnostics."""
    return [
        Route("POST", "/servers/{server_id}/remote-consoles", se.remote_console,
              min_version=V(2, 6)),
        Route("GET", "/servers/{server_id}/os-server-password", se.password_show),
        Route("DELETE", "/servers/{server_id}/os-server-password", se.password_clear),
        Route("GET", "/servers/{server_id}/diagnostics", se.diagnostics),
    ]


def host_routes(ho: HostsController) -> list[Route]:
    """``/os-hosts`` until 2.42 (a 404 from 2.43, as Nova's)."""
    last = MAX_HOSTS_VERSION
    return [
        Route("GET", "/os-hosts", ho.index, max_version=last),
        Route("GET", "/os-hosts/{host}", ho.show, max_version=last),
        Route("PUT", "/os-hosts/{host}", ho.update, max_version=last),
        Route("GET", "/os-hosts/{host}/reboot", ho.reboot, max_version=last),
        Route("GET", "/os-hosts/{host}/shutdown", ho.shutdown, max_version=last),
        Route("GET", "/os-hosts/{host}/startup", ho.startup, max_version=last),
    ]


def usage_routes(us: UsageController, al: AuditLogController) -> list[Route]:
    """``/os-simple-tenant-usage`` and ``/os-instance_usage_audit_log``."""
    return [
        Route("GET", "/os-simple-tenant-usage", us.index),
        Route("GET", "/os-simple-tenant-usage/{tenant_id}", us.show),
        Route("GET", "/os-instance_usage_audit_log", al.index),
        Route("GET", "/os-instance_usage_audit_log/{before}", al.show),
    ]


def proxy_routes(px: ProxyControllers) -> list[Route]:
    """Nova's proxies to Neutron and Cinder, until 2.35 (a 404 from 2.36, as Nova's)."""
    last, sg, nw, vo = MAX_PROXY_VERSION, px.security_groups, px.networks, px.volumes
    return [
        Route("GET", "/os-security-groups", sg.index, max_version=last),
        Route("POST", "/os-security-groups", sg.create, max_version=last),
        Route("GET", "/os-security-groups/{group_id}", sg.show, max_version=last),
        Route("PUT", "/os-security-groups/{group_id}", sg.update, max_version=last),
        Route("DELETE", "/os-security-groups/{group_id}", sg.delete, max_version=last),
        Route("POST", "/os-security-group-rules", sg.create_rule, max_version=last),
        Route("DELETE", "/os-security-group-rules/{rule_id}", sg.delete_rule,
              max_version=last),
        Route("GET", "/os-floating-ips", nw.floating_ip_index, max_version=last),
        Route("POST", "/os-floating-ips", nw.floating_ip_create, max_version=last),
        Route("GET", "/os-floating-ips/{fip_id}", nw.floating_ip_show, max_version=last),
        Route("DELETE", "/os-floating-ips/{fip_id}", nw.floating_ip_delete, max_version=last),
        Route("GET", "/os-floating-ip-pools", nw.pool_index, max_version=last),
        Route("GET", "/os-networks", nw.network_index, max_version=last),
        Route("GET", "/os-networks/{network_id}", nw.network_show, max_version=last),
        Route("GET", "/os-tenant-networks", nw.tenant_network_index, max_version=last),
        Route("GET", "/os-tenant-networks/{network_id}", nw.tenant_network_show,
              max_version=last),
        Route("GET", "/os-volumes", vo.volume_index, max_version=last),
        Route("POST", "/os-volumes", vo.volume_create, max_version=last),
        Route("GET", "/os-volumes/detail", vo.volume_detail, max_version=last),
        Route("GET", "/os-volumes/{volume_id}", vo.volume_show, max_version=last),
        Route("DELETE", "/os-volumes/{volume_id}", vo.volume_delete, max_version=last),
        Route("GET", "/os-snapshots", vo.snapshot_index, max_version=last),
        Route("POST", "/os-snapshots", vo.snapshot_create, max_version=last),
        Route("GET", "/os-snapshots/detail", vo.snapshot_detail, max_version=last),
        Route("GET", "/os-snapshots/{snapshot_id}", vo.snapshot_show, max_version=last),
        Route("DELETE", "/os-snapshots/{snapshot_id}", vo.snapshot_delete,
              max_version=last),
    ]


def volumes_boot_routes(vb: VolumesBootController) -> list[Route]:
    """``/os-volumes_boot``: the servers routes under another name, until 2.102."""
    sv, last = vb.servers, MAX_VOLUMES_BOOT_VERSION
    return [
        Route("GET", "/os-volumes_boot", sv.index, max_version=last),
        Route("POST", "/os-volumes_boot", sv.create, max_version=last),
        Route("GET", "/os-volumes_boot/detail", sv.detail, max_version=last),
        Route("GET", "/os-volumes_boot/{server_id}", sv.show, max_version=last),
        Route("PUT", "/os-volumes_boot/{server_id}", sv.update, max_version=last),
        Route("DELETE", "/os-volumes_boot/{server_id}", sv.delete, max_version=last),
        Route("POST", "/os-volumes_boot/{server_id}/action", vb.action, max_version=last),
    ]


def removed_routes() -> list[Route]:
    """What Nova removed and answers 410 at every version (``removed``), and the bare-metal
    node proxy's write routes (a 400 until 2.35)."""
    gone, metal = removed.gone, removed.MAX_BAREMETAL_VERSION
    return [
        Route("GET", "/os-agents", gone),
        Route("POST", "/os-agents", gone),
        Route("PUT", "/os-agents/{id}", gone),
        Route("DELETE", "/os-agents/{id}", gone),
        Route("GET", "/os-cells", gone),
        Route("POST", "/os-cells", gone),
        Route("GET", "/os-cells/capacities", gone),
        Route("GET", "/os-cells/detail", gone),
        Route("GET", "/os-cells/info", gone),
        Route("POST", "/os-cells/sync_instances", gone),
        Route("GET", "/os-cells/{id}", gone),
        Route("PUT", "/os-cells/{id}", gone),
        Route("DELETE", "/os-cells/{id}", gone),
        Route("GET", "/os-cells/{id}/capacities", gone),
        Route("POST", "/os-certificates", gone),
        Route("GET", "/os-certificates/{id}", gone),
        Route("GET", "/os-cloudpipe", gone),
        Route("POST", "/os-cloudpipe", gone),
        Route("PUT", "/os-cloudpipe/{id}", gone),
        Route("GET", "/os-fixed-ips/{id}", gone),
        Route("POST", "/os-fixed-ips/{id}/action", removed.fixed_ip_action),
        Route("GET", "/os-floating-ip-dns", gone),
        Route("PUT", "/os-floating-ip-dns/{id}", gone),
        Route("DELETE", "/os-floating-ip-dns/{id}", gone),
        Route("GET", "/os-floating-ip-dns/{domain_id}/entries/{id}", gone),
        Route("PUT", "/os-floating-ip-dns/{domain_id}/entries/{id}", gone),
        Route("DELETE", "/os-floating-ip-dns/{domain_id}/entries/{id}", gone),
        Route("GET", "/os-floating-ips-bulk", gone),
        Route("POST", "/os-floating-ips-bulk", gone),
        Route("GET", "/os-floating-ips-bulk/{id}", gone),
        Route("PUT", "/os-floating-ips-bulk/{id}", gone),
        Route("GET", "/os-fping", gone),
        Route("GET", "/os-fping/{id}", gone),
        Route("POST", "/os-networks", gone),
        Route("POST", "/os-networks/add", gone),
        Route("DELETE", "/os-networks/{id}", gone),
        Route("POST", "/os-networks/{id}/action", removed.network_action),
        Route("GET", "/os-security-group-default-rules", gone),
        Route("POST", "/os-security-group-default-rules", gone),
        Route("GET", "/os-security-group-default-rules/{id}", gone),
        Route("DELETE", "/os-security-group-default-rules/{id}", gone),
        Route("POST", "/os-tenant-networks", gone),
        Route("DELETE", "/os-tenant-networks/{id}", gone),
        Route("GET", "/servers/{server_id}/consoles", gone),
        Route("POST", "/servers/{server_id}/consoles", gone),
        Route("GET", "/servers/{server_id}/consoles/{id}", gone),
        Route("DELETE", "/servers/{server_id}/consoles/{id}", gone),
        Route("GET", "/servers/{server_id}/os-virtual-interfaces", gone),
        Route("POST", "/os-baremetal-nodes", removed.baremetal_create, max_version=metal),
        Route("DELETE", "/os-baremetal-nodes/{id}", removed.baremetal_delete,
              max_version=metal),
        Route("POST", "/os-baremetal-nodes/{id}/action", removed.baremetal_action,
              max_version=metal),
    ]
