"""The configuration model: one pydantic model per section of ``observer.yaml``.

Every model forbids unknown keys, so a typo is an error naming the key instead of a setting
that silently does nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

Scope = Literal["ingest", "read", "admin"]


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Read ``90s``, ``15m``, ``6h``, ``2d``, ``1w`` (or a number of seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    text = value.strip().lower()
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].strip().replace(".", "", 1).isdigit():
            return timedelta(seconds=float(text[: -len(suffix)]) * units[suffix])
    if text.replace(".", "", 1).isdigit():
        return timedelta(seconds=float(text))
    raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 6h, 2d)")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""A duration setting: accepts ``15m`` style strings (see :func:`parse_duration`)."""


def observer_home() -> Path:
    return Path(os.environ.get("OBSERVER_HOME", ".observer"))


class StoreSettings(Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///$OBSERVER_HOME/observer.db",
    )
    pool_size: int = Field(default=5, ge=1)
    echo: bool = False

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        return f"sqlite:///{(observer_home() / 'observer.db').as_posix()}"


class GraphSettings(Section):
    backend: Literal["embedded", "neo4j"] = "embedded"
    uri: str | None = Field(default=None, description="bolt://host:port for the neo4j backend")
    user: str | None = None
    password: SecretStr | None = None
    database: str | None = None
    max_nodes: int = Field(default=10_000, ge=1, description="default cap on the nodes a walk returns")
    max_message_bytes: int | None = Field(
        default=None,
        ge=512,
        description="split Bolt requests above this size (FalkorDB's Bolt accepts about 4000 bytes)",
    )
    retry_interval: Duration = Field(
        default=timedelta(seconds=15), description="wait before pushing to an unreachable neo4j again"
    )
    connect_timeout: Duration = Field(default=timedelta(seconds=5), description="Bolt connect and handshake")

    @model_validator(mode="after")
    def _neo4j_needs_uri(self) -> GraphSettings:
        if self.backend == "neo4j" and not self.uri:
            raise ValueError("graph.backend is neo4j but graph.uri is not set")
        return self


def _read_only() -> list[Scope]:
    return ["read"]


class ApiToken(Section):
    name: str
    token: SecretStr | None = Field(default=None, description="the token itself, usually ${ENV_VAR}")
    sha256: str | None = Field(default=None, description="hex sha256 of the token, instead of the token")
    scopes: list[Scope] = Field(default_factory=_read_only)

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("sha256 must be 64 hex characters")
        return value

    @model_validator(mode="after")
    def _exactly_one_secret(self) -> ApiToken:
        if (self.token is None) == (self.sha256 is None):
            raise ValueError("give exactly one of token or sha256")
        if self.token is not None and not self.token.get_secret_value():
            raise ValueError("token is empty")
        return self

    def digest(self) -> str:
        if self.sha256 is not None:
            return self.sha256
        assert self.token is not None
        return hashlib.sha256(self.token.get_secret_value().encode()).hexdigest()

    def matches(self, presented: str) -> bool:
        candidate = hashlib.sha256(presented.encode()).hexdigest()
        return hmac.compare_digest(candidate, self.digest())


class ApiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=0, le=65535)
    auth: Literal["tokens", "none"] | None = Field(
        default=None,
        description="tokens (default when tokens are configured) or none (explicitly open)",
    )
    tokens: list[ApiToken] = Field(default_factory=list)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    public_url: str | None = Field(default=None, description="base URL used in links (alerts, UI)")

    @model_validator(mode="after")
    def _tokens_when_auth_tokens(self) -> ApiSettings:
        if self.auth == "tokens" and not self.tokens:
            raise ValueError("api.auth is tokens but no api.tokens are configured")
        return self


class IngestSettings(Section):
    max_projection_lag: int = Field(
        default=200_000, ge=1, description="unprojected events after which ingest answers 503"
    )
    retention_events: Duration | None = Field(default=None, description="keep raw events this long")
    retention_runs: Duration | None = Field(default=None, description="keep run history this long")
    retention_every: Duration = Field(
        default=timedelta(hours=1), description="how often the server applies the retention settings"
    )
    worker: bool = Field(default=True, description="run the projection worker inside the server")
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="largest request body, before and after gunzip (413)"
    )
    retry_after: int = Field(default=5, ge=1, description="seconds in Retry-After when answering 503")
    commit_max_events: int = Field(
        default=5000, ge=1, description="most events one group commit of the event log writes"
    )
    durable_commits: bool = Field(
        default=True, description="SQLite: fsync the event log on every group commit (synchronous=FULL)"
    )
    projection_batch: int = Field(default=200, ge=1, description="events the projection reads at a time")
    invalid_facets: Literal["reject", "ignore"] = Field(
        default="reject",
        description="a standard facet the projection cannot use: reject the event (422) or ignore the facet",
    )


