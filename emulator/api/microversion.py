"""Compute microversions: the list we honour, and negotiation from the request headers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from emulator.api.faults import Fault


class APIVersion(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        match = _FORMAT.match(text)
        if match is None:
            raise ValueError(text)
        return cls(int(match.group(1)), int(match.group(2)))


_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")

#: Every compute microversion, oldest first, with what it changes (Nova's history).
MICROVERSIONS: tuple[tuple[str, str], ...] = (
    ("2.1", "Base v2.1 API (v2.0-equivalent features, strict JSON-schema validation)."),
    ("2.2", "Keypair type (ssh/x509) in create/list/show; keypair create 200→201, delete 202→204."),
    ("2.3",
     "Admin-only extended server attrs added (OS-EXT-SRV-ATTR:hostname/kernel_id/launch_in"
     "dex/ramdisk_id/reservation_id/root_device_name/user_data); delete_on_termination in "
     "os-extended-volumes:volumes_attached."),
    ("2.4", "reserved in os-fixed-ips (API since removed → 410)."),
    ("2.5", "Non-admins may filter server list by ip6."),
    ("2.6",
     "New POST /servers/{id}/remote-consoles; the per-type console actions (os-"
     "getVNCConsole etc.) end at 2.5."),
    ("2.7", "Adding tenant access to a *public* flavor → 409."),
    ("2.8", "Remote console protocol mks / type webmks."),
    ("2.9", "Server field locked (bool)."),
    ("2.10",
     "Admin may act on other users' keypairs via user_id (query param on GET/DELETE, body "
     "field on POST); user_id in create body."),
    ("2.11", "Services: forced_down field; PUT /os-services/force-down."),
    ("2.12", "VIF net_id in os-virtual-interfaces (API since removed → 410)."),
    ("2.13", "Server groups expose project_id, user_id."),
    ("2.14", "Evacuate: onSharedStorage removed from request, adminPass removed from response."),
    ("2.15", "Server group policies soft-affinity, soft-anti-affinity."),
    ("2.16",
     "host_status in server show/detail (policy-gated; values "
     "UP,DOWN,MAINTENANCE,UNKNOWN,'')."),
    ("2.17", "trigger_crash_dump server action."),
    ("2.18", "project_id in URL formally optional (router accepts both forms at every version)."),
    ("2.19", "Server description (create/update/rebuild; shown in show/detail/update/rebuild)."),
    ("2.20", "Volume attach/detach allowed for shelved / shelved_offloaded servers."),
    ("2.21", "os-instance-actions works for deleted servers."),
    ("2.22", "POST /servers/{id}/migrations/{mid}/action force_complete."),
    ("2.23",
     "GET /servers/{id}/migrations[/{mid}]; os-migrations gains migration_type and links "
     "for in-progress live migrations."),
    ("2.24", "DELETE /servers/{id}/migrations/{mid} (abort live migration)."),
    ("2.25", "os-migrateLive: block_migration accepts 'auto'; disk_over_commit removed."),
    ("2.26", "Server tags (/servers/{id}/tags), tags field, tag filters on list."),
    ("2.27", "OpenStack-API-Version header accepted in addition to the legacy one."),
    ("2.28", "Hypervisor cpu_info becomes a JSON object (was string)."),
    ("2.29", "Evacuate force flag; host now validated by scheduler."),
    ("2.30", "Live migrate force flag; host validated by scheduler."),
    ("2.31", "os-console-auth-tokens works for all console types."),
    ("2.32",
     "Device tag on networks items and block_device_mapping_v2 items (2.32 only, re-added "
     "2.42)."),
    ("2.33", "Hypervisor list pagination (limit, marker, hypervisors_links)."),
    ("2.34", "Live-migration pre-checks are async (no 400 from pre-check failures)."),
    ("2.35", "Keypair list pagination (limit, marker, keypairs_links)."),
    ("2.36",
     "Proxy APIs (images, volumes, snapshots, networks, tenant-networks, floating "
     "IPs/pools, security groups/rules CRUD, baremetal, fping) stop at 2.35; network/SG "
     "quota fields dropped from quota-sets and limits."),
    ("2.37",
     "networks required on server create: list or 'auto'/'none'; networks[].uuid must be a"
     " UUID."),
    ("2.38", "Invalid status filter on server list → 400 (was empty list)."),
    ("2.39",
     "Image-metadata proxy ends at 2.38; maxImageMeta removed from limits; createImage no "
     "longer quota-checks metadata."),
    ("2.40", "Simple tenant usage pagination (limit, marker, tenant_usages_links)."),
    ("2.41", "Aggregates expose uuid."),
    ("2.42", "Re-adds device tag on networks and block_device_mapping_v2 items at boot."),
    ("2.43", "os-hosts API ends at 2.42."),
    ("2.44",
     "addFixedIp, removeFixedIp, addFloatingIp, removeFloatingIp actions end at 2.43 (os-"
     "virtual-interfaces too, now removed)."),
    ("2.45",
     "createImage/createBackup return body {'image_id': '<uuid>'} instead of a Location "
     "header."),
    ("2.46",
     "X-OpenStack-Request-ID response header (documented; middleware actually emits it "
     "always)."),
    ("2.47",
     "Server flavor embedded as a dict "
     "(vcpus,ram,disk,ephemeral,swap,original_name,extra_specs*) instead of id+links."),
    ("2.48", "Standardised GET /servers/{id}/diagnostics body."),
    ("2.49", "Tagged attach: tag on POST os-interface and POST os-volume_attachments."),
    ("2.50",
     "Quota class sets: add server_groups, server_group_members; drop network-related "
     "fields."),
    ("2.51",
     "volume-extended external event; non-admins see instance-action events (without "
     "traceback)."),
    ("2.52", "tags allowed in server create body."),
    ("2.53",
     "Services & hypervisors use UUID ids; PUT/DELETE /os-services/{uuid}; hypervisor "
     "search/servers sub-routes end at 2.52 (replaced by hypervisor_hostname_pattern & "
     "with_servers params)."),
    ("2.54", "Rebuild accepts key_name (can reset/unset keypair); key_name in rebuild response."),
    ("2.55", "Flavor description (create, PUT /flavors/{id}, shown everywhere incl. list)."),
    ("2.56", "Cold migrate accepts optional host."),
    ("2.57",
     "personality removed from create/rebuild; rebuild accepts user_data; injected-file "
     "quotas/limits removed; user_data in rebuild response."),
    ("2.58", "Instance actions list: limit, marker, changes-since; updated_at field; links."),
    ("2.59",
     "os-migrations: limit, marker, changes-since, uuid field, migrations_links, sorted "
     "newest first."),
    ("2.60", "Multi-attach volumes allowed (boot and attach)."),
    ("2.61", "Flavor extra_specs in flavor show/detail/create/update bodies (policy-gated)."),
    ("2.62", "Instance-action events gain hostId (all) and host (admin)."),
    ("2.63", "trusted_image_certificates on create/rebuild and in server bodies."),
    ("2.64",
     "Server groups: policy (string) + rules replace policies/metadata; "
     "max_server_per_host rule."),
    ("2.65", "Abort live migrations in queued/preparing state."),
    ("2.66", "changes-before filter (servers, instance actions, migrations)."),
    ("2.67", "volume_type in block_device_mapping_v2 items."),
    ("2.68", "force removed from evacuate and live-migrate."),
    ("2.69", "Partial ('down cell') records in server list/detail/show and service list."),
    ("2.70", "Device tag exposed by os-volume_attachments and os-interface responses."),
    ("2.71",
     "server_groups (list of ≤1 uuid) in show, update and rebuild responses (not in detail"
     " list)."),
    ("2.72", "Neutron ports with resource requests allowed at create."),
    ("2.73", "lock accepts locked_reason; locked_reason field; locked filter/sort key."),
    ("2.74", "Create accepts host / hypervisor_hostname (admin)."),
    ("2.75",
     "Unknown query params → 400 on several APIs; update/rebuild responses show the full "
     "server; flavor swap default 0 (was ''); hypervisor servers always present when "
     "with_servers=true."),
    ("2.76", "power-update external event."),
    ("2.77", "unshelve accepts availability_zone (offloaded servers)."),
    ("2.78", "GET /servers/{id}/topology."),
    ("2.79", "delete_on_termination on volume attach and in attachment responses."),
    ("2.80", "os-migrations user_id/project_id filters and fields (also server migrations)."),
    ("2.81", "POST /os-aggregates/{id}/images (image cache pre-load)."),
    ("2.82", "accelerator-request-bound external event."),
    ("2.83",
     "More non-admin server list filters (availability_zone, config_drive, key_name, "
     "created_at, launched_at, terminated_at, power_state, task_state, vm_state, progress,"
     " user_id)."),
    ("2.84", "Instance-action events details field."),
    ("2.85", "PUT os-volume_attachments/{vol} can change delete_on_termination (non-swap update)."),
    ("2.86", "Flavor extra-spec keys/values validated on create/update."),
    ("2.87", "Rescue of boot-from-volume servers."),
    ("2.88",
     "Hypervisor show/detail drop resource-usage fields & cpu_info, add uptime; /os-"
     "hypervisors/statistics and /{id}/uptime end at 2.87."),
    ("2.89", "Volume attachment responses: add attachment_id, bdm_uuid; drop id."),
    ("2.90", "hostname on create/update/rebuild; OS-EXT-SRV-ATTR:hostname visible to everyone."),
    ("2.91", "unshelve to a specific host; availability_zone: null unpins."),
    ("2.92", "Keypair generation removed (public_key required); names may contain @ and .."),
    ("2.93", "Rebuild of volume-backed servers (also volume-reimaged external event)."),
    ("2.94", "hostname may be an FQDN."),
    ("2.95", "Evacuated server ends up stopped at destination."),
    ("2.96", "pinned_availability_zone in show/detail/update/rebuild."),
    ("2.97", "Server shares API /servers/{id}/shares."),
    ("2.98", "image.properties embedded in server bodies."),
    ("2.99", "spice-direct console type; tls_port in console auth token."),
    ("2.100", "scheduler_hints in show/detail/update/rebuild."),
    ("2.101", "Volume attach returns 202 with no body (was 200 + volumeAttachment)."),
    ("2.102",
     "Flavor list name filter; rxtx_factor and OS-FLV-DISABLED:disabled removed; unknown "
     "query params rejected (400) on nearly all remaining GET APIs."),
    ("2.103", "/os-volumes_boot API removed (ends at 2.102)."),
    ("2.104",
     "PUT /servers/{id} accepts pinned_availability_zone (pin to current AZ / null to "
     "unpin)."),
)

#: The highest version whose changes we honour for every resource we emulate; the version
#: documents advertise it.
HONOURED_MAX = "2.104"

MIN_VERSION = APIVersion.parse(MICROVERSIONS[0][0])
MAX_VERSION = APIVersion.parse(HONOURED_MAX)

STANDARD_HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"


def _folded(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, repeated lines joined by commas as a WSGI server folds them."""
    key = name.lower()
    getlist = getattr(headers, "getlist", None)
    if getlist is not None:
        values: list[str] = getlist(key)
        return ",".join(values) if values else None
    return headers.get(key)


