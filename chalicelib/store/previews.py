"""Preview links: one item per link in its config's partition (listed by config), and one
per token hash (found by the preview route). Both carry the link's expiry as their TTL."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core import epoch_seconds
from chalicelib.store import keys
from chalicelib.store.models import PreviewLink
from chalicelib.store.table import Item, SingleTable, Transaction

TOKEN_HASH = "tokenHash"  # noqa: S105 (an attribute name)


# The link's expiry as written (ISO 8601); `expiresAt` is the table's TTL attribute.
EXPIRY = "expiry"


def link_from_item(item: Item) -> PreviewLink:
    return PreviewLink.model_validate({**item, "expiresAt": item[EXPIRY]})


class PreviewStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def by_token(self, token_hash: str) -> Optional[PreviewLink]:
        """The live link a token opens; None when unknown, revoked or expired."""
        item = self._table.live(self._table.get(keys.preview_token_key(token_hash)))
        return link_from_item(item) if item else None

    def of_config(self, config_id: str, limit: int = 100) -> List[PreviewLink]:
        """A config's live links, newest first (links are few: each lives at most 7 days)."""
        condition = Key(keys.PK).eq(keys.config_pk(config_id)) & Key(keys.SK).begins_with(keys.PREVIEW_PREFIX)
        items, _ = self._table.query(condition, limit)
        links = [link_from_item(item) for item in items]
        return sorted(links, key=lambda link: (link.createdAt, link.id), reverse=True)

    @staticmethod
    def add_create(transaction: Transaction, link: PreviewLink, token_hash: str) -> None:
        expires = {keys.TTL_ATTRIBUTE: epoch_seconds(datetime.fromisoformat(link.expiresAt))}
        body = {**link.model_dump(exclude={"expiresAt"}, exclude_none=True), EXPIRY: link.expiresAt}
        transaction.put(
            {**keys.preview_link_key(link.configId, link.id), **body, TOKEN_HASH: token_hash, **expires},
            Attr(keys.PK).not_exists(),
        )
        transaction.put({**keys.preview_token_key(token_hash), **body, **expires}, Attr(keys.PK).not_exists())

    @staticmethod
    def add_revoke(transaction: Transaction, link: PreviewLink, token_hash: str) -> None:
        transaction.delete(keys.preview_link_key(link.configId, link.id), Attr(keys.PK).exists())
        transaction.delete(keys.preview_token_key(token_hash))

    def get(self, config_id: str, link_id: str) -> Optional[tuple[PreviewLink, str]]:
        """A link and its token's hash (for revoking it), expired or not."""
        item = self._table.get(keys.preview_link_key(config_id, link_id), consistent=True)
        return (link_from_item(item), str(item[TOKEN_HASH])) if item else None
