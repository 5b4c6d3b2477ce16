"""Messages about incidents: Slack Block Kit, a plain-text form for the console and a JSON document
for generic webhooks, all from the same facts.

The root message says what broke (observed versus expected), where and since when, what it breaks
downstream and who owns that, and the most likely upstream cause. Follow-ups (more checks failing,
a cause found further upstream, acknowledgement, resolution) go into its thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from detectors.findings import format_duration
from observer.incidents.findings import CheckKey
from observer.incidents.queries import CheckState, Incident

SECTION_LIMIT = 2900
HEADER_LIMIT = 150
ACK_ACTION = "observer_ack"
MUTE_ACTION = "observer_mute_24h"

_SEVERITY_MARK = {"critical": "🔴", "error": "🟠", "warning": "🟡", "info": "🔵"}
_STATE_NOTE = {"acknowledged": "acknowledged", "muted": "muted"}


@dataclass(frozen=True)
class RenderContext:
    public_url: str | None = None
    mention: Callable[[str], str | None] = lambda _owner: None
    buttons: bool = False
    top: int = 5


@dataclass
class Message:
    """One message in every form a notifier may want."""

    text: str
    blocks: list[dict[str, Any]]
    plain: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks, "plain": self.plain, "data": self.data}


# Formatting ------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def number(value: float | None) -> str:
    if value is None:
        return "?"
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 100 or float(value).is_integer():
        return f"{round(value):,}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def duration(seconds: float | None) -> str:
    """Freshness findings measure ages in seconds; people read them as durations."""
    if seconds is None or not math.isfinite(seconds):
        return number(seconds)
    return format_duration(timedelta(seconds=seconds))


def value_format(check: str) -> Callable[[float | None], str]:
    return duration if check == "freshness" else number


def expected_range(finding: dict[str, Any], fmt: Callable[[float | None], str] = number) -> str | None:
    lower, upper, expected = finding.get("lower"), finding.get("upper"), finding.get("expected")
    if lower is not None and upper is not None:
        low, high = fmt(lower), fmt(upper)
        return low if low == high else f"{low}\u2013{high}"
    if expected is not None:
        return fmt(expected)
    return None


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def slack_date(moment: datetime) -> str:
    """A Slack date token, shown in each reader's time zone (falls back to UTC text)."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{utc(moment)}>"


def hops_text(hops: int) -> str:
    return "1 hop" if hops == 1 else f"{hops} hops"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


def _target(name: str, column: str | None) -> str:
    return f"{name}.{column}" if column else name


def incident_url(context: RenderContext, incident_id: int) -> str | None:
    """The incident's page in the web UI."""
    if not context.public_url:
        return None
    return f"{context.public_url.rstrip('/')}/incidents/{incident_id}"


def api_url(context: RenderContext, incident_id: int) -> str | None:
    if not context.public_url:
        return None
    return f"{context.public_url.rstrip('/')}/api/v1/incidents/{incident_id}"


def lineage_url(context: RenderContext, node_id: str) -> str | None:
    if not context.public_url:
        return None
    return f"{context.public_url.rstrip('/')}/lineage?{urlencode({'node': node_id})}"


def _owners(owners: Sequence[str], context: RenderContext, *, slack: bool) -> str:
    if not slack:
        return ", ".join(owners)
    return ", ".join(context.mention(owner) or escape(owner) for owner in owners)


# The root message ------------------------------------------------------------------------------


