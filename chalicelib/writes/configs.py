"""`config.create`, `config.update` and `config.delete`: a page's render config."""

from __future__ import annotations

from typing import Any, Dict, Literal, Optional, Union

from chalicelib.core.fields import PageSlug, SettingsObject, SiteSlug, StrictModel, TemplateName
from chalicelib.store import ConfigVersion, Reads, RenderConfig, Snapshot, version_of
from chalicelib.store.configs import ConfigStore
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.registry import (
    Change,
    OperationFailed,
    OperationKind,
    applied_by,
    refuse_if_superseded,
    register,
)
from chalicelib.writes.schemas import settings_problems


class ConfigContentData(StrictModel):
    layout: TemplateName
    theme: TemplateName
    settings: SettingsObject = {}


class ConfigCreateData(ConfigContentData):
    id: str
    site: SiteSlug
    page: PageSlug


class ConfigUpdateData(ConfigContentData):
    id: str
    # The config's site, as the API read it: the worker reads the layout's schema in the
    # same read as the config. (Absent from messages queued before schemas existed.)
    site: Optional[SiteSlug] = None


class ConfigDeleteData(StrictModel):
    id: str


class ConfigCreate(OperationEnvelope):
    operation: Literal["config.create"] = "config.create"
    data: ConfigCreateData


class ConfigUpdate(OperationEnvelope):
    operation: Literal["config.update"] = "config.update"
    data: ConfigUpdateData


class ConfigDelete(OperationEnvelope):
    operation: Literal["config.delete"] = "config.delete"
    data: ConfigDeleteData


ConfigEnvelope = Union[ConfigCreate, ConfigUpdate, ConfigDelete]


class _ConfigKind:
    """What every config operation shares: the config is the resource and the group."""

    def resource(self, envelope: ConfigEnvelope) -> str:
        return envelope.data.id

    def group(self, envelope: ConfigEnvelope) -> str:
        return f"config:{envelope.data.id}"

    def reads(self, envelope: ConfigEnvelope) -> Reads:
        return Reads(config_id=envelope.data.id)


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
        version = version_of(config, change.operation_id, change.actor)
        ConfigStore.add_create(change.transaction, config, version, applied_by(envelope))
        return 1


class UpdateConfig(_ConfigKind, OperationKind[ConfigUpdate]):
    name = "config.update"
    envelope = ConfigUpdate

    def reads(self, envelope: ConfigEnvelope) -> Reads:
        assert isinstance(envelope, ConfigUpdate)
        data = envelope.data
        if data.site is None:
            return Reads(config_id=data.id)  # queued before schemas: no schema to read
        return Reads(config_id=data.id, site=data.site, schema=(data.site, data.layout))

    def apply(self, envelope: ConfigUpdate, snapshot: Snapshot, change: Change) -> int:
        current = expected_config(envelope, snapshot)
        if envelope.data.site is not None:
            check_schema(snapshot, envelope.data.layout, envelope.data.settings)
        content = envelope.data.model_dump(exclude={"id", "site"})
        updated = current.model_copy(update={**content, "version": current.version + 1, "updatedAt": change.stamp})
        version = version_of(updated, change.operation_id, change.actor)
        ConfigStore.add_replace(change.transaction, updated, version, applied_by(envelope))
        return updated.version


class DeleteConfig(_ConfigKind, OperationKind[ConfigDelete]):
    name = "config.delete"
    envelope = ConfigDelete

    def apply(self, envelope: ConfigDelete, snapshot: Snapshot, change: Change) -> int:
        current = expected_config(envelope, snapshot)
        tombstone = ConfigVersion(
            version=current.version + 1,
            updatedAt=change.stamp,
            deleted=True,
            operationId=change.operation_id,
            actor=change.actor,
        )
        ConfigStore.add_delete(change.transaction, current, tombstone)
        return tombstone.version


def check_schema(snapshot: Snapshot, layout: str, settings: Dict[str, Any]) -> None:
    """The schema may have changed since the API accepted the write: check again."""
    problems = settings_problems(snapshot.site, layout, snapshot.schema, settings)
    if problems:
        message = f"the settings do not fit the schema of layout '{layout}' as it is now"
        raise OperationFailed("SchemaViolation", message, problems)


def expected_config(envelope: Union[ConfigUpdate, ConfigDelete], snapshot: Snapshot) -> RenderConfig:
    """The config as it is, when no write accepted after this one was applied to it first,
    and it is the version the client's If-Match named."""
    config = snapshot.config
    if config is None:
        raise OperationFailed("NotFound", f"config '{envelope.data.id}' does not exist (deleted meanwhile?)")
    refuse_if_superseded(envelope, snapshot.config_applied, f"config '{config.id}'")
    expected = envelope.meta.expectedVersion
    if expected is not None and config.version != expected:
        raise OperationFailed(
            "PreconditionFailed",
            f"If-Match named version {expected}, but version {config.version} was applied first",
        )
    return config


register(CreateConfig())
register(UpdateConfig())
register(DeleteConfig())
