"""Findings become one incident per root cause: deduplicated, grouped along lineage, resolved when
the checks pass again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select

from observer.catalog import service as catalog
from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.records import SchemaField, SchemaObservation
from observer.clock import SimulatedClock
from observer.config.settings import AlertSettings, OwnerSettings
from observer.incidents.findings import CheckPass, FindingRecord
from observer.incidents.owners import OwnerDirectory
from observer.incidents.queries import get_incident, list_incidents
from observer.incidents.service import IncidentError, IncidentNotFound, IncidentService
from observer.incidents.suspects import RunProblem
from observer.incidents.tables import incident_events
from observer.store import Store
from tests.incidents.memory_lineage import MemoryLineage

T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
NS = "postgres://warehouse:5432"
RAW = DatasetRef(NS, "raw.public.orders")
STAGED = DatasetRef(NS, "analytics.staging.orders")
DAILY = DatasetRef(NS, "analytics.marts.orders_daily")
REVENUE = DatasetRef(NS, "analytics.marts.revenue")
CUSTOMERS = DatasetRef(NS, "analytics.marts.customers")
UNRELATED = DatasetRef(NS, "analytics.marts.web_sessions")


def lineage() -> MemoryLineage:
    graph = MemoryLineage()
    graph.job("stage_orders", [RAW], [STAGED])
    graph.job("build_daily", [STAGED], [DAILY])
    graph.job("build_revenue", [STAGED], [REVENUE])
    graph.job("build_customers", [STAGED], [CUSTOMERS])
    graph.column(RAW, "amount", STAGED, "amount")
    graph.column(STAGED, "amount", REVENUE, "revenue")
    graph.column(STAGED, "amount", DAILY, "amount", direct=False)
    return graph


class FakeRuns:
    def __init__(self, problems: Sequence[RunProblem] = ()) -> None:
        self.problems = list(problems)

    def problems_since(self, connection: Connection, since: datetime) -> list[RunProblem]:
        return [problem for problem in self.problems if problem.at >= since]


def service(
    store: Store,
    clock: SimulatedClock,
    *,
    runs: FakeRuns | None = None,
    owners: OwnerSettings | None = None,
    **settings: object,
) -> IncidentService:
    return IncidentService(
        store,
        clock,
        AlertSettings.model_validate(settings),
        OwnerDirectory(owners or OwnerSettings()),
        lineage=lineage(),
        runs=runs,
    )


def finding(dataset: DatasetRef, check: str = "volume", at: datetime = T0, **extra: object) -> FindingRecord:
    values: dict[str, object] = {
        "severity": "error",
        "explanation": f"{dataset.name} had 120 rows, expected 9,800-10,400",
        "observed": 120.0,
        "lower": 9800.0,
        "upper": 10400.0,
        "direction": "drop",
    }
    values.update(extra)
    return FindingRecord(dataset=dataset, check=check, detected_at=at, **values)  # type: ignore[arg-type]


def incidents_of(store: Store) -> list[int]:
    with store.engine.connect() as connection:
        found, _total = list_incidents(connection)
    return sorted(incident.id for incident in found)


def detail(store: Store, incident_id: int):  # type: ignore[no-untyped-def]
    with store.engine.connect() as connection:
        incident = get_incident(connection, incident_id)
    assert incident is not None
    return incident


def test_the_same_check_failing_again_updates_the_open_incident(store: Store) -> None:
    clock = SimulatedClock(T0)
    incidents = service(store, clock)
    first = incidents.process([finding(DAILY)])
    second = incidents.process([finding(DAILY, at=T0 + timedelta(hours=1), severity="critical")])

    assert first.opened and not second.opened
    assert second.deduplicated == 1
    incident = detail(store, first.opened[0])
    assert incident.severity == "critical"
    assert [(check.check, check.finding_count) for check in incident.checks] == [("volume", 2)]
    assert [change.kind for change in second.changes] == ["escalated"]


def test_findings_downstream_of_an_open_incident_join_it(store: Store) -> None:
    clock = SimulatedClock(T0)
    incidents = service(store, clock)
    opened = incidents.process([finding(STAGED)]).opened[0]
    later = incidents.process(
        [
            finding(DAILY, "freshness", T0 + timedelta(minutes=30)),
            finding(REVENUE, at=T0 + timedelta(minutes=40)),
        ]
    )

    assert later.opened == [] and later.joined == 2
    assert incidents_of(store) == [opened]
    incident = detail(store, opened)
    assert incident.root == STAGED
    assert {(check.dataset, check.hops) for check in incident.checks} == {
        (STAGED, 0),
        (DAILY, 1),
        (REVENUE, 1),
    }
    assert [change.kind for change in later.changes] == ["joined"]
    assert len(later.changes[0].checks) == 2


def test_a_finding_after_the_group_window_opens_a_new_incident(store: Store) -> None:
    clock = SimulatedClock(T0)
    incidents = service(store, clock, group_window="2h")
    incidents.process([finding(STAGED)])
    clock.advance(timedelta(hours=5))
    later = incidents.process([finding(DAILY, "freshness", T0 + timedelta(hours=5))])
    assert len(later.opened) == 1
    assert len(incidents_of(store)) == 2


def test_unrelated_datasets_get_separate_incidents(store: Store) -> None:
    incidents = service(store, SimulatedClock(T0))
    report = incidents.process([finding(STAGED), finding(UNRELATED)])
    assert len(report.opened) == 2


def test_an_upstream_finding_arriving_later_becomes_the_root(store: Store) -> None:
    incidents = service(store, SimulatedClock(T0))
    opened = incidents.process([finding(DAILY, "freshness")]).opened[0]
    report = incidents.process([finding(RAW, at=T0 + timedelta(minutes=5))])

    assert report.opened == []
    assert [change.kind for change in report.changes] == ["rerooted"]
    incident = detail(store, opened)
    assert (incident.root, incident.root_check) == (RAW, "volume")
    assert incident.title == "Volume drop on raw.public.orders"
    assert {(check.dataset, check.hops) for check in incident.checks} == {(RAW, 0), (DAILY, 2)}
    assert incident.impact["datasets"] == 4


def test_siblings_opened_separately_merge_when_their_common_upstream_breaks(store: Store) -> None:
    incidents = service(store, SimulatedClock(T0))
    first = incidents.process([finding(DAILY, "freshness")]).opened[0]
    second = incidents.process([finding(REVENUE, at=T0 + timedelta(minutes=1))]).opened[0]
    report = incidents.process([finding(STAGED, at=T0 + timedelta(minutes=2))])

    kinds = {(change.incident_id, change.kind) for change in report.changes}
    assert kinds == {(first, "rerooted"), (second, "merged")}
    merged = detail(store, second)
    assert (merged.state, merged.resolution, merged.merged_into) == ("resolved", "merged", first)
    survivor = detail(store, first)
    assert survivor.root == STAGED
    assert {check.dataset for check in survivor.checks} == {DAILY, REVENUE, STAGED}
    assert survivor.state == "open"


def test_in_one_batch_the_most_upstream_finding_is_the_root_whatever_the_order(store: Store) -> None:
    incidents = service(store, SimulatedClock(T0))
    report = incidents.process([finding(DAILY, "freshness"), finding(REVENUE), finding(RAW)])
    assert len(report.opened) == 1
    assert [change.kind for change in report.changes] == ["opened"]
    incident = detail(store, report.opened[0])
    assert incident.root == RAW
    assert len(incident.checks) == 3


def test_a_failed_upstream_run_is_the_cause_and_its_outputs_anchor_the_incident(store: Store) -> None:
    load = JobRef("airflow", "load_raw_orders")
    runs = FakeRuns([RunProblem(load, "run-1", "FAILED", T0 - timedelta(minutes=50), RAW, "disk full")])
    incidents = service(store, SimulatedClock(T0), runs=runs)

    opened = incidents.process([finding(DAILY, "freshness")]).opened[0]
    joined = incidents.process([finding(CUSTOMERS, "volume", T0 + timedelta(minutes=10))])

    assert joined.opened == [] and joined.joined == 1
    incident = detail(store, opened)
    assert incident.cause is not None
    assert incident.cause["kind"] == "failed_run"
    assert incident.cause["job"] == {"namespace": "airflow", "name": "load_raw_orders"}
    assert incident.cause["hops"] == 2
    assert "disk full" in incident.cause["text"]
    assert incident.origin == RAW
    assert incident.root == DAILY
    assert incident.impact["datasets"] == 4


def test_a_run_that_failed_before_the_suspect_window_is_not_blamed(store: Store) -> None:
    load = JobRef("airflow", "load_raw_orders")
    runs = FakeRuns([RunProblem(load, "run-1", "FAILED", T0 - timedelta(days=3), RAW)])
    incidents = service(store, SimulatedClock(T0), runs=runs, suspect_window="24h")
    incident = detail(store, incidents.process([finding(DAILY, "freshness")]).opened[0])
    assert incident.cause is None
    assert incident.origin == DAILY


def test_a_recent_upstream_schema_change_is_a_suspect(store: Store) -> None:
    with store.engine.begin() as connection:
        catalog.record_schemas(
            connection,
            [
                SchemaObservation(
                    RAW,
                    (SchemaField("id", "int"), SchemaField("amount", "numeric")),
                    T0 - timedelta(days=9),
                    "warehouse",
                ),
                SchemaObservation(RAW, (SchemaField("id", "bigint"),), T0 - timedelta(hours=2), "warehouse"),
            ],
            T0,
        )
    incidents = service(store, SimulatedClock(T0))
    incident = detail(store, incidents.process([finding(REVENUE, "volume")]).opened[0])
    assert incident.cause is not None
    assert incident.cause["kind"] == "schema_change"
    assert "removed amount" in incident.cause["text"] and "id int → bigint" in incident.cause["text"]
    assert incident.origin == REVENUE  # a schema change is named, the incident stays where it was seen


def test_an_incident_resolves_when_every_check_passes_again(store: Store) -> None:
    clock = SimulatedClock(T0)
    incidents = service(store, clock)
    opened = incidents.process([finding(STAGED), finding(DAILY, "freshness")]).opened[0]

    partly = incidents.process([], [CheckPass(STAGED, "volume", T0 + timedelta(hours=1))])
    assert partly.resolved == [] and detail(store, opened).state == "open"

    stale = incidents.process([], [CheckPass(DAILY, "freshness", T0 - timedelta(hours=1))])
    assert stale.resolved == [], "a pass older than the finding does not clear it"

    done = incidents.process([], [CheckPass(DAILY, "freshness", T0 + timedelta(hours=2))])
    assert done.resolved == [opened]
    incident = detail(store, opened)
    assert (incident.state, incident.resolution) == ("resolved", "checks_passed")

    again = incidents.process([finding(STAGED, at=T0 + timedelta(hours=3))])
    assert len(again.opened) == 1 and again.opened != [opened]


def test_acknowledge_mute_and_resolve_by_hand(store: Store) -> None:
    clock = SimulatedClock(T0)
    incidents = service(store, clock)
    opened = incidents.process([finding(STAGED)]).opened[0]

    assert [c.kind for c in incidents.acknowledge(opened, "alice")] == ["acknowledged"]
    assert incidents.acknowledge(opened, "bob") == []
    assert detail(store, opened).acknowledged_by == "alice"

    incidents.mute(opened, T0 + timedelta(hours=24), "alice")
    assert detail(store, opened).state == "muted"
    repeat = incidents.process([finding(STAGED, at=T0 + timedelta(hours=1))])
    assert repeat.deduplicated == 1 and repeat.opened == [], "a muted incident still deduplicates"

    clock.advance(timedelta(hours=25))
    assert [c.kind for c in incidents.unmute_expired()] == ["unmuted"]
    assert detail(store, opened).state == "acknowledged"

    incidents.resolve(opened, "alice")
    incident = detail(store, opened)
    assert (incident.state, incident.resolution, incident.resolved_by) == ("resolved", "manual", "alice")
    with pytest.raises(IncidentError):
        incidents.acknowledge(opened, "bob")
    with pytest.raises(IncidentError):
        incidents.mute(opened, T0 + timedelta(days=9), "bob")
    with pytest.raises(IncidentNotFound):
        incidents.resolve(opened + 100, "bob")
    with store.engine.connect() as connection:
        kinds = [
            row.kind
            for row in connection.execute(select(incident_events.c.kind).order_by(incident_events.c.id))
        ]
    assert kinds == ["opened", "acknowledged", "muted", "unmuted", "resolved"]


def test_muting_needs_a_time_in_the_future(store: Store) -> None:
    incidents = service(store, SimulatedClock(T0))
    opened = incidents.process([finding(STAGED)]).opened[0]
    with pytest.raises(IncidentError, match="not in the future"):
        incidents.mute(opened, T0 - timedelta(minutes=1))


def test_impact_lists_owners_from_the_catalog_and_the_configured_rules(store: Store) -> None:
    with store.engine.begin() as connection:
        ids = catalog.ensure_datasets(connection, [REVENUE], T0)
        catalog.update_dataset(
            connection, ids[REVENUE], T0, owners=[{"name": "team:finance", "type": "TEAM"}]
        )
    owners = OwnerSettings.model_validate(
        {
            "rules": [{"dataset": "analytics.marts.*", "owners": ["team:analytics"]}],
            "slack": {"team:finance": "S0FIN"},
        }
    )
    incidents = service(store, SimulatedClock(T0), owners=owners)
    incident = detail(store, incidents.process([finding(STAGED, column="amount")]).opened[0])

    assert incident.impact["owners"] == ["team:finance", "team:analytics"]
    top = {asset["name"]: asset for asset in incident.impact["top"]}
    assert top["analytics.marts.revenue"]["owners"] == ["team:finance", "team:analytics"]
    assert top["analytics.marts.revenue"]["direct"] is True
    assert top["analytics.marts.orders_daily"]["direct"] is False
    assert incident.impact["columns"] == 2
    assert OwnerDirectory(owners).slack_mention("team:finance") == "<!subteam^S0FIN>"
    assert OwnerDirectory(owners).slack_mention("team:analytics") is None


def test_listing_filters_by_state_and_dataset(store: Store) -> None:
    incidents = service(store, SimulatedClock(T0))
    report = incidents.process([finding(STAGED), finding(DAILY, "freshness"), finding(UNRELATED)])
    first, second = sorted(report.opened)
    incidents.resolve(second)
    with store.engine.connect() as connection:
        open_ones, total = list_incidents(connection, states=["open"])
        by_dataset, _ = list_incidents(connection, dataset=DAILY)
    assert [incident.id for incident in open_ones] == [first] and total == 1
    assert [incident.id for incident in by_dataset] == [first]
    assert open_ones[0].impact["checks"] == 2


def test_an_anomaly_further_upstream_than_the_impact_depth_is_still_named_as_the_cause(store: Store) -> None:
    incidents = service(store, SimulatedClock(T0), impact_depth=1, suspect_depth=5)
    report = incidents.process([finding(RAW), finding(DAILY, "freshness", T0 + timedelta(minutes=1))])
    assert len(report.opened) == 2
    daily = detail(store, max(report.opened))
    assert daily.root == DAILY
    assert daily.cause is not None
    assert (daily.cause["kind"], daily.cause["name"], daily.cause["hops"]) == ("anomaly", RAW.name, 2)
