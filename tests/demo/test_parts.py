"""The demo's pieces on their own: the shop's data, the trouble it injects, how alerts read in a
terminal, where alerts go, and which days it simulates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from observer.demo.pipeline import LOADERS, MODELS, all_tables
from observer.demo.present import mrkdwn_to_text, render_blocks
from observer.demo.simulate import DemoOptions, SlackTargets, latest_checked_day
from observer.demo.trouble import Trouble
from observer.demo.warehouse import ShopSource

START = date(2026, 1, 5)  # a Monday


def test_the_shop_is_the_same_for_the_same_seed() -> None:
    first, second = ShopSource(START, 30), ShopSource(START, 30)
    assert first.orders(12).equals(second.orders(12))
    assert first.order_items(12).equals(second.order_items(12))
    assert not first.orders(12).equals(ShopSource(START, 30, seed=8).orders(12))


def test_orders_follow_a_weekly_rhythm_with_busy_fridays_and_quiet_sundays() -> None:
    source = ShopSource(START, 60)
    by_weekday: dict[int, list[int]] = {}
    for index in range(1, 57):
        placed = source.day(index).toordinal() - 1
        by_weekday.setdefault(date.fromordinal(placed).weekday(), []).append(source.order_count(index))
    average = {day: sum(counts) / len(counts) for day, counts in by_weekday.items()}
    assert max(average, key=lambda day: average[day]) == 4  # Friday
    assert min(average, key=lambda day: average[day]) == 6  # Sunday


def test_every_order_belongs_to_a_known_customer_and_has_lines() -> None:
    source = ShopSource(START, 30)
    orders, items, customers = source.orders(20), source.order_items(20), source.customers(20)
    assert set(orders["customer_id"]) <= set(customers["customer_id"])
    assert set(items["order_id"]) == set(orders["order_id"])
    assert len(customers) > len(source.customers(1))


def test_the_partial_load_lands_a_fifth_and_fails() -> None:
    source = ShopSource(START, 30)
    trouble = Trouble.in_last_days(30)
    orders = next(loader for loader in LOADERS if loader.source_table == "orders")
    normal = trouble.load(orders, 28, source.extract("orders", 28))
    assert normal.error is None and len(normal.rows) == len(source.orders(28))
    partial = trouble.load(orders, 29, source.extract("orders", 29))
    assert len(partial.rows) == int(len(source.orders(29)) * 0.2)
    assert partial.error is not None and "server closed the connection" in partial.error


def test_the_dropped_column_stays_dropped() -> None:
    source = ShopSource(START, 30)
    trouble = Trouble.in_last_days(30)
    products = next(loader for loader in LOADERS if loader.source_table == "products")
    assert "category" in trouble.load(products, 27, source.products()).rows.columns
    for day in (28, 29):
        assert "category" not in trouble.load(products, day, source.products()).rows.columns


def test_the_pipeline_builds_each_model_after_its_inputs() -> None:
    built = {loader.target for loader in LOADERS}
    for model in MODELS:
        assert set(model.inputs) <= built, model.target
        built.add(model.target)
    assert len(all_tables()) == 12


def test_block_kit_reads_plainly_in_a_terminal() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "🟠 Volume drop on shop.raw.orders"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Observed* 142 &lt; 309 · <!here>"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Where*\n`shop.raw.orders`\nduckdb://shop.duckdb"},
                {"type": "mrkdwn", "text": "*Since*\n<!date^1774000000^{date_short}|2026-03-20 09:00 UTC>"},
            ],
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "<http://x/incidents/2|Open incident #2>"}],
        },
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}}],
        },
    ]
    assert render_blocks(blocks) == [
        "🟠 Volume drop on shop.raw.orders",
        "═" * 34,
        "Observed 142 < 309 · @here",
        "",
        "Where  `shop.raw.orders` · duckdb://shop.duckdb",
        "Since  2026-03-20 09:00 UTC",
        "",
        "Open incident #2 (http://x/incidents/2)",
        "",
        "[ Acknowledge ]",
    ]


def test_mrkdwn_keeps_snake_case_names_intact() -> None:
    assert (
        mrkdwn_to_text("_late_ on stg_order_items and *fct_orders*")
        == "late on stg_order_items and fct_orders"
    )


def test_slack_is_used_when_the_environment_names_it() -> None:
    assert not SlackTargets.from_env({}).configured
    assert not SlackTargets.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).configured  # no channel
    bot = SlackTargets.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CHANNEL": "#data"})
    assert bot.section() == {"console": False, "slack": {"bot_token": "xoxb-1", "default_channel": "#data"}}
    hook = SlackTargets.from_env({"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"})
    assert hook.section(masked=True) == {
        "console": False,
        "slack_webhooks": [{"name": "slack-webhook", "url": "${SLACK_WEBHOOK_URL}"}],
    }
    assert SlackTargets().section() == {"console": True}


@pytest.mark.parametrize(
    ("now", "last"),
    [
        (datetime(2026, 3, 20, 9, 0, tzinfo=UTC), date(2026, 3, 20)),
        (datetime(2026, 3, 20, 8, 59, tzinfo=UTC), date(2026, 3, 19)),
    ],
)
def test_the_simulation_ends_with_the_latest_morning_checks(now: datetime, last: date) -> None:
    assert latest_checked_day(now) == last
    assert DemoOptions(days=60).first_day(now).toordinal() == last.toordinal() - 59
