"""The outbox: the change events an operation emits, written in the same transaction as
its change, so an event exists exactly when its change does. The worker sends them once
the transaction has committed (the change is then readable) and deletes them; what a
crash or an outage leaves behind is sent again when the operation's message comes back,
or by the sweeper that looks for events left unsent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import List, Optional, Sequence

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core import Model, epoch_seconds, isoformat
from chalicelib.store import keys
from chalicelib.store.table import Item, SingleTable, Transaction

# An event nobody could send for this long is dropped (DynamoDB's TTL): by then the
# sweeper has tried it every minute for a week, and the audit trail keeps the change.
OUTBOX_RETENTION = timedelta(days=7)
# How many operations' unsent events one sweep takes from each shard.
SWEEP_BATCH = 100


class ChangeEvent(Model):
    """What an applied change tells the world, once it is readable through the public
    routes. `id` is the same on every attempt to send it (consumers dedupe by it);
    `sequence` orders the events of one page (the page's revision: it only grows,
    while `version` goes down on a rollback)."""

    id: str
    type: str
    site: str
    occurredAt: str
    operationId: str
    page: Optional[str] = None
    configId: Optional[str] = None
    version: Optional[int] = None
    etag: Optional[str] = None
    sequence: Optional[int] = None
    releaseId: Optional[str] = None
    layout: Optional[str] = None

    def wire(self) -> dict[str, object]:
        """The event as receivers get it."""
        return self.model_dump(exclude_none=True)


def outbox_item(events: Sequence[ChangeEvent]) -> Item:
    """An operation's events, as one item: a release's fifty pages add one item to its
    transaction, not fifty (DynamoDB takes at most 100 in one)."""
    first = events[0]
    expires_at = epoch_seconds(datetime.fromisoformat(first.occurredAt) + OUTBOX_RETENTION)
    return {
        **keys.outbox_key(first.operationId),
        **keys.outbox_entry(first.operationId, first.occurredAt),
        "events": json.dumps([event.wire() for event in events], separators=(",", ":"), ensure_ascii=False),
        keys.TTL_ATTRIBUTE: expires_at,
    }


def events_from_item(item: Item) -> List[ChangeEvent]:
    return [ChangeEvent.model_validate(event) for event in json.loads(item["events"])]


class OutboxStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    @staticmethod
    def add(transaction: Transaction, events: Sequence[ChangeEvent]) -> None:
        """The events go in with the change: both are written, or neither."""
        if events:
            transaction.put(outbox_item(events), Attr(keys.PK).not_exists())

    def of_operation(self, operation_id: str) -> List[ChangeEvent]:
        """The events of an operation still unsent (a crash came between commit and send)."""
        item = self._table.get(keys.outbox_key(operation_id), consistent=True)
        return events_from_item(item) if item else []

    def unsent(self, before: datetime) -> List[List[ChangeEvent]]:
        """The events of each operation that wrote them before `before` and still has
        them here, oldest first per shard."""
        found: List[List[ChangeEvent]] = []
        for shard in keys.outbox_shards():
            condition = Key(keys.GSI1_PK).eq(shard) & Key(keys.GSI1_SK).lt(isoformat(before))
            items, _ = self._table.query(condition, SWEEP_BATCH, index=keys.GSI1)
            found.extend(events_from_item(item) for item in items)
        return found

    def remove(self, events: Sequence[ChangeEvent]) -> None:
        """Sent: deleting what is already gone changes nothing."""
        operations = sorted({event.operationId for event in events})
        self._table.delete_many([keys.outbox_key(operation_id) for operation_id in operations])


def event_id(operation_id: str, index: int) -> str:
    return f"{operation_id}.{index:02d}"
