"""``observer demo``: a shop's warehouse, N days of its pipeline in seconds, Observer watching it all.

Set-up creates ``$OBSERVER_HOME/demo`` afresh: the DuckDB warehouse, an SQLite store, and the
Observer server in this process (uvicorn in a thread) on a :class:`SimulatedClock`. Each simulated
day then runs the pipeline on DuckDB (every run reported over HTTP with the official OpenLineage
client), lets the projection catch up, collects the warehouse, runs the checks, turns findings into
incidents and delivers the alerts. In the last days the trouble of :mod:`observer.demo.trouble`
happens, and Observer finds it. Afterwards the server keeps serving, on a clock that follows real
time from where the simulation ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import yaml

from observer.alerts.outbox import Outbox
from observer.alerts.service import AlertService, build_incident_service, build_notifiers
from observer.clock import SimulatedClock, SystemClock
from observer.config.settings import Settings, observer_home
from observer.demo import MIN_DAYS
from observer.demo.events import LineageReporter
from observer.demo.jobs import DayRuns, PipelineRunner
from observer.demo.observe import CheckSummary, Observation
from observer.demo.pipeline import CHECK_AT, COLLECT_AT, LOADERS, MODELS, all_tables
from observer.demo.present import DayView, Example, IncidentView, Presenter, TerminalNotifier, curl_examples
from observer.demo.server import InProcessServer
from observer.demo.trouble import Trouble
from observer.demo.warehouse import NAMESPACE, WAREHOUSE_FILE, ShopSource, Warehouse, table_ref
from observer.incidents.graph_lineage import GraphLineage
from observer.incidents.queries import Incident, get_incident, impacted_nodes, list_incidents
from observer.incidents.service import IncidentService
from observer.incidents.suspects import StoreRunHistory
from observer.ingest.log import GRAPH_CURSOR, PROJECTION_CURSOR, read_cursor
from observer.ingest.service import IngestService
from observer.ingest.sql_queue import pending_sql
from observer.runtime import Runtime

DEMO_FILES = (
    "observer.db",
    "observer.db-wal",
    "observer.db-shm",
    WAREHOUSE_FILE,
    WAREHOUSE_FILE + ".wal",
    "alerts.txt",
    "observer.yaml",
)
"""What a demo writes into its directory, removed before the next one."""


@dataclass(frozen=True)
class SlackTargets:
    """Where alerts go: Slack when the environment names it, else the terminal."""

    webhook_url: str | None = None
    bot_token: str | None = None
    channel: str | None = None
    api_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackTargets:
        """``SLACK_WEBHOOK_URL``, or ``SLACK_BOT_TOKEN`` with ``SLACK_CHANNEL`` (and optionally
        ``SLACK_API_URL``, another Slack Web API base URL)."""

        def value(name: str) -> str | None:
            return env.get(name, "").strip() or None

        return cls(
            value("SLACK_WEBHOOK_URL"),
            value("SLACK_BOT_TOKEN"),
            value("SLACK_CHANNEL"),
            value("SLACK_API_URL"),
        )

    @property
    def bot(self) -> bool:
        return bool(self.bot_token and self.channel)

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url) or self.bot

    def describe(self) -> str:
        targets = []
        if self.bot:
            targets.append(f"Slack channel {self.channel} (bot)")
        if self.webhook_url:
            targets.append("Slack (incoming webhook)")
        return " and ".join(targets)

    def section(self, *, masked: bool = False) -> dict[str, Any]:
        """The ``alerts`` configuration: these Slack notifiers, or the console when there are none."""
        section: dict[str, Any] = {"console": not self.configured}
        if self.bot:
            slack: dict[str, Any] = {
                "bot_token": "${SLACK_BOT_TOKEN}" if masked else self.bot_token,
                "default_channel": self.channel,
            }
            if self.api_url:
                slack["base_url"] = self.api_url
            section["slack"] = slack
        if self.webhook_url:
            url = "${SLACK_WEBHOOK_URL}" if masked else self.webhook_url
            section["slack_webhooks"] = [{"name": "slack-webhook", "url": url}]
        return section


@dataclass(frozen=True)
class DemoOptions:
    home: Path = field(default_factory=observer_home)
    days: int = 60
    host: str = "127.0.0.1"
    port: int = 5000
    last_day: date | None = None
    """The last simulated day; default the latest day whose morning checks (09:00 UTC) are past."""
    seed: int = 7
    slack: SlackTargets = field(default_factory=SlackTargets)

    @property
    def directory(self) -> Path:
        return self.home / "demo"

    def first_day(self, now: datetime) -> date:
        return (self.last_day or latest_checked_day(now)) - timedelta(days=self.days - 1)


@dataclass
class DayReport:
    index: int
    date: date
    runs: DayRuns
    checks: CheckSummary
    trouble: str | None

    def view(self, days: int) -> DayView:
        return DayView(
            index=self.index,
            date=self.date,
            last=self.index == days - 1,
            runs=self.runs.runs,
            orders=self.runs.orders_loaded,
            checks=len(self.checks.results),
            judged=self.checks.judged,
            failed=self.runs.failed,
            skipped=self.runs.skipped,
            problems=[f"{p.check} on {p.dataset.name}: {p.detail}" for p in self.checks.problems],
            trouble=self.trouble,
            opened=self.checks.incidents.opened,
            joined=self.checks.incidents.joined,
        )


@dataclass
class Timings:
    setup_s: float = 0.0
    simulation_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.setup_s + self.simulation_s


@dataclass
class Parts:
    """Everything set-up builds: the warehouse side, the Observer side, and what joins them."""

    clock: SimulatedClock
    source: ShopSource
    trouble: Trouble
    warehouse: Warehouse
    settings: Settings
    runtime: Runtime
    server: InProcessServer
    ingest: IngestService
    incidents: IncidentService
    alerts: AlertService
    terminal: TerminalNotifier
    reporter: LineageReporter
    runner: PipelineRunner
    observation: Observation


class Demo:
    """The demo from set-up to serving: :meth:`setup`, :meth:`simulate`, :meth:`serve`; then :meth:`close`."""

    def __init__(self, options: DemoOptions, presenter: Presenter | None = None) -> None:
        if options.days < MIN_DAYS:
            raise ValueError(f"the demo needs at least {MIN_DAYS} days: the detectors learn from the history")
        self.options = options
        self.presenter = presenter or Presenter()
        self.timings = Timings()
        self.days: list[DayReport] = []
        self._parts: Parts | None = None
        self._follower: _ClockFollower | None = None
        self._server: InProcessServer | None = None

    @property
    def parts(self) -> Parts:
        if self._parts is None:
            raise RuntimeError("the demo is not set up")
        return self._parts

    @property
    def url(self) -> str:
        return self.parts.server.url

    @property
    def first_day(self) -> date:
        return self.parts.source.start

    @property
    def last_day(self) -> date:
        return self.parts.source.day(self.options.days - 1)

    # Set-up ---------------------------------------------------------------------------------

    def setup(self) -> None:
        started = time.perf_counter()
        options = self.options
        directory = options.directory
        directory.mkdir(parents=True, exist_ok=True)
        for name in DEMO_FILES:
            (directory / name).unlink(missing_ok=True)
        self._server = server = InProcessServer(options.host, options.port)
        first = options.first_day(SystemClock().now())
        clock = SimulatedClock(datetime.combine(first, datetime.min.time(), UTC))
        warehouse = Warehouse.create(directory / WAREHOUSE_FILE)
        settings = Settings.model_validate(self.configuration(warehouse, server))
        (directory / "observer.yaml").write_text(
            yaml.safe_dump(self.configuration(warehouse, server, masked=True), sort_keys=False)
        )
        runtime = Runtime.build(settings, clock=clock)
        runtime.store.upgrade()
        from api.app import create_app

        app = create_app(runtime)
        assert runtime.graph is not None
        lineage = GraphLineage(runtime.graph)
        incidents = build_incident_service(runtime, lineage=lineage, runs=StoreRunHistory())
        app.state.incidents = incidents
        terminal = TerminalNotifier(directory / "alerts.txt", self.presenter.stream)
        notifiers = {**build_notifiers(settings), "console": terminal}
        outbox = Outbox(runtime.store, clock, settings.alerts.outbox, notifiers)
        alerts = AlertService(outbox, incidents, poll_interval=1.0)
        incidents.after_commit.append(lambda _changes: alerts.wake())
        ingest = next(service for service in runtime.services if isinstance(service, IngestService))
        server.start(app)
        reporter = LineageReporter(server.url)
        source = ShopSource(first, options.days, seed=options.seed)
        trouble = Trouble.in_last_days(options.days)
        self._parts = Parts(
            clock=clock,
            source=source,
            trouble=trouble,
            warehouse=warehouse,
            settings=settings,
            runtime=runtime,
            server=server,
            ingest=ingest,
            incidents=incidents,
            alerts=alerts,
            terminal=terminal,
            reporter=reporter,
            runner=PipelineRunner(warehouse, source, trouble, reporter, clock),
            observation=Observation(
                settings, runtime.store, clock, incidents, alerts, graph=runtime.graph, lineage=lineage
            ),
        )
        self.timings.setup_s = time.perf_counter() - started

    def configuration(
        self, warehouse: Warehouse, server: InProcessServer, *, masked: bool = False
    ) -> dict[str, Any]:
        """The settings the demo runs with (also written to ``observer.yaml`` beside its data)."""
        directory = self.options.directory.resolve()
        return {
            "store": {"url": f"sqlite:///{(directory / 'observer.db').as_posix()}"},
            "api": {"host": self.options.host, "port": server.port, "public_url": server.url},
            "warehouses": [
                {
                    "name": "shop",
                    "url": warehouse.url,
                    "namespace": NAMESPACE,
                    "interval": "1d",
                }
            ],
            "alerts": self.options.slack.section(masked=masked),
            "log_level": "warning",
        }

    def introduce(self) -> None:
        parts = self.parts
        directory = self.options.directory
        alerts = self.options.slack.describe() or f"this terminal and {directory / 'alerts.txt'}"
        facts = [
            ("warehouse", f"{directory / WAREHOUSE_FILE} (DuckDB: {describe_pipeline()})"),
            ("store", f"{directory / 'observer.db'} (SQLite)"),
            ("server", f"{parts.server.url} (in this process, on the simulated clock)"),
            ("lineage", "OpenLineage events from every run, sent with the official Python client"),
            ("alerts", alerts),
        ]
        self.presenter.setup(facts, self.timings.setup_s)

    # The simulation -------------------------------------------------------------------------

    def simulate(self) -> None:
        started = time.perf_counter()
        self.presenter.simulation(self.first_day, self.last_day, self.options.days)
        for index in range(self.options.days):
            self.days.append(self.run_day(index))
        self.timings.simulation_s = time.perf_counter() - started

    def run_day(self, index: int) -> DayReport:
        parts = self.parts
        day = parts.source.day(index)
        midnight = datetime.combine(day, datetime.min.time(), UTC)
        runs = parts.runner.run_day(index, midnight)
        parts.reporter.flush()
        self.wait_for_projection()
        parts.clock.set(midnight + COLLECT_AT)
        collected = parts.observation.collect(parts.settings.warehouses[0])
        if not collected.ok:
            raise RuntimeError(f"collecting the demo warehouse failed: {collected.error}")
        parts.clock.set(midnight + CHECK_AT)
        checks = parts.observation.check()
        report = DayReport(index, day, runs, checks, parts.trouble.days().get(index))
        self.presenter.day(report.view(self.options.days))
        parts.terminal.release()
        return report

    def wait_for_projection(self, timeout: float = 60.0) -> None:
        """Until every acknowledged event is projected, in the graph, and its SQL analysed: the checks
        read the projection, the incidents the graph."""
        deadline = time.monotonic() + timeout
        parts = self.parts
        while parts.ingest.progress.lag() > 0 or not _graph_caught_up(parts.runtime):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the projection did not catch up within {timeout:.0f}s")
            time.sleep(0.01)

    # The outcome ----------------------------------------------------------------------------

    def incidents(self) -> list[Incident]:
        """Every incident found, oldest first, with its checks."""
        with self.parts.runtime.store.engine.connect() as connection:
            found, _total = list_incidents(connection, limit=500)
            return [
                incident
                for incident in (get_incident(connection, item.id) for item in reversed(found))
                if incident is not None and incident.merged_into is None
            ]

    def impacted(self, incident_id: int) -> list[dict[str, Any]]:
        with self.parts.runtime.store.engine.connect() as connection:
            return impacted_nodes(connection, incident_id)

    def conclude(self) -> None:
        views = [incident_view(incident, self.impacted(incident.id)) for incident in self.incidents()]
        self.presenter.incidents(views)
        self.presenter.timing(self.timings.setup_s, self.timings.simulation_s)

    # Serving --------------------------------------------------------------------------------

    def serve(self) -> None:
        """Deliver alerts in the background and follow real time until the server stops."""
        parts = self.parts
        self.presenter.serving(*serving_directions(parts.server.url, self.incidents(), self.options))
        parts.terminal.hold = False
        parts.alerts.start()
        self._follower = _ClockFollower(parts.clock)
        self._follower.start()
        parts.server.wait()

    def close(self) -> None:
        if self._follower is not None:
            self._follower.stop()
        if self._parts is not None:
            self._parts.alerts.stop()
            self._parts.reporter.close()
        if self._server is not None:
            self._server.stop()
        if self._parts is not None:
            self._parts.runtime.store.dispose()


class _ClockFollower:
    """After the simulation the simulated clock moves with real time (never backwards)."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="observer-demo-clock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        system = SystemClock()
        while not self._stop.is_set():
            self.clock.set(max(self.clock.now(), system.now()))
            self._stop.wait(1.0)


