"""The single table: key formats (`keys`), one gateway that calls DynamoDB (`table`, its
errors turned into domain errors by `chalicelib.core.aws_errors`), and one store per
entity with its item codec (and `published`, every page a site serves, in one Query)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable, Optional

from chalicelib.core import ConditionFailed, WriteRejected, lazy_names, utc_now
from chalicelib.store import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from chalicelib.store.audit import AuditStore
    from chalicelib.store.checks import CheckResult, CheckStatus, CheckStore, Finding
    from chalicelib.store.configs import ConfigState, ConfigStore, version_of
    from chalicelib.store.cursors import Listing
    from chalicelib.store.models import (
        Approval,
        AuditActor,
        AuditEntry,
        ConfigVersion,
        Delivery,
        DeliveryStatus,
        IdempotencyRecord,
        LastApplied,
        LayoutSchema,
        Operation,
        OperationError,
        PageRender,
        PreviewLink,
        Publication,
        Release,
        ReleaseActor,
        ReleaseFailure,
        ReleaseItem,
        RenderConfig,
        SealedSecret,
        ServedBefore,
        Site,
        Token,
        Webhook,
        WebhookSecret,
    )
    from chalicelib.store.outbox import ChangeEvent, OutboxStore, event_id
    from chalicelib.store.previews import PreviewStore
    from chalicelib.store.published import PublishedPages, PublishedReader, SiteDelivery
    from chalicelib.store.receipts import Receipt, ReceiptStore
    from chalicelib.store.releases import ReleaseStore
    from chalicelib.store.schemas import SchemaStore, schema_text
    from chalicelib.store.sites import SiteStore
    from chalicelib.store.snapshot import Reads, Snapshot, SnapshotReader
    from chalicelib.store.table import SingleTable, Transaction
    from chalicelib.store.tokens import TokenStore
    from chalicelib.store.webhooks import DeliveryLog, WebhookStore

# What a module of this package defines, loaded when first used (PEP 562): the stored
# items are pydantic models, and a cold start builds none (nor reaches for the table).
_MODULES = {
    "audit": ("AuditStore",),
    "checks": ("CheckResult", "CheckStatus", "CheckStore", "Finding"),
    "configs": ("ConfigState", "ConfigStore", "version_of"),
    "cursors": ("Listing",),
    "models": (
        "Approval",
        "AuditActor",
        "AuditEntry",
        "ConfigVersion",
        "Delivery",
        "DeliveryStatus",
        "IdempotencyRecord",
        "LastApplied",
        "LayoutSchema",
        "Operation",
        "OperationError",
        "PageRender",
        "PreviewLink",
        "Publication",
        "Release",
        "ReleaseActor",
        "ReleaseFailure",
        "ReleaseItem",
        "RenderConfig",
        "SealedSecret",
        "ServedBefore",
        "Site",
        "Token",
        "Webhook",
        "WebhookSecret",
    ),
    "outbox": ("ChangeEvent", "OutboxStore", "event_id"),
    "previews": ("PreviewStore",),
    "published": ("PublishedPages", "PublishedReader", "SiteDelivery"),
    "receipts": ("Receipt", "ReceiptStore"),
    "releases": ("ReleaseStore",),
    "schemas": ("SchemaStore", "schema_text"),
    "sites": ("SiteStore",),
    "snapshot": ("Reads", "Snapshot", "SnapshotReader"),
    "table": ("SingleTable", "Transaction"),
    "tokens": ("TokenStore",),
    "webhooks": ("DeliveryLog", "WebhookStore"),
}
__getattr__ = lazy_names(__name__, {name: module for module, names in _MODULES.items() for name in names})


@dataclass(frozen=True)
class Store:
    """Every entity store over one table."""

    table: SingleTable
    sites: SiteStore
    configs: ConfigStore
    receipts: ReceiptStore
    tokens: TokenStore
    checks: CheckStore
    snapshots: SnapshotReader
    schemas: SchemaStore
    audit: AuditStore
    previews: PreviewStore
    releases: ReleaseStore
    outbox: OutboxStore
    webhooks: WebhookStore
    deliveries: DeliveryLog
    published: PublishedReader

    @classmethod
    def over(
        cls,
        table: Table,
        operation_ttl_seconds: int = 7 * 24 * 3600,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        audit_retention: Optional[timedelta] = None,
    ) -> Store:
        # Built with a function's first request, which loads the stores (and their models).
        from chalicelib.store.audit import DEFAULT_RETENTION, AuditStore
        from chalicelib.store.checks import CheckStore
        from chalicelib.store.configs import ConfigStore
        from chalicelib.store.outbox import OutboxStore
        from chalicelib.store.previews import PreviewStore
        from chalicelib.store.published import PublishedReader
        from chalicelib.store.receipts import ReceiptStore
        from chalicelib.store.releases import ReleaseStore
        from chalicelib.store.schemas import SchemaStore
        from chalicelib.store.sites import SiteStore
        from chalicelib.store.snapshot import SnapshotReader
        from chalicelib.store.table import SingleTable
        from chalicelib.store.tokens import TokenStore
        from chalicelib.store.webhooks import DeliveryLog, WebhookStore

        single = SingleTable(table, clock=clock, sleep=sleep)
        audit = AuditStore(single, audit_retention or DEFAULT_RETENTION)
        return cls(
            table=single,
            sites=SiteStore(single),
            configs=ConfigStore(single),
            receipts=ReceiptStore(single, operation_ttl_seconds),
            tokens=TokenStore(single, audit),
            checks=CheckStore(single),
            snapshots=SnapshotReader(single),
            schemas=SchemaStore(single),
            audit=audit,
            previews=PreviewStore(single),
            releases=ReleaseStore(single),
            outbox=OutboxStore(single),
            webhooks=WebhookStore(single),
            deliveries=DeliveryLog(single),
            published=PublishedReader(single),
        )


__all__ = [
    "Approval",
    "AuditActor",
    "AuditEntry",
    "AuditStore",
    "ChangeEvent",
    "CheckResult",
    "CheckStatus",
    "CheckStore",
    "ConditionFailed",
    "ConfigState",
    "ConfigStore",
    "ConfigVersion",
    "Delivery",
    "DeliveryLog",
    "DeliveryStatus",
    "Finding",
    "IdempotencyRecord",
    "LastApplied",
    "LayoutSchema",
    "Listing",
    "Operation",
    "OperationError",
    "OutboxStore",
    "PageRender",
    "PreviewLink",
    "PreviewStore",
    "Publication",
    "PublishedPages",
    "PublishedReader",
    "Reads",
    "Receipt",
    "ReceiptStore",
    "Release",
    "ReleaseActor",
    "ReleaseFailure",
    "ReleaseItem",
    "ReleaseStore",
    "RenderConfig",
    "SchemaStore",
    "SealedSecret",
    "ServedBefore",
    "Site",
    "SiteDelivery",
    "SiteStore",
    "Snapshot",
    "SnapshotReader",
    "Store",
    "Token",
    "TokenStore",
    "Transaction",
    "Webhook",
    "WebhookSecret",
    "WebhookStore",
    "WriteRejected",
    "event_id",
    "keys",
    "schema_text",
    "version_of",
]
