"""Reading OpenLineage events: lenient where real producers are sloppy, strict where an event is unusable.

Accepted as sent (and kept verbatim): a missing or old ``schemaURL``, facets without ``_producer`` or
``_schemaURL``, unknown facets and fields, any namespace characters, a missing or unknown
``eventType``. Accepted with a recorded note: an ``eventTime`` without an offset or as a bare date
(read as UTC) or as epoch seconds/milliseconds, a ``runId`` that is not a UUID (mapped to Marquez's
name-based UUID). Rejected with every problem and its JSON path: what a run cannot do without
(``eventTime``, ``job.namespace``/``name``, ``run.runId``), datasets without an identity, and
standard facets the projection relies on whose content is unusable (see :mod:`observer.ingest.checks`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from observer.ingest.checks import check_facets
from observer.ingest.times import parse_time

EventKind = Literal["RunEvent", "DatasetEvent", "JobEvent"]
EVENT_KINDS: tuple[EventKind, ...] = ("RunEvent", "DatasetEvent", "JobEvent")
IGNORED_FACETS = "unusable facets ignored: "
"""The note that marks an event whose broken standard facets the projection must leave out."""
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class MalformedJson(ValueError):
    """The body is not JSON; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"malformed JSON at line {line}, column {column}: {message}")
        self.line = line
        self.column = column


class InvalidEvents(ValueError):
    """One or more events cannot be used; ``problems`` names each with its JSON path."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))


@dataclass
class ParsedEvent:
    """An accepted event, with what the log and the projection need pulled out of it."""

    payload: dict[str, Any]
    canonical: bytes
    content_hash: str
    kind: EventKind
    event_type: str | None
    event_time: datetime
    run_uuid: str | None
    job_namespace: str | None
    job_name: str | None
    notes: list[str] = field(default_factory=list)


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedJson(error.msg, error.lineno, error.colno) from None


def parse_body(document: Any, *, ignore_invalid_facets: bool = False) -> list[ParsedEvent]:
    """One event or a JSON array of events; raise :class:`InvalidEvents` listing every problem."""
    if isinstance(document, list):
        items = [(f"$[{index}]", item) for index, item in enumerate(document)]
    else:
        items = [("$", document)]
    events: list[ParsedEvent] = []
    problems: list[Problem] = []
    for path, item in items:
        try:
            events.append(parse_event(item, path=path, ignore_invalid_facets=ignore_invalid_facets))
        except InvalidEvents as error:
            problems += error.problems
    if problems:
        raise InvalidEvents(problems)
    return events


def parse_event(event: Any, *, path: str = "$", ignore_invalid_facets: bool = False) -> ParsedEvent:
    if not isinstance(event, dict):
        raise InvalidEvents([Problem(path, f"an event must be a JSON object, not {_json_type(event)}")])
    problems: list[Problem] = []
    notes: list[str] = []
    kind = event_kind(event)
    event_time = _event_time(event, path, problems, notes)
    run_uuid = job_namespace = job_name = None
    if kind == "RunEvent":
        run_uuid = _run_uuid(event, path, problems, notes)
    if kind in ("RunEvent", "JobEvent"):
        job_namespace, job_name = _job_identity(event, path, problems)
    if kind == "DatasetEvent":
        _identity(event.get("dataset"), f"{path}.dataset", problems)
    for key in ("inputs", "outputs"):
        for dataset_path, dataset in datasets_of(event, key, path, problems):
            _identity(dataset, dataset_path, problems)
    facet_problems = [Problem(f"{path}{where}", message) for where, message in check_facets(event)]
    if not ignore_invalid_facets:
        problems += facet_problems
    elif facet_problems:
        notes.append(IGNORED_FACETS + "; ".join(str(problem) for problem in facet_problems))
    if problems:
        raise InvalidEvents(problems)
    assert event_time is not None
    try:
        canonical = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    except TypeError as error:  # integers beyond 64 bits: the log could not be read back
        raise InvalidEvents([Problem(path, f"cannot be stored: {error}")]) from None
    return ParsedEvent(
        payload=event,
        canonical=canonical,
        content_hash=hashlib.sha256(canonical).hexdigest(),
        kind=kind,
        event_type=event_type(event),
        event_time=event_time,
        run_uuid=run_uuid,
        job_namespace=job_namespace,
        job_name=job_name,
        notes=notes,
    )


def event_kind(event: dict[str, Any]) -> EventKind:
    """From the last segment of ``schemaURL`` (any spec version), else from the event's structure."""
    url = event.get("schemaURL")
    if isinstance(url, str):
        tail = url.rstrip("/").replace("#", "/").rsplit("/", 1)[-1]
        for kind in EVENT_KINDS:
            if tail == kind:
                return kind
    if "run" in event or "eventType" in event:
        return "RunEvent"
    if "dataset" in event and "job" not in event:
        return "DatasetEvent"
    if "job" in event:
        return "JobEvent"
    return "RunEvent"


