"""Request and response bodies of the HTTP contract that are not stored items as they are
(those are `chalicelib.store.models`)."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

from pydantic.config import ConfigDict
from pydantic.fields import Field

from chalicelib.core.fields import (
    DEFAULT_CACHE_MAX_AGE,
    MAX_SCHEMA_DESCRIPTION,
    AllowedOrigins,
    CacheMaxAge,
    Model,
    PageSlug,
    PublishMode,
    RequiredApprovals,
    SettingsObject,
    SiteName,
    SiteSlug,
    StrictBool,
    StrictModel,
    TemplateName,
)
from chalicelib.store.models import AuditEntry, ConfigVersion, LayoutSchema, RenderConfig, Site


class SiteInput(StrictModel):
    name: SiteName
    allowedOrigins: AllowedOrigins = []
    cacheMaxAge: CacheMaxAge = DEFAULT_CACHE_MAX_AGE
    requireSchemas: StrictBool = False
    publishMode: PublishMode = "direct"
    requiredApprovals: RequiredApprovals = 0


class ConfigContent(StrictModel):
    layout: TemplateName
    theme: TemplateName
    settings: SettingsObject = {}


class ConfigCreateInput(ConfigContent):
    site: SiteSlug
    page: PageSlug


class SchemaInput(StrictModel):
    """A layout's settings schema: JSON Schema 2020-12, at most 64 KiB, no remote `$ref`."""

    schema_: Dict[str, Any] = Field(alias="schema")
    description: Optional[str] = Field(default=None, max_length=MAX_SCHEMA_DESCRIPTION)

    model_config = ConfigDict(extra="forbid", defer_build=True, serialize_by_alias=True)


class SchemaPage(Model):
    """One page of a site's layout schemas, by layout; `nextCursor` as in other listings."""

    items: List[LayoutSchema]
    nextCursor: Optional[str]


class Health(Model):
    status: Literal["ok"]
    service: str
    stage: str


class SitePage(Model):
    """One page of sites; `nextCursor` is opaque and null on the last page."""

    items: List[Site]
    nextCursor: Optional[str]


class ConfigPage(Model):
    """One page of configs; `nextCursor` is opaque and null on the last page."""

    items: List[RenderConfig]
    nextCursor: Optional[str]


class VersionPage(Model):
    """One page of a config's versions, newest first; `nextCursor` as in other listings."""

    items: List[ConfigVersion]
    nextCursor: Optional[str]


class PublishInput(StrictModel):
    """Which version of the config its page is to serve."""

    version: int = Field(ge=1, le=9_999_999_999, strict=True)


class AuditPage(Model):
    """One page of audit entries, newest first; `nextCursor` as in other listings."""

    items: List[AuditEntry]
    nextCursor: Optional[str]
