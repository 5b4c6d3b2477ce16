"""Findings become incidents: one per root cause.

* **Deduplication.** A finding whose check (dataset, check kind, column) already belongs to an
  incident that is not resolved only updates that incident.
* **Grouping.** A finding on a dataset within the impact of an incident active during the last
  ``alerts.group_window`` joins that incident. A finding *upstream* of such incidents becomes their
  new root (and merges them when there are several).
* **Root cause.** A new incident looks upstream for suspects (failed or late runs, anomalies, schema
  changes); the most upstream failed run or anomaly is its cause, and the impact is computed from
  the dataset of that cause, so later findings anywhere below it join the same incident.
* **States.** open → acknowledged → resolved; muted until a time. An incident resolves by itself when
  every check it groups has passed again.

Every call runs in one transaction together with the notifications it plans (the alert outbox), so
a crash never leaves an incident without its messages or messages without their incident.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, func, select, text, update

from observer.catalog.identity import DatasetRef
from observer.clock import Clock
from observer.config.settings import AlertSettings
from observer.incidents.findings import (
    SEVERITIES,
    CheckKey,
    CheckPass,
    FindingRecord,
    describe_check,
    severity_rank,
)
from observer.incidents.impact import Impact, analyse_impact
from observer.incidents.lineage import LineageView, NoLineage
from observer.incidents.owners import OwnerDirectory
from observer.incidents.sql import chunks, datasets_in
from observer.incidents.suspects import (
    NoRunHistory,
    RunHistory,
    RunProblem,
    SchemaChange,
    Suspect,
    choose_cause,
    find_suspects,
    recent_findings,
    schema_changes_since,
)
from observer.incidents.tables import (
    incident_checks,
    incident_events,
    incident_findings,
    incident_impacts,
    incidents,
)
from observer.metrics import INCIDENTS_OPEN
from observer.store import Store

ChangeKind = Literal[
    "opened", "joined", "rerooted", "escalated", "acknowledged", "muted", "unmuted", "resolved", "merged"
]
ACTIVE_STATES = ("open", "acknowledged", "muted")
MAX_SUSPECTS = 10
_WRITE_LOCK = threading.Lock()
_PG_LOCK_KEY = 0x0B5E_1C1D


class IncidentError(Exception):
    status = 409


class IncidentNotFound(IncidentError):
    status = 404


@dataclass
class IncidentChange:
    """Something about an incident that people may need to hear about."""

    incident_id: int
    kind: ChangeKind
    checks: list[CheckKey] = field(default_factory=list)
    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class ChangeSink(Protocol):
    def plan(self, connection: Connection, changes: Sequence[IncidentChange], now: datetime) -> None:
        """Plan notifications for ``changes`` inside the caller's transaction."""
        ...


@dataclass
class ProcessReport:
    findings: int = 0
    deduplicated: int = 0
    joined: int = 0
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    changes: list[IncidentChange] = field(default_factory=list)


@dataclass
class _Active:
    id: int
    origin: DatasetRef
    opened_at: datetime
    last_activity_at: datetime
    severity: str


