"""Change events: what an applied change tells the world once it is readable, sent from
the outbox its operation wrote in the change's transaction to Amazon EventBridge and,
through the delivery queue, to each site's webhooks (signed per Standard Webhooks, to
checked public addresses only, retried for a day, every attempt logged).

The delivery function's own machinery (`delivery`, `posting`, `signing`) loads on first
use: the API and the worker never run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy_names
from chalicelib.events.deliveries import (
    DeliveryMessage,
    DeliveryQueue,
    WebhookFanout,
    parse_message,
    redriven,
    trial_message,
)
from chalicelib.events.destinations import RefusedDestination
from chalicelib.events.destinations import parse as parse_destination
from chalicelib.events.sealing import SecretSealer, new_secret
from chalicelib.events.sender import EventBridgeSink, EventSender, Sink, detail_type

if TYPE_CHECKING:
    from chalicelib.events.delivery import Outcome, RetryPolicy, WebhookDeliverer, summary
    from chalicelib.events.posting import PinnedPoster, Reply

__getattr__ = lazy_names(
    __name__,
    {
        **{name: "delivery" for name in ("Outcome", "RetryPolicy", "WebhookDeliverer", "summary")},
        **{name: "posting" for name in ("PinnedPoster", "Reply")},
    },
)

__all__ = [
    "DeliveryMessage",
    "DeliveryQueue",
    "EventBridgeSink",
    "EventSender",
    "Outcome",
    "PinnedPoster",
    "RefusedDestination",
    "Reply",
    "RetryPolicy",
    "SecretSealer",
    "Sink",
    "WebhookDeliverer",
    "WebhookFanout",
    "detail_type",
    "new_secret",
    "parse_destination",
    "parse_message",
    "redriven",
    "summary",
    "trial_message",
]
