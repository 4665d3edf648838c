"""The worker epoch: one row API workers sharing the database follow (the identity
tables' generation, bumped by every identity write; the leader's count of fault rules).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 01:47:30.233628
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.Integer(), nullable=False),
        sa.Column("fault_rules", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("worker_epoch")
