"""The config operations: `config.create`, `config.update` and `config.delete` write a
page's render config (a new immutable version each); `config.publish` and
`config.unpublish` change which version the page serves.

In a site's `direct` publish mode a config write is published as it is applied; in
`review` mode it is a draft, and the page keeps serving what was published."""

from __future__ import annotations

from typing import Any, Dict, Literal, Optional, Tuple, Union

from pydantic.fields import Field

from chalicelib.core import ConfigContent, PageSlug, SiteSlug, StrictModel
from chalicelib.schemas import settings_problems
from chalicelib.store import (
    ConfigState,
    ConfigStore,
    ConfigVersion,
    Publication,
    Reads,
    RenderConfig,
    Site,
    Snapshot,
    version_of,
)
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.page_events import page_changed
from chalicelib.writes.registry import (
    Change,
    OperationFailed,
    OperationKind,
    applied_by,
    refuse_if_superseded,
    register,
)


class ConfigCreateData(ConfigContent):
    id: str
    site: SiteSlug
    page: PageSlug


class ConfigTarget(StrictModel):
    """A config, with its site and page as the API read them: the worker reads the page
    in the same read as the config. (Messages queued before drafts existed carry no
    page, and updates queued before schemas no site: their page is read after the config.)"""

    id: str
    site: Optional[SiteSlug] = None
    page: Optional[PageSlug] = None


class ConfigUpdateData(ConfigContent, ConfigTarget):
    pass


class ConfigDeleteData(ConfigTarget):
    pass


class ConfigPublishData(ConfigTarget):
    version: int = Field(ge=1)


class ConfigCreate(OperationEnvelope):
    operation: Literal["config.create"] = "config.create"
    data: ConfigCreateData


class ConfigUpdate(OperationEnvelope):
    operation: Literal["config.update"] = "config.update"
    data: ConfigUpdateData


class ConfigDelete(OperationEnvelope):
    operation: Literal["config.delete"] = "config.delete"
    data: ConfigDeleteData


class ConfigPublish(OperationEnvelope):
    operation: Literal["config.publish"] = "config.publish"
    data: ConfigPublishData


class ConfigUnpublish(OperationEnvelope):
    operation: Literal["config.unpublish"] = "config.unpublish"
    data: ConfigTarget


ConfigEnvelope = Union[ConfigCreate, ConfigUpdate, ConfigDelete, ConfigPublish, ConfigUnpublish]
TargetEnvelope = Union[ConfigUpdate, ConfigDelete, ConfigPublish, ConfigUnpublish]


class _ConfigKind:
    """What every config operation shares: the config is the resource and the group."""

    def resource(self, envelope: ConfigEnvelope) -> str:
        return envelope.data.id

    def group(self, envelope: ConfigEnvelope) -> str:
        return f"config:{envelope.data.id}"

    def reads(self, envelope: ConfigEnvelope) -> Reads:
        assert isinstance(envelope.data, ConfigTarget)
        return target_reads(envelope.data)


def target_reads(data: ConfigTarget, **more: Any) -> Reads:
    """The config, its page and its site (and `more`), in one read when the message names
    the page; else the page and the site after the config."""
    if data.site is None or data.page is None:
        return Reads(config_id=data.id, follow_config=True)
    return Reads(config_id=data.id, site=data.site, page=(data.site, data.page), **more)


