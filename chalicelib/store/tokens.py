"""API tokens, stored only as SHA-256 hashes and listed by their public id."""

from __future__ import annotations

from typing import List, Optional

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.store import keys
from chalicelib.store.models import Token
from chalicelib.store.table import Item, SingleTable


class TokenStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def get(self, token_hash: str) -> Optional[Token]:
        item = self._table.get(keys.token_key(token_hash))
        return Token.model_validate(item) if item else None

    def put(self, token_hash: str, token: Token) -> bool:
        """Stores a token; False when that token was already stored (nothing changes)."""
        item = {**keys.token_key(token_hash), **keys.token_list_entry(token.tokenId), **token.model_dump()}
        # Never overwrite a token: seeding the same token twice changes nothing.
        return self._table.put(item, Attr(keys.PK).not_exists())

    def list(self) -> List[Token]:
        tokens: List[Token] = []
        start: Optional[Item] = None
        while True:
            items, more = self._table.query(Key(keys.GSI1_PK).eq(keys.TOKENS_LIST), 100, start, index=keys.GSI1)
            tokens.extend(Token.model_validate(item) for item in items)
            if not more:
                return tokens
            start = {key: items[-1][key] for key in (keys.PK, keys.SK, keys.GSI1_PK, keys.GSI1_SK)}

    def delete(self, token_id: str) -> bool:
        condition = Key(keys.GSI1_PK).eq(keys.TOKENS_LIST) & Key(keys.GSI1_SK).eq(token_id)
        items, _ = self._table.query(condition, 1, index=keys.GSI1)
        if not items:
            return False
        self._table.delete({keys.PK: items[0][keys.PK], keys.SK: items[0][keys.SK]})
        return True
