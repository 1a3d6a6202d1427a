"""How writes are accepted and applied.

Accepted by the API: a desk (`desk`, `schema_desk`, `preview_desk`, `release_desk`,
`webhook_desk`)
checks a request against what is stored and puts one operation envelope on the write
queue (`accept`, `queue`).

Applied by the worker, in three steps: the batch loop (`worker.Worker`) hands each
message to the applier (`apply.Applier`), which reads, then applies the operation
exactly once through its registered operation type (`registry`; the types are in `sites`,
`configs`, `schemas`, `previews`, `releases` and `webhooks`). The batch loop loads on first use
(PEP 562): the API's functions never run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import Accepted, Checked, lazy_names

# Importing an operation type's module registers it.
from chalicelib.writes import configs, previews, releases, schemas, sites, webhooks
from chalicelib.writes.accept import Answer, Desk, Submission
from chalicelib.writes.apply import Applier
from chalicelib.writes.desk import WriteDesk
from chalicelib.writes.envelopes import OperationEnvelope, OperationMeta
from chalicelib.writes.preview_desk import PreviewDesk
from chalicelib.writes.queue import WriteQueue
from chalicelib.writes.registry import OperationFailed, RetryLater, kind_of, operation_types, parse_envelope
from chalicelib.writes.release_desk import ReleaseDesk
from chalicelib.writes.schema_desk import SchemaDesk
from chalicelib.writes.webhook_desk import WebhookDesk

if TYPE_CHECKING:
    from chalicelib.writes.worker import BatchIncomplete, QueueRecord, Worker, settle

__getattr__ = lazy_names(__name__, {name: "worker" for name in ("BatchIncomplete", "QueueRecord", "Worker", "settle")})


__all__ = [
    "Accepted",
    "Answer",
    "Applier",
    "BatchIncomplete",
    "Checked",
    "Desk",
    "OperationEnvelope",
    "OperationFailed",
    "OperationMeta",
    "PreviewDesk",
    "QueueRecord",
    "ReleaseDesk",
    "RetryLater",
    "SchemaDesk",
    "Submission",
    "WebhookDesk",
    "Worker",
    "WriteDesk",
    "WriteQueue",
    "configs",
    "kind_of",
    "operation_types",
    "parse_envelope",
    "previews",
    "releases",
    "schemas",
    "settle",
    "sites",
    "webhooks",
]
