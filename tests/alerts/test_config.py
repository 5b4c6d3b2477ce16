"""The ``alerts`` and ``owners`` sections: secrets from the environment, located mistakes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from observer.config import ConfigError, load_config

CONFIG = """\
alerts:
  group_window: 4h
  slack:
    bot_token: ${SLACK_BOT_TOKEN}
    signing_secret: ${SLACK_SIGNING_SECRET}
    default_channel: C0ALERTS
  webhooks:
    - name: pager
      url: ${PAGER_URL}
      headers:
        Authorization: Bearer ${PAGER_TOKEN}
  routes:
    - dataset: analytics.finance.*
      channel: C0FINANCE
      notify: [pager]
  quiet_hours:
    start: "22:00"
    end: "07:00"
    timezone: Europe/Berlin
owners:
  rules:
    - namespace: postgres://*
      dataset: analytics.finance.*
      owners: [team:finance]
  slack:
    team:finance: S0FINANCE
    alice@example.com: U0ALICE
"""
ENV = {
    "SLACK_BOT_TOKEN": "xoxb-secret-token",
    "SLACK_SIGNING_SECRET": "signing-secret",
    "PAGER_URL": "https://pager.example.com/hook/secret",
    "PAGER_TOKEN": "pager-secret",
}


def test_a_full_alerts_section_loads_with_secrets_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "observer.yaml"
    path.write_text(CONFIG)
    loaded = load_config(path, environ=ENV)
    alerts = loaded.settings.alerts
    assert alerts.group_window == timedelta(hours=4)
    assert alerts.slack is not None and alerts.slack.bot_token is not None
    assert alerts.slack.bot_token.get_secret_value() == "xoxb-secret-token"
    assert "xoxb-secret-token" not in repr(loaded.settings)
    assert alerts.webhooks[0].headers["Authorization"].get_secret_value() == "Bearer pager-secret"
    assert loaded.settings.owners.slack["team:finance"] == "S0FINANCE"
    assert set(ENV.values()) <= set(loaded.secrets), "the log filter masks every interpolated secret"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alerts:\n  slak: {}\n", ":2: alerts.slak: unknown key"),
        ("alerts:\n  routes:\n    - channel: C1\n", "needs alerts.slack.bot_token"),
        ("alerts:\n  quiet_hours:\n    start: '9pm'\n    end: '07:00'\n", ":3: alerts.quiet_hours.start"),
        (
            "owners:\n  slack:\n    team:x: '#channel'\n",
            "not a Slack user (U…), user group (S…) or @here: team:x",
        ),
        ("owners:\n  rules:\n    - dataset: x.*\n      owners: []\n", "owners.rules[0].owners"),
    ],
)
def test_mistakes_are_reported_with_their_location(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "observer.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems
