"""Entity tags of config versions, and how conditional headers are matched against them."""

from __future__ import annotations

import hashlib
from typing import Iterable, Tuple


def etag(config_id: str, version: int) -> str:
    """The entity tag of a config version. The id is part of it: a page whose config was
    deleted and created again starts at version 1, and must not match old caches."""
    return f'"{config_id}.{version}"'


def pages_etag(served: Iterable[Tuple[str, str]]) -> str:
    """The entity tag of a set of pages (the manifest's, and the bundle's: they name the
    same versions), from each (page, entity tag of the version it serves): a page
    published, unpublished, added or deleted changes it."""
    digest = hashlib.sha256("".join(f"{page}\n{tag}\n" for page, tag in served).encode("utf-8"))
    return f'"{digest.hexdigest()[:32]}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",")]


def schema_etag(site: str, layout: str, version: int, created_at: str) -> str:
    """The entity tag of a layout's schema version, `"<site>/<layout>@<created>.<version>"`:
    a schema deleted and set again starts at version 1, and must not match old tags."""
    created = "".join(character for character in created_at if character.isdigit())
    return etag(f"{site}/{layout}@{created}", version)


def if_match_holds(header: str, current: str) -> bool:
    """If-Match: `*` or a list of tags, compared strongly (RFC 9110, 13.1.1): a weak tag
    (`W/"..."`) never matches, since it does not promise the same bytes."""
    tags = _tags(header)
    return "*" in tags or current in tags


def if_none_match_holds(header: str, current: str) -> bool:
    """If-None-Match: `*` or a list of tags, compared weakly (RFC 9110, 13.1.2): `W/"x"`
    matches `"x"`. True when the client's copy is current (a 304)."""
    tags = _tags(header)
    return "*" in tags or any(tag.removeprefix("W/") == current for tag in tags)
