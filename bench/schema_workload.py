"""What `bench.schema_libraries` validates: a settings schema in JSON Schema 2020-12 of the
kind a page layout has, a valid document of about 100 KB, and a bad one. Standard library
only: it is imported in the same interpreter as the library measured."""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, List

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TARGET_BYTES = 100 * 1024
DEPTH = 15  # of the navigation tree
# Every card of the bad document has a bad tone: at most this many, so each library can
# report all of them.
BAD_CARDS = 50

DEFS: Dict[str, Any] = {
    # Recursive: a navigation tree.
    "node": {
        "type": "object",
        "properties": {
            "id": {"$ref": "#/$defs/slug"},
            "label": {"type": "string", "minLength": 1, "maxLength": 80},
            "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 20},
        },
        "required": ["id", "label"],
        "additionalProperties": False,
    },
    "slug": {"type": "string", "pattern": "^[a-z0-9]+(?:-[a-z0-9]+)*$", "maxLength": 60},
    "colour": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
    "link": {
        "type": "object",
        "properties": {"href": {"type": "string", "format": "uri"}, "text": {"type": "string", "maxLength": 120}},
        "required": ["href", "text"],
        "additionalProperties": False,
    },
    "image": {
        "type": "object",
        "properties": {
            "src": {"type": "string", "format": "uri"},
            "alt": {"type": "string", "maxLength": 300},
            "width": {"type": "integer", "minimum": 1, "maximum": 10000},
            "height": {"type": "integer", "minimum": 1, "maximum": 10000},
        },
        "required": ["src", "alt"],
    },
    "card": {
        "type": "object",
        "properties": {
            "id": {"$ref": "#/$defs/slug"},
            "title": {"type": "string", "minLength": 1, "maxLength": 120},
            "body": {"type": "string", "maxLength": 4000},
            "tone": {"enum": ["neutral", "info", "success", "warning", "danger"]},
            "image": {"$ref": "#/$defs/image"},
            "link": {"$ref": "#/$defs/link"},
            "tags": {"type": "array", "items": {"$ref": "#/$defs/slug"}, "uniqueItems": True, "maxItems": 10},
            "published": {"type": "string", "format": "date"},
        },
        "required": ["id", "title", "tone"],
        "additionalProperties": False,
    },
    # 2020-12's tuple: `items: false` forbids what follows the prefix. Draft 7 reads
    # `items: false` as "no items at all".
    "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": False},
    "contact": {
        "type": "object",
        "properties": {"email": {"type": "string", "format": "email"}, "name": {"type": "string", "maxLength": 100}},
        "required": ["email"],
    },
}


def _properties() -> Dict[str, Any]:
    """40 top-level properties: the layout's own settings."""
    found: Dict[str, Any] = {
        "title": {"type": "string", "minLength": 1, "maxLength": 120},
        "subtitle": {"type": "string", "maxLength": 300},
        "theme": {"enum": ["light", "dark", "contrast"]},
        "columns": {"type": "integer", "minimum": 1, "maximum": 6},
        "accent": {"$ref": "#/$defs/colour"},
        "background": {"$ref": "#/$defs/colour"},
        "hero": {"$ref": "#/$defs/image"},
        "cta": {"$ref": "#/$defs/link"},
        "navigation": {"$ref": "#/$defs/node"},
        "cards": {"type": "array", "items": {"$ref": "#/$defs/card"}, "maxItems": 1000},
        "location": {"$ref": "#/$defs/point"},
        "contact": {"$ref": "#/$defs/contact"},
        "launch": {"type": "string", "format": "date-time"},
        "slug": {"$ref": "#/$defs/slug"},
    }
    for number in range(40 - len(found)):
        kinds: List[Dict[str, Any]] = [
            {"type": "boolean"},
            {"type": "integer", "minimum": 0, "maximum": 1000},
            {"type": "string", "maxLength": 200},
            {"type": "number", "exclusiveMinimum": 0},
        ]
        found[f"option{number:02}"] = kinds[number % len(kinds)]
    return found


SCHEMA: Dict[str, Any] = {
    "$schema": DIALECT,
    "type": "object",
    "$defs": DEFS,
    "properties": _properties(),
    "required": ["title", "theme", "cards"],
    "additionalProperties": False,
}

# Not a schema: every library that checks schemas refuses it.
BAD_SCHEMA: Dict[str, Any] = {"$schema": DIALECT, "type": "strng"}

PATTERN_SCHEMA: Dict[str, Any] = {"$schema": DIALECT, "type": "string", "pattern": "^(a+)+$"}


def _navigation(depth: int) -> Dict[str, Any]:
    node: Dict[str, Any] = {"id": f"level-{depth}", "label": f"Level {depth}"}
    if depth < DEPTH:
        node["children"] = [_navigation(depth + 1), {"id": f"leaf-{depth}", "label": "Leaf"}]
    return node


def _card(number: int) -> Dict[str, Any]:
    return {
        "id": f"card-{number}",
        "title": f"Card number {number}",
        "body": "A paragraph of body text that an editor wrote for this card. " * 4,
        "tone": ["neutral", "info", "success", "warning", "danger"][number % 5],
        "image": {"src": f"https://cdn.example/images/{number}.webp", "alt": "A picture", "width": 640, "height": 480},
        "link": {"href": f"https://shop.example/products/{number}", "text": "Read more"},
        "tags": ["new", f"range-{number % 7}", "sale"],
        "published": "2026-11-30",
    }


def document() -> Dict[str, Any]:
    """Valid against SCHEMA, about TARGET_BYTES as JSON, nested DEPTH levels deep."""
    found: Dict[str, Any] = {
        "title": "Winter sale",
        "subtitle": "Everything must go",
        "theme": "dark",
        "columns": 4,
        "accent": "#ff6600",
        "background": "#101010",
        "hero": {"src": "https://cdn.example/hero.webp", "alt": "Snow", "width": 1920, "height": 800},
        "cta": {"href": "https://shop.example/sale", "text": "Shop now"},
        "navigation": _navigation(1),
        "location": [52.52, 13.405],
        "contact": {"email": "shop@example.com", "name": "The shop"},
        "launch": "2026-12-01T09:00:00Z",
        "slug": "winter-sale",
        "cards": [],
    }
    for number in range(40 - 14):
        found[f"option{number:02}"] = [True, 7, "text", 1.5][number % 4]
    while size(found) < TARGET_BYTES:
        found["cards"].append(_card(len(found["cards"])))
    return found


def bad_document() -> Dict[str, Any]:
    """The valid document with BAD_CARDS cards of a tone the schema does not know."""
    found = copy.deepcopy(document())
    for card in found["cards"][:BAD_CARDS]:
        card["tone"] = "loud"
    return found


def size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))
