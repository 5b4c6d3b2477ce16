"""What the demo prints: the set-up, one line per simulated week (and per day that matters), every
alert as the Slack message it would be, the incidents found, then the URLs and ``curl`` examples.

Alerts without Slack go through :class:`TerminalNotifier`: the same Block Kit message the Slack
notifiers send, rendered readably, printed and appended to ``alerts.txt``.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from observer.alerts.notifier import Delivery, Sent

WIDTH = 96
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^<>|]+)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^<>]*)?>")
_DATE = re.compile(r"<!date\^[^|<>]*\|([^<>]+)>")
_MENTION = re.compile(r"<([@#!][^<>|]+)(?:\|([^<>]+))?>")
_BOLD = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(\S(?:[^_\n]*\S)?)_(?![\w_])")


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn as plain text: links as ``text (url)``, dates as their fallback, no markup."""
    text = _DATE.sub(r"\1", text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _MENTION.sub(lambda match: match.group(2) or match.group(1), text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render_blocks(blocks: Sequence[dict[str, Any]]) -> list[str]:
    """Block Kit blocks as lines of text, in the order Slack shows them."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = str(block.get("text", {}).get("text", ""))
            lines += [title, "═" * min(len(title) + 2, WIDTH - 4)]
        elif kind == "section":
            text = block.get("text")
            if text:
                lines += [*mrkdwn_to_text(str(text.get("text", ""))).splitlines(), ""]
            fields = block.get("fields") or []
            if fields:
                lines += [*_fields(fields), ""]
        elif kind == "context":
            parts = [mrkdwn_to_text(str(element.get("text", ""))) for element in block.get("elements", [])]
            lines += [" · ".join(part for part in parts if part), ""]
        elif kind == "actions":
            buttons = [
                f"[ {element.get('text', {}).get('text', '')} ]"
                for element in block.get("elements", [])
                if element.get("type") == "button"
            ]
            lines += ["  ".join(buttons), ""]
        elif kind == "divider":
            lines += ["─" * (WIDTH - 4)]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _fields(fields: Sequence[dict[str, Any]]) -> list[str]:
    """Section fields (``*Label*\\nvalue``) as ``Label  value`` lines."""
    rows = []
    for item in fields:
        label, _, value = mrkdwn_to_text(str(item.get("text", ""))).partition("\n")
        rows.append((label.strip(), " · ".join(part.strip() for part in value.splitlines() if part.strip())))
    width = max(len(label) for label, _ in rows)
    return [f"{label.ljust(width)}  {value}" for label, value in rows]


def boxed(title: str, lines: Sequence[str]) -> str:
    top = f"┌─ {title} " + "─" * max(WIDTH - len(title) - 4, 0)
    body = [f"│ {line}".rstrip() for line in lines]
    return "\n".join([top, *body, "└" + "─" * (WIDTH - 1)])


def render_delivery(delivery: Delivery) -> str:
    """One outbox delivery as the boxed, readable form of its Slack message."""
    blocks = delivery.payload.get("blocks") or []
    lines = render_blocks(blocks) if blocks else str(delivery.payload.get("plain", "")).splitlines()
    when = f"{delivery.created_at:%Y-%m-%d %H:%M} UTC"
    if delivery.kind == "post":
        title = f"Slack message · incident #{delivery.incident_id} · {when}"
    else:
        title = f"Reply in the thread of incident #{delivery.incident_id} · {when}"
    return boxed(title, lines)


class TerminalNotifier:
    """The ``console`` notifier of the demo: each message saved to ``path`` and printed.

    While ``hold`` is set (during the simulation) printed messages wait for :meth:`release`, so
    they appear after the progress line of the day that raised them.
    """

    name = "console"
    kind = "console"
    threads = False

    def __init__(self, path: Path, stream: TextIO | None = None, *, hold: bool = True) -> None:
        self.path = path
        self.stream = stream
        self.hold = hold
        self.sent = 0
        self._held: list[str] = []
        self._lock = threading.Lock()

    def send(self, delivery: Delivery) -> Sent:
        text = render_delivery(delivery)
        with self._lock:
            with self.path.open("a", encoding="utf-8") as file:
                file.write(text + "\n\n")
            self.sent += 1
            if self.hold:
                self._held.append(text)
            else:
                self._print([text])
        return Sent()

    def find_sent(self, delivery: Delivery) -> Sent | None:
        return None

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, []
            self._print(held)

    def _print(self, texts: Sequence[str]) -> None:
        if not texts:
            return
        stream = self.stream or sys.stdout
        for text in texts:
            stream.write("\n" + text + "\n")
        stream.write("\n")
        stream.flush()


@dataclass(frozen=True)
class Example:
    description: str
    path: str


def curl_examples(url: str, examples: Sequence[Example]) -> list[str]:
    lines = []
    for example in examples:
        lines += [f"  # {example.description}", f"  curl -s '{url}{example.path}'"]
    return lines


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class Presenter:
    """Writes the demo's story to a text stream (stdout by default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def heading(self, text: str) -> None:
        self.line()
        self.line(text)
        self.line("─" * min(len(text), WIDTH))

    def setup(self, facts: Sequence[tuple[str, str]], seconds: float) -> None:
        self.heading("Observer demo: a coffee shop's warehouse, watched by Observer")
        width = max(len(label) for label, _ in facts)
        for label, value in facts:
            self.line(f"  {label.ljust(width)}  {value}")
        self.line(f"  (set up in {seconds:.1f}s)")

    def simulation(self, first: date, last: date, days: int) -> None:
        self.heading(f"Simulating {days} days, {first:%a %Y-%m-%d} to {last:%a %Y-%m-%d}")
        self.line(
            "  every day: loaders 01:00, dbt build 02:00, warehouse collection 03:00, checks 09:00 (UTC)"
        )
        self.line()

    def day(self, day: DayView) -> None:
        """A line per week, and for every day on which something went wrong or was found."""
        notable = bool(day.trouble or day.failed or day.skipped or day.problems)
        if not (notable or day.index % 7 == 0 or day.last):
            return
        if day.trouble:
            self.line(f"  ⚡ {day.date:%a %Y-%m-%d}: {day.trouble}")
        checks = (
            f"{day.judged} of {day.checks} checks judged"
            if day.judged
            else f"{day.checks} checks still learning"
        )
        problems = f", {_plural(len(day.problems), 'problem')}" if day.problems else ""
        self.line(
            f"  day {day.index + 1:>3}  {day.date:%a %Y-%m-%d}  {_plural(day.runs, 'run'):>8}  "
            f"{_plural(day.orders, 'order'):>11} loaded  {checks}{problems}"
        )
        for target, message in day.failed.items():
            self.line(f"           ✗ {target} failed: {_clip(message, 70)}")
        if day.skipped:
            self.line(f"           ⤼ skipped: {', '.join(day.skipped)}")
        for problem in day.problems:
            self.line(f"           ! {_clip(problem, 110)}")
        changes = [f"incident #{number} opened" for number in day.opened]
        if day.joined:
            changes.append(f"{_plural(day.joined, 'finding')} joined an open incident")
        if changes:
            self.line(f"           → {', '.join(changes)}")

    def incidents(self, summaries: Sequence[IncidentView]) -> None:
        self.heading(f"Observer found {_plural(len(summaries), 'incident')}")
        for incident in summaries:
            self.line(f"  #{incident.id} [{incident.state}] {incident.title}")
            self.line(f"      root cause: {incident.cause}")
            self.line(f"      checks:     {', '.join(incident.checks)}")
            if incident.impact:
                self.line(f"      impact:     {', '.join(incident.impact)}")

    def timing(self, setup_s: float, simulation_s: float) -> None:
        self.line()
        self.line(f"Set-up {setup_s:.1f}s + simulation {simulation_s:.1f}s = {setup_s + simulation_s:.1f}s")

    def serving(self, ui: Sequence[tuple[str, str]], examples: Sequence[str], notes: Sequence[str]) -> None:
        self.heading("Observer is serving (Ctrl-C to stop)")
        for label, url in ui:
            self.line(f"  {label:<22} {url}")
        self.line()
        self.line("Try the API:")
        for example in examples:
            self.line(example)
        for note in notes:
            self.line()
            self.line(note)


@dataclass(frozen=True)
class DayView:
    """What the progress line of one simulated day shows."""

    index: int
    date: date
    last: bool
    runs: int
    orders: int
    checks: int
    judged: int
    failed: dict[str, str]
    skipped: list[str]
    problems: list[str]
    trouble: str | None
    opened: list[int]
    joined: int


@dataclass(frozen=True)
class IncidentView:
    id: int
    state: str
    title: str
    cause: str
    checks: list[str]
    impact: list[str]


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
