"""What the standard facets of one event say, as catalog records and lineage edges.

Pure functions over an event's JSON: no store, no clock. Facets the parser accepted but that are
not usable (``invalid_facets: ignore``) are skipped here rather than guessed at.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.records import Assertion, MetricPoint, SchemaField
from observer.graph.model import ColumnEdge, ColumnRef, Transformation
from observer.ingest.checks import check_facets, facets_in

SOURCE = "openlineage"
Direction = Literal["input", "output"]

_STATISTICS = {
    "outputStatistics": {"rowCount": "rows_written", "size": "bytes_written", "fileCount": "files_written"},
    "inputStatistics": {"rowCount": "rows_read", "size": "bytes_read", "fileCount": "files_read"},
}
_QUALITY_TABLE = {"rowCount": "row_count", "bytes": "size_bytes", "fileCount": "file_count"}
_QUALITY_COLUMN = {
    "nullCount": "null_count",
    "distinctCount": "distinct_count",
    "sum": "sum",
    "count": "count",
    "min": "min",
    "max": "max",
}
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_DIRECT_SUBTYPES = {"IDENTITY", "TRANSFORMATION", "AGGREGATION"}


@dataclass
class DatasetFacts:
    """One dataset as an event describes it: its facets and what they mean for the catalog."""

    ref: DatasetRef
    direction: Direction | None
    facets: dict[str, Any]
    io_facets: dict[str, Any]
    aliases: list[tuple[DatasetRef, str | None]] = field(default_factory=list)
    description: str | None = None
    owners: list[dict[str, Any]] | None = None
    kind: str | None = None
    lifecycle_state: str | None = None
    tags: list[Any] | None = None
    _fields: tuple[SchemaField, ...] | None = field(default=None, repr=False)

    @property
    def schema(self) -> dict[str, Any] | None:
        """The raw ``schema`` facet, if the event sent one."""
        return self.facets.get("schema")

    @property
    def fields(self) -> tuple[SchemaField, ...] | None:
        """The schema facet's fields (built on first use: most events repeat a known schema)."""
        schema = self.schema
        if schema is None:
            return None
        if self._fields is None:
            self._fields = tuple(schema_fields(schema.get("fields") or []))
        return self._fields


