"""Schema changes: what was added, dropped, retyped or renamed, and whether it breaks consumers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from detectors.findings import Severity
from detectors.schema import ChangeKind, detect_schema, diff_schemas, is_narrowing, parse_type

OLD = {"id": "bigint", "email": "varchar(255)", "amount": "numeric(18,2)", "created_at": "timestamp"}
AT = datetime(2026, 3, 3, tzinfo=UTC)


def kinds(old, new, **kwargs):
    return {(c.kind, c.column): c for c in diff_schemas(old, new, **kwargs)}


def test_an_added_column_is_not_breaking():
    changes = kinds(OLD, {**OLD, "note": "text"})
    change = changes[(ChangeKind.ADDED, "note")]
    assert not change.breaking


def test_a_dropped_column_is_breaking_and_critical_when_used_downstream():
    new = {k: v for k, v in OLD.items() if k != "amount"}
    assert kinds(OLD, new)[(ChangeKind.REMOVED, "amount")].breaking
    findings = detect_schema(OLD, new, key="orders", at=AT, used_downstream={"amount"})
    assert findings[0].severity is Severity.CRITICAL
    assert findings[0].explanation == (
        "orders.amount (numeric(18,2)) was dropped: breaking and downstream columns read it directly."
    )
    unused = detect_schema(OLD, new, key="orders", at=AT)
    assert unused[0].severity is Severity.ERROR


@pytest.mark.parametrize(
    ("before", "after", "narrowing"),
    [
        ("bigint", "integer", True),
        ("integer", "bigint", False),
        ("varchar(255)", "varchar(50)", True),
        ("varchar(50)", "text", False),
        ("text", "varchar(100)", True),
        ("numeric(18,2)", "numeric(20,2)", False),
        ("numeric(18,4)", "numeric(18,2)", True),
        ("integer", "numeric(12,2)", False),
        ("double precision", "real", True),
        ("timestamp", "date", True),
        ("date", "timestamp with time zone", False),
        ("varchar(20)", "integer", True),
        ("boolean", "integer", False),
    ],
)
def test_type_changes_are_classified_as_narrowing_or_widening(before: str, after: str, narrowing: bool):
    assert is_narrowing(parse_type(before), parse_type(after)) is narrowing


def test_a_probable_rename_is_reported_once_as_breaking():
    new = {
        "id": "bigint",
        "email_address": "varchar(255)",
        "amount": "numeric(18,2)",
        "created_at": "timestamp",
    }
    changes = diff_schemas(OLD, new)
    assert [(c.kind, c.column, c.new_name) for c in changes] == [
        (ChangeKind.RENAMED, "email", "email_address")
    ]
    assert changes[0].breaking


def test_an_unrelated_drop_and_add_are_not_a_rename():
    new = {
        "id": "bigint",
        "amount": "numeric(18,2)",
        "created_at": "timestamp",
        "status": "varchar(255)",
        "x": "int",
    }
    found = kinds(OLD, new)
    assert (ChangeKind.REMOVED, "email") in found and (ChangeKind.ADDED, "status") in found


def test_column_names_compare_case_insensitively():
    assert diff_schemas(OLD, {k.upper(): v.upper() for k, v in OLD.items()}) == []


def test_breaking_changes_come_first_with_a_readable_sentence():
    new = {"id": "integer", "email": "varchar(255)", "amount": "numeric(20,2)", "created_at": "timestamp"}
    findings = detect_schema(OLD, new, key="orders", at=AT)
    assert [f.direction for f in findings] == ["breaking", "compatible"]
    assert findings[0].explanation.startswith(
        "orders.id changed type from bigint to integer, a narrowing change"
    )
    assert findings[1].severity is Severity.WARNING


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("int8", "BIGINT"),
        ("long", "bigint"),
        ("decimal(12,2)", "numeric(12, 2)"),
        ("string", "character varying"),
        ("timestamptz", "timestamp with time zone"),
        ("float8", "double precision"),
    ],
)
def test_the_same_type_spelled_another_way_is_no_change(before: str, after: str):
    assert diff_schemas({"x": before}, {"x": after}) == []


def test_a_time_zone_gained_or_lost_is_a_type_change():
    changes = diff_schemas({"at": "timestamp"}, {"at": "timestamptz"})
    assert [(change.kind, change.breaking) for change in changes] == [(ChangeKind.TYPE_CHANGED, False)]
