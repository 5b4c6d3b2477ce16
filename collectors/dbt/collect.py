"""dbt artifacts → catalog and graph.

- models, seeds, snapshots and sources become datasets (kind, description, owners and tags from
  ``meta``/``config.meta``/groups, a ``dbt`` facet) named like OpenLineage's dbt integration names them;
- ``catalog.json`` gives schema versions (unless the warehouse collector already owns the dataset's
  schema) and, where the adapter reports them, row counts, sizes and last-modified times;
- compiled SQL goes through the SQL lineage engine: column edges per model, attributed to the job
  ``<job_namespace>:<unique_id>`` (what ``dbt-ol`` calls it), plus the table edges of ``depends_on``;
- ``run_results.json``: test results become assertions, successful builds dataset updates and
  ``rows_written`` points; ``sources.json``: freshness results become assertions, updates at
  ``max_loaded_at`` and ``event_lag_seconds`` points.

run_results and sources files already ingested (same ``invocation_id``) are skipped, so polling the
target directory is idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection
from sqlglot import exp

from collectors.dbt.artifacts import Artifacts, read_artifacts
from collectors.state import CollectorState
from collectors.warehouse.naming import catalog_identifier, dataset, split_dotted, sql_identifier
from observer.catalog import service
from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.records import Assertion, DatasetUpdate, MetricPoint, SchemaField, SchemaObservation
from observer.clock import Clock, ensure_utc
from observer.graph.from_sql import lineage_batch
from observer.graph.model import DatasetEdge, GraphWriter, LineageBatch
from observer.lineage import analyze_sql
from observer.store import Store

SOURCE: Final = "dbt"
DATASET_TYPES = frozenset({"model", "seed", "snapshot", "source"})
_KIND_BY_MATERIALIZATION = {"view": "VIEW", "materialized_view": "MATERIALIZED_VIEW"}
_UNQUOTED_BY_DEFAULT = frozenset({"snowflake"})


@dataclass
class DbtReport:
    project: str
    ok: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    datasets: int = 0
    schema_versions: int = 0
    jobs: int = 0
    column_edges: int = 0
    assertions: int = 0
    updates: int = 0
    skipped: list[str] = field(default_factory=list)
    duration_s: float = 0.0


class DbtNames:
    """Dataset identities of dbt relations, folded the way the adapter's engine stores names."""

    def __init__(self, namespace: str, dialect: str) -> None:
        self.namespace = namespace
        self.dialect = dialect

    def of_node(self, node: Mapping[str, Any]) -> DatasetRef:
        relation = node.get("relation_name")
        if relation:
            table = exp.to_table(relation, dialect=self.dialect)
            parts = [part for part in (table.args.get("catalog"), table.args.get("db"), table.this) if part]
            return dataset(
                self.namespace,
                *(sql_identifier(part.name, self.dialect, quoted=part.quoted) for part in parts),
            )
        quoted = self.dialect not in _UNQUOTED_BY_DEFAULT
        name = node.get("alias") or node.get("identifier") or node["name"]
        return dataset(
            self.namespace,
            *(
                sql_identifier(str(part), self.dialect, quoted=quoted)
                for part in (node.get("database"), node.get("schema"), name)
                if part
            ),
        )

    def of_name(self, name: str) -> DatasetRef:
        """A table name from the lineage engine (already folded for the dialect)."""
        return dataset(
            self.namespace, *(catalog_identifier(part, self.dialect) for part in split_dotted(name))
        )


