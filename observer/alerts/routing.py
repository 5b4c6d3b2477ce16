"""Where an incident's messages go (routes by namespace, dataset, tag and severity) and when
(quiet hours hold messages until they end, unless the incident is severe enough)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from observer.catalog.identity import DatasetRef
from observer.config.settings import AlertSettings, QuietHours
from observer.incidents.findings import severity_rank

SLACK = "slack"
CONSOLE = "console"


@dataclass(frozen=True, order=True)
class Destination:
    """A notifier (``slack`` for the bot, ``console``, or a webhook's name) and, for the bot, a channel."""

    notifier: str
    channel: str | None = None

    @property
    def key(self) -> str:
        return f"{self.notifier}:{self.channel}" if self.channel else self.notifier

    @classmethod
    def parse(cls, key: str) -> Destination:
        notifier, _, channel = key.partition(":")
        return cls(notifier, channel or None)


class Router:
    """Routes are tried in order; the first match wins unless it says ``continue: true``.

    Without any routes every configured notifier receives every incident (the Slack bot in its
    ``default_channel``). With routes, an incident no route matches is recorded but not sent.
    """

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings

    def defaults(self) -> list[Destination]:
        found: list[Destination] = []
        slack = self.settings.slack
        if slack is not None and slack.bot_token is not None and slack.default_channel:
            found.append(Destination(SLACK, slack.default_channel))
        found += [Destination(hook.name) for hook in (*self.settings.slack_webhooks, *self.settings.webhooks)]
        if self.settings.console:
            found.append(Destination(CONSOLE))
        return found

    def route(self, dataset: DatasetRef, tags: Sequence[str], severity: str) -> list[Destination]:
        if not self.settings.routes:
            return self.defaults()
        found: list[Destination] = []
        for route in self.settings.routes:
            if not (
                fnmatchcase(dataset.namespace, route.namespace)
                and fnmatchcase(dataset.name, route.dataset)
                and (not route.tags or any(tag in tags for tag in route.tags))
                and severity_rank(severity) >= severity_rank(route.min_severity)
            ):
                continue
            if route.channel:
                found.append(Destination(SLACK, route.channel))
            found += [Destination(name) for name in route.notify]
            if not route.continue_matching:
                break
        return list(dict.fromkeys(found))


class QuietHoursPolicy:
    def __init__(self, quiet: QuietHours | None) -> None:
        self.quiet = quiet
        self.zone = ZoneInfo(quiet.timezone) if quiet else None

    def release_at(self, now: datetime, severity: str) -> datetime | None:
        """When a message planned ``now`` may go out, or None when it may go out at once."""
        if self.quiet is None or self.zone is None:
            return None
        if severity_rank(severity) >= severity_rank(self.quiet.bypass_severity):
            return None
        start, end = _clock(self.quiet.start), _clock(self.quiet.end)
        if start == end:
            return None
        local = now.astimezone(self.zone)
        today = local.date()
        moment = local.time()
        if start < end:
            if start <= moment < end:
                return _at(today, end, self.zone, now)
            return None
        if moment >= start:
            return _at(today + timedelta(days=1), end, self.zone, now)
        if moment < end:
            return _at(today, end, self.zone, now)
        return None


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _at(day: date, moment: time, zone: ZoneInfo, now: datetime) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(now.tzinfo)
