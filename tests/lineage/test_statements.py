"""Which tables a statement reads and writes, and how written columns map onto the query."""

from __future__ import annotations

from observer.lineage import StatementType, Status

from .support import analyse, columns_of, direct, last


def test_plain_select_has_column_lineage_without_a_target_table() -> None:
    statement = last("SELECT a, b + 1 AS c FROM s")
    assert statement.type is StatementType.SELECT
    assert statement.outputs == [] and statement.inputs == ["s"]
    assert [c.output.table for c in statement.columns] == [None, None]
    assert direct(columns_of(statement)) == {"a": {("s", "a")}, "c": {("s", "b")}}


def test_insert_with_column_list_maps_by_position() -> None:
    statement = last("INSERT INTO tgt (x, y) SELECT a, b FROM src")
    assert statement.type is StatementType.INSERT
    assert direct(columns_of(statement)) == {"x": {("src", "a")}, "y": {("src", "b")}}


def test_insert_without_column_list_maps_by_position_onto_known_target_columns() -> None:
    schema = {"tgt": {"x": "int", "y": "int"}, "src": {"a": "int", "b": "int"}}
    statement = last("INSERT INTO tgt SELECT a, b FROM src", schema=schema)
    assert direct(columns_of(statement)) == {"x": {("src", "a")}, "y": {("src", "b")}}


def test_insert_without_column_list_or_target_schema_maps_by_name() -> None:
    statement = last("INSERT INTO tgt SELECT a, b AS renamed FROM src")
    assert set(columns_of(statement)) == {"a", "renamed"}


def test_insert_overwrite_skips_static_partition_columns() -> None:
    schema = {"t.daily": {"k": None, "v": None, "dt": None}}
    statement = last(
        "INSERT OVERWRITE TABLE t.daily PARTITION (dt='2024-01-01') SELECT a, b FROM s", "hive", schema=schema
    )
    assert statement.type is StatementType.INSERT_OVERWRITE
    assert direct(columns_of(statement)) == {"k": {("s", "a")}, "v": {("s", "b")}}


def test_insert_values_writes_columns_without_inputs() -> None:
    statement = last("INSERT INTO t (id, name) VALUES (1, 'x')")
    assert statement.outputs == ["t"] and statement.inputs == []
    assert columns_of(statement) == {"id": {}, "name": {}}


def test_create_table_as_and_views() -> None:
    ctas = last("CREATE TABLE t AS SELECT a FROM s")
    view = last("CREATE VIEW v (renamed) AS SELECT a FROM s")
    materialized = last("CREATE MATERIALIZED VIEW mv AS SELECT a FROM s", "postgres")
    assert ctas.type is StatementType.CREATE_TABLE_AS and ctas.outputs == ["t"]
    assert view.type is StatementType.CREATE_VIEW
    assert direct(columns_of(view)) == {"renamed": {("s", "a")}}
    assert materialized.type is StatementType.CREATE_MATERIALIZED_VIEW


def test_create_table_ddl_lists_its_columns() -> None:
    statement = last("CREATE TABLE costs (id INT, month TEXT)")
    assert statement.type is StatementType.CREATE_TABLE
    assert columns_of(statement) == {"id": {}, "month": {}}


def test_select_into_creates_the_table() -> None:
    statement = last("SELECT age AS years INTO stats.ages FROM people", "tsql")
    assert statement.type is StatementType.CREATE_TABLE_AS
    assert statement.outputs == ["stats.ages"]
    assert direct(columns_of(statement)) == {"years": {("people", "age")}}


def test_update_from_another_table() -> None:
    statement = last("UPDATE t SET name = s.name, total = s.a + s.b FROM src s WHERE s.id = t.id", "postgres")
    assert statement.type is StatementType.UPDATE and statement.outputs == ["t"]
    columns = columns_of(statement)
    assert direct(columns) == {"name": {("src", "name")}, "total": {("src", "a"), ("src", "b")}}
    assert columns["name"][("src", "id")] == {"FILTER"}