def collect_dbt(
    target_dir: Path,
    *,
    name: str,
    namespace: str,
    store: Store,
    clock: Clock,
    job_namespace: str = "dbt",
    graph: GraphWriter | None = None,
) -> DbtReport:
    """Ingest one target directory; raises :class:`collectors.dbt.artifacts.ArtifactError` when the
    artifacts cannot be read."""
    started = time.perf_counter()
    artifacts = read_artifacts(target_dir)
    report = DbtReport(project=artifacts.project or name)
    now = clock.now()
    names = DbtNames(namespace, artifacts.adapter_type or "postgres")
    nodes = artifacts.nodes()
    refs = {
        unique_id: names.of_node(node)
        for unique_id, node in nodes.items()
        if node.get("resource_type") in DATASET_TYPES and _materialized(node) != "ephemeral"
    }
    batches = _lineage(artifacts, nodes, refs, names, job_namespace, now, report)
    with store.engine.begin() as connection:
        state = CollectorState.load(connection, f"dbt:{name}")
        ids = service.ensure_datasets(connection, refs.values(), now)
        _describe_datasets(connection, artifacts, nodes, refs, ids, now)
        report.datasets = len(refs)
        report.schema_versions = _record_schemas(connection, artifacts, nodes, refs, ids, now)
        _describe_jobs(connection, batches, nodes, names.dialect, now)
        report.jobs = len(batches)
        points, updates = _catalog_stats(artifacts, refs)
        assertions: list[Assertion] = []
        if _new_invocation(state, "run_results", artifacts.run_results, report):
            assert artifacts.run_results is not None
            _run_results(artifacts.run_results, nodes, refs, now, assertions, updates, points, report)
        if _new_invocation(state, "sources", artifacts.sources, report):
            assert artifacts.sources is not None
            _source_freshness(artifacts.sources, refs, assertions, updates, points)
        service.record_metrics(connection, points, now)
        service.record_updates(connection, updates, now)
        service.record_assertions(connection, assertions, now)
        state.save(connection, now)
    report.assertions = len(assertions)
    report.updates = len(updates)
    if graph is not None:
        for batch in batches:
            graph.record(batch)
    report.column_edges = sum(len(batch.column_edges) for batch in batches)
    report.ok = True
    report.duration_s = time.perf_counter() - started
    return report


def _materialized(node: Mapping[str, Any]) -> str | None:
    config = node.get("config") or {}
    return config.get("materialized")


def _meta(node: Mapping[str, Any]) -> dict[str, Any]:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def _owners(node: Mapping[str, Any], groups: Mapping[str, Any]) -> list[dict[str, Any]]:
    owners: list[dict[str, Any]] = []
    declared = _meta(node).get("owner") or _meta(node).get("owners")
    for owner in declared if isinstance(declared, list) else [declared] if declared else []:
        owners.append({"name": str(owner), "type": "dbt meta"})
    group = groups.get(f"group.{node.get('package_name')}.{node.get('group')}") if node.get("group") else None
    if group:
        owner = group.get("owner") or {}
        group_owner = owner.get("email") or owner.get("name")
        if group_owner and all(existing["name"] != group_owner for existing in owners):
            owners.append({"name": str(group_owner), "type": "dbt group"})
    return owners


def _describe_datasets(
    connection: Connection,
    artifacts: Artifacts,
    nodes: Mapping[str, Any],
    refs: Mapping[str, DatasetRef],
    ids: Mapping[DatasetRef, int],
    now: datetime,
) -> None:
    groups = artifacts.manifest.get("groups") or {}
    catalog_entries = _catalog_entries(artifacts)
    for unique_id, ref in refs.items():
        node = nodes[unique_id]
        tags = sorted({*(node.get("tags") or []), *((node.get("config") or {}).get("tags") or [])})
        facet = {
            "unique_id": unique_id,
            "resource_type": node.get("resource_type"),
            "materialized": _materialized(node),
            "package": node.get("package_name"),
            "path": node.get("original_file_path"),
        }
        service.update_dataset(
            connection,
            ids[ref],
            now,
            kind=_kind(node, catalog_entries.get(unique_id)),
            description=node.get("description") or None,
            owners=_owners(node, groups),
            tags=tags,
            facets={"dbt": {key: value for key, value in facet.items() if value is not None}},
        )


