"""One read of everything a request or an operation needs: a site, a page, a config, an
operation record and an idempotency record, in one `BatchGetItem` (one `GetItem` when
only one is asked for)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from chalicelib.store import keys
from chalicelib.store.configs import ConfigState, config_from_item, state_from_item, version_from_item
from chalicelib.store.models import (
    ConfigVersion,
    IdempotencyRecord,
    LastApplied,
    LayoutSchema,
    Operation,
    PreviewLink,
    Release,
    RenderConfig,
    SealedSecret,
    Site,
    Webhook,
)
from chalicelib.store.previews import TOKEN_HASH, link_from_item
from chalicelib.store.receipts import idempotency_from_item, operation_from_item
from chalicelib.store.releases import release_from_item
from chalicelib.store.schemas import schema_from_item
from chalicelib.store.sites import site_from_item
from chalicelib.store.table import Item, SingleTable
from chalicelib.store.webhooks import sealed_from_item, webhook_from_item


@dataclass(frozen=True)
class Reads:
    """What to read: each field names one item, or None."""

    site: Optional[str] = None
    page: Optional[Tuple[str, str]] = None
    config_id: Optional[str] = None
    # (site, layout): the layout's settings schema.
    schema: Optional[Tuple[str, str]] = None
    operation_id: Optional[str] = None
    idempotency_hash: Optional[str] = None
    # (config id, version): one immutable version of a config.
    version: Optional[Tuple[str, int]] = None
    # (config id, link id): a preview link.
    preview: Optional[Tuple[str, str]] = None
    # (site, release id): a release; and the pages and versions it names.
    release: Optional[Tuple[str, str]] = None
    pages: Tuple[Tuple[str, str], ...] = ()
    versions: Tuple[Tuple[str, int], ...] = ()
    # (site, name): a webhook.
    webhook: Optional[Tuple[str, str]] = None
    # Also the page and the site of the config (`config_id`), read once the config names
    # them: a second read.
    follow_config: bool = False


@dataclass(frozen=True)
class Snapshot:
    """The items one read found; None where an item does not exist."""

    site: Optional[Site] = None
    # The config of the page (its latest version), and with its publication.
    page: Optional[RenderConfig] = None
    page_state: Optional[ConfigState] = None
    config: Optional[RenderConfig] = None
    schema: Optional[LayoutSchema] = None
    # The last operation applied to the site, the config and the schema (None: none recorded).
    site_applied: Optional[LastApplied] = None
    config_applied: Optional[LastApplied] = None
    schema_applied: Optional[LastApplied] = None
    operation: Optional[Operation] = None
    # False for an operation recorded as failed only because its message is going to
    # the dead-letter queue: a redrive may still apply it.
    operation_final: bool = True
    idempotency: Optional[IdempotencyRecord] = None
    version: Optional[ConfigVersion] = None
    preview: Optional[PreviewLink] = None
    preview_token_hash: Optional[str] = None
    release: Optional[Release] = None
    # (site, page) -> the page's config; (config id, version) -> the version (as found).
    pages: Dict[Tuple[str, str], ConfigState] = field(default_factory=dict)
    versions: Dict[Tuple[str, int], ConfigVersion] = field(default_factory=dict)
    webhook: Optional[Webhook] = None
    webhook_secrets: List[SealedSecret] = field(default_factory=list)
    webhook_applied: Optional[LastApplied] = None


# What each Snapshot field is read from: the Reads field naming it, and its key.
_KEYS: Dict[str, Tuple[str, Callable[[Any], keys.Key]]] = {
    "site": ("site", keys.site_key),
    "page": ("page", lambda page: keys.page_key(*page)),
    "config": ("config_id", keys.config_key),
    "schema": ("schema", lambda schema: keys.schema_key(*schema)),
    "operation": ("operation_id", keys.operation_key),
    "idempotency": ("idempotency_hash", keys.idempotency_key),
    "version": ("version", lambda version: keys.version_key(*version)),
    "preview": ("preview", lambda link: keys.preview_link_key(*link)),
    "release": ("release", lambda release: keys.release_key(*release)),
    "webhook": ("webhook", lambda webhook: keys.webhook_key(*webhook)),
}


class SnapshotReader:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def read(self, reads: Reads, consistent: bool = True) -> Snapshot:
        first = self._read(replace(reads, follow_config=False), consistent)
        config = first.config
        if not reads.follow_config or config is None:
            return first
        more = self._read(Reads(site=config.site, page=(config.site, config.page)), consistent)
        if more.page_state is None or more.page_state.draft.id != config.id:
            return replace(first, site=more.site)  # deleted between the two reads
        return replace(first, site=more.site, page=more.page, page_state=more.page_state)

    def _read(self, reads: Reads, consistent: bool) -> Snapshot:
        wanted = {
            name: key_of(value)
            for name, (field_name, key_of) in _KEYS.items()
            if (value := getattr(reads, field_name)) is not None
        }
        many = [keys.page_key(*page) for page in reads.pages] + [keys.version_key(*v) for v in reads.versions]
        found = self._table.get_many([*wanted.values(), *many], consistent)

        def item(name: str) -> Optional[Item]:
            key = wanted.get(name)
            return None if key is None else found.get((key[keys.PK], key[keys.SK]))

        site, page, config, schema = item("site"), item("page"), item("config"), item("schema")
        operation, idempotency, version = item("operation"), item("idempotency"), item("version")
        preview, release, webhook = item("preview"), item("release"), item("webhook")

        def of(key: keys.Key) -> Optional[Item]:
            return found.get((key[keys.PK], key[keys.SK]))

        pages = {page: of(keys.page_key(*page)) for page in reads.pages}
        versions = {v: of(keys.version_key(*v)) for v in reads.versions}
        page_state = state_from_item(page) if page else None
        return Snapshot(
            site=site_from_item(site) if site else None,
            page=page_state.draft if page_state else None,
            page_state=page_state,
            config=config_from_item(config) if config else None,
            schema=schema_from_item(schema) if schema else None,
            site_applied=LastApplied.of_item(site),
            config_applied=LastApplied.of_item(config),
            schema_applied=LastApplied.of_item(schema),
            operation=operation_from_item(operation) if operation else None,
            operation_final=bool(operation.get("final", True)) if operation else True,
            idempotency=idempotency_from_item(idempotency) if idempotency else None,
            version=version_from_item(version) if version else None,
            preview=link_from_item(preview) if preview else None,
            preview_token_hash=str(preview[TOKEN_HASH]) if preview else None,
            release=release_from_item(release) if release else None,
            pages={page: state_from_item(item) for page, item in pages.items() if item},
            versions={v: version_from_item(item) for v, item in versions.items() if item},
            webhook=webhook_from_item(webhook) if webhook else None,
            webhook_secrets=sealed_from_item(webhook) if webhook else [],
            webhook_applied=LastApplied.of_item(webhook),
        )
