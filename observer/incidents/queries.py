"""Reading incidents: the list, one incident in full, in the shape the API, CLI and messages use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from observer.catalog.identity import DatasetRef
from observer.incidents.tables import (
    incident_checks,
    incident_events,
    incident_findings,
    incident_impacts,
    incidents,
)


@dataclass
class CheckState:
    dataset: DatasetRef
    check: str
    column: str
    hops: int
    severity: str
    first_seen_at: datetime
    last_seen_at: datetime
    finding_count: int
    cleared_at: datetime | None
    explanation: str

    def as_json(self) -> dict[str, Any]:
        return {
            "namespace": self.dataset.namespace,
            "name": self.dataset.name,
            "column": self.column or None,
            "check": self.check,
            "hops": self.hops,
            "severity": self.severity,
            "first_seen_at": self.first_seen_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "findings": self.finding_count,
            "cleared_at": _iso(self.cleared_at),
            "explanation": self.explanation,
        }


@dataclass
class Incident:
    id: int
    state: str
    severity: str
    title: str
    root: DatasetRef
    root_check: str
    root_column: str
    origin: DatasetRef
    cause: dict[str, Any] | None
    suspects: list[dict[str, Any]]
    impact: dict[str, Any]
    first_seen_at: datetime
    opened_at: datetime
    last_activity_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    muted_until: datetime | None
    muted_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    merged_into: int | None
    checks: list[CheckState] = field(default_factory=list)
    root_finding: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "severity": self.severity,
            "title": self.title,
            "root": {
                "namespace": self.root.namespace,
                "name": self.root.name,
                "node_id": self.root.node_id,
                "check": self.root_check,
                "column": self.root_column or None,
            },
            "origin": {
                "namespace": self.origin.namespace,
                "name": self.origin.name,
                "node_id": self.origin.node_id,
            },
            "cause": self.cause,
            "impact": self.impact,
            "first_seen_at": self.first_seen_at.isoformat(),
            "opened_at": self.opened_at.isoformat(),
            "last_activity_at": self.last_activity_at.isoformat(),
            "acknowledged_at": _iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "muted_until": _iso(self.muted_until),
            "muted_by": self.muted_by,
            "resolved_at": _iso(self.resolved_at),
            "resolved_by": self.resolved_by,
            "resolution": self.resolution,
            "merged_into": self.merged_into,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _incident(row: Any) -> Incident:
    return Incident(
        id=row.id,
        state=row.state,
        severity=row.severity,
        title=row.title,
        root=DatasetRef(row.root_namespace, row.root_name),
        root_check=row.root_check,
        root_column=row.root_column,
        origin=DatasetRef(row.origin_namespace, row.origin_name),
        cause=row.cause,
        suspects=list(row.suspects or []),
        impact=dict(row.impact or {}),
        first_seen_at=row.first_seen_at,
        opened_at=row.opened_at,
        last_activity_at=row.last_activity_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        muted_until=row.muted_until,
        muted_by=row.muted_by,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=row.resolution,
        merged_into=row.merged_into,
    )


def list_incidents(
    connection: Connection,
    *,
    states: Sequence[str] = (),
    dataset: DatasetRef | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Incident], int]:
    """Incidents newest first (with the total matching), optionally by state or involved dataset."""
    conditions: list[Any] = []
    if states:
        conditions.append(incidents.c.state.in_(list(states)))
    if dataset is not None:
        involved = select(incident_checks.c.incident_id).where(
            incident_checks.c.namespace == dataset.namespace, incident_checks.c.name == dataset.name
        )
        conditions.append(
            incidents.c.id.in_(involved)
            | (
                (incidents.c.origin_namespace == dataset.namespace)
                & (incidents.c.origin_name == dataset.name)
            )
        )
    total = connection.execute(select(func.count()).select_from(incidents).where(*conditions)).scalar_one()
    rows = connection.execute(
        select(incidents).where(*conditions).order_by(incidents.c.id.desc()).limit(limit).offset(offset)
    ).all()
    found = [_incident(row) for row in rows]
    counts = _check_counts(connection, [incident.id for incident in found])
    for incident in found:
        incident.impact = {**incident.impact, "checks": counts.get(incident.id, 0)}
    return found, int(total)


def _check_counts(connection: Connection, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = connection.execute(
        select(incident_checks.c.incident_id, func.count())
        .where(incident_checks.c.incident_id.in_(ids))
        .group_by(incident_checks.c.incident_id)
    )
    return {incident_id: count for incident_id, count in rows}


def get_incident(connection: Connection, incident_id: int) -> Incident | None:
    """One incident with its checks (root first, then by distance) and the newest root finding."""
    return get_incidents(connection, [incident_id]).get(incident_id)


def get_incidents(connection: Connection, incident_ids: Sequence[int]) -> dict[int, Incident]:
    """Several incidents in full, in three queries."""
    wanted = sorted(set(incident_ids))
    if not wanted:
        return {}
    found = {
        row.id: _incident(row)
        for row in connection.execute(select(incidents).where(incidents.c.id.in_(wanted)))
    }
    checks = connection.execute(
        select(incident_checks)
        .where(incident_checks.c.incident_id.in_(wanted))
        .order_by(
            incident_checks.c.incident_id,
            incident_checks.c.hops,
            incident_checks.c.first_seen_at,
            incident_checks.c.id,
        )
    )
    for check in checks:
        found[check.incident_id].checks.append(
            CheckState(
                DatasetRef(check.namespace, check.name),
                check.check_kind,
                check.column_name,
                check.hops,
                check.severity,
                check.first_seen_at,
                check.last_seen_at,
                check.finding_count,
                check.cleared_at,
                check.last_explanation,
            )
        )
    roots = connection.execute(
        select(incident_findings)
        .join(
            incidents,
            (incidents.c.id == incident_findings.c.incident_id)
            & (incidents.c.root_namespace == incident_findings.c.namespace)
            & (incidents.c.root_name == incident_findings.c.name)
            & (incidents.c.root_check == incident_findings.c.check_kind)
            & (incidents.c.root_column == incident_findings.c.column_name),
        )
        .where(incidents.c.id.in_(wanted))
        .order_by(incident_findings.c.detected_at, incident_findings.c.id)
    ).mappings()
    for row in roots:
        found[row["incident_id"]].root_finding = _finding(row)
    return found


def _finding(row: Any) -> dict[str, Any]:
    return {
        "detected_at": row["detected_at"].isoformat(),
        "explanation": row["explanation"],
        "severity": row["severity"],
        "score": row["score"],
        "observed": row["observed"],
        "expected": row["expected"],
        "lower": row["lower"],
        "upper": row["upper"],
        "direction": row["direction"],
        "run_id": row["run_id"],
        "job": {"namespace": row["job_namespace"], "name": row["job_name"]} if row["job_name"] else None,
        "details": row["details"],
    }


def impacted_nodes(connection: Connection, incident_id: int, *, limit: int = 200) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(incident_impacts)
        .where(incident_impacts.c.incident_id == incident_id, incident_impacts.c.hops > 0)
        .order_by(incident_impacts.c.hops, incident_impacts.c.kind, incident_impacts.c.node_id)
        .limit(limit)
    ).mappings()
    return [
        {
            "node_id": row["node_id"],
            "kind": row["kind"],
            "hops": row["hops"],
            "direct": row["direct"],
            "owners": row["owners"],
        }
        for row in rows
    ]


def timeline(connection: Connection, incident_id: int) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(incident_events)
        .where(incident_events.c.incident_id == incident_id)
        .order_by(incident_events.c.id)
    ).mappings()
    return [
        {"at": row["at"].isoformat(), "kind": row["kind"], "actor": row["actor"], "details": row["details"]}
        for row in rows
    ]