def requested_version(headers: Mapping[str, str]) -> str | None:
    """The raw compute version the client asked for, or None (microversion-parse's rules).

    The standard header wins over the legacy one; within the standard header the last
    ``compute`` entry counts, within the legacy header the last comma-separated value.
    NOTE: a legacy header that is present but empty yields ``""`` (a 400 in Nova), whereas
    a standard header without a ``compute`` entry is as good as absent.
    """
    standard = _folded(headers, STANDARD_HEADER)
    if standard:
        for entry in reversed(standard.split(",")):
            parts = entry.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "compute":
                return parts[1].strip()
    legacy = _folded(headers, LEGACY_HEADER)
    if legacy is not None:
        return legacy.split(",")[-1].strip()
    return None


def version_headers(version: str) -> list[tuple[str, str]]:
    """The headers Nova puts on every /v2.1 response once a version was parsed."""
    return [
        (STANDARD_HEADER, f"compute {version}"),
        (LEGACY_HEADER, version),
        ("Vary", STANDARD_HEADER),
        ("Vary", LEGACY_HEADER),
    ]


def negotiate(headers: Mapping[str, str]) -> APIVersion:
    """The effective version for a request, or a ``Fault`` (400 malformed, 406 out of range).

    Nova echoes the rejected value on a 406 (``VersionNotAcceptable.version``) but sends no
    version headers with a 400, because the version was never parsed.
    """
    raw = requested_version(headers)
    if raw is None:
        return MIN_VERSION
    if raw == "latest":
        return MAX_VERSION
    try:
        version = APIVersion.parse(raw)
    except ValueError:
        raise Fault(
            400, f"API Version String {raw} is of invalid format. Must be of format "
            "MajorNum.MinorNum."
        ) from None
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionNotAcceptable(version)
    return version


class VersionNotAcceptable(Fault):
    """406: a well-formed version outside [MIN_VERSION, MAX_VERSION]; it is still echoed."""

    def __init__(self, version: APIVersion) -> None:
        super().__init__(
            406,
            f"Version {version} is not supported by the API. Minimum is {MIN_VERSION} and "
            f"maximum is {MAX_VERSION}.",
        )
        self.version = version
