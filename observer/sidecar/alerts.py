"""Where the sidecar sends a problem when it appears and when it clears.

A :class:`Transition` is one check on one dataset changing between "problem" and "ok" (a breaking
schema change only ever appears: it is an event, cleared by a person). Sinks take the transitions
of each cycle:

* :class:`LocalAlerts` (standalone): problems become incidents in the sidecar's own store and the
  alerts package (``observer/alerts``) sends them, exactly as a central server would: routing rules,
  quiet hours, Block Kit messages, the outbox's retries and Slack's ``Retry-After``;
* :class:`CentralForwarder`: findings and passes go to a central Observer instead, which keeps the
  incidents and sends the alerts; what it cannot take waits in the store for the next cycle (or the
  next ``--once`` run);
* :class:`LogSink`: always, a log line per transition.

A sink never raises: what it cannot deliver it keeps and tries again on the next cycle.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from observer.alerts.service import AlertService
from observer.checks.incidents import finding_record
from observer.checks.results import CheckResult
from observer.incidents.findings import CheckPass
from observer.incidents.service import IncidentService
from observer.metrics import SIDECAR_FORWARDS
from observer.sidecar.state import FORWARD_LIMIT, SidecarState

if TYPE_CHECKING:
    import httpx  # loaded by CentralForwarder only: a standalone sidecar does without it

log = logging.getLogger(__name__)
PENDING_LIMIT = 10_000


@dataclass(frozen=True)
class Transition:
    result: CheckResult
    opened: bool  # True: the problem appeared; False: it cleared

    @property
    def column(self) -> str:
        """The column a problem is about (a breaking schema change names one); empty: the table."""
        return finding_record(self.result).column if self.opened else ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The check's identity, as the incident service keys it."""
        return self.result.check, self.result.dataset.namespace, self.result.dataset.name, self.column

    def as_json(self) -> dict[str, Any]:
        """The wire form: a finding (opened) or a pass (cleared) of ``POST /api/v1/sidecar/findings``."""
        result = self.result
        base = {
            "namespace": result.dataset.namespace,
            "name": result.dataset.name,
            "check": result.check,
        }
        if not self.opened:
            return {**base, "checked_at": result.checked_at.isoformat()}
        finding = finding_record(result)
        return {
            **base,
            "column": finding.column,
            "severity": finding.severity,
            "detected_at": finding.detected_at.isoformat(),
            "explanation": finding.explanation,
            "score": finding.score,
            "observed": finding.observed,
            "expected": finding.expected,
            "lower": finding.lower,
            "upper": finding.upper,
            "direction": finding.direction,
            "details": dict(finding.details),
        }


class AlertSink(Protocol):
    name: str

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        """Send (or keep for later) ``transitions``; never raises."""
        ...


def in_order(items: Sequence[Any], key: Any) -> Iterator[list[Any]]:
    """Consecutive runs of ``items`` in which no key repeats: a receiver that applies findings before
    passes then sees each check's changes in the order they happened."""
    run: list[Any] = []
    seen: set[Any] = set()
    for item in items:
        if key(item) in seen:
            yield run
            run, seen = [], set()
        run.append(item)
        seen.add(key(item))
    if run:
        yield run


class LocalAlerts:
    """Standalone alerting: the transitions go to an incident service on the sidecar's store, whose
    alert planner queues the messages; ``delivery`` (the alert service, woken by each change) sends
    them."""

    name = "alerts"

    def __init__(self, incidents: IncidentService, delivery: AlertService) -> None:
        self.incidents = incidents
        self.delivery = delivery
        self.pending: deque[Transition] = deque(maxlen=PENDING_LIMIT)

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        self.pending.extend(transitions)
        while self.pending:
            batch = next(in_order(list(self.pending), lambda t: t.key))
            findings = [finding_record(t.result) for t in batch if t.opened]
            passes = [
                CheckPass(t.result.dataset, t.result.check, t.result.checked_at)
                for t in batch
                if not t.opened
            ]
            try:
                self.incidents.process(findings, passes)
            except Exception as error:
                log.warning(
                    "recording %d alerts failed (%s: %s); retrying next cycle",
                    len(self.pending),
                    error.__class__.__name__,
                    error,
                )
                return
            for _ in batch:
                self.pending.popleft()


class CentralForwarder:
    """Posts transitions to a central Observer's ``POST /api/v1/sidecar/findings`` (ingest token).

    Transitions are queued in the store first and removed once the server accepted them, so neither
    an outage of the server nor a restart (or the end of a ``--once`` run) loses them."""

    name = "central"

    def __init__(
        self,
        base_url: str,
        token: str,
        sidecar: str,
        state: SidecarState,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/v1/sidecar/findings"
        self.sidecar = sidecar
        self.state = state
        if client is None:
            import httpx

            client = httpx.Client(timeout=10.0)
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        try:
            dropped = self.state.queue_forwards(
                [("open" if t.opened else "cleared", t.as_json()) for t in transitions], now
            )
            pending = self.state.pending_forwards()
        except Exception as error:
            log.error("queueing findings for %s failed: %s: %s", self.url, error.__class__.__name__, error)
            return
        if dropped:
            log.error("dropped the %d oldest findings not forwarded (more than %d)", dropped, FORWARD_LIMIT)
        for batch in in_order(pending, _check_of):
            payload = {
                "sidecar": self.sidecar,
                "sent_at": now.isoformat(),
                "findings": [item for _, state, item in batch if state == "open"],
                "passes": [item for _, state, item in batch if state != "open"],
            }
            problem = _post(self.client, self.url, payload, self.headers)
            if problem is not None:
                SIDECAR_FORWARDS.labels("failed").inc()
                log.warning(
                    "forwarding %d findings to %s failed (%s); retrying next cycle",
                    len(pending),
                    self.url,
                    problem,
                )
                return
            SIDECAR_FORWARDS.labels("sent").inc()
            self.state.drop_forwards(batch[-1][0])

    def close(self) -> None:
        self.client.close()


def _check_of(row: tuple[int, str, dict[str, Any]]) -> tuple[str, str, str, str]:
    item = row[2]
    return item["check"], item["namespace"], item["name"], item.get("column", "")


def _post(client: httpx.Client, url: str, payload: dict[str, Any], headers: dict[str, str]) -> str | None:
    """POST ``payload`` as JSON; None when it was accepted, else what went wrong."""
    import httpx

    try:
        response = client.post(url, json=payload, headers=headers)
    except httpx.HTTPError as error:
        return f"{error.__class__.__name__}: {error}"
    if response.status_code >= 300:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return None


class LogSink:
    """Always on: every transition is a log line."""

    name = "log"

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        for transition in transitions:
            result = transition.result
            if transition.opened:
                explanation = result.finding.explanation if result.finding else result.detail
                log.warning("%s problem on %s: %s", result.check, result.dataset.node_id, explanation)
            else:
                log.info("%s on %s cleared: %s", result.check, result.dataset.node_id, result.detail)
