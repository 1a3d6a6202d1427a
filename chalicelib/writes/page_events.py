"""The change events of what a site serves: one per page whose served version changes,
and one per site, schema or release change. Each goes to the outbox with its change."""

from __future__ import annotations

from typing import Optional

from chalicelib.core import etag
from chalicelib.store import ConfigState, Publication, RenderConfig
from chalicelib.writes.registry import Change


def page_changed(
    change: Change,
    config: RenderConfig,
    before: Optional[ConfigState],
    after: Optional[Publication],
    *,
    deleted: bool = False,
    release_id: Optional[str] = None,
) -> None:
    """`config`'s page served `before.publication` (nothing, for a new page) and now
    serves `after` (nothing: unpublished; `deleted`: the page is gone). No event when
    what it serves stays the same (a draft written on a site that publishes by review)."""
    served = before.publication if before is not None else None
    served_version = served.version if served is not None else None
    after_version = after.version if after is not None else None
    if deleted:
        if served is None:
            return  # the page served nothing: the site did not change
    elif served_version == after_version:
        return
    if deleted:
        event_type = "page.deleted"
    elif after is None:
        event_type = "page.unpublished"
    else:
        event_type = "page.published"
    change.emit(
        event_type,
        config.site,
        page=config.page,
        configId=config.id,
        version=after.version if after is not None else None,
        etag=etag(config.id, after.version) if after is not None else None,
        # The page item's revision once this change is written: it orders the page's events.
        sequence=(before.revision or 0) + 1 if before is not None else 1,
        releaseId=release_id,
    )
