"""The single table: every read and write the service makes, behind domain types.

The repository gets its table passed in and creates no AWS client. Key formats come
from `chalicelib.keys`; AWS errors become domain errors here. Reads are `GetItem`,
`BatchGetItem` or `Query`; every state change is one `TransactWriteItems`, so a crash
never leaves half a write. No `Scan`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import keys
from chalicelib.backups import CheckResult
from chalicelib.cursor import decode_cursor, encode_cursor
from chalicelib.errors import BadRequest, ServiceUnavailable
from chalicelib.models import ConfigVersion, Model, Operation, RenderConfig, Site, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

Item = Dict[str, Any]

# Errors that say "not now" rather than "never": the caller may try again.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "TransactionConflictException",
        # A transaction whose conditions no longer hold: the state moved between the
        # read and the write; reading again decides what to do.
        "TransactionCanceledException",
        "ConditionalCheckFailedException",
    }
)
BATCH_GET_ATTEMPTS = 5


class Token(Model):
    tokenId: str
    name: str
    scope: str
    createdAt: str


class IdempotencyRecord(Model):
    """What an Idempotency-Key was first used for, and how that operation ended."""

    operationId: str
    fingerprint: str
    resourceId: Optional[str] = None
    status: str


@dataclass(frozen=True)
class Snapshot:
    """The items one `BatchGetItem` found; None where an item does not exist."""

    site: Optional[Site] = None
    page: Optional[RenderConfig] = None
    config: Optional[RenderConfig] = None
    operation: Optional[Operation] = None
    # False for an operation recorded as failed only because its message is going to
    # the dead-letter queue: a redrive may still apply it.
    operation_final: bool = True
    idempotency: Optional[IdempotencyRecord] = None


@dataclass(frozen=True)
class Listing:
    items: List[Any]
    next_cursor: Optional[str]


@dataclass(frozen=True)
class Receipt:
    """Written with every applied operation: its record, and the key it was sent with."""

    operation: Operation
    actor: str
    final: bool = True
    idempotency_hash: Optional[str] = None
    fingerprint: Optional[str] = None

    def with_version(self, version: int) -> Receipt:
        """The receipt of an operation that leaves its resource at `version`."""
        return replace(self, operation=self.operation.model_copy(update={"version": version}))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class Repository:
    def __init__(
        self,
        table: Table,
        operation_ttl_seconds: int = 7 * 24 * 3600,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table
        # The resource's client takes and returns plain Python values, like the table.
        self._client = table.meta.client
        self._operation_ttl_seconds = operation_ttl_seconds
        self._clock = clock
        self._sleep = sleep

    @property
    def table_name(self) -> str:
        return self._table.name

    # --- reads ---------------------------------------------------------------------

    def read(
        self,
        *,
        site: Optional[str] = None,
        page: Optional[Tuple[str, str]] = None,
        config_id: Optional[str] = None,
        operation_id: Optional[str] = None,
        idempotency_hash: Optional[str] = None,
        consistent: bool = True,
    ) -> Snapshot:
        """Everything asked for, in one `BatchGetItem` (one `GetItem` for one item)."""
        wanted: Dict[str, keys.Key] = {}
        if site is not None:
            wanted["site"] = keys.site_key(site)
        if page is not None:
            wanted["page"] = keys.page_key(*page)
        if config_id is not None:
            wanted["config"] = keys.config_key(config_id)
        if operation_id is not None:
            wanted["operation"] = keys.operation_key(operation_id)
        if idempotency_hash is not None:
            wanted["idempotency"] = keys.idempotency_key(idempotency_hash)
        found = self._get_items(list(wanted.values()), consistent)

        def item(name: str) -> Optional[Item]:
            key = wanted.get(name)
            return None if key is None else found.get((key[keys.PK], key[keys.SK]))

        site_item, page_item, config_item = item("site"), item("page"), item("config")
        operation_item, idempotency_item = self._live(item("operation")), self._live(item("idempotency"))
        return Snapshot(
            site=_site_from_item(site_item) if site_item else None,
            page=_config_from_item(page_item) if page_item else None,
            config=_config_from_item(config_item) if config_item else None,
            operation=_operation_from_item(operation_item) if operation_item else None,
            operation_final=bool(operation_item.get("final", True)) if operation_item else True,
            idempotency=IdempotencyRecord.model_validate(idempotency_item) if idempotency_item else None,
        )

    def get_site(self, site: str) -> Optional[Site]:
        return self.read(site=site, consistent=False).site

    def get_config(self, config_id: str) -> Optional[RenderConfig]:
        return self.read(config_id=config_id, consistent=False).config

    def get_operation(self, operation_id: str) -> Optional[Operation]:
        return self.read(operation_id=operation_id, consistent=False).operation

    def list_sites(self, limit: int, cursor: Optional[str]) -> Listing:
        listing = "sites"
        start = None
        if cursor:
            slug = decode_cursor(cursor, listing)
            start = {**keys.site_list_entry(slug), **keys.site_key(slug)}
        items, more = self._query(
            index=keys.GSI1,
            condition="#pk = :pk",
            names={"#pk": keys.GSI1_PK},
            values={":pk": keys.SITES_LIST},
            limit=limit,
            start=start,
        )
        sites = [_site_from_item(item) for item in items]
        return Listing(sites, encode_cursor(listing, sites[-1].site) if more else None)

    def list_configs(self, site: str, page: Optional[str], limit: int, cursor: Optional[str]) -> Listing:
        listing = f"configs:{site}:{page or ''}"
        start = None
        if cursor:
            start = keys.page_key(site, decode_cursor(cursor, listing))
        if page is None:
            condition = "#pk = :pk AND begins_with(#sk, :sk)"
            sk_value = keys.PAGE_PREFIX
        else:
            condition = "#pk = :pk AND #sk = :sk"
            sk_value = keys.page_sk(page)
        items, more = self._query(
            condition=condition,
            names={"#pk": keys.PK, "#sk": keys.SK},
            values={":pk": keys.site_pk(site), ":sk": sk_value},
            limit=limit,
            start=start,
        )
        configs = [_config_from_item(item) for item in items]
        return Listing(configs, encode_cursor(listing, configs[-1].page) if more else None)

    def list_versions(self, config_id: str, limit: int, cursor: Optional[str]) -> Listing:
        """Newest first; an empty first page means the config never existed."""
        listing = f"versions:{config_id}"
        start = None
        if cursor:
            position = decode_cursor(cursor, listing)
            if not position.isdigit():
                raise BadRequest("cursor does not belong to this listing")
            start = keys.version_key(config_id, int(position))
        items, more = self._query(
            condition="#pk = :pk AND begins_with(#sk, :sk)",
            names={"#pk": keys.PK, "#sk": keys.SK},
            values={":pk": keys.config_pk(config_id), ":sk": keys.VERSION_PREFIX},
            limit=limit,
            start=start,
            newest_first=True,
        )
        versions = [_version_from_item(item) for item in items]
        return Listing(versions, encode_cursor(listing, str(versions[-1].version)) if more else None)

    # --- writes (the worker's) -----------------------------------------------------

    def put_site(self, site: Site, previous_version: Optional[int], receipt: Receipt) -> None:
        if previous_version is None:
            condition, values = "attribute_not_exists(#pk)", {}
        else:
            condition, values = "#version = :previous", {":previous": previous_version}
        self._transact(
            [
                _put(
                    self.table_name,
                    {**keys.site_key(site.site), **keys.site_list_entry(site.site), **site.model_dump()},
                    # Created once, or replaced from the version this operation read.
                    condition,
                    values,
                ),
                *self._receipt_items(receipt),
            ]
        )

    def create_config(self, config: RenderConfig, receipt: Receipt) -> None:
        item = _config_item(config)
        self._transact(
            [
                {
                    "ConditionCheck": {
                        "TableName": self.table_name,
                        "Key": keys.site_key(config.site),
                        # A config belongs to a site that exists.
                        "ConditionExpression": "attribute_exists(#pk)",
                        "ExpressionAttributeNames": {"#pk": keys.PK},
                    }
                },
                # The id is new, and the page has no config yet: one config per page.
                _put(self.table_name, {**keys.config_key(config.id), **item}, "attribute_not_exists(#pk)"),
                _put(self.table_name, {**keys.page_key(config.site, config.page), **item}, "attribute_not_exists(#pk)"),
                _put(
                    self.table_name,
                    {**keys.version_key(config.id, config.version), **_version_item(config, receipt)},
                    "attribute_not_exists(#pk)",
                ),
                *self._receipt_items(receipt),
            ]
        )

    def replace_config(self, config: RenderConfig, receipt: Receipt) -> None:
        item = _config_item(config)
        self._transact(
            [
                # Only over the version this operation read: nothing changed it meanwhile.
                _put(
                    self.table_name,
                    {**keys.config_key(config.id), **item},
                    "#version = :previous",
                    {":previous": config.version - 1},
                ),
                # The page still belongs to this config.
                _put(
                    self.table_name,
                    {**keys.page_key(config.site, config.page), **item},
                    "#id = :id",
                    {":id": config.id},
                ),
                _put(
                    self.table_name,
                    {**keys.version_key(config.id, config.version), **_version_item(config, receipt)},
                    "attribute_not_exists(#pk)",
                ),
                *self._receipt_items(receipt),
            ]
        )

    def delete_config(self, config: RenderConfig, receipt: Receipt) -> None:
        """Removes the config and frees its page; its history stays, ending in a deletion."""
        deleted_at = receipt.operation.completedAt or config.updatedAt
        tombstone = ConfigVersion(
            version=config.version + 1,
            updatedAt=deleted_at,
            deleted=True,
            operationId=receipt.operation.operationId,
            actor=receipt.actor,
        )
        self._transact(
            [
                _delete(
                    self.table_name, keys.config_key(config.id), "#version = :previous", {":previous": config.version}
                ),
                _delete(self.table_name, keys.page_key(config.site, config.page), "#id = :id", {":id": config.id}),
                _put(
                    self.table_name,
                    {**keys.version_key(config.id, tombstone.version), **_dump_version(tombstone)},
                    "attribute_not_exists(#pk)",
                ),
                *self._receipt_items(receipt),
            ]
        )

    def record_operation(self, receipt: Receipt) -> None:
        """Records an operation that changed nothing (it failed, or repeated a key)."""
        self._transact(self._receipt_items(receipt))

    # --- backup checks -------------------------------------------------------------

    def record_check(self, result: CheckResult, keep_for: timedelta) -> None:
        expires_at = _epoch(self._clock() + keep_for)
        item = {
            **keys.backup_check_key(result.checkedAt, result.runId),
            **result.model_dump(),
            keys.TTL_ATTRIBUTE: expires_at,
        }
        try:
            self._table.put_item(Item=_decimals(item))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    def recent_checks(self, limit: int) -> List[CheckResult]:
        """The latest runs, newest first."""
        items, _ = self._query(
            condition="#pk = :pk AND begins_with(#sk, :sk)",
            names={"#pk": keys.PK, "#sk": keys.SK},
            values={":pk": keys.backup_checks_pk(), ":sk": keys.CHECK_RUN_PREFIX},
            limit=limit,
            start=None,
            newest_first=True,
        )
        return [CheckResult.model_validate(item) for item in self._live_items(items)]

    # --- API tokens ----------------------------------------------------------------

    def get_token(self, token_hash: str) -> Optional[Token]:
        try:
            response = self._table.get_item(Key=keys.token_key(token_hash))
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        item = response.get("Item")
        return Token.model_validate(item) if item else None

    def put_token(self, token_hash: str, token: Token) -> bool:
        """Stores a token; False when that token was already stored (nothing changes)."""
        try:
            self._table.put_item(
                Item={**keys.token_key(token_hash), **keys.token_list_entry(token.tokenId), **token.model_dump()},
                # Never overwrite a token: seeding the same token twice changes nothing.
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": keys.PK},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def list_tokens(self) -> List[Token]:
        tokens: List[Token] = []
        start: Optional[Item] = None
        while True:
            items, more = self._query(
                index=keys.GSI1,
                condition="#pk = :pk",
                names={"#pk": keys.GSI1_PK},
                values={":pk": keys.TOKENS_LIST},
                limit=100,
                start=start,
            )
            tokens.extend(Token.model_validate(item) for item in items)
            if not more:
                return tokens
            start = {key: items[-1][key] for key in (keys.PK, keys.SK, keys.GSI1_PK, keys.GSI1_SK)}

    def delete_token(self, token_id: str) -> bool:
        items, _ = self._query(
            index=keys.GSI1,
            condition="#pk = :pk AND #sk = :sk",
            names={"#pk": keys.GSI1_PK, "#sk": keys.GSI1_SK},
            values={":pk": keys.TOKENS_LIST, ":sk": token_id},
            limit=1,
            start=None,
        )
        if not items:
            return False
        self._table.delete_item(Key={keys.PK: items[0][keys.PK], keys.SK: items[0][keys.SK]})
        return True

    # --- helpers -------------------------------------------------------------------

    def _receipt_items(self, receipt: Receipt) -> List[Item]:
        operation = receipt.operation
        expires_at = _epoch(self._clock()) + self._operation_ttl_seconds
        items = [
            _put(
                self.table_name,
                {
                    **keys.operation_key(operation.operationId),
                    **operation.model_dump(exclude_none=True),
                    "final": receipt.final,
                    keys.TTL_ATTRIBUTE: expires_at,
                },
                # Each operation is applied once: a duplicate delivery fails here and
                # changes nothing. Only a record left by a dead-lettered attempt may
                # be replaced, when the message is redriven.
                "attribute_not_exists(#pk) OR #final = :false",
                {":false": False},
                extra_names={"#final": "final"},
            )
        ]
        if receipt.idempotency_hash and receipt.fingerprint and receipt.final:
            record = IdempotencyRecord(
                operationId=operation.operationId,
                fingerprint=receipt.fingerprint,
                resourceId=operation.resourceId,
                status=operation.status,
            )
            items.append(
                _put(
                    self.table_name,
                    {
                        **keys.idempotency_key(receipt.idempotency_hash),
                        **record.model_dump(exclude_none=True),
                        keys.TTL_ATTRIBUTE: expires_at,
                    },
                    # The first operation sent with a key keeps it until it expires.
                    "attribute_not_exists(#pk) OR #expires < :now",
                    {":now": _epoch(self._clock())},
                    extra_names={"#expires": keys.TTL_ATTRIBUTE},
                )
            )
        return items

    def _live_items(self, items: List[Item]) -> List[Item]:
        return [item for item in items if self._live(item) is not None]

    def _live(self, item: Optional[Item]) -> Optional[Item]:
        """TTL deletes lazily (within days): an expired item counts as gone."""
        if item is None:
            return None
        expires_at = item.get(keys.TTL_ATTRIBUTE)
        if expires_at is not None and int(expires_at) < _epoch(self._clock()):
            return None
        return item

    def _get_items(self, wanted: Sequence[keys.Key], consistent: bool) -> Dict[Tuple[str, str], Item]:
        if not wanted:
            return {}
        try:
            if len(wanted) == 1:
                response = self._table.get_item(Key=wanted[0], ConsistentRead=consistent)
                item = response.get("Item")
                return {_item_key(item): item} if item else {}
            return self._batch_get(wanted, consistent)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc

    def _batch_get(self, wanted: Sequence[keys.Key], consistent: bool) -> Dict[Tuple[str, str], Item]:
        found: Dict[Tuple[str, str], Item] = {}
        request: Mapping[str, Any] = {self.table_name: {"Keys": list(wanted), "ConsistentRead": consistent}}
        for attempt in range(BATCH_GET_ATTEMPTS):
            response = self._client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.table_name, []):
                found[_item_key(item)] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            # Throttled keys come back unprocessed: back off, then ask for those again.
            self._sleep(0.05 * 2**attempt)
        raise ServiceUnavailable("the table is throttling reads; try again shortly")

    def _query(
        self,
        *,
        condition: str,
        names: Dict[str, str],
        values: Dict[str, Any],
        limit: int,
        start: Optional[Item],
        index: Optional[str] = None,
        newest_first: bool = False,
    ) -> Tuple[List[Item], bool]:
        """Up to `limit` items, and whether there are more (asks for one extra)."""
        params: Dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit + 1,
            "ScanIndexForward": not newest_first,
        }
        if index:
            params["IndexName"] = index
        if start:
            params["ExclusiveStartKey"] = start
        items: List[Item] = []
        try:
            while len(items) <= limit:
                response = self._table.query(**params)
                items.extend(response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if not last:
                    break
                params["ExclusiveStartKey"] = last
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        return items[:limit], len(items) > limit

    def _transact(self, items: List[Item]) -> None:
        # The token makes the SDK's own retry of this very call a no-op. It is derived
        # from the items, not the operation: a later, different transaction for the same
        # operation (after a re-read) must not be refused as a parameter mismatch.
        token = hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:36]
        try:
            self._client.transact_write_items(TransactItems=items, ClientRequestToken=token)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc


def _decimals(value: Any) -> Any:
    """DynamoDB takes numbers as Decimal, never float."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decimals(item) for item in value]
    return value


