"""Building a sidecar from the configuration, and running it: once, or until SIGTERM."""

from __future__ import annotations

import logging
import random
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType

from observer.alerts.outbox import Outbox
from observer.alerts.planner import AlertPlanner
from observer.alerts.service import AlertService, build_notifiers
from observer.checks.rules import CheckRules
from observer.clock import Clock, SystemClock
from observer.config.settings import Settings
from observer.incidents.owners import OwnerDirectory
from observer.incidents.service import IncidentService
from observer.metrics import WAREHOUSE_QUERIES
from observer.sidecar.alerts import AlertSink, CentralForwarder, LocalAlerts, LogSink
from observer.sidecar.health import HealthState
from observer.sidecar.runner import CycleReport, Sidecar
from observer.sidecar.server import HealthServer
from observer.sidecar.signals import SignalSource
from observer.sidecar.state import SidecarState
from observer.store import Store, StoreUnavailable

log = logging.getLogger("observer.sidecar")

SHUTDOWN_GRACE = timedelta(seconds=20)  # well inside Kubernetes' default 30 s termination grace period
DELIVERY_GRACE = timedelta(seconds=5)  # then for a Slack message in flight (it is retried if cut short)


class SidecarConfigError(ValueError):
    """The configuration cannot run a sidecar (exit code 2)."""


