"""Prometheus metrics with stable names; every exported metric is declared here.

The names and labels are a contract: dashboards (``dashboards/grafana/``) and users' alert rules
query them, so they are only ever added to, never renamed. ``docs/metrics.md`` lists them with the
component that updates each one.

Label conventions: ``namespace`` and ``dataset`` are the dataset identity (OpenLineage naming);
``check`` is ``freshness``, ``volume``, ``schema`` or ``distribution``; ``warehouse`` is the
configured warehouse name; ``channel`` an alert channel kind (``slack``, ``webhook``, ``console``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DATASET_LABELS = ("namespace", "dataset")

# HTTP (API server) ----------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "observer_http_requests_total",
    "HTTP requests served, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "observer_http_request_duration_seconds",
    "HTTP request handling time, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Freshness and checks (sidecar and `observer check`) -----------------------------------------

FRESHNESS_AGE = Gauge(
    "observer_freshness_age_seconds",
    "Seconds since the dataset's last observed update (a lower bound until an update is seen).",
    DATASET_LABELS,
)
FRESHNESS_LAST_UPDATE = Gauge(
    "observer_freshness_last_update_timestamp_seconds",
    "Unix time of the dataset's last observed update.",
    DATASET_LABELS,
)
FRESHNESS_EXPECTED_BY = Gauge(
    "observer_freshness_expected_by_timestamp_seconds",
    "Unix time by which the next update is due (learned rhythm or SLA); absent while unknown.",
    DATASET_LABELS,
)
CHECK_STATUS = Gauge(
    "observer_check_status",
    "Latest result of a check on a dataset: 0 ok, 1 problem found, 2 cannot be judged yet.",
    ["check", *DATASET_LABELS],
)
CHECK_DURATION = Histogram(
    "observer_check_duration_seconds",
    "Time to run one kind of check over all its datasets in a cycle.",
    ["check"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CHECKS_FAILING = Gauge(
    "observer_checks_failing",
    "Datasets whose latest check of this kind found a problem.",
    ["check"],
)
DETECTOR_FINDINGS = Counter(
    "observer_detector_findings_total",
    "Findings raised by detectors (a problem newly found), by kind and severity.",
    ["kind", "severity"],
)

# Sidecar cycles and warehouses ----------------------------------------------------------------

SIDECAR_CYCLES = Counter(
    "observer_sidecar_cycles_total",
    "Check cycles run by the sidecar, by outcome (ok: every warehouse answered; error: not).",
    ["outcome"],
)
SIDECAR_CYCLE_DURATION = Histogram(
    "observer_sidecar_cycle_duration_seconds",
    "Wall time of one sidecar check cycle.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SIDECAR_LAST_SUCCESS = Gauge(
    "observer_sidecar_last_success_timestamp_seconds",
    "Unix time at which the last fully successful cycle finished.",
)
SIDECAR_DATASETS = Gauge(
    "observer_sidecar_datasets_watched",
    "Datasets the sidecar watches, by warehouse.",
    ["warehouse"],
)
SIDECAR_FORWARDS = Counter(
    "observer_sidecar_forwards_total",
    "Batches of findings sent to the central Observer, by outcome (sent, failed).",
    ["outcome"],
)
WAREHOUSE_UP = Gauge(
    "observer_warehouse_up",
    "1 when the warehouse answered the last cycle's queries, 0 when it did not.",
    ["warehouse"],
)
WAREHOUSE_QUERIES = Counter(
    "observer_warehouse_queries_total",
    "Queries sent to a warehouse's catalog or tables.",
    ["warehouse"],
)
WAREHOUSE_ERRORS = Counter(
    "observer_warehouse_errors_total",
    "Failed attempts to read a warehouse (connection refused, timeout, permission).",
    ["warehouse"],
)

# Incidents and alerts (issue 8 updates these) --------------------------------------------------

INCIDENTS_OPEN = Gauge(
    "observer_incidents_open",
    "Incidents currently open, by severity.",
    ["severity"],
)
ALERT_DELIVERIES = Counter(
    "observer_alert_deliveries_total",
    "Alert messages delivered, by channel kind.",
    ["channel"],
)
ALERT_FAILURES = Counter(
    "observer_alert_delivery_failures_total",
    "Alert delivery attempts that failed (each retry counts), by channel kind.",
    ["channel"],
)
ALERT_OUTBOX_PENDING = Gauge(
    "observer_alert_outbox_pending",
    "Alert messages planned but not delivered yet (waiting, retrying or held by quiet hours).",
)

# Ingest and projection (issue 3 updates these) -------------------------------------------------

INGEST_EVENTS = Counter(
    "observer_ingest_events_total",
    "OpenLineage events received, by outcome (accepted, duplicate, rejected).",
    ["outcome"],
)
INGEST_BYTES = Counter(
    "observer_ingest_bytes_total",
    "Bytes of OpenLineage event bodies accepted.",
)
PROJECTION_LAG_EVENTS = Gauge(
    "observer_projection_lag_events",
    "Accepted events the projection worker has not applied yet.",
)
PROJECTION_LAG_SECONDS = Gauge(
    "observer_projection_lag_seconds",
    "Age of the oldest accepted event the projection worker has not applied yet (0 when caught up).",
)
PROJECTED_EVENTS = Counter(
    "observer_projection_events_total",
    "Events applied to the projections (runs, datasets, schemas, lineage graph).",
)