class IncidentService:
    """The one writer of incidents. Thread-safe; on PostgreSQL also safe across processes."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: AlertSettings,
        owners: OwnerDirectory,
        *,
        lineage: LineageView | None = None,
        runs: RunHistory | None = None,
        sink: ChangeSink | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.owners = owners
        self.lineage: LineageView = lineage or NoLineage()
        self.runs: RunHistory = runs or NoRunHistory()
        self.sink = sink
        self.after_commit: list[Callable[[list[IncidentChange]], None]] = []
        """Called after a transaction that changed incidents (e.g. to wake the alert service)."""

    # Findings and passes ------------------------------------------------------------------

    def process(self, findings: Sequence[FindingRecord], passes: Sequence[CheckPass] = ()) -> ProcessReport:
        """Turn ``findings`` into incidents and let ``passes`` clear (and resolve) them."""
        with _WRITE_LOCK, self.store.engine.begin() as connection:
            _serialize_writers(connection)
            now = self.clock.now()
            batch = _Batch(self, connection, now)
            batch.unmute_expired()
            batch.load(findings)
            for finding in sorted(findings, key=lambda item: (item.detected_at, item.key)):
                batch.add(finding)
            batch.apply_passes(passes)
            batch.flush()
            batch.report.changes = coalesce(batch.changes)
            if self.sink is not None:
                self.sink.plan(connection, batch.report.changes, now)
        self._committed(batch.report.changes)
        return batch.report

    def unmute_expired(self) -> list[IncidentChange]:
        """Return incidents whose mute has ended to open (or acknowledged)."""
        return self._transition(lambda batch: batch.unmute_expired())

    # Manual transitions -------------------------------------------------------------------

    def acknowledge(self, incident_id: int, actor: str | None = None) -> list[IncidentChange]:
        return self._transition(lambda batch: batch.acknowledge(incident_id, actor))

    def mute(self, incident_id: int, until: datetime, actor: str | None = None) -> list[IncidentChange]:
        return self._transition(lambda batch: batch.mute(incident_id, until, actor))

    def resolve(self, incident_id: int, actor: str | None = None) -> list[IncidentChange]:
        return self._transition(lambda batch: batch.resolve(incident_id, "manual", actor))

    def _transition(self, action: Any) -> list[IncidentChange]:
        with _WRITE_LOCK, self.store.engine.begin() as connection:
            _serialize_writers(connection)
            now = self.clock.now()
            batch = _Batch(self, connection, now, load_active=False)
            action(batch)
            batch.flush()
            changes = coalesce(batch.changes)
            if self.sink is not None and changes:
                self.sink.plan(connection, changes, now)
        self._committed(changes)
        return changes

    def _committed(self, changes: list[IncidentChange]) -> None:
        if not changes:
            return
        with self.store.engine.connect() as connection:
            counts: dict[str, int] = dict(
                connection.execute(
                    select(incidents.c.severity, func.count())
                    .where(incidents.c.state.in_(ACTIVE_STATES))
                    .group_by(incidents.c.severity)
                ).all()
            )
        for severity in SEVERITIES:
            INCIDENTS_OPEN.labels(severity).set(counts.get(severity, 0))
        for listener in self.after_commit:
            listener(changes)


def _serialize_writers(connection: Connection) -> None:
    """Several server processes on one PostgreSQL database take turns (SQLite locks the file itself)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def coalesce(changes: Sequence[IncidentChange]) -> list[IncidentChange]:
    """One change per incident and kind; nothing for an incident opened and merged away in one go;
    an incident opened in this batch is announced once with everything that joined it."""
    opened = {change.incident_id for change in changes if change.kind == "opened"}
    merged_new = {change.incident_id for change in changes if change.kind == "merged"} & opened
    result: dict[tuple[int, str], IncidentChange] = {}
    for change in changes:
        if change.incident_id in merged_new:
            continue
        if change.incident_id in opened and change.kind in ("joined", "rerooted", "escalated"):
            continue
        key = (change.incident_id, change.kind)
        if key in result:
            existing = result[key]
            existing.checks.extend(check for check in change.checks if check not in existing.checks)
            existing.details.update(change.details)
        else:
            result[key] = IncidentChange(
                change.incident_id, change.kind, list(change.checks), change.actor, dict(change.details)
            )
    return list(result.values())


