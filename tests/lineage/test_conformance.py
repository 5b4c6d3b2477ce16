"""Conformance with the shared lineage corpora, each scored with its own conventions (see scoring.py).

Run with ``-s`` to see precision, recall and F1 per corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .scoring import Score, records, score

CORPORA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "lineage-corpus"
TARGETS = {"datahub_sqlglot_lineage": 0.97, "sqllineage_column_tests": 0.95}


def _corpus(name: str) -> list[dict]:
    path = CORPORA / f"{name}.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return list(records(path))


def _report(result: Score) -> None:
    print(f"\n{result.summary()}")
    for miss in result.misses:
        print(f"  {miss}")


def test_datahub_goldens() -> None:
    result = score("DataHub goldens (DIRECT + CONDITIONAL)", _corpus("datahub_sqlglot_lineage"), False)
    _report(result)
    assert result.f1 >= TARGETS["datahub_sqlglot_lineage"]


def test_datahub_goldens_not_flagged_as_known_wrong() -> None:
    cases = [
        record
        for record in _corpus("datahub_sqlglot_lineage")
        if not (record["flags"].get("known_wrong_or_partial") or record["flags"].get("skipped_in_source"))
    ]
    result = score("DataHub goldens, unflagged cases only", cases, False)
    _report(result)
    assert result.f1 >= TARGETS["datahub_sqlglot_lineage"]


def test_sqllineage_column_tests() -> None:
    result = score(
        "sqllineage column tests (end-to-end write pairs)", _corpus("sqllineage_column_tests"), True
    )
    _report(result)
    assert result.f1 >= TARGETS["sqllineage_column_tests"]


def test_every_corpus_case_is_analysed_without_internal_errors() -> None:
    from observer.lineage import analyze_sql

    for name in TARGETS:
        for record in _corpus(name):
            result = analyze_sql(record["sql"], record.get("dialect"), schema=record.get("schema") or None)
            messages = [*result.errors, *(e for s in result.statements for e in s.errors)]
            assert not [m for m in messages if "internal error" in m], record["id"]
