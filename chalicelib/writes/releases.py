"""Releases: `release.create`, `release.approve`, `release.publish`, `release.cancel` and
`release.revert`. A release names up to 50 (config, version) pairs of one site; once
approved (the site's `requiredApprovals`, each by a token other than its creator's) it is
published now or at `publishAt`: every page's publication moves in one transaction, or
none does. A revert puts back, in one transaction, what each page served before.

Statuses: open -> approved -> (scheduled ->) published -> reverted; open, approved or
scheduled -> cancelled; publish -> failed when a config or a version is gone."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple, Union

from pydantic.fields import Field

from chalicelib.core import PageSlug, SiteSlug, StrictModel
from chalicelib.store import (
    Approval,
    ConfigState,
    ConfigStore,
    Publication,
    Reads,
    Release,
    ReleaseActor,
    ReleaseFailure,
    ReleaseItem,
    ReleaseStore,
    ServedBefore,
    Site,
    Snapshot,
)
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.page_events import page_changed
from chalicelib.writes.registry import Change, OperationFailed, OperationKind, applied_by, register

MAX_RELEASE_ITEMS = 50
# DynamoDB's limit on one transaction is 4 MB; what the items weigh as JSON comes close
# from above, and the operation's own records need a little room.
MAX_TRANSACTION_BYTES = 4_000_000
MAX_TITLE = 200
# Statuses a release can still be approved, published or cancelled in.
PENDING = ("open", "approved", "scheduled")


class ReleaseItemData(StrictModel):
    configId: str
    version: int = Field(ge=1)
    page: PageSlug


class ReleaseTarget(StrictModel):
    id: str
    site: SiteSlug


class ReleaseCreateData(ReleaseTarget):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    items: List[ReleaseItemData] = Field(min_length=1, max_length=MAX_RELEASE_ITEMS)
    publishAt: Optional[str] = None


class ReleaseCreate(OperationEnvelope):
    operation: Literal["release.create"] = "release.create"
    data: ReleaseCreateData


class ReleaseApprove(OperationEnvelope):
    operation: Literal["release.approve"] = "release.approve"
    data: ReleaseTarget


class ReleasePublish(OperationEnvelope):
    operation: Literal["release.publish"] = "release.publish"
    data: ReleaseTarget


class ReleaseCancel(OperationEnvelope):
    operation: Literal["release.cancel"] = "release.cancel"
    data: ReleaseTarget


class ReleaseRevert(OperationEnvelope):
    operation: Literal["release.revert"] = "release.revert"
    data: ReleaseTarget


ReleaseEnvelope = Union[ReleaseCreate, ReleaseApprove, ReleasePublish, ReleaseCancel, ReleaseRevert]


class _ReleaseKind:
    """A release is the resource and the group; its pages are written with conditions on
    what was read, so a config write applied meanwhile (another group) makes it read again."""

    def resource(self, envelope: ReleaseEnvelope) -> str:
        return envelope.data.id

    def group(self, envelope: ReleaseEnvelope) -> str:
        return f"release:{envelope.data.id}"

    def reads(self, envelope: ReleaseEnvelope) -> Reads:
        return Reads(site=envelope.data.site, release=(envelope.data.site, envelope.data.id))

    def follow(self, envelope: ReleaseEnvelope, snapshot: Snapshot) -> Optional[Reads]:
        """Publishing and reverting read, after the release, every page and version it names."""
        if snapshot.release is None or envelope.operation not in ("release.publish", "release.revert"):
            return None
        return release_reads(snapshot.release)


def settled_status(release: Release, site: Site) -> str:
    """Where a pending release stands with the approvals it has."""
    if len(release.approvals) < site.requiredApprovals:
        return "open"
    return "scheduled" if release.publishAt else "approved"


class CreateRelease(_ReleaseKind, OperationKind[ReleaseCreate]):
    name = "release.create"
    envelope = ReleaseCreate

    def apply(self, envelope: ReleaseCreate, snapshot: Snapshot, change: Change) -> int:
        data = envelope.data
        if snapshot.site is None:
            raise OperationFailed("UnknownSite", f"site '{data.site}' does not exist")
        items = [ReleaseItem(**item.model_dump()) for item in data.items]
        release = Release(
            id=data.id,
            site=data.site,
            title=data.title,
            status="open",
            items=items,
            createdBy=ReleaseActor(tokenId=_token_id(change.actor), name=change.actor_name),
            createdAt=change.stamp,
            updatedAt=change.stamp,
            requiredApprovals=snapshot.site.requiredApprovals,
            publishAt=data.publishAt,
            version=1,
        )
        release = release.model_copy(update={"status": settled_status(release, snapshot.site)})
        ReleaseStore.add_put(change.transaction, release, None)
        _audit(change, None, release)
        return 1


class ApproveRelease(_ReleaseKind, OperationKind[ReleaseApprove]):
    name = "release.approve"
    envelope = ReleaseApprove

    def apply(self, envelope: ReleaseApprove, snapshot: Snapshot, change: Change) -> int:
        release, site = _pending(envelope, snapshot, "approved")
        token_id = _token_id(change.actor)
        if token_id == release.createdBy.tokenId:
            raise OperationFailed("SelfApproval", "a release is approved by a token other than the one that created it")
        if any(approval.tokenId == token_id for approval in release.approvals):
            raise OperationFailed("AlreadyApproved", "this token has approved this release already")
        approval = Approval(tokenId=token_id, name=change.actor_name, at=change.stamp)
        approved = release.model_copy(update={"approvals": [*release.approvals, approval]})
        return _save(change, release, _settled(approved, site, change))


class CancelRelease(_ReleaseKind, OperationKind[ReleaseCancel]):
    name = "release.cancel"
    envelope = ReleaseCancel

    def apply(self, envelope: ReleaseCancel, snapshot: Snapshot, change: Change) -> int:
        release, _ = _pending(envelope, snapshot, "cancelled")
        return _save(change, release, release.model_copy(update={"status": "cancelled"}))


class PublishRelease(_ReleaseKind, OperationKind[ReleasePublish]):
    """Reads the release, then (a second read) every page and version it names."""

    name = "release.publish"
    envelope = ReleasePublish

    def apply(self, envelope: ReleasePublish, snapshot: Snapshot, change: Change) -> int:
        release, site = _pending(envelope, snapshot, "published")
        if len(release.approvals) < site.requiredApprovals:
            message = (
                f"the release has {len(release.approvals)} of the {site.requiredApprovals} approvals its site requires"
            )
            if release.status == "open":
                raise OperationFailed("ApprovalRequired", message)
            # The site requires more approvals than it did: the release waits for them again.
            _save(change, release, _settled(release, site, change))
            raise OperationFailed("ApprovalRequired", message, keep=True)
        found = _pages_and_versions(snapshot)
        problems = _missing(release, found)
        if problems:
            failure = ReleaseFailure(
                code="ReleaseFailed", message="no page was changed: " + problems[0]["message"], details=problems
            )
            failed = release.model_copy(update={"status": "failed", "failure": failure})
            _save(change, release, failed)
            raise OperationFailed("ReleaseFailed", failure.message, problems, keep=True)
        pages, versions = found
        before: List[ServedBefore] = []
        for item in release.items:
            state = pages[item.page]
            served = state.publication
            before.append(
                ServedBefore(configId=item.configId, page=item.page, version=served.version if served else None)
            )
            publication = Publication.of_version(versions[(item.configId, item.version)], change.stamp)
            ConfigStore.add_publication(change.transaction, state, publication, applied_by(envelope))
            page_changed(change, state.draft, state, publication, release_id=release.id)
        if change.transaction.size() > MAX_TRANSACTION_BYTES:
            # DynamoDB would refuse it whole: the release fails, and says why.
            change.transaction.items.clear()
            change.events.clear()
            message = "no page was changed: its pages' items together exceed one transaction's 4 MB; split the release"
            failure = ReleaseFailure(code="ReleaseTooLarge", message=message)
            _save(change, release, release.model_copy(update={"status": "failed", "failure": failure}))
            raise OperationFailed("ReleaseTooLarge", message, keep=True)
        published = release.model_copy(
            update={
                "status": "published",
                "publishedAt": change.stamp,
                "servedBefore": before,
                "failure": None,
                "publishOperationId": change.operation_id,
            }
        )
        saved = _save(change, release, published)
        change.emit("release.published", release.site, releaseId=release.id, version=saved)
        return saved


class RevertRelease(_ReleaseKind, OperationKind[ReleaseRevert]):
    name = "release.revert"
    envelope = ReleaseRevert

    def apply(self, envelope: ReleaseRevert, snapshot: Snapshot, change: Change) -> int:
        release = _release(envelope, snapshot)
        if release.status != "published" or release.servedBefore is None:
            raise OperationFailed(
                "ReleaseStateConflict", f"release '{release.id}' is {release.status}: only a published one is reverted"
            )
        pages, versions = _pages_and_versions(snapshot)
        changed = []
        for index, before in enumerate(release.servedBefore):
            state = pages.get(before.page)
            by = state.published_by.operation_id if state and state.published_by else None
            if state is None or state.draft.id != before.configId or by != release.publishOperationId:
                changed.append(
                    {
                        "field": f"items.{index}",
                        "message": f"page '{before.page}' has changed since the release went live",
                        "type": "changed",
                    }
                )
        if changed:
            raise OperationFailed("PageChangedSince", "nothing was reverted: " + changed[0]["message"], changed)
        for before in release.servedBefore:
            chosen = versions.get((before.configId, before.version)) if before.version is not None else None
            state = pages[before.page]
            publication = Publication.of_version(chosen, change.stamp) if chosen else None
            ConfigStore.add_publication(change.transaction, state, publication, applied_by(envelope))
            page_changed(change, state.draft, state, publication, release_id=release.id)
        reverted = _save(change, release, release.model_copy(update={"status": "reverted", "revertedAt": change.stamp}))
        change.emit("release.reverted", release.site, releaseId=release.id, version=reverted)
        return reverted


Found = Tuple[Dict[str, ConfigState], Dict[Tuple[str, int], Any]]


def _pages_and_versions(snapshot: Snapshot) -> Found:
    """The release's pages (by page) and the versions it names, as the second read found them."""
    return {page: state for (_, page), state in snapshot.pages.items()}, dict(snapshot.versions)


