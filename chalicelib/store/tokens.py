"""API tokens, stored only as SHA-256 hashes and listed by their public id."""

from __future__ import annotations

from typing import List, Optional

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core import ConditionFailed, ids, isoformat
from chalicelib.store import keys
from chalicelib.store.audit import AuditStore
from chalicelib.store.models import AuditActor, AuditEntry, Token
from chalicelib.store.table import Item, SingleTable, Transaction

# Who changes tokens when no name is given: tokens are made with operators' credentials.
OPERATOR = "operator"


class TokenStore:
    """Creating and revoking a token are audited, in the same transaction (never the token itself)."""

    def __init__(self, table: SingleTable, audit: AuditStore) -> None:
        self._table = table
        self._audit = audit

    def get(self, token_hash: str) -> Optional[Token]:
        item = self._table.get(keys.token_key(token_hash))
        return Token.model_validate(item) if item else None

    def put(self, token_hash: str, token: Token, actor: str = OPERATOR) -> bool:
        """Stores a token; False when that token was already stored (nothing changes)."""
        item = {**keys.token_key(token_hash), **keys.token_list_entry(token.tokenId), **token.model_dump()}
        transaction = self._table.transaction()
        # Never overwrite a token: seeding the same token twice changes nothing.
        transaction.put(item, Attr(keys.PK).not_exists())
        self._audited(transaction, "token.create", token, {}, {"name": token.name, "scope": token.scope}, actor)
        try:
            self._table.commit(transaction)
        except ConditionFailed:
            return False
        return True

    def list(self) -> List[Token]:
        tokens: List[Token] = []
        start: Optional[Item] = None
        while True:
            items, more = self._table.query(Key(keys.GSI1_PK).eq(keys.TOKENS_LIST), 100, start, index=keys.GSI1)
            tokens.extend(Token.model_validate(item) for item in items)
            if not more:
                return tokens
            start = {key: items[-1][key] for key in (keys.PK, keys.SK, keys.GSI1_PK, keys.GSI1_SK)}

    def delete(self, token_id: str, actor: str = OPERATOR) -> bool:
        condition = Key(keys.GSI1_PK).eq(keys.TOKENS_LIST) & Key(keys.GSI1_SK).eq(token_id)
        items, _ = self._table.query(condition, 1, index=keys.GSI1)
        if not items:
            return False
        token = Token.model_validate(items[0])
        transaction = self._table.transaction()
        transaction.delete({keys.PK: items[0][keys.PK], keys.SK: items[0][keys.SK]}, Attr(keys.PK).exists())
        self._audited(transaction, "token.revoke", token, {"name": token.name, "scope": token.scope}, {}, actor)
        try:
            self._table.commit(transaction)
        except ConditionFailed:
            return False  # revoked meanwhile
        return True

    def _audited(
        self, transaction: Transaction, kind: str, token: Token, before: Item, after: Item, actor: str
    ) -> None:
        from chalicelib.core import make_patch

        now = self._table.now()
        entry = AuditEntry(
            at=isoformat(now),
            operationId=ids.new_operation_id(now),
            type=kind,
            actor=AuditActor(name=actor),
            resource=f"token/{token.tokenId}",
            patch=make_patch(before, after),
        )
        self._audit.add(transaction, entry)