def _describe_jobs(
    connection: Connection, batches: list[LineageBatch], nodes: Mapping[str, Any], dialect: str, now: datetime
) -> None:
    """One job per model or snapshot, with its compiled SQL and description, as dbt-ol describes it."""
    jobs = {edge.job for batch in batches for edge in batch.dataset_edges}
    ids = service.ensure_jobs(connection, jobs, now)
    for job in jobs:
        node = nodes[job.name]
        facets: dict[str, Any] = {
            "jobType": {
                "processingType": "BATCH",
                "integration": "DBT",
                "jobType": node["resource_type"].upper(),
            }
        }
        compiled = node.get("compiled_code") or node.get("compiled_sql")
        if compiled:
            facets["sql"] = {"query": compiled, "dialect": dialect}
        service.update_job(
            connection,
            ids[job],
            now,
            job_type="BATCH",
            description=node.get("description") or None,
            facets=facets,
        )


def _kind(node: Mapping[str, Any], catalog_entry: Mapping[str, Any] | None) -> str:
    catalog_type = str(((catalog_entry or {}).get("metadata") or {}).get("type") or "").upper()
    if "VIEW" in catalog_type:
        return "MATERIALIZED_VIEW" if "MATERIALIZED" in catalog_type else "VIEW"
    return _KIND_BY_MATERIALIZATION.get(_materialized(node) or "", "TABLE")


def _catalog_entries(artifacts: Artifacts) -> dict[str, Any]:
    catalog = artifacts.catalog or {}
    return {**(catalog.get("nodes") or {}), **(catalog.get("sources") or {})}


def _record_schemas(
    connection: Connection,
    artifacts: Artifacts,
    nodes: Mapping[str, Any],
    refs: Mapping[str, DatasetRef],
    ids: Mapping[DatasetRef, int],
    now: datetime,
) -> int:
    """Schemas from catalog.json, for datasets whose schema the warehouse collector does not own."""
    observed_at = _generated_at(artifacts.catalog) or now
    observations = []
    for unique_id, entry in _catalog_entries(artifacts).items():
        ref = refs.get(unique_id)
        if ref is None:
            continue
        history = service.schema_history(connection, ids[ref])
        if history and history[-1].source == "warehouse":
            continue
        documented = (nodes[unique_id].get("columns") or {}) if unique_id in nodes else {}
        described = {name.lower(): column.get("description") or None for name, column in documented.items()}
        columns = sorted((entry.get("columns") or {}).values(), key=lambda column: column.get("index") or 0)
        fields = tuple(
            SchemaField(
                name=column["name"],
                type=column.get("type"),
                description=described.get(column["name"].lower()) or column.get("comment"),
            )
            for column in columns
        )
        observations.append(SchemaObservation(ref, fields, observed_at, SOURCE))
    return len(service.record_schemas(connection, observations, now))


def _schema_mapping(artifacts: Artifacts, refs: Mapping[str, DatasetRef]) -> dict[str, dict[str, str | None]]:
    """Columns of every relation, for ``SELECT *`` and unqualified columns in compiled SQL."""
    mapping: dict[str, dict[str, str | None]] = {}
    for unique_id, node in artifacts.nodes().items():
        if unique_id in refs and node.get("columns"):
            mapping[refs[unique_id].name] = {
                name: column.get("data_type") for name, column in node["columns"].items()
            }
    for unique_id, entry in _catalog_entries(artifacts).items():
        if unique_id in refs:
            columns = sorted(
                (entry.get("columns") or {}).values(), key=lambda column: column.get("index") or 0
            )
            mapping[refs[unique_id].name] = {column["name"]: column.get("type") for column in columns}
    return mapping


