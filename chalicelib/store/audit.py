"""The audit trail: one entry per applied change, in the change's own transaction, kept
for a retention period (TTL), listed per site newest first."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Optional

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core import BadRequest, epoch_seconds
from chalicelib.store import keys
from chalicelib.store.cursors import Listing, decode_cursor, encode_cursor
from chalicelib.store.models import AuditEntry
from chalicelib.store.table import Item, SingleTable, Transaction

DEFAULT_RETENTION = timedelta(days=400)
# A sort key as the store writes it: the time (ISO 8601, UTC, milliseconds), '#', an id.
_POSITION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[A-Za-z0-9_-]{1,64}")


def audit_item(entry: AuditEntry, expires_at: int) -> Item:
    body = entry.model_dump(exclude={"patch"}, exclude_none=True)
    # As JSON text: values nest as deep as settings do, and numbers stay as they were.
    return {
        **keys.audit_key(entry.site, entry.at, entry.operationId),
        **body,
        "patch": json.dumps(entry.patch, separators=(",", ":"), ensure_ascii=False),
        keys.TTL_ATTRIBUTE: expires_at,
    }


def audit_from_item(item: Item) -> AuditEntry:
    return AuditEntry.model_validate({**item, "patch": json.loads(item["patch"])})


class AuditStore:
    def __init__(self, table: SingleTable, retention: timedelta = DEFAULT_RETENTION) -> None:
        self._table = table
        self._retention = retention

    def add(self, transaction: Transaction, entry: AuditEntry) -> None:
        """The entry goes in with the change: both are written, or neither."""
        expires_at = epoch_seconds(datetime.fromisoformat(entry.at) + self._retention)
        transaction.put(audit_item(entry, expires_at), Attr(keys.PK).not_exists())

    def list(
        self, site: Optional[str], since: Optional[str], until: Optional[str], limit: int, cursor: Optional[str]
    ) -> Listing:
        """Newest first, `since` <= at < `until` (ISO 8601 UTC as the service writes it)."""
        listing = f"audit:{site or ''}:{since or ''}:{until or ''}"
        low, high = since or "0", until or "9"
        if low >= high:
            raise BadRequest("'since' must be before 'until'")
        condition = Key(keys.PK).eq(keys.audit_pk(site)) & Key(keys.SK).between(low, high)
        start = None
        if cursor:
            position = decode_cursor(
                cursor, listing, lambda text: _POSITION.fullmatch(text) is not None and low <= text <= high
            )
            start = {keys.PK: keys.audit_pk(site), keys.SK: position}
        items, more = self._table.query(condition, limit, start, newest_first=True)
        entries = [audit_from_item(item) for item in items]
        next_cursor = encode_cursor(listing, items[-1][keys.SK]) if more else None
        return Listing(entries, next_cursor)