class LineageSettings(Section):
    time_budget: Duration = Field(default=timedelta(seconds=2))
    default_dialect: str | None = None


# region alerts and owners (issue 8) ---------------------------------------------------------

AlertSeverity = Literal["info", "warning", "error", "critical"]
_CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


class SlackSettings(Section):
    bot_token: SecretStr | None = Field(default=None, description="xoxb-… bot token, usually ${ENV_VAR}")
    signing_secret: SecretStr | None = Field(
        default=None, description="verifies button clicks at POST /slack/actions"
    )
    base_url: str = Field(default="https://slack.com/api/", description="Slack Web API base URL")
    default_channel: str | None = Field(default=None, description="channel when no route names one")
    buttons: bool = Field(default=True, description="acknowledge / mute 24h buttons (need signing_secret)")
    timeout: Duration = Field(default=timedelta(seconds=10))


class NamedWebhook(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    url: SecretStr = Field(description="the webhook URL is a secret: give it as ${ENV_VAR}")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="generic webhooks only")


class AlertRoute(Section):
    """Incidents whose root dataset matches go to ``channel`` (Slack bot) and the ``notify`` list."""

    namespace: str = Field(default="*", description="glob on the dataset namespace")
    dataset: str = Field(default="*", description="glob on the dataset name")
    tags: list[str] = Field(default_factory=list, description="match when the dataset has any of them")
    min_severity: AlertSeverity = "info"
    channel: str | None = None
    notify: list[str] = Field(
        default_factory=list, description="names of slack_webhooks / webhooks, or console"
    )
    continue_matching: bool = Field(default=False, alias="continue", description="also try later routes")


class QuietHours(Section):
    start: str = Field(pattern=_CLOCK_TIME, description="HH:MM local time")
    end: str = Field(pattern=_CLOCK_TIME, description="HH:MM local time; before start means next day")
    timezone: str = "UTC"
    bypass_severity: AlertSeverity = Field(
        default="critical", description="incidents at or above this severity are sent anyway"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class OutboxSettings(Section):
    max_attempts: int = Field(default=10, ge=1)
    backoff: Duration = Field(
        default=timedelta(seconds=5), description="first retry delay, doubled each time"
    )
    max_backoff: Duration = Field(default=timedelta(hours=1))
    poll_interval: Duration = Field(default=timedelta(seconds=2))
    lease: Duration = Field(
        default=timedelta(minutes=2), description="a delivery in flight longer is retried"
    )


class AlertSettings(Section):
    enabled: bool = True
    group_window: Duration = Field(
        default=timedelta(hours=6),
        description="findings downstream of an incident active this recently join it",
    )
    impact_depth: int = Field(default=5, ge=1, le=50)
    suspect_depth: int = Field(default=5, ge=1, le=50)
    suspect_window: Duration = Field(default=timedelta(hours=24))
    top_assets: int = Field(default=5, ge=1, le=20, description="impacted assets listed by name")
    slack: SlackSettings | None = None
    slack_webhooks: list[NamedWebhook] = Field(default_factory=list)
    webhooks: list[NamedWebhook] = Field(default_factory=list)
    console: bool = Field(default=False, description="print incidents to stderr")
    routes: list[AlertRoute] = Field(default_factory=list)
    quiet_hours: QuietHours | None = None
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)

    @model_validator(mode="after")
    def _names_resolve(self) -> AlertSettings:
        names = [hook.name for hook in (*self.slack_webhooks, *self.webhooks)]
        duplicates = sorted({name for name in names if names.count(name) > 1} | ({"console"} & set(names)))
        if duplicates:
            raise ValueError(f"notifier names must be unique and not 'console': {', '.join(duplicates)}")
        for index, route in enumerate(self.routes):
            unknown = [name for name in route.notify if name not in names and name != "console"]
            if unknown:
                raise ValueError(f"routes[{index}].notify names unknown notifiers: {', '.join(unknown)}")
            if route.channel and (self.slack is None or self.slack.bot_token is None):
                raise ValueError(f"routes[{index}].channel needs alerts.slack.bot_token")
        return self


