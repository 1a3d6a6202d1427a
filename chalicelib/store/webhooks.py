"""Webhooks (one item per webhook, in its site's partition) and their delivery log (one
item per attempt, in the webhook's own partition, kept for a while through the TTL)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core import epoch_seconds, is_webhook_name
from chalicelib.store import keys
from chalicelib.store.cursors import Listing, decode_cursor, encode_cursor
from chalicelib.store.models import Delivery, LastApplied, SealedSecret, Webhook
from chalicelib.store.table import Item, SingleTable, Transaction

# How long the log keeps an attempt.
DELIVERY_RETENTION = timedelta(days=30)
# A delivery's sort key as the log writes it: time (ISO 8601 UTC, ms), '#', an event id, '#', the attempt.
_DELIVERY_POSITION = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[A-Za-z0-9_.-]{1,80}#\d{3}")
SECRETS = "secrets"


def webhook_item(webhook: Webhook, sealed: List[SealedSecret], applied: Optional[LastApplied] = None) -> Item:
    body = webhook.model_dump(exclude={SECRETS}, exclude_none=True)
    item = {
        **keys.webhook_key(webhook.site, webhook.name),
        **body,
        SECRETS: [secret.model_dump(exclude_none=True) for secret in sealed],
    }
    return {**item, **applied.attribute()} if applied else item


def webhook_from_item(item: Item) -> Webhook:
    """The webhook as it is shown: when each secret was made, never the secret."""
    return Webhook.model_validate(item)


def sealed_from_item(item: Item) -> List[SealedSecret]:
    return [SealedSecret.model_validate(secret) for secret in item.get(SECRETS, [])]


class WebhookStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def get(self, site: str, name: str, consistent: bool = False) -> Optional[Tuple[Webhook, List[SealedSecret]]]:
        item = self._table.get(keys.webhook_key(site, name), consistent)
        return (webhook_from_item(item), sealed_from_item(item)) if item else None

    def of_site(self, site: str, limit: int = 100) -> List[Webhook]:
        """A site's webhooks by name (a site has at most a few): one Query."""
        condition = Key(keys.PK).eq(keys.site_pk(site)) & Key(keys.SK).begins_with(keys.WEBHOOK_PREFIX)
        items, _ = self._table.query(condition, limit)
        return [webhook_from_item(item) for item in items]

    def list(self, site: str, limit: int, cursor: Optional[str]) -> Listing:
        listing = f"webhooks:{site}"
        start = None
        if cursor:
            name = decode_cursor(cursor, listing, is_webhook_name)
            start = keys.webhook_key(site, name)
        condition = Key(keys.PK).eq(keys.site_pk(site)) & Key(keys.SK).begins_with(keys.WEBHOOK_PREFIX)
        items, more = self._table.query(condition, limit, start)
        webhooks = [webhook_from_item(item) for item in items]
        return Listing(webhooks, encode_cursor(listing, webhooks[-1].name) if more else None)

    @staticmethod
    def add_put(
        transaction: Transaction,
        webhook: Webhook,
        sealed: List[SealedSecret],
        previous_version: Optional[int],
        applied: LastApplied,
    ) -> None:
        """Creates the webhook once, or replaces the version the operation read."""
        condition = Attr(keys.PK).not_exists() if previous_version is None else Attr("version").eq(previous_version)
        transaction.put(webhook_item(webhook, sealed, applied), condition)

    @staticmethod
    def add_delete(transaction: Transaction, webhook: Webhook) -> None:
        transaction.delete(keys.webhook_key(webhook.site, webhook.name), Attr("version").eq(webhook.version))


def delivery_item(site: str, name: str, delivery: Delivery) -> Item:
    expires_at = epoch_seconds(datetime.fromisoformat(delivery.attemptedAt) + DELIVERY_RETENTION)
    return {
        **keys.delivery_key(site, name, delivery.attemptedAt, delivery.eventId, delivery.attempt),
        **delivery.model_dump(exclude_none=True),
        keys.TTL_ATTRIBUTE: expires_at,
    }


class DeliveryLog:
    """Every attempt to deliver an event to a webhook, newest first."""

    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def record(self, site: str, name: str, delivery: Delivery) -> None:
        self._table.put(delivery_item(site, name, delivery))

    def list(self, site: str, name: str, limit: int, cursor: Optional[str]) -> Listing:
        listing = f"deliveries:{site}:{name}"
        condition = Key(keys.PK).eq(keys.deliveries_pk(site, name))
        start = None
        if cursor:
            position = decode_cursor(cursor, listing, lambda text: _DELIVERY_POSITION.fullmatch(text) is not None)
            start = {keys.PK: keys.deliveries_pk(site, name), keys.SK: position}
        items, more = self._table.query(condition, limit, start, newest_first=True)
        deliveries = [Delivery.model_validate(item) for item in items]
        next_cursor = encode_cursor(listing, str(items[-1][keys.SK])) if more else None
        return Listing(deliveries, next_cursor)
