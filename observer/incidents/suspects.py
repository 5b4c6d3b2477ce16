"""Upstream suspects: what, in the window before a problem, most likely caused it.

Failed or late runs writing the broken dataset or anything upstream of it, schema changes there, and
anomalies already found upstream. The cause is the most upstream failed run or anomaly; a schema
change is named as the cause only when nothing else is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, func, select

from detectors.schema import same_type
from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.tables import datasets, jobs, schema_versions
from observer.clock import Clock
from observer.incidents.findings import severity_rank
from observer.incidents.sql import chunks, datasets_in
from observer.incidents.tables import incident_findings
from observer.ingest.tables import run_datasets, runs

SuspectKind = Literal["failed_run", "late_run", "anomaly", "schema_change"]
RUN_CHECKS = frozenset({"run", "run_failed"})


@dataclass(frozen=True)
class RunProblem:
    """A run that failed (``FAILED``, ``ABORTED``) or is overdue (``LATE``) for an output dataset."""

    job: JobRef
    run_id: str
    state: str
    at: datetime
    dataset: DatasetRef
    message: str | None = None


class RunHistory(Protocol):
    def problems_since(self, connection: Connection, since: datetime) -> list[RunProblem]:
        """Runs since ``since`` that failed or are late, once per dataset they were to write."""
        ...


class NoRunHistory:
    def problems_since(self, connection: Connection, since: datetime) -> list[RunProblem]:
        return []


@dataclass(frozen=True)
class Suspect:
    kind: SuspectKind
    dataset: DatasetRef
    hops: int
    at: datetime
    text: str
    job: JobRef | None = None
    run_id: str | None = None
    check: str | None = None
    severity: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.dataset.namespace,
            "name": self.dataset.name,
            "hops": self.hops,
            "at": self.at.isoformat(),
            "text": self.text,
            "job": {"namespace": self.job.namespace, "name": self.job.name} if self.job else None,
            "run_id": self.run_id,
            "check": self.check,
            "severity": self.severity,
        }


_KIND_ORDER: dict[SuspectKind, int] = {"failed_run": 0, "late_run": 1, "anomaly": 2, "schema_change": 3}


def choose_cause(suspects: Sequence[Suspect]) -> Suspect | None:
    """The most upstream failed or late run or anomaly; failing those, the nearest newest schema change."""
    events = [suspect for suspect in suspects if suspect.kind != "schema_change"]
    if events:
        return min(events, key=lambda s: (-s.hops, _KIND_ORDER[s.kind], s.at, s.dataset))
    changes = [suspect for suspect in suspects if suspect.kind == "schema_change"]
    if changes:
        return min(changes, key=lambda s: (s.hops, -s.at.timestamp(), s.dataset))
    return None


def find_suspects(
    connection: Connection,
    runs: RunHistory,
    scope: dict[DatasetRef, int],
    since: datetime,
    recent: Sequence[Mapping[str, Any]] | None = None,
    run_problems: Sequence[RunProblem] | None = None,
    schema_changes: Sequence[SchemaChange] | None = None,
) -> list[Suspect]:
    """Suspects among ``scope`` (the broken dataset at 0 hops and its upstream datasets) since ``since``.

    A caller diagnosing many incidents at once reads what they share once and passes it: ``recent``,
    every finding row (``incident_findings`` columns) since at least ``since``, stored or not yet;
    ``run_problems``, ``runs.problems_since`` for at least ``since``; ``schema_changes``,
    :func:`schema_changes_since` for at least ``since``."""
    suspects: list[Suspect] = []
    problems = runs.problems_since(connection, since) if run_problems is None else run_problems
    for problem in problems:
        if problem.dataset not in scope or problem.at < since:
            continue
        late = problem.state.upper() == "LATE"
        verb = "is late" if late else f"{problem.state.lower()} at {_clock(problem.at)}"
        suspects.append(
            Suspect(
                kind="late_run" if late else "failed_run",
                dataset=problem.dataset,
                hops=scope.get(problem.dataset, 0),
                at=problem.at,
                text=f"run of {problem.job.name} writing {problem.dataset.name} {verb}"
                + (f": {problem.message}" if problem.message else ""),
                job=problem.job,
                run_id=problem.run_id,
            )
        )
    suspects.extend(_upstream_findings(connection, scope, since, recent))
    changes = schema_changes_since(connection, since) if schema_changes is None else schema_changes
    suspects.extend(_schema_suspects(changes, scope, since))
    return sorted(suspects, key=lambda s: (-s.hops, _KIND_ORDER[s.kind], s.at, s.dataset))


def recent_findings(connection: Connection, since: datetime) -> list[dict[str, Any]]:
    """Every finding row detected since ``since``."""
    rows = connection.execute(select(incident_findings).where(incident_findings.c.detected_at >= since))
    return [dict(row) for row in rows.mappings()]


def _upstream_findings(
    connection: Connection,
    scope: dict[DatasetRef, int],
    since: datetime,
    recent: Sequence[Mapping[str, Any]] | None,
) -> list[Suspect]:
    """The newest finding per check on each upstream dataset (and run failures on the dataset itself)."""
    rows: list[Mapping[str, Any]] = []
    if recent is None:
        for chunk in chunks(sorted(scope)):
            found = connection.execute(
                select(incident_findings).where(
                    datasets_in(incident_findings.c.namespace, incident_findings.c.name, chunk),
                    incident_findings.c.detected_at >= since,
                )
            )
            rows += [dict(row) for row in found.mappings()]
    else:
        keys = {(ref.namespace, ref.name) for ref in scope}
        rows = [
            row for row in recent if row["detected_at"] >= since and (row["namespace"], row["name"]) in keys
        ]
    newest: dict[tuple[DatasetRef, str, str], Mapping[str, Any]] = {}
    for row in sorted(rows, key=lambda item: item["detected_at"]):
        newest[(DatasetRef(row["namespace"], row["name"]), row["check_kind"], row["column_name"])] = row
    suspects = []
    for (ref, check, column), row in newest.items():
        hops = scope[ref]
        is_run = check in RUN_CHECKS
        if hops == 0 and not is_run:
            continue
        job = JobRef(row["job_namespace"], row["job_name"]) if row["job_name"] else None
        target = f"{ref.name}.{column}" if column else ref.name
        text = (
            f"run of {job.name if job else 'the job'} writing {ref.name} failed at {_clock(row['detected_at'])}"
            if is_run
            else f"{check} anomaly on {target}"
        )
        suspects.append(
            Suspect(
                kind="failed_run" if is_run else "anomaly",
                dataset=ref,
                hops=hops,
                at=row["detected_at"],
                text=f"{text}: {row['explanation']}" if row["explanation"] else text,
                job=job,
                run_id=row["run_id"],
                check=check,
                severity=row["severity"],
            )
        )
    return sorted(suspects, key=lambda s: (-s.hops, -severity_rank(s.severity or "warning"), s.at))


@dataclass(frozen=True)
class SchemaChange:
    dataset: DatasetRef
    at: datetime
    description: str


def schema_changes_since(connection: Connection, since: datetime) -> list[SchemaChange]:
    """Schema versions recorded since ``since`` that changed the columns of an earlier version of the
    same source (of any source, for a source's first version: sources spell types their own way)."""
    recent = connection.execute(
        select(
            schema_versions.c.id,
            schema_versions.c.dataset_id,
            schema_versions.c.fields,
            schema_versions.c.observed_at,
            schema_versions.c.source,
            datasets.c.namespace,
            datasets.c.name,
        )
        .join(datasets, datasets.c.id == schema_versions.c.dataset_id)
        .where(schema_versions.c.observed_at >= since)
        .order_by(schema_versions.c.id)
    ).all()
    changes = []
    for version_id, dataset_id, fields, observed_at, source, namespace, name in recent:
        earlier = (
            select(schema_versions.c.fields)
            .where(schema_versions.c.dataset_id == dataset_id, schema_versions.c.id < version_id)
            .order_by((schema_versions.c.source == source).desc(), schema_versions.c.id.desc())
            .limit(1)
        )
        previous = connection.execute(earlier).scalar_one_or_none()
        if previous is None or _same_columns(previous, fields):
            continue
        changes.append(
            SchemaChange(DatasetRef(namespace, name), observed_at, describe_schema_change(previous, fields))
        )
    return changes


def _schema_suspects(
    changes: Sequence[SchemaChange], scope: dict[DatasetRef, int], since: datetime
) -> list[Suspect]:
    return [
        Suspect(
            kind="schema_change",
            dataset=change.dataset,
            hops=scope[change.dataset],
            at=change.at,
            text=f"schema of {change.dataset.name} changed at {_clock(change.at)}: {change.description}",
        )
        for change in changes
        if change.dataset in scope and change.at >= since
    ]


def _same_columns(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> bool:
    """Same names and types in the same order: a version that only adds or drops descriptions or
    nullability, or spells a type another way, changes nothing data depends on, so it is no suspect."""
    return len(before) == len(after) and all(
        old["name"] == new["name"] and same_type(old.get("type"), new.get("type"))
        for old, new in zip(before, after, strict=True)
    )


def describe_schema_change(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    """``removed amount; added total; id integer → bigint`` (or ``columns reordered``)."""
    old = {field["name"]: field.get("type") for field in before}
    new = {field["name"]: field.get("type") for field in after}
    parts = []
    removed = [name for name in old if name not in new]
    added = [name for name in new if name not in old]
    if removed:
        parts.append("removed " + ", ".join(removed))
    if added:
        parts.append("added " + ", ".join(added))
    parts += [
        f"{name} {old[name]} → {new[name]}"
        for name in old
        if name in new and not same_type(old[name], new[name])
    ]
    return "; ".join(parts) or "columns reordered or described differently"


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


class StoreRunHistory:
    """Failed, aborted and late runs from the ingest projection (``runs`` and ``run_datasets``).

    A failure is left out once a later run of the same job has completed: it is no longer the
    reason a dataset is missing data. A run still going is *late* once it has taken more than
    twice the median of the job's last completed runs (and at least ten minutes more); that needs
    ``clock``, and three completed runs to compare with.
    """

    LATE_FACTOR = 2.0
    LATE_MARGIN = timedelta(minutes=10)
    HISTORY = 10

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock

    def problems_since(self, connection: Connection, since: datetime) -> list[RunProblem]:
        problems = self._failed(connection, since)
        if self.clock is not None:
            problems += self._late(connection, since, self.clock.now())
        return problems

    def _failed(self, connection: Connection, since: datetime) -> list[RunProblem]:
        later = runs.alias("later")
        ended = func.coalesce(runs.c.ended_at, runs.c.last_event_time)
        rows = connection.execute(
            select(
                runs.c.run_uuid,
                runs.c.state,
                ended.label("ended"),
                runs.c.error_message,
                jobs.c.namespace,
                jobs.c.name,
                datasets.c.namespace,
                datasets.c.name,
            )
            .join(run_datasets, run_datasets.c.run_uuid == runs.c.run_uuid)
            .join(datasets, datasets.c.id == run_datasets.c.dataset_id)
            .join(jobs, jobs.c.id == runs.c.job_id)
            .where(
                run_datasets.c.direction == "output",
                runs.c.state.in_(("FAILED", "ABORTED")),
                ended >= since,
                ~select(later.c.run_uuid)
                .where(
                    later.c.job_id == runs.c.job_id,
                    later.c.state == "COMPLETED",
                    func.coalesce(later.c.ended_at, later.c.last_event_time) > ended,
                )
                .exists(),
            )
        )
        return [
            RunProblem(
                JobRef(job_namespace, job_name),
                run_uuid,
                state,
                at,
                DatasetRef(namespace, name),
                _first_line(message),
            )
            for run_uuid, state, at, message, job_namespace, job_name, namespace, name in rows
        ]

    def _late(self, connection: Connection, since: datetime, now: datetime) -> list[RunProblem]:
        going = connection.execute(
            select(
                runs.c.run_uuid,
                runs.c.job_id,
                runs.c.started_at,
                jobs.c.namespace,
                jobs.c.name,
                datasets.c.namespace,
                datasets.c.name,
            )
            .join(run_datasets, run_datasets.c.run_uuid == runs.c.run_uuid)
            .join(datasets, datasets.c.id == run_datasets.c.dataset_id)
            .join(jobs, jobs.c.id == runs.c.job_id)
            .where(
                run_datasets.c.direction == "output",
                runs.c.state.in_(("NEW", "RUNNING")),
                runs.c.started_at >= since,
            )
        ).all()
        typical: dict[int, timedelta | None] = {}
        problems = []
        for run_uuid, job_id, started_at, job_namespace, job_name, namespace, name in going:
            if job_id not in typical:
                typical[job_id] = self._typical_duration(connection, job_id)
            usual = typical[job_id]
            elapsed = now - started_at
            if usual is None or elapsed <= max(usual * self.LATE_FACTOR, usual + self.LATE_MARGIN):
                continue
            problems.append(
                RunProblem(
                    JobRef(job_namespace, job_name),
                    run_uuid,
                    "LATE",
                    started_at,
                    DatasetRef(namespace, name),
                    f"running for {_minutes(elapsed)}, usually done in {_minutes(usual)}",
                )
            )
        return problems

    def _typical_duration(self, connection: Connection, job_id: int) -> timedelta | None:
        rows = connection.execute(
            select(runs.c.started_at, runs.c.ended_at)
            .where(
                runs.c.job_id == job_id,
                runs.c.state == "COMPLETED",
                runs.c.started_at.is_not(None),
                runs.c.ended_at.is_not(None),
            )
            .order_by(runs.c.ended_at.desc())
            .limit(self.HISTORY)
        ).all()
        durations = sorted(ended - started for started, ended in rows)
        if len(durations) < 3:
            return None
        return durations[len(durations) // 2]


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _first_line(message: str | None, limit: int = 200) -> str | None:
    if not message:
        return None
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
