"""The single table: key formats (`keys`), one gateway that calls DynamoDB (`table`, its
errors turned into domain errors by `chalicelib.core.aws_errors`), and one store per
entity with its item codec."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from chalicelib.core import ConditionFailed, WriteRejected, utc_now
from chalicelib.store import keys
from chalicelib.store.audit import DEFAULT_RETENTION, AuditStore
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
from chalicelib.store.receipts import Receipt, ReceiptStore
from chalicelib.store.releases import ReleaseStore
from chalicelib.store.schemas import SchemaStore, schema_text
from chalicelib.store.sites import SiteStore
from chalicelib.store.snapshot import Reads, Snapshot, SnapshotReader
from chalicelib.store.table import SingleTable, Transaction
from chalicelib.store.tokens import TokenStore
from chalicelib.store.webhooks import DeliveryLog, WebhookStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


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

    @classmethod
    def over(
        cls,
        table: Table,
        operation_ttl_seconds: int = 7 * 24 * 3600,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        audit_retention: timedelta = DEFAULT_RETENTION,
    ) -> Store:
        single = SingleTable(table, clock=clock, sleep=sleep)
        audit = AuditStore(single, audit_retention)
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
