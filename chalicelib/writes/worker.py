"""The worker's batch loop over the write queue's messages.

Each record goes through `Applier.apply`, which is safe to run twice. The queue is
FIFO, grouped by resource: once a record of a group cannot be applied, the later records
of that group in the batch are left alone, so they are applied after it, in order.

Chalice cannot switch on `ReportBatchItemFailures`; without it, Lambda would put every
message of a batch that raised back on the queue. So unless the event source reports
item failures, the worker deletes the messages it finished itself, then raises so the
rest return after the visibility timeout; the redrive policy moves a message that keeps
failing to the dead-letter queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from pydantic_core import ValidationError

from chalicelib.core import log_context
from chalicelib.store import Operation
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.queue import WriteQueue
from chalicelib.writes.registry import RetryLater, parse_envelope


@dataclass(frozen=True)
class QueueRecord:
    message_id: str
    receipt_handle: str
    body: str
    group: str
    receive_count: int

    @classmethod
    def from_event(cls, record: Mapping[str, Any]) -> QueueRecord:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=record["messageId"],
            receipt_handle=record["receiptHandle"],
            body=record.get("body") or "",
            group=attributes.get("MessageGroupId", ""),
            receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
        )


@dataclass
class BatchOutcome:
    done: List[QueueRecord] = field(default_factory=list)
    retry: List[QueueRecord] = field(default_factory=list)


class BatchIncomplete(Exception):
    """Raised so that Lambda returns the unfinished messages to the queue."""


class Worker:
    def __init__(
        self,
        apply: Callable[[OperationEnvelope], Operation],
        record_delivery_failure: Callable[[OperationEnvelope, str], None],
        logger: logging.Logger,
        max_receive_count: int,
    ) -> None:
        self._apply = apply
        self._record_delivery_failure = record_delivery_failure
        self._log = logger
        self._max_receive_count = max_receive_count

    def process(self, records: Sequence[QueueRecord]) -> BatchOutcome:
        outcome = BatchOutcome()
        stopped_groups: set[str] = set()
        # Before anything can crash or time out: whatever happens to this batch now,
        # records on their last receive that are not applied end in the dead-letter queue.
        self._mark_last_attempts(records)
        for record in records:
            if record.group and record.group in stopped_groups:
                outcome.retry.append(record)  # keeps the group's order: after the one before it
                continue
            if self._process_one(record):
                outcome.done.append(record)
            else:
                outcome.retry.append(record)
                stopped_groups.add(record.group)
        return outcome

    def _mark_last_attempts(self, records: Sequence[QueueRecord]) -> None:
        """Records each operation on its last allowed receive as failed (`DeliveryFailed`)
        before it is tried, so a client polling it learns that it failed even when the
        attempt never finishes (a crash, a timeout) or never starts (held back behind a
        failing record of its group). Applying it, now or after a redrive, replaces the
        mark: it is not final."""
        for record in records:
            if record.receive_count < self._max_receive_count:
                continue
            try:
                envelope = parse_envelope(record.body)
            except ValueError:  # pydantic's ValidationError is one
                continue  # a poison message: no operation to mark
            try:
                self._record_delivery_failure(
                    envelope,
                    f"its message was received {record.receive_count} times without being applied "
                    "and is in the dead-letter queue; fix the cause, then redrive it",
                )
            except Exception:  # it goes to the dead-letter queue either way; its alarm tells the operator
                self._log.exception(
                    "could not mark the operation of a last attempt", extra={"messageId": record.message_id}
                )

    def _process_one(self, record: QueueRecord) -> bool:
        """True when the record is finished with (applied, a duplicate, or failed for good)."""
        with log_context(messageId=record.message_id):
            try:
                envelope = parse_envelope(record.body)
            except ValueError as exc:
                # A poison message: it never parses. It returns to the queue until the
                # redrive policy moves it to the dead-letter queue; it blocks only its group.
                if isinstance(exc, ValidationError):
                    problems: object = exc.errors(include_input=False)[:5]
                else:
                    problems = str(exc)[:500]
                self._log.error(
                    "unreadable operation message", extra={"receiveCount": record.receive_count, "errors": problems}
                )
                return False
            meta = envelope.meta
            with log_context(requestId=meta.requestId, operationId=meta.operationId, operation=envelope.operation):
                return self._apply_logged(envelope, record)

    def _apply_logged(self, envelope: OperationEnvelope, record: QueueRecord) -> bool:
        try:
            result = self._apply(envelope)
        except RetryLater as exc:
            self._log.warning(
                "operation will be retried", extra={"reason": exc.message, "receiveCount": record.receive_count}
            )
            return False
        except Exception:
            self._log.exception("operation raised; it will be retried", extra={"receiveCount": record.receive_count})
            return False
        extra: Dict[str, Any] = {"status": result.status, "resourceId": result.resourceId, "version": result.version}
        if result.error:
            extra["error"] = result.error.model_dump()
        self._log.info("operation finished", extra=extra)
        return True


def settle(
    outcome: BatchOutcome,
    queue: WriteQueue,
    reports_batch_failures: bool,
    logger: logging.Logger,
) -> Optional[Dict[str, Any]]:
    """The handler's answer to Lambda for a processed batch."""
    if reports_batch_failures:
        return {"batchItemFailures": [{"itemIdentifier": record.message_id} for record in outcome.retry]}
    if not outcome.retry:
        return None
    not_deleted = queue.delete([record.receipt_handle for record in outcome.done])
    if not_deleted:
        # They will come back; applying them again changes nothing.
        logger.warning("finished messages could not be deleted", extra={"count": len(not_deleted)})
    raise BatchIncomplete(f"{len(outcome.retry)} of {len(outcome.retry) + len(outcome.done)} messages will be retried")
