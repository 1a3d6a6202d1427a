"""Sending an operation's events once its transaction has committed, and deleting them
from the outbox once every sink has them.

A sink that fails leaves the events in the outbox: they are sent again when the
operation's message comes back (a crash between commit and send) or by the sweeper
(`send_unsent_events`), so an event is sent at least once, and never before its change
is readable. Receivers dedupe by the event's `id`."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Protocol, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core import DependencyUnavailable
from chalicelib.store import ChangeEvent, OutboxStore

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

# PutEvents takes up to 10 entries a call.
PUT_EVENTS_BATCH = 10
# Entries EventBridge refused (throttled, an internal failure) are tried again this many times.
PUT_EVENTS_ATTEMPTS = 3
# The sweeper takes events older than this: younger ones are the worker's to send.
SWEEP_AFTER = timedelta(minutes=1)
# After a failure, the worker leaves events to the sweeper for this long instead of
# trying again on every operation: a slow EventBridge must not hold writes back.
PAUSE_AFTER_FAILURE_SECONDS = 30.0
# The sweeper starts an operation's events only while the time left, less this margin,
# exceeds its slowest send so far (a PutEvents, a webhook Query and SendMessageBatch, a
# BatchWriteItem): a Lambda function is stopped at its timeout.
SWEEP_MARGIN_SECONDS = 2.0


def detail_type(event: ChangeEvent) -> str:
    """What an EventBridge rule matches on: the event's type (`page.published`, ...)."""
    return event.type


class Sink(Protocol):
    def put(self, events: Sequence[ChangeEvent]) -> None:
        """Delivers every event or raises DependencyUnavailable."""


class EventBridgeSink:
    def __init__(
        self, client: EventBridgeClient, bus_name: str, source: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._client = client
        self._bus = bus_name
        self._source = source
        self._sleep = sleep

    def put(self, events: Sequence[ChangeEvent]) -> None:
        for start in range(0, len(events), PUT_EVENTS_BATCH):
            self._put_batch(list(events[start : start + PUT_EVENTS_BATCH]))

    def _put_batch(self, batch: List[ChangeEvent]) -> None:
        for attempt in range(PUT_EVENTS_ATTEMPTS):
            entries: List[Any] = [self._entry(event) for event in batch]
            try:
                answer = self._client.put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise DependencyUnavailable(f"EventBridge refused the events: {exc}") from exc
            results = answer.get("Entries", [])
            # The answer lists one result per entry, in order; those with an ErrorCode failed.
            batch = [event for event, result in zip(batch, results, strict=False) if result.get("ErrorCode")]
            if not batch:
                return
            self._sleep(0.1 * 2**attempt)
        raise DependencyUnavailable(f"EventBridge refused {len(batch)} event(s) {PUT_EVENTS_ATTEMPTS} times")

    def _entry(self, event: ChangeEvent) -> Any:
        return {
            "Source": self._source,
            "DetailType": detail_type(event),
            "Detail": json.dumps(event.wire(), separators=(",", ":")),
            "EventBusName": self._bus,
            "Time": datetime.fromisoformat(event.occurredAt),
            "Resources": [],
        }


class EventSender:
    """Every sink gets the events, then the outbox lets them go."""

    def __init__(
        self,
        outbox: OutboxStore,
        sinks: Sequence[Sink],
        logger: logging.Logger,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._sinks = sinks
        self._log = logger
        self._monotonic = monotonic
        self._paused_until = 0.0

    def send(self, events: Sequence[ChangeEvent], even_if_paused: bool = False) -> bool:
        """True when every event was delivered and let go; False leaves them for later
        (for a while after a failure, without trying: see PAUSE_AFTER_FAILURE_SECONDS)."""
        if not events:
            return True
        if not even_if_paused and self._monotonic() < self._paused_until:
            self._log.info("change events left for the sweeper (sending failed a moment ago)")
            return False
        try:
            for sink in self._sinks:
                sink.put(events)
            self._outbox.remove(events)
        except DependencyUnavailable as exc:
            self._paused_until = self._monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            self._log.warning(
                "change events left in the outbox for later", extra={"reason": exc.message, "count": len(events)}
            )
            return False
        self._paused_until = 0.0
        self._log.info("change events sent", extra={"events": [event.id for event in events]})
        return True

    def send_left_by(self, operation_id: str) -> bool:
        """What an operation applied before left unsent (its message came back). Never
        holds the operation back: what cannot be read now, the sweeper sends later."""
        try:
            events = self._outbox.of_operation(operation_id)
        except DependencyUnavailable as exc:
            self._log.warning("could not read the outbox; the sweeper will send", extra={"reason": exc.message})
            return False
        return self.send(events)

    def sweep(self, now: datetime, time_left: Optional[Callable[[], float]] = None) -> int:
        """Sends the events left unsent for a while, an operation's at a time (what goes
        stays gone if a later one fails), while `time_left` (seconds) leaves a margin:
        what is left waits for the next run. Answers how many went."""
        unsent = self._outbox.unsent(now - SWEEP_AFTER)
        sent = 0
        slowest = 0.0
        for done, events in enumerate(unsent):
            if time_left is not None and time_left() - SWEEP_MARGIN_SECONDS <= slowest:
                self._log.info("the sweep stops for now: its time is up", extra={"left": len(unsent) - done})
                break
            started = self._monotonic()
            if self.send(events, even_if_paused=True):
                sent += len(events)
            slowest = max(slowest, self._monotonic() - started)
        return sent
