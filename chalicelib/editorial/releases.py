"""`GET /sites/{site}/releases/{release}`: a release with, for each of its pages, what
publishing it would change (or changed): its version against what the page serves now."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from chalicelib.core import FieldChange, make_patch, summarize
from chalicelib.store import Reads, Release, ReleaseItem, SnapshotReader


class ReleaseItemView(ReleaseItem):
    """An item, and the difference from what its page serves now (`liveVersion`, absent
    when the page serves nothing) to the item's version."""

    liveVersion: Optional[int] = None
    patch: List[Dict[str, Any]] = []
    changes: List[FieldChange] = []


class ReleaseView(Release):
    items: List[ReleaseItemView]  # type: ignore[assignment]


def release_view(snapshots: SnapshotReader, release: Release) -> ReleaseView:
    pairs = tuple(sorted({(item.configId, item.version) for item in release.items}))
    found = snapshots.read(Reads(pages=tuple((release.site, item.page) for item in release.items), versions=pairs))
    views = []
    for item in release.items:
        state = found.pages.get((release.site, item.page))
        live = state.publication if state and state.draft.id == item.configId else None
        before = live.content() if live else {}
        version = found.versions.get((item.configId, item.version))
        after = version.content() if version else {}
        patch = make_patch(before, after)
        views.append(
            ReleaseItemView(
                **item.model_dump(),
                liveVersion=live.version if live else None,
                patch=patch,
                changes=summarize(patch, before),
            )
        )
    return ReleaseView.model_validate({**release.model_dump(), "items": [view.model_dump() for view in views]})
