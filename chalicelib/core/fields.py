"""The service's validated vocabulary: limits, slugs, names, origins and settings, as
pydantic field types that request bodies, queue envelopes and stored items share."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Dict, Iterable, List
from urllib.parse import urlsplit

from pydantic.config import ConfigDict
from pydantic.fields import Field
from pydantic.functional_validators import AfterValidator
from pydantic.main import BaseModel

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


def is_site_slug(text: str) -> bool:
    # fullmatch: with re.match, `$` also matches before a trailing newline ("shop\n").
    return re.fullmatch(SITE_PATTERN, text) is not None


def is_page_slug(text: str) -> bool:
    return re.fullmatch(PAGE_PATTERN, text) is not None


def json_depth(value: Any) -> int:
    """How many containers deep a parsed JSON value nests (`{}` is 1), without recursion:
    a client's value may be nested as deep as its text allows."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def settings_size(settings: Dict[str, Any]) -> int:
    return len(json.dumps(settings, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


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
SiteName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_display_name)]
AllowedOrigins = Annotated[List[Origin], Field(max_length=MAX_ALLOWED_ORIGINS)]
CacheMaxAge = Annotated[int, Field(ge=0, le=MAX_CACHE_MAX_AGE, strict=True)]


class Model(BaseModel):
    """The base of every model: its validator is built on first use, not at import, so a
    cold start pays only for the models its first request needs."""

    model_config = ConfigDict(defer_build=True)


class StrictModel(Model):
    """What a client sends: unknown fields are errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
