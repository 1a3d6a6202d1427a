"""The API side of preview links: the token is minted here and shown once; the worker
stores only its hash (`chalicelib.writes.previews`)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Optional

from chalicelib.core import Accepted, NotFound, PreviewLinkAccepted, ValidationFailed, ids, isoformat
from chalicelib.store import Reads
from chalicelib.writes.accept import Answer, Desk, KeyUse, Submission
from chalicelib.writes.previews import PreviewCreate, PreviewRevoke

PREVIEW_TOKEN_PREFIX = "mmp_"  # noqa: S105 (a prefix that makes leaked preview tokens easy to scan for)


class PreviewDesk(Desk):
    """Preview links: minted here, stored by the worker (only the token's hash)."""

    def create_preview_link(
        self, config_id: str, version: Optional[int], expires_in: int, submission: Submission
    ) -> Answer:
        key = KeyUse.of(submission, {"version": version, "expiresIn": expires_in})
        reads = Reads(config_id=config_id, version=(config_id, version) if version else None)
        snapshot = self._read(reads, key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)  # the token is not kept: it is not shown again
        config = snapshot.config
        if config is None:
            raise NotFound(f"no config '{config_id}'")
        if version is not None and (snapshot.version is None or snapshot.version.deleted):
            raise ValidationFailed(
                f"config '{config_id}' has no version {version}",
                [{"field": "version", "message": f"versions go from 1 to {config.version}", "type": "not_found"}],
            )
        now = self._clock()
        token = PREVIEW_TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = isoformat(now + timedelta(seconds=expires_in))
        link_id = self._new_config_id(now)
        data = {
            "id": link_id,
            "configId": config_id,
            "site": config.site,
            "page": config.page,
            "version": version,
            "tokenHash": ids.token_hash(token),
            "expiresAt": expires_at,
        }
        envelope = PreviewCreate.model_validate({"data": data, "meta": self._meta(submission, key, now)})
        answer = self._send(envelope, link_id, key, submission.dry_run)
        if not isinstance(answer, Accepted) or answer.operationId != envelope.meta.operationId:
            return answer  # a dry run, or a repeat of a keyed request
        url = f"/preview/sites/{config.site}/pages/{config.page}?token={token}"
        return PreviewLinkAccepted(**answer.model_dump(), url=url, token=token, expiresAt=expires_at)

    def revoke_preview_link(self, config_id: str, link_id: str, submission: Submission) -> Answer:
        key = KeyUse.of(submission, {})
        snapshot = self._read(Reads(preview=(config_id, link_id)), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        if snapshot.preview is None:
            raise NotFound(f"config '{config_id}' has no preview link '{link_id}'")
        data = {"id": link_id, "configId": config_id}
        envelope = PreviewRevoke.model_validate({"data": data, "meta": self._meta(submission, key)})
        return self._send(envelope, link_id, key, submission.dry_run)
