"""PIVOT and UNPIVOT: which columns come out, and each one's lineage as in the operator's plain-SQL form.

A pivot is ``agg(CASE WHEN for_column = value THEN x END) ... GROUP BY <the other columns>``, an unpivot
is a UNION ALL of one SELECT per listed column with ``WHERE listed IS NOT NULL``.
"""

from __future__ import annotations

import pytest

from observer.lineage import Status

from .support import columns_of, direct, last

SALES = {"monthly_sales": {"empid": "int", "amount": "int", "month": "text"}}
QUARTERS = {"sales": {"year": "int", "q1": "int", "q2": "int"}}


def test_pivoted_columns_aggregate_the_value_and_depend_on_the_for_column() -> None:
    statement = last(
        "SELECT * FROM monthly_sales PIVOT (SUM(amount) FOR month IN ('JAN', 'FEB')) AS p",
        "snowflake",
        schema=SALES,
    )
    columns = columns_of(statement)
    assert list(columns) == ["empid", "'JAN'", "'FEB'"]  # Snowflake names pivoted columns by the quoted value
    assert columns["'JAN'"] == {
        ("MONTHLY_SALES", "amount"): {"AGGREGATION"},
        ("MONTHLY_SALES", "month"): {"CONDITIONAL"},
        ("MONTHLY_SALES", "empid"): {"GROUP_BY"},
    }
    # the columns the pivot does not consume pass through and group its rows
    assert columns["empid"] == {("MONTHLY_SALES", "empid"): {"IDENTITY", "GROUP_BY"}}
    assert statement.status is Status.OK


def test_a_pivoted_count_is_masking() -> None:
    statement = last(
        "SELECT * FROM monthly_sales PIVOT (COUNT(amount) FOR month IN ('JAN'))", "snowflake", schema=SALES
    )
    jan = next(c for c in statement.columns if c.output.column == "'JAN'")
    amount = next(i for i in jan.inputs if i.column == "amount")
    assert [(t.subtype.value, t.masking) for t in amount.transformations] == [("AGGREGATION", True)]


def test_each_pivoted_column_comes_from_its_own_aggregate() -> None:
    statement = last(
        "SELECT * FROM person PIVOT (SUM(age) AS a, AVG(height) AS h FOR name IN ('John' AS john, 'Mike' AS mike))",
        "spark",
        schema={"person": {"id": "int", "name": "string", "age": "int", "height": "int"}},
    )
    assert direct(columns_of(statement)) == {
        "id": {("person", "id")},
        "john_a": {("person", "age")},
        "john_h": {("person", "height")},
        "mike_a": {("person", "age")},
        "mike_h": {("person", "height")},
    }


def test_pivot_columns_are_found_through_the_pivot_alias_without_a_schema() -> None:
    statement = last(
        """SELECT p.empid, p."'FEB'" AS feb FROM monthly_sales PIVOT (SUM(amount) FOR month IN ('JAN', 'FEB')) AS p""",
        "snowflake",
    )
    assert direct(columns_of(statement)) == {
        "EMPID": {("MONTHLY_SALES", "EMPID")},
        "FEB": {("MONTHLY_SALES", "AMOUNT")},
    }
    # without a schema the pass-through columns are unknown, so a star stays a star
    star = last("SELECT * FROM monthly_sales PIVOT (SUM(amount) FOR month IN ('JAN'))", "snowflake")
    assert list(columns_of(star)) == ["*", "'JAN'"]


def test_a_pivot_over_values_known_only_from_the_data_gives_an_unknown_column() -> None:
    for values in ("ANY ORDER BY month", "SELECT DISTINCT month FROM months"):
        statement = last(
            f"SELECT * FROM monthly_sales PIVOT (SUM(amount) FOR month IN ({values}))",
            "snowflake",
            schema=SALES,
        )
        columns = columns_of(statement)
        assert list(columns) == ["empid", "*"]
        assert columns["*"][("MONTHLY_SALES", "amount")] == {"AGGREGATION"}
        assert columns["*"][("MONTHLY_SALES", "month")] == {"CONDITIONAL"}
    assert statement.inputs == ["MONTHLY_SALES", "MONTHS"]


