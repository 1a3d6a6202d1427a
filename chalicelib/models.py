"""Domain models: what clients send, what the table stores, what goes on the queue."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Dict, List, Literal, Optional, Union
from urllib.parse import urlsplit

from pydantic.config import ConfigDict
from pydantic.fields import Field
from pydantic.functional_validators import AfterValidator
from pydantic.main import BaseModel
from pydantic.type_adapter import TypeAdapter

# Limits a client can rely on (the README lists them).
MAX_BODY_BYTES = 256 * 1024
MAX_SETTINGS_BYTES = 100 * 1024
MAX_SETTINGS_DEPTH = 16
MAX_ALLOWED_ORIGINS = 50
MAX_CACHE_MAX_AGE = 31_536_000
DEFAULT_CACHE_MAX_AGE = 60
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

SITE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
PAGE_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"
# Constraints are given with Field, not StringConstraints: the same checks, without
# importing pydantic.types at cold start.
SiteSlug = Annotated[str, Field(pattern=SITE_PATTERN)]
PageSlug = Annotated[str, Field(pattern=PAGE_PATTERN)]
# Layout and theme name a template in the site's code: short, printable, no spaces.
TemplateName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")]


def utc_now() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_site_slug(text: str) -> bool:
    return re.match(SITE_PATTERN, text) is not None


def is_page_slug(text: str) -> bool:
    return re.match(PAGE_PATTERN, text) is not None


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def settings_size(settings: Dict[str, Any]) -> int:
    return len(json.dumps(settings, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _bounded_settings(settings: Dict[str, Any]) -> Dict[str, Any]:
    # Size is checked by the HTTP layer first (413); this keeps queue and table safe too.
    if settings_size(settings) > MAX_SETTINGS_BYTES:
        raise ValueError(f"settings must be at most {MAX_SETTINGS_BYTES} bytes as JSON")
    if _depth(settings) > MAX_SETTINGS_DEPTH:
        raise ValueError(f"settings must be nested at most {MAX_SETTINGS_DEPTH} levels deep")
    return settings


Settings = Annotated[Dict[str, Any], AfterValidator(_bounded_settings)]


def _origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an origin is scheme://host[:port], with http or https")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("an origin has no path, query, fragment or credentials")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("the origin's port is not a number from 0 to 65535") from exc
    return value


def _display_name(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("the name must not be empty")
    return stripped


Origin = Annotated[str, Field(max_length=300), AfterValidator(_origin)]


class Model(BaseModel):
    """The base of every model: its validator is built on first use, not at import, so a
    cold start pays only for the models its first request needs."""

    model_config = ConfigDict(defer_build=True)


class _Input(Model):
    """A request body: unknown fields are errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class SiteInput(_Input):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_display_name)]
    allowedOrigins: Annotated[List[Origin], Field(max_length=MAX_ALLOWED_ORIGINS)] = []
    cacheMaxAge: Annotated[int, Field(ge=0, le=MAX_CACHE_MAX_AGE, strict=True)] = DEFAULT_CACHE_MAX_AGE


class ConfigContent(_Input):
    layout: TemplateName
    theme: TemplateName
    settings: Settings = {}


class ConfigCreateInput(ConfigContent):
    site: SiteSlug
    page: PageSlug


class Health(Model):
    status: Literal["ok"]
    service: str
    stage: str


class Site(Model):
    site: str
    name: str
    allowedOrigins: List[str]
    cacheMaxAge: int
    version: int
    createdAt: str
    updatedAt: str


class RenderConfig(Model):
    id: str
    site: str
    page: str
    layout: str
    theme: str
    settings: Dict[str, Any]
    version: int
    createdAt: str
    updatedAt: str


class PageRender(Model):
    """What a frontend needs to render a page: no ids of tokens, no internal keys."""

    site: str
    page: str
    layout: str
    theme: str
    settings: Dict[str, Any]
    version: int
    updatedAt: str


class ConfigVersion(Model):
    version: int
    updatedAt: str
    deleted: bool = False
    layout: Optional[str] = None
    theme: Optional[str] = None
    settings: Optional[Dict[str, Any]] = None
    operationId: str
    actor: str


OperationStatus = Literal["pending", "succeeded", "failed"]
OperationType = Literal["site.put", "config.create", "config.update", "config.delete"]


class OperationError(Model):
    code: str
    message: str


class Operation(Model):
    operationId: str
    status: OperationStatus
    type: Optional[OperationType] = None
    resourceId: Optional[str] = None
    version: Optional[int] = None
    error: Optional[OperationError] = None
    submittedAt: Optional[str] = None
    completedAt: Optional[str] = None


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


class Accepted(Model):
    operationId: str
    status: OperationStatus
    id: Optional[str] = None


# --- the operation envelope, the only thing producers put on the queue ---------------


class OperationMeta(Model):
    operationId: str
    requestId: str
    submittedAt: str
    actor: str
    expectedVersion: Optional[int] = None
    # sha256 of (actor, Idempotency-Key) and of the request, when the client sent a key.
    idempotencyKey: Optional[str] = None
    fingerprint: Optional[str] = None


class SitePutData(SiteInput):
    site: SiteSlug


class ConfigCreateData(ConfigCreateInput):
    id: str


class ConfigUpdateData(ConfigContent):
    id: str


class ConfigDeleteData(_Input):
    id: str


class _Envelope(Model):
    v: Literal[1] = 1
    meta: OperationMeta


class SitePut(_Envelope):
    operation: Literal["site.put"] = "site.put"
    data: SitePutData


class ConfigCreate(_Envelope):
    operation: Literal["config.create"] = "config.create"
    data: ConfigCreateData


class ConfigUpdate(_Envelope):
    operation: Literal["config.update"] = "config.update"
    data: ConfigUpdateData


class ConfigDelete(_Envelope):
    operation: Literal["config.delete"] = "config.delete"
    data: ConfigDeleteData


Envelope = Annotated[Union[SitePut, ConfigCreate, ConfigUpdate, ConfigDelete], Field(discriminator="operation")]
ENVELOPE: TypeAdapter[Envelope] = TypeAdapter(Envelope, config=ConfigDict(defer_build=True))


def resource_id(envelope: Envelope) -> str:
    """The resource an operation changes: also its FIFO message group, so a resource's
    operations are applied one at a time in the order the API accepted them."""
    if isinstance(envelope, SitePut):
        return envelope.data.site
    return envelope.data.id


def etag(config_id: str, version: int) -> str:
    """The entity tag of a config version. The id is part of it: a page whose config was
    deleted and created again starts at version 1, and must not match old caches."""
    return f'"{config_id}.{version}"'


def etag_matches(header: str, current: str) -> bool:
    """If-Match / If-None-Match: a list of tags or `*`; weak tags are compared weakly."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == current for tag in tags)