def _item_key(item: Mapping[str, Any]) -> Tuple[str, str]:
    return str(item[keys.PK]), str(item[keys.SK])


def _unavailable(exc: Exception) -> Exception:
    """AWS errors that mean "not now" become ServiceUnavailable; anything else is a bug
    (a malformed request, missing permissions) and is raised as it is."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in TRANSIENT_ERROR_CODES:
            return ServiceUnavailable(f"the table refused for now ({code}); try again shortly")
        return exc
    return ServiceUnavailable(f"the table could not be reached ({type(exc).__name__}); try again shortly")


def _put(
    table: str,
    item: Item,
    condition: str,
    values: Optional[Dict[str, Any]] = None,
    extra_names: Optional[Dict[str, str]] = None,
) -> Item:
    names = {name: attr for name, attr in _NAMES.items() if name in condition}
    names.update(extra_names or {})
    put: Item = {"TableName": table, "Item": item, "ConditionExpression": condition, "ExpressionAttributeNames": names}
    if values:
        put["ExpressionAttributeValues"] = values
    return {"Put": put}


def _delete(table: str, key: keys.Key, condition: str, values: Dict[str, Any]) -> Item:
    names = {name: attr for name, attr in _NAMES.items() if name in condition}
    return {
        "Delete": {
            "TableName": table,
            "Key": key,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


_NAMES = {"#pk": keys.PK, "#version": "version", "#id": "id"}


def _config_item(config: RenderConfig) -> Item:
    # Settings are stored as JSON text: exact round trips (floats stay floats, no
    # Decimal), and no limit of 32 nesting levels from DynamoDB maps.
    return {**config.model_dump(exclude={"settings"}), "settings": json.dumps(config.settings)}


def _config_from_item(item: Item) -> RenderConfig:
    return RenderConfig.model_validate({**item, "settings": json.loads(item["settings"])})


def _version_item(config: RenderConfig, receipt: Receipt) -> Item:
    version = ConfigVersion(
        version=config.version,
        updatedAt=config.updatedAt,
        layout=config.layout,
        theme=config.theme,
        settings=config.settings,
        operationId=receipt.operation.operationId,
        actor=receipt.actor,
    )
    return _dump_version(version)


def _dump_version(version: ConfigVersion) -> Item:
    item = version.model_dump(exclude={"settings"}, exclude_none=True)
    if version.settings is not None:
        item["settings"] = json.dumps(version.settings)
    return item


def _version_from_item(item: Item) -> ConfigVersion:
    settings = item.get("settings")
    return ConfigVersion.model_validate({**item, "settings": json.loads(settings) if settings else None})


def _site_from_item(item: Item) -> Site:
    return Site.model_validate(item)


def _operation_from_item(item: Item) -> Operation:
    return Operation.model_validate(item)
