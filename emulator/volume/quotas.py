"""Cinder's quotas: per-project limits over defaults, usage counted from the volumes and
snapshots themselves, and the checks a create or an extend makes (``cinder/quota.py``,
``quota_utils.process_reserve_over_quota``).

Usage is counted in the same transaction as the change it guards, which is what makes the
check atomic here (see ``emulator.db``); nothing is ever only reserved, so ``reserved`` is
always 0.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from emulator.errors import InvalidInput
from emulator.volume.errors import QuotaExceeded
from emulator.volume.models import Volume, VolumeQuotaLimit, VolumeSnapshot
from emulator.volume.records import VOLUME_TYPES

#: Cinder's default limits (``quota_*`` options; -1 is unlimited), in its order.
DEFAULTS: dict[str, int] = {
    "volumes": 10,
    "per_volume_gigabytes": -1,
    "snapshots": 10,
    "gigabytes": 1000,
    "backups": 10,
    "backup_gigabytes": 1000,
    "groups": 10,
}
#: The resources each volume type adds (``volumes_<type>`` …), unlimited by default.
PER_TYPE = ("volumes", "gigabytes", "snapshots")
#: Keys a quota-set update may carry that are no quota.
NON_QUOTA_KEYS = ("tenant_id", "id")
#: Cinder's ``DB_MAX_INT``.
DB_MAX_INT = 0x7FFFFFFF


def resources() -> dict[str, int]:
    """Every quota resource and its default."""
    typed = {f"{kind}_{vtype.name}": -1 for vtype in VOLUME_TYPES for kind in PER_TYPE}
    return {**DEFAULTS, **typed}


def limits(s: Session, project_id: str, defaults: bool = True) -> dict[str, int]:
    """The project's limits (``defaults=False``: only those set for it)."""
    own = {row.resource: row.hard_limit for row in s.exec(
        select(VolumeQuotaLimit).where(VolumeQuotaLimit.project_id == project_id))}
    if not defaults:
        return own
    return {name: own.get(name, default) for name, default in resources().items()}


def usage(s: Session, project_id: str) -> dict[str, int]:
    """What the project uses of each resource (snapshots count in ``gigabytes`` too, as
    Cinder counts them unless ``no_snapshot_gb_quota``)."""
    volumes = s.exec(select(func.count(), func.coalesce(func.sum(Volume.size), 0)).where(
        Volume.project_id == project_id, col(Volume.use_quota).is_(True))).one()
    snapshots = s.exec(select(func.count(), func.coalesce(
        func.sum(VolumeSnapshot.volume_size), 0)).where(
        VolumeSnapshot.project_id == project_id,
        col(VolumeSnapshot.use_quota).is_(True))).one()
    used = {name: 0 for name in resources()}
    used.update(volumes=int(volumes[0]), snapshots=int(snapshots[0]),
                gigabytes=int(volumes[1]) + int(snapshots[1]))
    # One volume type: each per-type resource is its whole.
    for vtype in VOLUME_TYPES:
        for kind in PER_TYPE:
            used[f"{kind}_{vtype.name}"] = used[kind]
    return used


def with_type(deltas: dict[str, int], type_name: str) -> dict[str, int]:
    """``deltas`` and the same for the volume type (Cinder's ``add_volume_type_opts``)."""
    return {**deltas, **{f"{name}_{type_name}": value for name, value in deltas.items()}}


def reserve(s: Session, project_id: str, deltas: dict[str, int], kind: str,
            size: int) -> None:
    """Refuse ``deltas`` if they take the project over a limit, as Cinder words it for a
    ``kind`` of resource (``volumes`` or ``snapshots``) of ``size`` GB."""
    limit, used = limits(s, project_id), usage(s, project_id)
    overs = [name for name, delta in deltas.items()
             if delta > 0 and 0 <= limit[name] < used[name] + delta]
    for over in overs:
        if "gigabytes" in over:
            raise QuotaExceeded(
                "VolumeSizeExceedsAvailableQuota",
                f"Requested volume or snapshot exceeds allowed {over} quota. Requested "
                f"{size}G, quota is {limit[over]}G and {used[over]}G has been consumed.")
        if kind in over:
            if kind == "volumes":
                raise QuotaExceeded(
                    "VolumeLimitExceeded", f"Maximum number of volumes allowed "
                    f"({limit[over]}) exceeded for quota '{over}'.")
            raise QuotaExceeded("SnapshotLimitExceeded", "Maximum number of snapshots "
                                f"allowed ({limit[over]}) exceeded")
    if overs:
        raise QuotaExceeded("UnexpectedOverQuota",
                            f"Unexpected over quota on {', '.join(overs)}.")


def check_volume_size(s: Session, project_id: str, size: int) -> None:
    """``per_volume_gigabytes``: no one volume larger than it."""
    limit = limits(s, project_id)["per_volume_gigabytes"]
    if 0 <= limit < size:
        raise QuotaExceeded("VolumeSizeExceedsLimit", f"Requested volume size {size}G is "
                            f"larger than maximum allowed limit {limit}G.")


def parse_value(key: str, value: object) -> int:
    """A limit as ``oslo_utils.strutils.validate_integer`` reads it (-1 … DB_MAX_INT)."""
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(f"{key} must be an integer") from None
    if number < -1:
        raise InvalidInput(f"{key} must be >= -1")
    if number > DB_MAX_INT:
        raise InvalidInput(f"{key} must be <= {DB_MAX_INT}")
    return number


def update(s: Session, project_id: str, values: dict[str, object]) -> None:
    """Set the project's limits: every key a resource (or ``id``/``tenant_id``, ignored),
    no limit below what is in use; all checked before any is written."""
    known = resources()
    bad = [key for key in values if key not in known and key not in NON_QUOTA_KEYS]
    if bad:
        raise InvalidInput(f"Invalid input received: Bad key(s) in quota set: "
                           f"{', '.join(bad)}")
    parsed = {key: parse_value(key, value) for key, value in values.items()
              if key not in NON_QUOTA_KEYS}
    used = usage(s, project_id)
    for key, value in parsed.items():
        if key == "per_volume_gigabytes" or value == -1:
            continue
        if value < used[key]:
            raise InvalidInput(
                f"Quota {key} limit must be equal or greater than existing resources. "
                f"Current usage is {used[key]} and the requested limit is {value}.")
    for key, value in parsed.items():
        row = s.get(VolumeQuotaLimit, (project_id, key))
        if row is None:
            s.add(VolumeQuotaLimit(project_id=project_id, resource=key, hard_limit=value))
        else:
            row.hard_limit = value
            s.add(row)


def delete(s: Session, project_id: str) -> None:
    """Back to the defaults."""
    for row in s.exec(select(VolumeQuotaLimit).where(
            VolumeQuotaLimit.project_id == project_id)):
        s.delete(row)