def test_unpivot_copies_the_listed_columns_into_the_value_column() -> None:
    statement = last(
        "SELECT * FROM sales UNPIVOT (amount FOR quarter IN (q1, q2))", "databricks", schema=QUARTERS
    )
    columns = columns_of(statement)
    assert list(columns) == ["year", "quarter", "amount"]
    assert direct(columns) == {
        "year": {("sales", "year")},
        "quarter": set(),  # holds the names 'q1' and 'q2', not their values
        "amount": {("sales", "q1"), ("sales", "q2")},
    }
    # NULLs are excluded by default: the listed columns decide which rows exist
    for inputs in columns.values():
        assert inputs[("sales", "q1")] >= {"FILTER"} and inputs[("sales", "q2")] >= {"FILTER"}


def test_unpivot_including_nulls_filters_nothing() -> None:
    statement = last(
        "SELECT * FROM sales UNPIVOT INCLUDE NULLS (amount FOR quarter IN (q1 AS `Jan-Mar`, q2))",
        "databricks",
        schema=QUARTERS,
    )
    assert columns_of(statement) == {
        "year": {("sales", "year"): {"IDENTITY"}},
        "quarter": {},
        "amount": {("sales", "q1"): {"IDENTITY"}, ("sales", "q2"): {"IDENTITY"}},
    }


def test_tsql_unpivot_puts_the_value_column_first() -> None:
    statement = last(
        "SELECT * FROM sales UNPIVOT (amount FOR quarter IN (q1, q2)) AS u", "tsql", schema=QUARTERS
    )
    assert list(columns_of(statement)) == ["year", "amount", "quarter"]


def test_unpivot_of_several_value_columns_pairs_them_by_position() -> None:
    statement = last(
        "SELECT * FROM ds.t UNPIVOT ((price, qty) FOR half IN ((p1, q1) AS 'H1', (p2, q2) AS 'H2'))",
        "bigquery",
        schema={"ds.t": {"k": None, "p1": None, "q1": None, "p2": None, "q2": None}},
    )
    assert direct(columns_of(statement)) == {
        "k": {("ds.t", "k")},
        "half": set(),
        "price": {("ds.t", "p1"), ("ds.t", "p2")},
        "qty": {("ds.t", "q1"), ("ds.t", "q2")},
    }


def test_what_shapes_the_pivoted_query_carries_through_it() -> None:
    statement = last(
        """
        WITH s AS (SELECT empid, amount, month FROM raw.sales WHERE amount > 0)
        SELECT * FROM s PIVOT (SUM(amount) FOR month IN ('JAN', 'FEB')) AS p ORDER BY empid
        """,
        "snowflake",
    )
    columns = columns_of(statement)
    assert list(columns) == ["EMPID", "'JAN'", "'FEB'"]
    assert columns["'JAN'"] == {
        ("RAW.SALES", "AMOUNT"): {"AGGREGATION", "FILTER"},
        ("RAW.SALES", "MONTH"): {"CONDITIONAL"},
        ("RAW.SALES", "EMPID"): {"GROUP_BY", "SORT"},
    }


def test_chained_operators_apply_in_order() -> None:
    statement = last(
        """
        SELECT * FROM monthly_sales
          PIVOT (SUM(amount) FOR month IN ('JAN', 'FEB')) AS p
          UNPIVOT (total FOR mon IN ("'JAN'", "'FEB'"))
        """,
        "snowflake",
        schema=SALES,
    )
    columns = columns_of(statement)
    assert list(columns) == ["empid", "MON", "TOTAL"]
    assert columns["TOTAL"][("MONTHLY_SALES", "amount")] == {"AGGREGATION", "FILTER"}


def test_an_alias_column_list_renames_the_leading_columns() -> None:
    statement = last(
        "SELECT * FROM monthly_sales PIVOT (SUM(amount) FOR month IN ('JAN', 'FEB')) AS p (emp, jan)",
        "snowflake",
        schema=SALES,
    )
    assert direct(columns_of(statement)) == {
        "EMP": {("MONTHLY_SALES", "empid")},
        "JAN": {("MONTHLY_SALES", "amount")},
        "'FEB'": {("MONTHLY_SALES", "amount")},
    }


def test_insert_from_a_pivot_maps_onto_the_target_by_position() -> None:
    statement = last(
        "INSERT INTO mart.by_month SELECT * FROM monthly_sales PIVOT (SUM(amount) FOR month IN ('JAN', 'FEB'))",
        "snowflake",
        schema={**SALES, "mart.by_month": {"employee": None, "jan": None, "feb": None}},
    )
    assert direct(columns_of(statement)) == {
        "employee": {("MONTHLY_SALES", "empid")},
        "jan": {("MONTHLY_SALES", "amount")},
        "feb": {("MONTHLY_SALES", "amount")},
    }


