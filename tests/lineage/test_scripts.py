"""Multi-statement scripts: temp and intermediate tables, procedures, end-to-end lineage."""

from __future__ import annotations

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
