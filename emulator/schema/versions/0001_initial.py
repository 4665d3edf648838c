"""The schema as it stood when migrations began (every table and index of the models).

A database made before migrations began is adopted by this revision: it creates only the
tables and indexes such a database lacks (create-if-absent, unlike later revisions).

Long because it is data: a frozen copy of every table, as Alembic's autogenerate wrote it.

Revision ID: 0001
Revises: nothing
Create Date: 2026-12-06 22:22:25.897414
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: Every table, in the order created (parents before the tables that refer to them).
TABLES = (
    "aggregate",
    "block_device_mapping",
    "cinder_quotas",
    "cinder_snapshots",
    "cinder_volume_attachments",
    "cinder_volumes",
    "consoleauthtoken",
    "domain",
    "flavor",
    "image",
    "instance",
    "instancegroup",
    "keypair",
    "migrations",
    "neutron_auto_allocated_topology",
    "neutron_network",
    "neutron_quota",
    "neutron_router",
    "neutron_security_group",
    "neutron_tag",
    "quotaclasslimit",
    "quotalimit",
    "role",
    "seededhost",
    "services",
    "token",
    "aggregatehost",
    "aggregatemetadata",
    "compute_nodes",
    "flavoraccess",
    "flavorextraspec",
    "imagemember",
    "imageproperty",
    "imagetag",
    "instanceaction",
    "instanceaddress",
    "instancefault",
    "instancegroupmember",
    "instancemetadata",
    "instancesystemmetadata",
    "instancetag",
    "neutron_default_security_group",
    "neutron_port",
    "neutron_security_group_rule",
    "neutron_subnet",
    "project",
    "user",
    "instanceactionevent",
    "neutron_floating_ip",
    "neutron_ip_allocation",
    "neutron_port_security_group",
    "roleassignment",
)


def _create_table(name: str, *elements: Any, **options: Any) -> None:
    """The table, unless the database (one made before migrations began) has it."""
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *elements, **options)


def _create_index(name: str, table: str, columns: list[str], unique: bool) -> None:
    """The index, unless the table has it already."""
    if name not in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}:
        op.create_index(name, table, columns, unique=unique)


def upgrade() -> None:
    _create_table(
        "aggregate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sqlite_autoincrement=True,
    )
    _create_index("ix_aggregate_uuid", "aggregate", ["uuid"], unique=True)

    _create_table(
        "block_device_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("source_type", sa.String(length=255), nullable=False),
        sa.Column("destination_type", sa.String(length=255), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=True),
        sa.Column("snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("image_id", sa.String(length=36), nullable=True),
        sa.Column("boot_index", sa.Integer(), nullable=True),
        sa.Column("device_name", sa.String(length=255), nullable=True),
        sa.Column("delete_on_termination", sa.Boolean(), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=True),
        sa.Column("volume_size", sa.Integer(), nullable=True),
        sa.Column("attachment_id", sa.String(length=36), nullable=True),
        sa.Column("disk_bus", sa.String(length=255), nullable=True),
        sa.Column("device_type", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_block_device_mapping_instance_uuid",
        "block_device_mapping",
        ["instance_uuid"],
        unique=False,
    )
    _create_index("ix_block_device_mapping_uuid", "block_device_mapping", ["uuid"], unique=True)
    _create_index(
        "ix_block_device_mapping_volume_id", "block_device_mapping", ["volume_id"], unique=False
    )

    _create_table(
        "cinder_quotas",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=300), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource"),
    )
    _create_table(
        "cinder_snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("progress", sa.String(length=255), nullable=False),
        sa.Column("volume_size", sa.Integer(), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("metadata_", sa.JSON(), nullable=False),
        sa.Column("image_metadata", sa.JSON(), nullable=False),
        sa.Column("use_quota", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_cinder_snapshots_created_at", "cinder_snapshots", ["created_at"], unique=False
    )
    _create_index(
        "ix_cinder_snapshots_project_id", "cinder_snapshots", ["project_id"], unique=False
    )
    _create_index("ix_cinder_snapshots_volume_id", "cinder_snapshots", ["volume_id"], unique=False)

    _create_table(
        "cinder_volume_attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=True),
        sa.Column("attach_status", sa.String(length=255), nullable=False),
        sa.Column("attach_mode", sa.String(length=4), nullable=False),
        sa.Column("attached_host", sa.String(length=255), nullable=True),
        sa.Column("mountpoint", sa.String(length=255), nullable=True),
        sa.Column("connector", sa.JSON(), nullable=False),
        sa.Column("connection_info", sa.JSON(), nullable=False),
        sa.Column("attach_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detach_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_cinder_volume_attachments_created_at",
        "cinder_volume_attachments",
        ["created_at"],
        unique=False,
    )
    _create_index(
        "ix_cinder_volume_attachments_instance_uuid",
        "cinder_volume_attachments",
        ["instance_uuid"],
        unique=False,
    )
    _create_index(
        "ix_cinder_volume_attachments_project_id",
        "cinder_volume_attachments",
        ["project_id"],
        unique=False,
    )
    _create_index(
        "ix_cinder_volume_attachments_volume_id",
        "cinder_volume_attachments",
        ["volume_id"],
        unique=False,
    )

    _create_table(
        "cinder_volumes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("attach_status", sa.String(length=255), nullable=False),
        sa.Column("previous_status", sa.String(length=255), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("snapshot_id", sa.String(length=36), nullable=True),
        sa.Column("source_volid", sa.String(length=36), nullable=True),
        sa.Column("bootable", sa.Boolean(), nullable=False),
        sa.Column("multiattach", sa.Boolean(), nullable=False),
        sa.Column("migration_status", sa.String(length=255), nullable=True),
        sa.Column("replication_status", sa.String(length=255), nullable=True),
        sa.Column("metadata_", sa.JSON(), nullable=False),
        sa.Column("image_metadata", sa.JSON(), nullable=False),
        sa.Column("admin_metadata", sa.JSON(), nullable=False),
        sa.Column("use_quota", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_cinder_volumes_created_at", "cinder_volumes", ["created_at"], unique=False)
    _create_index("ix_cinder_volumes_project_id", "cinder_volumes", ["project_id"], unique=False)
    _create_index("ix_cinder_volumes_status", "cinder_volumes", ["status"], unique=False)

    _create_table(
        "consoleauthtoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=255), nullable=False),
        sa.Column("console_type", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("tls_port", sa.Integer(), nullable=True),
        sa.Column("internal_access_path", sa.String(), nullable=True),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("access_url_base", sa.String(), nullable=True),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_consoleauthtoken_expires", "consoleauthtoken", ["expires"], unique=False)
    _create_index(
        "ix_consoleauthtoken_instance_uuid", "consoleauthtoken", ["instance_uuid"], unique=False
    )
    _create_index("ix_consoleauthtoken_token_hash", "consoleauthtoken", ["token_hash"], unique=True)

    _create_table(
        "domain",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_domain_name", "domain", ["name"], unique=True)

    _create_table(
        "flavor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flavorid", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("root_gb", sa.Integer(), nullable=False),
        sa.Column("ephemeral_gb", sa.Integer(), nullable=False),
        sa.Column("swap", sa.Integer(), nullable=False),
        sa.Column("rxtx_factor", sa.Float(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_flavor_flavorid", "flavor", ["flavorid"], unique=True)
    _create_index("ix_flavor_name", "flavor", ["name"], unique=True)

    _create_table(
        "image",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("visibility", sa.String(length=9), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("os_hidden", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("disk_format", sa.String(length=20), nullable=True),
        sa.Column("container_format", sa.String(length=20), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("virtual_size", sa.BigInteger(), nullable=True),
        sa.Column("checksum", sa.String(length=32), nullable=True),
        sa.Column("os_hash_algo", sa.String(length=64), nullable=True),
        sa.Column("os_hash_value", sa.String(length=128), nullable=True),
        sa.Column("min_disk", sa.Integer(), nullable=False),
        sa.Column("min_ram", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_image_name", "image", ["name"], unique=False)
    _create_index("ix_image_owner", "image", ["owner"], unique=False)
    _create_index("ix_image_status", "image", ["status"], unique=False)
    _create_index("ix_image_visibility", "image", ["visibility"], unique=False)

    _create_table(
        "instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("display_description", sa.String(), nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("image_ref", sa.String(), nullable=False),
        sa.Column("flavor_id", sa.String(length=255), nullable=False),
        sa.Column("flavor_name", sa.String(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("root_gb", sa.Integer(), nullable=False),
        sa.Column("ephemeral_gb", sa.Integer(), nullable=False),
        sa.Column("swap", sa.Integer(), nullable=False),
        sa.Column("flavor_extra_specs", sa.JSON(), nullable=False),
        sa.Column("old_flavor_id", sa.String(), nullable=True),
        sa.Column("old_flavor_name", sa.String(), nullable=True),
        sa.Column("old_memory_mb", sa.Integer(), nullable=False),
        sa.Column("old_vcpus", sa.Integer(), nullable=False),
        sa.Column("old_root_gb", sa.Integer(), nullable=False),
        sa.Column("old_ephemeral_gb", sa.Integer(), nullable=False),
        sa.Column("old_swap", sa.Integer(), nullable=False),
        sa.Column("old_flavor_extra_specs", sa.JSON(), nullable=True),
        sa.Column("old_vm_state", sa.String(), nullable=True),
        sa.Column("key_name", sa.String(), nullable=True),
        sa.Column("key_data", sa.String(), nullable=True),
        sa.Column("user_data", sa.String(), nullable=True),
        sa.Column("config_drive", sa.String(), nullable=False),
        sa.Column("access_ip_v4", sa.String(), nullable=True),
        sa.Column("access_ip_v6", sa.String(), nullable=True),
        sa.Column("disk_config", sa.String(), nullable=False),
        sa.Column("requested_availability_zone", sa.String(), nullable=True),
        sa.Column("availability_zone", sa.String(), nullable=True),
        sa.Column("pinned_availability_zone", sa.String(), nullable=True),
        sa.Column("host", sa.String(), nullable=True),
        sa.Column("node", sa.String(), nullable=True),
        sa.Column("source_host", sa.String(), nullable=True),
        sa.Column("source_node", sa.String(), nullable=True),
        sa.Column("requested_host", sa.String(), nullable=True),
        sa.Column("requested_node", sa.String(), nullable=True),
        sa.Column("launch_index", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.String(), nullable=False),
        sa.Column("vm_state", sa.String(length=32), nullable=False),
        sa.Column("task_state", sa.String(), nullable=True),
        sa.Column("power_state", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("locked_by", sa.String(), nullable=True),
        sa.Column("locked_reason", sa.String(), nullable=True),
        sa.Column("security_groups", sa.JSON(), nullable=False),
        sa.Column("requested_networks", sa.JSON(), nullable=False),
        sa.Column("trusted_certs", sa.JSON(), nullable=True),
        sa.Column("scheduler_hints", sa.JSON(), nullable=False),
        sa.Column("root_device_name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_instance_deleted_created", "instance", ["deleted", "created_at"], unique=False
    )
    _create_index("ix_instance_display_name", "instance", ["display_name"], unique=False)
    _create_index("ix_instance_flavor_id", "instance", ["flavor_id"], unique=False)
    _create_index("ix_instance_host", "instance", ["host"], unique=False)
    _create_index("ix_instance_uuid", "instance", ["uuid"], unique=True)
    _create_index(
        "ix_instance_project_deleted_created",
        "instance",
        ["project_id", "deleted", "created_at"],
        unique=False,
    )
    _create_index("ix_instance_vm_state", "instance", ["vm_state"], unique=False)

    _create_table(
        "instancegroup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("policy", sa.String(length=255), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_instancegroup_project_id", "instancegroup", ["project_id"], unique=False)
    _create_index("ix_instancegroup_uuid", "instancegroup", ["uuid"], unique=True)

    _create_table(
        "keypair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("public_key", sa.String(), nullable=False),
        sa.Column("type", sa.String(length=4), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "name"),
    )
    _create_index("ix_keypair_user_id", "keypair", ["user_id"], unique=False)

    _create_table(
        "migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("migration_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("source_compute", sa.String(length=255), nullable=True),
        sa.Column("source_node", sa.String(length=255), nullable=True),
        sa.Column("dest_compute", sa.String(length=255), nullable=True),
        sa.Column("dest_node", sa.String(length=255), nullable=True),
        sa.Column("dest_host", sa.String(length=255), nullable=True),
        sa.Column("old_instance_type_id", sa.Integer(), nullable=True),
        sa.Column("new_instance_type_id", sa.Integer(), nullable=True),
        sa.Column("memory_total", sa.Integer(), nullable=True),
        sa.Column("memory_processed", sa.Integer(), nullable=True),
        sa.Column("memory_remaining", sa.Integer(), nullable=True),
        sa.Column("disk_total", sa.Integer(), nullable=True),
        sa.Column("disk_processed", sa.Integer(), nullable=True),
        sa.Column("disk_remaining", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    _create_index("ix_migrations_created_id", "migrations", ["created_at", "id"], unique=False)
    _create_index("ix_migrations_instance_uuid", "migrations", ["instance_uuid"], unique=False)
    _create_index("ix_migrations_uuid", "migrations", ["uuid"], unique=True)

    _create_table(
        "neutron_auto_allocated_topology",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("router_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("project_id"),
    )
    _create_table(
        "neutron_network",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("external", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("mtu", sa.Integer(), nullable=False),
        sa.Column("network_type", sa.String(length=32), nullable=True),
        sa.Column("physical_network", sa.String(length=64), nullable=True),
        sa.Column("segmentation_id", sa.Integer(), nullable=True),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("availability_zone_hints", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_neutron_network_project_id", "neutron_network", ["project_id"], unique=False)

    _create_table(
        "neutron_quota",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource"),
    )
    _create_table(
        "neutron_router",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("gw_network_id", sa.String(length=36), nullable=True),
        sa.Column("gw_port_id", sa.String(length=36), nullable=True),
        sa.Column("enable_snat", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_neutron_router_project_id", "neutron_router", ["project_id"], unique=False)

    _create_table(
        "neutron_security_group",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("stateful", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_neutron_security_group_project_id",
        "neutron_security_group",
        ["project_id"],
        unique=False,
    )

    _create_table(
        "neutron_tag",
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "tag"),
    )
    _create_table(
        "quotaclasslimit",
        sa.Column("class_name", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("class_name", "resource"),
    )
    _create_table(
        "quotalimit",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "user_id", "resource"),
    )
    _create_table(
        "role",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_role_name", "role", ["name"], unique=True)

    _create_table(
        "seededhost",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("zone", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )
    _create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("binary", sa.String(length=255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=255), nullable=True),
        sa.Column("forced_down", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("host", "binary"),
        sqlite_autoincrement=True,
    )
    _create_index("ix_services_host", "services", ["host"], unique=False)
    _create_index("ix_services_uuid", "services", ["uuid"], unique=True)

    _create_table(
        "token",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=True),
        sa.Column("methods", sa.String(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_id", sa.String(length=64), nullable=False),
        sa.Column("parent_audit_id", sa.String(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    _create_index("ix_token_project_id", "token", ["project_id"], unique=False)
    _create_index("ix_token_user_id", "token", ["user_id"], unique=False)

    _create_table(
        "aggregatehost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["aggregate_id"],
            ["aggregate.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("aggregate_id", "host"),
        sqlite_autoincrement=True,
    )
    _create_index("ix_aggregatehost_aggregate_id", "aggregatehost", ["aggregate_id"], unique=False)
    _create_index("ix_aggregatehost_host", "aggregatehost", ["host"], unique=False)

    _create_table(
        "aggregatemetadata",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["aggregate_id"],
            ["aggregate.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("aggregate_id", "key"),
        sqlite_autoincrement=True,
    )
    _create_index(
        "ix_aggregatemetadata_aggregate_id", "aggregatemetadata", ["aggregate_id"], unique=False
    )

    _create_table(
        "compute_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("hypervisor_hostname", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    _create_index("ix_compute_nodes_host", "compute_nodes", ["host"], unique=True)
    _create_index("ix_compute_nodes_service_id", "compute_nodes", ["service_id"], unique=False)

    _create_table(
        "flavoraccess",
        sa.Column("flavor_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["flavor_id"],
            ["flavor.id"],
        ),
        sa.PrimaryKeyConstraint("flavor_id", "project_id"),
    )
    _create_table(
        "flavorextraspec",
        sa.Column("flavor_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["flavor_id"],
            ["flavor.id"],
        ),
        sa.PrimaryKeyConstraint("flavor_id", "key"),
    )
    _create_table(
        "imagemember",
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("member", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["image.id"],
        ),
        sa.PrimaryKeyConstraint("image_id", "member"),
    )
    _create_table(
        "imageproperty",
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["image.id"],
        ),
        sa.PrimaryKeyConstraint("image_id", "name"),
    )
    _create_table(
        "imagetag",
        sa.Column("image_id", sa.String(length=36), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["image.id"],
        ),
        sa.PrimaryKeyConstraint("image_id", "value"),
    )
    _create_table(
        "instanceaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finish_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instance.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_instanceaction_instance_uuid", "instanceaction", ["instance_uuid"], unique=False
    )
    _create_index("ix_instanceaction_request_id", "instanceaction", ["request_id"], unique=False)

    _create_table(
        "instanceaddress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("network_name", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("mac_address", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instance.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_instanceaddress_address", "instanceaddress", ["address"], unique=False)
    _create_index(
        "ix_instanceaddress_instance_uuid", "instanceaddress", ["instance_uuid"], unique=False
    )

    _create_table(
        "instancefault",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("details", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instance.uuid"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_instancefault_instance_uuid", "instancefault", ["instance_uuid"], unique=False
    )

    _create_table(
        "instancegroupmember",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["instancegroup.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "instance_uuid"),
    )
    _create_index(
        "ix_instancegroupmember_group_id", "instancegroupmember", ["group_id"], unique=False
    )
    _create_index(
        "ix_instancegroupmember_instance_uuid",
        "instancegroupmember",
        ["instance_uuid"],
        unique=False,
    )

    _create_table(
        "instancemetadata",
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instance.uuid"],
        ),
        sa.PrimaryKeyConstraint("instance_uuid", "key"),
    )
    _create_table(
        "instancesystemmetadata",
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instance.uuid"],
        ),
        sa.PrimaryKeyConstraint("instance_uuid", "key"),
    )
    _create_table(
        "instancetag",
        sa.Column("instance_uuid", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_uuid"],
            ["instance.uuid"],
        ),
        sa.PrimaryKeyConstraint("instance_uuid", "tag"),
    )
    _create_table(
        "neutron_default_security_group",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["neutron_security_group.id"],
        ),
        sa.PrimaryKeyConstraint("project_id"),
    )
    _create_table(
        "neutron_port",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("mac_address", sa.String(length=32), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=255), nullable=False),
        sa.Column("device_owner", sa.String(length=255), nullable=False),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("binding_host_id", sa.String(length=255), nullable=False),
        sa.Column("binding_vnic_type", sa.String(length=64), nullable=False),
        sa.Column("binding_profile", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["neutron_network.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_neutron_port_device_id", "neutron_port", ["device_id"], unique=False)
    _create_index("ix_neutron_port_mac_address", "neutron_port", ["mac_address"], unique=False)
    _create_index("ix_neutron_port_network_id", "neutron_port", ["network_id"], unique=False)
    _create_index("ix_neutron_port_project_id", "neutron_port", ["project_id"], unique=False)

    _create_table(
        "neutron_security_group_rule",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("ethertype", sa.String(length=8), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=True),
        sa.Column("port_range_min", sa.Integer(), nullable=True),
        sa.Column("port_range_max", sa.Integer(), nullable=True),
        sa.Column("remote_ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("remote_group_id", sa.String(length=36), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["neutron_security_group.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_neutron_security_group_rule_project_id",
        "neutron_security_group_rule",
        ["project_id"],
        unique=False,
    )
    _create_index(
        "ix_neutron_security_group_rule_remote_group_id",
        "neutron_security_group_rule",
        ["remote_group_id"],
        unique=False,
    )
    _create_index(
        "ix_neutron_security_group_rule_security_group_id",
        "neutron_security_group_rule",
        ["security_group_id"],
        unique=False,
    )

    _create_table(
        "neutron_subnet",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("gateway_ip", sa.String(length=64), nullable=True),
        sa.Column("enable_dhcp", sa.Boolean(), nullable=False),
        sa.Column("ipv6_ra_mode", sa.String(length=16), nullable=True),
        sa.Column("ipv6_address_mode", sa.String(length=16), nullable=True),
        sa.Column("allocation_pools", sa.JSON(), nullable=False),
        sa.Column("dns_nameservers", sa.JSON(), nullable=False),
        sa.Column("host_routes", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["neutron_network.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("ix_neutron_subnet_network_id", "neutron_subnet", ["network_id"], unique=False)
    _create_index("ix_neutron_subnet_project_id", "neutron_subnet", ["project_id"], unique=False)

    _create_table(
        "project",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("domain_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domain.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain_id", "name"),
    )
    _create_index("ix_project_name", "project", ["name"], unique=False)

    _create_table(
        "user",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("domain_id", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("default_project_id", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("description", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domain.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain_id", "name"),
    )
    _create_index("ix_user_name", "user", ["name"], unique=False)

    _create_table(
        "instanceactionevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finish_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(), nullable=True),
        sa.Column("traceback", sa.String(), nullable=True),
        sa.Column("host", sa.String(), nullable=True),
        sa.Column("details", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["instanceaction.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_instanceactionevent_action_id", "instanceactionevent", ["action_id"], unique=False
    )

    _create_table(
        "neutron_floating_ip",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("floating_ip_address", sa.String(length=64), nullable=False),
        sa.Column("floating_network_id", sa.String(length=36), nullable=False),
        sa.Column("floating_port_id", sa.String(length=36), nullable=False),
        sa.Column("fixed_port_id", sa.String(length=36), nullable=True),
        sa.Column("fixed_ip_address", sa.String(length=64), nullable=True),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["floating_network_id"],
            ["neutron_network.id"],
        ),
        sa.ForeignKeyConstraint(
            ["floating_port_id"],
            ["neutron_port.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index(
        "ix_neutron_floating_ip_fixed_port_id",
        "neutron_floating_ip",
        ["fixed_port_id"],
        unique=False,
    )
    _create_index(
        "ix_neutron_floating_ip_floating_network_id",
        "neutron_floating_ip",
        ["floating_network_id"],
        unique=False,
    )
    _create_index(
        "ix_neutron_floating_ip_project_id", "neutron_floating_ip", ["project_id"], unique=False
    )
    _create_index(
        "ix_neutron_floating_ip_router_id", "neutron_floating_ip", ["router_id"], unique=False
    )

    _create_table(
        "neutron_ip_allocation",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["neutron_port.id"],
        ),
        sa.ForeignKeyConstraint(
            ["subnet_id"],
            ["neutron_subnet.id"],
        ),
        sa.PrimaryKeyConstraint("subnet_id", "ip_address"),
    )
    _create_index(
        "ix_neutron_ip_allocation_network_id", "neutron_ip_allocation", ["network_id"], unique=False
    )
    _create_index(
        "ix_neutron_ip_allocation_port_id", "neutron_ip_allocation", ["port_id"], unique=False
    )

    _create_table(
        "neutron_port_security_group",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("security_group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["neutron_port.id"],
        ),
        sa.ForeignKeyConstraint(
            ["security_group_id"],
            ["neutron_security_group.id"],
        ),
        sa.PrimaryKeyConstraint("port_id", "security_group_id"),
    )
    _create_index(
        "ix_neutron_port_security_group_security_group_id",
        "neutron_port_security_group",
        ["security_group_id"],
        unique=False,
    )

    _create_table(
        "roleassignment",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("role_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["role.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("user_id", "project_id", "role_id"),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