class CreateConfig(_ConfigKind, OperationKind[ConfigCreate]):
    name = "config.create"
    envelope = ConfigCreate

    def reads(self, envelope: ConfigEnvelope) -> Reads:
        assert isinstance(envelope, ConfigCreate)
        data = envelope.data
        return Reads(site=data.site, page=(data.site, data.page), schema=(data.site, data.layout))

    def apply(self, envelope: ConfigCreate, snapshot: Snapshot, change: Change) -> int:
        data = envelope.data
        if snapshot.site is None:
            raise OperationFailed("UnknownSite", f"site '{data.site}' does not exist")
        if snapshot.page is not None:
            raise OperationFailed("Conflict", f"page '{data.page}' of site '{data.site}' already has a config")
        check_schema(snapshot, data.layout, data.settings)
        config = RenderConfig(**data.model_dump(), version=1, createdAt=change.stamp, updatedAt=change.stamp)
        publication = Publication.of(config, change.stamp) if publishes_directly(snapshot.site) else None
        version = version_of(config, change.operation_id, change.actor)
        ConfigStore.add_create(change.transaction, config, version, publication, applied_by(envelope))
        page_changed(change, config, None, publication)
        _audit(change, config, None, config)
        return 1


class UpdateConfig(_ConfigKind, OperationKind[ConfigUpdate]):
    name = "config.update"
    envelope = ConfigUpdate

    def reads(self, envelope: ConfigEnvelope) -> Reads:
        assert isinstance(envelope, ConfigUpdate)
        data = envelope.data
        if data.site is None:
            return target_reads(data)  # queued before schemas: no schema to check
        return target_reads(data, schema=(data.site, data.layout))

    def apply(self, envelope: ConfigUpdate, snapshot: Snapshot, change: Change) -> int:
        current, state = expected_config(envelope, snapshot)
        if envelope.data.site is not None:
            check_schema(snapshot, envelope.data.layout, envelope.data.settings)
        new_content = envelope.data.model_dump(include={"layout", "theme", "settings"})
        updated = current.model_copy(update={**new_content, "version": current.version + 1, "updatedAt": change.stamp})
        direct = publishes_directly(snapshot.site)
        publication = Publication.of(updated, change.stamp) if direct else state.publication
        version = version_of(updated, change.operation_id, change.actor)
        ConfigStore.add_replace(change.transaction, updated, version, state, publication, applied_by(envelope))
        page_changed(change, updated, state, publication)
        _audit(change, current, current, updated)
        return updated.version


class DeleteConfig(_ConfigKind, OperationKind[ConfigDelete]):
    name = "config.delete"
    envelope = ConfigDelete

    def apply(self, envelope: ConfigDelete, snapshot: Snapshot, change: Change) -> int:
        current, state = expected_config(envelope, snapshot)
        if not publishes_directly(snapshot.site) and state.publication is not None:
            raise OperationFailed(
                "StillPublished",
                f"config '{current.id}' is published, and site '{current.site}' publishes by review: "
                f"unpublish it first (POST /metadata/{current.id}/unpublish)",
            )
        tombstone = ConfigVersion(
            version=current.version + 1,
            updatedAt=change.stamp,
            deleted=True,
            operationId=change.operation_id,
            actor=change.actor,
        )
        ConfigStore.add_delete(change.transaction, current, state, tombstone)
        page_changed(change, current, state, None, deleted=True)
        _audit(change, current, current, None, deleted=tombstone.version)
        return tombstone.version


class PublishConfig(_ConfigKind, OperationKind[ConfigPublish]):
    name = "config.publish"
    envelope = ConfigPublish

    def reads(self, envelope: ConfigEnvelope) -> Reads:
        assert isinstance(envelope, ConfigPublish)
        return target_reads(envelope.data, version=(envelope.data.id, envelope.data.version))

    def apply(self, envelope: ConfigPublish, snapshot: Snapshot, change: Change) -> int:
        state = expected_publication(envelope, snapshot)
        number = envelope.data.version
        publication = Publication.of_version(snapshot.version, change.stamp) if snapshot.version else None
        if publication is None:
            raise OperationFailed("NotFound", f"config '{envelope.data.id}' has no version {number}")
        ConfigStore.add_publication(change.transaction, state, publication, applied_by(envelope))
        _audit_publication(change, state, publication)
        page_changed(change, state.draft, state, publication)
        return number


