"""What editors read about their work beyond the stored items: the differences between
versions of a config, and what a release would change on each of its pages."""

from chalicelib.editorial.diffs import ConfigDiff, VersionRef, diff, parse_version_ref
from chalicelib.editorial.releases import ReleaseView, release_view

__all__ = ["ConfigDiff", "ReleaseView", "VersionRef", "diff", "parse_version_ref", "release_view"]
