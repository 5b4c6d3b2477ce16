"""What check results mean to the incident service: problems are findings, passing checks clear."""

from __future__ import annotations

from collections.abc import Sequence

from observer.checks.results import CheckResult, Status
from observer.incidents.findings import CheckPass, FindingRecord


def to_incident_inputs(results: Sequence[CheckResult]) -> tuple[list[FindingRecord], list[CheckPass]]:
    """Problems become findings, passing checks become passes; checks not judged yet are neither."""
    findings, passes = [], []
    for result in results:
        if result.status == Status.PROBLEM:
            findings.append(finding_record(result))
        elif result.status == Status.OK:
            passes.append(CheckPass(result.dataset, result.check, result.checked_at))
    return findings, passes


def finding_record(result: CheckResult) -> FindingRecord:
    """The incident service's record of a problem, dated when the check found it."""
    finding = result.finding
    if finding is None:
        return FindingRecord(result.dataset, result.check, "error", result.checked_at, result.detail)
    return FindingRecord(
        dataset=result.dataset,
        check=result.check,
        severity=finding.severity.value,
        detected_at=result.checked_at,
        explanation=finding.explanation,
        column=str(finding.details.get("column") or ""),
        score=finding.score,
        observed=finding.observed,
        expected=finding.expected,
        lower=finding.lower,
        upper=finding.upper,
        direction=finding.direction,
        details=dict(finding.details),
    )