class _Batch:
    """The work of one transaction: the active incidents it knows and the changes it made."""

    def __init__(
        self, service: IncidentService, connection: Connection, now: datetime, *, load_active: bool = True
    ):
        self.service = service
        self.settings = service.settings
        self.connection = connection
        self.now = now
        self.report = ProcessReport()
        self.changes: list[IncidentChange] = []
        self.active: dict[int, _Active] = self._load_active() if load_active else {}
        self.open_checks: dict[CheckKey, int] = {}
        self.impact_index: dict[DatasetRef, dict[int, int]] = {}
        """For the datasets of this batch's findings: active incidents whose impact holds them, with
        the hops from the incident's origin."""
        self._pending: dict[str, list[dict[str, Any]]] = {"checks": [], "findings": [], "events": []}
        self._pending_checks: set[CheckKey] = set()
        self._dirty: set[int] = set()
        self._recent: list[dict[str, Any]] | None = None
        self._recent_since: datetime | None = None
        self._run_problems: tuple[datetime, list[RunProblem]] | None = None
        self._schema_changes: tuple[datetime, list[SchemaChange]] | None = None

    # Loading -----------------------------------------------------------------------------

    def _load_active(self) -> dict[int, _Active]:
        rows = self.connection.execute(
            select(
                incidents.c.id,
                incidents.c.origin_namespace,
                incidents.c.origin_name,
                incidents.c.opened_at,
                incidents.c.last_activity_at,
                incidents.c.severity,
            ).where(incidents.c.state.in_(ACTIVE_STATES))
        )
        return {
            row.id: _Active(
                row.id,
                DatasetRef(row.origin_namespace, row.origin_name),
                row.opened_at,
                row.last_activity_at,
                row.severity,
            )
            for row in rows
        }

    def load(self, findings: Sequence[FindingRecord]) -> None:
        """What the batch needs to know about its findings: checks already open, containing incidents."""
        self.open_checks.update(self._checks_of_active([finding.key for finding in findings]))
        wanted = sorted({finding.dataset for finding in findings})
        for dataset in wanted:
            self.impact_index[dataset] = {}
        for chunk in chunks(wanted):
            rows = self.connection.execute(
                select(
                    incident_impacts.c.namespace,
                    incident_impacts.c.name,
                    incident_impacts.c.incident_id,
                    func.min(incident_impacts.c.hops),
                )
                .where(
                    incident_impacts.c.kind == "dataset",
                    datasets_in(incident_impacts.c.namespace, incident_impacts.c.name, chunk),
                )
                .group_by(
                    incident_impacts.c.namespace, incident_impacts.c.name, incident_impacts.c.incident_id
                )
            )
            for namespace, name, incident_id, hops in rows:
                if incident_id in self.active:
                    self.impact_index[DatasetRef(namespace, name)][incident_id] = hops

    def _checks_of_active(self, keys: Sequence[CheckKey]) -> dict[CheckKey, int]:
        wanted = set(keys)
        found: dict[CheckKey, int] = {}
        for chunk in chunks(sorted({key.dataset for key in wanted})):
            rows = self.connection.execute(
                select(
                    incident_checks.c.namespace,
                    incident_checks.c.name,
                    incident_checks.c.check_kind,
                    incident_checks.c.column_name,
                    incident_checks.c.incident_id,
                )
                .join(incidents, incidents.c.id == incident_checks.c.incident_id)
                .where(
                    incidents.c.state.in_(ACTIVE_STATES),
                    datasets_in(incident_checks.c.namespace, incident_checks.c.name, chunk),
                )
            )
            for namespace, name, check, column, incident_id in rows:
                key = CheckKey(DatasetRef(namespace, name), check, column)
                if key in wanted:
                    found[key] = incident_id
        return found

    # Findings ------------------------------------------------------------------------------

    def add(self, finding: FindingRecord) -> None:
        self.report.findings += 1
        incident_id = self.open_checks.get(finding.key)
        if incident_id is not None:
            self.report.deduplicated += 1
            self._repeat(incident_id, finding)
            return
        containing = self._containing(finding)
        if containing is not None:
            self.report.joined += 1
            self._join(containing[0], finding, containing[1])
            return
        impact = self._impact(finding.dataset, finding)
        reachable = impact.dataset_hops()
        below = sorted(
            (
                active
                for active in self.active.values()
                if active.origin in reachable and self._in_window(active, finding)
            ),
            key=lambda active: (active.opened_at, active.id),
        )
        if below:
            self._reroot(below, finding, impact)
        else:
            self._open(finding, impact)

    def _in_window(self, active: _Active, finding: FindingRecord) -> bool:
        return active.last_activity_at >= finding.detected_at - self.settings.group_window

    def _containing(self, finding: FindingRecord) -> tuple[int, int] | None:
        """The active incident whose impact holds the finding's dataset, the most upstream origin first."""
        candidates = [
            (hops, self.active[incident_id])
            for incident_id, hops in self.impact_index.get(finding.dataset, {}).items()
            if incident_id in self.active and self._in_window(self.active[incident_id], finding)
        ]
        if not candidates:
            return None
        hops, active = min(candidates, key=lambda item: (-item[0], item[1].opened_at, item[1].id))
        return active.id, hops

    def _impact(self, origin: DatasetRef, finding: FindingRecord | None) -> Impact:
        columns = (
            (finding.column,) if finding is not None and finding.column and finding.dataset == origin else ()
        )
        return analyse_impact(
            self.connection,
            self.service.lineage,
            self.service.owners,
            origin,
            depth=self.settings.impact_depth,
            columns=columns,
        )

    def _diagnose(
        self, finding: FindingRecord, impact: Impact
    ) -> tuple[Suspect | None, list[Suspect], Impact]:
        """Suspects upstream of the finding; the cause; the impact seen from the cause's dataset."""
        scope = dict(self.service.lineage.upstream_datasets(finding.dataset, self.settings.suspect_depth))
        scope[finding.dataset] = 0
        since = finding.detected_at - self.settings.suspect_window
        suspects = find_suspects(
            self.connection,
            self.service.runs,
            scope,
            since,
            recent=self._recent_findings(since),
            run_problems=self._problems_since(since),
            schema_changes=self._schema_changes_since(since),
        )
        cause = choose_cause(suspects)
        if cause is not None and cause.kind != "schema_change" and cause.dataset != finding.dataset:
            impact = self._impact(cause.dataset, None)
        return cause, suspects[:MAX_SUSPECTS], impact

    def _recent_findings(self, since: datetime) -> list[dict[str, Any]]:
        """Finding rows since ``since`` (stored, and of this batch), read once per batch."""
        if self._recent is None or self._recent_since is None or since < self._recent_since:
            self._recent = recent_findings(self.connection, since) + list(self._pending["findings"])
            self._recent_since = since
        return self._recent

    def _problems_since(self, since: datetime) -> list[RunProblem]:
        """Failed and late runs since ``since``, read once per batch (the runs are not ours to change)."""
        if self._run_problems is None or since < self._run_problems[0]:
            self._run_problems = (since, self.service.runs.problems_since(self.connection, since))
        return self._run_problems[1]

    def _schema_changes_since(self, since: datetime) -> list[SchemaChange]:
        if self._schema_changes is None or since < self._schema_changes[0]:
            self._schema_changes = (since, schema_changes_since(self.connection, since))
        return self._schema_changes[1]

    def _open(self, finding: FindingRecord, impact: Impact) -> None:
        cause, suspects, impact = self._diagnose(finding, impact)
        root_hops = impact.dataset_hops().get(finding.dataset, 0)
        incident_id = self.connection.execute(
            incidents.insert()
            .values(
                state="open",
                severity=finding.severity,
                title=_title(finding),
                **_root_values(finding),
                origin_namespace=impact.origin.namespace,
                origin_name=impact.origin.name,
                cause=cause.as_json() if cause else None,
                suspects=[suspect.as_json() for suspect in suspects],
                impact=impact.summary(self.settings.top_assets),
                first_seen_at=finding.detected_at,
                opened_at=self.now,
                last_activity_at=finding.detected_at,
                message_seq=0,
                updated_at=self.now,
            )
            .returning(incidents.c.id)
        ).scalar_one()
        self._store_impact(incident_id, impact, replace=False)
        self._insert_check(incident_id, finding, root_hops)
        self._event(incident_id, "opened", None, {"check": finding.key.label()})
        self.active[incident_id] = _Active(
            incident_id, impact.origin, self.now, finding.detected_at, finding.severity
        )
        self.report.opened.append(incident_id)
        self.changes.append(IncidentChange(incident_id, "opened", [finding.key]))

    def _join(self, incident_id: int, finding: FindingRecord, hops: int) -> None:
        self._insert_check(incident_id, finding, hops)
        self._touch(incident_id, finding)
        if hops == 0:
            self._root_at_origin(incident_id, finding)
        self._event(incident_id, "joined", None, {"check": finding.key.label(), "hops": hops})
        self.changes.append(IncidentChange(incident_id, "joined", [finding.key]))

    def _root_at_origin(self, incident_id: int, finding: FindingRecord) -> None:
        """A finding on the incident's origin dataset names the incident: the finding that opened it
        may be a downstream symptom whose cause (found upstream) made the origin."""
        namespace, name = self.connection.execute(
            select(incidents.c.root_namespace, incidents.c.root_name).where(incidents.c.id == incident_id)
        ).one()
        if DatasetRef(namespace, name) != finding.dataset:
            self.connection.execute(
                update(incidents)
                .where(incidents.c.id == incident_id)
                .values(title=_title(finding), **_root_values(finding), updated_at=self.now)
            )

    def _repeat(self, incident_id: int, finding: FindingRecord) -> None:
        key = finding.key
        if key in self._pending_checks:
            self.flush()
        where = (
            (incident_checks.c.incident_id == incident_id)
            & (incident_checks.c.namespace == key.dataset.namespace)
            & (incident_checks.c.name == key.dataset.name)
            & (incident_checks.c.check_kind == key.check)
            & (incident_checks.c.column_name == key.column)
        )
        current = self.connection.execute(
            select(incident_checks.c.severity, incident_checks.c.last_seen_at).where(where)
        ).one()
        self.connection.execute(
            update(incident_checks)
            .where(where)
            .values(
                last_seen_at=max(current.last_seen_at, finding.detected_at),
                finding_count=incident_checks.c.finding_count + 1,
                cleared_at=None,
                severity=_worse(current.severity, finding.severity),
                last_explanation=finding.explanation,
            )
        )
        self._insert_finding(incident_id, finding)
        self._touch(incident_id, finding)

    def _touch(self, incident_id: int, finding: FindingRecord) -> None:
        """Move the incident's activity forward and raise its severity when the finding is worse."""
        active = self.active[incident_id]
        severity = _worse(active.severity, finding.severity)
        active.last_activity_at = max(active.last_activity_at, finding.detected_at)
        self._dirty.add(incident_id)
        if severity != active.severity:
            self.changes.append(
                IncidentChange(incident_id, "escalated", [finding.key], details={"from": active.severity})
            )
            active.severity = severity

    def _reroot(self, below: list[_Active], finding: FindingRecord, impact: Impact) -> None:
        """The finding is upstream of active incidents: it becomes the root of the oldest, which
        absorbs the others."""
        self.flush()
        survivor, absorbed = below[0], below[1:]
        previous = self.connection.execute(
            select(incidents.c.root_name, incidents.c.root_check, incidents.c.first_seen_at).where(
                incidents.c.id == survivor.id
            )
        ).one()
        for other in absorbed:
            self._merge(other, into=survivor.id)
        cause, suspects, impact = self._diagnose(finding, impact)
        hops = impact.dataset_hops()
        survivor.origin = impact.origin
        self.connection.execute(
            update(incidents)
            .where(incidents.c.id == survivor.id)
            .values(
                title=_title(finding),
                **_root_values(finding),
                origin_namespace=impact.origin.namespace,
                origin_name=impact.origin.name,
                cause=cause.as_json() if cause else None,
                suspects=[suspect.as_json() for suspect in suspects],
                impact=impact.summary(self.settings.top_assets),
                first_seen_at=min(previous.first_seen_at, finding.detected_at),
                updated_at=self.now,
            )
        )
        self._store_impact(survivor.id, impact)
        self._rehop(survivor.id, hops)
        self._insert_check(survivor.id, finding, hops.get(finding.dataset, 0))
        self._touch(survivor.id, finding)
        former = f"{previous.root_check} on {previous.root_name}"
        self._event(
            survivor.id,
            "rerooted",
            None,
            {"check": finding.key.label(), "previous_root": former, "merged": [a.id for a in absorbed]},
        )
        self.changes.append(
            IncidentChange(
                survivor.id,
                "rerooted",
                [finding.key],
                details={"previous_root": former, "merged": [other.id for other in absorbed]},
            )
        )

    def _merge(self, other: _Active, *, into: int) -> None:
        for table in (incident_checks, incident_findings):
            self.connection.execute(
                update(table).where(table.c.incident_id == other.id).values(incident_id=into)
            )
        self.connection.execute(incident_impacts.delete().where(incident_impacts.c.incident_id == other.id))
        for holders in self.impact_index.values():
            holders.pop(other.id, None)
        self.connection.execute(
            update(incidents)
            .where(incidents.c.id == other.id)
            .values(
                state="resolved",
                resolution="merged",
                merged_into=into,
                resolved_at=self.now,
                resolved_by="observer",
                updated_at=self.now,
            )
        )
        self._event(other.id, "merged", None, {"into": into})
        for key, incident_id in list(self.open_checks.items()):
            if incident_id == other.id:
                self.open_checks[key] = into
        survivor = self.active[into]
        survivor.last_activity_at = max(survivor.last_activity_at, other.last_activity_at)
        survivor.severity = _worse(survivor.severity, other.severity)
        del self.active[other.id]
        if other.id in self.report.opened:
            self.report.opened.remove(other.id)
        self.changes.append(IncidentChange(other.id, "merged", details={"into": into}))

    def _rehop(self, incident_id: int, hops: dict[DatasetRef, int]) -> None:
        rows = self.connection.execute(
            select(incident_checks.c.id, incident_checks.c.namespace, incident_checks.c.name).where(
                incident_checks.c.incident_id == incident_id
            )
        ).all()
        for check_id, namespace, name in rows:
            distance = hops.get(DatasetRef(namespace, name))
            if distance is not None:
                self.connection.execute(
                    update(incident_checks).where(incident_checks.c.id == check_id).values(hops=distance)
                )

    # Writing -------------------------------------------------------------------------------

    def _insert_check(self, incident_id: int, finding: FindingRecord, hops: int) -> None:
        self._pending["checks"].append(
            {
                "incident_id": incident_id,
                "namespace": finding.dataset.namespace,
                "name": finding.dataset.name,
                "column_name": finding.column,
                "check_kind": finding.check,
                "hops": hops,
                "severity": finding.severity,
                "first_seen_at": finding.detected_at,
                "last_seen_at": finding.detected_at,
                "finding_count": 1,
                "cleared_at": None,
                "last_explanation": finding.explanation,
            }
        )
        self._pending_checks.add(finding.key)
        self._insert_finding(incident_id, finding)
        self.open_checks[finding.key] = incident_id

    def _insert_finding(self, incident_id: int, finding: FindingRecord) -> None:
        row: dict[str, Any] = {
            "incident_id": incident_id,
            "namespace": finding.dataset.namespace,
            "name": finding.dataset.name,
            "column_name": finding.column,
            "check_kind": finding.check,
            "severity": finding.severity,
            "detected_at": finding.detected_at,
            "explanation": finding.explanation,
            "score": finding.score,
            "observed": finding.observed,
            "expected": finding.expected,
            "lower": finding.lower,
            "upper": finding.upper,
            "direction": finding.direction,
            "run_id": finding.run_id,
            "job_namespace": finding.job.namespace if finding.job else None,
            "job_name": finding.job.name if finding.job else None,
            "details": finding.details,
        }
        self._pending["findings"].append(row)
        if self._recent is not None:
            self._recent.append(row)

    def flush(self) -> None:
        """Write the rows and incident updates gathered so far (in bulk)."""
        self.write_rows()
        for incident_id in sorted(self._dirty):
            active = self.active.get(incident_id)
            if active is None:
                continue
            self.connection.execute(
                update(incidents)
                .where(incidents.c.id == incident_id)
                .values(
                    severity=active.severity, last_activity_at=active.last_activity_at, updated_at=self.now
                )
            )
        self._dirty.clear()

    def write_rows(self) -> None:
        """Insert the checks, findings and events gathered so far."""
        for table, name in (
            (incident_checks, "checks"),
            (incident_findings, "findings"),
            (incident_events, "events"),
        ):
            if self._pending[name]:
                self.connection.execute(table.insert(), self._pending[name])
                self._pending[name] = []
        self._pending_checks.clear()

    def _store_impact(self, incident_id: int, impact: Impact, *, replace: bool = True) -> None:
        if replace:
            self.connection.execute(
                incident_impacts.delete().where(incident_impacts.c.incident_id == incident_id)
            )
        rows = [
            {
                "incident_id": incident_id,
                "node_id": impact.origin.node_id,
                "kind": "dataset",
                "namespace": impact.origin.namespace,
                "name": impact.origin.name,
                "column_name": None,
                "hops": 0,
                "direct": True,
                "owners": impact.owners.get(impact.origin, []),
            }
        ]
        for node in impact.nodes:
            ref = node.dataset or (node.job and DatasetRef(node.job.namespace, node.job.name))
            if ref is None:
                continue
            rows.append(
                {
                    "incident_id": incident_id,
                    "node_id": node.node_id,
                    "kind": node.kind,
                    "namespace": ref.namespace,
                    "name": ref.name,
                    "column_name": node.column,
                    "hops": node.hops,
                    "direct": node.direct,
                    "owners": impact.owners.get(node.dataset, []) if node.dataset else [],
                }
            )
        self.connection.execute(incident_impacts.insert(), rows)
        for holders in self.impact_index.values():
            holders.pop(incident_id, None)
        for dataset, hops in impact.dataset_hops().items():
            if dataset in self.impact_index:
                self.impact_index[dataset][incident_id] = hops

    def _event(self, incident_id: int, kind: str, actor: str | None, details: dict[str, Any]) -> None:
        self._pending["events"].append(
            {"incident_id": incident_id, "at": self.now, "kind": kind, "actor": actor, "details": details}
        )

    # Passes and states ----------------------------------------------------------------------

    def apply_passes(self, passes: Sequence[CheckPass]) -> None:
        """Clear the checks that passed after their last finding; resolve incidents left with none."""
        if not passes:
            return
        self.flush()
        newest: dict[CheckKey, datetime] = {}
        for item in passes:
            newest[item.key] = max(item.checked_at, newest.get(item.key, item.checked_at))
        owners = self._checks_of_active(list(newest))
        touched: set[int] = set()
        for key, incident_id in owners.items():
            result = self.connection.execute(
                update(incident_checks)
                .where(
                    incident_checks.c.incident_id == incident_id,
                    incident_checks.c.namespace == key.dataset.namespace,
                    incident_checks.c.name == key.dataset.name,
                    incident_checks.c.check_kind == key.check,
                    incident_checks.c.column_name == key.column,
                    incident_checks.c.cleared_at.is_(None),
                    incident_checks.c.last_seen_at <= newest[key],
                )
                .values(cleared_at=newest[key])
            )
            if result.rowcount:
                touched.add(incident_id)
        for incident_id in sorted(touched):
            remaining = self.connection.execute(
                select(func.count())
                .select_from(incident_checks)
                .where(incident_checks.c.incident_id == incident_id, incident_checks.c.cleared_at.is_(None))
            ).scalar_one()
            if remaining == 0:
                self.resolve(incident_id, "checks_passed", "observer")

    def unmute_expired(self) -> None:
        rows = self.connection.execute(
            select(incidents.c.id, incidents.c.acknowledged_at).where(
                incidents.c.state == "muted", incidents.c.muted_until <= self.now
            )
        ).all()
        for incident_id, acknowledged_at in rows:
            state = "acknowledged" if acknowledged_at else "open"
            self.connection.execute(
                update(incidents)
                .where(incidents.c.id == incident_id)
                .values(state=state, updated_at=self.now)
            )
            self._event(incident_id, "unmuted", None, {"state": state})
            self.changes.append(IncidentChange(incident_id, "unmuted"))

    def _current(self, incident_id: int) -> Any:
        row = self.connection.execute(
            select(incidents.c.state, incidents.c.acknowledged_at).where(incidents.c.id == incident_id)
        ).one_or_none()
        if row is None:
            raise IncidentNotFound(f"no incident {incident_id}")
        if row.state == "resolved":
            raise IncidentError(f"incident {incident_id} is already resolved")
        return row

    def acknowledge(self, incident_id: int, actor: str | None) -> None:
        row = self._current(incident_id)
        if row.acknowledged_at is not None:
            return
        state = "muted" if row.state == "muted" else "acknowledged"
        self.connection.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(state=state, acknowledged_at=self.now, acknowledged_by=actor, updated_at=self.now)
        )
        self._event(incident_id, "acknowledged", actor, {})
        self.changes.append(IncidentChange(incident_id, "acknowledged", actor=actor))

    def mute(self, incident_id: int, until: datetime, actor: str | None) -> None:
        self._current(incident_id)
        if until <= self.now:
            raise IncidentError(f"cannot mute until {until.isoformat()}: that is not in the future")
        self.connection.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(state="muted", muted_until=until, muted_by=actor, updated_at=self.now)
        )
        self._event(incident_id, "muted", actor, {"until": until.isoformat()})
        self.changes.append(
            IncidentChange(incident_id, "muted", actor=actor, details={"until": until.isoformat()})
        )

    def resolve(self, incident_id: int, resolution: str, actor: str | None) -> None:
        self.flush()
        self._current(incident_id)
        self.connection.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(
                state="resolved",
                resolved_at=self.now,
                resolved_by=actor,
                resolution=resolution,
                updated_at=self.now,
            )
        )
        self._event(incident_id, "resolved", actor, {"resolution": resolution})
        self.active.pop(incident_id, None)
        for key, owner in list(self.open_checks.items()):
            if owner == incident_id:
                del self.open_checks[key]
        self.report.resolved.append(incident_id)
        self.changes.append(
            IncidentChange(incident_id, "resolved", actor=actor, details={"resolution": resolution})
        )


def _root_values(finding: FindingRecord) -> dict[str, Any]:
    return {
        "root_namespace": finding.dataset.namespace,
        "root_name": finding.dataset.name,
        "root_check": finding.check,
        "root_column": finding.column,
    }


def _title(finding: FindingRecord) -> str:
    target = f"{finding.dataset.name}.{finding.column}" if finding.column else finding.dataset.name
    return f"{describe_check(finding.check, finding.direction)} on {target}"


def _worse(first: str, second: str) -> str:
    return first if severity_rank(first) >= severity_rank(second) else second
