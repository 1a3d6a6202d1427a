"""Entity tags of config versions, and how conditional headers are matched against them."""

from __future__ import annotations


def etag(config_id: str, version: int) -> str:
    """The entity tag of a config version. The id is part of it: a page whose config was
    deleted and created again starts at version 1, and must not match old caches."""
    return f'"{config_id}.{version}"'


def etag_matches(header: str, current: str) -> bool:
    """If-Match / If-None-Match: a list of tags or `*`; weak tags are compared weakly."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == current for tag in tags)
