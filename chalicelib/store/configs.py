"""Render configs: the item codecs (current config, page, immutable versions), reads, and
the writes a config operation adds to its transaction.

`settings` is stored as JSON text: exact round trips (floats stay floats, no Decimal),
and no limit of 32 nesting levels from DynamoDB maps.
"""

from __future__ import annotations

import json
from typing import Optional

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.core.fields import is_page_slug
from chalicelib.store import keys
from chalicelib.store.cursors import Listing, decode_cursor, encode_cursor
from chalicelib.store.models import ConfigVersion, LastApplied, RenderConfig
from chalicelib.store.table import Item, SingleTable, Transaction


def config_item(config: RenderConfig, applied: Optional[LastApplied] = None) -> Item:
    item = {**config.model_dump(exclude={"settings"}), "settings": json.dumps(config.settings)}
    return {**item, **applied.attribute()} if applied else item


def config_from_item(item: Item) -> RenderConfig:
    return RenderConfig.model_validate({**item, "settings": json.loads(item["settings"])})


def version_item(version: ConfigVersion) -> Item:
    item = version.model_dump(exclude={"settings"}, exclude_none=True)
    if version.settings is not None:
        item["settings"] = json.dumps(version.settings)
    return item


def version_from_item(item: Item) -> ConfigVersion:
    settings = item.get("settings")
    return ConfigVersion.model_validate({**item, "settings": json.loads(settings) if settings else None})


def version_of(config: RenderConfig, operation_id: str, actor: str) -> ConfigVersion:
    """The immutable record of the version `config` is at, written by that operation."""
    return ConfigVersion(
        version=config.version,
        updatedAt=config.updatedAt,
        layout=config.layout,
        theme=config.theme,
        settings=config.settings,
        operationId=operation_id,
        actor=actor,
    )


class ConfigStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def get(self, config_id: str) -> Optional[RenderConfig]:
        item = self._table.get(keys.config_key(config_id))
        return config_from_item(item) if item else None

    def list(self, site: str, page: Optional[str], limit: int, cursor: Optional[str]) -> Listing:
        """A site's configs by page; `page` narrows it to that page's."""
        listing = f"configs:{site}:{page or ''}"
        start = keys.page_key(site, decode_cursor(cursor, listing, is_page_slug)) if cursor else None
        in_site = Key(keys.PK).eq(keys.site_pk(site))
        if page is None:
            condition = in_site & Key(keys.SK).begins_with(keys.PAGE_PREFIX)
        else:
            condition = in_site & Key(keys.SK).eq(keys.page_sk(page))
        items, more = self._table.query(condition, limit, start)
        configs = [config_from_item(item) for item in items]
        return Listing(configs, encode_cursor(listing, configs[-1].page) if more else None)

    def versions(self, config_id: str, limit: int, cursor: Optional[str]) -> Listing:
        """Newest first; an empty first page means the config never existed."""
        listing = f"versions:{config_id}"
        start = None
        if cursor:
            position = decode_cursor(cursor, listing, keys.is_version_position)
            start = keys.version_key(config_id, int(position))
        condition = Key(keys.PK).eq(keys.config_pk(config_id)) & Key(keys.SK).begins_with(keys.VERSION_PREFIX)
        items, more = self._table.query(condition, limit, start, newest_first=True)
        versions = [version_from_item(item) for item in items]
        return Listing(versions, encode_cursor(listing, str(versions[-1].version)) if more else None)

    @staticmethod
    def add_create(
        transaction: Transaction, config: RenderConfig, version: ConfigVersion, applied: Optional[LastApplied] = None
    ) -> None:
        """`applied`: the operation that creates it, kept on the config's items (see LastApplied)."""
        item = config_item(config, applied)
        # A config belongs to a site that exists.
        transaction.check(keys.site_key(config.site), Attr(keys.PK).exists())
        # The id is new, and the page has no config yet: one config per page.
        transaction.put({**keys.config_key(config.id), **item}, Attr(keys.PK).not_exists())
        transaction.put({**keys.page_key(config.site, config.page), **item}, Attr(keys.PK).not_exists())
        ConfigStore._add_version(transaction, config.id, version)

    @staticmethod
    def add_replace(
        transaction: Transaction, config: RenderConfig, version: ConfigVersion, applied: Optional[LastApplied] = None
    ) -> None:
        """`applied`: the operation that replaces it, kept on the config's items."""
        item = config_item(config, applied)
        # Only over the version this operation read: nothing changed it (or its last
        # applied operation) meanwhile.
        transaction.put({**keys.config_key(config.id), **item}, Attr("version").eq(config.version - 1))
        # The page still belongs to this config.
        transaction.put({**keys.page_key(config.site, config.page), **item}, Attr("id").eq(config.id))
        ConfigStore._add_version(transaction, config.id, version)

    @staticmethod
    def add_delete(transaction: Transaction, config: RenderConfig, tombstone: ConfigVersion) -> None:
        """Removes the config and frees its page; its history stays, ending in a deletion."""
        transaction.delete(keys.config_key(config.id), Attr("version").eq(config.version))
        transaction.delete(keys.page_key(config.site, config.page), Attr("id").eq(config.id))
        ConfigStore._add_version(transaction, config.id, tombstone)

    @staticmethod
    def _add_version(transaction: Transaction, config_id: str, version: ConfigVersion) -> None:
        # Versions are immutable: each is written once.
        transaction.put(
            {**keys.version_key(config_id, version.version), **version_item(version)}, Attr(keys.PK).not_exists()
        )
