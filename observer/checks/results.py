"""What a check says about one dataset, and the plain-text table ``--once`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from detectors.findings import Finding, format_duration
from observer.catalog.identity import DatasetRef


class Status(IntEnum):
    """Also the value of the ``observer_check_status`` gauge."""

    OK = 0
    PROBLEM = 1
    UNKNOWN = 2

    @property
    def label(self) -> str:
        return {Status.OK: "ok", Status.PROBLEM: "PROBLEM", Status.UNKNOWN: "unknown"}[self]


@dataclass(frozen=True)
class CheckResult:
    check: str
    dataset: DatasetRef
    status: Status
    checked_at: datetime
    detail: str
    finding: Finding | None = None
    last_update: datetime | None = None
    expected_by: datetime | None = None

    @property
    def key(self) -> tuple[str, DatasetRef]:
        return self.check, self.dataset


def ago(moment: datetime, now: datetime) -> str:
    delta = now - moment
    return f"{format_duration(delta)} ago" if delta.total_seconds() >= 0 else f"in {format_duration(delta)}"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


def render_table(results: Sequence[CheckResult]) -> str:
    """Aligned columns, problems first; readable in a terminal, a CI log or a cron mail."""
    header = ("CHECK", "DATASET", "STATUS", "LAST UPDATE (UTC)", "EXPECTED BY (UTC)", "DETAIL")
    ordered = sorted(results, key=lambda r: (-int(r.status == Status.PROBLEM), r.check, r.dataset))
    rows = [
        (
            r.check,
            f"{r.dataset.namespace}/{r.dataset.name}",
            r.status.label,
            _when(r.last_update),
            _when(r.expected_by),
            r.detail,
        )
        for r in ordered
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    problems = sum(1 for r in results if r.status == Status.PROBLEM)
    unknown = sum(1 for r in results if r.status == Status.UNKNOWN)
    lines.append(f"{len(results)} checked, {problems} with a problem, {unknown} not judged yet")
    return "\n".join(lines)
