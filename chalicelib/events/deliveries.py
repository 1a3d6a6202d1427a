"""Webhook deliveries as queue messages: one per webhook and event, on the delivery queue
(standard SQS: no order between sites, no message group to wait behind), put there by
the outbox's sender (`WebhookFanout`, a sink beside EventBridge) and by the test route.

A message says which attempt it is for and when the event was first queued; a retry is
the same message with the next attempt, sent with a delay (SQS holds it up to 15
minutes; a longer wait is several hops, each checking `notBefore`)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple

from chalicelib.core import AWS_ERRORS, TEST_EVENT_TYPE, DependencyUnavailable, Model, describe, isoformat
from chalicelib.store import ChangeEvent, WebhookStore

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS holds a message back at most this long (DelaySeconds).
MAX_DELAY_SECONDS = 900
SEND_BATCH = 10
SEND_ATTEMPTS = 3


class DeliveryMessage(Model):
    v: Literal[1] = 1
    site: str
    webhook: str
    # The event as receivers get it (its `id` is the `webhook-id` of every attempt).
    event: Dict[str, Any]
    attempt: int = 1
    firstQueuedAt: str
    # Not to be attempted before this time (a wait longer than SQS's delay).
    notBefore: Optional[str] = None
    # Why the last attempt failed (on a message in the dead-letter queue).
    lastError: Optional[str] = None

    @property
    def event_id(self) -> str:
        return str(self.event.get("id", ""))

    @property
    def event_type(self) -> str:
        return str(self.event.get("type", ""))


class DeliveryQueue:
    """A queue of delivery messages: the delivery queue, or its dead-letter queue."""

    def __init__(self, sqs: SQSClient, url: Callable[[], str], sleep: Callable[[float], None] = time.sleep) -> None:
        self._sqs = sqs
        self._url = url
        self._sleep = sleep

    @property
    def url(self) -> str:
        return self._url()

    def send(self, messages: Sequence[Tuple[DeliveryMessage, int]]) -> None:
        """Queues every (message, delay in seconds) or raises DependencyUnavailable."""
        for start in range(0, len(messages), SEND_BATCH):
            self._send_batch(list(messages[start : start + SEND_BATCH]))

    def send_raw(self, body: str) -> None:
        """A body as it came (one that is no delivery message, to the dead-letter queue)."""
        try:
            self._sqs.send_message(QueueUrl=self._url(), MessageBody=body)
        except AWS_ERRORS as exc:
            raise DependencyUnavailable(f"the queue refused the message ({describe(exc)})") from exc

    def _send_batch(self, batch: List[Tuple[DeliveryMessage, int]]) -> None:
        left = {str(index): entry for index, entry in enumerate(batch)}
        for attempt in range(SEND_ATTEMPTS):
            entries: Any = [
                {
                    "Id": entry_id,
                    "MessageBody": message.model_dump_json(exclude_none=True),
                    "DelaySeconds": max(0, min(MAX_DELAY_SECONDS, delay)),
                }
                for entry_id, (message, delay) in left.items()
            ]
            try:
                answer = self._sqs.send_message_batch(QueueUrl=self._url(), Entries=entries)
            except AWS_ERRORS as exc:
                raise DependencyUnavailable(
                    f"the webhook delivery queue refused the messages ({describe(exc)})"
                ) from exc
            failed = {entry["Id"] for entry in answer.get("Failed", [])}
            left = {entry_id: entry for entry_id, entry in left.items() if entry_id in failed}
            if not left:
                return
            self._sleep(0.1 * 2**attempt)
        raise DependencyUnavailable(f"the webhook delivery queue refused {len(left)} message(s) {SEND_ATTEMPTS} times")


class WebhookFanout:
    """A sink of the outbox's sender: each event, to each of its site's enabled webhooks
    that subscribe to its type, as one message on the delivery queue."""

    def __init__(self, webhooks: WebhookStore, queue: DeliveryQueue, clock: Callable[[], datetime]) -> None:
        self._webhooks = webhooks
        self._queue = queue
        self._clock = clock

    def put(self, events: Sequence[ChangeEvent]) -> None:
        queued_at = isoformat(self._clock())
        messages: List[Tuple[DeliveryMessage, int]] = []
        for site in sorted({event.site for event in events}):
            hooks = [hook for hook in self._webhooks.of_site(site) if hook.enabled]
            for event in (event for event in events if event.site == site):
                messages.extend(
                    (DeliveryMessage(site=site, webhook=hook.name, event=event.wire(), firstQueuedAt=queued_at), 0)
                    for hook in hooks
                    if event.type in hook.events
                )
        self._queue.send(messages)


def trial_message(site: str, webhook: str, now: datetime) -> DeliveryMessage:
    """What POST /sites/{site}/webhooks/{name}/test sends: an event of its own type, to
    that webhook only, signed and logged as any other."""
    event = {"id": f"test.{uuid.uuid4().hex}", "type": TEST_EVENT_TYPE, "site": site, "occurredAt": isoformat(now)}
    return DeliveryMessage(site=site, webhook=webhook, event=event, firstQueuedAt=isoformat(now))


def parse_message(body: str) -> DeliveryMessage:
    """A message from the queue; ValueError for one that is not a delivery message."""
    return DeliveryMessage.model_validate(json.loads(body))


def redriven(body: str, now: datetime) -> str:
    """A dead-lettered delivery on its way back to the queue: another day of retries from
    now. A body that is not a delivery message goes back as it is (the function logs it)."""
    try:
        message = parse_message(body)
    except ValueError:
        return body
    again = message.model_copy(update={"firstQueuedAt": isoformat(now), "notBefore": None, "lastError": None})
    return again.model_dump_json(exclude_none=True)
