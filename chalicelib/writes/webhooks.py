"""`webhook.put`, `webhook.rotate`, `webhook.delete` and `webhook.disable`: a site's
webhooks. Secrets arrive sealed (the API sealed them with KMS and showed them once); the
worker keeps the ciphertexts only. A rotation keeps the previous secret signing for
`SECRET_OVERLAP`, so receivers can switch at their own pace. `webhook.disable` is what the
delivery function queues when a receiver answers `410 Gone`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Literal, Optional, Union

from pydantic.fields import Field

from chalicelib.core import SiteSlug, StrictModel, WebhookFields, WebhookName, isoformat
from chalicelib.store import Reads, SealedSecret, Snapshot, Webhook, WebhookSecret, WebhookStore
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.registry import (
    Change,
    OperationFailed,
    OperationKind,
    applied_by,
    refuse_if_superseded,
    register,
)

# How long the previous secret still signs after a rotation.
SECRET_OVERLAP = timedelta(hours=24)
# Signing secrets a webhook keeps at most (rotated twice within the overlap: the newest three).
MAX_SECRETS = 3
# The actor of the operations the delivery function queues.
DELIVERY_ACTOR = "webhook-delivery"


class WebhookTarget(StrictModel):
    site: SiteSlug
    name: WebhookName


class WebhookPutData(WebhookFields, WebhookTarget):
    # The first secret of a webhook being created, sealed by the API; absent when the API
    # found the webhook: its secrets stay as they are.
    sealedSecret: Optional[str] = Field(default=None, max_length=4096)


class WebhookRotateData(WebhookTarget):
    sealedSecret: str = Field(max_length=4096)


class WebhookDisableData(WebhookTarget):
    # The version the receiver answered 410 to: a webhook changed since stays as it is.
    version: int = Field(ge=1)
    reason: str = Field(max_length=500)


class WebhookPut(OperationEnvelope):
    operation: Literal["webhook.put"] = "webhook.put"
    data: WebhookPutData


class WebhookRotate(OperationEnvelope):
    operation: Literal["webhook.rotate"] = "webhook.rotate"
    data: WebhookRotateData


class WebhookDelete(OperationEnvelope):
    operation: Literal["webhook.delete"] = "webhook.delete"
    data: WebhookTarget


class WebhookDisable(OperationEnvelope):
    operation: Literal["webhook.disable"] = "webhook.disable"
    data: WebhookDisableData


WebhookEnvelope = Union[WebhookPut, WebhookRotate, WebhookDelete, WebhookDisable]


class _WebhookKind:
    """A webhook's operations are applied one at a time, in the order they were accepted."""

    def resource(self, envelope: WebhookEnvelope) -> str:
        return envelope.data.name

    def group(self, envelope: WebhookEnvelope) -> str:
        return f"webhook:{envelope.data.site}:{envelope.data.name}"

    def reads(self, envelope: WebhookEnvelope) -> Reads:
        return Reads(site=envelope.data.site, webhook=(envelope.data.site, envelope.data.name))


class PutWebhook(_WebhookKind, OperationKind[WebhookPut]):
    name = "webhook.put"
    envelope = WebhookPut

    def apply(self, envelope: WebhookPut, snapshot: Snapshot, change: Change) -> int:
        data, previous = envelope.data, snapshot.webhook
        refuse_if_superseded(envelope, snapshot.webhook_applied, _named(data))
        if snapshot.site is None:
            raise OperationFailed("NotFound", f"site '{data.site}' does not exist")
        if previous is None and data.sealedSecret is None:
            raise OperationFailed(
                "NotFound", f"{_named(data)} was deleted meanwhile; PUT it again to create it (with a new secret)"
            )
        if previous is not None and data.sealedSecret is not None:
            raise OperationFailed(
                "Conflict",
                f"{_named(data)} was created meanwhile by another request, with another secret than the one this "
                "request showed; PUT again to change it, or rotate its secret",
            )
        if data.sealedSecret is not None:
            sealed = [SealedSecret(sealed=data.sealedSecret, createdAt=change.stamp)]
        else:
            sealed = _current(snapshot.webhook_secrets, change.now)
        webhook = Webhook(
            site=data.site,
            name=data.name,
            url=data.url,
            events=list(data.events),
            enabled=True,
            secrets=_shown(sealed),
            **change.next_version(previous),
        )
        _write(change, envelope, webhook, sealed, previous)
        return webhook.version


