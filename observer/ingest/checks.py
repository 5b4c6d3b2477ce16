"""Checks of the standard facets the projection reads, for content it cannot use.

Only what would make the projection wrong is a problem: an owner without a name, a parent without a
run id, a row count that is not a number, a column-lineage input without its field. Missing
``_producer``/``_schemaURL``, extra fields and custom facets are fine. Where producers commonly
deviate from a facet's schema, the deviation is accepted: ``dataQualityMetrics`` with a ``rowCount``
but no ``columnMetrics`` (as the Python client's own examples send it) is a usable metrics facet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from observer.ingest.times import parse_time

Found = list[tuple[str, str]]
Checker = Callable[[dict[str, Any], str, Found], None]


def check_facets(event: dict[str, Any]) -> Found:
    """``(json path relative to the event, message)`` for each unusable standard facet."""
    found: Found = []
    for path, name, facet, attach in facets_in(event):
        if facet is None:
            continue
        if not isinstance(facet, dict):
            found.append((path, "a facet must be a JSON object"))
            continue
        checker = _CHECKERS.get((attach, name)) or _CHECKERS.get(("any", name))
        if checker is not None:
            checker(facet, path, found)
    return found


def facets_in(event: dict[str, Any]) -> Iterator[tuple[str, str, Any, str]]:
    """Every facet of an event: ``(path, name, facet, attach point)``, attach in run, job, dataset,
    input, output."""
    containers: list[tuple[str, Any, str]] = []
    for key, attach in (("run", "run"), ("job", "job")):
        entity = event.get(key)
        if isinstance(entity, dict):
            containers.append((f".{key}.facets", entity.get("facets"), attach))
    dataset = event.get("dataset")
    if isinstance(dataset, dict):
        containers.append((".dataset.facets", dataset.get("facets"), "dataset"))
    for key, own in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        datasets = event.get(key)
        if not isinstance(datasets, list):
            continue
        for index, item in enumerate(datasets):
            if isinstance(item, dict):
                containers.append((f".{key}[{index}].facets", item.get("facets"), "dataset"))
                containers.append((f".{key}[{index}].{own}", item.get(own), key[:-1]))
    for path, container, attach in containers:
        if container is None:
            continue
        if not isinstance(container, dict):
            yield path, "", container, attach
            continue
        for name, facet in container.items():
            yield f"{path}.{name}", name, facet, attach


def _string(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _need_strings(item: Any, keys: tuple[str, ...], path: str, found: Found) -> None:
    if not isinstance(item, dict):
        found.append((path, "must be an object"))
        return
    for key in keys:
        if not _string(item.get(key)):
            found.append(
                (f"{path}.{key}", "required string is missing" if key not in item else "must be a string")
            )


def _need_list(
    facet: dict[str, Any], key: str, path: str, found: Found, *, required: bool = True
) -> list[Any]:
    value = facet.get(key)
    if isinstance(value, list):
        return value
    if value is not None or required:
        found.append((f"{path}.{key}", "required array is missing" if value is None else "must be an array"))
    return []


def _numbers(facet: dict[str, Any], keys: tuple[str, ...], path: str, found: Found) -> None:
    for key in keys:
        if key in facet and facet[key] is not None and not _number(facet[key]):
            found.append((f"{path}.{key}", f"must be a number, not {facet[key]!r:.40}"))


def _parent(facet: dict[str, Any], path: str, found: Found) -> None:
    _need_strings(facet.get("run"), ("runId",), f"{path}.run", found)
    _need_strings(facet.get("job"), ("namespace", "name"), f"{path}.job", found)
    root = facet.get("root")
    if root is not None:
        _need_strings(
            root.get("run") if isinstance(root, dict) else root, ("runId",), f"{path}.root.run", found
        )
        if isinstance(root, dict):
            _need_strings(root.get("job"), ("namespace", "name"), f"{path}.root.job", found)


def _nominal_time(facet: dict[str, Any], path: str, found: Found) -> None:
    for key in ("nominalStartTime", "nominalEndTime"):
        value = facet.get(key)
        if value is not None and parse_time(value)[0] is None:
            found.append((f"{path}.{key}", f"not a timestamp: {value!r:.40}"))


def _error_message(facet: dict[str, Any], path: str, found: Found) -> None:
    if not _string(facet.get("message")):
        found.append((f"{path}.message", "required string is missing"))


def _ownership(facet: dict[str, Any], path: str, found: Found) -> None:
    for index, owner in enumerate(_need_list(facet, "owners", path, found)):
        _need_strings(owner, ("name",), f"{path}.owners[{index}]", found)


def _schema(facet: dict[str, Any], path: str, found: Found) -> None:
    for index, item in enumerate(_need_list(facet, "fields", path, found)):
        if not isinstance(item, dict):
            found.append((f"{path}.fields[{index}]", "must be an object"))
            continue
        name = item.get("name")
        if not (isinstance(name, str) and name):
            found.append((f"{path}.fields[{index}].name", "required string is missing"))
        if item.get("fields") is not None:
            _schema(item, f"{path}.fields[{index}]", found)


def _lineage_input(item: Any, path: Callable[[], str], found: Found) -> None:
    if not isinstance(item, dict):
        found.append((path(), "must be an object"))
        return
    for key in ("namespace", "name", "field"):
        value = item.get(key)
        if not (isinstance(value, str) and value):
            found.append(
                (f"{path()}.{key}", "required string is missing" if value is None else "must be a string")
            )
    transformations = item.get("transformations")
    if transformations is None:
        return
    if not isinstance(transformations, list):
        found.append((f"{path()}.transformations", "must be an array"))
        return
    for index, transformation in enumerate(transformations):
        if not (isinstance(transformation, dict) and _string(transformation.get("type"))):
            found.append((f"{path()}.transformations[{index}].type", "required string is missing"))


def _column_lineage(facet: dict[str, Any], path: str, found: Found) -> None:
    fields = facet.get("fields")
    if not isinstance(fields, dict):
        found.append(
            (f"{path}.fields", "required object is missing" if fields is None else "must be an object")
        )
        fields = {}
    for name, entry in fields.items():
        if not isinstance(entry, dict):
            found.append((f"{path}.fields.{name}", "must be an object"))
            continue
        items = entry.get("inputFields")
        if not isinstance(items, list):
            found.append((f"{path}.fields.{name}.inputFields", "required array is missing"))
            continue
        for index, item in enumerate(items):
            _lineage_input(item, partial("{}.fields.{}.inputFields[{}]".format, path, name, index), found)
    for index, item in enumerate(_need_list(facet, "dataset", path, found, required=False)):
        _lineage_input(item, partial("{}.dataset[{}]".format, path, index), found)


def _lineage_inputs(container: dict[str, Any], path: str, found: Found) -> None:
    for index, item in enumerate(_need_list(container, "inputs", path, found, required=False)):
        item_path = f"{path}.inputs[{index}]"
        if isinstance(item, dict) and item.get("type", "DATASET") == "DATASET":
            _need_strings(item, ("namespace", "name"), item_path, found)
        elif not isinstance(item, dict):
            found.append((item_path, "must be an object"))


def _dataset_lineage(facet: dict[str, Any], path: str, found: Found) -> None:
    _lineage_inputs(facet, path, found)
    fields = facet.get("fields")
    if isinstance(fields, dict):
        for name, entry in fields.items():
            if isinstance(entry, dict):
                _lineage_inputs(entry, f"{path}.fields.{name}", found)
            else:
                found.append((f"{path}.fields.{name}", "must be an object"))


def _job_lineage(facet: dict[str, Any], path: str, found: Found) -> None:
    for index, entry in enumerate(_need_list(facet, "entries", path, found)):
        entry_path = f"{path}.entries[{index}]"
        if not isinstance(entry, dict):
            found.append((entry_path, "must be an object"))
            continue
        if entry.get("type") == "DATASET":
            _need_strings(entry, ("namespace", "name"), entry_path, found)
        _dataset_lineage(entry, entry_path, found)


def _symlinks(facet: dict[str, Any], path: str, found: Found) -> None:
    for index, item in enumerate(_need_list(facet, "identifiers", path, found)):
        _need_strings(item, ("namespace", "name"), f"{path}.identifiers[{index}]", found)


def _statistics(facet: dict[str, Any], path: str, found: Found) -> None:
    _numbers(facet, ("rowCount", "size", "fileCount"), path, found)


def _quality_metrics(facet: dict[str, Any], path: str, found: Found) -> None:
    _numbers(facet, ("rowCount", "bytes", "fileCount"), path, found)
    columns = facet.get("columnMetrics")
    if columns is None:
        if facet.get("rowCount") is None:
            found.append(
                (f"{path}.columnMetrics", "required (or at least rowCount): the facet has no metric")
            )
        return
    if not isinstance(columns, dict):
        found.append((f"{path}.columnMetrics", "must be an object"))
        return
    for column, metrics in columns.items():
        column_path = f"{path}.columnMetrics.{column}"
        if not isinstance(metrics, dict):
            found.append((column_path, "must be an object"))
            continue
        _numbers(metrics, ("nullCount", "distinctCount", "sum", "count", "min", "max"), column_path, found)
        quantiles = metrics.get("quantiles")
        if isinstance(quantiles, dict):
            _numbers(quantiles, tuple(quantiles), f"{column_path}.quantiles", found)


def _quality_assertions(facet: dict[str, Any], path: str, found: Found) -> None:
    for index, item in enumerate(_need_list(facet, "assertions", path, found)):
        item_path = f"{path}.assertions[{index}]"
        _need_strings(item, ("assertion",), item_path, found)
        if isinstance(item, dict) and not isinstance(item.get("success"), bool):
            found.append((f"{item_path}.success", "required boolean is missing"))


def _tests(facet: dict[str, Any], path: str, found: Found) -> None:
    for index, item in enumerate(_need_list(facet, "tests", path, found)):
        _need_strings(item, ("name", "status"), f"{path}.tests[{index}]", found)


def _text(key: str) -> Checker:
    def check(facet: dict[str, Any], path: str, found: Found) -> None:
        if not _string(facet.get(key)):
            found.append(
                (f"{path}.{key}", "required string is missing" if key not in facet else "must be a string")
            )

    return check


_CHECKERS: dict[tuple[str, str], Checker] = {
    ("run", "parent"): _parent,
    ("run", "parentRun"): _parent,
    ("run", "nominalTime"): _nominal_time,
    ("run", "errorMessage"): _error_message,
    ("run", "test"): _tests,
    ("any", "ownership"): _ownership,
    ("any", "documentation"): _text("description"),
    ("job", "sql"): _text("query"),
    ("job", "lineage"): _job_lineage,
    ("dataset", "lineage"): _dataset_lineage,
    ("dataset", "schema"): _schema,
    ("dataset", "columnLineage"): _column_lineage,
    ("dataset", "symlinks"): _symlinks,
    ("dataset", "lifecycleStateChange"): _text("lifecycleStateChange"),
    ("any", "outputStatistics"): _statistics,
    ("any", "inputStatistics"): _statistics,
    ("any", "dataQualityMetrics"): _quality_metrics,
    ("any", "dataQualityAssertions"): _quality_assertions,
}
