"""`schema.put` and `schema.delete`: the settings schema of one layout of a site."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, List, Literal, Optional, Union

from pydantic.fields import Field

from chalicelib.core import (
    MAX_PAGE_SIZE,
    MAX_SCHEMA_DESCRIPTION,
    ImpactedConfig,
    ImpactReport,
    SiteSlug,
    StrictModel,
    TemplateName,
)
from chalicelib.schemas import settings_errors
from chalicelib.store import ConfigStore, LayoutSchema, Reads, SchemaStore, Snapshot
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.registry import (
    Change,
    OperationFailed,
    OperationKind,
    applied_by,
    refuse_if_superseded,
    register,
)


class SchemaPutData(StrictModel):
    site: SiteSlug
    layout: TemplateName
    schema_: Dict[str, Any] = Field(alias="schema")
    description: Optional[str] = Field(default=None, max_length=MAX_SCHEMA_DESCRIPTION)

    model_config = {**StrictModel.model_config, "populate_by_name": True, "serialize_by_alias": True}


class SchemaDeleteData(StrictModel):
    site: SiteSlug
    layout: TemplateName


class SchemaPut(OperationEnvelope):
    operation: Literal["schema.put"] = "schema.put"
    data: SchemaPutData


class SchemaDelete(OperationEnvelope):
    operation: Literal["schema.delete"] = "schema.delete"
    data: SchemaDeleteData


SchemaEnvelope = Union[SchemaPut, SchemaDelete]


def schema_resource(site: str, layout: str, prefix: str = "") -> str:
    """The id of a layout's schema in operations: `<site>/<layout>` (after `prefix`:
    `schema/` in audit entries)."""
    return f"{prefix}{site}/{layout}"


class _SchemaKind:
    """What both schema operations share: the schema is the resource and the group."""

    def resource(self, envelope: SchemaEnvelope) -> str:
        return schema_resource(envelope.data.site, envelope.data.layout)

    def group(self, envelope: SchemaEnvelope) -> str:
        # SQS takes at most 128 characters; a site and a layout may have 163 together.
        resource = schema_resource(envelope.data.site, envelope.data.layout)
        return "schema:" + hashlib.sha256(resource.encode("utf-8")).hexdigest()

    def reads(self, envelope: SchemaEnvelope) -> Reads:
        return Reads(site=envelope.data.site, schema=(envelope.data.site, envelope.data.layout))


def _expected(envelope: SchemaEnvelope, snapshot: Snapshot) -> Optional[LayoutSchema]:
    """The schema as it is, when no write accepted after this one was applied to it first,
    and it is the version the client's If-Match named."""
    current = snapshot.schema
    resource = f"the schema of layout '{envelope.data.layout}'"
    refuse_if_superseded(envelope, snapshot.schema_applied if current else None, resource)
    expected, created = envelope.meta.expectedVersion, envelope.meta.expectedCreatedAt
    if expected is not None and (current is None or current.version != expected):
        found = f"version {current.version}" if current else "no schema"
        raise OperationFailed("PreconditionFailed", f"If-Match named version {expected}, but {found} is current")
    if created is not None and current is not None and current.createdAt != created:
        raise OperationFailed(
            "PreconditionFailed",
            f"If-Match named version {expected} of the schema created at {created}, but that schema "
            f"was deleted and set again (at {current.createdAt}) meanwhile",
        )
    return current


class PutSchema(_SchemaKind, OperationKind[SchemaPut]):
    name = "schema.put"
    envelope = SchemaPut

    def apply(self, envelope: SchemaPut, snapshot: Snapshot, change: Change) -> int:
        data = envelope.data
        if snapshot.site is None:
            raise OperationFailed("UnknownSite", f"site '{data.site}' does not exist")
        previous = _expected(envelope, snapshot)
        schema = LayoutSchema(
            site=data.site,
            layout=data.layout,
            schema=data.schema_,
            description=data.description,
            **change.next_version(previous),
        )
        SchemaStore.add_put(change.transaction, schema, previous.version if previous else None, applied_by(envelope))
        change.audit_versions(
            schema_resource(data.site, data.layout, "schema/"), previous, schema, _content, site=data.site
        )
        change.emit("schema.changed", data.site, layout=data.layout, version=schema.version)
        return schema.version


class DeleteSchema(_SchemaKind, OperationKind[SchemaDelete]):
    name = "schema.delete"
    envelope = SchemaDelete

    def apply(self, envelope: SchemaDelete, snapshot: Snapshot, change: Change) -> int:
        current = _expected(envelope, snapshot)
        if current is None:
            raise OperationFailed("NotFound", f"layout '{envelope.data.layout}' has no schema (deleted meanwhile?)")
        SchemaStore.add_delete(change.transaction, current)
        data = envelope.data
        resource = schema_resource(data.site, data.layout, "schema/")
        change.audit_versions(resource, current, None, _content, site=data.site, to_version=current.version + 1)
        change.emit("schema.deleted", data.site, layout=data.layout, version=current.version + 1)
        return current.version + 1


def _content(schema: LayoutSchema) -> Dict[str, Any]:
    return schema.model_dump(mode="json", include={"schema_", "description"}, exclude_none=True)


def impact(configs: ConfigStore, site: str, layout: str, schema: Dict[str, Any]) -> ImpactReport:
    """Every config of the site that `schema` would reject: the version its page serves
    and its draft (when one is ahead), each with `layout`, with their errors."""
    # Not stored yet, it has no version: its text names it (compiled once for the report).
    candidate = ("candidate", json.dumps(schema, separators=(",", ":"), ensure_ascii=False))
    rejected: List[ImpactedConfig] = []
    checked = 0
    cursor: Optional[str] = None
    while True:
        listing = configs.states(site, None, MAX_PAGE_SIZE, cursor)
        for state in listing.items:
            published = state.published()
            versions = [(published, True)] if published else []
            if state.draft_ahead:
                versions.append((state.draft, False))
            for config, live in versions:
                if config.layout != layout:
                    continue
                checked += 1
                errors = settings_errors(schema, config.settings, candidate)
                if errors:
                    rejected.append(
                        ImpactedConfig(
                            id=config.id, page=config.page, version=config.version, published=live, errors=errors
                        )
                    )
        cursor = listing.next_cursor
        if cursor is None:
            return ImpactReport(site=site, layout=layout, valid=not rejected, checked=checked, rejected=rejected)


register(PutSchema())
register(DeleteSchema())
