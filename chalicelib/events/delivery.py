"""The delivery function's work: each message of a batch, at once (a slow receiver holds
up no other), checked, signed, posted, logged, and retried or dead-lettered.

- The webhook is read when the attempt is made: a deleted or disabled webhook, or one
  that no longer subscribes to the event's type, gets nothing more.
- The URL is checked again (it may resolve elsewhere by now) and the POST goes to the
  checked address, following no redirect.
- A 2xx is delivered. `410 Gone` disables the webhook (a `webhook.disable` operation on
  the write queue, audited as any change). Anything else is a failed attempt: the next is
  queued with exponential backoff and jitter, until the event was first queued 24 hours
  ago; then the message goes to the dead-letter queue (redrive puts it back).
- Every attempt is logged (`GET /sites/{site}/webhooks/{name}/deliveries`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import math
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional, Protocol

from chalicelib.core import TEST_EVENT_TYPE, DependencyUnavailable, isoformat
from chalicelib.events import destinations
from chalicelib.events.deliveries import MAX_DELAY_SECONDS, DeliveryMessage, DeliveryQueue, parse_message
from chalicelib.events.posting import Poster, Reply
from chalicelib.events.sealing import SecretSealer
from chalicelib.events.signing import signature_headers
from chalicelib.store import Delivery, DeliveryLog, DeliveryStatus, Webhook, WebhookStore

# A message that could not be handled for a moment (the table, KMS) comes back after this.
AGAIN_AFTER_SECONDS = 30
# How many of a batch's messages are delivered at once.
PARALLEL = 10


class Disable(Protocol):
    def __call__(self, site: str, name: str, version: int, reason: str, at: datetime) -> str: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: the wait after failed attempt n is between half
    and all of min(base * 2^(n-1), longest); attempts go on while the event was first
    queued less than `retry_for` ago."""

    base_seconds: float = 30.0
    longest_seconds: float = 4 * 3600.0
    retry_for: timedelta = timedelta(hours=24)

    def wait(self, attempt: int, chance: float) -> float:
        ceiling = min(self.base_seconds * 2.0 ** min(attempt - 1, 30), self.longest_seconds)
        return ceiling / 2 + chance * ceiling / 2


@dataclass(frozen=True)
class Outcome:
    status: str  # delivered, failed, gone, dead-lettered, skipped, waiting
    message: DeliveryMessage


