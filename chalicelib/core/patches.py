"""What changed between two JSON documents: an RFC 6902 JSON Patch (made by the
`jsonpatch` library, loaded on first use) and a summary per field an editor can read."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from chalicelib.core.fields import Model

Patch = List[Dict[str, Any]]
_VERBS = {"add": "added", "remove": "removed", "replace": "changed", "move": "moved", "copy": "copied"}


class FieldChange(Model):
    """One changed field: `field` is a JSON Pointer without its leading '/'
    (`settings/hero/title`), as in validation errors."""

    field: str
    change: str
    # The value before (removed, changed, moved) and after (added, changed, moved, copied).
    before: Optional[Any] = None
    after: Optional[Any] = None
    # Where a moved or copied value came from.
    source: Optional[str] = None


def make_patch(before: Dict[str, Any], after: Dict[str, Any]) -> Patch:
    """The operations that turn `before` into `after` (empty when they are equal; `1`,
    `1.0` and `true` are different values)."""
    import jsonpatch

    operations: Patch = jsonpatch.make_patch(before, after).patch
    return operations


def summarize(patch: Patch, before: Dict[str, Any]) -> List[FieldChange]:
    """Each operation of `patch` (made from `before`) as a readable change."""
    import jsonpointer

    document: Any = before
    changes: List[FieldChange] = []
    for operation in patch:
        op, path = operation["op"], operation["path"]
        change = FieldChange(field=_field(path), change=_VERBS.get(op, str(op)))
        if op in ("remove", "replace"):
            change.before = jsonpointer.resolve_pointer(document, path, None)
        if op in ("add", "replace"):
            change.after = operation.get("value")
        if op in ("move", "copy"):
            change.source = _field(operation["from"])
            change.after = jsonpointer.resolve_pointer(document, operation["from"], None)
        changes.append(change)
        document = _applied(document, operation)
    return changes


def _applied(document: Any, operation: Dict[str, Any]) -> Any:
    import jsonpatch

    return jsonpatch.apply_patch(document, [operation])


def _field(pointer: str) -> str:
    parts = pointer.split("/")[1:]
    return "/".join(part.replace("~1", "/").replace("~0", "~") for part in parts)
