"""The service's validated vocabulary: slugs, names, origins and settings, as pydantic
field types that request bodies, queue envelopes and stored items share (the limits and
patterns they check are `chalicelib.core.limits`)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Dict, List, Literal, Tuple, get_args
from urllib.parse import urlsplit

from pydantic.config import ConfigDict
from pydantic.fields import Field
from pydantic.functional_validators import AfterValidator
from pydantic.main import BaseModel

from chalicelib.core.limits import (
    DEFAULT_CACHE_MAX_AGE,
    MAX_ALLOWED_ORIGINS,
    MAX_CACHE_MAX_AGE,
    MAX_REQUIRED_APPROVALS,
    MAX_SETTINGS_BYTES,
    MAX_SETTINGS_DEPTH,
    PAGE_PATTERN,
    SITE_PATTERN,
    TEMPLATE_PATTERN,
    WEBHOOK_NAME_PATTERN,
    json_depth,
    settings_size,
)

# Constraints are given with Field, not StringConstraints: the same checks, without
# importing pydantic.types at cold start.
SiteSlug = Annotated[str, Field(pattern=SITE_PATTERN)]
PageSlug = Annotated[str, Field(pattern=PAGE_PATTERN)]
TemplateName = Annotated[str, Field(pattern=TEMPLATE_PATTERN)]
WebhookName = Annotated[str, Field(pattern=WEBHOOK_NAME_PATTERN)]
# The change events a webhook can subscribe to (PRODUCT.md, "Change events").
EventType = Literal[
    "page.published",
    "page.unpublished",
    "page.deleted",
    "release.published",
    "release.reverted",
    "site.changed",
    "schema.changed",
    "schema.deleted",
]
EVENT_TYPES: Tuple[str, ...] = get_args(EventType)


def _bounded_settings(settings: Dict[str, Any]) -> Dict[str, Any]:
    # Size is checked by the HTTP layer first (413); this keeps queue and table safe too.
    # Depth first: json.dumps recurses once per level.
    if json_depth(settings) > MAX_SETTINGS_DEPTH:
        raise ValueError(f"settings must be nested at most {MAX_SETTINGS_DEPTH} levels deep")
    if settings_size(settings) > MAX_SETTINGS_BYTES:
        raise ValueError(f"settings must be at most {MAX_SETTINGS_BYTES} bytes as JSON")
    return settings


# The `settings` object of a render config (not the stage's settings: see core.settings).
SettingsObject = Annotated[Dict[str, Any], AfterValidator(_bounded_settings)]

DEFAULT_PORTS = {"http": 80, "https": 443}
# scheme://host[:port], the host a name or a bracketed IPv6 address; the port ASCII digits.
_NETLOC = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]*))?")
_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# Characters Python's IDNA 2003 codec maps otherwise than browsers' UTS #46 does.
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")


def _origin(value: str) -> str:
    """The origin as a browser serializes it in its `Origin` header (RFC 6454): lowercase
    scheme and host, the host's IDNA labels in punycode, no default port. Anything that
    could never equal such a header is refused, saying why."""
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("an origin has no space or control characters")
    if "*" in value:
        raise ValueError(
            "wildcards are not supported: list each origin exactly, as the browser sends it (scheme://host[:port])"
        )
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError("an origin is scheme://host[:port], with http or https") from exc
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        raise ValueError("an origin is scheme://host[:port], with http or https")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("an origin has no path, query, fragment or credentials")
    netloc = _NETLOC.fullmatch(parts.netloc)
    if netloc is None:
        raise ValueError("an origin is scheme://host[:port]; its host or port is not valid")
    port_text = netloc.group("port")
    port = int(port_text) if port_text and len(port_text) <= 5 else None
    if port_text and (port is None or port > 65535):
        raise ValueError("the origin's port is not a number from 0 to 65535")
    host = _host(netloc.group("host"))
    suffix = "" if port is None or port == DEFAULT_PORTS[parts.scheme] else f":{port}"
    return f"{parts.scheme}://{host}{suffix}"


def _host(host: str) -> str:
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError as exc:
            raise ValueError("the origin's host is not a valid IPv6 address") from exc
    if _IDNA_DEVIATIONS & set(host.lower()):
        raise ValueError("write this host with its xn-- labels: browsers encode ß, ς and joiners differently")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError("the origin's host is not a valid host name") from exc
    labels = ascii_host.split(".")
    if not all(_LABEL.fullmatch(label) and _punycode_round_trips(label) for label in labels):
        raise ValueError("the origin's host is not a valid host name")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # Browsers read such a host as an IPv4 address, and write it in dotted decimal.
        try:
            address = ipaddress.IPv4Address(ascii_host)
        except ValueError as exc:
            raise ValueError("the origin's host is not a valid IPv4 address") from exc
        if str(address) != ascii_host:
            raise ValueError(f"write this IPv4 address as {address}")
    return ascii_host


def _punycode_round_trips(label: str) -> bool:
    if not label.startswith("xn--"):
        return True
    try:
        return label.encode("ascii").decode("idna").encode("idna").decode("ascii") == label
    except UnicodeError:
        return False


def _unique(values: List[str]) -> List[str]:
    return list(dict.fromkeys(values))


def _display_name(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("the name must not be empty")
    return stripped


Origin = Annotated[
    str,
    Field(
        max_length=300,
        description="scheme://host[:port], http or https, no wildcards; stored as browsers send it in `Origin`: "
        "lowercase, IDNA hosts in punycode, no default port.",
    ),
    AfterValidator(_origin),
]
SiteName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_display_name)]
# Origins equal once serialized are kept once, in the order first given.
AllowedOrigins = Annotated[List[Origin], Field(max_length=MAX_ALLOWED_ORIGINS), AfterValidator(_unique)]
CacheMaxAge = Annotated[int, Field(ge=0, le=MAX_CACHE_MAX_AGE, strict=True)]
# true or false as JSON, never "yes" or 1.
StrictBool = Annotated[bool, Field(strict=True)]
# "direct": an applied config write is live at once (v1); "review": it is a draft, and the
# page changes only when a version is published.
PublishMode = Literal["direct", "review"]
RequiredApprovals = Annotated[int, Field(ge=0, le=MAX_REQUIRED_APPROVALS, strict=True)]
# A time as the service writes it (`clock.isoformat`: UTC, milliseconds, `Z`): RFC 3339,
# which the OpenAPI document says with `format: date-time`.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Model(BaseModel):
    """The base of every model: its validator is built on first use, not at import, so a
    cold start pays only for the models its first request needs."""

    model_config = ConfigDict(defer_build=True)


class StrictModel(Model):
    """What a client sends: unknown fields are errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


# The fields the HTTP edge and the queue envelopes share, declared once: the web's request
# bodies and the `site.put` and `config.*` operations' data extend them. (No docstrings:
# the OpenAPI document describes the request bodies that extend them.)


class SiteFields(StrictModel):
    name: SiteName
    allowedOrigins: AllowedOrigins = []
    cacheMaxAge: CacheMaxAge = DEFAULT_CACHE_MAX_AGE
    requireSchemas: StrictBool = False
    publishMode: PublishMode = "direct"
    requiredApprovals: RequiredApprovals = 0


# The events a webhook subscribes to; each once, in the order first given.
EventTypes = Annotated[List[EventType], Field(min_length=1, max_length=len(EVENT_TYPES)), AfterValidator(_unique)]
WebhookURL = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        description="https://host/path: a host that resolves to public addresses only (the local stage: "
        "http or https on 127.0.0.1, ::1 or localhost). Redirects are not followed.",
    ),
]


class WebhookFields(StrictModel):
    url: WebhookURL
    events: EventTypes = list(get_args(EventType))


class ConfigContent(StrictModel):
    layout: TemplateName
    theme: TemplateName
    settings: SettingsObject = {}
