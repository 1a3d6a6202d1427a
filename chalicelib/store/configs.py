"""Render configs: the item codecs (current config, page, immutable versions), reads, and
the writes a config operation adds to its transaction.

`settings` is stored as JSON text: exact round trips (floats stay floats, no Decimal),
and no limit of 32 nesting levels from DynamoDB maps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from chalicelib.core import is_page_slug
from chalicelib.store import keys
from chalicelib.store.cursors import Listing, decode_cursor, encode_cursor
from chalicelib.store.models import LAST_APPLIED_ATTRIBUTE, ConfigVersion, LastApplied, Publication, RenderConfig
from chalicelib.store.table import Item, SingleTable, Transaction

PAGE_REVISION = "pageRevision"
# The last operation that changed what the page serves (see LastApplied).
PUBLISHED_BY = "publishedBy"


def settings_text(settings: Dict[str, Any]) -> str:
    """Settings as stored: compact UTF-8 JSON, the size the API measured (at most 100 KiB),
    so that a page's item holds its latest and its published settings well within 400 KB."""
    return json.dumps(settings, separators=(",", ":"), ensure_ascii=False)


def config_item(config: RenderConfig, applied: Optional[LastApplied] = None) -> Item:
    """A config's latest version, as its CURRENT item holds it."""
    item = {**config.model_dump(exclude={"settings", "publishedVersion"}), "settings": settings_text(config.settings)}
    return {**item, **applied.attribute()} if applied else item


def config_from_item(item: Item) -> RenderConfig:
    """The latest version an item holds (with `publishedVersion` when it is a page item)."""
    return RenderConfig.model_validate({**item, "settings": json.loads(item["settings"])})


def page_item(
    config: RenderConfig, publication: Optional[Publication], revision: int, published_by: Optional[LastApplied]
) -> Item:
    """A page's item: its config's latest version (for editors' listings), what the page
    serves (`published`, absent while it serves nothing) and a revision that every write
    of the item raises, so that writes of the draft and of the publication never overwrite
    one another."""
    item = config_item(config)
    item["publishedVersion"] = publication.version if publication else None
    if publication is not None:
        published = publication.model_dump(exclude={"settings"})
        item["published"] = {**published, "settings": settings_text(publication.settings)}
    item[PAGE_REVISION] = revision
    if published_by is not None:
        item[PUBLISHED_BY] = published_by.attribute()[LAST_APPLIED_ATTRIBUTE]
    return item


@dataclass(frozen=True)
class ConfigState:
    """A config as its page's item holds it: the latest version (`draft`, whose
    `publishedVersion` says what the page serves), the publication, and the item's revision."""

    draft: RenderConfig
    publication: Optional[Publication]
    # None for an item written before revisions.
    revision: Optional[int]
    # The last operation that changed what the page serves.
    published_by: Optional[LastApplied] = None

    def published(self) -> Optional[RenderConfig]:
        """The config as the public routes show it: the published version; None when the
        page serves none."""
        served = self.publication
        if served is None:
            return None
        content = served.model_dump(include={"layout", "theme", "settings", "version", "updatedAt"})
        return self.draft.model_copy(update={**content, "publishedVersion": served.version})

    @property
    def draft_ahead(self) -> bool:
        return self.publication is None or self.publication.version != self.draft.version


def state_from_item(item: Item) -> ConfigState:
    draft = config_from_item(item)
    if "publishedVersion" not in item:
        # Written before drafts existed: the page served its latest version.
        draft = draft.model_copy(update={"publishedVersion": draft.version})
        return ConfigState(draft, Publication.of(draft, draft.updatedAt), None)
    published = item.get("published")
    publication = None
    if isinstance(published, dict):
        publication = Publication.model_validate({**published, "settings": json.loads(published["settings"])})
    revision = item.get(PAGE_REVISION)
    published_by = LastApplied.of_item({LAST_APPLIED_ATTRIBUTE: item.get(PUBLISHED_BY)})
    return ConfigState(draft, publication, int(revision) if revision is not None else None, published_by)


