"""The graph's tables in the store: the source of truth for both backends.

Nodes get integer ids and edges are keyed by integers and small codes so that a traversal reads
narrow, covering b-trees. Edge times are epoch milliseconds (UTC); :func:`to_ms` and
:func:`from_ms` convert at the boundary, so Python code only ever sees aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, SmallInteger, String, Table, Text

from observer.store.metadata import metadata

NAME = 1000


class NodeKind(IntEnum):
    DATASET = 0
    FIELD = 1
    JOB = 2


class EdgeKind(IntEnum):
    READ = 0  # dataset → job: the job reads the dataset
    WRITE = 1  # job → dataset: the job writes the dataset
    FLOW = 2  # dataset → dataset with no known job (SQL, dbt, manual lineage)
    DERIVE = 3  # column → column: the target column derives from the source column


class SourceCode(IntEnum):
    openlineage = 0
    sql = 1
    dbt = 2
    warehouse = 3
    manual = 4


class TransformCode(IntEnum):
    NONE = 0  # dataset-level edges
    DIRECT = 1
    INDIRECT = 2


NO_JOB = 0
"""``graph_edges.job`` for edges without a job (a primary key column cannot be NULL)."""

graph_nodes = Table(
    "graph_nodes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", SmallInteger, nullable=False, comment="0 dataset, 1 field, 2 job"),
    Column("key", Text, nullable=False, comment="the API node id: dataset:ns:name, datasetField:…, job:…"),
    Column("namespace", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("field", String(NAME), nullable=True),
    Column("dataset_id", Integer, nullable=True, comment="a field's dataset node"),
    Column("merged_into", Integer, nullable=True, comment="set on a symlinked alias folded into its dataset"),
    Column("first_seen", BigInteger, nullable=False, comment="epoch ms (UTC)"),
    Index("ux_graph_nodes_key", "key", unique=True),
    Index("ix_graph_nodes_dataset_id", "dataset_id"),
    comment="Datasets, columns and jobs of the lineage graph.",
)

graph_edges = Table(
    "graph_edges",
    metadata,
    Column("src", Integer, primary_key=True, autoincrement=False),
    Column("dst", Integer, primary_key=True, autoincrement=False),
    Column(
        "kind",
        SmallInteger,
        primary_key=True,
        autoincrement=False,
        comment="0 read, 1 write, 2 flow, 3 derive",
    ),
    Column(
        "job", Integer, primary_key=True, autoincrement=False, comment="job node of a derive edge, else 0"
    ),
    Column("source", SmallInteger, primary_key=True, autoincrement=False, comment="SourceCode"),
    Column(
        "type", SmallInteger, primary_key=True, autoincrement=False, comment="0 none, 1 DIRECT, 2 INDIRECT"
    ),
    Column("subtype", String(40), nullable=True),
    Column("masking", Boolean, nullable=False),
    Column("description", Text, nullable=True),
    Column("first_seen", BigInteger, nullable=False, comment="epoch ms (UTC)"),
    Column("last_seen", BigInteger, nullable=False, comment="epoch ms (UTC)"),
    Column(
        "retired_at",
        BigInteger,
        nullable=True,
        comment="epoch ms (UTC) when a complete re-declaration left it out or its dataset was deleted; null: live",
    ),
    Column(
        "gaps",
        Text,
        nullable=True,
        comment="earlier retirements it came back from: 'from-to,from-to' (epoch ms)",
    ),
    Index("ix_graph_edges_dst", "dst", "kind", "retired_at", "first_seen"),
    sqlite_with_rowid=False,
    comment="Directed lineage edges, oriented the way data flows; the primary key serves downstream walks.",
)

graph_outbox = Table(
    "graph_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("payload", JSON, nullable=False, comment='{"nodes": […], "edges": […], "detach": […]}'),
    comment="Changes recorded in the store and not yet pushed to the Neo4j backend.",
)


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r} given to the lineage graph")
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)