class OwnerRule(Section):
    namespace: str = Field(default="*", description="glob on the dataset namespace")
    dataset: str = Field(default="*", description="glob on the dataset name")
    owners: list[str] = Field(min_length=1)


class OwnerSettings(Section):
    rules: list[OwnerRule] = Field(default_factory=list)
    slack: dict[str, str] = Field(
        default_factory=dict,
        description="owner name -> Slack user id (U…/W…), user group id (S…) or @here/@channel",
    )

    @field_validator("slack")
    @classmethod
    def _slack_ids(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        valid = re.compile(r"^([UWS][A-Z0-9]{2,}|@here|@channel|@everyone)$")
        wrong = sorted(owner for owner, target in value.items() if not valid.match(target.strip()))
        if wrong:
            raise ValueError(f"not a Slack user (U…), user group (S…) or @here: {', '.join(wrong)}")
        return value


# endregion alerts and owners ----------------------------------------------------------------


# region checks and sidecar (issue 9) --------------------------------------------------------

SensitivityLevel = Literal["low", "medium", "high"]


class FreshnessCheckSettings(Section):
    """Freshness of matching datasets: a learned rhythm unless an SLA is given."""

    enabled: bool | None = None
    max_age: Duration | None = Field(default=None, description="SLA: never older than this (e.g. 6h)")
    expected_by: str | None = Field(
        default=None, description="SLA: cron (UTC) of the moments by which an update must have landed"
    )
    sensitivity: SensitivityLevel | None = None
    timestamp_column: str | None = Field(
        default=None, description="sidecar: read max(column) as the last update instead of change counters"
    )

    @field_validator("expected_by")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        from croniter import croniter

        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r} (e.g. '0 7 * * *' for 07:00 UTC daily)")
        return value


class VolumeCheckSettings(Section):
    enabled: bool | None = None
    sensitivity: SensitivityLevel | None = None
    direction: Literal["drop", "spike", "both"] | None = None


class SchemaCheckSettings(Section):
    enabled: bool | None = None


class DistributionCheckSettings(Section):
    enabled: bool | None = None
    sensitivity: SensitivityLevel | None = None


class CheckRule(Section):
    """Settings for the datasets matching both globs; later matching rules override earlier ones."""

    namespace: str = Field(default="*", description="glob on the dataset namespace")
    dataset: str = Field(default="*", description="glob on the dataset name, e.g. analytics.public.*")
    freshness: FreshnessCheckSettings = Field(default_factory=FreshnessCheckSettings)
    volume: VolumeCheckSettings = Field(default_factory=VolumeCheckSettings)
    schema_: SchemaCheckSettings = Field(default_factory=SchemaCheckSettings, alias="schema")
    distribution: DistributionCheckSettings = Field(default_factory=DistributionCheckSettings)


class ChecksSettings(Section):
    interval: Duration = Field(
        default=timedelta(minutes=5), description="time between the server's check passes over the store"
    )
    sensitivity: SensitivityLevel = Field(default="medium", description="default for every check")
    rules: list[CheckRule] = Field(default_factory=list)


class SidecarSettings(Section):
    name: str | None = Field(default=None, description="reported to the central server; default the hostname")
    interval: Duration = Field(default=timedelta(seconds=60), description="time between check cycles")
    jitter: Duration = Field(default=timedelta(seconds=5), description="random extra delay before each cycle")
    host: str = Field(default="0.0.0.0", description="address of /healthz, /readyz and /metrics")
    port: int = Field(default=9465, ge=0, le=65535)
    ready_within: Duration | None = Field(
        default=None, description="/readyz fails when no cycle succeeded this recently (default 3 intervals)"
    )
    query_timeout: Duration = Field(
        default=timedelta(seconds=10),
        description="cap on each warehouse query, so SIGTERM is honoured quickly",
    )
    warehouses: list[str] = Field(
        default_factory=list, description="names of `warehouses` entries to watch; empty: all of them"
    )
    central_url: str | None = Field(default=None, description="forward findings to this Observer server")
    central_token: SecretStr | None = Field(default=None, description="API token with the ingest scope")

    @model_validator(mode="after")
    def _token_with_central(self) -> SidecarSettings:
        if self.central_url and self.central_token is None:
            raise ValueError("sidecar.central_url is set but sidecar.central_token is not")
        return self

    def readiness_window(self) -> timedelta:
        return self.ready_within or 3 * (self.interval + self.jitter)


