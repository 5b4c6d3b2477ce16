"""Slack through a bot token: the root message with ``chat.postMessage``, follow-ups in its thread,
``chat.update`` to edit it (acknowledged, resolved …).

Each message carries Slack message metadata with its idempotency key. After a crash between
Slack's answer and our commit, :meth:`SlackBotNotifier.find_sent` looks for that key in the
channel (or thread) before posting again, so a restart does not post twice.
"""

from __future__ import annotations

from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from observer.alerts.notifier import Delivery, DeliveryError, Sent, retry_after_seconds, sdk_logger

EVENT_TYPE = "observer_alert"
_PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)
_LOOKBACK = 200
"""Messages searched for an idempotency key: the newest of the channel (or thread)."""


class SlackBotNotifier:
    name = "slack"
    kind = "slack"
    threads = True

    def __init__(
        self, token: str, *, base_url: str = "https://slack.com/api/", timeout: float = 10.0
    ) -> None:
        self._client = WebClient(
            token=token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            timeout=int(max(1, timeout)),
            retry_handlers=[],
            logger=sdk_logger,
        )

    def __repr__(self) -> str:
        return "SlackBotNotifier()"

    def check(self) -> dict[str, Any]:
        """``auth.test``: which workspace and bot the token belongs to."""
        return dict(self._call(lambda: self._client.auth_test()).data)

    def send(self, delivery: Delivery) -> Sent:
        payload = delivery.payload
        if delivery.kind == "update":
            if delivery.root is None or not delivery.root.ts:
                raise DeliveryError("no root message to update", retryable=False)
            root = delivery.root
            response = self._call(
                lambda: self._client.chat_update(
                    channel=root.channel or "",
                    ts=root.ts or "",
                    text=payload["text"],
                    blocks=payload["blocks"],
                )
            )
            return Sent(response.get("channel"), response.get("ts"))
        thread = delivery.root if delivery.kind == "reply" and delivery.root and delivery.root.ts else None
        channel = thread.channel if thread and thread.channel else delivery.channel
        response = self._call(
            lambda: self._client.chat_postMessage(
                channel=channel or "",
                text=payload["text"],
                blocks=payload["blocks"],
                thread_ts=thread.ts if thread else None,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"key": delivery.key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        )
        return Sent(response.get("channel"), response.get("ts"))

    def find_sent(self, delivery: Delivery) -> Sent | None:
        if delivery.kind == "update":
            return None  # editing again is harmless
        try:
            if delivery.kind == "reply" and delivery.root and delivery.root.ts and delivery.root.channel:
                channel = delivery.root.channel
                response = self._client.conversations_replies(
                    channel=channel, ts=delivery.root.ts, include_all_metadata=True, limit=_LOOKBACK
                )
            else:
                channel = delivery.channel or ""
                response = self._client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=_LOOKBACK
                )
        except (SlackClientError, URLError, OSError):
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and (metadata.get("event_payload") or {}).get("key") == delivery.key
            ):
                return Sent(response.get("channel") or channel, message.get("ts"))
        return None

    def _call(self, request: Any) -> Any:
        try:
            return request()
        except SlackApiError as error:
            response = error.response
            code = str(response.get("error") or "unknown_error")
            status = response.status_code
            if status == 429 or code == "ratelimited":
                raise DeliveryError(
                    "slack rate limited",
                    retryable=True,
                    retry_after=retry_after_seconds(
                        response.headers.get("Retry-After") or response.headers.get("retry-after")
                    ),
                ) from None
            raise DeliveryError(f"slack answered {status} {code}", retryable=code not in _PERMANENT) from None
        except (SlackClientError, URLError, OSError) as error:
            raise DeliveryError(f"slack unreachable: {type(error).__name__}", retryable=True) from None