def _missing(release: Release, found: Found) -> List[Dict[str, Any]]:
    pages, versions = found
    problems = []
    for index, item in enumerate(release.items):
        state = pages.get(item.page)
        version = versions.get((item.configId, item.version))
        if state is None or state.draft.id != item.configId:
            message = f"page '{item.page}' no longer has config {item.configId} (deleted)"
        elif version is None or version.deleted:
            message = f"config {item.configId} has no version {item.version}"
        else:
            continue
        problems.append({"field": f"items.{index}", "message": message, "type": "not_found"})
    return problems


def release_reads(release: Release) -> Reads:
    """What publishing and reverting a release read after the release itself."""
    pairs = {(item.configId, item.version) for item in release.items}
    pairs |= {(before.configId, before.version) for before in release.servedBefore or [] if before.version}
    return Reads(pages=tuple((release.site, item.page) for item in release.items), versions=tuple(sorted(pairs)))


def _release(envelope: ReleaseEnvelope, snapshot: Snapshot) -> Release:
    if snapshot.release is None:
        raise OperationFailed("NotFound", f"no release '{envelope.data.id}' of site '{envelope.data.site}'")
    return snapshot.release


def _pending(envelope: ReleaseEnvelope, snapshot: Snapshot, becoming: str) -> Tuple[Release, Site]:
    release = _release(envelope, snapshot)
    if release.status not in PENDING or snapshot.site is None:
        raise OperationFailed(
            "ReleaseStateConflict", f"release '{release.id}' is {release.status}: it cannot become {becoming}"
        )
    return release, snapshot.site


