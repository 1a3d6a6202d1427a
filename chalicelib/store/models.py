"""What the table stores, as the service reads it back: sites, render configs and their
versions, operation records, idempotency records and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Literal, Mapping, Optional

from pydantic.config import ConfigDict
from pydantic.fields import Field

from chalicelib.core import Model, OperationStatus, Timestamp, errors


class Site(Model):
    site: str
    name: str
    allowedOrigins: List[str]
    cacheMaxAge: int
    # Configs of a layout without a schema are refused (chalicelib.writes.schemas).
    requireSchemas: bool = False
    # Sites stored before v2 have neither: they publish directly, without approvals.
    publishMode: Literal["direct", "review"] = "direct"
    requiredApprovals: int = 0
    version: int
    createdAt: Timestamp
    updatedAt: Timestamp


class PageRender(Model):
    """What a frontend needs to render a page: no ids of tokens, no internal keys."""

    site: str
    page: str
    layout: str
    theme: str
    settings: Dict[str, Any]
    version: int
    updatedAt: Timestamp

    def content(self) -> Dict[str, Any]:
        """What an editor writes: the layout, the theme and the settings."""
        return {"layout": self.layout, "theme": self.theme, "settings": self.settings}


class RenderConfig(PageRender):
    """A page's render config with its id and when it was created: one version of it
    (the published one on public routes, the latest on editors' routes), and which
    version the page serves (null while it serves none)."""

    id: str
    createdAt: Timestamp
    publishedVersion: Optional[int] = None


class Publication(Model):
    """What a page serves: the content of one version of its config, and when it went live."""

    version: int
    layout: str
    theme: str
    settings: Dict[str, Any]
    # When that version was written, and when it was published.
    updatedAt: Timestamp
    publishedAt: Timestamp

    def content(self) -> Dict[str, Any]:
        return {"layout": self.layout, "theme": self.theme, "settings": self.settings}

    @classmethod
    def of(cls, config: RenderConfig, published_at: str) -> Publication:
        return cls(
            version=config.version,
            layout=config.layout,
            theme=config.theme,
            settings=config.settings,
            updatedAt=config.updatedAt,
            publishedAt=published_at,
        )

    @classmethod
    def of_version(cls, version: ConfigVersion, published_at: str) -> Optional[Publication]:
        """A stored version, published; None for a deletion, which cannot be."""
        if version.deleted or version.layout is None or version.theme is None:
            return None
        return cls(
            version=version.version,
            layout=version.layout,
            theme=version.theme,
            settings=version.settings or {},
            updatedAt=version.updatedAt,
            publishedAt=published_at,
        )


class ConfigVersion(Model):
    version: int
    updatedAt: Timestamp
    deleted: bool = False
    layout: Optional[str] = None
    theme: Optional[str] = None
    settings: Optional[Dict[str, Any]] = None
    operationId: str
    actor: str

    def content(self) -> Dict[str, Any]:
        """The layout, the theme and the settings; nothing for a deletion."""
        if self.deleted or self.layout is None or self.theme is None:
            return {}
        return {"layout": self.layout, "theme": self.theme, "settings": self.settings or {}}


class LayoutSchema(Model):
    """The settings schema of one layout of a site (JSON Schema 2020-12)."""

    site: str
    layout: str
    schema_: Dict[str, Any] = Field(alias="schema")
    description: Optional[str] = None
    version: int
    createdAt: Timestamp
    updatedAt: Timestamp

    model_config = ConfigDict(defer_build=True, populate_by_name=True, serialize_by_alias=True)


class OperationError(Model):
    code: str = Field(json_schema_extra={"enum": list(errors.FAILURE_CODES)})
    message: str
    # One entry per problem (e.g. each schema error of a `SchemaViolation`).
    details: Optional[List[Dict[str, Any]]] = None


class Operation(Model):
    operationId: str
    status: OperationStatus
    # One of the registered operation types (`chalicelib.writes.operation_types()`): the
    # worker records the type it applied, and the OpenAPI document lists them.
    type: Optional[str] = None
    resourceId: Optional[str] = None
    version: Optional[int] = None
    error: Optional[OperationError] = None
    submittedAt: Optional[Timestamp] = None
    completedAt: Optional[Timestamp] = None


class IdempotencyRecord(Model):
    """What an Idempotency-Key was first used for, and how that operation ended.

    The API claims the key when it accepts the operation (`status` pending, with the
    operation's envelope, so that a repeat can put it on the queue again); the worker
    replaces it with the outcome when it applies the operation."""

    operationId: str
    fingerprint: str
    resourceId: Optional[str] = None
    status: str
    envelope: Optional[str] = None


class PreviewLink(Model):
    """A link that shows a config's draft (or one version) to whoever holds its token,
    until it expires or is revoked. The token itself is never stored, only its hash."""

    id: str
    configId: str
    site: str
    page: str
    # The version shown; absent: the latest, whatever it is when the link is opened.
    version: Optional[int] = None
    createdAt: Timestamp
    expiresAt: Timestamp
    createdBy: str


class WebhookSecret(Model):
    """A signing secret (never shown but once, when it is made): when it was made, and
    until when it still signs, once a newer one has replaced it (the rotation's overlap)."""

    createdAt: Timestamp
    expiresAt: Optional[Timestamp] = None

    def signs_at(self, now: datetime) -> bool:
        """Whether it still signs at `now`: the newest does, a replaced one until its overlap ends."""
        return not self.expiresAt or datetime.fromisoformat(self.expiresAt) > now


class SealedSecret(WebhookSecret):
    """A signing secret as stored: encrypted under the stage's KMS key, with the site and
    the webhook as its encryption context (the table alone cannot sign anything)."""

    sealed: str


class Webhook(Model):
    """Where a site's change events are posted, signed per the Standard Webhooks
    specification. A `410 Gone` from the receiver disables it (`enabled` false, with
    when and why); a PUT enables it again."""

    site: str
    name: str
    url: str
    events: List[str]
    enabled: bool = True
    disabledAt: Optional[Timestamp] = None
    disabledReason: Optional[str] = None
    secrets: List[WebhookSecret]
    version: int
    createdAt: Timestamp
    updatedAt: Timestamp


DeliveryStatus = Literal["delivered", "failed", "gone"]


class Delivery(Model):
    """One attempt to deliver one event to a webhook. `failed` attempts are tried again
    (`nextAttemptAt`) until the event has waited 24 hours, then dead-lettered
    (`deadLettered`); `gone` (410) disabled the webhook."""

    eventId: str
    eventType: str
    attempt: int
    attemptedAt: Timestamp
    status: DeliveryStatus
    url: str
    # The receiver's answer; absent when there was none (refused, unreachable, timed out).
    statusCode: Optional[int] = None
    durationMs: int
    error: Optional[str] = None
    # The start of the receiver's answer, for debugging (at most 256 characters).
    response: Optional[str] = None
    nextAttemptAt: Optional[Timestamp] = None
    deadLettered: bool = False


ReleaseStatus = Literal["open", "approved", "scheduled", "published", "cancelled", "failed", "reverted"]


class ReleaseItem(Model):
    """One page of a release: the version of its config the release publishes."""

    configId: str
    version: int
    page: str


class ReleaseActor(Model):
    """A token, by its public id and its name."""

    tokenId: str
    name: Optional[str] = None


class Approval(ReleaseActor):
    at: Timestamp


class ServedBefore(Model):
    """What a page served before the release went live (null: nothing), for its revert."""

    configId: str
    page: str
    version: Optional[int] = None


class ReleaseFailure(Model):
    code: str = Field(json_schema_extra={"enum": list(errors.FAILURE_CODES)})
    message: str
    details: Optional[List[Dict[str, Any]]] = None


class Release(Model):
    """Several pages of one site published in one transaction, after approvals, now or at
    `publishAt`; and reverted in one transaction."""

    id: str
    site: str
    title: str
    status: ReleaseStatus
    items: List[ReleaseItem]
    createdBy: ReleaseActor
    createdAt: Timestamp
    updatedAt: Timestamp
    approvals: List[Approval] = []
    requiredApprovals: int = 0
    publishAt: Optional[Timestamp] = None
    publishedAt: Optional[Timestamp] = None
    # The operation that published it: a revert puts pages back only while they still
    # serve what that operation published.
    publishOperationId: Optional[str] = None
    revertedAt: Optional[Timestamp] = None
    servedBefore: Optional[List[ServedBefore]] = None
    failure: Optional[ReleaseFailure] = None
    version: int


class AuditActor(Model):
    """Who made a change: the token (its public id and name), or an operator's tool."""

    tokenId: Optional[str] = None
    name: Optional[str] = None


class AuditEntry(Model):
    """One applied change, written in the same transaction as the change itself."""

    at: Timestamp
    operationId: str
    # An operation type, or token.create / token.revoke.
    type: str
    actor: AuditActor
    # What changed: config/<id>, site/<site>, schema/<site>/<layout>, token/<tokenId>.
    resource: str
    site: Optional[str] = None
    page: Optional[str] = None
    fromVersion: Optional[int] = None
    toVersion: Optional[int] = None
    # RFC 6902: what turns the resource as it was into what it became.
    patch: List[Dict[str, Any]]
    requestId: Optional[str] = None


class Token(Model):
    tokenId: str
    name: str
    scope: str
    createdAt: Timestamp


# The attribute of a site's item, and of a config's items, that names the last operation
# applied to it. Not part of the models above: it is not shown to clients.
LAST_APPLIED_ATTRIBUTE = "lastApplied"


@dataclass(frozen=True)
class LastApplied:
    """The last operation applied to a resource, and when the API accepted it."""

    operation_id: str
    # The operation's submittedAt: ISO 8601 UTC with milliseconds.
    accepted_at: str

    def accepted_after(self, accepted_at: str) -> bool:
        """Whether this operation was accepted after one accepted at `accepted_at`. Within
        one millisecond, neither is after the other: the order of the queue stands."""
        return datetime.fromisoformat(self.accepted_at) > datetime.fromisoformat(accepted_at)

    def attribute(self) -> Dict[str, Dict[str, str]]:
        return {LAST_APPLIED_ATTRIBUTE: {"operationId": self.operation_id, "acceptedAt": self.accepted_at}}

    @classmethod
    def of_item(cls, item: Optional[Mapping[str, Any]]) -> Optional[LastApplied]:
        """The marker of a stored item; None for none (an item written before markers)."""
        marker = (item or {}).get(LAST_APPLIED_ATTRIBUTE)
        if not isinstance(marker, Mapping):
            return None
        return cls(operation_id=str(marker["operationId"]), accepted_at=str(marker["acceptedAt"]))
