"""Who owns a dataset: the catalog's owners (OpenLineage ``ownership`` facets, dbt ``meta``) plus the
``owners:`` rules of the configuration, and how to mention each owner in Slack."""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

from sqlalchemy import Connection, select

from observer.catalog import service as catalog
from observer.catalog.identity import DatasetRef
from observer.catalog.tables import datasets
from observer.config.settings import OwnerSettings
from observer.incidents.sql import chunks, datasets_in

_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_SPECIAL = {"@here": "<!here>", "@channel": "<!channel>", "@everyone": "<!everyone>"}


class OwnerDirectory:
    def __init__(self, settings: OwnerSettings) -> None:
        self.settings = settings

    def configured_owners(self, ref: DatasetRef) -> list[str]:
        """Owners from the ``owners.rules`` whose namespace and dataset globs match ``ref``."""
        found: list[str] = []
        for rule in self.settings.rules:
            if fnmatchcase(ref.namespace, rule.namespace) and fnmatchcase(ref.name, rule.dataset):
                found.extend(owner for owner in rule.owners if owner not in found)
        return found

    def owners(self, connection: Connection, refs: Iterable[DatasetRef]) -> dict[DatasetRef, list[str]]:
        """Every owner of each dataset: the catalog's first, then the configured ones."""
        wanted = sorted(set(refs))
        recorded = _recorded_owners(connection, wanted)
        result: dict[DatasetRef, list[str]] = {}
        for ref in wanted:
            names = list(dict.fromkeys(recorded.get(ref, [])))
            names.extend(owner for owner in self.configured_owners(ref) if owner not in names)
            result[ref] = names
        return result

    def slack_mention(self, owner: str) -> str | None:
        """``<@U…>`` for a user, ``<!subteam^S…>`` for a user group; None when the owner has no Slack id."""
        target = self.settings.slack.get(owner)
        if target is None:
            return None
        target = target.strip()
        if target in _SPECIAL:
            return _SPECIAL[target]
        if _SLACK_USER.match(target):
            return f"<@{target}>"
        if _SLACK_GROUP.match(target):
            return f"<!subteam^{target}>"
        return None


def _recorded_owners(connection: Connection, refs: list[DatasetRef]) -> dict[DatasetRef, list[str]]:
    """Owners in the catalog, by identity; identities only known as symlinks go through the catalog's
    alias lookup."""
    found: dict[DatasetRef, list[str]] = {}
    seen: set[DatasetRef] = set()
    for chunk in chunks(refs):
        rows = connection.execute(
            select(datasets.c.namespace, datasets.c.name, datasets.c.owners).where(
                datasets_in(datasets.c.namespace, datasets.c.name, chunk)
            )
        )
        for namespace, name, owners in rows:
            ref = DatasetRef(namespace, name)
            seen.add(ref)
            found[ref] = _names(owners)
    unseen = [ref for ref in refs if ref not in seen]
    if unseen:
        found.update(catalog.owners_of(connection, unseen))
    return found


def _names(owners: object) -> list[str]:
    if not isinstance(owners, list):
        return []
    return [str(owner["name"]) for owner in owners if isinstance(owner, dict) and owner.get("name")]
