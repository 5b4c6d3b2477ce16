"""Schema: diff two consecutive versions of a table's columns and say what breaks.

Columns come as ``{name: type}`` in table order. Changes: added, removed, type changed (widening
or narrowing) and probable renames (a removed and an added column of the same type with similar
names or the same position). Removing, renaming or narrowing a column is breaking; more so when
lineage shows a downstream column reads it directly.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from enum import StrEnum

from detectors.findings import Finding, FindingKind, Severity

RENAME_SIMILARITY = 0.6


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    TYPE_CHANGED = "type_changed"
    RENAMED = "renamed"


@dataclass(frozen=True)
class ColumnType:
    """A column type reduced to a family and the sizes that decide what it can hold."""

    family: str  # integer, decimal, float, string, boolean, date, timestamp, time, binary, other
    size: int | None = None  # bits for numbers, characters for strings (None: unbounded or unknown)
    scale: int | None = None  # decimal digits after the point
    zoned: bool = False  # timestamps and times: with a time zone
    raw: str = field(default="", compare=False)


_INTEGER_BITS = {
    "tinyint": 8,
    "byteint": 8,
    "int1": 8,
    "smallint": 16,
    "int2": 16,
    "int": 32,
    "integer": 32,
    "int4": 32,
    "mediumint": 24,
    "bigint": 64,
    "int8": 64,
    "long": 64,
    "int64": 64,
    "hugeint": 128,
}
_FLOAT_BITS = {
    "real": 32,
    "float4": 32,
    "float": 64,
    "float8": 64,
    "double": 64,
    "double precision": 64,
    "float64": 64,
}
_STRINGS = {
    "varchar",
    "character varying",
    "char",
    "character",
    "nvarchar",
    "nchar",
    "bpchar",
    "string",
    "text",
}
_TIMESTAMPS = {"timestamp", "timestamptz", "datetime", "timestamp_ntz", "timestamp_tz", "timestamp_ltz"}
# What a family can become without losing values (besides growing within the family).
_WIDENS_TO = {
    "boolean": {"integer", "decimal", "float", "string"},
    "integer": {"decimal", "float", "string"},
    "decimal": {"float", "string"},
    "float": {"string"},
    "date": {"timestamp", "string"},
    "timestamp": {"string"},
    "time": {"string"},
}


def parse_type(text: str) -> ColumnType:
    raw = text.strip()
    lowered = re.sub(r"\s+", " ", raw.lower())
    zoned = " with time zone" in lowered or lowered in (
        "timestamptz",
        "timestamp_tz",
        "timestamp_ltz",
        "timetz",
    )
    lowered = re.sub(r" with(out)? time zone", "", lowered)
    match = re.match(r"^([a-z_][a-z0-9_ ]*?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?$", lowered)
    if not match:
        return ColumnType("other", raw=raw)
    name, first, second = match.group(1).strip(), match.group(2), match.group(3)
    if name in _INTEGER_BITS:
        return ColumnType("integer", _INTEGER_BITS[name], raw=raw)
    if name in ("numeric", "decimal", "number"):
        return ColumnType("decimal", int(first) if first else None, int(second) if second else 0, raw=raw)
    if name in _FLOAT_BITS:
        return ColumnType("float", _FLOAT_BITS[name], raw=raw)
    if name in _STRINGS:
        length = int(first) if first and name not in ("text", "string") else None
        return ColumnType("string", length, raw=raw)
    if name in ("bool", "boolean"):
        return ColumnType("boolean", raw=raw)
    if name == "date":
        return ColumnType("date", raw=raw)
    if name in _TIMESTAMPS:
        return ColumnType("timestamp", zoned=zoned, raw=raw)
    if name in ("time", "timetz"):
        return ColumnType("time", zoned=zoned, raw=raw)
    if name in ("bytea", "binary", "varbinary", "blob", "bytes"):
        return ColumnType("binary", int(first) if first else None, raw=raw)
    return ColumnType("other", raw=raw)


def same_type(first: str | None, second: str | None) -> bool:
    """The same type, however spelled (``int8``/``bigint``, ``decimal(12,2)``/``numeric(12,2)``)."""
    if first is None or second is None:
        return first == second
    if first.strip().lower() == second.strip().lower():
        return True
    parsed = parse_type(first)
    return parsed.family != "other" and parsed == parse_type(second)


def _fits(old: int | None, new: int | None) -> bool:
    """Does a size limit ``new`` hold everything ``old`` did (None = unbounded)?"""
    if new is None:
        return True
    return old is not None and new >= old


def is_narrowing(old: ColumnType, new: ColumnType) -> bool:
    """True when some value of the old type cannot be stored in the new one."""
    if old.family == new.family:
        if old.family == "decimal":
            old_int = None if old.size is None else old.size - (old.scale or 0)
            new_int = None if new.size is None else new.size - (new.scale or 0)
            return not (_fits(old_int, new_int) and (new.scale or 0) >= (old.scale or 0))
        if old.family == "other":
            return old.raw.lower() != new.raw.lower()
        return not _fits(old.size, new.size)
    if new.family in _WIDENS_TO.get(old.family, set()):
        if old.family == "integer" and new.family == "decimal":
            digits = {8: 3, 16: 5, 24: 8, 32: 10, 64: 19, 128: 39}.get(old.size or 64, 19)
            return new.size is not None and new.size - (new.scale or 0) < digits
        if new.family == "string":
            return new.size is not None and new.size < 40
        return False
    return True


@dataclass(frozen=True)
class ColumnChange:
    kind: ChangeKind
    column: str
    old_type: str | None = None
    new_type: str | None = None
    new_name: str | None = None
    breaking: bool = False
    used_downstream: bool = False
    reason: str = ""


def diff_schemas(
    old: Mapping[str, str], new: Mapping[str, str], *, used_downstream: Collection[str] = ()
) -> list[ColumnChange]:
    """What changed from ``old`` to ``new`` (both ``{column: type}`` in table order)."""
    used = {c.lower() for c in used_downstream}
    old_by_key = {name.lower(): (name, kind) for name, kind in old.items()}
    new_by_key = {name.lower(): (name, kind) for name, kind in new.items()}
    removed = [k for k in old_by_key if k not in new_by_key]
    added = [k for k in new_by_key if k not in old_by_key]
    changes: list[ColumnChange] = []
    for old_key, new_key in _renames(removed, added, old, new):
        name, kind = old_by_key[old_key]
        new_name = new_by_key[new_key][0]
        removed.remove(old_key)
        added.remove(new_key)
        changes.append(
            ColumnChange(
                ChangeKind.RENAMED,
                name,
                old_type=kind,
                new_type=new_by_key[new_key][1],
                new_name=new_name,
                breaking=True,
                used_downstream=old_key in used,
                reason=f"probably renamed to {new_name} (same type, similar name or same position)",
            )
        )
    for key in removed:
        name, kind = old_by_key[key]
        changes.append(
            ColumnChange(
                ChangeKind.REMOVED,
                name,
                old_type=kind,
                breaking=True,
                used_downstream=key in used,
                reason="dropped",
            )
        )
    for key in old_by_key.keys() & new_by_key.keys():
        name, before = old_by_key[key]
        after = new_by_key[key][1]
        if same_type(before, after):
            continue
        narrowing = is_narrowing(parse_type(before), parse_type(after))
        changes.append(
            ColumnChange(
                ChangeKind.TYPE_CHANGED,
                name,
                old_type=before,
                new_type=after,
                breaking=narrowing,
                used_downstream=key in used,
                reason="narrowing: some existing values no longer fit" if narrowing else "widening",
            )
        )
    for key in added:
        name, kind = new_by_key[key]
        changes.append(ColumnChange(ChangeKind.ADDED, name, new_type=kind, reason="added"))
    order = {key: i for i, key in enumerate([*old_by_key, *new_by_key])}
    return sorted(changes, key=lambda c: (not c.breaking, order.get(c.column.lower(), 0)))


def _renames(
    removed: list[str], added: list[str], old: Mapping[str, str], new: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Pair removed and added columns of the same type, most similar names first."""
    old_types = {k.lower(): parse_type(v) for k, v in old.items()}
    new_types = {k.lower(): parse_type(v) for k, v in new.items()}
    old_pos = {k.lower(): i for i, k in enumerate(old)}
    new_pos = {k.lower(): i for i, k in enumerate(new)}
    candidates = []
    for r in removed:
        for a in added:
            if old_types[r].family != new_types[a].family:
                continue
            similarity = max(SequenceMatcher(None, r, a).ratio(), 0.8 if (r in a or a in r) else 0.0)
            same_position = old_pos[r] == new_pos[a] and len(removed) == len(added) == 1
            if similarity >= RENAME_SIMILARITY or same_position:
                candidates.append((similarity + (0.5 if same_position else 0.0), r, a))
    pairs, used_old, used_new = [], set(), set()
    for _, r, a in sorted(candidates, reverse=True):
        if r not in used_old and a not in used_new:
            pairs.append((r, a))
            used_old.add(r)
            used_new.add(a)
    return pairs


