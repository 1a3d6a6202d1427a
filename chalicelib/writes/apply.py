"""The worker side of writes: applying one operation, exactly once.

Each attempt reads once (the resource, the operation's record and its idempotency
record), decides, and writes once in a transaction that also records the operation.
Applying an operation a second time changes nothing. When the transaction is refused
because what was read has changed meanwhile (a race with another operation, or with a
duplicate delivery of this one), the operation is read again and decided at once; when
it is refused as invalid, the operation fails for good.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Optional

from chalicelib.core import DependencyUnavailable, isoformat, utc_now
from chalicelib.store import ConditionFailed, Operation, OperationError, Receipt, Store, WriteRejected
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.registry import Change, OperationFailed, RetryLater, kind_of

if TYPE_CHECKING:
    from chalicelib.events import EventSender

# Reads and decisions per delivery when the state keeps moving under the operation;
# after that the message waits for its next receive.
MAX_ATTEMPTS = 3


class Applier:
    def __init__(
        self, store: Store, clock: Callable[[], datetime] = utc_now, events: Optional[EventSender] = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._events = events

    def apply(self, envelope: OperationEnvelope) -> Operation:
        """Applies one operation and records how it ended; a second call changes nothing.

        Raises RetryLater when the table refuses for now or what it read keeps changing:
        the message stays queued.
        """
        try:
            for _ in range(MAX_ATTEMPTS):
                try:
                    return self._attempt(envelope)
                except ConditionFailed:
                    continue  # what was read has changed: read again and decide
        except DependencyUnavailable as exc:
            raise RetryLater(exc.message) from exc
        raise RetryLater("the resource kept changing while the operation was applied; it is tried again")

    def record_delivery_failure(self, envelope: OperationEnvelope, reason: str) -> None:
        """Marks an operation whose message is about to go to the dead-letter queue, so a
        client polling it learns it failed. A redrive may still apply it."""
        failed = self._operation(envelope, self._clock()).model_copy(
            update={"status": "failed", "error": OperationError(code="DeliveryFailed", message=reason)}
        )
        with suppress(ConditionFailed):  # applied meanwhile: its final record stays
            self._store.receipts.record(Receipt(failed, envelope.meta.actor, final=False))

    def _attempt(self, envelope: OperationEnvelope) -> Operation:
        kind, meta = kind_of(envelope), envelope.meta
        reads = replace(kind.reads(envelope), operation_id=meta.operationId, idempotency_hash=meta.idempotencyKey)
        snapshot = self._store.snapshots.read(reads)
        if snapshot.operation is not None and snapshot.operation_final:
            return self._delivered_again(snapshot.operation)
        more = kind.follow(envelope, snapshot)
        if more is not None:
            found = self._store.snapshots.read(more)
            snapshot = replace(snapshot, pages=found.pages, versions=found.versions)
        now = self._clock()
        operation = self._operation(envelope, now).model_copy(update={"status": "succeeded"})
        previous = snapshot.idempotency
        if previous is not None and previous.operationId != meta.operationId:
            # The same key was sent again before its first operation was applied.
            if previous.fingerprint != meta.fingerprint:
                failure = OperationFailed(
                    "IdempotencyKeyReused", "this Idempotency-Key was already used with another request"
                )
                return self._record_failure(Receipt(operation, meta.actor), failure)
            mirrored = operation.model_copy(update={"status": previous.status, "resourceId": previous.resourceId})
            self._store.receipts.record(Receipt(mirrored, meta.actor))
            return mirrored
        receipt = Receipt(operation, meta.actor, idempotency_hash=meta.idempotencyKey, fingerprint=meta.fingerprint)
        change = Change(
            self._store.table.transaction(),
            meta.operationId,
            meta.actor,
            now,
            operation=envelope.operation,
            actor_name=meta.actorName,
            request_id=meta.requestId,
            audit_trail=self._store.audit,
        )
        try:
            version = kind.apply(envelope, snapshot, change)
            if not change.audited:
                raise RuntimeError(f"{envelope.operation} wrote no audit entry: every applied operation writes one")
            self._store.receipts.add(change.transaction, receipt.with_version(version))
            self._store.outbox.add(change.transaction, change.events)
            self._store.table.commit(change.transaction)
        except OperationFailed as failure:
            if failure.keep and change.audited:
                return self._commit_failure(change, receipt, failure)
            return self._record_failure(receipt, failure)
        except WriteRejected as rejected:
            return self._record_failure(receipt, OperationFailed("Rejected", str(rejected)))
        # Committed: the change is readable through the public routes, so its events may leave.
        if self._events is not None:
            self._events.send(change.events)
        return operation.model_copy(update={"version": version})

    def _delivered_again(self, operation: Operation) -> Operation:
        """An operation already applied and recorded. A crash may have come between its
        commit and the sending of its events: those are still in the outbox."""
        if self._events is not None and operation.status == "succeeded":
            self._events.send_left_by(operation.operationId)
        return operation

    @staticmethod
    def _operation(envelope: OperationEnvelope, now: datetime) -> Operation:
        return Operation(
            operationId=envelope.meta.operationId,
            status="pending",
            type=kind_of(envelope).name,  # a registered type, by construction
            resourceId=kind_of(envelope).resource(envelope),
            submittedAt=envelope.meta.submittedAt,
            completedAt=isoformat(now),
        )

    def _commit_failure(self, change: Change, receipt: Receipt, failure: OperationFailed) -> Operation:
        """A failure that is itself a change (recorded on the resource, and audited)."""
        failed = self._failed(receipt, failure)
        self._store.receipts.add(change.transaction, replace(receipt, operation=failed))
        self._store.table.commit(change.transaction)
        return failed

    @staticmethod
    def _failed(receipt: Receipt, failure: OperationFailed) -> Operation:
        return receipt.operation.model_copy(
            update={
                "status": "failed",
                "error": OperationError(code=failure.code, message=failure.message, details=failure.details),
            }
        )

    def _record_failure(self, receipt: Receipt, failure: OperationFailed) -> Operation:
        failed = self._failed(receipt, failure)
        self._store.receipts.record(replace(receipt, operation=failed))
        return failed
