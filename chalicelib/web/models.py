"""Request and response bodies of the HTTP contract that are not stored items as they are
(those are `chalicelib.store.models`), and the index of every model a route names: the
routes name them, and `chalicelib.web.endpoint` finds them here when first needed."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

from pydantic.config import ConfigDict
from pydantic.fields import Field

from chalicelib.core import (
    MAX_PREVIEW_SECONDS,
    MAX_SCHEMA_DESCRIPTION,
    Accepted,
    Checked,
    ConfigContent,
    ImpactReport,
    Model,
    PageSlug,
    PreviewLinkAccepted,
    SiteFields,
    SiteSlug,
    StrictModel,
    Timestamp,
    WebhookAccepted,
    WebhookFields,
)
from chalicelib.delivery import SiteBundle, SiteManifest
from chalicelib.editorial import ConfigDiff, ReleaseView
from chalicelib.store import (
    AuditEntry,
    ConfigVersion,
    Delivery,
    LayoutSchema,
    Operation,
    PageRender,
    PreviewLink,
    Release,
    RenderConfig,
    Site,
    Webhook,
)
from chalicelib.upkeep import BackupReport, RedriveResult


class SiteInput(SiteFields):
    pass  # its own name in the OpenAPI document


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


class PreviewLinkInput(StrictModel):
    """Which version the link shows (absent: the latest, whenever it is opened), and for
    how many seconds it works (60 seconds to 7 days; one day by default)."""

    version: Optional[int] = Field(default=None, ge=1, le=9_999_999_999, strict=True)
    expiresIn: int = Field(default=86_400, ge=60, le=MAX_PREVIEW_SECONDS, strict=True)


class PreviewLinkList(Model):
    items: List[PreviewLink]


class ReleaseItemInput(StrictModel):
    configId: str = Field(pattern=r"^[a-z2-7]{26}$")
    version: int = Field(ge=1, le=9_999_999_999, strict=True)


class ReleaseInput(StrictModel):
    """Up to 50 pages of one site, each a (config, version); `publishAt` (ISO 8601 with a
    time zone, in the future) schedules the publication once the release is approved."""

    title: str = Field(min_length=1, max_length=200)
    items: List[ReleaseItemInput] = Field(min_length=1, max_length=50)
    publishAt: Optional[Timestamp] = Field(default=None, max_length=40)


class ReleasePage(Model):
    """One page of a site's releases, newest first; `nextCursor` as in other listings."""

    items: List[Release]
    nextCursor: Optional[str]


class WebhookInput(WebhookFields):
    """Where to post the site's change events, and which (all of them when `events` is absent)."""


class WebhookPage(Model):
    """One page of a site's webhooks, by name; `nextCursor` as in other listings."""

    items: List[Webhook]
    nextCursor: Optional[str]


class DeliveryPage(Model):
    """One page of a webhook's delivery attempts, newest first; `nextCursor` as in other listings."""

    items: List[Delivery]
    nextCursor: Optional[str]


class TrialQueued(Model):
    """A test event on its way to the webhook: its attempts show in the webhook's deliveries."""

    eventId: str
    type: str
    status: Literal["queued"] = "queued"


# Every model a route names: those above, and those defined with what they describe.
__all__ = [
    "Accepted",
    "AuditPage",
    "BackupReport",
    "Checked",
    "ConfigContent",
    "ConfigCreateInput",
    "ConfigDiff",
    "ConfigPage",
    "DeliveryPage",
    "Health",
    "ImpactReport",
    "LayoutSchema",
    "Operation",
    "PageRender",
    "PreviewLinkAccepted",
    "PreviewLinkInput",
    "PreviewLinkList",
    "PublishInput",
    "RedriveResult",
    "ReleaseInput",
    "ReleaseItemInput",
    "ReleasePage",
    "ReleaseView",
    "RenderConfig",
    "SchemaInput",
    "SchemaPage",
    "Site",
    "SiteBundle",
    "SiteInput",
    "SiteManifest",
    "SitePage",
    "TrialQueued",
    "VersionPage",
    "Webhook",
    "WebhookAccepted",
    "WebhookInput",
    "WebhookPage",
]
