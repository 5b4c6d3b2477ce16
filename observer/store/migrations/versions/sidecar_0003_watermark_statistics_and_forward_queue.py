"""watermark statistics and forward queue

Row counts and sizes in the watermarks (writes to DuckDB tables show as a changed row count), and
the findings waiting to be forwarded to a central Observer (so a ``--once`` run that cannot reach
it forwards them on the next run).

Revision ID: sidecar_0003
Revises: sidecar_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import observer.store.metadata

revision = "sidecar_0003"
down_revision = "sidecar_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sidecar_forwards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "state", sa.String(length=10), nullable=False, comment="open (a problem appeared) or cleared"
        ),
        sa.Column(
            "item",
            sa.JSON(),
            nullable=False,
            comment="the finding or pass as POST /api/v1/sidecar/findings takes it",
        ),
        sa.Column("created_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sidecar_forwards")),
        comment="Findings and passes waiting to be forwarded to the central Observer, oldest first.",
    )
    with op.batch_alter_table("sidecar_watermarks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "row_count", sa.BigInteger(), nullable=True, comment="the catalog's row count (estimate)"
            )
        )
        batch_op.add_column(sa.Column("size_bytes", sa.BigInteger(), nullable=True))
        batch_op.alter_column(
            "last_modified",
            existing_type=observer.store.metadata.UtcDateTime(timezone=True),
            existing_nullable=True,
            comment="newest timestamp-column or catalog write time",
            existing_comment="newest timestamp-column value",
        )


def downgrade() -> None:
    with op.batch_alter_table("sidecar_watermarks", schema=None) as batch_op:
        batch_op.alter_column(
            "last_modified",
            existing_type=observer.store.metadata.UtcDateTime(timezone=True),
            existing_nullable=True,
            comment="newest timestamp-column value",
            existing_comment="newest timestamp-column or catalog write time",
        )
        batch_op.drop_column("size_bytes")
        batch_op.drop_column("row_count")
    op.drop_table("sidecar_forwards")