def render_incident(incident: Incident, context: RenderContext) -> Message:
    finding = incident.root_finding or {}
    headline = _headline(incident)
    what = _what(incident, finding, slack=True)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(headline, HEADER_LIMIT), "emoji": True},
        },
    ]
    if incident.state == "resolved":
        blocks.append(_section(f"*{_resolution_text(incident)}*"))
    blocks.append(_section(what))
    blocks.append(
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": f"*Where*\n`{escape(_target(incident.root.name, incident.root_column))}`\n"
                    f"{escape(incident.root.namespace)}",
                },
                {"type": "mrkdwn", "text": f"*Since*\n{slack_date(incident.first_seen_at)}"},
                {"type": "mrkdwn", "text": f"*Check*\n{escape(incident.root_check)}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Incident*\n#{incident.id} · {_state_text(incident, slack=True)}",
                },
            ],
        }
    )
    blocks.append(_section(_impact(incident, context, slack=True)))
    also = _also_failing(incident, context, slack=True)
    if also:
        blocks.append(_section(also))
    blocks.append(_section(_cause(incident, context, slack=True)))
    links = _links(incident, context)
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    if context.buttons and incident.state != "resolved":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"observer_incident_{incident.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACK_ACTION,
                        "text": {"type": "plain_text", "text": "Acknowledge"},
                        "value": str(incident.id),
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "action_id": MUTE_ACTION,
                        "text": {"type": "plain_text", "text": "Mute 24h"},
                        "value": str(incident.id),
                    },
                ],
            }
        )
    impact = incident.impact
    text = (
        f"{headline}: {finding.get('explanation') or incident.title}. "
        f"Impact: {plural(int(impact.get('datasets', 0)), 'dataset')} downstream."
    )
    if incident.cause:
        text += f" Suspected cause: {incident.cause['text']}."
    return Message(
        text=_clip(text),
        blocks=blocks,
        plain=render_plain(incident, context),
        data=_document(incident, "incident", context),
    )


def _headline(incident: Incident) -> str:
    if incident.state == "resolved":
        return f"✅ Resolved · {incident.title}"
    note = _STATE_NOTE.get(incident.state)
    mark = _SEVERITY_MARK.get(incident.severity, "⚪")
    return f"{mark} {incident.severity.capitalize()} · {incident.title}" + (f" ({note})" if note else "")


def _state_text(incident: Incident, *, slack: bool) -> str:
    def who(actor: str | None) -> str:
        if not actor:
            return ""
        return f" by {_actor(actor) if slack else actor}"

    if incident.state == "acknowledged" and incident.acknowledged_at:
        return f"acknowledged{who(incident.acknowledged_by)}"
    if incident.state == "muted" and incident.muted_until:
        until = slack_date(incident.muted_until) if slack else utc(incident.muted_until)
        return f"muted until {until}{who(incident.muted_by)}"
    if incident.state == "resolved":
        return "resolved"
    return incident.state


def _actor(actor: str) -> str:
    """A Slack user id becomes a mention; anything else is shown as written."""
    if actor.startswith("slack:"):
        return f"<@{actor.removeprefix('slack:')}>"
    return escape(actor)


def _resolution_text(incident: Incident) -> str:
    if incident.resolution == "merged" and incident.merged_into:
        return f"Merged into incident #{incident.merged_into}"
    when = f" at {utc(incident.resolved_at)}" if incident.resolved_at else ""
    if incident.resolution == "checks_passed":
        return f"Resolved{when}: every check passes again"
    by = f" by {incident.resolved_by}" if incident.resolved_by else ""
    return f"Resolved{when}{by}"


def _what(incident: Incident, finding: dict[str, Any], *, slack: bool) -> str:
    quote = escape if slack else (lambda text: text)
    fmt = value_format(incident.root_check)
    expected = expected_range(finding, fmt)
    parts = []
    if finding.get("observed") is not None:
        observed = fmt(finding["observed"])
        line = f"*Observed* {observed}" if slack else f"observed {observed}"
        if expected:
            line += f" · *expected* {expected}" if slack else f", expected {expected}"
        if finding.get("score") is not None:
            line += f" (score {number(finding['score'])})"
        parts.append(line)
    explanation = finding.get("explanation") or incident.title
    parts.append(f"> {quote(explanation)}" if slack else explanation)
    return "\n".join(parts)


