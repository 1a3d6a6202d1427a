"""Layout schemas: the item codec, reads, and the writes a schema operation adds to its
transaction. The schema is stored as JSON text, like a config's settings: exactly as
uploaded, and free of DynamoDB's 32-level limit on nested maps."""

from __future__ import annotations

import json
from typing import List, Optional

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core import is_template_name
from chalicelib.store import keys
from chalicelib.store.cursors import Listing, decode_cursor, encode_cursor
from chalicelib.store.models import LastApplied, LayoutSchema
from chalicelib.store.table import Item, SingleTable, Transaction


def schema_item(schema: LayoutSchema, applied: Optional[LastApplied] = None) -> Item:
    item = schema.model_dump(exclude={"schema_"}, exclude_none=True)
    item = {**keys.schema_key(schema.site, schema.layout), **item, "schema": schema_text(schema)}
    return {**item, **applied.attribute()} if applied else item


def schema_text(schema: LayoutSchema) -> str:
    """The schema as compact JSON, as it is stored."""
    return json.dumps(schema.schema_, separators=(",", ":"), ensure_ascii=False)


def schema_from_item(item: Item) -> LayoutSchema:
    return LayoutSchema.model_validate({**item, "schema": json.loads(item["schema"])})


class SchemaStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def get(self, site: str, layout: str) -> Optional[LayoutSchema]:
        item = self._table.get(keys.schema_key(site, layout))
        return schema_from_item(item) if item else None

    def list(self, site: str, limit: int, cursor: Optional[str]) -> Listing:
        """A site's schemas, by layout."""
        listing = f"schemas:{site}"
        start = None
        if cursor:
            start = keys.schema_key(site, decode_cursor(cursor, listing, is_template_name))
        condition = Key(keys.PK).eq(keys.site_pk(site)) & Key(keys.SK).begins_with(keys.SCHEMA_PREFIX)
        items, more = self._table.query(condition, limit, start)
        schemas: List[LayoutSchema] = [schema_from_item(item) for item in items]
        return Listing(schemas, encode_cursor(listing, schemas[-1].layout) if more else None)

    @staticmethod
    def add_put(
        transaction: Transaction,
        schema: LayoutSchema,
        previous_version: Optional[int],
        applied: Optional[LastApplied] = None,
    ) -> None:
        """Creates the schema once, or replaces it from the version the operation read;
        the site must exist. `applied` is kept on the item (see LastApplied)."""
        transaction.check(keys.site_key(schema.site), Attr(keys.PK).exists())
        created = Attr(keys.PK).not_exists()
        replaced = Attr("version").eq(previous_version)
        transaction.put(schema_item(schema, applied), created if previous_version is None else replaced)

    @staticmethod
    def add_delete(transaction: Transaction, schema: LayoutSchema) -> None:
        transaction.delete(keys.schema_key(schema.site, schema.layout), Attr("version").eq(schema.version))
