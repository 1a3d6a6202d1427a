"""One read of everything a request or an operation needs: a site, a page, a config, an
operation record and an idempotency record, in one `BatchGetItem` (one `GetItem` when
only one is asked for)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

from chalicelib.store import keys
from chalicelib.store.configs import ConfigState, config_from_item, state_from_item, version_from_item
from chalicelib.store.models import (
    ConfigVersion,
    IdempotencyRecord,
    LastApplied,
    LayoutSchema,
    Operation,
    RenderConfig,
    Site,
)
from chalicelib.store.receipts import idempotency_from_item, operation_from_item
from chalicelib.store.schemas import schema_from_item
from chalicelib.store.sites import site_from_item
from chalicelib.store.table import Item, SingleTable


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
        wanted: Dict[str, keys.Key] = {}
        if reads.site is not None:
            wanted["site"] = keys.site_key(reads.site)
        if reads.page is not None:
            wanted["page"] = keys.page_key(*reads.page)
        if reads.config_id is not None:
            wanted["config"] = keys.config_key(reads.config_id)
        if reads.schema is not None:
            wanted["schema"] = keys.schema_key(*reads.schema)
        if reads.operation_id is not None:
            wanted["operation"] = keys.operation_key(reads.operation_id)
        if reads.idempotency_hash is not None:
            wanted["idempotency"] = keys.idempotency_key(reads.idempotency_hash)
        if reads.version is not None:
            wanted["version"] = keys.version_key(*reads.version)
        found = self._table.get_many(list(wanted.values()), consistent)

        def item(name: str) -> Optional[Item]:
            key = wanted.get(name)
            return None if key is None else found.get((key[keys.PK], key[keys.SK]))

        site, page, config, schema = item("site"), item("page"), item("config"), item("schema")
        operation, idempotency, version = item("operation"), item("idempotency"), item("version")
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
        )