def _impact(incident: Incident, context: RenderContext, *, slack: bool) -> str:
    impact = incident.impact
    datasets = int(impact.get("datasets", 0))
    if datasets == 0 and not impact.get("jobs"):
        head = "*Impact:* nothing known downstream" if slack else "impact: nothing known downstream"
        owners = impact.get("origin_owners") or []
        if owners:
            head += f" · owners {_owners(owners, context, slack=slack)}"
        return head
    counts = [plural(datasets, "dataset")]
    direct = int(impact.get("direct_datasets", 0))
    if direct:
        counts[0] += f" ({direct} using it directly)"
    if impact.get("columns"):
        counts.append(plural(int(impact["columns"]), "column"))
    if impact.get("jobs"):
        counts.append(plural(int(impact["jobs"]), "job"))
    origin = incident.origin.name
    head = f"{', '.join(counts)} downstream of {'`' + escape(origin) + '`' if slack else origin}"
    owners = impact.get("owners") or []
    if owners:
        head += f" · owners {_owners(owners, context, slack=slack)}"
    lines = [("*Impact:* " if slack else "impact: ") + head]
    top = impact.get("top") or []
    for asset in top[: context.top]:
        detail = hops_text(int(asset["hops"])) + (", direct" if asset.get("direct") else "")
        owner = f" · {_owners(asset['owners'], context, slack=slack)}" if asset.get("owners") else ""
        name = f"`{escape(asset['name'])}`" if slack else asset["name"]
        lines.append(f"• {name} ({detail}){owner}" if slack else f"  - {name} ({detail}){owner}")
    rest = datasets - min(len(top), context.top)
    if rest > 0:
        lines.append(f"_…and {rest} more_" if slack else f"  … and {rest} more")
    return "\n".join(lines)


def _also_failing(incident: Incident, context: RenderContext, *, slack: bool) -> str | None:
    others = [check for check in incident.checks if not _is_root(incident, check)]
    if not others:
        return None
    title = f"*Also failing ({len(others)}):*" if slack else f"also failing ({len(others)}):"
    lines = [title]
    for check in others[: context.top]:
        lines.append(_check_line(check, slack=slack))
    if len(others) > context.top:
        more = len(others) - context.top
        lines.append(f"_…and {more} more_" if slack else f"  … and {more} more")
    return "\n".join(lines)


def _is_root(incident: Incident, check: CheckState) -> bool:
    return (check.dataset, check.check, check.column) == (
        incident.root,
        incident.root_check,
        incident.root_column,
    )


def _check_line(check: CheckState, *, slack: bool) -> str:
    target = _target(check.dataset.name, check.column or None)
    state = " ✓ passing again" if check.cleared_at else ""
    where = hops_text(check.hops) + " down" if check.hops else "origin"
    if slack:
        return f"• {escape(check.check)} on `{escape(target)}` ({where}){state}: {escape(check.explanation)}"
    return f"  - {check.check} on {target} ({where}){state}: {check.explanation}"


def _cause(incident: Incident, context: RenderContext, *, slack: bool) -> str:
    label = "*Suspected cause:*" if slack else "suspected cause:"
    quote = escape if slack else (lambda text: text)
    if not incident.cause:
        lines = [f"{label} nothing suspicious found upstream"]
    else:
        cause = incident.cause
        where = "" if cause["hops"] == 0 else f" ({hops_text(int(cause['hops']))} upstream)"
        lines = [f"{label} {quote(cause['text'])}{where}"]
    owners = incident.impact.get("origin_owners") or []
    if owners:
        name = f"`{escape(incident.origin.name)}`" if slack else incident.origin.name
        lines.append(f"{name} is owned by {_owners(owners, context, slack=slack)}")
    others = [suspect for suspect in incident.suspects if suspect != incident.cause][:3]
    if others:
        lines.append("Other suspects:" if slack else "  other suspects:")
        for suspect in others:
            lines.append(f"• {quote(suspect['text'])}" if slack else f"  - {suspect['text']}")
    return "\n".join(lines)


def _links(incident: Incident, context: RenderContext) -> str | None:
    page, api, lineage = (
        incident_url(context, incident.id),
        api_url(context, incident.id),
        lineage_url(context, incident.origin.node_id),
    )
    if page is None:
        return None
    return (
        f"<{page}|Open incident #{incident.id}> · <{lineage}|Lineage> · <{api}|API>"
        f" · first seen {slack_date(incident.first_seen_at)}"
    )


