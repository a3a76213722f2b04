"""The body of a delivery and its Standard Webhooks headers (standardwebhooks signs them)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


def body(kind: str, occurred_at: str, data: dict[str, Any]) -> bytes:
    """{"type": ..., "timestamp": ..., "data": {...}}: the same bytes at every attempt."""
    return json.dumps({"type": kind, "timestamp": occurred_at, "data": data}, ensure_ascii=False, separators=(",", ":")).encode()


class Signer:
    """Signs with one receiver's whsec_... secret."""

    def __init__(self, secret: str) -> None:
        from standardwebhooks import Webhook  # the web part's library, loaded only to send

        self._webhook = Webhook(secret)

    def headers(self, message_id: str, at: dt.datetime, payload: bytes) -> dict[str, str]:
        """webhook-id is the event's own id at every attempt, so a receiver dedupes retries by it."""
        return {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": self._webhook.sign(message_id, at, payload),
        }