def usable(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` without the standard facets the checks found unusable (they stay raw in the log)."""
    bad = [path for path, _message in check_facets(event)]
    if not bad:
        return event
    cleaned = copy.deepcopy(event)
    for path, name, _facet, _attach in list(facets_in(event)):
        if any(spot == path or spot.startswith((f"{path}.", f"{path}[")) for spot in bad):
            container: Any = cleaned
            for key, index in _STEP.findall(path[: -len(name) - 1]):
                container = container[key] if key else container[int(index)]
            container.pop(name, None)
    return cleaned


def facet_dict(container: Any, key: str) -> dict[str, Any]:
    """``container[key]`` when it is an object of facets, without null facets."""
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, dict):
        return {}
    return {name: facet for name, facet in value.items() if isinstance(facet, dict)}


def dataset_ref(item: Mapping[str, Any]) -> DatasetRef:
    return DatasetRef(str(item["namespace"]), str(item["name"]))


def job_ref(event: Mapping[str, Any]) -> JobRef:
    job = event["job"]
    return JobRef(str(job["namespace"]), str(job["name"]))


def datasets(event: dict[str, Any]) -> Iterator[DatasetFacts]:
    """The event's inputs, outputs and (DatasetEvent) dataset, with what their facets say."""
    for key, own, direction in (("inputs", "inputFacets", "input"), ("outputs", "outputFacets", "output")):
        items = event.get(key)
        for item in items if isinstance(items, list) else []:
            yield describe(item, direction, facet_dict(item, own))  # type: ignore[arg-type]
    if isinstance(event.get("dataset"), dict):
        yield describe(event["dataset"], None, {})


def describe(item: dict[str, Any], direction: Direction | None, io_facets: dict[str, Any]) -> DatasetFacts:
    facets = facet_dict(item, "facets")
    facts = DatasetFacts(dataset_ref(item), direction, facets, io_facets)
    for identifier in (facets.get("symlinks") or {}).get("identifiers") or []:
        alias = dataset_ref(identifier)
        if alias != facts.ref:
            facts.aliases.append((alias, identifier.get("type")))
    if "documentation" in facets:
        facts.description = facets["documentation"].get("description")
    if "ownership" in facets:
        facts.owners = owners(facets["ownership"])
    if "datasetType" in facets and isinstance(facets["datasetType"].get("datasetType"), str):
        facts.kind = facets["datasetType"]["datasetType"]
    if "lifecycleStateChange" in facets:
        facts.lifecycle_state = facets["lifecycleStateChange"].get("lifecycleStateChange")
    if "tags" in facets and isinstance(facets["tags"].get("tags"), list):
        facts.tags = facets["tags"]["tags"]
    return facts


def schema_fields(items: Iterable[Any], prefix: str = "") -> Iterator[SchemaField]:
    """Schema facet fields, nested ones flattened to ``parent.child``."""
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name = f"{prefix}{item['name']}"
        kind = item.get("type")
        description = item.get("description")
        yield SchemaField(
            name,
            str(kind) if kind is not None else None,
            str(description) if description is not None else None,
        )
        if isinstance(item.get("fields"), list):
            yield from schema_fields(item["fields"], f"{name}.")


def owners(facet: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": owner["name"], "type": owner.get("type")}
        for owner in facet.get("owners") or []
        if isinstance(owner, dict) and isinstance(owner.get("name"), str)
    ]


def metric_points(facts: DatasetFacts, event_time: datetime, run_id: str | None) -> list[MetricPoint]:
    """outputStatistics, inputStatistics and dataQualityMetrics as metric points."""
    points: list[MetricPoint] = []

    def add(metric: str, value: Any, column: str = "") -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            points.append(MetricPoint(facts.ref, metric, event_time, float(value), SOURCE, column, run_id))

    for facet_name, names in _STATISTICS.items():
        facet = facts.io_facets.get(facet_name) or facts.facets.get(facet_name)
        if facet:
            for key, metric in names.items():
                add(metric, facet.get(key))
    quality = facts.io_facets.get("dataQualityMetrics") or facts.facets.get("dataQualityMetrics")
    if not quality:
        return points
    for key, metric in _QUALITY_TABLE.items():
        add(metric, quality.get(key))
    row_count = quality.get("rowCount")
    for column, values in (quality.get("columnMetrics") or {}).items():
        if not isinstance(values, dict):
            continue
        for key, metric in _QUALITY_COLUMN.items():
            add(metric, values.get(key), column)
        for quantile, value in (values.get("quantiles") or {}).items():
            add(f"quantile_{quantile}", value, column)
        nulls = values.get("nullCount")
        if isinstance(nulls, int | float) and isinstance(row_count, int | float) and row_count > 0:
            add("null_rate", nulls / row_count, column)
    return points


def assertions(facts: DatasetFacts, event_time: datetime, run_id: str | None) -> list[Assertion]:
    """dataQualityAssertions (spec: inputFacets; some producers: facets)."""
    facet = facts.io_facets.get("dataQualityAssertions") or facts.facets.get("dataQualityAssertions") or {}
    found = []
    for item in facet.get("assertions") or []:
        if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
            continue
        details = {key: value for key, value in item.items() if key not in ("assertion", "success", "column")}
        found.append(
            Assertion(
                dataset=facts.ref,
                name=str(item.get("assertion")),
                success=item["success"],
                observed_at=event_time,
                source=SOURCE,
                column=str(item.get("column") or ""),
                severity=item.get("severity"),
                details=details,
                run_id=run_id,
            )
        )
    return found


def test_assertions(
    run_facets: Mapping[str, Any], targets: list[DatasetRef], event_time: datetime, run_id: str | None
) -> list[Assertion]:
    """The ``test`` run facet's executed tests, recorded against the run's inputs (else outputs)."""
    found = []
    for test in (run_facets.get("test") or {}).get("tests") or []:
        if not isinstance(test, dict) or test.get("status") not in ("pass", "fail"):
            continue
        details = {key: value for key, value in test.items() if key not in ("name", "status", "severity")}
        for target in targets:
            found.append(
                Assertion(
                    dataset=target,
                    name=str(test["name"]),
                    success=test["status"] == "pass",
                    observed_at=event_time,
                    source=SOURCE,
                    severity=test.get("severity"),
                    details=details,
                    run_id=run_id,
                )
            )
    return found


def transformation(item: Mapping[str, Any]) -> Transformation:
    kind = str(item.get("type") or "DIRECT").upper()
    subtype = item.get("subtype")
    if kind in _DIRECT_SUBTYPES:
        kind, subtype = "DIRECT", subtype or kind
    return Transformation(
        type="INDIRECT" if kind == "INDIRECT" else "DIRECT",
        subtype=str(subtype).upper() if subtype else None,
        description=item.get("description"),
        masking=bool(item.get("masking", False)),
    )


def _transformations(item: Mapping[str, Any], fallback: Transformation) -> list[Transformation]:
    listed = item.get("transformations")
    if isinstance(listed, list) and listed:
        return [transformation(entry) for entry in listed if isinstance(entry, dict)]
    return [fallback]


def _legacy_transformation(entry: Mapping[str, Any]) -> Transformation:
    """The deprecated per-output ``transformationType``/``Description``; DIRECT when absent."""
    legacy = entry.get("transformationType")
    base = (
        transformation({"type": legacy}) if isinstance(legacy, str) and legacy else Transformation("DIRECT")
    )
    description = entry.get("transformationDescription")
    if isinstance(description, str) and description:
        return Transformation(base.type, base.subtype, description, base.masking)
    return base


def has_column_lineage(event: dict[str, Any]) -> bool:
    """Whether any output (or the job) declares column lineage."""
    if "lineage" in facet_dict(event.get("job"), "facets"):
        return True
    return any(
        "columnLineage" in facet_dict(item, "facets") or "lineage" in facet_dict(item, "facets")
        for item in event.get("outputs") or []
        if isinstance(item, dict)
    )


def column_edges(
    event: dict[str, Any], job: JobRef | None, target: DatasetFacts
) -> tuple[list[ColumnEdge], list[DatasetRef]]:
    """Column edges into ``target`` from its lineage facets, and the dataset-level inputs without a
    field. The ``lineage`` facet (dataset facet, else a job ``lineage`` entry for this dataset) wins
    over ``columnLineage``; ``dataset[]`` / entity-level inputs with a field reach every known field."""
    declared = target.facets.get("lineage") or _job_entry(event, target.ref)
    if declared is not None:
        return _from_lineage_facet(declared, job, target)
    facet = target.facets.get("columnLineage")
    if facet is None:
        return [], []
    edges: list[ColumnEdge] = []
    fields: dict[str, Any] = facet["fields"] if isinstance(facet.get("fields"), dict) else {}
    for name, entry in fields.items():
        if not isinstance(entry, dict):
            continue
        fallback = _legacy_transformation(entry)
        for item in entry.get("inputFields") or []:
            source = ColumnRef(dataset_ref(item), str(item["field"]))
            for kind in _transformations(item, fallback):
                edges.append(ColumnEdge(source, ColumnRef(target.ref, name), kind, job))
    whole_dataset = facet.get("dataset") or []
    every_field = _known_fields(target, fields) if whole_dataset else []
    for item in whole_dataset:
        source = ColumnRef(dataset_ref(item), str(item["field"]))
        for kind in _transformations(item, Transformation("INDIRECT")):
            edges += [ColumnEdge(source, ColumnRef(target.ref, name), kind, job) for name in every_field]
    return edges, []


def _job_entry(event: dict[str, Any], ref: DatasetRef) -> dict[str, Any] | None:
    lineage = facet_dict(event.get("job"), "facets").get("lineage") or {}
    for entry in lineage.get("entries") or []:
        if (
            isinstance(entry, dict)
            and entry.get("type") == "DATASET"
            and (entry.get("namespace"), entry.get("name")) == (ref.namespace, ref.name)
        ):
            return entry
    return None


def _from_lineage_facet(
    facet: Mapping[str, Any], job: JobRef | None, target: DatasetFacts
) -> tuple[list[ColumnEdge], list[DatasetRef]]:
    edges: list[ColumnEdge] = []
    fields: dict[str, Any] = facet["fields"] if isinstance(facet.get("fields"), dict) else {}
    for name, entry in fields.items():
        for item in (entry or {}).get("inputs") or []:
            if _is_dataset_field(item):
                source = ColumnRef(dataset_ref(item), str(item["field"]))
                for kind in _transformations(item, Transformation("DIRECT")):
                    edges.append(ColumnEdge(source, ColumnRef(target.ref, name), kind, job))
    inputs = facet.get("inputs") or []
    every_field = _known_fields(target, fields) if inputs else []
    whole: list[DatasetRef] = []
    for item in inputs:
        if not isinstance(item, dict) or item.get("type", "DATASET") != "DATASET":
            continue
        if not _is_dataset_field(item):
            whole.append(dataset_ref(item))
            continue
        source = ColumnRef(dataset_ref(item), str(item["field"]))
        for kind in _transformations(item, Transformation("INDIRECT")):
            edges += [ColumnEdge(source, ColumnRef(target.ref, name), kind, job) for name in every_field]
    return edges, whole


def _is_dataset_field(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and item.get("type", "DATASET") == "DATASET"
        and isinstance(item.get("namespace"), str)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("field"), str)
    )


def _known_fields(target: DatasetFacts, lineage_fields: Mapping[str, Any]) -> list[str]:
    names = list(lineage_fields)
    for schema_field in target.fields or ():
        if schema_field.name not in lineage_fields:
            names.append(schema_field.name)
    return names


def default_namespace(event: dict[str, Any]) -> str | None:
    """The namespace most of the event's datasets live in (where unqualified SQL tables resolve)."""
    counts: dict[str, int] = {}
    for key in ("inputs", "outputs"):
        for item in event.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("namespace"), str):
                counts[item["namespace"]] = counts.get(item["namespace"], 0) + 1
    return max(counts, key=lambda name: counts[name]) if counts else None
