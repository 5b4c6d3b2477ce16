"""lineage graph nodes, edges and neo4j outbox

Revision ID: graph_0001
Revises: core_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "graph_0001"
down_revision = "core_0001"
branch_labels = ("graph",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graph_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False, comment="0 dataset, 1 field, 2 job"),
        sa.Column(
            "key",
            sa.Text(),
            nullable=False,
            comment="the API node id: dataset:ns:name, datasetField:…, job:…",
        ),
        sa.Column("namespace", sa.String(length=1000), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("field", sa.String(length=1000), nullable=True),
        sa.Column("dataset_id", sa.Integer(), nullable=True, comment="a field's dataset node"),
        sa.Column(
            "merged_into",
            sa.Integer(),
            nullable=True,
            comment="set on a symlinked alias folded into its dataset",
        ),
        sa.Column("first_seen", sa.BigInteger(), nullable=False, comment="epoch ms (UTC)"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graph_nodes")),
        comment="Datasets, columns and jobs of the lineage graph.",
    )
    op.create_index("ux_graph_nodes_key", "graph_nodes", ["key"], unique=True)
    op.create_index("ix_graph_nodes_dataset_id", "graph_nodes", ["dataset_id"], unique=False)
    op.create_table(
        "graph_edges",
        sa.Column("src", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dst", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "kind",
            sa.SmallInteger(),
            autoincrement=False,
            nullable=False,
            comment="0 read, 1 write, 2 flow, 3 derive",
        ),
        sa.Column(
            "job",
            sa.Integer(),
            autoincrement=False,
            nullable=False,
            comment="job node of a derive edge, else 0",
        ),
        sa.Column("source", sa.SmallInteger(), autoincrement=False, nullable=False, comment="SourceCode"),
        sa.Column(
            "type",
            sa.SmallInteger(),
            autoincrement=False,
            nullable=False,
            comment="0 none, 1 DIRECT, 2 INDIRECT",
        ),
        sa.Column("subtype", sa.String(length=40), nullable=True),
        sa.Column("masking", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("first_seen", sa.BigInteger(), nullable=False, comment="epoch ms (UTC)"),
        sa.Column("last_seen", sa.BigInteger(), nullable=False, comment="epoch ms (UTC)"),
        sa.PrimaryKeyConstraint("src", "dst", "kind", "job", "source", "type", name=op.f("pk_graph_edges")),
        comment="Directed lineage edges, oriented the way data flows; the primary key serves downstream walks.",
        sqlite_with_rowid=False,
    )
    op.create_index("ix_graph_edges_dst", "graph_edges", ["dst", "kind", "first_seen"], unique=False)
    op.create_table(
        "graph_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "payload", sa.JSON(), nullable=False, comment='{"nodes": […], "edges": […], "detach": […]}'
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graph_outbox")),
        comment="Changes recorded in the store and not yet pushed to the Neo4j backend.",
    )


def downgrade() -> None:
    op.drop_table("graph_outbox")
    op.drop_index("ix_graph_edges_dst", table_name="graph_edges")
    op.drop_table("graph_edges")
    op.drop_index("ix_graph_nodes_dataset_id", table_name="graph_nodes")
    op.drop_index("ux_graph_nodes_key", table_name="graph_nodes")
    op.drop_table("graph_nodes")
