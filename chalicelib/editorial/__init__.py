"""What editors read about their work beyond the stored items: the differences between
versions of a config (and, as the workflow grows, previews and releases)."""

from chalicelib.editorial.diffs import ConfigDiff, VersionRef, diff, parse_version_ref

__all__ = ["ConfigDiff", "VersionRef", "diff", "parse_version_ref"]