def detect_schema(
    old: Mapping[str, str],
    new: Mapping[str, str],
    *,
    key: str,
    at: datetime,
    used_downstream: Collection[str] = (),
) -> list[Finding]:
    """One finding per column change between two consecutive schema versions of ``key``."""
    findings = []
    for change in diff_schemas(old, new, used_downstream=used_downstream):
        if change.breaking:
            severity = Severity.CRITICAL if change.used_downstream else Severity.ERROR
        else:
            severity = Severity.WARNING if change.kind is ChangeKind.TYPE_CHANGED else Severity.INFO
        findings.append(
            Finding(
                kind=FindingKind.SCHEMA,
                key=key,
                timestamp=at,
                severity=severity,
                score=1.0 if change.breaking else 0.0,
                observed=None,
                expected=None,
                lower=None,
                upper=None,
                direction="breaking" if change.breaking else "compatible",
                explanation=_sentence(key, change),
                details={
                    "change": change.kind.value,
                    "column": change.column,
                    "old_type": change.old_type,
                    "new_type": change.new_type,
                    "new_name": change.new_name,
                    "breaking": change.breaking,
                    "used_downstream": change.used_downstream,
                },
            )
        )
    return findings


def _sentence(key: str, change: ColumnChange) -> str:
    column = f"{key}.{change.column}"
    downstream = " and downstream columns read it directly" if change.used_downstream else ""
    if change.kind is ChangeKind.ADDED:
        return f"{column} was added ({change.new_type}); nothing existing breaks."
    if change.kind is ChangeKind.REMOVED:
        return f"{column} ({change.old_type}) was dropped: breaking{downstream}."
    if change.kind is ChangeKind.RENAMED:
        return (
            f"{column} was probably renamed to {change.new_name} ({change.new_type}): breaking{downstream}."
        )
    if change.breaking:
        return (
            f"{column} changed type from {change.old_type} to {change.new_type}, a narrowing change: "
            f"existing values may not fit{downstream}."
        )
    return f"{column} changed type from {change.old_type} to {change.new_type}, a widening change; nothing breaks."
