"""A generic JSON webhook: one POST per incident event, with an ``Idempotency-Key`` header so the
receiver can drop the rare repeat after a crash."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from observer import __version__
from observer.alerts.notifier import Delivery, DeliveryError, Sent, retry_after_seconds


class WebhookNotifier:
    kind = "webhook"
    threads = False

    def __init__(
        self, name: str, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0
    ) -> None:
        self.name = name
        self._url = url
        self._headers = {
            "User-Agent": f"observer/{__version__}",
            **(headers or {}),
        }
        self._client = httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.name!r})"

    def send(self, delivery: Delivery) -> Sent:
        document = dict(delivery.payload.get("data") or {})
        document.setdefault("text", delivery.payload.get("text"))
        headers = {
            **self._headers,
            "Idempotency-Key": delivery.key,
            "X-Observer-Event": str(document.get("event", delivery.kind)),
        }
        try:
            response = self._client.post(self._url, json=document, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"webhook {self.name}: {type(error).__name__}", retryable=True) from None
        if response.is_success:
            return Sent()
        status = response.status_code
        retryable = status in (408, 425, 429) or status >= 500
        raise DeliveryError(
            f"webhook {self.name} answered {status}",
            retryable=retryable,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )

    def find_sent(self, delivery: Delivery) -> Sent | None:
        return None

    def close(self) -> None:
        self._client.close()
