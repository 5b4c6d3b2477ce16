"""Where the sidecar sends a problem when it appears and when it clears.

A :class:`Transition` is one check on one dataset changing between "problem" and "ok". Sinks
deliver transitions; a sink that cannot deliver keeps them and tries again on the next cycle
(bounded), so a short outage of Slack or of the central server loses nothing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from observer.checks.results import CheckResult
from observer.metrics import ALERT_DELIVERIES, ALERT_FAILURES, SIDECAR_FORWARDS

log = logging.getLogger(__name__)
PENDING_LIMIT = 10_000


@dataclass(frozen=True)
class Transition:
    result: CheckResult
    opened: bool  # True: the problem appeared; False: it cleared

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
        finding = result.finding
        return {
            **base,
            "severity": finding.severity.value if finding else "error",
            "detected_at": result.checked_at.isoformat(),
            "explanation": finding.explanation if finding else result.detail,
            "score": finding.score if finding else None,
            "observed": finding.observed if finding else None,
            "expected": finding.expected if finding else None,
            "lower": finding.lower if finding else None,
            "upper": finding.upper if finding else None,
            "direction": finding.direction if finding else None,
            "details": finding.details if finding else {},
        }


class AlertSink(Protocol):
    name: str

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        """Send (or queue) ``transitions``; never raises."""
        ...


class _Pending:
    """Transitions not delivered yet, oldest first, dropping the oldest beyond a bound."""

    def __init__(self, sink: str) -> None:
        self.sink = sink
        self.items: deque[Transition] = deque()

    def add(self, transitions: Sequence[Transition]) -> None:
        self.items.extend(transitions)
        dropped = 0
        while len(self.items) > PENDING_LIMIT:
            self.items.popleft()
            dropped += 1
        if dropped:
            log.error(
                "%s: dropped %d undelivered alerts (more than %d pending)", self.sink, dropped, PENDING_LIMIT
            )

    def take(self) -> list[Transition]:
        items = list(self.items)
        self.items.clear()
        return items


class CentralForwarder:
    """Posts transitions to a central Observer's ``POST /api/v1/sidecar/findings`` (ingest token)."""

    name = "central"

    def __init__(self, base_url: str, token: str, sidecar: str, client: httpx.Client | None = None) -> None:
        self.url = base_url.rstrip("/") + "/api/v1/sidecar/findings"
        self.sidecar = sidecar
        self.client = client or httpx.Client(timeout=10.0)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.pending = _Pending(self.name)

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        self.pending.add(transitions)
        batch = self.pending.take()
        if not batch:
            return
        payload = {
            "sidecar": self.sidecar,
            "sent_at": now.isoformat(),
            "findings": [t.as_json() for t in batch if t.opened],
            "passes": [t.as_json() for t in batch if not t.opened],
        }
        problem = _post(self.client, self.url, payload, self.headers)
        if problem is not None:
            SIDECAR_FORWARDS.labels("failed").inc()
            log.warning(
                "forwarding %d findings to %s failed (%s); retrying next cycle", len(batch), self.url, problem
            )
            self.pending.items.extendleft(reversed(batch))
            return
        SIDECAR_FORWARDS.labels("sent").inc()

    def close(self) -> None:
        self.client.close()


def slack_text(transition: Transition) -> str:
    result = transition.result
    target = f"`{result.dataset.name}` ({result.dataset.namespace})"
    if transition.opened:
        explanation = result.finding.explanation if result.finding else result.detail
        severity = result.finding.severity.value if result.finding else "error"
        return f":red_circle: *{result.check}* problem on {target} [{severity}]\n{explanation}"
    return f":white_check_mark: *{result.check}* on {target} is back to normal: {result.detail}"


class SlackWebhookSink:
    """Standalone alerts: one Slack message per transition to an incoming webhook."""

    name = "slack"

    def __init__(self, webhook_url: str, client: httpx.Client | None = None) -> None:
        self.webhook_url = webhook_url
        self.client = client or httpx.Client(timeout=10.0)
        self.pending = _Pending(self.name)

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        self.pending.add(transitions)
        queue = self.pending.take()
        for index, transition in enumerate(queue):
            problem = _post(self.client, self.webhook_url, {"text": slack_text(transition)})
            if problem is not None:
                ALERT_FAILURES.labels("slack").inc()
                log.warning(
                    "Slack webhook delivery failed (%s); %d alerts wait for the next cycle",
                    problem,
                    len(queue) - index,
                )
                self.pending.items.extendleft(reversed(queue[index:]))
                return
            ALERT_DELIVERIES.labels("slack").inc()

    def close(self) -> None:
        self.client.close()


def _post(
    client: httpx.Client, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> str | None:
    """POST ``payload`` as JSON; None when it was accepted, else what went wrong."""
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
