"""The limits and slugs a client can rely on, as plain values and checks: no pydantic, so
that the routes can declare them and the public read path check them at cold start.
`chalicelib.core.fields` builds the validated field types from them."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable

# Limits a client can rely on (the README lists them).
MAX_BODY_BYTES = 256 * 1024
MAX_SETTINGS_BYTES = 100 * 1024
MAX_SETTINGS_DEPTH = 16
MAX_ALLOWED_ORIGINS = 50
MAX_CACHE_MAX_AGE = 31_536_000
DEFAULT_CACHE_MAX_AGE = 60
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_SCHEMA_DESCRIPTION = 1000
MAX_REQUIRED_APPROVALS = 3
MAX_PREVIEW_SECONDS = 7 * 24 * 3600

SITE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
PAGE_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"
# Layout and theme name a template in the site's code: short, printable, no spaces.
TEMPLATE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$"
# A webhook's name, unique within its site: a slug, as a site's is.
WEBHOOK_NAME_PATTERN = SITE_PATTERN
MAX_WEBHOOKS_PER_SITE = 10
# What POST /sites/{site}/webhooks/{name}/test sends: to that webhook only, whatever it subscribes to.
TEST_EVENT_TYPE = "webhook.test"


def is_site_slug(text: str) -> bool:
    # fullmatch: with re.match, `$` also matches before a trailing newline ("shop\n").
    return re.fullmatch(SITE_PATTERN, text) is not None


def is_webhook_name(text: str) -> bool:
    return re.fullmatch(WEBHOOK_NAME_PATTERN, text) is not None


def is_page_slug(text: str) -> bool:
    return re.fullmatch(PAGE_PATTERN, text) is not None


def is_template_name(text: str) -> bool:
    return re.fullmatch(TEMPLATE_PATTERN, text) is not None


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