CITIES = {"cities": {"country": "text", "name": "text", "year": "int", "population": "int"}}
MONTHS = {"ms": {"empid": "int", "jan": "int", "feb": "int"}}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "PIVOT cities ON year IN (2000, 2010) USING sum(population) AS total",
            ["country", "name", "2000_total", "2010_total"],
        ),
        ("PIVOT cities ON year USING sum(population) GROUP BY country", ["country", "*"]),
        ("UNPIVOT ms ON jan, feb INTO NAME month VALUE sales", ["empid", "month", "sales"]),
        ("UNPIVOT ms ON COLUMNS(* EXCLUDE (empid))", ["empid", "name", "value"]),
        (
            "SELECT * FROM cities PIVOT (sum(population) FOR year IN (2000, 2010) name IN ('Seattle', 'NYC'))",
            ["country", "2000_seattle", "2000_nyc", "2010_seattle", "2010_nyc"],
        ),
    ],
)
def test_duckdb_statement_forms_name_their_columns_like_duckdb(sql: str, expected: list[str]) -> None:
    statement = last(sql, "duckdb", schema={**CITIES, **MONTHS})
    assert list(columns_of(statement)) == expected
    duckdb = pytest.importorskip("duckdb")
    if "*" not in expected:  # the columns DuckDB itself returns (case aside)
        connection = duckdb.connect()
        connection.execute("CREATE TABLE cities (country TEXT, name TEXT, year INT, population INT)")
        connection.execute("INSERT INTO cities VALUES ('NL', 'Seattle', 2000, 1), ('US', 'NYC', 2010, 2)")
        connection.execute("CREATE TABLE ms (empid INT, jan INT, feb INT)")
        returned = [d[0].casefold() for d in connection.execute(sql).description]
        assert returned == expected


def test_duckdb_unpivot_of_every_other_column() -> None:
    statement = last(
        "UNPIVOT ms ON COLUMNS(* EXCLUDE (empid)) INTO NAME month VALUE sales", "duckdb", schema=MONTHS
    )
    assert direct(columns_of(statement)) == {
        "empid": {("ms", "empid")},
        "month": set(),
        "sales": {("ms", "jan"), ("ms", "feb")},
    }


def test_duckdb_pivot_in_a_cte() -> None:
    statement = last(
        'WITH p AS (PIVOT cities ON year IN (2000, 2010) USING sum(population)) SELECT country, "2000" FROM p',
        "duckdb",
        schema=CITIES,
    )
    assert direct(columns_of(statement)) == {
        "country": {("cities", "country")},
        "2000": {("cities", "population")},
    }


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("snowflake", "SELECT * FROM t PIVOT (SUM(v) FOR k IN ('a', 'b')) AS p"),
        ("bigquery", "SELECT * FROM t PIVOT (SUM(v) FOR k IN ('a', 'b'))"),
        ("databricks", "SELECT * FROM t PIVOT (SUM(v) FOR k IN ('a', 'b'))"),
        ("duckdb", "SELECT * FROM t PIVOT (SUM(v) FOR k IN ('a', 'b'))"),
        ("tsql", "SELECT * FROM t PIVOT (SUM(v) FOR k IN ([a], [b])) AS p"),
        ("oracle", "SELECT * FROM t PIVOT (SUM(v) FOR (k) IN ('a' AS a, 'b' AS b))"),
        ("redshift", "SELECT * FROM t PIVOT (SUM(v) FOR k IN ('a', 'b'))"),
    ],
)
def test_pivot_in_every_dialect_that_has_it(dialect: str, sql: str) -> None:
    statement = last(sql, dialect, schema={"t": {"id": None, "k": None, "v": None}})
    columns = columns_of(statement)
    assert len(columns) == 3
    pivoted = list(columns.values())[1:]
    for inputs in pivoted:
        assert {(column.lower(), frozenset(subtypes)) for (_, column), subtypes in inputs.items()} == {
            ("v", frozenset({"AGGREGATION"})),
            ("k", frozenset({"CONDITIONAL"})),
            ("id", frozenset({"GROUP_BY"})),
        }
