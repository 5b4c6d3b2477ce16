"""The server's check loop: every interval, judge the store's histories and hand the results to the
incident service, so Observer notices a stale, shrunken or reshaped table without anyone asking."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from observer.checks.incidents import to_incident_inputs
from observer.checks.metrics import CheckMetrics
from observer.checks.results import CheckResult
from observer.checks.store import AVAILABLE, run_checks
from observer.config.settings import ChecksSettings
from observer.incidents.lineage import LineageView, NoLineage
from observer.incidents.service import IncidentService, ProcessReport
from observer.runtime import Runtime
from observer.store import Store

log = logging.getLogger(__name__)


class CheckPasses:
    """Passes of the checks over the store, each handed to the incident service. The previous pass's
    time is kept so that each schema change is reported once (the first pass only sets it)."""

    def __init__(
        self,
        store: Store,
        settings: ChecksSettings,
        incidents: IncidentService,
        *,
        lineage: LineageView | None = None,
        kinds: Sequence[str] = AVAILABLE,
    ) -> None:
        self.store = store
        self.settings = settings
        self.incidents = incidents
        self.lineage = lineage or NoLineage()
        self.kinds = list(kinds)
        self.schema_since: datetime | None = None
        self.metrics = CheckMetrics()

    def run(self, now: datetime) -> tuple[list[CheckResult], ProcessReport]:
        since, self.schema_since = self.schema_since, now
        kinds = [kind for kind in self.kinds if kind != "schema" or since is not None]
        results = self.metrics.run(
            kinds,
            lambda kind: run_checks(
                self.store, self.settings, [kind], now, lineage=self.lineage, schema_since=since
            ),
            now,
        )
        findings, passes = to_incident_inputs(results)
        return results, self.incidents.process(findings, passes)


class CheckService:
    """The server's loop: a pass every ``interval``."""

    name = "checks"

    def __init__(
        self,
        runtime: Runtime,
        incidents: IncidentService,
        *,
        interval: timedelta,
        lineage: LineageView | None = None,
        kinds: Sequence[str] = AVAILABLE,
    ) -> None:
        self.clock = runtime.clock
        self.interval = interval
        self.passes = CheckPasses(
            runtime.store, runtime.settings.checks, incidents, lineage=lineage, kinds=kinds
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[CheckResult]:
        results, _ = self.passes.run(self.clock.now())
        return results

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="observer-checks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                self.run_once()
            except Exception:
                log.exception("check pass failed; trying again next interval")
