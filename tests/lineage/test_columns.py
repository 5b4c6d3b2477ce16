"""How output columns are traced through queries, and which OpenLineage transformation each input gets."""

from __future__ import annotations

from collections.abc import Sequence

from observer.lineage import MappingCatalog, Status

from .support import columns_of, direct, last


def test_transformation_subtypes_follow_how_a_column_is_used() -> None:
    statement = last(
        """
        SELECT o.id,
               o.amount * 2 AS doubled,
               sum(o.amount) AS total,
               CASE WHEN o.status = 'paid' THEN o.amount END AS paid,
               row_number() OVER (PARTITION BY o.customer ORDER BY o.ts) AS rn
        FROM orders o JOIN customers c ON o.customer = c.id
        WHERE c.active
        GROUP BY o.id, o.amount, o.status, o.customer, o.ts
        ORDER BY o.ts
        """
    )
    columns = columns_of(statement)
    assert "IDENTITY" in columns["id"][("orders", "id")]
    assert "TRANSFORMATION" in columns["doubled"][("orders", "amount")]
    assert "AGGREGATION" in columns["total"][("orders", "amount")]
    assert "CONDITIONAL" in columns["paid"][("orders", "status")]
    assert columns["rn"][("orders", "customer")] >= {"WINDOW"}
    for inputs in columns.values():
        assert inputs[("customers", "id")] == {"JOIN"}
        assert inputs[("customers", "active")] == {"FILTER"}
        assert "GROUP_BY" in inputs[("orders", "id")]
        assert "SORT" in inputs[("orders", "ts")]


def test_hashes_and_counts_are_masking() -> None:
    statement = last("SELECT md5(email) AS h, count(DISTINCT user_id) AS n, email FROM users", "postgres")
    masking = {
        column.output.column: {i.column: [t.masking for t in i.transformations] for i in column.inputs}
        for column in statement.columns
    }
    assert masking == {"h": {"email": [True]}, "n": {"user_id": [True]}, "email": {"email": [False]}}


def test_coalesce_values_flow_and_their_nullness_decides() -> None:
    columns = columns_of(last("SELECT coalesce(a, b) AS c FROM t"))
    assert columns["c"][("t", "a")] == {"TRANSFORMATION", "CONDITIONAL"}
    assert columns["c"][("t", "b")] == {"TRANSFORMATION"}


def test_ctes_nested_subqueries_and_set_operations() -> None:
    statement = last(
        """
        WITH base AS (SELECT id, v FROM t1), more AS (SELECT id, v FROM (SELECT id, w AS v FROM t2) x)
        SELECT id, v FROM base UNION ALL SELECT id, v FROM more
        INTERSECT SELECT id, z FROM t3
        """
    )
    assert direct(columns_of(statement)) == {
        "id": {("t1", "id"), ("t2", "id"), ("t3", "id")},
        "v": {("t1", "v"), ("t2", "w"), ("t3", "z")},
    }


def test_recursive_cte_terminates_with_its_base_columns() -> None:
    statement = last(
        """
        WITH RECURSIVE tree AS (
          SELECT id, parent FROM nodes UNION ALL SELECT n.id, t.parent FROM nodes n JOIN tree t ON n.parent = t.id
        ) SELECT id, parent FROM tree
        """
    )
    assert direct(columns_of(statement)) == {"id": {("nodes", "id")}, "parent": {("nodes", "parent")}}


def test_scalar_subqueries_in_projections() -> None:
    statement = last("SELECT (SELECT max(a) FROM x) + c AS y FROM z")
    assert direct(columns_of(statement)) == {"y": {("x", "a"), ("z", "c")}}


def test_star_is_expanded_from_the_schema_with_except_and_replace() -> None:
    schema = {"p.d.t": {"a": "int", "b": "int", "c": "string"}}
    statement = last(
        "SELECT * EXCEPT (b) REPLACE (lower(c) AS c) FROM d.t", "bigquery", schema=schema, default_db="p"
    )
    columns = columns_of(statement)
    assert list(columns) == ["a", "c"]
    assert columns["c"] == {("p.d.t", "c"): {"TRANSFORMATION"}}


