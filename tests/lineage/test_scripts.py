"""Multi-statement scripts: temp and intermediate tables, procedures, end-to-end lineage."""

from __future__ import annotations

import pytest

from observer.lineage import StatementType, Status, end_to_end

from .support import analyse, columns_of, direct


def test_tables_created_earlier_in_the_script_expand_later_stars() -> None:
    result = analyse(
        """
        CREATE TEMP TABLE staged AS SELECT id, amount * 100 AS cents FROM raw.payments;
        INSERT INTO mart.payments SELECT * FROM staged;
        """
    )
    insert = result.statements[1]
    assert direct(columns_of(insert)) == {"id": {("staged", "id")}, "cents": {("staged", "cents")}}


def test_end_to_end_collapses_intermediate_tables() -> None:
    result = analyse(
        """
        CREATE TABLE tmp AS SELECT id, amount * 100 AS cents FROM raw.payments;
        CREATE VIEW v AS SELECT id, cents FROM tmp;
        INSERT INTO mart.payments (pid, value) SELECT id, sum(cents) FROM v GROUP BY id;
        """
    )
    collapsed = {
        c.output.column: {(i.table, i.column): {t.subtype.value for t in i.transformations} for i in c.inputs}
        for c in end_to_end(result)
    }
    assert collapsed["pid"][("raw.payments", "id")] >= {"IDENTITY"}
    assert collapsed["value"][("raw.payments", "amount")] == {"AGGREGATION"}
    assert "GROUP_BY" in collapsed["value"][("raw.payments", "id")]
    assert all(table == "raw.payments" for inputs in collapsed.values() for table, _ in inputs)


def test_renamed_and_dropped_tables_are_followed() -> None:
    result = analyse(
        """
        CREATE TABLE a (id INT, v INT);
        ALTER TABLE a RENAME TO b;
        INSERT INTO c SELECT * FROM b;
        DROP TABLE b;
        """
    )
    assert [s.type for s in result.statements] == [
        StatementType.CREATE_TABLE,
        StatementType.RENAME,
        StatementType.INSERT,
        StatementType.DROP,
    ]
    assert list(columns_of(result.statements[2])) == ["id", "v"]


def test_statements_inside_procedures_are_found() -> None:
    result = analyse(
        """
        CREATE PROCEDURE load_c
        AS
        BEGIN
          SET NOCOUNT ON;
          DECLARE @n INT = 0;
          WHILE @n < 3
          BEGIN
            SET @n = @n + 1;
            INSERT INTO dbo.c SELECT a.x AS y FROM dbo.a AS a WHERE a.d >= @n;
          END
        END;
        """,
        "tsql",
    )
    inserts = [s for s in result.statements if s.type is StatementType.INSERT]
    assert len(inserts) == 1
    assert direct(columns_of(inserts[0])) == {"y": {("dbo.a", "x")}}


def test_one_bad_statement_does_not_spoil_the_others() -> None:
    result = analyse("INSERT INTO t SELECT a FROM s; SELECT FROM WHERE (; INSERT INTO u SELECT b FROM t")
    good_first, bad, good_last = result.statements
    assert direct(columns_of(good_first)) == {"a": {("s", "a")}}
    assert bad.type is StatementType.UNPARSED and bad.errors
    assert direct(columns_of(good_last)) == {"b": {("t", "b")}}


def test_unparseable_statements_keep_table_lineage_from_tokens() -> None:
    result = analyse("INSERT INTO target SELECT weird syntax here ((( FROM source_table JOIN other ON")
    statement = result.statements[0]
    assert statement.status is Status.TABLE_LEVEL
    assert statement.outputs == ["target"]
    assert set(statement.inputs) >= {"source_table", "other"}


def _collapsed(result: object) -> dict[tuple[str | None, str], set[tuple[str, str]]]:
    return {
        (c.output.table, c.output.column): {(i.table, i.column) for i in c.inputs}
        for c in end_to_end(result)  # type: ignore[arg-type]
    }


