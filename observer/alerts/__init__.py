"""Alerts: routing incidents to notifiers (Slack bot, Slack and generic webhooks, console) through a
persisted outbox that retries, honours rate limits and never posts twice after a restart."""
