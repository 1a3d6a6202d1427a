"""Signing webhook deliveries per the Standard Webhooks specification, with its
reference library (loaded by the delivery function only).

Each delivery carries `webhook-id` (the event's id: the same on every attempt, so a
receiver dedupes by it), `webhook-timestamp` (seconds since the epoch, of this attempt)
and `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per
secret the webhook has, space-separated. While a secret is rotated, the old one signs
too, so receivers can switch at their own pace."""

from __future__ import annotations

from datetime import datetime
from typing import Dict, Sequence


def signature_headers(secrets: Sequence[str], message_id: str, at: datetime, body: str) -> Dict[str, str]:
    """The three headers of one delivery attempt of `body`, signed with every secret."""
    from standardwebhooks import Webhook

    if not secrets:
        raise ValueError("a webhook delivery needs at least one secret")
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signatures}
