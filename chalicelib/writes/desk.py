"""The API side of writes: validate against what is stored, then enqueue.

The API validates completely, reads once to refuse what is already doomed (404, 409,
412, 422), puts one envelope on the queue and answers 202 with the operation's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from pydantic.main import BaseModel

from chalicelib.core import ids
from chalicelib.core.clock import isoformat, utc_now
from chalicelib.core.errors import Conflict, IdempotencyKeyReused, NotFound, PreconditionFailed, ValidationFailed
from chalicelib.core.etags import etag, if_match_holds
from chalicelib.core.fields import Model
from chalicelib.store import IdempotencyRecord, Operation, Reads, RenderConfig, Snapshot, Store
from chalicelib.store.models import OperationStatus
from chalicelib.writes.configs import ConfigCreate, ConfigCreateData, ConfigDelete, ConfigUpdate
from chalicelib.writes.envelopes import OperationEnvelope, OperationMeta
from chalicelib.writes.queue import WriteQueue
from chalicelib.writes.registry import parse_envelope
from chalicelib.writes.sites import SitePut, SitePutData


class Accepted(Model):
    operationId: str
    status: OperationStatus
    id: Optional[str] = None


@dataclass(frozen=True)
class Submission:
    """Who sent a write and how: everything but the body."""

    actor: str
    request_id: str
    method: str
    path: str
    idempotency_key: Optional[str] = None


@dataclass(frozen=True)
class _KeyUse:
    """An Idempotency-Key, scoped to its token, and the request it came with."""

    hash: str
    fingerprint: str

    @classmethod
    def of(cls, submission: Submission, body: object) -> Optional[_KeyUse]:
        if not submission.idempotency_key:
            return None
        return cls(
            hash=ids.idempotency_hash(submission.actor, submission.idempotency_key),
            fingerprint=ids.request_fingerprint(submission.method, submission.path, body),
        )


class WriteDesk:
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

    def put_site(self, site: str, body: BaseModel, submission: Submission) -> Accepted:
        key = _KeyUse.of(submission, body.model_dump(mode="json"))
        snapshot = self._read(Reads(), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        data = SitePutData(site=site, **body.model_dump())
        return self._send(SitePut(data=data, meta=self._meta(submission, key)), site, key)

    def create_config(self, body: BaseModel, submission: Submission) -> Accepted:
        fields: dict[str, Any] = body.model_dump()
        key = _KeyUse.of(submission, body.model_dump(mode="json"))
        site, page = fields["site"], fields["page"]
        snapshot = self._read(Reads(site=site, page=(site, page)), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        if snapshot.site is None:
            raise ValidationFailed(
                "the site does not exist; create it with PUT /sites/{site} first",
                [{"field": "site", "message": f"no site '{site}'", "type": "not_found"}],
            )
        if snapshot.page is not None:
            raise Conflict(
                f"page '{page}' of site '{site}' already has config {snapshot.page.id}; "
                f"update it with PUT /metadata/{snapshot.page.id}"
            )
        now = self._clock()
        data = ConfigCreateData(id=self._new_config_id(now), **fields)
        return self._send(ConfigCreate(data=data, meta=self._meta(submission, key, now)), data.id, key)

    def update_config(
        self, config_id: str, body: BaseModel, if_match: Optional[str], submission: Submission
    ) -> Accepted:
        key = _KeyUse.of(submission, body.model_dump(mode="json"))
        snapshot = self._read(Reads(config_id=config_id), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        current = _current(snapshot, config_id, if_match)
        expected = current.version if if_match else None
        envelope = ConfigUpdate.model_validate(
            {"data": {"id": config_id, **body.model_dump()}, "meta": self._meta(submission, key, expected=expected)}
        )
        return self._send(envelope, config_id, key)

    def delete_config(self, config_id: str, if_match: Optional[str], submission: Submission) -> Accepted:
        key = _KeyUse.of(submission, {})
        snapshot = self._read(Reads(config_id=config_id), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        current = _current(snapshot, config_id, if_match)
        expected = current.version if if_match else None
        envelope = ConfigDelete.model_validate(
            {"data": {"id": config_id}, "meta": self._meta(submission, key, expected=expected)}
        )
        return self._send(envelope, config_id, key)

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

    def _read(self, reads: Reads, key: Optional[_KeyUse]) -> Snapshot:
        if key is not None:
            reads = Reads(site=reads.site, page=reads.page, config_id=reads.config_id, idempotency_hash=key.hash)
        if reads == Reads():
            return Snapshot()
        return self._store.snapshots.read(reads)

    def _meta(
        self,
        submission: Submission,
        key: Optional[_KeyUse],
        now: Optional[datetime] = None,
        expected: Optional[int] = None,
    ) -> OperationMeta:
        now = now or self._clock()
        return OperationMeta(
            operationId=self._new_operation_id(now),
            requestId=submission.request_id,
            submittedAt=isoformat(now),
            actor=submission.actor,
            expectedVersion=expected,
            idempotencyKey=key.hash if key else None,
            fingerprint=key.fingerprint if key else None,
        )

    def _send(self, envelope: OperationEnvelope, resource: str, key: Optional[_KeyUse]) -> Accepted:
        """Enqueues the operation; with a key, claims the key for it first, so that a
        repeat sent meanwhile (in parallel, say) is answered with this operation."""
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

    def _replay(self, record: IdempotencyRecord, key: _KeyUse) -> Accepted:
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


def _current(snapshot: Snapshot, config_id: str, if_match: Optional[str]) -> RenderConfig:
    config = snapshot.config
    if config is None:
        raise NotFound(f"no config '{config_id}'")
    current_tag = etag(config.id, config.version)
    if if_match is not None and not if_match_holds(if_match, current_tag):
        raise PreconditionFailed(f"If-Match does not match the current version: the ETag is now {current_tag}")
    return config