class UnpublishConfig(_ConfigKind, OperationKind[ConfigUnpublish]):
    name = "config.unpublish"
    envelope = ConfigUnpublish

    def apply(self, envelope: ConfigUnpublish, snapshot: Snapshot, change: Change) -> int:
        state = expected_publication(envelope, snapshot)
        if state.publication is None:
            raise OperationFailed("NotPublished", f"config '{envelope.data.id}' is not published")
        ConfigStore.add_publication(change.transaction, state, None, applied_by(envelope))
        _audit_publication(change, state, None)
        page_changed(change, state.draft, state, None)
        return state.draft.version


def publishes_directly(site: Optional[Site]) -> bool:
    return site is None or site.publishMode == "direct"


def check_schema(snapshot: Snapshot, layout: str, settings: Dict[str, Any]) -> None:
    """The schema may have changed since the API accepted the write: check again."""
    problems = settings_problems(snapshot.site, layout, snapshot.schema, settings)
    if problems:
        message = f"the settings do not fit the schema of layout '{layout}' as it is now"
        raise OperationFailed("SchemaViolation", message, problems)


def _found(envelope: TargetEnvelope, snapshot: Snapshot) -> Tuple[RenderConfig, ConfigState]:
    config, state = snapshot.config, snapshot.page_state
    if config is None or state is None or state.draft.id != config.id:
        raise OperationFailed("NotFound", f"config '{envelope.data.id}' does not exist (deleted meanwhile?)")
    return config, state


def expected_config(
    envelope: Union[ConfigUpdate, ConfigDelete], snapshot: Snapshot
) -> Tuple[RenderConfig, ConfigState]:
    """The config as it is, when no write accepted after this one was applied to it first,
    and it is the version the client's If-Match named."""
    config, state = _found(envelope, snapshot)
    refuse_if_superseded(envelope, snapshot.config_applied, f"config '{config.id}'")
    if publishes_directly(snapshot.site):
        # Applied now, it would also replace what the page serves.
        refuse_if_superseded(envelope, state.published_by, f"the page of config '{config.id}'")
    expected = envelope.meta.expectedVersion
    if expected is not None and config.version != expected:
        raise OperationFailed(
            "PreconditionFailed",
            f"If-Match named version {expected}, but version {config.version} was applied first",
        )
    return config, state


def expected_publication(envelope: Union[ConfigPublish, ConfigUnpublish], snapshot: Snapshot) -> ConfigState:
    """The config, when its site lets a single config be published, nothing published
    since this operation was accepted, and it serves the version the If-Match named."""
    config, state = _found(envelope, snapshot)
    site = snapshot.site
    if site is not None and site.requiredApprovals > 0:
        raise OperationFailed(
            "ApprovalRequired",
            f"site '{site.site}' requires {site.requiredApprovals} approval(s): publish through a release",
        )
    refuse_if_superseded(envelope, state.published_by, f"the page of config '{config.id}'")
    expected = envelope.meta.expectedVersion
    served = state.publication.version if state.publication else None
    if expected is not None and served != expected:
        found = f"version {served}" if served is not None else "no version"
        raise OperationFailed("PreconditionFailed", f"If-Match named published version {expected}, but {found} is")
    return state


def _audit(
    change: Change,
    config: RenderConfig,
    before: Optional[RenderConfig],
    after: Optional[RenderConfig],
    deleted: Optional[int] = None,
) -> None:
    """The audit entry of a config's content going from `before` to `after` (a deletion
    leaves version `deleted`)."""
    resource, content = f"config/{config.id}", RenderConfig.content
    change.audit_versions(resource, before, after, content, site=config.site, page=config.page, to_version=deleted)


def _audit_publication(change: Change, state: ConfigState, publication: Optional[Publication]) -> None:
    """What the page serves, as a change of the config: from one publication to another."""
    config = state.draft
    change.audit_versions(
        f"config/{config.id}", state.publication, publication, Publication.content, site=config.site, page=config.page
    )


register(CreateConfig())
register(UpdateConfig())
register(DeleteConfig())
register(PublishConfig())
register(UnpublishConfig())
