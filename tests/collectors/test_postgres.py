"""Collecting a real PostgreSQL database: tables, schema versions, row counts and writes, profiles,
query lineage, privileges, outages, and a catalog cost that does not grow with the number of tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from collectors.runner import collect_once
from collectors.warehouse.base import LoggedQuery, QueryLog
from collectors.warehouse.collect import collect_warehouse
from collectors.warehouse.postgres import PostgresAdapter
from observer.catalog import DatasetRef
from observer.catalog import service as catalog
from observer.catalog.tables import datasets, jobs
from observer.clock import SimulatedClock
from observer.store import Store
from tests.collectors.conftest import START
from tests.collectors.helpers import RecordingGraph, database, run, warehouse

pytestmark = pytest.mark.postgres

NAMESPACE = "postgres://127.0.0.1:5432"


@pytest.fixture
def shop(postgres_url: str) -> Iterator[Engine]:
    """A warehouse database with ``public.orders`` (100 rows, one an hour, the newest an hour before
    START) and a view."""
    with database(postgres_url) as engine:
        run(
            engine,
            "CREATE SCHEMA marts",
            """CREATE TABLE public.orders (
                   id integer PRIMARY KEY, amount numeric(10, 2), status text, customer_id integer,
                   created_at timestamptz NOT NULL)""",
            "COMMENT ON TABLE public.orders IS 'one row per order'",
            "COMMENT ON COLUMN public.orders.amount IS 'gross, EUR'",
            "CREATE VIEW marts.paid_orders AS SELECT id, amount FROM public.orders WHERE status = 'paid'",
            f"""INSERT INTO public.orders
                SELECT i, i % 7 * 1.5, CASE i % 3 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' END, i % 10,
                       TIMESTAMPTZ '{START.isoformat()}' - interval '100 hours' + i * interval '1 hour'
                FROM generate_series(0, 99) AS i""",
        )
        run(engine, "ANALYZE public.orders")
        yield engine


def _ref(postgres_url: str, name: str) -> DatasetRef:
    return DatasetRef(NAMESPACE, f"{make_url(postgres_url).database}.{name}")


def _series(store: Store, ref: DatasetRef, metric: str, column: str = "") -> list[float]:
    with store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [ref])[ref]
        return [value for _, value in catalog.metric_series(connection, dataset_id, metric, column=column)]


def test_tables_and_views_are_found_with_columns_types_nullability_and_comments(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    report = collect_warehouse(warehouse("shop", postgres_url), store=catalog_store, clock=clock)
    assert report.ok, report.error
    assert report.namespace == NAMESPACE and report.tables == 2
    orders, paid = _ref(postgres_url, "public.orders"), _ref(postgres_url, "marts.paid_orders")
    with catalog_store.engine.connect() as connection:
        ids = catalog.find_dataset_ids(connection, [orders, paid])
        fields = catalog.schema_history(connection, ids[orders])[-1].fields
        kinds = dict(connection.execute(select(datasets.c.name, datasets.c.kind)).all())
        description = connection.execute(
            select(datasets.c.description).where(datasets.c.id == ids[orders])
        ).scalar_one()
    assert [(f.name, f.type, f.nullable) for f in fields] == [
        ("id", "integer", False),
        ("amount", "numeric(10,2)", True),
        ("status", "text", True),
        ("customer_id", "integer", True),
        ("created_at", "timestamp with time zone", False),
    ]
    assert fields[1].description == "gross, EUR"
    assert kinds == {orders.name: "TABLE", paid.name: "VIEW"}
    assert description == "one row per order"


def test_include_and_exclude_globs_choose_tables(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    run(shop, "CREATE TABLE public._tmp_load (id integer)")
    settings = warehouse("shop", postgres_url, include=["public.*"], exclude=["*._tmp*"])
    report = collect_warehouse(settings, store=catalog_store, clock=clock)
    assert report.tables == 1


def test_a_schema_change_is_recorded_as_a_new_version_and_an_unchanged_schema_is_not(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    settings = warehouse("shop", postgres_url)
    collect_warehouse(settings, store=catalog_store, clock=clock)
    run(
        shop,
        "ALTER TABLE public.orders ADD COLUMN note text",
        "ALTER TABLE public.orders DROP COLUMN customer_id",
    )
    clock.advance(timedelta(minutes=15))
    report = collect_warehouse(settings, store=catalog_store, clock=clock)
    assert report.schema_versions == 1
    orders, paid = _ref(postgres_url, "public.orders"), _ref(postgres_url, "marts.paid_orders")
    with catalog_store.engine.connect() as connection:
        ids = catalog.find_dataset_ids(connection, [orders, paid])
        history = catalog.schema_history(connection, ids[orders])
        assert len(catalog.schema_history(connection, ids[paid])) == 1
    assert [len(version.fields) for version in history] == [5, 5]
    assert [f.name for f in history[1].fields] == ["id", "amount", "status", "created_at", "note"]
    assert history[1].observed_at == START + timedelta(minutes=15)


def test_row_counts_and_write_metrics_advance_and_writes_become_updates(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    settings = warehouse("shop", postgres_url)
    collect_warehouse(settings, store=catalog_store, clock=clock)
    run(
        shop,
        f"""INSERT INTO public.orders SELECT i, 1, 'new', 1, TIMESTAMPTZ '{START.isoformat()}'
            FROM generate_series(100, 109) AS i""",
        "DELETE FROM public.orders WHERE id < 3",
    )
    clock.advance(timedelta(minutes=15))
    report = collect_warehouse(settings, store=catalog_store, clock=clock)
    assert report.updates == 1
    orders = _ref(postgres_url, "public.orders")
    assert _series(catalog_store, orders, "row_count") == [100, 107]
    assert _series(catalog_store, orders, "rows_inserted") == [10]
    assert _series(catalog_store, orders, "rows_deleted") == [3]
    assert _series(catalog_store, orders, "size_bytes")[0] > 0
    with catalog_store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [orders])[orders]
        assert catalog.update_history(connection, dataset_id) == [START + timedelta(minutes=15)]


def test_a_quiet_table_is_not_written_again_until_the_hourly_heartbeat(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    settings = warehouse("shop", postgres_url)
    for _ in range(5):
        collect_warehouse(settings, store=catalog_store, clock=clock)
        clock.advance(timedelta(minutes=15))
    orders = _ref(postgres_url, "public.orders")
    assert _series(catalog_store, orders, "row_count") == [100, 100]
    assert _series(catalog_store, orders, "rows_inserted") == []


def test_a_profiled_table_yields_rows_per_bucket_and_column_metrics(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    profile = {
        "table": "public.orders",
        "timestamp_column": "created_at",
        "columns": ["amount", "status", "customer_id"],
        "lookback": "7d",
    }
    settings = warehouse("shop", postgres_url, profiles=[profile])
    report = collect_warehouse(settings, store=catalog_store, clock=clock)
    assert report.ok and report.profiles == 1 and not report.warnings
    orders = _ref(postgres_url, "public.orders")
    with catalog_store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [orders])[orders]
        buckets = catalog.metric_series(connection, dataset_id, "rows_per_bucket")
    day = timedelta(days=1)
    start_of_day = START.replace(hour=0)
    assert buckets == [
        (start_of_day - 4 * day, 16.0),
        (start_of_day - 3 * day, 24.0),
        (start_of_day - 2 * day, 24.0),
        (start_of_day - day, 24.0),
        (start_of_day, 12.0),
    ]
    assert _series(catalog_store, orders, "null_rate", "status") == [pytest.approx(0.33)]
    assert _series(catalog_store, orders, "null_count", "status") == [33]
    assert _series(catalog_store, orders, "distinct_count", "customer_id") == [10]
    assert _series(catalog_store, orders, "min", "amount") == [0]
    assert _series(catalog_store, orders, "max", "amount") == [9]
    assert _series(catalog_store, orders, "p50", "amount") == [4.5]
    assert _series(catalog_store, orders, "category_share:paid", "status") == [pytest.approx(0.33)]
    assert _series(catalog_store, orders, "event_lag_seconds") == [3600.0]

    run(shop, f"INSERT INTO public.orders VALUES (500, 2, 'paid', 1, TIMESTAMPTZ '{START.isoformat()}')")
    clock.advance(timedelta(minutes=15))
    collect_warehouse(settings, store=catalog_store, clock=clock)
    with catalog_store.engine.connect() as connection:
        remeasured = dict(catalog.metric_series(connection, dataset_id, "rows_per_bucket"))
    assert remeasured[start_of_day] == 13.0


def test_collector_sessions_are_read_only_and_time_limited(postgres_url: str) -> None:
    adapter = PostgresAdapter(warehouse("shop", postgres_url, statement_timeout="1s"))
    engine = adapter.create_engine()
    try:
        with engine.connect() as connection, pytest.raises(DBAPIError, match="read-only transaction"):
            connection.execute(text("CREATE TABLE public.sneaky (id integer)"))
        with engine.connect() as connection, pytest.raises(DBAPIError, match="statement timeout"):
            connection.execute(text("SELECT pg_sleep(5)"))
    finally:
        engine.dispose()


def test_catalog_queries_do_not_grow_with_the_number_of_tables(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    settings = warehouse("shop", postgres_url)
    small = collect_warehouse(settings, store=catalog_store, clock=clock)
    run(shop, *(f"CREATE TABLE marts.t{i} (id integer, label text)" for i in range(40)))
    clock.advance(timedelta(minutes=15))
    large = collect_warehouse(settings, store=catalog_store, clock=clock)
    assert (small.tables, large.tables) == (2, 42)
    assert large.metadata_queries == small.metadata_queries == 3
    assert large.queries == small.queries


def test_exact_row_counts_replace_the_estimates(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    run(shop, "CREATE TABLE public.unanalyzed AS SELECT generate_series(1, 5) AS id")
    report = collect_warehouse(
        warehouse("shop", postgres_url, row_counts="exact"), store=catalog_store, clock=clock
    )
    assert report.ok
    assert _series(catalog_store, _ref(postgres_url, "public.unanalyzed"), "row_count") == [5]
    assert _series(catalog_store, _ref(postgres_url, "public.orders"), "row_count") == [100]


def test_a_missing_privilege_names_the_grant_and_the_rest_is_still_collected(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    role = f"observer_reader_{uuid.uuid4().hex[:8]}"
    run(shop, f"CREATE ROLE {role} LOGIN")
    try:
        url = make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
        settings = warehouse("shop", url, profiles=[{"table": "public.orders", "columns": ["amount"]}])
        report = collect_warehouse(settings, store=catalog_store, clock=clock)
        assert report.ok and report.tables == 2
        assert any(f"GRANT SELECT ON public.orders TO {role}" in warning for warning in report.warnings)
    finally:
        run(shop, f"DROP ROLE {role}")


def test_a_warehouse_that_is_down_is_reported_and_the_others_are_still_collected(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    down = make_url(postgres_url).set(port=1).render_as_string(hide_password=False)
    reports = collect_once(
        [warehouse("offline", down), warehouse("shop", postgres_url)], store=catalog_store, clock=clock
    )
    offline, shop_report = reports
    assert not offline.ok and shop_report.ok
    assert offline.error is not None
    assert (
        "warehouse offline" in offline.error
        and "cannot connect to PostgreSQL at 127.0.0.1:1" in offline.error
    )


def test_logged_write_statements_become_lineage_jobs_and_updates(
    shop: Engine,
    postgres_url: str,
    catalog_store: Store,
    clock: SimulatedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pg_stat_statements rows are given here (the server may lack the preloaded library); the
    test that reads the real view follows."""
    run(shop, "CREATE TABLE marts.daily_revenue (day date, revenue numeric)")
    statement = (
        "INSERT INTO marts.daily_revenue (day, revenue) "
        "SELECT created_at::date, sum(amount) FROM orders WHERE status = $1 GROUP BY 1"
    )
    calls = {"count": 3}
    database_name = make_url(postgres_url).database

    def logged(self: PostgresAdapter, connection: object, since: object, now: object) -> QueryLog:
        query = LoggedQuery(
            sql=statement,
            key="42",
            runs=calls["count"],
            cumulative=True,
            default_database=database_name,
            default_schema="public",
        )
        return QueryLog(queries=[query])

    monkeypatch.setattr(PostgresAdapter, "query_log", logged)
    graph = RecordingGraph()
    settings = warehouse("shop", postgres_url, query_history=True)
    first = collect_warehouse(settings, store=catalog_store, clock=clock, graph=graph)
    assert first.lineage_statements == 1 and first.updates == 0
    target = _ref(postgres_url, "marts.daily_revenue")
    source = _ref(postgres_url, "public.orders")
    assert (source.name, "amount", target.name, "revenue") in graph.column_edges()
    job = graph.batches[0].dataset_edges[0].job
    assert job.namespace == NAMESPACE and job.name.startswith("query.")
    with catalog_store.engine.connect() as connection:
        (name, facets), *others = connection.execute(select(jobs.c.name, jobs.c.facets)).all()
    assert name == job.name and not others
    assert facets["sql"] == {"query": statement, "dialect": "postgres"}

    calls["count"] = 5
    clock.advance(timedelta(minutes=15))
    second = collect_warehouse(settings, store=catalog_store, clock=clock, graph=graph)
    assert second.updates == 1
    with catalog_store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [target])[target]
        assert catalog.update_history(connection, dataset_id) == [START + timedelta(minutes=15)]


