"""The run state machine: a run's events, in any order and with any of them missing, fold into one
state (Marquez's vocabulary: NEW, RUNNING, COMPLETED, FAILED, ABORTED).

- A terminal event (COMPLETE, FAIL, ABORT) decides the state; among several, the latest by event
  time wins. Non-terminal events (START, RUNNING, OTHER, none) never undo a terminal one, so a
  START that arrives after its COMPLETE only fills in ``started_at``.
- ``started_at`` is the earliest START; without one, the earliest non-terminal event.
- Facets accumulate by name; of two events setting the same facet, the later event time wins
  (spec: re-sending a facet replaces it), whatever order they arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from observer.ingest.parse import normal_run_uuid
from observer.ingest.times import parse_time

TERMINAL = {"COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
_PRECEDENCE = {"COMPLETE": 0, "ABORT": 1, "FAIL": 2}


@dataclass
class RunRecord:
    run_uuid: str
    job_id: int
    created_at: datetime
    updated_at: datetime
    last_event_time: datetime
    state: str = "NEW"
    external_id: str | None = None
    last_event_type: str | None = None
    terminal_event_time: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    nominal_start_time: datetime | None = None
    nominal_end_time: datetime | None = None
    job_version_id: int | None = None
    parent_run_uuid: str | None = None
    parent_job_namespace: str | None = None
    parent_job_name: str | None = None
    root_run_uuid: str | None = None
    root_job_namespace: str | None = None
    root_job_name: str | None = None
    error_message: str | None = None
    facets: dict[str, Any] = field(default_factory=dict)
    job_facets: dict[str, Any] = field(default_factory=dict)
    facet_times: dict[str, str] = field(default_factory=dict)
    event_types: list[str] = field(default_factory=list)

    @classmethod
    def new(cls, run_uuid: str, job_id: int, event_time: datetime) -> RunRecord:
        return cls(run_uuid, job_id, event_time, event_time, event_time)

    def as_row(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def terminal(self) -> bool:
        return self.terminal_event_time is not None

    def apply(
        self,
        event_type: str | None,
        event_time: datetime,
        run_facets: dict[str, Any],
        job_facets: dict[str, Any],
    ) -> None:
        """Fold one event into the run."""
        kind = event_type or "OTHER"
        if kind not in self.event_types:
            self.event_types = [*self.event_types, kind]
        self.created_at = min(self.created_at, event_time)
        self.updated_at = max(self.updated_at, event_time)
        if event_time >= self.last_event_time:
            self.last_event_time, self.last_event_type = event_time, kind
        if kind in TERMINAL:
            self._terminal(kind, event_time)
        else:
            self._earliest("event:START" if kind == "START" else "event:ACTIVE", event_time)
            self.started_at = _time(
                self.facet_times.get("event:START") or self.facet_times.get("event:ACTIVE")
            )
        if not self.terminal:
            self.state = "RUNNING"
        self._merge_facets(run_facets, job_facets, event_time)

    def _earliest(self, key: str, event_time: datetime) -> None:
        stamp = event_time.isoformat(timespec="microseconds")
        if key not in self.facet_times or stamp < self.facet_times[key]:
            self.facet_times = {**self.facet_times, key: stamp}

    def _terminal(self, kind: str, event_time: datetime) -> None:
        current = self.terminal_event_time
        if (
            current is None
            or event_time > current
            or (event_time == current and _PRECEDENCE[kind] > _PRECEDENCE.get(self._terminal_kind(), -1))
        ):
            self.terminal_event_time = event_time
            self.ended_at = event_time
            self.state = TERMINAL[kind]

    def _terminal_kind(self) -> str:
        return {state: kind for kind, state in TERMINAL.items()}.get(self.state, "")

    def _merge_facets(
        self, run_facets: dict[str, Any], job_facets: dict[str, Any], event_time: datetime
    ) -> None:
        stamp = event_time.isoformat(timespec="microseconds")
        merged_run, merged_job, times = dict(self.facets), dict(self.job_facets), dict(self.facet_times)
        for prefix, incoming, merged in (("run", run_facets, merged_run), ("job", job_facets, merged_job)):
            for name, facet in incoming.items():
                key = f"{prefix}:{name}"
                if key in times and times[key] > stamp:
                    continue
                times[key] = stamp
                merged[name] = facet
        self.facets, self.job_facets, self.facet_times = merged_run, merged_job, times
        self._derive_from_facets()

    def _derive_from_facets(self) -> None:
        nominal = self.facets.get("nominalTime") or {}
        self.nominal_start_time = parse_time(nominal.get("nominalStartTime"))[0]
        self.nominal_end_time = parse_time(nominal.get("nominalEndTime"))[0]
        parent = self.facets.get("parent") or self.facets.get("parentRun")
        if isinstance(parent, dict):
            self.parent_run_uuid = _run_id(parent.get("run"))
            self.parent_job_namespace, self.parent_job_name = _job(parent.get("job"))
            root: dict[str, Any] = parent["root"] if isinstance(parent.get("root"), dict) else parent
            self.root_run_uuid = _run_id(root.get("run"))
            self.root_job_namespace, self.root_job_name = _job(root.get("job"))
        error = self.facets.get("errorMessage")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            self.error_message = error["message"]


def _time(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


def _run_id(run: Any) -> str | None:
    if isinstance(run, dict) and isinstance(run.get("runId"), str) and run["runId"]:
        return normal_run_uuid(run["runId"])[0]
    return None


def _job(job: Any) -> tuple[str | None, str | None]:
    if isinstance(job, dict):
        return job.get("namespace"), job.get("name")
    return None, None