@dataclass
class Assembly:
    sidecar: Sidecar
    sources: list[SignalSource]
    sinks: list[AlertSink]
    store: Store
    delivery: AlertService | None = None
    """Standalone: sends the alerts the incident service planned (None when a central server does)."""

    def close(self) -> None:
        if self.delivery is not None:
            self.delivery.stop(timeout=DELIVERY_GRACE.total_seconds())
        notifiers = self.delivery.outbox.notifiers.values() if self.delivery is not None else ()
        for item in (*self.sources, *self.sinks, *notifiers):
            close = getattr(item, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("closing %s failed", getattr(item, "name", item))
        self.store.dispose()


def assemble(settings: Settings, clock: Clock | None = None) -> Assembly:
    """Everything a sidecar needs, from ``settings``; raises :class:`SidecarConfigError`."""
    clock = clock or SystemClock()
    config = settings.sidecar
    configured = {warehouse.name: warehouse for warehouse in settings.warehouses}
    unknown = [name for name in config.warehouses if name not in configured]
    if unknown:
        raise SidecarConfigError(f"sidecar.warehouses names unknown warehouses: {', '.join(unknown)}")
    chosen = [configured[name] for name in config.warehouses] or list(configured.values())
    if not chosen:
        raise SidecarConfigError(
            "no warehouse to watch: configure warehouses "
            "(e.g. OBSERVER_WAREHOUSES__0__NAME=main and OBSERVER_WAREHOUSES__0__URL=postgresql://…)"
        )
    sources: list[SignalSource] = []
    for warehouse in chosen:
        counter = WAREHOUSE_QUERIES.labels(warehouse.name)
        try:
            sources.append(SignalSource(warehouse, query_timeout=config.query_timeout, on_query=counter.inc))
        except Exception as error:  # an unsupported URL, a driver that is not installed
            for source in sources:
                source.close()
            raise SidecarConfigError(f"warehouses {warehouse.name}: {error}") from error
    name = config.name or socket.gethostname()
    store = Store.from_settings(settings.store)
    state = SidecarState(store)
    sinks: list[AlertSink] = [LogSink()]
    delivery: AlertService | None = None
    if config.central_url and config.central_token is not None:
        token = config.central_token.get_secret_value()
        sinks.append(CentralForwarder(config.central_url, token, name, state))
        log.info(
            "findings are forwarded to %s, which keeps the incidents and sends the alerts", config.central_url
        )
    else:
        local = local_alerts(settings, store, clock)
        delivery = local.delivery
        sinks.append(local)
    health = HealthState(
        clock,
        ready_within=config.readiness_window(),
        stuck_after=max(10 * config.interval, timedelta(minutes=5)),
    )
    sidecar = Sidecar(sources, CheckRules(settings.checks), clock, state=state, sinks=sinks, health=health)
    return Assembly(sidecar, sources, sinks, store, delivery)


def local_alerts(settings: Settings, store: Store, clock: Clock) -> LocalAlerts:
    """Standalone alerting on the sidecar's store: the incident service with the alert planner, and the
    alert service that delivers the outbox through the configured notifiers (``alerts`` section)."""
    owners = OwnerDirectory(settings.owners)
    incidents = IncidentService(store, clock, settings.alerts, owners, sink=AlertPlanner(settings, owners))
    outbox = Outbox(store, clock, settings.alerts.outbox, build_notifiers(settings))
    delivery = AlertService(
        outbox, incidents, poll_interval=settings.alerts.outbox.poll_interval.total_seconds()
    )
    incidents.after_commit.append(lambda _changes: delivery.wake())
    return LocalAlerts(incidents, delivery)


def start(assembly: Assembly, *, migrate_apart: bool = False) -> None:
    """Bring the store up to date and pick up the state of earlier runs.

    ``migrate_apart``: run the migrations in a short-lived child process, so that a long-running
    sidecar never loads Alembic (~10 MiB resident for the life of the process).
    """
    if migrate_apart:
        upgrade_in_child(assembly.store)
    else:
        assembly.store.upgrade()
    assembly.sidecar.restore(assembly.sidecar.clock.now())


STORE_PROBLEM = 3
UPGRADE = f"""
import sys
from observer.store import Store, StoreUnavailable
try:
    Store(sys.stdin.read()).upgrade()
except StoreUnavailable as error:
    print(error, file=sys.stderr)
    sys.exit({STORE_PROBLEM})
"""


def upgrade_in_child(store: Store) -> None:
    """``store.upgrade()`` in a child Python process (the URL goes by stdin, not the command line)."""
    done = subprocess.run(
        [sys.executable, "-c", UPGRADE], input=store.url, capture_output=True, text=True, check=False
    )
    if done.returncode == STORE_PROBLEM:
        raise StoreUnavailable(done.stderr.strip())
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise StoreUnavailable(f"migrating the store failed: {last}")


def run_once(assembly: Assembly) -> CycleReport:
    """One cycle, and the alerts it planned sent before returning (those that fail wait in the
    store's outbox for the next run)."""
    start(assembly)
    report = assembly.sidecar.run_cycle()
    if assembly.delivery is not None:
        assembly.delivery.run_once()
    return report


class _StopOnSignal:
    """SIGTERM and SIGINT set ``stop``; a second one leaves the default behaviour in place."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def __enter__(self) -> _StopOnSignal:
        for sig in self.previous:
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the current cycle and stopping", signal.Signals(signum).name)
        self.stop.set()
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def run_forever(settings: Settings, assembly: Assembly, *, stop: threading.Event | None = None) -> None:
    """Serve the endpoints and cycle until SIGTERM/SIGINT (or ``stop``); returns once shut down."""
    config = settings.sidecar
    stop = stop or threading.Event()
    server = HealthServer(config.host, config.port, assembly.sidecar.health)
    server.start()
    log.info(
        "sidecar %s serving /healthz /readyz /metrics on http://%s:%d",
        config.name or socket.gethostname(),
        config.host,
        server.port,
    )
    with _StopOnSignal(stop):
        start(assembly, migrate_apart=True)
        if assembly.delivery is not None:
            assembly.delivery.start()
        worker = threading.Thread(
            target=assembly.sidecar.run_forever,
            args=(stop, config.interval, config.jitter, random.Random()),
            name="observer-sidecar-cycles",
            daemon=True,
        )
        worker.start()
        while not stop.wait(1.0):
            if not worker.is_alive():
                break
        worker.join(timeout=SHUTDOWN_GRACE.total_seconds())
        if worker.is_alive():
            log.warning(
                "the current cycle did not finish within %ss; exiting anyway", SHUTDOWN_GRACE.total_seconds()
            )
    server.stop()
    assembly.close()
    log.info("sidecar stopped")
