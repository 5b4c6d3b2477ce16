"""The demo's jobs report themselves the way real ones do: OpenLineage run events sent with the
official ``openlineage-python`` client over HTTP to the Observer server.

The client's asynchronous HTTP transport sends several events at a time (it holds a run's
COMPLETE or FAIL until its START is accepted), so the simulated jobs do not wait for each request;
:meth:`LineageReporter.flush` waits until the server has acknowledged every event.

A run sends START (inputs, the job's ``sql`` facet) and then COMPLETE (outputs with their ``schema``
and ``outputStatistics`` facets) or FAIL (with an ``errorMessage`` run facet). A data test is a run
of its own whose input carries a ``dataQualityAssertions`` facet, as dbt-ol reports tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    JobFacet,
    RunFacet,
    data_quality_assertions_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
    sql_job,
)
from openlineage.client.transport.async_http import AsyncHttpConfig, AsyncHttpTransport

from observer import __version__
from observer.catalog.identity import DatasetRef, JobRef

PRODUCER = f"urn:lineage-observer:demo:{__version__}"


class DeliveryFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Written:
    """An output of a finished run: its dataset, columns ``(name, type)`` and rows written."""

    dataset: DatasetRef
    columns: Sequence[tuple[str, str]]
    rows: int


@dataclass(frozen=True)
class JobInfo:
    """What a job says about itself in every event."""

    job: JobRef
    integration: str
    job_type: str
    sql: str | None = None
    description: str | None = None


@dataclass
class EventCounter:
    sent: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.sent += 1
        self.by_type[kind] = self.by_type.get(kind, 0) + 1


class LineageReporter:
    """Sends the events of the demo's runs to ``url`` (``POST /api/v1/lineage``)."""

    def __init__(self, url: str, *, timeout: float = 30.0, concurrency: int = 8) -> None:
        self.transport = AsyncHttpTransport(
            AsyncHttpConfig(url=url, timeout=timeout, max_concurrent_requests=concurrency)
        )
        self.client = OpenLineageClient(transport=self.transport)
        self.counter = EventCounter()

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until the server has accepted every event sent so far."""
        if not self.transport.wait_for_completion(timeout):
            raise DeliveryFailed(f"the server did not accept the demo's events within {timeout:.0f}s")
        failed = self.transport.get_stats().get("failed", 0)
        if failed:
            raise DeliveryFailed(f"the server refused {failed} of the demo's events; see the log above")

    def start(self, info: JobInfo, run_id: str, at: datetime, inputs: Sequence[DatasetRef]) -> None:
        self._emit(RunState.START, info, run_id, at, inputs=[_input(ref) for ref in inputs])

    def complete(
        self,
        info: JobInfo,
        run_id: str,
        at: datetime,
        inputs: Sequence[DatasetRef],
        outputs: Sequence[Written],
    ) -> None:
        self._emit(
            RunState.COMPLETE,
            info,
            run_id,
            at,
            inputs=[_input(ref) for ref in inputs],
            outputs=[_output(written) for written in outputs],
        )

    def fail(
        self,
        info: JobInfo,
        run_id: str,
        at: datetime,
        inputs: Sequence[DatasetRef],
        outputs: Sequence[DatasetRef],
        message: str,
    ) -> None:
        facets: dict[str, RunFacet] = {
            "errorMessage": error_message_run.ErrorMessageRunFacet(
                message=message, programmingLanguage="python"
            )
        }
        self._emit(
            RunState.FAIL,
            info,
            run_id,
            at,
            inputs=[_input(ref) for ref in inputs],
            outputs=[OutputDataset(namespace=ref.namespace, name=ref.name) for ref in outputs],
            run_facets=facets,
        )

    def test_result(
        self, info: JobInfo, at: datetime, dataset: DatasetRef, name: str, success: bool, description: str
    ) -> None:
        """A finished test run on ``dataset`` (START and COMPLETE)."""
        run_id = new_run_id()
        assertion = data_quality_assertions_dataset.Assertion(
            assertion=name, success=success, severity="error", description=description
        )
        tested = InputDataset(
            namespace=dataset.namespace,
            name=dataset.name,
            inputFacets={
                "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                    assertions=[assertion]
                )
            },
        )
        self._emit(RunState.START, info, run_id, at, inputs=[_input(dataset)])
        self._emit(RunState.COMPLETE, info, run_id, at, inputs=[tested])

    def close(self) -> None:
        self.transport.close(timeout=10.0)

    def _emit(
        self,
        state: RunState,
        info: JobInfo,
        run_id: str,
        at: datetime,
        *,
        inputs: list[InputDataset] | None = None,
        outputs: list[OutputDataset] | None = None,
        run_facets: dict[str, RunFacet] | None = None,
    ) -> None:
        job_facets: dict[str, JobFacet] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration=info.integration, jobType=info.job_type
            )
        }
        if info.sql is not None:
            job_facets["sql"] = sql_job.SQLJobFacet(query=info.sql, dialect="duckdb")
        if info.description:
            job_facets["documentation"] = documentation_job.DocumentationJobFacet(
                description=info.description
            )
        event = RunEvent(
            eventType=state,
            eventTime=at.isoformat(),
            run=Run(runId=run_id, facets=run_facets or {}),
            job=Job(namespace=info.job.namespace, name=info.job.name, facets=job_facets),
            producer=PRODUCER,
            inputs=inputs or [],
            outputs=outputs or [],
        )
        self.client.emit(event)
        self.counter.add(state.value)


def new_run_id() -> str:
    return str(uuid.uuid4())


def _input(ref: DatasetRef) -> InputDataset:
    return InputDataset(namespace=ref.namespace, name=ref.name)


def _output(written: Written) -> OutputDataset:
    fields = [schema_dataset.SchemaDatasetFacetFields(name=name, type=kind) for name, kind in written.columns]
    return OutputDataset(
        namespace=written.dataset.namespace,
        name=written.dataset.name,
        facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)},
        outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=written.rows
            )
        },
    )