def _graph_caught_up(runtime: Runtime) -> bool:
    with runtime.store.engine.connect() as connection:
        graphed = read_cursor(connection, GRAPH_CURSOR) >= read_cursor(connection, PROJECTION_CURSOR)
    return graphed and not pending_sql(runtime.store, runtime.clock, limit=1)


def describe_pipeline() -> str:
    return f"raw → staging → marts, {len(all_tables())} tables built by {len(LOADERS)} loaders and {len(MODELS)} SQL models"


def incident_view(incident: Incident, impacted: list[dict[str, Any]]) -> IncidentView:
    """An incident for the summary: its cause, checks, the datasets it reaches and, for a broken
    column, the columns that take their values from it."""
    cause = incident.cause["text"] if incident.cause else f"{incident.origin.name} (no upstream cause found)"
    checks = [
        f"{check.check} on {check.dataset.name}{'.' + check.column if check.column else ''}"
        + (" (cleared)" if check.cleared_at else "")
        for check in incident.checks
    ]
    impact = [short_node(node["node_id"]) for node in impacted if node["kind"] == "dataset"]
    if incident.root_column:
        impact += [
            f"column {short_node(node['node_id'])}"
            for node in impacted
            if node["kind"] == "column" and node["direct"]
        ]
    return IncidentView(incident.id, incident.state, incident.title, cause, checks, impact)