def _document(incident: Incident, event: str, context: RenderContext, **extra: Any) -> dict[str, Any]:
    return {
        "event": event,
        "incident": incident.as_json(),
        "checks": [check.as_json() for check in incident.checks],
        "finding": incident.root_finding,
        "suspects": incident.suspects,
        "url": incident_url(context, incident.id),
        "api_url": api_url(context, incident.id),
        **extra,
    }


def render_plain(incident: Incident, context: RenderContext) -> str:
    finding = incident.root_finding or {}
    lines = [
        f"[{incident.severity.upper()}] incident #{incident.id} {_state_text(incident, slack=False)}: {incident.title}",
        "  " + _what(incident, finding, slack=False).replace("\n", "\n  "),
        f"  where: {incident.root.namespace} {_target(incident.root.name, incident.root_column or None)}"
        f" since {utc(incident.first_seen_at)}",
        "  " + _impact(incident, context, slack=False),
    ]
    also = _also_failing(incident, context, slack=False)
    if also:
        lines.append("  " + also)
    lines.append("  " + _cause(incident, context, slack=False).replace("\n", "\n  "))
    url = incident_url(context, incident.id)
    if url:
        lines.append(f"  {url}")
    return "\n".join(lines)


# Follow-ups -------------------------------------------------------------------------------------


def render_followup(
    incident: Incident,
    kind: str,
    context: RenderContext,
    *,
    checks: Sequence[CheckKey] = (),
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> Message:
    """A thread reply for a change of ``incident`` (``joined``, ``rerooted``, ``resolved`` …)."""
    details = details or {}
    slack_text, plain_text = _followup_texts(incident, kind, checks, actor, details)
    prefix = f"Incident #{incident.id} ({incident.title}): "
    return Message(
        text=_clip(slack_text),
        blocks=[_section(slack_text)],
        plain=prefix + plain_text,
        data=_document(
            incident,
            kind,
            context,
            changed_checks=[
                {
                    "namespace": key.dataset.namespace,
                    "name": key.dataset.name,
                    "check": key.check,
                    "column": key.column,
                }
                for key in checks
            ],
            actor=actor,
            details=details,
        ),
    )


def _followup_texts(
    incident: Incident, kind: str, checks: Sequence[CheckKey], actor: str | None, details: dict[str, Any]
) -> tuple[str, str]:
    by_slack = f" by {_actor(actor)}" if actor else ""
    by_plain = f" by {actor}" if actor else ""
    if kind == "joined":
        states = {(c.dataset, c.check, c.column): c for c in incident.checks}
        slack_lines = [f"{plural(len(checks), 'more check')} failing downstream:"]
        plain_lines = [slack_lines[0]]
        for key in checks:
            state = states.get((key.dataset, key.check, key.column))
            if state is not None:
                slack_lines.append(_check_line(state, slack=True))
                plain_lines.append(_check_line(state, slack=False))
        return "\n".join(slack_lines), " ".join(line.strip() for line in plain_lines)
    if kind == "rerooted":
        text = f"Root cause moved upstream to {incident.root_check} on {incident.root.name}"
        text += f" (was {details.get('previous_root')})" if details.get("previous_root") else ""
        if details.get("merged"):
            text += "; merged incidents " + ", ".join(f"#{number}" for number in details["merged"])
        if incident.cause:
            text += f". Suspected cause: {incident.cause['text']}"
        return escape(text), text
    if kind == "escalated":
        text = f"Severity raised to {incident.severity}"
        return escape(text), text
    if kind == "acknowledged":
        return f"Acknowledged{by_slack}", f"acknowledged{by_plain}"
    if kind == "muted":
        until = incident.muted_until
        when_slack = slack_date(until) if until else "?"
        when_plain = utc(until) if until else "?"
        return f"Muted until {when_slack}{by_slack}", f"muted until {when_plain}{by_plain}"
    if kind == "unmuted":
        return "Mute ended", "mute ended"
    if kind == "merged":
        text = f"Merged into incident #{details.get('into')}: the same upstream cause"
        return escape(text), text
    if kind == "resolved":
        text = _resolution_text(incident)
        return f"✅ {escape(text)}", text
    return escape(kind), kind