def test_update_with_a_correlated_subquery() -> None:
    statement = last(
        "UPDATE accounts SET owner = (SELECT name FROM employees e WHERE e.id = accounts.owner_id)",
        "postgres",
    )
    columns = columns_of(statement)
    assert direct(columns) == {"owner": {("employees", "name")}}
    assert columns["owner"][("accounts", "owner_id")] == {"FILTER"}


def test_merge_follows_every_branch() -> None:
    statement = last(
        """
        MERGE INTO target t USING (SELECT k, flag, max(v) AS v_max FROM src GROUP BY k, flag) s ON t.k = s.k
        WHEN MATCHED AND s.flag THEN UPDATE SET v = s.v_max
        WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v_max)
        WHEN NOT MATCHED BY SOURCE THEN DELETE
        """,
        "databricks",
    )
    assert statement.type is StatementType.MERGE and statement.outputs == ["target"]
    columns = columns_of(statement)
    assert direct(columns) == {"v": {("src", "v")}, "k": {("src", "k")}}
    assert columns["v"][("src", "v")] == {"AGGREGATION"}
    assert "JOIN" in columns["v"][("target", "k")]
    assert "FILTER" in columns["v"][("src", "flag")]


def test_delete_truncate_and_drop_are_table_level() -> None:
    result = analyse("DELETE FROM t WHERE id IN (SELECT id FROM s); TRUNCATE TABLE u; DROP TABLE v")
    delete, truncate, drop = result.statements
    assert (delete.type, delete.outputs, delete.inputs) == (StatementType.DELETE, ["t"], ["s"])
    assert (truncate.type, truncate.outputs) == (StatementType.TRUNCATE, ["u"])
    assert (drop.type, drop.outputs) == (StatementType.DROP, ["v"])
    assert all(not s.columns for s in result.statements)


def test_rename_carries_columns_to_the_new_name() -> None:
    result = analyse("ALTER TABLE sales.old RENAME TO new", schema={"sales.old": {"id": "int"}})
    rename = result.statements[0]
    assert rename.type is StatementType.RENAME
    assert (rename.inputs, rename.outputs) == (["sales.old"], ["sales.new"])
    assert direct(columns_of(rename)) == {"id": {("sales.old", "id")}}


def test_other_statements_are_reported_without_lineage() -> None:
    statement = last("GRANT SELECT ON t TO analyst", "postgres")
    assert statement.type is StatementType.OTHER
    assert statement.status is Status.OK and not statement.columns


def test_snowflake_multi_table_insert_writes_every_branch() -> None:
    statement = last(
        """
        INSERT FIRST
          WHEN amount > 100 THEN INTO big (id, amt) VALUES (id, amount)
          WHEN region = 'EU' THEN INTO eu (id, amt) VALUES (id, amount * 2)
          ELSE INTO small
        SELECT id, amount, region FROM src
        """,
        "snowflake",
    )
    assert statement.type is StatementType.INSERT
    assert statement.outputs == ["BIG", "EU", "SMALL"] and statement.inputs == ["SRC"]
    written = {
        (c.output.table, c.output.column): {
            (i.column, t.subtype.value) for i in c.inputs for t in i.transformations
        }
        for c in statement.columns
    }
    assert written[("BIG", "AMT")] == {("AMOUNT", "IDENTITY"), ("AMOUNT", "FILTER")}
    # INSERT FIRST: a later branch is also decided by the conditions before it
    assert written[("EU", "AMT")] == {
        ("AMOUNT", "TRANSFORMATION"),
        ("AMOUNT", "FILTER"),
        ("REGION", "FILTER"),
    }
    # ELSE takes the source columns by name, decided by every condition
    assert written[("SMALL", "REGION")] == {
        ("REGION", "IDENTITY"),
        ("REGION", "FILTER"),
        ("AMOUNT", "FILTER"),
    }
