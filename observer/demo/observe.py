"""Observer's side of a simulated day: collect the warehouse, run the checks, turn their findings into
incidents, deliver the alerts those incidents planned.

Everything here is the product's own machinery (collectors, ``observer.checks``, the detectors, the
incident service, the alert outbox) on the demo's clock; the demo only decides when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from collectors.warehouse.collect import CollectionReport, collect_warehouse
from observer.alerts.outbox import DeliveryReport
from observer.alerts.service import AlertService
from observer.checks.results import CheckResult, Status
from observer.checks.service import CheckPasses
from observer.checks.store import AVAILABLE
from observer.clock import Clock
from observer.config.settings import Settings, WarehouseSettings
from observer.graph.model import GraphWriter
from observer.incidents.lineage import LineageView
from observer.incidents.service import IncidentService, ProcessReport
from observer.store import Store


@dataclass
class CheckSummary:
    """One day's checks: results by status, and what the incident service made of the problems."""

    at: datetime
    results: list[CheckResult]
    incidents: ProcessReport
    delivered: DeliveryReport
    problems: list[CheckResult] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return sum(1 for result in self.results if result.status != Status.UNKNOWN)


class Observation:
    """Collector, checks, incidents and alerts over one store, on one clock."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        incidents: IncidentService,
        alerts: AlertService,
        *,
        graph: GraphWriter | None = None,
        lineage: LineageView | None = None,
        kinds: Sequence[str] = AVAILABLE,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.incidents = incidents
        self.alerts = alerts
        self.graph = graph
        self.passes = CheckPasses(store, settings.checks, incidents, lineage=lineage, kinds=kinds)

    def collect(self, warehouse: WarehouseSettings) -> CollectionReport:
        return collect_warehouse(warehouse, store=self.store, clock=self.clock, graph=self.graph)

    def check(self) -> CheckSummary:
        now = self.clock.now()
        results, processed = self.passes.run(now)
        delivered = self.alerts.run_once()
        problems = [result for result in results if result.status == Status.PROBLEM]
        return CheckSummary(now, results, processed, delivered, problems)
