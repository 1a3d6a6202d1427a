"""What editors read about their work beyond the stored items: the differences between
versions of a config, and what a release would change on each of its pages (loaded on
first use, PEP 562: no public route needs them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy_names

if TYPE_CHECKING:
    from chalicelib.editorial.diffs import ConfigDiff, VersionRef, diff, parse_version_ref
    from chalicelib.editorial.releases import ReleaseView, release_view

__getattr__ = lazy_names(
    __name__,
    {
        **dict.fromkeys(("ConfigDiff", "VersionRef", "diff", "parse_version_ref"), "diffs"),
        **dict.fromkeys(("ReleaseView", "release_view"), "releases"),
    },
)

__all__ = ["ConfigDiff", "ReleaseView", "VersionRef", "diff", "parse_version_ref", "release_view"]
