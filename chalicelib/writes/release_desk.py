"""The API side of releases: what each request is checked against before its operation is
queued (`chalicelib.writes.releases` applies them)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional

from pydantic.main import BaseModel

from chalicelib.core import (
    AlreadyApproved,
    ApprovalRequired,
    NotFound,
    ReleaseStateConflict,
    SelfApproval,
    ValidationFailed,
    ids,
    is_config_id,
    isoformat,
)
from chalicelib.store import Reads, Release, Snapshot
from chalicelib.writes.accept import Answer, Desk, KeyUse, Submission
from chalicelib.writes.envelopes import OperationMeta
from chalicelib.writes.releases import (
    PENDING,
    ReleaseApprove,
    ReleaseCancel,
    ReleaseCreate,
    ReleasePublish,
    ReleaseRevert,
    ReleaseTarget,
)

# How far ahead a release may be scheduled.
MAX_SCHEDULE_AHEAD = timedelta(days=366)
# The actor of the operations the scheduler queues.
SCHEDULER = "scheduler"


class ReleaseDesk(Desk):
    def create_release(self, site: str, body: BaseModel, submission: Submission) -> Answer:
        fields: Dict[str, Any] = body.model_dump(mode="json")
        key = KeyUse.of(submission, fields)
        items: List[Dict[str, Any]] = fields["items"]
        _unique_configs(items)
        # The site; then each config (its page) and each version named, in one read (two past 100 keys).
        configs = tuple(sorted({item["configId"] for item in items if is_config_id(item["configId"])}))
        snapshot = self._read(Reads(site=site), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        if snapshot.site is None:
            raise NotFound(f"no site '{site}'")
        pairs = [(item["configId"], item["version"]) for item in items if item["configId"] in configs]
        current, versions = self._store.configs.named(configs, pairs)
        problems = []
        for index, item in enumerate(items):
            config = current.get(item["configId"])
            version = versions.get((item["configId"], item["version"]))
            if config is None or config.site != site:
                message = f"site '{site}' has no config '{item['configId']}'"
            elif version is None or version.deleted:
                message = f"config '{item['configId']}' has no version {item['version']}"
            else:
                item["page"] = config.page
                continue
            problems.append({"field": f"items.{index}", "message": message, "type": "not_found"})
        if problems:
            raise ValidationFailed(problems[0]["message"], problems)
        now = self._clock()
        publish_at = _publish_at(fields.get("publishAt"), now)
        data = {**fields, "site": site, "id": ids.new_release_id(now), "publishAt": publish_at}
        envelope = ReleaseCreate.model_validate({"data": data, "meta": self._meta(submission, key, now)})
        return self._send(envelope, data["id"], key, submission.dry_run)

    def approve(self, site: str, release_id: str, submission: Submission) -> Answer:
        def check(release: Release, snapshot: Snapshot) -> None:
            _pending(release, "approved")
            token_id = submission.actor.removeprefix("token:")
            if token_id == release.createdBy.tokenId:
                raise SelfApproval("a release is approved by a token other than the one that created it")
            if any(approval.tokenId == token_id for approval in release.approvals):
                raise AlreadyApproved("this token has approved this release already")

        return self._act(site, release_id, submission, ReleaseApprove, check)

    def publish(self, site: str, release_id: str, submission: Submission) -> Answer:
        def check(release: Release, snapshot: Snapshot) -> None:
            _pending(release, "published")
            required = snapshot.site.requiredApprovals if snapshot.site else 0
            if len(release.approvals) < required:
                raise ApprovalRequired(
                    f"the release has {len(release.approvals)} of the {required} approvals its site requires"
                )

        return self._act(site, release_id, submission, ReleasePublish, check)

    def cancel(self, site: str, release_id: str, submission: Submission) -> Answer:
        return self._act(site, release_id, submission, ReleaseCancel, lambda release, _: _pending(release, "cancelled"))

    def revert(self, site: str, release_id: str, submission: Submission) -> Answer:
        def check(release: Release, snapshot: Snapshot) -> None:
            if release.status != "published":
                raise ReleaseStateConflict(
                    f"release '{release.id}' is {release.status}: only a published one is reverted"
                )

        return self._act(site, release_id, submission, ReleaseRevert, check)

    def publish_due(self) -> int:
        """Queues the publication of every scheduled release whose `publishAt` has come
        (the scheduler calls this every minute). The operation's id is derived from the
        release and its time: queued again by a later run before it is applied, it is the
        same operation, applied once."""
        now = self._clock()
        due = self._store.releases.due(isoformat(now))
        for release in due:
            assert release.publishAt is not None
            operation_id = ids.new_operation_id(datetime.fromisoformat(release.publishAt), _seeded(release))
            meta = OperationMeta(
                operationId=operation_id,
                requestId=f"schedule:{isoformat(now)}",
                submittedAt=release.publishAt,
                actor=SCHEDULER,
                actorName="the release scheduler",
            )
            self._queue.send(ReleasePublish(data=ReleaseTarget(id=release.id, site=release.site), meta=meta))
        return len(due)

    def _act(self, site: str, release_id: str, submission: Submission, envelope_type: Any, check: Any) -> Answer:
        key = KeyUse.of(submission, {})
        snapshot = self._read(Reads(site=site, release=(site, release_id)), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        if snapshot.release is None:
            raise NotFound(f"site '{site}' has no release '{release_id}'")
        check(snapshot.release, snapshot)
        data = {"id": release_id, "site": site}
        envelope = envelope_type.model_validate({"data": data, "meta": self._meta(submission, key)})
        return self._send(envelope, release_id, key, submission.dry_run)


def _seeded(release: Release) -> Callable[[int], bytes]:
    """The "random" bytes of a scheduled publication's operation id: the same for a release
    as it stands, whichever run of the scheduler queues it."""
    # The release's version too: one sent back to `open` (the site wants more approvals)
    # and approved again is scheduled anew, and gets a new operation.
    seed = hashlib.sha256(f"{release.site}/{release.id}/{release.publishAt}/{release.version}".encode()).digest()
    return lambda count: seed[:count]


def _pending(release: Release, becoming: str) -> None:
    if release.status not in PENDING:
        raise ReleaseStateConflict(f"release '{release.id}' is {release.status}: it cannot become {becoming}")


def _unique_configs(items: List[Dict[str, Any]]) -> None:
    seen: Dict[str, int] = {}
    for index, item in enumerate(items):
        if item["configId"] in seen:
            message = f"config '{item['configId']}' is already item {seen[item['configId']]}: one version per page"
            raise ValidationFailed(
                message, [{"field": f"items.{index}.configId", "message": message, "type": "duplicate"}]
            )
        seen[item["configId"]] = index


def _publish_at(raw: Optional[str], now: datetime) -> Optional[str]:
    """`publishAt` as the service writes times, when it is in the future (and within a year)."""
    if raw is None:
        return None
    problem = None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        problem = "publishAt is an ISO 8601 time with a time zone, like 2026-12-01T09:00:00Z"
    elif moment <= now:
        problem = "publishAt must be in the future; publish the release now with POST .../publish"
    elif moment - now > MAX_SCHEDULE_AHEAD:
        problem = "publishAt is at most a year ahead"
    if problem or moment is None:
        raise ValidationFailed(
            problem or "publishAt is not valid", [{"field": "publishAt", "message": problem, "type": "value_error"}]
        )
    return isoformat(moment)