def event_type(event: dict[str, Any]) -> str | None:
    """``eventType`` upper-cased; unknown values become OTHER (Marquez: RUNNING), missing stays None."""
    value = event.get("eventType")
    if not isinstance(value, str) or not value.strip():
        return None
    upper = value.strip().upper()
    return upper if upper in EVENT_TYPES else "OTHER"


def mapped_run_uuid(run_id: str) -> str:
    """Marquez's mapping of a non-UUID runId: Java's ``UUID.nameUUIDFromBytes`` (MD5, version 3)."""
    return str(uuid.UUID(bytes=hashlib.md5(run_id.encode()).digest(), version=3))


def normal_run_uuid(run_id: str) -> tuple[str, bool]:
    """The canonical UUID text of ``run_id`` and whether it had to be mapped."""
    try:
        return str(uuid.UUID(run_id)), False
    except ValueError:
        return mapped_run_uuid(run_id), True


def datasets_of(
    event: dict[str, Any], key: str, path: str, problems: list[Problem] | None = None
) -> Iterator[tuple[str, Any]]:
    value = event.get(key)
    if value is None:
        return
    if not isinstance(value, list):
        if problems is not None:
            problems.append(Problem(f"{path}.{key}", f"must be an array, not {_json_type(value)}"))
        return
    for index, dataset in enumerate(value):
        yield f"{path}.{key}[{index}]", dataset


def _event_time(
    event: dict[str, Any], path: str, problems: list[Problem], notes: list[str]
) -> datetime | None:
    if "eventTime" not in event or event["eventTime"] in (None, ""):
        problems.append(Problem(f"{path}.eventTime", "required"))
        return None
    moment, note = parse_time(event["eventTime"])
    if moment is None:
        problems.append(Problem(f"{path}.eventTime", f"not a timestamp: {event['eventTime']!r:.80}"))
    elif note:
        notes.append(f"eventTime {event['eventTime']!r}: {note}")
    return moment


def _run_uuid(event: dict[str, Any], path: str, problems: list[Problem], notes: list[str]) -> str | None:
    run = event.get("run")
    if not isinstance(run, dict):
        problems.append(Problem(f"{path}.run", "required" if run is None else "must be an object"))
        return None
    run_id = run.get("runId")
    if not isinstance(run_id, str) or not run_id.strip():
        problems.append(
            Problem(f"{path}.run.runId", "required" if run_id in (None, "") else "must be a string")
        )
        return None
    normal, mapped = normal_run_uuid(run_id)
    if mapped:
        notes.append(f"runId {run_id!r:.80} is not a UUID: mapped to {normal}")
    return normal


def _job_identity(event: dict[str, Any], path: str, problems: list[Problem]) -> tuple[str | None, str | None]:
    job = event.get("job")
    if not isinstance(job, dict):
        problems.append(Problem(f"{path}.job", "required" if job is None else "must be an object"))
        return None, None
    return _identity(job, f"{path}.job", problems)


def _identity(entity: Any, path: str, problems: list[Problem]) -> tuple[str | None, str | None]:
    if not isinstance(entity, dict):
        problems.append(Problem(path, "required" if entity is None else "must be an object"))
        return None, None
    found: list[str | None] = []
    for key in ("namespace", "name"):
        value = entity.get(key)
        if isinstance(value, str) and value != "":
            found.append(value)
            continue
        reason = "required" if value in (None, "") else f"must be a string, not {_json_type(value)}"
        problems.append(Problem(f"{path}.{key}", reason))
        found.append(None)
    return found[0], found[1]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