def short_node(node_id: str) -> str:
    """``dataset:duckdb://shop.duckdb:shop.marts.x`` → ``shop.marts.x`` (a column keeps its field)."""
    rest = node_id.split(":", 1)[1]
    if rest.startswith(NAMESPACE + ":"):
        rest = rest[len(NAMESPACE) + 1 :]
    return rest.replace(":", ".")


def serving_directions(
    url: str, incidents: list[Incident], options: DemoOptions
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """The UI pages, ``curl`` examples and notes printed once the demo serves."""
    mart = table_ref("marts.daily_revenue")
    ui = [
        ("overview", f"{url}/"),
        ("incidents", f"{url}/incidents"),
        ("lineage of a mart", f"{url}/lineage?{urlencode({'node': mart.node_id})}"),
        ("API documentation", f"{url}/docs"),
    ]
    ui += [(f"incident #{incident.id}", f"{url}/incidents/{incident.id}") for incident in incidents]
    examples = [
        Example("open incidents", "/api/v1/incidents?state=open"),
        Example(
            "the lineage around a mart", f"/api/v1/lineage?{urlencode({'nodeId': mart.node_id, 'depth': 3})}"
        ),
        Example(
            "where a mart's revenue column comes from",
            f"/api/v1/column-lineage?{urlencode({'nodeId': mart.field_node_id('revenue')})}",
        ),
        Example(
            "a dataset, Marquez style", f"/api/v1/namespaces/{quote(NAMESPACE, safe='')}/datasets/{mart.name}"
        ),
    ]
    if incidents:
        examples.insert(1, Example("one incident with its impact", f"/api/v1/incidents/{incidents[-1].id}"))
    notes = [
        f"Data, configuration and alerts are in {options.directory}; another run of `observer demo` starts afresh.",
    ]
    return ui, curl_examples(url, examples), notes


def latest_checked_day(now: datetime) -> date:
    """The latest day whose 09:00 UTC checks are in the past at ``now``."""
    today = now.astimezone(UTC).date()
    checked = datetime.combine(today, datetime.min.time(), UTC) + CHECK_AT
    return today if now >= checked else today - timedelta(days=1)