# endregion checks and sidecar ---------------------------------------------------------------


# region warehouses and dbt (issue 6) ---------------------------------------------------------


class ProfileSettings(Section):
    """Column metrics for one table, computed in the warehouse in one query per collection."""

    table: str = Field(description="schema.table (or database.schema.table) as the warehouse names it")
    timestamp_column: str | None = Field(
        default=None, description="enables rows-per-bucket volume and event freshness"
    )
    columns: list[str] = Field(default_factory=list, description="columns to profile")
    bucket: Literal["day", "hour"] = Field(default="day", description="width of the rows-per-bucket series")
    lookback: Duration = Field(
        default=timedelta(days=30), description="rows per bucket are (re)counted this far back"
    )
    column_window: Duration | None = Field(
        default=None,
        description="profile only rows whose timestamp_column is this recent (default: the whole table)",
    )
    top_categories: int = Field(default=10, ge=0, le=100, description="category shares kept per text column")

    @model_validator(mode="after")
    def _window_needs_timestamp(self) -> ProfileSettings:
        if self.column_window is not None and not self.timestamp_column:
            raise ValueError("column_window needs timestamp_column")
        return self


class WarehouseSettings(Section):
    """A warehouse collected on a schedule: schemas, row counts, freshness, profiles, query lineage."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    url: SecretStr = Field(description="any SQLAlchemy URL, usually with ${ENV_VAR} for the password")
    namespace: str | None = Field(
        default=None,
        description="OpenLineage namespace; default derived from the URL (postgres://host:port …)",
    )
    include: list[str] = Field(default_factory=lambda: ["*"], description="schema.table globs")
    exclude: list[str] = Field(default_factory=list, description="schema.table globs")
    interval: Duration = Field(default=timedelta(minutes=15), description="time between collections")
    row_counts: Literal["estimate", "exact"] = Field(
        default="estimate", description="catalog estimate, or COUNT(*) per table (scans every table)"
    )
    profiles: list[ProfileSettings] = Field(default_factory=list)
    query_history: bool = Field(default=False, description="lineage and write times from the query log")
    statement_timeout: Duration = Field(default=timedelta(seconds=60), description="per collector query")
    max_connections: int = Field(
        default=2, ge=1, le=32, description="concurrent connections (queries) to this warehouse"
    )

    @field_validator("include", "exclude")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern.strip():
                raise ValueError("an empty glob matches nothing; remove it")
        return value


class DbtSettings(Section):
    """A dbt project whose artifacts (target/) are read: datasets, lineage, tests, source freshness."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    target_dir: Path = Field(description="the project's target/ directory")
    warehouse: str | None = Field(
        default=None, description="name of the warehouses entry the project builds into (its namespace)"
    )
    namespace: str | None = Field(
        default=None, description="dataset namespace, when the warehouse is not configured here"
    )
    job_namespace: str = Field(default="dbt", description="namespace of model jobs (dbt-ol uses dbt)")
    interval: Duration = Field(
        default=timedelta(minutes=5), description="how often the server looks for new artifacts"
    )

    @model_validator(mode="after")
    def _one_namespace_source(self) -> DbtSettings:
        if (self.warehouse is None) == (self.namespace is None):
            raise ValueError("give exactly one of warehouse (a warehouses entry) or namespace")
        return self


_Named = TypeVar("_Named", WarehouseSettings, DbtSettings)


def _unique_names(entries: list[_Named]) -> list[_Named]:
    names = [entry.name for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"names must be unique: {', '.join(duplicates)}")
    return entries


WarehouseList = Annotated[list[WarehouseSettings], AfterValidator(_unique_names)]
DbtList = Annotated[list[DbtSettings], AfterValidator(_unique_names)]


# endregion warehouses and dbt ----------------------------------------------------------------


class Settings(Section):
    """The whole configuration."""

    store: StoreSettings = Field(default_factory=StoreSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    lineage: LineageSettings = Field(default_factory=LineageSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    owners: OwnerSettings = Field(default_factory=OwnerSettings)
    checks: ChecksSettings = Field(default_factory=ChecksSettings)
    sidecar: SidecarSettings = Field(default_factory=SidecarSettings)
    warehouses: WarehouseList = Field(default_factory=list)
    dbt: DbtList = Field(default_factory=list)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
