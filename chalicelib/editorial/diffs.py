"""`GET /metadata/{id}/diff`: what changed between two versions of a config, as an RFC 6902
patch and as a list of field changes; either end may be a version number, the version
the page serves (`published`) or the latest (`draft`)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from pydantic.config import ConfigDict
from pydantic.fields import Field

from chalicelib.core import BadRequest, FieldChange, Model, NotFound, make_patch, summarize
from chalicelib.store import ConfigState, ConfigStore, keys

VersionRef = Union[int, str]  # a version number, "published" or "draft"
NAMED = ("published", "draft")


class ConfigDiff(Model):
    """`patch` turns version `from` into version `to` (RFC 6902); `changes` says the same
    per field. `from` is absent for `published` when the page serves nothing."""

    id: str
    from_: Optional[int] = Field(default=None, alias="from")
    to: int
    patch: List[Dict[str, Any]]
    changes: List[FieldChange]

    model_config = ConfigDict(defer_build=True, populate_by_name=True, serialize_by_alias=True)


def parse_version_ref(name: str, raw: Optional[str], default: str) -> VersionRef:
    if raw is None:
        return default
    if raw in NAMED:
        return raw
    if keys.is_version_position(raw) and int(raw) >= 1:
        return int(raw)
    raise BadRequest(f"query parameter '{name}' must be a version number, 'published' or 'draft'")


def diff(configs: ConfigStore, config_id: str, start: VersionRef, end: VersionRef) -> ConfigDiff:
    """Reads the config when an end names `published` or `draft`, and the versions named by number."""
    state = configs.state(config_id) if start in NAMED or end in NAMED else None
    if state is None and (start in NAMED or end in NAMED):
        raise NotFound(f"no config '{config_id}'")
    before_version, before = _content(configs, config_id, state, start)
    after_version, after = _content(configs, config_id, state, end)
    if after_version is None:
        raise NotFound(f"config '{config_id}' is not published: there is nothing to compare with")
    patch = make_patch(before, after)
    changes = summarize(patch, before)
    return ConfigDiff.model_validate(
        {"id": config_id, "from": before_version, "to": after_version, "patch": patch, "changes": changes}
    )


def _content(
    configs: ConfigStore, config_id: str, state: Optional[ConfigState], ref: VersionRef
) -> tuple[Optional[int], Dict[str, Any]]:
    """A version's number and content (layout, theme, settings); a deletion's is empty."""
    if ref == "draft" and state is not None:
        return state.draft.version, state.draft.content()
    if ref == "published" and state is not None:
        served = state.publication
        return (served.version, served.content()) if served else (None, {})
    assert isinstance(ref, int)
    version = configs.version(config_id, ref)
    if version is None:
        raise NotFound(f"config '{config_id}' has no version {ref}")
    return version.version, version.content()