def _lineage(
    artifacts: Artifacts,
    nodes: Mapping[str, Any],
    refs: Mapping[str, DatasetRef],
    names: DbtNames,
    job_namespace: str,
    now: datetime,
    report: DbtReport,
) -> list[LineageBatch]:
    schema = _schema_mapping(artifacts, refs)
    batches = []
    for unique_id, ref in sorted(refs.items()):
        node = nodes[unique_id]
        if node.get("resource_type") not in ("model", "snapshot"):
            continue
        job = JobRef(job_namespace, unique_id)
        batch = LineageBatch(observed_at=now, source=SOURCE)
        compiled = node.get("compiled_code") or node.get("compiled_sql")
        if compiled:
            result = analyze_sql(
                compiled,
                names.dialect,
                schema=schema,
                default_db=node.get("database"),
                default_schema=node.get("schema"),
            ).to_dict()
            batch = lineage_batch(
                result["statements"],
                resolve=names.of_name,
                job=job,
                source=SOURCE,
                observed_at=now,
                select_output=ref,
            )
            problems = [
                *result["errors"],
                *(e for statement in result["statements"] for e in statement["errors"]),
            ]
            if problems:
                report.warnings.append(f"{unique_id}: column lineage incomplete: {problems[0]}")
        known = set(batch.dataset_edges)
        for edge in [
            DatasetEdge(job, ref, "output"),
            *(DatasetEdge(job, parent, "input") for parent in _parents(unique_id, nodes, refs)),
        ]:
            if edge not in known:
                known.add(edge)
                batch.dataset_edges.append(edge)
        batches.append(batch)
    return batches


def _parents(
    unique_id: str, nodes: Mapping[str, Any], refs: Mapping[str, DatasetRef]
) -> Iterable[DatasetRef]:
    """The relations a node reads, looking through ephemeral models to what they read."""
    seen: set[str] = set()
    pending = list((nodes[unique_id].get("depends_on") or {}).get("nodes") or [])
    while pending:
        parent = pending.pop()
        if parent in seen:
            continue
        seen.add(parent)
        if parent in refs:
            yield refs[parent]
        elif parent in nodes and _materialized(nodes[parent]) == "ephemeral":
            pending += (nodes[parent].get("depends_on") or {}).get("nodes") or []


def _new_invocation(
    state: CollectorState, artifact: str, document: Mapping[str, Any] | None, report: DbtReport
) -> bool:
    if document is None:
        return False
    metadata = document.get("metadata") or {}
    identity = metadata.get("invocation_id") or metadata.get("generated_at")
    if identity is not None and state.get("artifacts", artifact) == identity:
        report.skipped.append(f"{artifact}.json (invocation {identity} already ingested)")
        return False
    state.set("artifacts", artifact, identity)
    return True


def _generated_at(document: Mapping[str, Any] | None) -> datetime | None:
    value = ((document or {}).get("metadata") or {}).get("generated_at")
    return _time(value)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return ensure_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _completed_at(result: Mapping[str, Any], fallback: datetime) -> datetime:
    for timing in result.get("timing") or []:
        if timing.get("name") == "execute" and _time(timing.get("completed_at")):
            return _time(timing["completed_at"]) or fallback
    return fallback


def _catalog_stats(
    artifacts: Artifacts, refs: Mapping[str, DatasetRef]
) -> tuple[list[MetricPoint], list[DatasetUpdate]]:
    """Row counts, sizes and last-modified times that some adapters put in catalog.json ``stats``."""
    at = _generated_at(artifacts.catalog)
    points: list[MetricPoint] = []
    updates: list[DatasetUpdate] = []
    if at is None:
        return points, updates
    for unique_id, entry in _catalog_entries(artifacts).items():
        ref = refs.get(unique_id)
        stats = entry.get("stats") or {}
        if ref is None:
            continue
        for key, metric in (("row_count", "row_count"), ("num_rows", "row_count"), ("bytes", "size_bytes")):
            value = (stats.get(key) or {}).get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                points.append(MetricPoint(ref, metric, at, float(value), SOURCE))
        modified = _time((stats.get("last_modified") or {}).get("value"))
        if modified is not None:
            updates.append(DatasetUpdate(ref, modified, SOURCE))
    return points, updates


