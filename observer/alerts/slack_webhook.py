"""Slack incoming webhooks: one channel each, no threads and no edits, so follow-ups are posted as
short messages of their own."""

from __future__ import annotations

from urllib.error import URLError

from slack_sdk.webhook import WebhookClient

from observer.alerts.notifier import Delivery, DeliveryError, Sent, retry_after_seconds, sdk_logger


class SlackWebhookNotifier:
    kind = "slack"
    threads = False

    def __init__(self, name: str, url: str, *, timeout: float = 10.0) -> None:
        self.name = name
        self._client = WebhookClient(url, timeout=int(max(1, timeout)), retry_handlers=[], logger=sdk_logger)

    def __repr__(self) -> str:
        return f"SlackWebhookNotifier({self.name!r})"

    def send(self, delivery: Delivery) -> Sent:
        payload = delivery.payload
        try:
            response = self._client.send(text=payload.get("text"), blocks=payload.get("blocks"))
        except (URLError, OSError) as error:
            raise DeliveryError(
                f"slack webhook {self.name}: {type(error).__name__}", retryable=True
            ) from None
        if response.status_code == 200:
            return Sent()
        status = response.status_code
        raise DeliveryError(
            f"slack webhook {self.name} answered {status}: {response.body[:200]}",
            retryable=status == 429 or status >= 500,
            retry_after=retry_after_seconds(
                response.headers.get("Retry-After") if response.headers else None
            ),
        )

    def find_sent(self, delivery: Delivery) -> Sent | None:
        return None
