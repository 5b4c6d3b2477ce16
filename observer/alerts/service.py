"""The background service that drains the alert outbox (and ends mutes), and the functions that
build the alerting pieces from the configuration."""

from __future__ import annotations

import logging
import threading

from observer.alerts.console import ConsoleNotifier
from observer.alerts.notifier import Notifier
from observer.alerts.outbox import DeliveryReport, Outbox
from observer.alerts.planner import AlertPlanner
from observer.config.settings import Settings
from observer.incidents.lineage import LineageView
from observer.incidents.owners import OwnerDirectory
from observer.incidents.service import IncidentService
from observer.incidents.suspects import RunHistory, StoreRunHistory
from observer.logging import secret_filter
from observer.runtime import Runtime

log = logging.getLogger(__name__)


class AlertService:
    """Delivers due outbox rows every ``poll_interval`` (sooner after :meth:`wake`)."""

    name = "alerts"

    def __init__(
        self, outbox: Outbox, incidents: IncidentService | None = None, *, poll_interval: float = 2.0
    ):
        self.outbox = outbox
        self.incidents = incidents
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> DeliveryReport:
        if self.incidents is not None:
            self.incidents.unmute_expired()
        total = DeliveryReport()
        while True:
            report = self.outbox.deliver_due()
            for name in ("sent", "recovered", "retried", "failed", "deferred", "superseded"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.errors += report.errors
            if report.handled == 0 or self._stop.is_set():
                return total

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="observer-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("alert delivery pass failed; trying again")
            self._wake.wait(self.poll_interval)
            self._wake.clear()


def build_notifiers(settings: Settings) -> dict[str, Notifier]:
    """The configured notifiers by name; their secrets are registered with the log filter."""
    # Each notifier's client library (slack_sdk, httpx) is imported only when one is configured: a
    # sidecar that alerts through the console or a central server keeps their memory.
    alerts = settings.alerts
    notifiers: dict[str, Notifier] = {}
    secrets: list[str] = []
    if alerts.slack is not None and alerts.slack.bot_token is not None:
        from observer.alerts.slack_bot import SlackBotNotifier

        token = alerts.slack.bot_token.get_secret_value()
        secrets.append(token)
        notifiers["slack"] = SlackBotNotifier(
            token, base_url=alerts.slack.base_url, timeout=alerts.slack.timeout.total_seconds()
        )
    for hook in alerts.slack_webhooks:
        from observer.alerts.slack_webhook import SlackWebhookNotifier

        secrets.append(hook.url.get_secret_value())
        notifiers[hook.name] = SlackWebhookNotifier(hook.name, hook.url.get_secret_value())
    for hook in alerts.webhooks:
        from observer.alerts.webhook import WebhookNotifier

        headers = {name: value.get_secret_value() for name, value in hook.headers.items()}
        secrets += [hook.url.get_secret_value(), *headers.values()]
        notifiers[hook.name] = WebhookNotifier(hook.name, hook.url.get_secret_value(), headers=headers)
    notifiers["console"] = ConsoleNotifier()
    if alerts.slack is not None and alerts.slack.signing_secret is not None:
        secrets.append(alerts.slack.signing_secret.get_secret_value())
    secret_filter.add(secrets)
    return notifiers


def build_incident_service(
    runtime: Runtime, *, lineage: LineageView | None = None, runs: RunHistory | None = None
) -> IncidentService:
    """The incident service with the alert planner as its sink: what turns findings into incidents.

    ``lineage`` defaults to the runtime's lineage graph, ``runs`` to the ingest projection's runs
    (failed, aborted and late runs as suspects)."""
    owners = OwnerDirectory(runtime.settings.owners)
    if lineage is None and runtime.graph is not None:
        from observer.incidents.graph_lineage import GraphLineage

        lineage = GraphLineage(runtime.graph)
    return IncidentService(
        runtime.store,
        runtime.clock,
        runtime.settings.alerts,
        owners,
        lineage=lineage,
        runs=runs or StoreRunHistory(runtime.clock),
        sink=AlertPlanner(runtime.settings, owners),
    )


def build_alert_service(runtime: Runtime, incidents: IncidentService | None = None) -> AlertService:
    """The outbox drain; with ``incidents`` it also ends mutes and wakes up as soon as they change."""
    notifiers = build_notifiers(runtime.settings)
    outbox = Outbox(runtime.store, runtime.clock, runtime.settings.alerts.outbox, notifiers)
    service = AlertService(
        outbox, incidents, poll_interval=runtime.settings.alerts.outbox.poll_interval.total_seconds()
    )
    if incidents is not None:
        incidents.after_commit.append(lambda _changes: service.wake())
    return service
