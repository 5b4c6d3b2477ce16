"""Delivery through the persisted outbox: threads and edits in Slack, retries, Slack's 429
``Retry-After``, no duplicate after a restart, and never a token in the logs."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from observer.alerts.console import ConsoleNotifier
from observer.alerts.outbox import Outbox
from observer.alerts.slack_bot import SlackBotNotifier
from observer.alerts.tables import alert_outbox
from observer.catalog.identity import DatasetRef
from observer.incidents.findings import CheckPass
from observer.store import Store
from tests.alerts.helpers import NS, T0, Alerting, alerting, finding, settings
from tests.incidents.memory_lineage import MemoryLineage
from tests.slack_stub import BOT_TOKEN, SlackStub

RAW = DatasetRef(NS, "raw.orders")
DAILY = DatasetRef(NS, "marts.orders_daily")


def graph() -> MemoryLineage:
    lineage = MemoryLineage()
    lineage.job("build_daily", [RAW], [DAILY])
    return lineage


def rows(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        return [
            dict(row)
            for row in connection.execute(select(alert_outbox).order_by(alert_outbox.c.id)).mappings()
        ]


def test_root_message_then_thread_replies_then_edits(store: Store, slack_stub: SlackStub) -> None:
    setup = alerting(store, settings(slack_stub), graph())
    setup.incidents.process([finding("raw.orders")])
    assert setup.deliver().sent == 1
    [root] = slack_stub.top_level("C0ALERTS")
    assert root.text and root.text.startswith("🟠 Error · Volume drop on raw.orders")
    assert root.metadata == {
        "event_type": "observer_alert",
        "event_payload": {"key": "1:post:1:slack:C0ALERTS"},
    }

    setup.incidents.process([finding("marts.orders_daily", "freshness", T0 + timedelta(minutes=20))])
    report = setup.deliver()
    assert (report.sent, report.superseded) == (2, 0)
    [reply] = slack_stub.replies(root.ts)
    assert "1 more check failing downstream" in (reply.text or "")
    assert len(root.edits) == 1, "the root message now lists the new check too"

    setup.clock.advance(timedelta(hours=1))
    setup.incidents.process(
        [],
        [CheckPass(RAW, "volume", setup.clock.now()), CheckPass(DAILY, "freshness", setup.clock.now())],
    )
    setup.deliver()
    assert len(slack_stub.top_level()) == 1, "nothing but the root message at the top level"
    assert (root.text or "").startswith("✅ Resolved · Volume drop on raw.orders")
    assert "every check passes again" in (slack_stub.replies(root.ts)[-1].text or "")
    assert {row["status"] for row in rows(store)} == {"done"}


def test_slack_429_retry_after_is_honoured(store: Store, slack_stub: SlackStub) -> None:
    setup = alerting(store, settings(slack_stub))
    setup.incidents.process([finding("raw.orders")])
    slack_stub.rate_limit("chat.postMessage", retry_after=30)

    first = setup.deliver()
    assert (first.sent, first.retried) == (0, 1)
    [row] = rows(store)
    assert row["not_before"] == T0 + timedelta(seconds=30)
    assert row["last_error"] == "slack rate limited"

    setup.clock.advance(timedelta(seconds=29))
    calls = len(slack_stub.requests)
    assert setup.deliver().handled == 0
    assert len(slack_stub.requests) == calls, "no request before Retry-After has passed"

    setup.clock.advance(timedelta(seconds=1))
    assert setup.deliver().sent == 1
    assert len(slack_stub.top_level()) == 1


def test_transient_errors_back_off_and_permanent_ones_give_up(store: Store, slack_stub: SlackStub) -> None:
    setup = alerting(store, settings(slack_stub, outbox={"backoff": "10s", "max_attempts": 3}))
    setup.incidents.process([finding("raw.orders")])
    slack_stub.fail("chat.postMessage", "internal_error", status=500, times=3)

    delays = []
    for _ in range(3):
        report = setup.deliver()
        [row] = rows(store)
        if report.retried:
            delays.append((row["not_before"] - setup.clock.now()).total_seconds())
            setup.clock.set(row["not_before"])
    assert row["status"] == "failed" and row["attempts"] == 3
    assert 8 <= delays[0] <= 12 and 16 <= delays[1] <= 24, "exponential backoff with jitter"

    setup.incidents.process([finding("other.table")])
    slack_stub.fail("chat.postMessage", "channel_not_found")
    report = setup.deliver()
    assert report.failed == 1 and report.retried == 0
    assert rows(store)[-1]["last_error"] == "slack answered 200 channel_not_found"


class CrashAfterSlackAnswers(Outbox):
    """Dies between Slack accepting a message and the commit that records it."""

    def _finish(self, row_id: int, status: str, **kwargs: Any) -> None:
        if status == "done":
            raise KeyboardInterrupt("killed")
        super()._finish(row_id, status, **kwargs)


def test_a_restart_after_a_crash_mid_delivery_does_not_post_twice(
    store: Store, slack_stub: SlackStub
) -> None:
    setup = alerting(store, settings(slack_stub), graph())
    setup.incidents.process([finding("raw.orders")])
    crashing = CrashAfterSlackAnswers(
        store, setup.clock, setup.runtime.settings.alerts.outbox, setup.outbox.notifiers
    )
    with pytest.raises(KeyboardInterrupt):
        crashing.deliver_due()
    assert len(slack_stub.top_level()) == 1
    assert rows(store)[0]["status"] == "sending"

    setup.restart()
    assert setup.deliver().handled == 0, "in flight until its lease expires"
    setup.clock.advance(timedelta(minutes=3))
    report = setup.deliver()
    assert (report.recovered, report.sent) == (1, 0)
    assert len(slack_stub.calls("chat.postMessage")) == 1
    [root] = slack_stub.top_level()
    assert rows(store)[0]["external_ts"] == root.ts

    setup.incidents.process([finding("marts.orders_daily", "freshness", T0 + timedelta(minutes=5))])
    setup.deliver()
    assert len(slack_stub.replies(root.ts)) == 1, "follow-ups find the recovered root message"


def test_an_in_doubt_reply_that_never_reached_slack_is_sent(store: Store, slack_stub: SlackStub) -> None:
    setup = alerting(store, settings(slack_stub))
    setup.incidents.process([finding("raw.orders")])
    setup.deliver()
    with store.engine.begin() as connection:
        connection.execute(
            alert_outbox.update().values(status="sending", lease_until=T0 - timedelta(seconds=1), attempts=1)
        )
        connection.execute(alert_outbox.update().where(alert_outbox.c.id == 1).values(status="done"))
    setup.incidents.acknowledge(1, "alice")
    with store.engine.begin() as connection:
        connection.execute(
            alert_outbox.update()
            .where(alert_outbox.c.kind == "reply")
            .values(status="sending", lease_until=T0 - timedelta(seconds=1), attempts=1)
        )
    report = setup.deliver()
    assert report.sent == 2 and report.recovered == 0
    assert [m.text for m in slack_stub.replies(slack_stub.top_level()[0].ts)] == ["Acknowledged by alice"]


def test_of_several_pending_edits_only_the_newest_is_sent(store: Store, slack_stub: SlackStub) -> None:
    setup = alerting(store, settings(slack_stub))
    setup.incidents.process([finding("raw.orders")])
    setup.deliver()
    setup.incidents.acknowledge(1, "alice")
    setup.incidents.mute(1, T0 + timedelta(hours=24), "alice")
    report = setup.deliver()
    assert report.superseded == 1
    assert len(slack_stub.calls("chat.update")) == 1
    [root] = slack_stub.top_level()
    assert "(muted)" in (root.text or "")


def test_quiet_hours_hold_messages_until_morning(store: Store, slack_stub: SlackStub) -> None:
    quiet = {"start": "05:00", "end": "08:00", "timezone": "UTC", "bypass_severity": "critical"}
    setup = alerting(store, settings(slack_stub, quiet_hours=quiet))
    setup.incidents.process([finding("raw.orders"), finding("web.sessions", severity="critical")])
    assert setup.deliver().sent == 1
    assert "Critical" in (slack_stub.top_level()[0].text or "")
    setup.clock.set(T0.replace(hour=8))
    assert setup.deliver().sent == 1


def test_no_token_or_webhook_url_is_ever_logged(
    store: Store, slack_stub: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    hook = slack_stub.hook_url("T000/B000/secret-part-of-the-url")
    config = settings(slack_stub, slack_webhooks=[{"name": "team", "url": hook}])
    caplog.set_level(logging.DEBUG)
    setup = alerting(store, config)
    setup.incidents.process([finding("raw.orders")])
    slack_stub.rate_limit("chat.postMessage")
    slack_stub.fail("hook:T000/B000/secret-part-of-the-url", "invalid_payload", status=400)
    setup.deliver()
    setup.clock.advance(timedelta(minutes=5))
    setup.deliver()
    assert slack_stub.calls("chat.postMessage")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert BOT_TOKEN not in logged
    assert "secret-part-of-the-url" not in logged
    assert "slack rate limited" in logged
    assert repr(SlackBotNotifier(BOT_TOKEN)) == "SlackBotNotifier()"


def test_slack_incoming_webhooks_get_follow_ups_as_messages_and_429s_are_retried(
    store: Store, slack_stub: SlackStub
) -> None:
    config = settings(
        slack_stub, slack={}, slack_webhooks=[{"name": "team", "url": slack_stub.hook_url("team")}]
    )
    setup = alerting(store, config)
    setup.incidents.process([finding("raw.orders")])
    slack_stub.rate_limit("hook:team", retry_after=7)
    assert setup.deliver().retried == 1
    assert rows(store)[0]["not_before"] == T0 + timedelta(seconds=7)
    setup.clock.advance(timedelta(seconds=7))
    assert setup.deliver().sent == 1
    setup.incidents.resolve(1, "alice")
    setup.deliver()
    posted = slack_stub.calls("hook:team")
    assert len(posted) == 2
    assert posted[0].body["text"].startswith("🟠 Error · Volume drop on raw.orders")
    assert posted[0].body["blocks"][0]["type"] == "header"
    assert "Resolved" in posted[1].body["text"]
    assert [row["kind"] for row in rows(store)] == ["post", "reply"], "no edits for webhooks"


def test_generic_webhooks_get_json_documents_with_an_idempotency_key(
    store: Store, slack_stub: SlackStub
) -> None:
    config = settings(
        slack_stub,
        slack={},
        webhooks=[
            {
                "name": "pager",
                "url": slack_stub.webhook_url("pager"),
                "headers": {"Authorization": "Bearer s3cret"},
            }
        ],
    )
    setup = alerting(store, config)
    setup.incidents.process([finding("raw.orders")])
    setup.deliver()
    setup.incidents.acknowledge(1, "bob")
    setup.deliver()
    first, second = slack_stub.calls("webhook:pager")
    assert first.headers["idempotency-key"] == "1:post:1:pager"
    assert first.headers["authorization"] == "Bearer s3cret"
    assert first.body["event"] == "incident"
    assert first.body["incident"]["root"]["name"] == "raw.orders"
    assert first.body["finding"]["observed"] == 120.0
    assert second.body["event"] == "acknowledged" and second.body["actor"] == "bob"
    assert second.headers["x-observer-event"] == "acknowledged"


def test_generic_webhook_server_errors_are_retried(store: Store, slack_stub: SlackStub) -> None:
    config = settings(
        slack_stub, slack={}, webhooks=[{"name": "pager", "url": slack_stub.webhook_url("pager")}]
    )
    setup = alerting(store, config)
    setup.incidents.process([finding("raw.orders")])
    slack_stub.fail("webhook:pager", status=503)
    assert setup.deliver().retried == 1
    setup.clock.advance(timedelta(minutes=1))
    assert setup.deliver().sent == 1


def test_the_console_notifier_prints_plain_text(store: Store, slack_stub: SlackStub) -> None:
    setup = alerting(store, settings(slack_stub, slack={}, console=True))
    stream = io.StringIO()
    setup.outbox.notifiers["console"] = ConsoleNotifier(stream)
    setup.incidents.process([finding("raw.orders")])
    setup.deliver()
    assert stream.getvalue().startswith("[ERROR] incident #1 open: Volume drop on raw.orders\n")


def test_the_bot_token_is_checked_with_auth_test(slack_stub: SlackStub) -> None:
    assert SlackBotNotifier(BOT_TOKEN, base_url=slack_stub.api_url).check()["team"] == "Observer Test"


def test_an_unconfigured_notifier_fails_its_rows(store: Store, slack_stub: SlackStub) -> None:
    setup: Alerting = alerting(store, settings(slack_stub))
    setup.incidents.process([finding("raw.orders")])
    del setup.outbox.notifiers["slack"]
    assert setup.deliver().failed == 1
    assert rows(store)[0]["last_error"] == "notifier 'slack' is not configured"
