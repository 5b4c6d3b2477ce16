"""One simulated day of the shop's pipeline on DuckDB, every run reported as OpenLineage events.

The loaders run at 01:00 and land the shop database's tables in ``raw`` (a loader that fails has
still committed what it copied, and the build does not wait for it: the two are scheduled apart,
as an extract-load tool and a dbt job usually are). The build runs at 02:00: each model in
dependency order, then its tests; a model whose input failed to build or failed a test is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import numpy as np

from observer.catalog.identity import JobRef
from observer.clock import SimulatedClock
from observer.demo.events import JobInfo, LineageReporter, Written, new_run_id
from observer.demo.pipeline import (
    BUILD_AT,
    JOB_NAMESPACE,
    LOAD_AT,
    LOADERS,
    MARTS_DDL,
    MODELS,
    Loader,
    Model,
    dataset,
)
from observer.demo.trouble import Trouble
from observer.demo.warehouse import ShopSource, Warehouse, columns_of


@dataclass
class DayRuns:
    """What happened to the pipeline on one day."""

    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    tests_failed: list[str] = field(default_factory=list)
    orders_loaded: int = 0

    @property
    def runs(self) -> int:
        return len(self.completed) + len(self.failed)


class PipelineRunner:
    def __init__(
        self,
        warehouse: Warehouse,
        source: ShopSource,
        trouble: Trouble,
        reporter: LineageReporter,
        clock: SimulatedClock,
    ) -> None:
        self.warehouse = warehouse
        self.source = source
        self.trouble = trouble
        self.reporter = reporter
        self.clock = clock

    def run_day(self, index: int, midnight: datetime) -> DayRuns:
        rng = np.random.default_rng([self.source.seed, 3, index])
        runs = DayRuns()
        with self.warehouse.session() as connection:
            for statement in MARTS_DDL:
                connection.execute(statement)
            at = midnight + LOAD_AT + _minutes(rng, 0, 6)
            for loader in LOADERS:
                at = self._load(connection, loader, index, at, rng, runs)
            at = midnight + BUILD_AT + _minutes(rng, 0, 4)
            broken: set[str] = set()
            for model in MODELS:
                if broken.intersection(model.inputs):
                    runs.skipped.append(model.target)
                    broken.add(model.target)
                    continue
                at = self._build(connection, model, at, rng, runs, broken)
        return runs

    def _load(
        self,
        connection: duckdb.DuckDBPyConnection,
        loader: Loader,
        index: int,
        start: datetime,
        rng: np.random.Generator,
        runs: DayRuns,
    ) -> datetime:
        info = JobInfo(
            loader.job,
            integration="AIRBYTE",
            job_type="SYNC",
            description=f"Copies {loader.source.name} from the shop database into {loader.target}.",
        )
        run_id = new_run_id()
        self.clock.set(start)
        self.reporter.start(info, run_id, start, [loader.source])
        outcome = self.trouble.load(loader, index, self.source.extract(loader.source_table, index))
        connection.register("extracted", outcome.rows)
        try:
            connection.execute(f"CREATE OR REPLACE TABLE {loader.target} AS SELECT * FROM extracted")
        finally:
            connection.unregister("extracted")
        end = start + timedelta(seconds=int(rng.integers(40, 150)))
        self.clock.set(end)
        if loader.source_table == "orders":
            runs.orders_loaded = len(outcome.rows)
        if outcome.error is not None:
            self.reporter.fail(info, run_id, end, [loader.source], [dataset(loader.target)], outcome.error)
            runs.failed[loader.target] = outcome.error
        else:
            written = Written(
                dataset(loader.target), columns_of(connection, loader.target), len(outcome.rows)
            )
            self.reporter.complete(info, run_id, end, [loader.source], [written])
            runs.completed.append(loader.target)
        return end + timedelta(seconds=int(rng.integers(5, 30)))

    def _build(
        self,
        connection: duckdb.DuckDBPyConnection,
        model: Model,
        start: datetime,
        rng: np.random.Generator,
        runs: DayRuns,
        broken: set[str],
    ) -> datetime:
        info = JobInfo(
            model.job, integration="DBT", job_type="MODEL", sql=model.sql, description=model.description
        )
        inputs = [dataset(table) for table in model.inputs]
        run_id = new_run_id()
        self.clock.set(start)
        self.reporter.start(info, run_id, start, inputs)
        end = start + timedelta(seconds=int(rng.integers(3, 40)))
        try:
            result = connection.execute(model.sql).fetchone()
        except duckdb.Error as error:
            self.clock.set(end)
            message = f"{type(error).__name__}: {error}"
            self.reporter.fail(info, run_id, end, inputs, [dataset(model.target)], message)
            runs.failed[model.target] = message.splitlines()[0]
            broken.add(model.target)
            return end
        self.clock.set(end)
        rows = int(result[0]) if result else 0  # DuckDB answers CREATE … AS and INSERT with the rows written
        written = Written(dataset(model.target), columns_of(connection, model.target), rows)
        self.reporter.complete(info, run_id, end, inputs, [written])
        runs.completed.append(model.target)
        for test in model.tests:
            end += timedelta(seconds=2)
            self.clock.set(end)
            passed = not connection.execute(test.sql).fetchall()
            test_job = JobInfo(
                JobRef(JOB_NAMESPACE, f"dbt.test.{test.name}"), "DBT", "TEST", description=test.description
            )
            self.reporter.test_result(
                test_job, end, dataset(model.target), test.name, passed, test.description
            )
            if not passed:
                runs.tests_failed.append(test.name)
                broken.add(model.target)
        return end


def _minutes(rng: np.random.Generator, low: int, high: int) -> timedelta:
    return timedelta(seconds=int(rng.integers(low * 60, high * 60 + 1)))