@pytest.mark.parametrize(
    ("dialect", "rename", "new"),
    [
        ("postgres", "ALTER TABLE sales.a RENAME TO b", "sales.b"),
        ("snowflake", "ALTER VIEW sales.a RENAME TO sales.b", "SALES.B"),
        ("mysql", "RENAME TABLE sales.a TO sales.b", "sales.b"),
        ("tsql", "EXEC sp_rename 'sales.a', 'b'", "sales.b"),
    ],
)
def test_renamed_tables_take_their_columns_along(dialect: str, rename: str, new: str) -> None:
    result = analyse(
        f"{rename}; INSERT INTO c SELECT * FROM {new}", dialect, schema={"sales.a": {"id": None}}
    )
    renamed, insert = result.statements
    assert renamed.type is StatementType.RENAME and renamed.outputs == [new]
    assert direct(columns_of(renamed)) == {"id": {(renamed.inputs[0], "id")}}
    assert list(columns_of(insert)) == ["id"]


@pytest.mark.parametrize(
    ("dialect", "rename"),
    [
        ("postgres", "ALTER TABLE a RENAME COLUMN v TO w"),
        ("postgres", "ALTER TABLE a RENAME v TO w"),  # COLUMN is optional in PostgreSQL
        ("mysql", "ALTER TABLE a CHANGE COLUMN v w INT"),
        ("tsql", "EXEC sp_rename @objname = 'a.v', @newname = 'w', @objtype = 'COLUMN'"),
    ],
)
def test_a_renamed_column_comes_from_its_old_self(dialect: str, rename: str) -> None:
    result = analyse(f"CREATE TABLE a (id INT, v INT); {rename}; INSERT INTO c SELECT * FROM a", dialect)
    _, renamed, insert = result.statements
    assert renamed.type is StatementType.RENAME and renamed.outputs == ["a"]
    assert direct(columns_of(renamed)) == {"w": {("a", "v")}}
    assert list(columns_of(insert)) == ["id", "w"]


def test_added_and_dropped_columns_change_what_later_statements_see() -> None:
    result = analyse(
        "CREATE TABLE a (id INT, v INT); ALTER TABLE a ADD COLUMN w INT, DROP COLUMN v; SELECT * FROM a",
        "postgres",
    )
    assert list(columns_of(result.statements[-1])) == ["id", "w"]


def test_a_swap_exchanges_the_tables_and_end_to_end_follows_it() -> None:
    result = analyse(
        """
        CREATE TABLE orders_new AS SELECT id, amount * 100 AS cents FROM raw.orders;
        ALTER TABLE orders SWAP WITH orders_new;
        DROP TABLE orders_new;
        """,
        "snowflake",
        schema={"orders": {"ID": None, "CENTS": None}},
    )
    swap = result.statements[1]
    assert swap.type is StatementType.RENAME
    assert set(swap.inputs) == set(swap.outputs) == {"ORDERS", "ORDERS_NEW"}
    edges = {(c.output.table, c.output.column): [(i.table, i.column) for i in c.inputs] for c in swap.columns}
    assert edges[("ORDERS", "CENTS")] == [("ORDERS_NEW", "CENTS")]
    assert edges[("ORDERS_NEW", "CENTS")] == [("ORDERS", "CENTS")]
    # the swapped-out copy is dropped, so only ORDERS is final, fed by what ORDERS_NEW held
    assert _collapsed(result) == {
        ("ORDERS", "ID"): {("RAW.ORDERS", "ID")},
        ("ORDERS", "CENTS"): {("RAW.ORDERS", "AMOUNT")},
    }


def test_end_to_end_follows_statement_order() -> None:
    result = analyse("INSERT INTO a SELECT x FROM b; INSERT INTO b SELECT y AS x FROM c")
    # b is read before it is written: a gets b as it was, and b's new rows are a final output
    assert _collapsed(result) == {("a", "x"): {("b", "x")}, ("b", "x"): {("c", "y")}}