def version_item(version: ConfigVersion) -> Item:
    item = version.model_dump(exclude={"settings"}, exclude_none=True)
    if version.settings is not None:
        item["settings"] = settings_text(version.settings)
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

    def state(self, config_id: str) -> Optional[ConfigState]:
        """The config with its publication: its CURRENT item names its page, whose item
        holds the rest (two reads)."""
        current = self._table.get(keys.config_key(config_id))
        if current is None:
            return None
        item = self._table.get(keys.page_key(current["site"], current["page"]))
        if item is None or item.get("id") != config_id:
            return None  # deleted between the two reads
        return state_from_item(item)

    def list(self, site: str, page: Optional[str], limit: int, cursor: Optional[str]) -> Listing:
        """A site's configs by page (each its latest version, with `publishedVersion`);
        `page` narrows it to that page's."""
        listing = self.states(site, page, limit, cursor)
        return Listing([state.draft for state in listing.items], listing.next_cursor)

    def states(self, site: str, page: Optional[str], limit: int, cursor: Optional[str]) -> Listing:
        """The same listing, each config with its publication."""
        listing = f"configs:{site}:{page or ''}"
        start = keys.page_key(site, decode_cursor(cursor, listing, is_page_slug)) if cursor else None
        in_site = Key(keys.PK).eq(keys.site_pk(site))
        if page is None:
            condition = in_site & Key(keys.SK).begins_with(keys.PAGE_PREFIX)
        else:
            condition = in_site & Key(keys.SK).eq(keys.page_sk(page))
        items, more = self._table.query(condition, limit, start)
        states = [state_from_item(item) for item in items]
        return Listing(states, encode_cursor(listing, states[-1].draft.page) if more else None)

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
        transaction: Transaction,
        config: RenderConfig,
        version: ConfigVersion,
        publication: Optional[Publication],
        applied: Optional[LastApplied] = None,
    ) -> None:
        """`applied`: the operation that creates it, kept on the config's item (see LastApplied)."""
        published_by = applied if publication is not None else None
        # A config belongs to a site that exists.
        transaction.check(keys.site_key(config.site), Attr(keys.PK).exists())
        # The id is new, and the page has no config yet: one config per page.
        transaction.put({**keys.config_key(config.id), **config_item(config, applied)}, Attr(keys.PK).not_exists())
        transaction.put(
            {**keys.page_key(config.site, config.page), **page_item(config, publication, 1, published_by)},
            Attr(keys.PK).not_exists(),
        )
        ConfigStore._add_version(transaction, config.id, version)

    @staticmethod
    def add_replace(
        transaction: Transaction,
        config: RenderConfig,
        version: ConfigVersion,
        state: ConfigState,
        publication: Optional[Publication],
        applied: Optional[LastApplied] = None,
    ) -> None:
        """A new latest version; the page then serves `publication` (when that is another
        than it served, `applied` published it)."""
        # Only over the version this operation read: nothing changed it (or its last
        # applied operation) meanwhile.
        transaction.put(
            {**keys.config_key(config.id), **config_item(config, applied)}, Attr("version").eq(config.version - 1)
        )
        ConfigStore._put_page(transaction, config, state, publication, applied)
        ConfigStore._add_version(transaction, config.id, version)

    @staticmethod
    def add_publication(
        transaction: Transaction, state: ConfigState, publication: Optional[Publication], applied: LastApplied
    ) -> None:
        """The page serves another version (None: none); the config's versions stay as they are."""
        ConfigStore._put_page(transaction, state.draft, state, publication, applied)

    @staticmethod
    def add_delete(
        transaction: Transaction, config: RenderConfig, state: ConfigState, tombstone: ConfigVersion
    ) -> None:
        """Removes the config and frees its page; its history stays, ending in a deletion."""
        transaction.delete(keys.config_key(config.id), Attr("version").eq(config.version))
        transaction.delete(keys.page_key(config.site, config.page), _page_unchanged(state))
        ConfigStore._add_version(transaction, config.id, tombstone)

    @staticmethod
    def _put_page(
        transaction: Transaction,
        config: RenderConfig,
        state: ConfigState,
        publication: Optional[Publication],
        applied: Optional[LastApplied],
    ) -> None:
        moved = applied is not None and publication != state.publication
        published_by = applied if moved else state.published_by
        item = page_item(config, publication, (state.revision or 0) + 1, published_by)
        transaction.put({**keys.page_key(config.site, config.page), **item}, _page_unchanged(state))

    @staticmethod
    def _add_version(transaction: Transaction, config_id: str, version: ConfigVersion) -> None:
        # Versions are immutable: each is written once.
        transaction.put(
            {**keys.version_key(config_id, version.version), **version_item(version)}, Attr(keys.PK).not_exists()
        )

    def named(
        self, config_ids: Sequence[str], versions: Sequence[Tuple[str, int]]
    ) -> Tuple[Dict[str, RenderConfig], Dict[Tuple[str, int], ConfigVersion]]:
        """Configs (their latest versions) and versions, in one read (one call per 100)."""
        wanted = [keys.config_key(config_id) for config_id in config_ids]
        wanted += [keys.version_key(config_id, number) for config_id, number in versions]
        found = self._table.get_many(wanted, consistent=True)
        configs = {}
        for config_id in config_ids:
            item = found.get((keys.config_pk(config_id), keys.CURRENT_SK))
            if item:
                configs[config_id] = config_from_item(item)
        named = {}
        for config_id, number in versions:
            item = found.get((keys.config_pk(config_id), keys.version_sk(number)))
            if item:
                named[(config_id, number)] = version_from_item(item)
        return configs, named

    def version(self, config_id: str, number: int) -> Optional[ConfigVersion]:
        item = self._table.get(keys.version_key(config_id, number))
        return version_from_item(item) if item else None


def _page_unchanged(state: ConfigState) -> ConditionBase:
    """The page item is as the operation read it: still this config's, at the same revision."""
    same_config = Attr("id").eq(state.draft.id)
    if state.revision is None:
        return same_config & Attr(PAGE_REVISION).not_exists()
    return same_config & Attr(PAGE_REVISION).eq(state.revision)