def test_pg_stat_statements_lineage_on_a_server_that_loads_it(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    try:
        run(
            shop,
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
            "SELECT count(*) FROM pg_stat_statements",
        )
    except DBAPIError as error:
        pytest.skip(f"pg_stat_statements is not usable on this server: {str(error.orig).splitlines()[0]}")
    run(
        shop,
        "CREATE TABLE marts.status_counts AS SELECT status, count(*) AS orders FROM public.orders GROUP BY status",
        "INSERT INTO marts.status_counts SELECT status, count(*) FROM public.orders GROUP BY status",
    )
    graph = RecordingGraph()
    report = collect_warehouse(
        warehouse("shop", postgres_url, query_history=True), store=catalog_store, clock=clock, graph=graph
    )
    assert report.ok and report.lineage_statements >= 1
    target = _ref(postgres_url, "marts.status_counts").name
    assert (_ref(postgres_url, "public.orders").name, "status", target, "status") in graph.column_edges()


def test_a_database_without_the_loaded_library_gets_a_clear_warning(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    with create_engine(postgres_url).connect() as connection:
        try:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            connection.commit()
            connection.execute(text("SELECT count(*) FROM pg_stat_statements"))
            pytest.skip("this server loads pg_stat_statements")
        except DBAPIError:
            pass
    report = collect_warehouse(
        warehouse("shop", postgres_url, query_history=True), store=catalog_store, clock=clock
    )
    assert report.ok
    assert any("shared_preload_libraries" in warning for warning in report.warnings)


def test_partitions_are_folded_into_their_parent_table(
    shop: Engine, postgres_url: str, catalog_store: Store, clock: SimulatedClock
) -> None:
    run(
        shop,
        "CREATE TABLE public.events (id integer, day date) PARTITION BY RANGE (day)",
        "CREATE TABLE public.events_2026_03 PARTITION OF public.events FOR VALUES FROM ('2026-03-01') TO ('2026-04-01')",
        "CREATE TABLE public.events_2026_04 PARTITION OF public.events FOR VALUES FROM ('2026-04-01') TO ('2026-05-01')",
        "INSERT INTO public.events SELECT i, DATE '2026-03-20' + i FROM generate_series(0, 29) AS i",
    )
    report = collect_warehouse(warehouse("shop", postgres_url), store=catalog_store, clock=clock)
    assert report.tables == 3
    events = _ref(postgres_url, "public.events")
    assert _series(catalog_store, events, "row_count") == [30]
    with catalog_store.engine.connect() as connection:
        names = set(connection.execute(select(datasets.c.name)).scalars())
    assert not any("events_2026" in name for name in names)
