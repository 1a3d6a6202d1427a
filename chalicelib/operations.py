"""Operations: how the API accepts a write, and how the worker applies it.

The API validates completely, reads once to refuse what is already doomed (404, 409,
412, 422), puts one envelope on the queue and answers 202. The worker reads once,
decides, and writes once in a transaction; applying an operation a second time
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional, Union

from chalicelib import ids
from chalicelib.errors import (
    Conflict,
    IdempotencyKeyReused,
    NotFound,
    PreconditionFailed,
    ServiceError,
    ValidationFailed,
)
from chalicelib.models import (
    Accepted,
    ConfigContent,
    ConfigCreate,
    ConfigCreateData,
    ConfigCreateInput,
    ConfigDelete,
    ConfigDeleteData,
    ConfigUpdate,
    ConfigUpdateData,
    Envelope,
    Operation,
    OperationError,
    OperationMeta,
    RenderConfig,
    Site,
    SiteInput,
    SitePut,
    SitePutData,
    etag,
    etag_matches,
    isoformat,
    resource_id,
    utc_now,
)
from chalicelib.queue import WriteQueue
from chalicelib.repository import Receipt, Repository, Snapshot


@dataclass(frozen=True)
class Submission:
    """Who sent a write and how: everything but the body."""

    actor: str
    request_id: str
    method: str
    path: str
    idempotency_key: Optional[str] = None


class WriteDesk:
    """The API side of writes: validates against what is stored, then enqueues."""

    def __init__(
        self,
        repository: Repository,
        queue: WriteQueue,
        clock: Callable[[], datetime] = utc_now,
        new_config_id: Callable[[datetime], str] = ids.new_config_id,
        new_operation_id: Callable[[datetime], str] = ids.new_operation_id,
        queue_retention: timedelta = timedelta(days=4),
    ) -> None:
        self._repository = repository
        self._queue_retention = queue_retention
        self._queue = queue
        self._clock = clock
        self._new_config_id = new_config_id
        self._new_operation_id = new_operation_id

    def put_site(self, site: str, body: SiteInput, submission: Submission) -> Accepted:
        key = _KeyUse.of(submission, body.model_dump(mode="json"))
        snapshot = self._repository.read(idempotency_hash=key.hash) if key else Snapshot()
        replay = _replay(snapshot, key)
        if replay:
            return replay
        data = SitePutData(site=site, **body.model_dump())
        return self._send(SitePut(data=data, meta=self._meta(submission, key)), site)

    def create_config(self, body: ConfigCreateInput, submission: Submission) -> Accepted:
        key = _KeyUse.of(submission, body.model_dump(mode="json"))
        snapshot = self._repository.read(
            site=body.site, page=(body.site, body.page), idempotency_hash=key.hash if key else None
        )
        replay = _replay(snapshot, key)
        if replay:
            return replay
        if snapshot.site is None:
            raise ValidationFailed(
                "the site does not exist; create it with PUT /sites/{site} first",
                [{"field": "site", "message": f"no site '{body.site}'", "type": "not_found"}],
            )
        if snapshot.page is not None:
            raise Conflict(
                f"page '{body.page}' of site '{body.site}' already has config {snapshot.page.id}; "
                f"update it with PUT /metadata/{snapshot.page.id}"
            )
        now = self._clock()
        data = ConfigCreateData(id=self._new_config_id(now), **body.model_dump())
        return self._send(ConfigCreate(data=data, meta=self._meta(submission, key, now)), data.id)

    def update_config(
        self, config_id: str, body: ConfigContent, if_match: Optional[str], submission: Submission
    ) -> Accepted:
        key = _KeyUse.of(submission, body.model_dump(mode="json"))
        snapshot = self._repository.read(config_id=config_id, idempotency_hash=key.hash if key else None)
        replay = _replay(snapshot, key)
        if replay:
            return replay
        current = _current(snapshot, config_id, if_match)
        data = ConfigUpdateData(id=config_id, **body.model_dump())
        expected = current.version if if_match else None
        return self._send(ConfigUpdate(data=data, meta=self._meta(submission, key, expected=expected)), config_id)

    def delete_config(self, config_id: str, if_match: Optional[str], submission: Submission) -> Accepted:
        key = _KeyUse.of(submission, {})
        snapshot = self._repository.read(config_id=config_id, idempotency_hash=key.hash if key else None)
        replay = _replay(snapshot, key)
        if replay:
            return replay
        current = _current(snapshot, config_id, if_match)
        expected = current.version if if_match else None
        data = ConfigDeleteData(id=config_id)
        return self._send(ConfigDelete(data=data, meta=self._meta(submission, key, expected=expected)), config_id)

    def operation(self, operation_id: str) -> Operation:
        """The operation's record, or `pending` for one the API accepted that the worker
        has not recorded yet (it is still waiting in the queue)."""
        accepted_at = ids.operation_accepted_at(operation_id)
        if accepted_at is None:
            raise NotFound(f"no operation '{operation_id}'")
        recorded = self._repository.get_operation(operation_id)
        if recorded:
            return recorded
        if self._clock() - accepted_at > self._queue_retention:
            raise NotFound(f"no operation '{operation_id}': it is unknown or has expired")
        return Operation(operationId=operation_id, status="pending", submittedAt=isoformat(accepted_at))

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

    def _send(self, envelope: Envelope, resource: str) -> Accepted:
        self._queue.send(envelope)
        return Accepted(operationId=envelope.meta.operationId, status="pending", id=resource)


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


def _replay(snapshot: Snapshot, key: Optional[_KeyUse]) -> Optional[Accepted]:
    record = snapshot.idempotency
    if key is None or record is None:
        return None
    if record.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request")
    return Accepted(
        operationId=record.operationId,
        status="succeeded" if record.status == "succeeded" else "failed",
        id=record.resourceId,
    )


def _current(snapshot: Snapshot, config_id: str, if_match: Optional[str]) -> RenderConfig:
    config = snapshot.config
    if config is None:
        raise NotFound(f"no config '{config_id}'")
    current_tag = etag(config.id, config.version)
    if if_match is not None and not etag_matches(if_match, current_tag):
        raise PreconditionFailed(f"If-Match does not match the current version: the ETag is now {current_tag}")
    return config


# --- the worker side -----------------------------------------------------------------


class OperationFailed(ServiceError):
    """A permanent failure: the operation ends `failed` and the message is done."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def apply_operation(
    envelope: Envelope,
    repository: Repository,
    clock: Callable[[], datetime] = utc_now,
) -> Operation:
    """Applies one operation and records how it ended; a second call changes nothing.

    Raises ServiceUnavailable when the table refuses for now: the message stays queued.
    """
    meta = envelope.meta
    snapshot = _read_for(envelope, repository)
    if snapshot.operation is not None and snapshot.operation_final:
        return snapshot.operation  # delivered before: already applied and recorded
    now = clock()
    operation = Operation(
        operationId=meta.operationId,
        status="succeeded",
        type=envelope.operation,
        resourceId=resource_id(envelope),
        submittedAt=meta.submittedAt,
        completedAt=isoformat(now),
    )
    previous = snapshot.idempotency
    if previous is not None and previous.operationId != meta.operationId:
        # The same key was sent again before its first operation was applied.
        if previous.fingerprint != meta.fingerprint:
            failure = OperationFailed(
                "IdempotencyKeyReused", "this Idempotency-Key was already used with another request"
            )
            return _record_failure(operation, failure, Receipt(operation, meta.actor), repository)
        mirrored = operation.model_copy(update={"status": previous.status, "resourceId": previous.resourceId})
        repository.record_operation(Receipt(mirrored, meta.actor))
        return mirrored
    receipt = Receipt(operation, meta.actor, idempotency_hash=meta.idempotencyKey, fingerprint=meta.fingerprint)
    try:
        version = _apply(envelope, snapshot, repository, receipt, now)
    except OperationFailed as failure:
        return _record_failure(operation, failure, receipt, repository)
    return operation.model_copy(update={"version": version})


