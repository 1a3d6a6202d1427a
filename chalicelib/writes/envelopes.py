"""The operation envelope: the one thing producers put on the write queue.

`{"v": 1, "operation": "config.update", "data": {...}, "meta": {...}}`: storage-agnostic,
validated again when the worker reads it. Each operation type declares its envelope
beside its handler (`chalicelib.writes.sites`, `chalicelib.writes.configs`).
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from chalicelib.core import Model


class OperationMeta(Model):
    operationId: str
    requestId: str
    submittedAt: str
    actor: str
    # The name of the actor's token, for the audit trail (absent from older messages).
    actorName: Optional[str] = None
    expectedVersion: Optional[int] = None
    # With expectedVersion, for a resource that can be deleted and made again under the
    # same name (a layout's schema): the createdAt of the one If-Match named, since a new
    # one starts at version 1 again (absent from older messages: the version alone).
    expectedCreatedAt: Optional[str] = None
    # sha256 of (actor, Idempotency-Key) and of the request, when the client sent a key.
    idempotencyKey: Optional[str] = None
    fingerprint: Optional[str] = None


class OperationEnvelope(Model):
    """The base of every envelope; subclasses fix `operation` and type `data`."""

    v: Literal[1] = 1
    operation: str
    meta: OperationMeta
    data: Any
