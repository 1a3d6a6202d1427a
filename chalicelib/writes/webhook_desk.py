"""The API side of webhooks: the URL's form is checked here, and a new secret is minted
here, sealed with KMS, queued sealed and shown once (`chalicelib.writes.webhooks`)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Optional

from pydantic.main import BaseModel

from chalicelib.core import (
    MAX_WEBHOOKS_PER_SITE,
    Accepted,
    Conflict,
    NotFound,
    ValidationFailed,
    WebhookAccepted,
    ids,
    isoformat,
)
from chalicelib.events import RefusedDestination, SecretSealer, new_secret, parse_destination
from chalicelib.store import Reads, Snapshot
from chalicelib.writes.accept import Answer, Desk, KeyUse, Submission
from chalicelib.writes.envelopes import OperationMeta
from chalicelib.writes.webhooks import (
    DELIVERY_ACTOR,
    WebhookDelete,
    WebhookDisable,
    WebhookDisableData,
    WebhookPut,
    WebhookRotate,
)


class WebhookDesk(Desk):
    def __init__(self, *args: Any, sealer: SecretSealer, local: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sealer = sealer
        # The local stage delivers to loopback receivers (make run); deployed ones never.
        self._local = local

    def put_webhook(self, site: str, name: str, body: BaseModel, submission: Submission) -> Answer:
        fields = body.model_dump(mode="json")
        key = KeyUse.of(submission, fields)
        snapshot = self._found(site, name, key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)  # the secret is not kept: it is not shown again
        try:
            parse_destination(fields["url"], self._local)
        except RefusedDestination as exc:
            raise ValidationFailed(
                f"webhooks cannot be delivered to this URL: {exc}",
                [{"field": "url", "message": str(exc), "type": "value_error"}],
            ) from exc
        secret = sealed = None
        if snapshot.webhook is None:
            if len(self._store.webhooks.of_site(site, MAX_WEBHOOKS_PER_SITE + 1)) >= MAX_WEBHOOKS_PER_SITE:
                raise Conflict(f"site '{site}' has {MAX_WEBHOOKS_PER_SITE} webhooks, the most a site may have")
            if not submission.dry_run:
                secret = new_secret()
                sealed = self._sealer.seal(secret, site, name)
        data = {"site": site, "name": name, **fields, "sealedSecret": sealed}
        envelope = WebhookPut.model_validate({"data": data, "meta": self._meta(submission, key)})
        return self._shown_once(self._send(envelope, name, key, submission.dry_run), envelope.meta, secret)

    def rotate_secret(self, site: str, name: str, submission: Submission) -> Answer:
        key = KeyUse.of(submission, {})
        snapshot = self._found(site, name, key, existing=True)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        secret = None if submission.dry_run else new_secret()
        sealed = self._sealer.seal(secret, site, name) if secret else ""  # a dry run seals nothing
        data = {"site": site, "name": name, "sealedSecret": sealed}
        envelope = WebhookRotate.model_validate({"data": data, "meta": self._meta(submission, key)})
        return self._shown_once(self._send(envelope, name, key, submission.dry_run), envelope.meta, secret)

    def delete_webhook(self, site: str, name: str, submission: Submission) -> Answer:
        key = KeyUse.of(submission, {})
        snapshot = self._found(site, name, key, existing=True)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        envelope = WebhookDelete.model_validate(
            {"data": {"site": site, "name": name}, "meta": self._meta(submission, key)}
        )
        return self._send(envelope, name, key, submission.dry_run)

    def disable_gone(self, site: str, name: str, version: int, reason: str, at: datetime) -> str:
        """Queues the disabling of a webhook whose receiver answered 410 Gone to `version`.
        The operation's id is derived from the webhook and its version: two deliveries
        told 410 at once queue the same operation, applied once."""
        seed = hashlib.sha256(f"{site}/{name}/{version}".encode()).digest()
        meta = OperationMeta(
            operationId=ids.new_operation_id(at, lambda count: seed[:count]),
            requestId=f"delivery:{isoformat(at)}",
            submittedAt=isoformat(at),
            actor=DELIVERY_ACTOR,
            actorName="webhook delivery",
        )
        data = WebhookDisableData(site=site, name=name, version=version, reason=reason)
        self._queue.send(WebhookDisable(data=data, meta=meta))
        return meta.operationId

    def _found(self, site: str, name: str, key: Optional[KeyUse], existing: bool = False) -> Snapshot:
        """The site and the webhook (which must exist, when `existing`), unless the key's
        request was made before (its replay answers)."""
        snapshot = self._read(Reads(site=site, webhook=(site, name)), key)
        if key and snapshot.idempotency:
            return snapshot
        if snapshot.site is None:
            raise NotFound(f"no site '{site}'")
        if existing and snapshot.webhook is None:
            raise NotFound(f"site '{site}' has no webhook '{name}'")
        return snapshot

    @staticmethod
    def _shown_once(answer: Answer, meta: OperationMeta, secret: Optional[str]) -> Answer:
        """The answer with the new secret, when this request's operation was queued (not
        a dry run, not the replay of a keyed request)."""
        if secret is None or not isinstance(answer, Accepted) or answer.operationId != meta.operationId:
            return answer
        return WebhookAccepted(**answer.model_dump(), secret=secret)