def _record_failure(
    operation: Operation, failure: OperationFailed, receipt: Receipt, repository: Repository
) -> Operation:
    failed = operation.model_copy(
        update={"status": "failed", "error": OperationError(code=failure.code, message=failure.message)}
    )
    repository.record_operation(
        Receipt(failed, receipt.actor, idempotency_hash=receipt.idempotency_hash, fingerprint=receipt.fingerprint)
    )
    return failed


def record_delivery_failure(
    envelope: Envelope, repository: Repository, reason: str, clock: Callable[[], datetime] = utc_now
) -> None:
    """Marks an operation whose message is about to go to the dead-letter queue, so a
    client polling it learns it failed. A redrive may still apply it."""
    operation = Operation(
        operationId=envelope.meta.operationId,
        status="failed",
        type=envelope.operation,
        resourceId=resource_id(envelope),
        submittedAt=envelope.meta.submittedAt,
        completedAt=isoformat(clock()),
        error=OperationError(code="DeliveryFailed", message=reason),
    )
    repository.record_operation(Receipt(operation, envelope.meta.actor, final=False))


def _read_for(envelope: Envelope, repository: Repository) -> Snapshot:
    operation_id, key = envelope.meta.operationId, envelope.meta.idempotencyKey
    if isinstance(envelope, SitePut):
        return repository.read(site=envelope.data.site, operation_id=operation_id, idempotency_hash=key)
    if isinstance(envelope, ConfigCreate):
        site, page = envelope.data.site, envelope.data.page
        return repository.read(site=site, page=(site, page), operation_id=operation_id, idempotency_hash=key)
    return repository.read(config_id=envelope.data.id, operation_id=operation_id, idempotency_hash=key)


