"""What every notifier implements, and how a delivery attempt reports success or failure."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

DeliveryKind = Literal["post", "reply", "update"]

# slack_sdk's clients log request URLs (an incoming webhook's URL is its secret) at DEBUG; they get
# this logger, which never goes below INFO whatever the root level is.
sdk_logger = logging.getLogger("observer.alerts.sdk")
sdk_logger.setLevel(logging.INFO)


@dataclass(frozen=True)
class Sent:
    """Where a message landed: for Slack, its channel id and ``ts`` (the key for threads and edits)."""

    channel: str | None = None
    ts: str | None = None


@dataclass(frozen=True)
class Delivery:
    key: str
    kind: DeliveryKind
    incident_id: int
    channel: str | None
    payload: dict[str, Any]
    created_at: datetime
    root: Sent | None = None
    """For replies and updates: the root message, when it was delivered."""


class DeliveryError(Exception):
    """The attempt failed. ``retryable`` failures are tried again later (after ``retry_after`` seconds
    when the receiver said so); the others are given up at once."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Notifier(Protocol):
    name: str
    kind: str
    """``slack``, ``webhook`` or ``console`` (the ``channel`` label of the alert metrics)."""
    threads: bool
    """Replies can go into the root message's thread and updates can edit it."""

    def send(self, delivery: Delivery) -> Sent: ...

    def find_sent(self, delivery: Delivery) -> Sent | None:
        """After a crash mid-delivery: the message, if the receiver already has it; None when it does
        not, or when the receiver cannot be asked (the delivery is then repeated)."""
        ...


def retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
