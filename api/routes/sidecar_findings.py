"""Findings forwarded by sidecars: ``POST /api/v1/sidecar/findings`` (scope ``ingest``).

A sidecar sends the problems that appeared (``findings``) and the ones that cleared (``passes``)
since its last successful delivery. They are recorded as received, counted in the metrics, and
handed to the incident service when the server runs one (``app.state.incidents``), so incidents and
Slack alerts for tables watched by sidecars live in the same place as everything else.

A finding or pass may name a ``column`` (optional): it is part of the check's identity there, as for
the server's own checks, so breaking changes to two columns of one table are two checks of one
incident. A finding without it takes the ``column`` of its ``details`` (what sidecars sent before the
field existed); none at all means the whole table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.auth import require
from observer.catalog.identity import DatasetRef
from observer.metrics import DETECTOR_FINDINGS
from observer.sidecar.tables import sidecar_findings

router = APIRouter(prefix="/api/v1/sidecar", tags=["sidecar"])

Severity = Literal["info", "warning", "error", "critical"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ForwardedFinding(_Body):
    namespace: str = Field(min_length=1, max_length=1000)
    name: str = Field(min_length=1, max_length=1000)
    check: str = Field(min_length=1, max_length=40)
    column: str = Field(default="", max_length=1000, description="the column checked; empty: the table")
    severity: Severity = "error"
    detected_at: AwareDatetime
    explanation: str = Field(max_length=10_000)
    score: float | None = None
    observed: float | None = None
    expected: float | None = None
    lower: float | None = None
    upper: float | None = None
    direction: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def check_column(self) -> str:
        return self.column or str(self.details.get("column") or "")


class ForwardedPass(_Body):
    namespace: str = Field(min_length=1, max_length=1000)
    name: str = Field(min_length=1, max_length=1000)
    check: str = Field(min_length=1, max_length=40)
    column: str = Field(default="", max_length=1000, description="the column checked; empty: the table")
    checked_at: AwareDatetime


class ForwardedBatch(_Body):
    sidecar: str = Field(min_length=1, max_length=200)
    sent_at: AwareDatetime | None = None
    findings: list[ForwardedFinding] = Field(default_factory=list, max_length=10_000)
    passes: list[ForwardedPass] = Field(default_factory=list, max_length=10_000)


@router.post(
    "/findings",
    status_code=202,
    summary="Record problems a sidecar found and cleared",
    dependencies=[Depends(require("ingest"))],
)
def receive_findings(batch: ForwardedBatch, request: Request) -> dict[str, int]:
    runtime = request.app.state.runtime
    now = runtime.clock.now()
    rows = [
        {
            "sidecar": batch.sidecar,
            "check_name": item.check,
            "namespace": item.namespace,
            "name": item.name,
            "state": "open",
            "severity": item.severity,
            "observed_at": item.detected_at,
            "received_at": now,
            "explanation": item.explanation,
            "details": {**item.details, "column": item.check_column} if item.check_column else item.details,
        }
        for item in batch.findings
    ] + [
        {
            "sidecar": batch.sidecar,
            "check_name": item.check,
            "namespace": item.namespace,
            "name": item.name,
            "state": "cleared",
            "severity": None,
            "observed_at": item.checked_at,
            "received_at": now,
            "explanation": None,
            "details": {"column": item.column} if item.column else {},
        }
        for item in batch.passes
    ]
    if rows:
        with runtime.store.engine.begin() as connection:
            connection.execute(sidecar_findings.insert(), rows)
    for item in batch.findings:
        DETECTOR_FINDINGS.labels(item.check, item.severity).inc()
    incidents = getattr(request.app.state, "incidents", None)
    if incidents is not None and rows:
        _to_incidents(incidents, batch)
    return {"findings": len(batch.findings), "passes": len(batch.passes)}


def _to_incidents(incidents: Any, batch: ForwardedBatch) -> None:
    from observer.incidents.findings import CheckPass, FindingRecord

    findings = [
        FindingRecord(
            dataset=DatasetRef(item.namespace, item.name),
            check=item.check,
            severity=item.severity,
            detected_at=item.detected_at,
            explanation=item.explanation,
            column=item.check_column,
            score=item.score,
            observed=item.observed,
            expected=item.expected,
            lower=item.lower,
            upper=item.upper,
            direction=item.direction,
            details={**item.details, "sidecar": batch.sidecar},
        )
        for item in batch.findings
    ]
    passes = [
        CheckPass(DatasetRef(item.namespace, item.name), item.check, item.checked_at, column=item.column)
        for item in batch.passes
    ]
    incidents.process(findings, passes)


@router.get(
    "/findings",
    summary="Findings received from sidecars, newest first",
    dependencies=[Depends(require("read"))],
)
def list_findings(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    sidecar: str | None = Query(None, description="only this sidecar's"),
) -> dict[str, list[dict[str, Any]]]:
    query = select(sidecar_findings).order_by(sidecar_findings.c.id.desc()).limit(limit)
    if sidecar is not None:
        query = query.where(sidecar_findings.c.sidecar == sidecar)
    with request.app.state.runtime.store.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return {"findings": [_as_json(row) for row in rows]}


def _as_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sidecar": row["sidecar"],
        "check": row["check_name"],
        "dataset": DatasetRef(row["namespace"], row["name"]).node_id,
        "namespace": row["namespace"],
        "name": row["name"],
        "column": row["details"].get("column") or None,
        "state": row["state"],
        "severity": row["severity"],
        "observed_at": _iso(row["observed_at"]),
        "received_at": _iso(row["received_at"]),
        "explanation": row["explanation"],
        "details": row["details"],
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()
