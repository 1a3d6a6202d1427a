"""How the API accepts a write, whatever it changes: Idempotency-Key replays and claims,
operation ids, dry runs, and the one message on the queue.

A write is validated completely and checked against what is stored (one read), then
its envelope is put on the queue and the API answers 202 with the operation's id; a dry
run stops before the queue and answers what the write would get.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable, Optional, Union

from chalicelib.core import Accepted, Checked, IdempotencyKeyReused, NotFound, OperationStatus, ids, isoformat, utc_now
from chalicelib.store import IdempotencyRecord, Operation, Reads, Snapshot, Store
from chalicelib.writes.envelopes import OperationEnvelope, OperationMeta
from chalicelib.writes.queue import WriteQueue
from chalicelib.writes.registry import parse_envelope

Answer = Union[Accepted, Checked]


@dataclass(frozen=True)
class Submission:
    """Who sent a write and how: everything but the body."""

    actor: str
    request_id: str
    method: str
    path: str
    idempotency_key: Optional[str] = None
    # Validate only: nothing is queued, and an Idempotency-Key is neither used nor claimed.
    dry_run: bool = False
    # The name of the actor's token, for the audit trail.
    actor_name: str = ""


@dataclass(frozen=True)
class KeyUse:
    """An Idempotency-Key, scoped to its token, and the request it came with."""

    hash: str
    fingerprint: str

    @classmethod
    def of(cls, submission: Submission, body: object) -> Optional[KeyUse]:
        if not submission.idempotency_key or submission.dry_run:
            return None
        return cls(
            hash=ids.idempotency_hash(submission.actor, submission.idempotency_key),
            fingerprint=ids.request_fingerprint(submission.method, submission.path, body),
        )


class Desk:
    """The steps every write shares; `WriteDesk` and `SchemaDesk` add what each checks."""

    def __init__(
        self,
        store: Store,
        queue: WriteQueue,
        clock: Callable[[], datetime] = utc_now,
        new_config_id: Callable[[datetime], str] = ids.new_config_id,
        new_operation_id: Callable[[datetime], str] = ids.new_operation_id,
        queue_retention: timedelta = timedelta(days=4),
    ) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock
        self._new_config_id = new_config_id
        self._new_operation_id = new_operation_id
        self._queue_retention = queue_retention

    def operation(self, operation_id: str) -> Operation:
        """The operation's record, or `pending` for one the API accepted that the worker
        has not recorded yet (it is still waiting in the queue)."""
        accepted_at = ids.operation_accepted_at(operation_id)
        if accepted_at is None:
            raise NotFound(f"no operation '{operation_id}'")
        recorded = self._store.receipts.get_operation(operation_id)
        if recorded:
            return recorded
        if self._clock() - accepted_at > self._queue_retention:
            raise NotFound(f"no operation '{operation_id}': it is unknown or has expired")
        return Operation(operationId=operation_id, status="pending", submittedAt=isoformat(accepted_at))

    def _read(self, reads: Reads, key: Optional[KeyUse]) -> Snapshot:
        if key is not None:
            reads = replace(reads, idempotency_hash=key.hash)
        if reads == Reads():
            return Snapshot()
        return self._store.snapshots.read(reads)

    def _meta(
        self,
        submission: Submission,
        key: Optional[KeyUse],
        now: Optional[datetime] = None,
        expected: Optional[int] = None,
        expected_created: Optional[str] = None,
    ) -> OperationMeta:
        now = now or self._clock()
        return OperationMeta(
            operationId=self._new_operation_id(now),
            requestId=submission.request_id,
            submittedAt=isoformat(now),
            actor=submission.actor,
            actorName=submission.actor_name or None,
            expectedVersion=expected,
            expectedCreatedAt=expected_created,
            idempotencyKey=key.hash if key else None,
            fingerprint=key.fingerprint if key else None,
        )

    def _send(self, envelope: OperationEnvelope, resource: str, key: Optional[KeyUse], dry_run: bool = False) -> Answer:
        """Enqueues the operation; with a key, claims the key for it first, so that a
        repeat sent meanwhile (in parallel, say) is answered with this operation. A dry
        run has come this far without an error: it would be accepted."""
        if dry_run:
            return Checked()
        if key is not None:
            claim = IdempotencyRecord(
                operationId=envelope.meta.operationId,
                fingerprint=key.fingerprint,
                resourceId=resource,
                status="pending",
                envelope=envelope.model_dump_json(exclude_none=True),
            )
            holder = self._store.receipts.claim_key(key.hash, claim)
            if holder is not None:
                return self._replay(holder, key)
        self._queue.send(envelope)
        return Accepted(operationId=envelope.meta.operationId, status="pending", id=resource)

    def _replay(self, record: IdempotencyRecord, key: KeyUse) -> Accepted:
        """The answer to a repeat of a keyed request: the first request's operation."""
        if record.fingerprint != key.fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request")
        if record.status == "pending" and record.envelope:
            # The request that claimed the key may have failed to enqueue its operation (or
            # is enqueueing it now): send it again. SQS drops a second copy within five
            # minutes, and the worker applies an operation once however often it arrives.
            self._queue.send(parse_envelope(record.envelope))
        status: OperationStatus = "pending" if record.status == "pending" else "failed"
        if record.status == "succeeded":
            status = "succeeded"
        return Accepted(operationId=record.operationId, status=status, id=record.resourceId)
