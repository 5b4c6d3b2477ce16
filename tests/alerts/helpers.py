"""Building an alerting setup against the Slack stub."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from observer.alerts.outbox import DeliveryReport, Outbox
from observer.alerts.service import build_incident_service, build_notifiers
from observer.catalog.identity import DatasetRef
from observer.clock import SimulatedClock
from observer.config.settings import Settings
from observer.incidents.findings import FindingRecord
from observer.incidents.lineage import LineageView
from observer.incidents.service import IncidentService
from observer.runtime import Runtime
from observer.store import Store
from tests.slack_stub import BOT_TOKEN, SlackStub

T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
NS = "postgres://warehouse:5432"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def settings(stub: SlackStub, **alerts: Any) -> Settings:
    section: dict[str, Any] = {
        "slack": {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "base_url": stub.api_url,
            "default_channel": "C0ALERTS",
        },
        "outbox": {"backoff": "10s", "max_attempts": 4},
    }
    section.update(alerts)
    return Settings.model_validate({"alerts": section, "api": {"public_url": "https://observer.example.com"}})


@dataclass
class Alerting:
    runtime: Runtime
    clock: SimulatedClock
    incidents: IncidentService
    outbox: Outbox

    def deliver(self) -> DeliveryReport:
        return self.outbox.deliver_due()

    def restart(self) -> None:
        """A new process: new notifiers and outbox over the same store."""
        self.outbox = Outbox(
            self.runtime.store,
            self.clock,
            self.runtime.settings.alerts.outbox,
            build_notifiers(self.runtime.settings),
        )


def alerting(store: Store, config: Settings, lineage: LineageView | None = None) -> Alerting:
    clock = SimulatedClock(T0)
    runtime = Runtime(settings=config, clock=clock, store=store)
    incidents = build_incident_service(runtime, lineage=lineage)
    outbox = Outbox(store, clock, config.alerts.outbox, build_notifiers(config))
    return Alerting(runtime, clock, incidents, outbox)


def finding(name: str, check: str = "volume", at: datetime = T0, severity: str = "error") -> FindingRecord:
    return FindingRecord(
        dataset=DatasetRef(NS, name),
        check=check,
        severity=severity,
        detected_at=at,
        explanation=f"{name}: 120 rows, expected 9,800-10,400",
        observed=120.0,
        lower=9800.0,
        upper=10400.0,
        direction="drop",
    )