def _settled(release: Release, site: Site, change: Change) -> Release:
    return release.model_copy(
        update={"status": settled_status(release, site), "requiredApprovals": site.requiredApprovals}
    )


def _save(change: Change, before: Release, after: Release) -> int:
    saved = after.model_copy(update={"version": before.version + 1, "updatedAt": change.stamp})
    ReleaseStore.add_put(change.transaction, saved, before.version)
    _audit(change, before, saved)
    return saved.version


def _audit(change: Change, before: Optional[Release], after: Release) -> None:
    """The release's status and approvals, and which version each page serves."""
    change.audit_versions(f"release/{after.id}", before, after, _summary, site=after.site)


def _summary(release: Release) -> Dict[str, Any]:
    summary: Dict[str, Any] = {
        "title": release.title,
        "status": release.status,
        "items": {item.page: {"configId": item.configId, "version": item.version} for item in release.items},
        "approvals": [approval.tokenId for approval in release.approvals],
    }
    if release.publishAt:
        summary["publishAt"] = release.publishAt
    if release.servedBefore is not None:
        summary["servedBefore"] = {before.page: before.version for before in release.servedBefore}
    return summary


def _token_id(actor: str) -> str:
    return actor.removeprefix("token:")


register(CreateRelease())
register(ApproveRelease())
register(PublishRelease())
register(CancelRelease())
register(RevertRelease())