class RotateSecret(_WebhookKind, OperationKind[WebhookRotate]):
    name = "webhook.rotate"
    envelope = WebhookRotate

    def apply(self, envelope: WebhookRotate, snapshot: Snapshot, change: Change) -> int:
        previous = _existing(envelope.data, snapshot)
        overlap_ends = isoformat(change.now + SECRET_OVERLAP)
        kept = [
            secret if secret.expiresAt else secret.model_copy(update={"expiresAt": overlap_ends})
            for secret in _current(snapshot.webhook_secrets, change.now)
        ]
        sealed = [*kept, SealedSecret(sealed=envelope.data.sealedSecret, createdAt=change.stamp)][-MAX_SECRETS:]
        update = {"secrets": _shown(sealed), **change.next_version(previous)}
        webhook = previous.model_copy(update=update)
        _write(change, envelope, webhook, sealed, previous)
        return webhook.version


class DisableWebhook(_WebhookKind, OperationKind[WebhookDisable]):
    name = "webhook.disable"
    envelope = WebhookDisable

    def apply(self, envelope: WebhookDisable, snapshot: Snapshot, change: Change) -> int:
        data = envelope.data
        previous = _existing(data, snapshot)
        if previous.version != data.version:
            raise OperationFailed(
                "Superseded",
                f"{_named(data)} changed (version {previous.version}) after its receiver answered 410 Gone to "
                f"version {data.version}; it stays as it is",
            )
        update = {"enabled": False, "disabledAt": change.stamp, "disabledReason": data.reason}
        webhook = previous.model_copy(update={**update, **change.next_version(previous)})
        _write(change, envelope, webhook, _current(snapshot.webhook_secrets, change.now), previous)
        return webhook.version


class DeleteWebhook(_WebhookKind, OperationKind[WebhookDelete]):
    name = "webhook.delete"
    envelope = WebhookDelete

    def apply(self, envelope: WebhookDelete, snapshot: Snapshot, change: Change) -> int:
        previous = _existing(envelope.data, snapshot)
        refuse_if_superseded(envelope, snapshot.webhook_applied, _named(envelope.data))
        WebhookStore.add_delete(change.transaction, previous)
        change.audit_versions(
            f"webhook/{previous.name}", previous, None, _audited, site=previous.site, to_version=previous.version + 1
        )
        return previous.version + 1


def _write(
    change: Change, envelope: WebhookEnvelope, webhook: Webhook, sealed: List[SealedSecret], previous: Optional[Webhook]
) -> None:
    WebhookStore.add_put(
        change.transaction, webhook, sealed, previous.version if previous else None, applied_by(envelope)
    )
    change.audit_versions(f"webhook/{webhook.name}", previous, webhook, _audited, site=webhook.site)


def _existing(data: WebhookTarget, snapshot: Snapshot) -> Webhook:
    if snapshot.webhook is None:
        raise OperationFailed("NotFound", f"{_named(data)} does not exist (deleted meanwhile?)")
    return snapshot.webhook


def _current(sealed: List[SealedSecret], now: datetime) -> List[SealedSecret]:
    """The secrets that still sign (a replaced one, until its overlap ends)."""
    return [secret for secret in sealed if secret.signs_at(now)]


def _shown(sealed: List[SealedSecret]) -> List[WebhookSecret]:
    return [WebhookSecret(createdAt=secret.createdAt, expiresAt=secret.expiresAt) for secret in sealed]


def _audited(webhook: Webhook) -> Dict[str, Any]:
    """What the audit trail shows of a webhook: never a secret, only when each was made."""
    return webhook.model_dump(mode="json", exclude={"site", "name", "version", "createdAt", "updatedAt"})


def _named(data: WebhookTarget) -> str:
    return f"webhook '{data.name}' of site '{data.site}'"


register(PutWebhook())
register(RotateSecret())
register(DeleteWebhook())
register(DisableWebhook())
