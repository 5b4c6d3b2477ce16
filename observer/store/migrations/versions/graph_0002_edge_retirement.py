"""lineage graph edges can be retired (valid-to time and the gaps of earlier retirements)

Revision ID: graph_0002
Revises: graph_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "graph_0002"
down_revision = "graph_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("graph_edges", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column(
                "retired_at",
                sa.BigInteger(),
                nullable=True,
                comment="epoch ms (UTC) when a complete re-declaration left it out or its dataset "
                "was deleted; null: live",
            )
        )
        batch_op.add_column(
            sa.Column(
                "gaps",
                sa.Text(),
                nullable=True,
                comment="earlier retirements it came back from: 'from-to,from-to' (epoch ms)",
            )
        )
        batch_op.drop_index("ix_graph_edges_dst")
        batch_op.create_index("ix_graph_edges_dst", ["dst", "kind", "retired_at", "first_seen"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("graph_edges", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_graph_edges_dst")
        batch_op.create_index("ix_graph_edges_dst", ["dst", "kind", "first_seen"], unique=False)
        batch_op.drop_column("gaps")
        batch_op.drop_column("retired_at")