def _run_results(
    run_results: Mapping[str, Any],
    nodes: Mapping[str, Any],
    refs: Mapping[str, DatasetRef],
    now: datetime,
    assertions: list[Assertion],
    updates: list[DatasetUpdate],
    points: list[MetricPoint],
    report: DbtReport,
) -> None:
    invocation = (run_results.get("metadata") or {}).get("invocation_id")
    generated = _generated_at(run_results) or now
    for result in run_results.get("results") or []:
        unique_id = result.get("unique_id", "")
        node = nodes.get(unique_id)
        status = str(result.get("status") or "").lower()
        if node is None or status == "skipped":
            continue
        at = _completed_at(result, generated)
        if node.get("resource_type") == "test":
            target = _tested_dataset(node, refs)
            if target is None:
                report.warnings.append(f"{unique_id}: the tested relation is not a known dataset")
                continue
            assertions.append(_assertion(node, result, target, status, at, invocation))
        elif unique_id in refs and status == "success":
            updates.append(DatasetUpdate(refs[unique_id], at, SOURCE, run_id=invocation))
            rows = (result.get("adapter_response") or {}).get("rows_affected")
            if isinstance(rows, int) and rows >= 0:
                points.append(
                    MetricPoint(refs[unique_id], "rows_written", at, float(rows), SOURCE, run_id=invocation)
                )


def _tested_dataset(test: Mapping[str, Any], refs: Mapping[str, DatasetRef]) -> DatasetRef | None:
    attached = str(test.get("attached_node") or "")
    if attached in refs:
        return refs[attached]
    parents = [parent for parent in (test.get("depends_on") or {}).get("nodes") or [] if parent in refs]
    return refs[parents[0]] if parents else None


def _assertion(
    test: Mapping[str, Any],
    result: Mapping[str, Any],
    target: DatasetRef,
    status: str,
    at: datetime,
    invocation: str | None,
) -> Assertion:
    metadata = test.get("test_metadata") or {}
    severity = str((test.get("config") or {}).get("severity") or "error").lower()
    details = {
        "unique_id": test.get("unique_id"),
        "test": test.get("name"),
        "status": status,
        "failures": result.get("failures"),
        "message": result.get("message"),
        "kwargs": {key: value for key, value in (metadata.get("kwargs") or {}).items() if key != "model"},
    }
    return Assertion(
        dataset=target,
        name=metadata.get("name") or test.get("name") or "dbt test",
        success=status == "pass",
        observed_at=at,
        source=SOURCE,
        column=test.get("column_name") or "",
        severity="warn" if status == "warn" else severity,
        details={key: value for key, value in details.items() if value is not None},
        run_id=invocation,
    )


def _source_freshness(
    sources: Mapping[str, Any],
    refs: Mapping[str, DatasetRef],
    assertions: list[Assertion],
    updates: list[DatasetUpdate],
    points: list[MetricPoint],
) -> None:
    invocation = (sources.get("metadata") or {}).get("invocation_id")
    for result in sources.get("results") or []:
        ref = refs.get(result.get("unique_id", ""))
        if ref is None:
            continue
        status = str(result.get("status") or "").lower()
        checked = _time(result.get("snapshotted_at")) or _generated_at(sources)
        loaded = _time(result.get("max_loaded_at"))
        if loaded is not None:
            updates.append(DatasetUpdate(ref, loaded, SOURCE, run_id=invocation))
        lag = result.get("max_loaded_at_time_ago_in_s")
        if checked is not None and isinstance(lag, int | float):
            points.append(
                MetricPoint(ref, "event_lag_seconds", checked, float(lag), SOURCE, run_id=invocation)
            )
        if checked is not None:
            assertions.append(
                Assertion(
                    dataset=ref,
                    name="source_freshness",
                    success=status == "pass",
                    observed_at=checked,
                    source=SOURCE,
                    severity="warn" if status == "warn" else "error",
                    details={
                        "status": status,
                        "max_loaded_at": result.get("max_loaded_at"),
                        "criteria": result.get("criteria"),
                        "error": result.get("error"),
                    },
                    run_id=invocation,
                )
            )
