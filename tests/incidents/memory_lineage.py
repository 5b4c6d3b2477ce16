"""A small in-memory lineage graph for incident tests (the real backends have their own tests)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from observer.catalog.identity import DatasetRef, JobRef
from observer.incidents.lineage import ImpactedNode


class MemoryLineage:
    def __init__(self) -> None:
        self.jobs: dict[JobRef, tuple[list[DatasetRef], list[DatasetRef]]] = {}
        self.columns: list[tuple[DatasetRef, str, DatasetRef, str, bool]] = []

    def job(self, job: JobRef | str, inputs: Sequence[DatasetRef], outputs: Sequence[DatasetRef]) -> JobRef:
        ref = job if isinstance(job, JobRef) else JobRef("airflow", job)
        self.jobs[ref] = (list(inputs), list(outputs))
        return ref

    def column(
        self, source: DatasetRef, field: str, target: DatasetRef, target_field: str, direct: bool = True
    ) -> None:
        self.columns.append((source, field, target, target_field, direct))

    def downstream(self, ref: DatasetRef, depth: int, columns: Sequence[str] = ()) -> list[ImpactedNode]:
        hops: dict[DatasetRef, int] = {ref: 0}
        job_hops: dict[JobRef, int] = {}
        queue = deque([ref])
        while queue:
            current = queue.popleft()
            if hops[current] >= depth:
                continue
            for job, (inputs, outputs) in self.jobs.items():
                if current not in inputs:
                    continue
                job_hops.setdefault(job, hops[current] + 1)
                for output in outputs:
                    if output not in hops:
                        hops[output] = hops[current] + 1
                        queue.append(output)
        direct_columns = self._columns_from(ref, columns, hops)
        nodes = [
            ImpactedNode(
                target.node_id,
                "dataset",
                distance,
                any(dataset == target for dataset, _field, _direct in direct_columns if _direct),
                dataset=target,
            )
            for target, distance in hops.items()
            if target != ref
        ]
        nodes += [
            ImpactedNode(job.node_id, "job", distance, False, job=job) for job, distance in job_hops.items()
        ]
        nodes += [
            ImpactedNode(
                dataset.field_node_id(field), "column", hops[dataset], direct, dataset=dataset, column=field
            )
            for dataset, field, direct in direct_columns
        ]
        return nodes

    def _columns_from(
        self, ref: DatasetRef, columns: Sequence[str], hops: dict[DatasetRef, int]
    ) -> list[tuple[DatasetRef, str, bool]]:
        start = [(ref, field, True) for field in columns] or [
            (source, field, True) for source, field, *_ in self.columns if source == ref
        ]
        seen: dict[tuple[DatasetRef, str], bool] = {}
        queue = deque(start)
        while queue:
            dataset, field, direct = queue.popleft()
            for source, source_field, target, target_field, edge_direct in self.columns:
                if (source, source_field) != (dataset, field) or target not in hops:
                    continue
                key = (target, target_field)
                reach = direct and edge_direct
                if key not in seen or (reach and not seen[key]):
                    seen[key] = reach
                    queue.append((target, target_field, reach))
        return [(dataset, field, direct) for (dataset, field), direct in seen.items()]

    def upstream_datasets(self, ref: DatasetRef, depth: int) -> dict[DatasetRef, int]:
        hops: dict[DatasetRef, int] = {ref: 0}
        queue = deque([ref])
        while queue:
            current = queue.popleft()
            if hops[current] >= depth:
                continue
            for inputs, outputs in self.jobs.values():
                if current in outputs:
                    for source in inputs:
                        if source not in hops:
                            hops[source] = hops[current] + 1
                            queue.append(source)
        del hops[ref]
        return hops