def _apply(envelope: Envelope, snapshot: Snapshot, repository: Repository, receipt: Receipt, now: datetime) -> int:
    """Writes the change; answers the resource's new version."""
    stamp = isoformat(now)
    if isinstance(envelope, SitePut):
        previous = snapshot.site
        site = Site(
            **envelope.data.model_dump(),
            version=previous.version + 1 if previous else 1,
            createdAt=previous.createdAt if previous else stamp,
            updatedAt=stamp,
        )
        repository.put_site(site, previous.version if previous else None, receipt.with_version(site.version))
        return site.version
    if isinstance(envelope, ConfigCreate):
        data = envelope.data
        if snapshot.site is None:
            raise OperationFailed("UnknownSite", f"site '{data.site}' does not exist")
        if snapshot.page is not None:
            raise OperationFailed("Conflict", f"page '{data.page}' of site '{data.site}' already has a config")
        config = RenderConfig(**data.model_dump(), version=1, createdAt=stamp, updatedAt=stamp)
        repository.create_config(config, receipt.with_version(1))
        return 1
    current = _expected(envelope, snapshot.config)
    if isinstance(envelope, ConfigUpdate):
        updated = current.model_copy(
            update={**envelope.data.model_dump(exclude={"id"}), "version": current.version + 1, "updatedAt": stamp}
        )
        repository.replace_config(updated, receipt.with_version(updated.version))
        return updated.version
    repository.delete_config(current, receipt.with_version(current.version + 1))
    return current.version + 1


def _expected(envelope: Union[ConfigUpdate, ConfigDelete], config: Optional[RenderConfig]) -> RenderConfig:
    if config is None:
        raise OperationFailed("NotFound", f"config '{envelope.data.id}' does not exist (deleted meanwhile?)")
    expected = envelope.meta.expectedVersion
    if expected is not None and config.version != expected:
        raise OperationFailed(
            "PreconditionFailed",
            f"If-Match named version {expected}, but version {config.version} was applied first",
        )
    return config
