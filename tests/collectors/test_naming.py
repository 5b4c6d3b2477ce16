"""Warehouse tables get the identity OpenLineage producers give the same table."""

from __future__ import annotations

import pytest

from collectors.warehouse.naming import (
    UnsupportedWarehouse,
    namespace_for,
    snowflake_account,
    split_dotted,
    sql_identifier,
)


@pytest.mark.parametrize(
    ("url", "namespace"),
    [
        ("postgresql+psycopg://reader:secret@DB.internal:6432/shop", "postgres://db.internal:6432"),
        ("postgresql://reader@db.internal/shop", "postgres://db.internal:5432"),
        ("duckdb:///duckdb.db", "duckdb://duckdb.db"),
        ("duckdb:////data/warehouse.duckdb", "duckdb:///data/warehouse.duckdb"),
        (
            "snowflake://reader:pw@myorg-analytics/ANALYTICS/PUBLIC?warehouse=WH",
            "snowflake://myorg-analytics",
        ),
        ("snowflake://reader:pw@xy12345/ANALYTICS", "snowflake://xy12345.us-west-1.aws"),
        ("snowflake://reader:pw@xy12345.us-east-1/ANALYTICS", "snowflake://xy12345.us-east-1.aws"),
        ("bigquery://my-project?location=EU", "bigquery"),
        (
            "redshift+redshift_connector://u:p@examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com:5439/dev",
            "redshift://examplecluster.us-west-2:5439",
        ),
        (
            "redshift+redshift_connector://u:p@wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com/dev",
            "redshift://wg.eu-west-1:5439",
        ),
    ],
)
def test_the_namespace_follows_openlineage_naming(url: str, namespace: str) -> None:
    assert namespace_for(url) == namespace


def test_the_namespace_never_carries_credentials() -> None:
    assert "secret" not in namespace_for("postgresql://reader:secret@db:5432/shop")


def test_snowflake_account_forms_match_the_openlineage_client() -> None:
    assert snowflake_account("XY12345.us-east-2.aws.snowflakecomputing.com") == "xy12345.us-east-2.aws"
    assert snowflake_account("myorg-myaccount") == "myorg-myaccount"


def test_an_unsupported_database_is_named_in_the_error() -> None:
    with pytest.raises(UnsupportedWarehouse, match="mysql"):
        namespace_for("mysql://root@localhost/shop")


@pytest.mark.parametrize(
    ("dialect", "written", "quoted", "stored"),
    [
        ("postgres", "Orders", False, "orders"),
        ("postgres", "Orders", True, "Orders"),
        ("redshift", "Orders", False, "orders"),
        ("snowflake", "orders", False, "ORDERS"),
        ("snowflake", "orders", True, "orders"),
        ("duckdb", "Orders", True, "orders"),
        ("bigquery", "Orders", False, "Orders"),
    ],
)
def test_identifiers_fold_the_way_each_engine_stores_them(
    dialect: str, written: str, quoted: bool, stored: str
) -> None:
    assert sql_identifier(written, dialect, quoted=quoted) == stored


def test_dotted_names_keep_quoted_dots() -> None:
    assert split_dotted('shop.public."odd.name"') == ["shop", "public", "odd.name"]
    assert split_dotted("proj.`data set`.t") == ["proj", "data set", "t"]
