"""Signing webhook deliveries per the Standard Webhooks specification, with its
reference library (loaded by the delivery function only).

Each delivery carries `webhook-id` (the event's id: the same on every attempt, so a
receiver dedupes by it), `webhook-timestamp` (seconds since the epoch, of this attempt)
and `webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per
secret the webhook has, space-separated. While a secret is rotated, the old one signs
too, so receivers can switch at their own pace."""

from __future__ import annotations

import base64
import secrets as tokens
from datetime import datetime
from typing import Dict, Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 (the specification's prefix, not a secret)
# 256 bits, as the specification recommends (24 to 64 bytes).
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(tokens.token_bytes(SECRET_BYTES)).decode()


def signature_headers(secrets: Sequence[str], message_id: str, at: datetime, body: str) -> Dict[str, str]:
    """The three headers of one delivery attempt of `body`, signed with every secret."""
    from standardwebhooks import Webhook

    if not secrets:
        raise ValueError("a webhook delivery needs at least one secret")
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signatures}
