"""collector state

Revision ID: collectors_0001
Revises: core_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import observer.store.metadata

revision = "collectors_0001"
down_revision = "core_0001"
branch_labels = ("collectors",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collector_state",
        sa.Column(
            "collector", sa.String(length=200), nullable=False, comment="warehouse:<name> or dbt:<name>"
        ),
        sa.Column(
            "kind", sa.String(length=40), nullable=False, comment="table, statement, cursor, artifacts"
        ),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("collector", "kind", "key", name=op.f("pk_collector_state")),
        comment="Collector memory between passes; losing it only costs one pass of deltas.",
    )


def downgrade() -> None:
    op.drop_table("collector_state")
