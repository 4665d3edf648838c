"""Compute tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from emulator.db import JSONValue


class Flavor(SQLModel, table=True):
    #: Internal integer id (Nova's ``flavors.id``); the API shows ``flavorid``.
    id: int | None = Field(default=None, primary_key=True)
    flavorid: str = Field(index=True, unique=True, max_length=255)
    name: str = Field(index=True, unique=True, max_length=255)
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    disabled: bool = False
    description: str | None = None
    created_at: datetime


class FlavorExtraSpec(SQLModel, table=True):
    flavor_id: int = Field(foreign_key="flavor.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=255)
    value: str = Field(max_length=255)


class FlavorAccess(SQLModel, table=True):
    flavor_id: int = Field(foreign_key="flavor.id", primary_key=True)
    project_id: str = Field(primary_key=True, max_length=255)


class KeyPair(SQLModel, table=True):
    """A user's key pair (Nova keeps them per user, not per project)."""

    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    user_id: str = Field(index=True, max_length=255)
    fingerprint: str = Field(max_length=255)
    #: An OpenSSH public key line, or a PEM certificate for ``x509``.
    public_key: str
    #: ``ssh`` or ``x509``.
    type: str = Field(default="ssh", max_length=4)
    created_at: datetime


class Instance(SQLModel, table=True):
    """A server. Flavor values are copied at build time, as Nova embeds the flavor."""

    #: The list's default order (``created_at``, then ``id``: SQLite's rowid ends every
    #: index) after its usual equalities, so that a page is read from the index at its
    #: marker: a project's live servers, and every project's (``all_tenants``).
    __table_args__ = (
        Index("ix_instance_project_deleted_created", "project_id", "deleted", "created_at"),
        Index("ix_instance_deleted_created", "deleted", "created_at"),
    )

    #: Internal integer id: creation order, the tie-breaker of every sort.
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(index=True, unique=True, max_length=36)
    display_name: str = Field(index=True, max_length=255)
    display_description: str | None = None
    hostname: str = Field(max_length=255)
    project_id: str = Field(max_length=255)
    user_id: str = Field(max_length=255)
    image_ref: str = ""
    flavor_id: str = Field(index=True, max_length=255)
    flavor_name: str = ""
    memory_mb: int = 0
    vcpus: int = 0
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    flavor_extra_specs: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    #: The flavor before a resize (Nova's ``instance.old_flavor``), kept from the resize
    #: until it is confirmed or reverted; the host's usage counts the larger of the two.
    old_flavor_id: str | None = None
    old_flavor_name: str | None = None
    old_memory_mb: int = 0
    old_vcpus: int = 0
    old_root_gb: int = 0
    old_ephemeral_gb: int = 0
    old_swap: int = 0
    old_flavor_extra_specs: dict[str, Any] | None = Field(default=None, sa_type=JSONValue)
    #: The vm_state an action that returns to it started from (Nova's ``old_vm_state``).
    old_vm_state: str | None = None
    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None
    config_drive: str = ""
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    disk_config: str = "MANUAL"
    #: The zone the user asked for (None: any); the host's zone once scheduled.
    requested_availability_zone: str | None = None
    availability_zone: str | None = None
    pinned_availability_zone: str | None = None
    host: str | None = Field(default=None, index=True)
    node: str | None = None
    #: Where a resize that moved the server came from (Nova's ``migration.source_compute``
    #: and ``source_node``), until it is confirmed or reverted: the old flavor stays
    #: claimed there while ``host`` holds the new one.
    source_host: str | None = None
    source_node: str | None = None
    requested_host: str | None = None
    requested_node: str | None = None
    launch_index: int = 0
    reservation_id: str = ""
    vm_state: str = Field(index=True, max_length=32)
    task_state: str | None = None
    power_state: int = 0
    progress: int = 0
    locked: bool = False
    locked_by: str | None = None
    locked_reason: str | None = None
    security_groups: list[str] = Field(default_factory=list, sa_type=JSONValue)
    requested_networks: Any = Field(default=None, sa_type=JSONValue)
    trusted_certs: list[str] | None = Field(default=None, sa_type=JSONValue)
    scheduler_hints: dict[str, Any] = Field(default_factory=dict, sa_type=JSONValue)
    root_device_name: str = "/dev/vda"
    created_at: datetime
    updated_at: datetime | None = None
    launched_at: datetime | None = None
    terminated_at: datetime | None = None
    deleted: bool = False
    deleted_at: datetime | None = None


class InstanceMetadata(SQLModel, table=True):
    instance_uuid: str = Field(foreign_key="instance.uuid", primary_key=True, max_length=36)
    key: str = Field(primary_key=True, max_length=255)
    value: str = Field(max_length=255)


class InstanceSystemMetadata(SQLModel, table=True):
    """What Nova keeps about a server that its API does not show (Nova's
    ``instance_system_metadata``): e.g. the image a shelve made (``shelved_image_id``)."""

    instance_uuid: str = Field(foreign_key="instance.uuid", primary_key=True, max_length=36)
    key: str = Field(primary_key=True, max_length=255)
    value: str = Field(max_length=255)


class InstanceTag(SQLModel, table=True):
    instance_uuid: str = Field(foreign_key="instance.uuid", primary_key=True, max_length=36)
    tag: str = Field(primary_key=True, max_length=60)


class InstanceAddress(SQLModel, table=True):
    """A fixed address of a server on a network (what Neutron ports will carry)."""

    id: int | None = Field(default=None, primary_key=True)
    instance_uuid: str = Field(foreign_key="instance.uuid", index=True, max_length=36)
    network_name: str
    address: str = Field(index=True)
    version: int = 4
    mac_address: str
    kind: str = "fixed"


class InstanceFault(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    instance_uuid: str = Field(foreign_key="instance.uuid", index=True, max_length=36)
    code: int
    message: str
    details: str = ""
    created_at: datetime


class InstanceAction(SQLModel, table=True):
    """One API call on a server, keyed by its request id (``os-instance-actions``)."""

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(index=True, max_length=255)
    instance_uuid: str = Field(foreign_key="instance.uuid", index=True, max_length=36)
    action: str
    project_id: str
    user_id: str
    start_time: datetime
    finish_time: datetime | None = None
    message: str | None = None
    updated_at: datetime | None = None


class InstanceActionEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="instanceaction.id", index=True)
    event: str
    start_time: datetime
    finish_time: datetime | None = None
    result: str | None = None
    traceback: str | None = None
    host: str | None = None
    details: str | None = None


class ConsoleAuthToken(SQLModel, table=True):
    """A console authorization (Nova's ``console_auth_tokens``). As in Nova, only the
    token's SHA-256 is stored: the token itself is shown once, in the console URL."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=255)
    console_type: str = Field(max_length=255)
    host: str = Field(max_length=255)
    port: int
    tls_port: int | None = None
    internal_access_path: str | None = None
    instance_uuid: str = Field(index=True, max_length=36)
    access_url_base: str | None = None
    #: Seconds since the epoch (Nova's ``expires``: ``utcnow_ts() + token_ttl``).
    expires: int = Field(index=True)
    created_at: datetime
