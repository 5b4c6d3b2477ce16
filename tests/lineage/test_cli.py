"""``observer lineage sql`` and ``observer lineage batch`` as other tools call them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from observer.cli.main import app

runner = CliRunner()


def test_sql_prints_lineage_json(tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text("INSERT INTO t SELECT total FROM orders")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"shop.public.orders": {"total": "numeric"}}))
    result = runner.invoke(
        app,
        [
            "lineage",
            "sql",
            str(sql),
            "--dialect",
            "postgres",
            "--schema",
            str(schema),
            "--default-db",
            "shop",
            "--default-schema",
            "public",
        ],
    )
    assert result.exit_code == 0, result.output
    statement = json.loads(result.stdout)["statements"][0]
    assert statement["type"] == "INSERT"
    assert statement["outputs"] == ["shop.public.t"]
    assert statement["inputs"] == ["shop.public.orders"]
    assert statement["columns"] == [
        {
            "output": {"table": "shop.public.t", "column": "total"},
            "inputs": [
                {
                    "table": "shop.public.orders",
                    "column": "total",
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": False}],
                }
            ],
        }
    ]
    assert statement["errors"] == []


def test_sql_reads_standard_input_and_reports_parse_errors_inside_the_result() -> None:
    result = runner.invoke(app, ["lineage", "sql", "-"], input="SELEC oops FROM")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["statements"][0]["errors"]


def test_sql_with_missing_file_or_bad_schema_exits_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["lineage", "sql", str(tmp_path / "nope.sql")])
    assert missing.exit_code == 2 and "nope.sql" in missing.output
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT 1")
    schema = tmp_path / "schema.json"
    schema.write_text('{\n  "t": {"a": }\n}')
    bad = runner.invoke(app, ["lineage", "sql", str(sql), "--schema", str(schema)])
    assert bad.exit_code == 2 and "schema.json:2" in bad.output


def test_batch_writes_one_line_per_case(tmp_path: Path) -> None:
    cases = [
        {"id": "one", "sql": "SELECT a FROM t", "dialect": "duckdb", "extra": True},
        {
            "id": "two",
            "sql": "INSERT INTO x SELECT * FROM y",
            "dialect": "snowflake",
            "schema": {"y": {"k": "int"}},
        },
        {"id": "three", "sql": "not sql at all ((("},
        {"id": "four"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(c) for c in cases) + "\n")
    target = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["lineage", "batch", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["one", "two", "three", "four"]
    assert lines[0]["error"] is None and lines[0]["statements"][0]["inputs"] == ["t"]
    assert lines[1]["statements"][0]["columns"][0]["output"] == {"table": "X", "column": "k"}
    assert lines[2]["error"] is None and lines[2]["statements"][0]["errors"]
    assert lines[3]["error"] == "case has no 'sql' string"


def test_batch_in_several_processes_gives_the_same_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": i, "sql": f"SELECT c{i} FROM t{i}"}) + "\n" for i in range(40))
    )
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    runner.invoke(app, ["lineage", "batch", "-i", str(source), "-o", str(one), "--workers", "1"])
    runner.invoke(app, ["lineage", "batch", "-i", str(source), "-o", str(two), "--workers", "2"])
    assert one.read_text() == two.read_text() and len(one.read_text().splitlines()) == 40


def test_batch_with_an_invalid_line_exits_2_naming_the_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "sql": "SELECT 1"}\n{broken\n')
    result = runner.invoke(app, ["lineage", "batch", "--input", str(source), "--output", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "in.jsonl:2" in result.output
    missing = runner.invoke(
        app, ["lineage", "batch", "--input", str(tmp_path / "x"), "--output", str(tmp_path / "o")]
    )
    assert missing.exit_code == 2