class WebhookDeliverer:
    def __init__(
        self,
        webhooks: WebhookStore,
        log: DeliveryLog,
        queue: DeliveryQueue,
        dead_letters: DeliveryQueue,
        sealer: SecretSealer,
        poster: Poster,
        disable: Disable,
        *,
        local: bool,
        policy: RetryPolicy,
        clock: Callable[[], datetime],
        logger: logging.Logger,
        resolver: Optional[destinations.Resolver] = None,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self._webhooks = webhooks
        self._log = log
        self._queue = queue
        self._dead_letters = dead_letters
        self._sealer = sealer
        self._poster = poster
        self._disable = disable
        self._local = local
        self._policy = policy
        self._clock = clock
        self._logger = logger
        self._resolver = resolver
        self._chance = chance

    def deliver_bodies(self, bodies: List[str]) -> Dict[str, int]:
        """A batch from the queue: what it did, by outcome. A body that is no delivery
        message is kept in the dead-letter queue as it came, for someone to look at."""
        messages: List[DeliveryMessage] = []
        for body in bodies:
            try:
                messages.append(parse_message(body))
            except ValueError as exc:
                self._logger.error("not a webhook delivery; dead-lettered", extra={"reason": str(exc)[:500]})
                self._dead_letters.send_raw(body)
        counts = summary(self.deliver_all(messages))
        return {**counts, "malformed": len(bodies) - len(messages)} if len(bodies) > len(messages) else counts

    def deliver_all(self, messages: List[DeliveryMessage]) -> List[Outcome]:
        """Every message at once; raises (so that the batch comes back) only when one of
        them could neither be handled nor put back on the queue."""
        if not messages:
            return []
        # Each thread runs in a copy of this one's context (the request's log fields).
        contexts = [contextvars.copy_context() for _ in messages]
        with ThreadPoolExecutor(max_workers=min(PARALLEL, len(messages))) as pool:
            return list(pool.map(lambda context, message: context.run(self.deliver, message), contexts, messages))

    def deliver(self, message: DeliveryMessage) -> Outcome:
        now = self._clock()
        if message.notBefore and datetime.fromisoformat(message.notBefore) > now:
            left = (datetime.fromisoformat(message.notBefore) - now).total_seconds()
            self._queue.send([(message, math.ceil(min(left, MAX_DELAY_SECONDS)))])
            return Outcome("waiting", message)
        try:
            found = self._webhooks.get(message.site, message.webhook, consistent=True)
            skipped = self._skipped(message, found[0] if found else None)
            if skipped or found is None:
                self._logger.info("webhook delivery dropped", extra={"reason": skipped, "event": message.event_id})
                return Outcome("skipped", message)
            webhook, sealed = found
            secrets = [
                self._sealer.open(secret.sealed, webhook.site, webhook.name)
                for secret in sealed
                if secret.signs_at(now)
            ]
        except DependencyUnavailable as exc:
            self._logger.warning("webhook delivery put back for now", extra={"reason": exc.message})
            self._queue.send([(message, AGAIN_AFTER_SECONDS)])
            return Outcome("waiting", message)
        reply = self._attempt(webhook, secrets, message, now)
        return self._settle(webhook, message, reply, now)

    def _skipped(self, message: DeliveryMessage, webhook: Optional[Webhook]) -> Optional[str]:
        if webhook is None:
            return "the webhook was deleted"
        if not webhook.enabled:
            return "the webhook is disabled"
        if message.event_type != TEST_EVENT_TYPE and message.event_type not in webhook.events:
            return "the webhook no longer subscribes to this event type"
        return None

    def _attempt(self, webhook: Webhook, secrets: List[str], message: DeliveryMessage, now: datetime) -> Reply:
        try:
            target = destinations.parse(webhook.url, self._local)
            target = destinations.resolve(target, self._local, self._resolver)
        except destinations.RefusedDestination as exc:
            return Reply(None, 0, error=f"refused: {exc}")
        body = json.dumps(message.event, separators=(",", ":"), ensure_ascii=False)
        headers = signature_headers(secrets, message.event_id, now, body)
        return self._poster.post(target, body.encode("utf-8"), headers)

    def _settle(self, webhook: Webhook, message: DeliveryMessage, reply: Reply, now: datetime) -> Outcome:
        status: DeliveryStatus
        next_at: Optional[str] = None
        dead = False
        if reply.status is not None and 200 <= reply.status < 300:
            status = "delivered"
        elif reply.status == 410:
            status = "gone"
            self._disable(webhook.site, webhook.name, webhook.version, "the receiver answered 410 Gone", now)
        else:
            status = "failed"
            error = reply.error or f"the receiver answered {reply.status}"
            if now - datetime.fromisoformat(message.firstQueuedAt) >= self._policy.retry_for:
                dead = True
                self._dead_letters.send([(message.model_copy(update={"lastError": error, "notBefore": None}), 0)])
            else:
                wait = self._policy.wait(message.attempt, self._chance())
                next_at = isoformat(now + timedelta(seconds=wait))
                again = message.model_copy(update={"attempt": message.attempt + 1, "notBefore": next_at})
                self._queue.send([(again, math.ceil(min(wait, MAX_DELAY_SECONDS)))])
        self._record(webhook, message, reply, status, now, next_at, dead)
        outcome = "dead-lettered" if dead else status
        self._logger.info(
            "webhook delivery",
            extra={"outcome": outcome, "event": message.event_id, "attempt": message.attempt, "status": reply.status},
        )
        return Outcome(outcome, message)

    def _record(
        self,
        webhook: Webhook,
        message: DeliveryMessage,
        reply: Reply,
        status: DeliveryStatus,
        now: datetime,
        next_at: Optional[str],
        dead: bool,
    ) -> None:
        delivery = Delivery(
            eventId=message.event_id,
            eventType=message.event_type,
            attempt=message.attempt,
            attemptedAt=isoformat(now),
            status=status,
            url=webhook.url,
            statusCode=reply.status,
            durationMs=reply.duration_ms,
            error=reply.error or (None if status == "delivered" else f"the receiver answered {reply.status}"),
            response=reply.body or None,
            nextAttemptAt=next_at,
            deadLettered=dead,
        )
        try:
            self._log.record(webhook.site, webhook.name, delivery)
        except DependencyUnavailable as exc:  # the attempt stands; only its log line is lost
            self._logger.warning("a delivery attempt could not be logged", extra={"reason": exc.message})


def summary(outcomes: List[Outcome]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts
