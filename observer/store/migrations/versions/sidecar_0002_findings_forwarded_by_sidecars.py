"""findings forwarded by sidecars

Revision ID: sidecar_0002
Revises: sidecar_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import observer.store.metadata

revision = "sidecar_0002"
down_revision = "sidecar_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sidecar_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sidecar", sa.String(length=200), nullable=False),
        sa.Column("check_name", sa.String(length=40), nullable=False),
        sa.Column("namespace", sa.String(length=1000), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column(
            "state", sa.String(length=10), nullable=False, comment="open (a problem appeared) or cleared"
        ),
        sa.Column("severity", sa.String(length=20), nullable=True),
        sa.Column(
            "observed_at",
            observer.store.metadata.UtcDateTime(timezone=True),
            nullable=False,
            comment="when the sidecar saw it",
        ),
        sa.Column("received_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sidecar_findings")),
        comment="Findings forwarded by sidecars (POST /api/v1/sidecar/findings), as received.",
    )
    with op.batch_alter_table("sidecar_findings", schema=None) as batch_op:
        batch_op.create_index("ix_sidecar_findings_received", ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sidecar_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_sidecar_findings_received")

    op.drop_table("sidecar_findings")
