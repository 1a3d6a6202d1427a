"""The single table's gateway: the only code that calls DynamoDB. Its errors become domain
errors in one place, `chalicelib.core.aws_errors`.

It gets its table passed in and creates no AWS client. Reads are `GetItem`,
`BatchGetItem` or `Query`; every state change is one `TransactWriteItems`, built with
`Transaction`, so a crash never leaves half a write. No `Scan`.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder

from chalicelib.core import (
    AWS_ERRORS,
    ConditionFailed,
    DependencyUnavailable,
    epoch_seconds,
    table_error,
    transaction_error,
    utc_now,
)
from chalicelib.store import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = Dict[str, Any]
ItemKey = Tuple[str, str]

BATCH_GET_ATTEMPTS = 5
BATCH_WRITE_SIZE = 25
BATCH_GET_KEYS = 100


class Transaction:
    """The items of one `TransactWriteItems`; conditions are `boto3.dynamodb.conditions`."""

    def __init__(self, table_name: str) -> None:
        self._table_name = table_name
        self.items: List[Item] = []

    def put(self, item: Item, condition: Optional[ConditionBase] = None) -> Transaction:
        self.items.append({"Put": self._conditional({"Item": item}, condition)})
        return self

    def delete(self, key: keys.Key, condition: Optional[ConditionBase] = None) -> Transaction:
        self.items.append({"Delete": self._conditional({"Key": key}, condition)})
        return self

    def size(self) -> int:
        """About what the items weigh (as JSON): DynamoDB refuses a transaction over 4 MB."""
        return sum(len(json.dumps(item, default=str, ensure_ascii=False).encode("utf-8")) for item in self.items)

    def check(self, key: keys.Key, condition: ConditionBase) -> Transaction:
        self.items.append({"ConditionCheck": self._conditional({"Key": key}, condition)})
        return self

    def _conditional(self, body: Item, condition: Optional[ConditionBase]) -> Item:
        body = {"TableName": self._table_name, **body}
        if condition is not None:
            built = ConditionExpressionBuilder().build_expression(condition)
            body["ConditionExpression"] = built.condition_expression
            body["ExpressionAttributeNames"] = built.attribute_name_placeholders
            if built.attribute_value_placeholders:
                body["ExpressionAttributeValues"] = built.attribute_value_placeholders
        return body


class SingleTable:
    def __init__(
        self,
        table: Table,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table
        # The resource's client takes and returns plain Python values, like the table.
        self._client = table.meta.client
        self._clock = clock
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self._table.name

    def now(self) -> datetime:
        return self._clock()

    def transaction(self) -> Transaction:
        return Transaction(self.name)

    # --- reads ---------------------------------------------------------------------

    def get_many(self, wanted: Sequence[keys.Key], consistent: bool) -> Dict[ItemKey, Item]:
        """The live items among `wanted`: one `GetItem` for one key, else one `BatchGetItem`
        per 100 keys."""
        unique = list({(key[keys.PK], key[keys.SK]): key for key in wanted}.values())
        if not unique:
            return {}
        try:
            if len(unique) == 1:
                item = self._table.get_item(Key=unique[0], ConsistentRead=consistent).get("Item")
                found = {item_key(item): item} if item else {}
            else:
                found = {}
                # BatchGetItem takes at most 100 keys, each once.
                for start in range(0, len(unique), BATCH_GET_KEYS):
                    found.update(self._batch_get(unique[start : start + BATCH_GET_KEYS], consistent))
        except AWS_ERRORS as exc:
            raise table_error(exc) from exc
        return {key: item for key, item in found.items() if self.live(item) is not None}

    def get(self, key: keys.Key, consistent: bool = False) -> Optional[Item]:
        return self.get_many([key], consistent).get((key[keys.PK], key[keys.SK]))

    def query(
        self,
        condition: ConditionBase,
        limit: int,
        start: Optional[Item] = None,
        index: Optional[str] = None,
        newest_first: bool = False,
    ) -> Tuple[List[Item], bool]:
        """Up to `limit` live items, and whether there are more (asks for one extra)."""
        params: Dict[str, Any] = {"KeyConditionExpression": condition, "Limit": limit + 1}
        params["ScanIndexForward"] = not newest_first
        if index:
            params["IndexName"] = index
        if start:
            params["ExclusiveStartKey"] = start
        items: List[Item] = []
        try:
            while len(items) <= limit:
                response = self._table.query(**params)
                items.extend(item for item in response.get("Items", []) if self.live(item) is not None)
                last = response.get("LastEvaluatedKey")
                if not last:
                    break
                params["ExclusiveStartKey"] = last
        except AWS_ERRORS as exc:
            raise table_error(exc) from exc
        return items[:limit], len(items) > limit

    def query_once(
        self, condition: ConditionBase, start: Optional[Item] = None, consistent: bool = False
    ) -> Tuple[List[Item], Optional[Item]]:
        """One `Query` call: its live items (DynamoDB reads at most 1 MB of items a call) and
        the key to go on from, None once the range is read to its end."""
        params: Dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": consistent}
        if start:
            params["ExclusiveStartKey"] = start
        try:
            response = self._table.query(**params)
        except AWS_ERRORS as exc:
            raise table_error(exc) from exc
        items = [item for item in response.get("Items", []) if self.live(item) is not None]
        return items, response.get("LastEvaluatedKey")

    def live(self, item: Optional[Item]) -> Optional[Item]:
        """TTL deletes lazily (within days): an expired item counts as gone."""
        if item is None:
            return None
        expires_at = item.get(keys.TTL_ATTRIBUTE)
        if expires_at is not None and int(expires_at) < epoch_seconds(self._clock()):
            return None
        return item

    # --- writes --------------------------------------------------------------------

    def put(self, item: Item, condition: Optional[ConditionBase] = None) -> bool:
        """One item on its own; False when its condition does not hold (nothing changes)."""
        try:
            if condition is None:
                self._table.put_item(Item=item)
            else:
                self._table.put_item(Item=item, ConditionExpression=condition)
        except AWS_ERRORS as exc:
            error = table_error(exc)
            if isinstance(error, ConditionFailed):
                return False
            raise error from exc
        return True

    def put_unless(self, item: Item, condition: ConditionBase) -> Optional[Item]:
        """Writes `item` when `condition` holds and answers None; otherwise writes nothing
        and answers the item that stands in its way, from the refusal itself (no read)."""
        try:
            self._table.put_item(
                Item=item, ConditionExpression=condition, ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )
        except AWS_ERRORS as exc:
            error = table_error(exc)
            if not isinstance(error, ConditionFailed):
                raise error from exc
            if error.item:
                return error.item
            # Not returned (an older API or emulator): read what is there.
            return self.get({keys.PK: item[keys.PK], keys.SK: item[keys.SK]}, consistent=True) or {}
        return None

    def delete(self, key: keys.Key) -> None:
        try:
            self._table.delete_item(Key=key)
        except AWS_ERRORS as exc:
            raise table_error(exc) from exc

    def commit(self, transaction: Transaction) -> None:
        # The token makes the SDK's own retry of this very call a no-op. It is derived
        # from the items, not the operation: a later, different transaction for the same
        # operation (after a re-read) must not be refused as a parameter mismatch.
        digest = json.dumps(transaction.items, sort_keys=True, default=str).encode()
        token = hashlib.sha256(digest).hexdigest()[:36]
        try:
            self._client.transact_write_items(
                TransactItems=transaction.items,  # type: ignore[arg-type]
                ClientRequestToken=token,
            )
        except AWS_ERRORS as exc:
            raise transaction_error(exc) from exc

    def delete_many(self, doomed: Sequence[keys.Key]) -> None:
        """Deletes the items (25 a call); deleting one already gone changes nothing."""
        for start in range(0, len(doomed), BATCH_WRITE_SIZE):
            request: Mapping[str, Any] = {
                self.name: [{"DeleteRequest": {"Key": key}} for key in doomed[start : start + BATCH_WRITE_SIZE]]
            }
            for attempt in range(BATCH_GET_ATTEMPTS):
                try:
                    response = self._client.batch_write_item(RequestItems=request)
                except AWS_ERRORS as exc:
                    raise table_error(exc) from exc
                request = response.get("UnprocessedItems") or {}
                if not request:
                    break
                self._sleep(0.05 * 2**attempt)
            else:
                raise DependencyUnavailable("the table is throttling writes; try again shortly")

    def _batch_get(self, wanted: Sequence[keys.Key], consistent: bool) -> Dict[ItemKey, Item]:
        found: Dict[ItemKey, Item] = {}
        request: Mapping[str, Any] = {self.name: {"Keys": list(wanted), "ConsistentRead": consistent}}
        for attempt in range(BATCH_GET_ATTEMPTS):
            response = self._client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.name, []):
                found[item_key(item)] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            # Throttled keys come back unprocessed: back off, then ask for those again.
            self._sleep(0.05 * 2**attempt)
        raise DependencyUnavailable("the table is throttling reads; try again shortly")


def item_key(item: Mapping[str, Any]) -> ItemKey:
    return str(item[keys.PK]), str(item[keys.SK])
