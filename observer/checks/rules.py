"""Which checks apply to a dataset, with which settings: the ``checks.rules`` of the configuration.

Every rule whose ``namespace`` and ``dataset`` globs match contributes the keys it sets; a later
matching rule overrides an earlier one, key by key. A check is on unless a matching rule turns it
off (``enabled: false``); the sidecar runs volume and schema checks only where a rule turns them on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Any

from detectors.settings import Direction, FreshnessSettings, FreshnessSLA, Sensitivity, SeriesSettings
from observer.catalog.identity import DatasetRef
from observer.config.settings import CheckRule, ChecksSettings


@dataclass(frozen=True)
class DatasetChecks:
    """The checks that apply to one dataset; a ``None`` check is switched off."""

    freshness: FreshnessSettings | None
    volume: SeriesSettings | None
    schema: bool
    distribution: SeriesSettings | None  # the kind of each column metric is inferred from its values
    timestamp_column: str | None = None
    explicit: frozenset[str] = frozenset()  # check kinds a rule turned on by name

    def freshness_column(self) -> str | None:
        """The timestamp column whose newest value is the last update, when freshness is on."""
        return self.timestamp_column if self.freshness is not None else None

    def has_sla(self) -> bool:
        return self.freshness is not None and (
            self.freshness.sla.max_age is not None or self.freshness.sla.expected_by is not None
        )


class CheckRules:
    """Resolves (and caches) the checks of each dataset from the configured rules."""

    def __init__(self, settings: ChecksSettings) -> None:
        self.settings = settings
        self._cache: dict[DatasetRef, DatasetChecks] = {}

    def matching(self, ref: DatasetRef) -> list[CheckRule]:
        return [
            rule
            for rule in self.settings.rules
            if fnmatchcase(ref.namespace, rule.namespace) and fnmatchcase(ref.name, rule.dataset)
        ]

    def watches(self, ref: DatasetRef) -> bool:
        """True when some rule names the dataset, or when there are no rules at all."""
        return not self.settings.rules or bool(self.matching(ref))

    def for_dataset(self, ref: DatasetRef) -> DatasetChecks:
        checks = self._cache.get(ref)
        if checks is None:
            checks = self._cache[ref] = self._resolve(self.matching(ref))
        return checks

    def _resolve(self, rules: list[CheckRule]) -> DatasetChecks:
        merged: dict[str, dict[str, Any]] = {"freshness": {}, "volume": {}, "schema": {}, "distribution": {}}
        for rule in rules:
            for kind, section in (
                ("freshness", rule.freshness),
                ("volume", rule.volume),
                ("schema", rule.schema_),
                ("distribution", rule.distribution),
            ):
                merged[kind].update(section.model_dump(exclude_none=True))
        default = Sensitivity(self.settings.sensitivity)

        def enabled(kind: str) -> bool:
            return bool(merged[kind].get("enabled", True))

        fresh = merged["freshness"]
        freshness = None
        if enabled("freshness"):
            max_age: timedelta | None = fresh.get("max_age")
            freshness = FreshnessSettings(
                sensitivity=Sensitivity(fresh.get("sensitivity", default)),
                sla=FreshnessSLA(max_age=max_age, expected_by=fresh.get("expected_by")),
            )
        volume = None
        if enabled("volume"):
            volume = SeriesSettings(
                sensitivity=Sensitivity(merged["volume"].get("sensitivity", default)),
                direction=Direction(merged["volume"].get("direction", Direction.BOTH)),
            )
        distribution = None
        if enabled("distribution"):
            distribution = SeriesSettings(
                sensitivity=Sensitivity(merged["distribution"].get("sensitivity", default))
            )
        return DatasetChecks(
            freshness=freshness,
            volume=volume,
            schema=enabled("schema"),
            distribution=distribution,
            timestamp_column=fresh.get("timestamp_column"),
            explicit=frozenset(kind for kind, values in merged.items() if values.get("enabled") is True),
        )
