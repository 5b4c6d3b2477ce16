"""The alert outbox: planned messages are rows, delivered in order, retried, never posted twice.

A row moves ``pending`` → ``sending`` (claimed with a lease) → ``done`` (with the Slack channel and
``ts`` it got) or back to ``pending`` with a later ``not_before`` (exponential backoff, or Slack's
``Retry-After``), and ``failed`` after ``max_attempts`` or a permanent error.

**Crash windows.** The claim is committed before the request, the result after it. If the process
dies between the receiver accepting a message and the commit of ``done``, the row stays
``sending``; when its lease expires it is *in doubt*. For the Slack bot the notifier then looks for
the message's idempotency key in the channel (Slack message metadata) and records the message it
finds instead of posting again. Incoming webhooks and generic webhooks cannot be asked: a message in
doubt is sent again (at least once; generic webhooks carry an ``Idempotency-Key`` header).
``chat.update`` is repeated safely. The window is the time between Slack's reply and one small
commit.

Replies and updates wait for their root message (they need its ``ts``); if the root failed for
good, a reply is posted on its own and an update is dropped. Of several pending updates of one
message, only the newest is sent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from observer.alerts.notifier import Delivery, DeliveryError, Notifier, Sent
from observer.alerts.routing import Destination
from observer.alerts.tables import alert_outbox
from observer.clock import Clock
from observer.config.settings import OutboxSettings
from observer.metrics import ALERT_DELIVERIES, ALERT_FAILURES, ALERT_OUTBOX_PENDING
from observer.store import Store

log = logging.getLogger(__name__)

ROOT_WAIT = timedelta(seconds=2)
"""How long a reply or update waits before looking again for its root message."""


@dataclass
class DeliveryReport:
    sent: int = 0
    recovered: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    superseded: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.recovered + self.retried + self.failed + self.superseded


class Outbox:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: OutboxSettings,
        notifiers: Mapping[str, Notifier],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.notifiers = dict(notifiers)
        self.rng = rng or random.Random()

    # Planning (inside the caller's transaction) --------------------------------------------

    @staticmethod
    def enqueue(
        connection: Connection,
        *,
        key: str,
        incident_id: int,
        destination: Destination,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
        not_before: datetime | None = None,
    ) -> None:
        """Plan one message in the caller's transaction (the key is unique: planning twice is a bug)."""
        connection.execute(
            alert_outbox.insert(),
            {
                "idempotency_key": key,
                "incident_id": incident_id,
                "destination": destination.key,
                "kind": kind,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "not_before": not_before or now,
                "lease_until": None,
                "last_error": None,
                "external_channel": None,
                "external_ts": None,
                "created_at": now,
                "sent_at": None,
            },
        )

    # Delivering -----------------------------------------------------------------------------

    def pending_count(self) -> int:
        with self.store.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(alert_outbox)
                    .where(alert_outbox.c.status.in_(("pending", "sending")))
                ).scalar_one()
            )

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """Deliver up to ``limit`` rows that are due, oldest first."""
        report = DeliveryReport()
        now = self.clock.now()
        with self.store.engine.connect() as connection:
            rows = (
                connection.execute(
                    select(alert_outbox)
                    .where(
                        (
                            (alert_outbox.c.status == "pending")
                            | ((alert_outbox.c.status == "sending") & (alert_outbox.c.lease_until < now))
                        ),
                        alert_outbox.c.not_before <= now,
                    )
                    .order_by(alert_outbox.c.id)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        for row in rows:
            self._deliver(dict(row), report)
        ALERT_OUTBOX_PENDING.set(self.pending_count())
        return report

    def _deliver(self, row: dict[str, Any], report: DeliveryReport) -> None:
        destination = Destination.parse(row["destination"])
        notifier = self.notifiers.get(destination.notifier)
        now = self.clock.now()
        if notifier is None:
            self._finish(row["id"], "failed", error=f"notifier {destination.notifier!r} is not configured")
            report.failed += 1
            return
        in_doubt = row["status"] == "sending"
        root: Sent | None = None
        if row["kind"] in ("reply", "update"):
            with self.store.engine.connect() as connection:
                state, root = _root_of(connection, row)
                newer_update = row["kind"] == "update" and _has_newer_update(connection, row)
            if newer_update:
                self._finish(row["id"], "superseded")
                report.superseded += 1
                return
            if state in ("pending", "sending"):
                self._defer(row["id"], now + ROOT_WAIT)
                report.deferred += 1
                return
            if row["kind"] == "update" and (root is None or not notifier.threads):
                self._finish(row["id"], "superseded")
                report.superseded += 1
                return
        if not self._claim(row, now):
            return
        delivery = Delivery(
            key=row["idempotency_key"],
            kind="reply" if row["kind"] == "reply" else row["kind"],
            incident_id=row["incident_id"],
            channel=destination.channel,
            payload=row["payload"],
            created_at=row["created_at"],
            root=root,
        )
        try:
            found = notifier.find_sent(delivery) if in_doubt else None
            sent = found or notifier.send(delivery)
        except DeliveryError as error:
            self._failed_attempt(row, error, report)
            return
        except Exception as error:  # a notifier bug must not stop the outbox
            log.exception("alert %s to %s failed unexpectedly", row["id"], destination.notifier)
            self._failed_attempt(row, DeliveryError(type(error).__name__, retryable=True), report)
            return
        self._finish(row["id"], "done", sent=sent)
        ALERT_DELIVERIES.labels(notifier.kind).inc()
        if found is not None:
            report.recovered += 1
        else:
            report.sent += 1

    def _claim(self, row: dict[str, Any], now: datetime) -> bool:
        """Take the row with a lease; False when another worker has it."""
        with self.store.engine.begin() as connection:
            condition = (alert_outbox.c.id == row["id"]) & (alert_outbox.c.attempts == row["attempts"])
            result = connection.execute(
                update(alert_outbox)
                .where(condition, alert_outbox.c.status == row["status"])
                .values(
                    status="sending",
                    attempts=row["attempts"] + 1,
                    lease_until=now + self.settings.lease,
                )
            )
            return bool(result.rowcount)

    def _failed_attempt(self, row: dict[str, Any], error: DeliveryError, report: DeliveryReport) -> None:
        attempts = row["attempts"] + 1
        notifier = Destination.parse(row["destination"]).notifier
        kind = self.notifiers[notifier].kind
        ALERT_FAILURES.labels(kind).inc()
        message = str(error)
        report.errors.append(message)
        if not error.retryable or attempts >= self.settings.max_attempts:
            log.warning(
                "alert %s to %s given up after %d attempts: %s", row["id"], notifier, attempts, message
            )
            self._finish(row["id"], "failed", error=message)
            report.failed += 1
            return
        delay = self._backoff(attempts) if error.retry_after is None else timedelta(seconds=error.retry_after)
        log.info("alert %s to %s: %s; retrying in %.0fs", row["id"], notifier, message, delay.total_seconds())
        with self.store.engine.begin() as connection:
            connection.execute(
                update(alert_outbox)
                .where(alert_outbox.c.id == row["id"])
                .values(
                    status="pending",
                    not_before=self.clock.now() + delay,
                    lease_until=None,
                    last_error=message,
                )
            )
        report.retried += 1

    def _backoff(self, attempts: int) -> timedelta:
        base = self.settings.backoff.total_seconds() * 2 ** (attempts - 1)
        capped = min(base, self.settings.max_backoff.total_seconds())
        return timedelta(seconds=capped * (0.8 + 0.4 * self.rng.random()))

    def _defer(self, row_id: int, until: datetime) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(
                update(alert_outbox).where(alert_outbox.c.id == row_id).values(not_before=until)
            )

    def _finish(
        self, row_id: int, status: str, *, sent: Sent | None = None, error: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "lease_until": None}
        if sent is not None:
            values.update(external_channel=sent.channel, external_ts=sent.ts, sent_at=self.clock.now())
        if error is not None:
            values["last_error"] = error
        with self.store.engine.begin() as connection:
            connection.execute(update(alert_outbox).where(alert_outbox.c.id == row_id).values(**values))


def _root_of(connection: Connection, row: dict[str, Any]) -> tuple[str | None, Sent | None]:
    """The status of the incident's root message to the same destination, and where it landed."""
    root = connection.execute(
        select(alert_outbox.c.status, alert_outbox.c.external_channel, alert_outbox.c.external_ts)
        .where(
            alert_outbox.c.incident_id == row["incident_id"],
            alert_outbox.c.destination == row["destination"],
            alert_outbox.c.kind == "post",
        )
        .order_by(alert_outbox.c.id)
        .limit(1)
    ).first()
    if root is None:
        return None, None
    if root.status == "done" and root.external_ts:
        return root.status, Sent(root.external_channel, root.external_ts)
    return root.status, None


def _has_newer_update(connection: Connection, row: dict[str, Any]) -> bool:
    return (
        connection.execute(
            select(alert_outbox.c.id)
            .where(
                alert_outbox.c.incident_id == row["incident_id"],
                alert_outbox.c.destination == row["destination"],
                alert_outbox.c.kind == "update",
                alert_outbox.c.status == "pending",
                alert_outbox.c.id > row["id"],
            )
            .limit(1)
        ).first()
        is not None
    )
