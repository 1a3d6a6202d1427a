"""Operation records and idempotency records: written with every applied operation, in
the same transaction as its change, so an operation is applied once and a repeated
Idempotency-Key finds what its first request became."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from boto3.dynamodb.conditions import Attr

from chalicelib.core import epoch_seconds
from chalicelib.store import keys
from chalicelib.store.models import IdempotencyRecord, Operation
from chalicelib.store.table import Item, SingleTable, Transaction


@dataclass(frozen=True)
class Receipt:
    """Written with every applied operation: its record, and the key it was sent with."""

    operation: Operation
    actor: str
    # False for an operation marked failed only because its message is going to the
    # dead-letter queue: a redrive may still apply it.
    final: bool = True
    idempotency_hash: Optional[str] = None
    fingerprint: Optional[str] = None

    def with_version(self, version: int) -> Receipt:
        """The receipt of an operation that leaves its resource at `version`."""
        return replace(self, operation=self.operation.model_copy(update={"version": version}))


def operation_from_item(item: Item) -> Operation:
    return Operation.model_validate(item)


def idempotency_from_item(item: Item) -> IdempotencyRecord:
    return IdempotencyRecord.model_validate(item)


class ReceiptStore:
    def __init__(self, table: SingleTable, operation_ttl_seconds: int = 7 * 24 * 3600) -> None:
        self._table = table
        self._ttl_seconds = operation_ttl_seconds

    def get_operation(self, operation_id: str) -> Optional[Operation]:
        item = self._table.get(keys.operation_key(operation_id))
        return operation_from_item(item) if item else None

    def claim_key(self, key_hash: str, claim: IdempotencyRecord) -> Optional[IdempotencyRecord]:
        """Claims an Idempotency-Key for an operation the API is accepting. None when this
        request claimed it; else the record of the request that holds it (it won a race
        with this one), as found in the refusal: parallel repeats of a keyed request all
        learn the same operation."""
        now = epoch_seconds(self._table.now())
        item = {
            **keys.idempotency_key(key_hash),
            **claim.model_dump(exclude_none=True),
            keys.TTL_ATTRIBUTE: now + self._ttl_seconds,
        }
        # Unclaimed, or claimed so long ago that the claim has expired.
        holder = self._table.put_unless(item, Attr(keys.PK).not_exists() | Attr(keys.TTL_ATTRIBUTE).lt(now))
        return idempotency_from_item(holder) if holder else None

    def record(self, receipt: Receipt) -> None:
        """Records an operation that changed nothing (it failed, or repeated a key)."""
        transaction = self._table.transaction()
        self.add(transaction, receipt)
        self._table.commit(transaction)

    def add(self, transaction: Transaction, receipt: Receipt) -> None:
        operation = receipt.operation
        now = epoch_seconds(self._table.now())
        expires_at = now + self._ttl_seconds
        record = {
            **keys.operation_key(operation.operationId),
            **operation.model_dump(exclude_none=True),
            "final": receipt.final,
            keys.TTL_ATTRIBUTE: expires_at,
        }
        # Each operation is applied once: a duplicate delivery fails here and changes
        # nothing. Only a record left by a dead-lettered attempt may be replaced, when the
        # message is redriven.
        transaction.put(record, Attr(keys.PK).not_exists() | Attr("final").eq(False))
        if not (receipt.idempotency_hash and receipt.fingerprint and receipt.final):
            return
        key_record = IdempotencyRecord(
            operationId=operation.operationId,
            fingerprint=receipt.fingerprint,
            resourceId=operation.resourceId,
            status=operation.status,
        )
        transaction.put(
            {
                **keys.idempotency_key(receipt.idempotency_hash),
                **key_record.model_dump(exclude_none=True),
                keys.TTL_ATTRIBUTE: expires_at,
            },
            # The key's first operation keeps it until it expires: this operation claimed it
            # when it was accepted, or (accepted before keys were claimed) it is unclaimed.
            Attr("operationId").eq(operation.operationId)
            | Attr(keys.PK).not_exists()
            | Attr(keys.TTL_ATTRIBUTE).lt(now),
        )
