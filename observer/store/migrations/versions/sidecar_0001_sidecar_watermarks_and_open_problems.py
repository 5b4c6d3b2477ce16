"""sidecar watermarks and open problems

Revision ID: sidecar_0001
Revises: core_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import observer.store.metadata

revision = "sidecar_0001"
down_revision = "core_0001"
branch_labels = ("sidecar",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sidecar_open_problems",
        sa.Column("check_name", sa.String(length=40), nullable=False),
        sa.Column("namespace", sa.String(length=1000), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("opened_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("check_name", "namespace", "name", name=op.f("pk_sidecar_open_problems")),
        comment="Problems the sidecar has alerted on and not yet seen cleared.",
    )
    op.create_table(
        "sidecar_watermarks",
        sa.Column("namespace", sa.String(length=1000), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("write_counter", sa.BigInteger(), nullable=True),
        sa.Column(
            "last_modified",
            observer.store.metadata.UtcDateTime(timezone=True),
            nullable=True,
            comment="newest timestamp-column value",
        ),
        sa.Column(
            "watched_since",
            observer.store.metadata.UtcDateTime(timezone=True),
            nullable=False,
            comment="first cycle that saw the table",
        ),
        sa.Column("observed_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "name", name=op.f("pk_sidecar_watermarks")),
        comment="Per watched table: the last statistics read, to tell a write from no write.",
    )


def downgrade() -> None:
    op.drop_table("sidecar_watermarks")
    op.drop_table("sidecar_open_problems")
