"""The server exports the same check metrics as the sidecar: its check loop publishes each pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import REGISTRY, generate_latest

from observer.catalog.identity import DatasetRef
from observer.catalog.records import DatasetUpdate
from observer.catalog.service import record_updates
from observer.checks.service import CheckPasses
from observer.clock import SimulatedClock
from observer.config.settings import AlertSettings, ChecksSettings, OwnerSettings
from observer.incidents.owners import OwnerDirectory
from observer.incidents.service import IncidentService
from observer.store import Store
from tests.sidecar.conftest import sample
from tests.sidecar.test_commands import observer

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
NS = "postgres://server-checks:5432"
STALE, FRESH = DatasetRef(NS, "shop.public.stale"), DatasetRef(NS, "shop.public.fresh")


def metric(name: str, **labels: str) -> float | None:
    return sample(generate_latest(REGISTRY).decode(), name, **labels)


def findings() -> float:
    return sum(
        metric("observer_detector_findings_total", kind="freshness", severity=severity) or 0.0
        for severity in ("info", "warning", "error", "critical")
    )


def test_the_servers_check_passes_publish_status_freshness_and_durations(store: Store) -> None:
    with store.engine.begin() as connection:
        record_updates(
            connection,
            [
                DatasetUpdate(STALE, NOW - timedelta(hours=3), "test"),
                DatasetUpdate(FRESH, NOW - timedelta(minutes=5), "test"),
            ],
            NOW,
        )
    incidents = IncidentService(store, SimulatedClock(NOW), AlertSettings(), OwnerDirectory(OwnerSettings()))
    rules = [{"namespace": NS, "freshness": {"max_age": "1h"}}]
    passes = CheckPasses(
        store, ChecksSettings.model_validate({"rules": rules}), incidents, kinds=["freshness"]
    )
    timed = metric("observer_check_duration_seconds_count", check="freshness") or 0.0
    found = findings()
    passes.run(NOW)
    assert (
        metric("observer_check_status", check="freshness", namespace=STALE.namespace, dataset=STALE.name) == 1
    )
    assert (
        metric("observer_check_status", check="freshness", namespace=FRESH.namespace, dataset=FRESH.name) == 0
    )
    assert metric("observer_freshness_age_seconds", namespace=STALE.namespace, dataset=STALE.name) == 3 * 3600
    assert (
        metric(
            "observer_freshness_expected_by_timestamp_seconds", namespace=FRESH.namespace, dataset=FRESH.name
        )
        == (NOW + timedelta(minutes=55)).timestamp()
    )
    assert metric("observer_checks_failing", check="freshness") == 1
    assert metric("observer_check_duration_seconds_count", check="freshness") == timed + 1
    assert findings() == found + 1

    only_fresh = [{"namespace": NS, "dataset": "*.fresh", "freshness": {"max_age": "1h"}}]
    passes.settings = ChecksSettings.model_validate({"rules": only_fresh})
    passes.run(NOW + timedelta(minutes=1))
    assert (
        metric("observer_check_status", check="freshness", namespace=STALE.namespace, dataset=STALE.name)
        is None
    )  # no longer judged
    assert metric("observer_freshness_age_seconds", namespace=STALE.namespace, dataset=STALE.name) is None
    assert metric("observer_checks_failing", check="freshness") == 0


def test_check_once_with_a_bad_setting_exits_2_naming_it(tmp_path: Path) -> None:
    result = observer(
        "check", "freshness", "--once", home=tmp_path, env={"OBSERVER_CHECKS__RULES": "[{bogus: 1}]"}
    )
    assert result.returncode == 2 and "checks.rules[0].bogus" in result.stderr