def test_star_is_expanded_from_a_catalog() -> None:
    class Store:
        def table_columns(self, table: str) -> Sequence[str] | None:
            return ["id", "total"] if table == "shop.public.orders" else None

    statement = last(
        "SELECT * FROM orders", "postgres", catalog=Store(), default_db="shop", default_schema="public"
    )
    assert direct(columns_of(statement)) == {
        "id": {("shop.public.orders", "id")},
        "total": {("shop.public.orders", "total")},
    }


def test_explicit_schema_wins_over_the_catalog() -> None:
    catalog = MappingCatalog({"t": {"stale": None}})
    statement = last("SELECT * FROM t", schema={"t": {"fresh": None}}, catalog=catalog)
    assert list(columns_of(statement)) == ["fresh"]


def test_star_without_a_schema_keeps_a_virtual_column_and_table_lineage() -> None:
    statement = last("INSERT INTO tgt SELECT a.* FROM src a JOIN other b ON a.id = b.id")
    assert statement.inputs == ["src", "other"]
    assert direct(columns_of(statement)) == {"*": {("src", "*")}}


def test_columns_through_a_star_subquery_without_schema() -> None:
    statement = last(
        "SELECT user_id FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY ts) AS rk FROM events) e "
        "WHERE rk = 1"
    )
    columns = columns_of(statement)
    assert direct(columns) == {"user_id": {("events", "user_id")}}
    assert columns["user_id"][("events", "ts")] == {"FILTER"}


def test_ambiguous_columns_are_reported_not_guessed() -> None:
    statement = last("SELECT name FROM a JOIN b ON a.id = b.id")
    assert direct(columns_of(statement)) == {"name": set()}
    assert statement.status is Status.PARTIAL
    assert any("name" in message for message in statement.unresolved)


def test_unqualified_columns_are_attributed_with_a_schema() -> None:
    schema = {"a": {"id": None, "name": None}, "b": {"id": None, "total": None}}
    statement = last("SELECT name, total FROM a JOIN b USING (id)", schema=schema)
    assert direct(columns_of(statement)) == {"name": {("a", "name")}, "total": {("b", "total")}}


def test_lateral_column_aliases() -> None:
    statement = last("SELECT price * qty AS gross, gross - discount AS net FROM sales", "snowflake")
    assert direct(columns_of(statement))["NET"] == {
        ("SALES", "PRICE"),
        ("SALES", "QTY"),
        ("SALES", "DISCOUNT"),
    }


def test_struct_fields_keep_their_path() -> None:
    schema = {"proj.ds.t": {"id": "int", "widget": "struct"}}
    statement = last("SELECT widget.asset.id FROM ds.t", "bigquery", schema=schema, default_db="proj")
    assert direct(columns_of(statement)) == {"id": {("proj.ds.t", "widget.asset.id")}}


def test_unnest_and_lateral_view_explode() -> None:
    unnest = last(
        "SELECT p.code, item FROM t, UNNEST(items) AS item LEFT JOIN UNNEST(products) AS p",
        "bigquery",
        schema={"t": {"items": "array", "products": "array"}},
    )
    explode = last("SELECT x, c FROM t LATERAL VIEW explode(arr) v AS c", "spark")
    assert direct(columns_of(unnest)) == {"code": {("t", "products.code")}, "item": {("t", "items")}}
    assert direct(columns_of(explode)) == {"x": {("t", "x")}, "c": {("t", "arr")}}


def test_json_access_and_qualify() -> None:
    statement = last(
        "SELECT payload:user.name::string AS n FROM events QUALIFY row_number() OVER (PARTITION BY id ORDER BY ts) = 1",
        "snowflake",
    )
    columns = columns_of(statement)
    assert direct(columns) == {"N": {("EVENTS", "PAYLOAD")}}
    assert columns["N"][("EVENTS", "ID")] == {"FILTER"}


def test_order_by_an_output_alias() -> None:
    statement = last("SELECT a.x AS k FROM a JOIN b ON a.id = b.id ORDER BY k")
    assert statement.unresolved == []
    assert columns_of(statement)["k"][("a", "x")] == {"IDENTITY", "SORT"}
