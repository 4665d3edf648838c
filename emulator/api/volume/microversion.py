"""Block storage microversions: the list we honour, and negotiation from the
``OpenStack-API-Version: volume X.Y`` header (``cinder/api/openstack/wsgi.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion

#: Every volume microversion up to the one we honour, oldest first, with what it
#: changes (Cinder's ``REST_API_VERSION_HISTORY``); "-" for a resource not emulated.
MICROVERSIONS: tuple[tuple[str, str], ...] = (
    ("3.0", "All of the v2 API and its extensions."),
    ("3.1", "- visibility and protected on os-volume_upload_image."),
    ("3.2", "bootable filter on volume lists is strict (true/false/1/0 only)."),
    ("3.3", "- user messages."),
    ("3.4", "glance_metadata filter on volume lists."),
    ("3.5", "- message pagination."),
    ("3.6", "- empty names for consistency groups."),
    ("3.7", "- clusters."),
    ("3.8", "- manageable volumes and snapshots."),
    ("3.9", "- backup update."),
    ("3.10", "group_id filter on volume lists."),
    ("3.11", "- group types."),
    ("3.12", "GET /volumes/summary."),
    ("3.13", "group_id in volume details; - generic volume groups."),
    ("3.14", "group_snapshot_id in snapshot details; - group snapshots."),
    ("3.15", "- Etag on volume metadata (not emitted)."),
    ("3.16", "- migrate to a cluster."),
    ("3.17", "- manageable resources by cluster."),
    ("3.18", "- backup project attribute."),
    ("3.19", "- group snapshot reset status."),
    ("3.20", "- group reset status."),
    ("3.21", "provider_id in volume details for admins."),
    ("3.22", "metadata filter on snapshot lists."),
    ("3.23", "force on volume delete (admins)."),
    ("3.24", "- workers cleanup."),
    ("3.25", "- volumes in groups."),
    ("3.26", "- failover, cluster filters."),
    ("3.27", "The attachments API."),
    ("3.28", "- pool filters."),
    ("3.29", "- group snapshot paging."),
    ("3.30", "Sort snapshots by name."),
    ("3.31", "Generic list filters: unknown filters are a 400 for non-admins."),
    ("3.32", "- service log levels."),
    ("3.33", "- resource_filters."),
    ("3.34", "- like (~) filters."),
    ("3.35", "- volume-type pool filter."),
    ("3.36", "metadata in the volume summary."),
    ("3.37", "- backups sorted by name."),
    ("3.38", "- replication groups."),
    ("3.39", "project_id filter on limits for admins."),
    ("3.40", "- revert to snapshot."),
    ("3.41", "user_id in snapshot details."),
    ("3.42", "Extend an in-use volume."),
    ("3.43", "- backup metadata."),
    ("3.44", "os-complete on attachments."),
    ("3.45", "with_count on volume and snapshot lists (count)."),
    ("3.46", "- volume from a Nova image snapshot (0-size image)."),
    ("3.47", "- volume from a backup."),
    ("3.48", "shared_targets and service_uuid in volume details."),
    ("3.49", "- backend state in services."),
    ("3.50", "multiattach by volume type."),
    ("3.51", "- cross-AZ backups."),
    ("3.52", "- AZ volume types, extra_specs type filter."),
    ("3.53", "Strict volume create/update bodies (unknown keys are a 400)."),
    ("3.54", "mode on attachment create."),
    ("3.55", "- transfers with snapshots."),
    ("3.56", "- backup user_id."),
    ("3.57", "- transfer fields."),
    ("3.58", "- group project_id."),
    ("3.59", "- transfer pagination."),
    ("3.60", "created_at/updated_at comparison filters on volume lists."),
    ("3.61", "cluster_name in volume details for admins."),
    ("3.62", "- default volume type overrides."),
    ("3.63", "volume_type_id in volume details."),
    ("3.64", "encryption_key_id in volume details (when encrypted)."),
    ("3.65", "consumes_quota in volume and snapshot details, and as a filter."),
    ("3.66", "Snapshots of in-use volumes without force (force=false is a 400)."),
    ("3.67", "Project id optional in URLs (accepted at every version)."),
    ("3.68", "- re-image."),
    ("3.69", "shared_targets may be null."),
    ("3.70", "- encrypted volume transfers."),
)

MIN_VERSION = APIVersion.parse(MICROVERSIONS[0][0])
MAX_VERSION = APIVersion.parse(MICROVERSIONS[-1][0])

HEADER = "OpenStack-API-Version"
SERVICE = "volume"


def V(minor: int) -> APIVersion:
    """``V(27)`` is 3.27."""
    return APIVersion(3, minor)


def negotiate(headers: Mapping[str, str]) -> APIVersion:
    """The version a request asks for (3.0 without the header), or a 400/406 ``Fault``.

    NOTE: as Cinder, the first comma-separated entry naming ``volume`` anywhere counts; a
    header without one is a 400 with webob's default message (Cinder raises
    ``VersionNotFoundForAPIMethod`` outside its handler).
    """
    raw = headers.get(HEADER.lower())
    if raw is None:
        return MIN_VERSION
    wanted: str | None = None
    for entry in raw.split(","):
        if SERVICE in entry:
            parts = entry.split()
            if len(parts) != 2:
                raise Fault(400)
            wanted = parts[1]
            break
    if wanted is None:
        raise Fault(400)
    if wanted == "latest":
        return MAX_VERSION
    try:
        version = APIVersion.parse(wanted)
    except ValueError:
        raise Fault(400, f"API Version String {wanted} is of invalid format. Must be of "
                         "format MajorNum.MinorNum.") from None
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionNotAcceptable(version)
    return version


class VersionNotAcceptable(Fault):
    """406: a well-formed version out of range. NOTE: Cinder has taken the version before
    it checks the range, so the answer still echoes it."""

    def __init__(self, version: APIVersion) -> None:
        super().__init__(406, f"Version {version} is not supported by the API. Minimum is "
                              f"{MIN_VERSION} and maximum is {MAX_VERSION}.")
        self.version = version
