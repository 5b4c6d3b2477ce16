"""Routes pick channels by namespace, dataset, tag and severity; quiet hours hold messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from observer.alerts.routing import Destination, QuietHoursPolicy, Router
from observer.catalog.identity import DatasetRef
from observer.config.settings import AlertSettings, QuietHours

PROD = "postgres://prod-db:5432"
ORDERS = DatasetRef(PROD, "analytics.finance.orders")
SESSIONS = DatasetRef(PROD, "analytics.web.sessions")
DEV = DatasetRef("postgres://dev-db:5432", "analytics.finance.orders")


def settings(**values: object) -> AlertSettings:
    base: dict[str, object] = {
        "slack": {"bot_token": "xoxb-1", "default_channel": "C0DEFAULT"},
        "slack_webhooks": [{"name": "finance-hook", "url": "https://hooks.slack.com/services/T/B/X"}],
        "webhooks": [{"name": "pager", "url": "https://pager.example.com/hook"}],
    }
    base.update(values)
    return AlertSettings.model_validate(base)


def test_without_routes_every_notifier_gets_everything() -> None:
    router = Router(settings(console=True))
    assert router.route(ORDERS, [], "warning") == [
        Destination("slack", "C0DEFAULT"),
        Destination("finance-hook"),
        Destination("pager"),
        Destination("console"),
    ]


def test_the_first_matching_route_wins_unless_it_continues() -> None:
    router = Router(
        settings(
            routes=[
                {"namespace": "postgres://prod-*", "tags": ["pii"], "channel": "C0PRIVACY", "continue": True},
                {
                    "namespace": "postgres://prod-*",
                    "dataset": "analytics.finance.*",
                    "channel": "C0FINANCE",
                    "notify": ["finance-hook"],
                },
                {"namespace": "postgres://prod-*", "min_severity": "critical", "notify": ["pager"]},
                {"channel": "C0CATCHALL"},
            ]
        )
    )
    assert router.route(ORDERS, ["pii"], "error") == [
        Destination("slack", "C0PRIVACY"),
        Destination("slack", "C0FINANCE"),
        Destination("finance-hook"),
    ]
    assert router.route(SESSIONS, [], "critical") == [Destination("pager")]
    assert router.route(SESSIONS, [], "error") == [Destination("slack", "C0CATCHALL")]
    assert router.route(DEV, [], "warning") == [Destination("slack", "C0CATCHALL")]


def test_with_routes_an_unmatched_incident_goes_nowhere() -> None:
    router = Router(settings(routes=[{"dataset": "analytics.finance.*", "channel": "C0FINANCE"}]))
    assert router.route(SESSIONS, [], "critical") == []


def test_route_names_must_exist() -> None:
    with pytest.raises(ValueError, match="unknown notifiers: nope"):
        settings(routes=[{"notify": ["nope"]}])
    with pytest.raises(ValueError, match=r"needs alerts\.slack\.bot_token"):
        AlertSettings.model_validate({"routes": [{"channel": "C1"}]})


def test_destination_keys_round_trip() -> None:
    for destination in (Destination("slack", "C0ABC"), Destination("console"), Destination("pager")):
        assert Destination.parse(destination.key) == destination


BERLIN_NIGHT = QuietHours(start="22:00", end="07:00", timezone="Europe/Berlin", bypass_severity="critical")


@pytest.mark.parametrize(
    ("now", "severity", "release"),
    [
        (
            datetime(2026, 5, 4, 21, 30, tzinfo=UTC),
            "error",
            datetime(2026, 5, 5, 5, 0, tzinfo=UTC),
        ),  # 23:30 CEST
        (
            datetime(2026, 5, 4, 2, 0, tzinfo=UTC),
            "warning",
            datetime(2026, 5, 4, 5, 0, tzinfo=UTC),
        ),  # 04:00 CEST
        (datetime(2026, 5, 4, 12, 0, tzinfo=UTC), "error", None),  # daytime
        (datetime(2026, 5, 4, 21, 30, tzinfo=UTC), "critical", None),  # severe enough to wake people
        (datetime(2026, 1, 10, 22, 30, tzinfo=UTC), "error", datetime(2026, 1, 11, 6, 0, tzinfo=UTC)),  # CET
    ],
)
def test_quiet_hours_hold_messages_until_they_end(
    now: datetime, severity: str, release: datetime | None
) -> None:
    assert QuietHoursPolicy(BERLIN_NIGHT).release_at(now, severity) == release


def test_a_daytime_quiet_window() -> None:
    lunch = QuietHoursPolicy(QuietHours(start="12:00", end="13:00"))
    assert lunch.release_at(datetime(2026, 5, 4, 12, 30, tzinfo=UTC), "error") == datetime(
        2026, 5, 4, 13, 0, tzinfo=UTC
    )
    assert lunch.release_at(datetime(2026, 5, 4, 13, 0, tzinfo=UTC), "error") is None
    assert QuietHoursPolicy(None).release_at(datetime(2026, 5, 4, 12, 30, tzinfo=UTC), "info") is None


def test_unknown_time_zones_and_bad_times_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        QuietHours(start="22:00", end="07:00", timezone="Mars/Olympus")
    with pytest.raises(ValueError):
        QuietHours(start="25:00", end="07:00")
