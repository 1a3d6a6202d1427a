"""Request and response bodies of the HTTP contract that are not stored items as they are
(those are `chalicelib.store.models`)."""

from __future__ import annotations

from typing import List, Literal, Optional

from chalicelib.core.fields import (
    DEFAULT_CACHE_MAX_AGE,
    AllowedOrigins,
    CacheMaxAge,
    Model,
    PageSlug,
    SettingsObject,
    SiteName,
    SiteSlug,
    StrictModel,
    TemplateName,
)
from chalicelib.store.models import ConfigVersion, RenderConfig, Site


class SiteInput(StrictModel):
    name: SiteName
    allowedOrigins: AllowedOrigins = []
    cacheMaxAge: CacheMaxAge = DEFAULT_CACHE_MAX_AGE


class ConfigContent(StrictModel):
    layout: TemplateName
    theme: TemplateName
    settings: SettingsObject = {}


class ConfigCreateInput(ConfigContent):
    site: SiteSlug
    page: PageSlug


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
