"""The API side of site and config writes: what each checks against what is stored
before `accept.Desk` enqueues it."""

from __future__ import annotations

from typing import Any, Optional

from pydantic.main import BaseModel

from chalicelib.core import (
    ApprovalRequired,
    Conflict,
    NotFound,
    NotPublished,
    PreconditionFailed,
    StillPublished,
    ValidationFailed,
    etag,
    if_match_holds,
)
from chalicelib.schemas import settings_problems
from chalicelib.store import LayoutSchema, Reads, RenderConfig, Site, Snapshot
from chalicelib.writes.accept import Answer, Desk, KeyUse, Submission
from chalicelib.writes.configs import (
    ConfigCreate,
    ConfigCreateData,
    ConfigDelete,
    ConfigPublish,
    ConfigUnpublish,
    ConfigUpdate,
)
from chalicelib.writes.sites import SitePut, SitePutData


class WriteDesk(Desk):
    def put_site(self, site: str, body: BaseModel, submission: Submission) -> Answer:
        key = KeyUse.of(submission, body.model_dump(mode="json"))
        snapshot = self._read(Reads(), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        data = SitePutData(site=site, **body.model_dump())
        if data.publishMode == "direct" and data.requiredApprovals > 0:
            message = 'approvals apply to sites that publish by review: set publishMode to "review" as well'
            raise ValidationFailed(message, [{"field": "requiredApprovals", "message": message, "type": "value_error"}])
        envelope = SitePut(data=data, meta=self._meta(submission, key))
        return self._send(envelope, site, key, submission.dry_run)

    def create_config(self, body: BaseModel, submission: Submission) -> Answer:
        fields: dict[str, Any] = body.model_dump()
        key = KeyUse.of(submission, body.model_dump(mode="json"))
        site, page = fields["site"], fields["page"]
        # The site, the page and the layout's schema, in the one read.
        snapshot = self._read(Reads(site=site, page=(site, page), schema=(site, fields["layout"])), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        if snapshot.site is None:
            raise ValidationFailed(
                "the site does not exist; create it with PUT /sites/{site} first",
                [{"field": "site", "message": f"no site '{site}'", "type": "not_found"}],
            )
        if snapshot.page is not None:
            raise Conflict(
                f"page '{page}' of site '{site}' already has config {snapshot.page.id}; "
                f"update it with PUT /metadata/{snapshot.page.id}"
            )
        _check_settings(snapshot.site, fields["layout"], snapshot.schema, fields["settings"])
        now = self._clock()
        data = ConfigCreateData(id=self._new_config_id(now), **fields)
        envelope = ConfigCreate(data=data, meta=self._meta(submission, key, now))
        return self._send(envelope, data.id, key, submission.dry_run)

    def update_config(self, config_id: str, body: BaseModel, if_match: Optional[str], submission: Submission) -> Answer:
        key = KeyUse.of(submission, body.model_dump(mode="json"))
        snapshot = self._read(Reads(config_id=config_id), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        current = _current(snapshot, config_id, if_match)
        fields: dict[str, Any] = body.model_dump()
        # The config names its site: a second read, of the site and the layout's schema.
        found = self._store.snapshots.read(Reads(site=current.site, schema=(current.site, fields["layout"])))
        _check_settings(found.site, fields["layout"], found.schema, fields["settings"])
        expected = current.version if if_match else None
        data = {"id": config_id, "site": current.site, "page": current.page, **fields}
        envelope = ConfigUpdate.model_validate({"data": data, "meta": self._meta(submission, key, expected=expected)})
        return self._send(envelope, config_id, key, submission.dry_run)

    def delete_config(self, config_id: str, if_match: Optional[str], submission: Submission) -> Answer:
        key = KeyUse.of(submission, {})
        snapshot = self._read(Reads(config_id=config_id, follow_config=True), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        current = _current(snapshot, config_id, if_match)
        state = snapshot.page_state
        if snapshot.site is not None and snapshot.site.publishMode == "review" and state and state.publication:
            raise StillPublished(
                f"config '{config_id}' is published, and site '{current.site}' publishes by review: "
                f"unpublish it first (POST /metadata/{config_id}/unpublish), then delete it"
            )
        expected = current.version if if_match else None
        data = {"id": config_id, "site": current.site, "page": current.page}
        envelope = ConfigDelete.model_validate({"data": data, "meta": self._meta(submission, key, expected=expected)})
        return self._send(envelope, config_id, key, submission.dry_run)

    def publish_config(self, config_id: str, version: int, if_match: Optional[str], submission: Submission) -> Answer:
        """Makes the page serve `version` of its config (an older one: a rollback)."""
        key = KeyUse.of(submission, {"version": version})
        # The config and the version named, then the config's page and site.
        snapshot = self._read(Reads(config_id=config_id, follow_config=True, version=(config_id, version)), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        current = _publishable(snapshot, config_id, if_match)
        chosen = snapshot.version
        if chosen is None or chosen.deleted:
            raise ValidationFailed(
                f"config '{config_id}' has no version {version}",
                [{"field": "version", "message": f"versions go from 1 to {current.version}", "type": "not_found"}],
            )
        expected = current.publishedVersion if if_match else None
        data = {"id": config_id, "site": current.site, "page": current.page, "version": version}
        envelope = ConfigPublish.model_validate({"data": data, "meta": self._meta(submission, key, expected=expected)})
        return self._send(envelope, config_id, key, submission.dry_run)

    def unpublish_config(self, config_id: str, if_match: Optional[str], submission: Submission) -> Answer:
        """Takes the page off the site: it serves nothing (404) until a version is
        published again; the config and its versions stay."""
        key = KeyUse.of(submission, {})
        snapshot = self._read(Reads(config_id=config_id, follow_config=True), key)
        if key and snapshot.idempotency:
            return self._replay(snapshot.idempotency, key)
        current = _publishable(snapshot, config_id, if_match)
        if current.publishedVersion is None:
            raise NotPublished(f"config '{config_id}' is not published: its page serves nothing already")
        expected = current.publishedVersion if if_match else None
        data = {"id": config_id, "site": current.site, "page": current.page}
        envelope = ConfigUnpublish.model_validate(
            {"data": data, "meta": self._meta(submission, key, expected=expected)}
        )
        return self._send(envelope, config_id, key, submission.dry_run)


def _check_settings(site: Optional[Site], layout: str, schema: Optional[LayoutSchema], settings: Any) -> None:
    problems = settings_problems(site, layout, schema, settings)
    if problems:
        raise ValidationFailed(f"the settings do not fit the schema of layout '{layout}'", problems)


def _publishable(snapshot: Snapshot, config_id: str, if_match: Optional[str]) -> RenderConfig:
    """The config (latest version, with `publishedVersion`), when its site lets one config
    be published on its own and If-Match names what the page serves."""
    state, site = snapshot.page_state, snapshot.site
    if snapshot.config is None or state is None or site is None:
        raise NotFound(f"no config '{config_id}'")
    if site.requiredApprovals > 0:
        raise ApprovalRequired(
            f"site '{site.site}' requires {site.requiredApprovals} approval(s) before a page changes: "
            "publish through a release (POST /sites/{site}/releases)"
        )
    published = state.published()
    served = etag(config_id, published.version) if published else None
    if if_match is not None and (served is None or not if_match_holds(if_match, served)):
        now = f"the published ETag is now {served}" if served else "the config is not published"
        raise PreconditionFailed(f"If-Match does not match what the page serves: {now}")
    return state.draft


def _current(snapshot: Snapshot, config_id: str, if_match: Optional[str]) -> RenderConfig:
    config = snapshot.config
    if config is None:
        raise NotFound(f"no config '{config_id}'")
    current_tag = etag(config.id, config.version)
    if if_match is not None and not if_match_holds(if_match, current_tag):
        raise PreconditionFailed(f"If-Match does not match the current version: the ETag is now {current_tag}")
    return config
