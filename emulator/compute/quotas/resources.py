"""The quota resources, Nova's (``nova.quota.QUOTAS``): their names in Nova's order, which
ones are counted and how, and the configuration option each default comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, or_, select

from emulator.compute.models import Instance, KeyPair
from emulator.compute.server_groups.models import InstanceGroup
from emulator.compute.states import VmState

#: -1: no limit.
UNLIMITED = -1

#: Every resource, sorted (Nova's ``QuotaEngine.resources``: the order of every view).
RESOURCES: tuple[str, ...] = (
    "cores", "fixed_ips", "floating_ips", "injected_file_content_bytes",
    "injected_file_path_bytes", "injected_files", "instances", "key_pairs", "metadata_items",
    "ram", "security_group_rules", "security_groups", "server_group_members", "server_groups",
)

#: nova-network's quotas: kept in the API (always -1 by default), never enforced.
NETWORK: frozenset[str] = frozenset({"fixed_ips", "floating_ips", "security_groups",
                                     "security_group_rules"})
#: Personality files' quotas (gone from the API at 2.57).
INJECTED: frozenset[str] = frozenset({"injected_files", "injected_file_content_bytes",
                                      "injected_file_path_bytes"})

#: Resource -> its ``[quota]`` option where the name differs (NOTE: Nova's option is
#: ``injected_file_path_length`` for the resource ``injected_file_path_bytes``).
OPTION: Mapping[str, str] = {"injected_file_path_bytes": "injected_file_path_length"}

#: Nova's ``[quota]`` option defaults (``nova/conf/quota.py``).
DEFAULT_OPTIONS: Mapping[str, int] = {
    "instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128, "injected_files": 5,
    "injected_file_content_bytes": 10240, "injected_file_path_length": 255,
    "key_pairs": 100, "server_groups": 10, "server_group_members": 10,
}

#: The instance quotas, counted together from the live servers.
INSTANCE_RESOURCES = ("instances", "cores", "ram")


def defaults_from(options: Mapping[str, int]) -> dict[str, int]:
    """Each resource's default from ``[quota]`` options over Nova's (network quotas:
    unlimited)."""
    options = {**DEFAULT_OPTIONS, **options}
    return {name: UNLIMITED if name in NETWORK else int(options[OPTION.get(name, name)])
            for name in RESOURCES}


@dataclass(frozen=True)
class InstanceUsage:
    instances: int = 0
    cores: int = 0
    ram: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"instances": self.instances, "cores": self.cores, "ram": self.ram}


_LIVE = (col(Instance.deleted) == False,  # noqa: E712
         or_(col(Instance.vm_state) != VmState.SOFT_DELETED, col(Instance.vm_state).is_(None)))
_INSTANCE_USAGE = select(func.count(col(Instance.id)), func.coalesce(func.sum(Instance.vcpus), 0),
                         func.coalesce(func.sum(Instance.memory_mb), 0))
_PROJECT_USAGE = _INSTANCE_USAGE.where(Instance.project_id == bindparam("project"), *_LIVE)
_USER_USAGE = _PROJECT_USAGE.where(Instance.user_id == bindparam("user"))


def count_instances(s: Session, project_id: str, user_id: str | None = None) -> InstanceUsage:
    """Nova's ``InstanceList.get_counts``: live servers of the project (of the user too),
    their vCPUs and RAM; a soft-deleted server counts for nothing."""
    if user_id is None:
        row = s.execute(_PROJECT_USAGE, {"project": project_id}).one()
    else:
        row = s.execute(_USER_USAGE, {"project": project_id, "user": user_id}).one()
    count, cores, ram = row
    return InstanceUsage(int(count), int(cores), int(ram))


def count_server_groups(s: Session, project_id: str, user_id: str | None = None) -> int:
    stmt = (select(func.count()).select_from(InstanceGroup)
            .where(InstanceGroup.project_id == project_id))
    if user_id is not None:
        stmt = stmt.where(InstanceGroup.user_id == user_id)
    return int(s.exec(stmt).one())


def count_key_pairs(s: Session, user_id: str) -> int:
    stmt = select(func.count()).select_from(KeyPair).where(KeyPair.user_id == user_id)
    return int(s.exec(stmt).one())
