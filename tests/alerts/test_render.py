"""The root message says what broke, where and since when, what it breaks and who owns that, and
the suspected cause; within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from observer.alerts.render import (
    ACK_ACTION,
    MUTE_ACTION,
    RenderContext,
    escape,
    render_followup,
    render_incident,
    render_plain,
)
from observer.catalog.identity import DatasetRef
from observer.incidents.findings import CheckKey
from observer.incidents.queries import CheckState, Incident

T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
NS = "postgres://warehouse:5432"
ROOT = DatasetRef(NS, "analytics.marts.orders_daily")
RAW = DatasetRef(NS, "raw.public.orders")


def incident(**changes: object) -> Incident:
    values: dict[str, object] = {
        "id": 12,
        "state": "open",
        "severity": "critical",
        "title": "Volume drop on analytics.marts.orders_daily",
        "root": ROOT,
        "root_check": "volume",
        "root_column": "",
        "origin": RAW,
        "cause": {
            "kind": "failed_run",
            "namespace": NS,
            "name": RAW.name,
            "hops": 2,
            "text": "run of load_raw_orders writing raw.public.orders failed at 2026-05-04 05:10 UTC",
        },
        "suspects": [{"kind": "schema_change", "text": "schema of raw.public.customers changed", "hops": 3}],
        "impact": {
            "datasets": 9,
            "direct_datasets": 4,
            "columns": 31,
            "jobs": 5,
            "owners": ["team:finance", "team:<growth>"],
            "origin_owners": ["team:ingest"],
            "top": [
                {
                    "namespace": NS,
                    "name": f"analytics.marts.t{i}",
                    "hops": 1 + i // 3,
                    "direct": i % 2 == 0,
                    "owners": ["team:finance"],
                }
                for i in range(5)
            ],
        },
        "first_seen_at": T0,
        "opened_at": T0,
        "last_activity_at": T0,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "muted_until": None,
        "muted_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "resolution": None,
        "merged_into": None,
        "checks": [
            CheckState(
                ROOT, "volume", "", 0, "critical", T0, T0, 1, None, "1,204 rows, expected 9,800-10,400"
            ),
            CheckState(
                DatasetRef(NS, "analytics.marts.t1"),
                "freshness",
                "",
                1,
                "error",
                T0,
                T0,
                1,
                None,
                "no update for 3h",
            ),
        ],
        "root_finding": {
            "explanation": "orders_daily got 1,204 rows, expected 9,800-10,400 <as usual on Mondays>",
            "observed": 1204.0,
            "lower": 9800.0,
            "upper": 10400.0,
            "score": 12.34,
        },
    }
    values.update(changes)
    return Incident(**values)  # type: ignore[arg-type]


CONTEXT = RenderContext(
    public_url="https://observer.example.com",
    mention=lambda owner: {"team:finance": "<!subteam^S0FIN>"}.get(owner),
    buttons=True,
    top=3,
)


def text_of(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_the_root_message_carries_what_where_since_impact_owners_and_cause() -> None:
    message = render_incident(incident(), CONTEXT)
    header = message.blocks[0]
    assert header["type"] == "header"
    assert header["text"]["text"] == "🔴 Critical · Volume drop on analytics.marts.orders_daily"
    body = text_of(message.blocks)
    assert "*Observed* 1,204 · *expected* 9,800\u201310,400 (score 12.34)" in body
    assert "&lt;as usual on Mondays&gt;" in body, "detector text is escaped"
    assert "`analytics.marts.orders_daily`" in body and NS in body
    assert "<!date^1777874400^" in body, "since when, in each reader's time zone"
    assert "9 datasets (4 using it directly), 31 columns, 5 jobs downstream of `raw.public.orders`" in body
    assert "owners <!subteam^S0FIN>, team:&lt;growth&gt;" in body
    impact = next(
        b["text"]["text"] for b in message.blocks if b.get("text", {}).get("text", "").startswith("*Impact:*")
    )
    assert impact.count("`analytics.marts.t") == 3 and impact.endswith("_…and 6 more_")
    assert "• `analytics.marts.t0` (1 hop, direct) · <!subteam^S0FIN>" in impact
    assert "*Suspected cause:* run of load_raw_orders writing raw.public.orders failed" in body
    assert "(2 hops upstream)" in body and "schema of raw.public.customers changed" in body
    assert "`raw.public.orders` is owned by team:ingest" in body, "who can fix the cause"
    assert "*Also failing (1):*" in body and "freshness on `analytics.marts.t1` (1 hop down)" in body
    assert "<https://observer.example.com/incidents/12|Open incident #12>" in body
    actions = message.blocks[-1]
    assert [element["action_id"] for element in actions["elements"]] == [ACK_ACTION, MUTE_ACTION]
    assert {element["value"] for element in actions["elements"]} == {"12"}
    assert message.text.startswith("🔴 Critical · Volume drop") and "Suspected cause" in message.text


def test_the_plain_text_and_json_forms_say_the_same() -> None:
    message = render_incident(incident(), CONTEXT)
    assert (
        message.plain.splitlines()[0]
        == "[CRITICAL] incident #12 open: Volume drop on analytics.marts.orders_daily"
    )
    assert "observed 1,204, expected 9,800\u201310,400" in message.plain
    assert "suspected cause: run of load_raw_orders" in message.plain
    assert message.data["event"] == "incident"
    assert message.data["incident"]["cause"]["kind"] == "failed_run"
    assert message.data["url"] == "https://observer.example.com/incidents/12"
    json.dumps(message.data)


def test_a_resolved_incident_says_so_and_has_no_buttons() -> None:
    message = render_incident(incident(state="resolved", resolution="checks_passed", resolved_at=T0), CONTEXT)
    assert message.blocks[0]["text"]["text"].startswith("✅ Resolved · ")
    assert "every check passes again" in text_of(message.blocks)
    assert all(block["type"] != "actions" for block in message.blocks)


def test_messages_stay_within_slack_limits() -> None:
    long_name = "x" * 400
    huge = incident(
        title="Volume drop on " + long_name,
        root_finding={"explanation": "y" * 10_000},
        checks=[
            CheckState(
                DatasetRef(NS, f"{long_name}{i}"), "volume", "", 1, "error", T0, T0, 1, None, "z" * 500
            )
            for i in range(200)
        ],
    )
    message = render_incident(huge, CONTEXT)
    assert len(message.blocks) <= 50
    assert len(message.blocks[0]["text"]["text"]) <= 150
    for block in message.blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    assert len(message.text) <= 3000


def test_follow_ups_name_what_changed() -> None:
    joined = render_followup(
        incident(), "joined", CONTEXT, checks=[CheckKey(DatasetRef(NS, "analytics.marts.t1"), "freshness")]
    )
    assert "1 more check failing downstream" in joined.text and "analytics.marts.t1" in joined.text
    acked = render_followup(incident(), "acknowledged", CONTEXT, actor="slack:U123")
    assert acked.text == "Acknowledged by <@U123>"
    assert acked.plain.endswith("acknowledged by slack:U123")
    rerooted = render_followup(incident(), "rerooted", CONTEXT, details={"previous_root": "freshness on t1"})
    assert "Root cause moved upstream" in rerooted.text and "was freshness on t1" in rerooted.text


def test_escape() -> None:
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_freshness_ages_read_as_durations() -> None:
    stale = incident(
        root_check="freshness",
        root_finding={"explanation": "orders_daily is late", "observed": 108_000.0, "expected": 90_720.0},
    )
    text = render_plain(stale, CONTEXT)
    assert "observed 1d 6h, expected 1d 1h" in text
    assert "108,000" not in text
