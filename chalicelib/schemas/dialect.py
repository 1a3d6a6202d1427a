"""Layout schemas in JSON Schema 2020-12: checking an uploaded schema, and deciding
whether a config's `settings` may be stored with a layout (validated against its schema,
or refused when the site requires one and the layout has none).

The validator is `jsonschema-rs`, imported on first use so that routes which never
validate (the public reads) do not pay for it. What it guarantees here:

- no `$ref` is ever fetched: retrieval is off, so a schema whose `$ref` points outside
  itself is refused when it is uploaded, naming the reference;
- `pattern` and `patternProperties` use a regular-expression engine that runs in linear
  time; constructs that need backtracking (look-around, back-references) are refused at
  upload, so no pattern can make a validation hang;
- `format` is asserted (2020-12 treats it as an annotation by default) and an unknown
  format is refused at upload, so a typo cannot silently check nothing.

A compiled validator is kept per schema version, (site, layout, createdAt, version), for
the life of the process: a warm Lambda's later invocations validate against a version
they have seen without compiling it again, or even serialising it (bounded: the least
recently used of MAX_VALIDATORS goes first).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Dict, Hashable, Iterator, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import unquote

from chalicelib.store import LayoutSchema, Site

if TYPE_CHECKING:
    import jsonschema_rs

DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_SCHEMA_BYTES = 64 * 1024
# At most this many errors are reported for one document (the first ones found).
MAX_ERRORS = 50

Detail = Dict[str, Any]


def pointer(parts: Sequence[Any]) -> str:
    """An RFC 6901 JSON Pointer from a path's parts."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def schema_problems(schema: Any) -> List[Detail]:
    """What is wrong with an uploaded schema, each with `field` as a pointer into the
    request body (`schema/properties/x/type`); empty when it is acceptable."""
    if not isinstance(schema, dict):
        return [_detail("schema", "a layout schema is a JSON object", "type")]
    size = len(json.dumps(schema, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_SCHEMA_BYTES:
        return [_detail("schema", f"the schema is {size} bytes as JSON; at most {MAX_SCHEMA_BYTES}", "maxLength")]
    declared = schema.get("$schema", DIALECT)
    if declared != DIALECT:
        return [_detail("schema/$schema", f"only JSON Schema 2020-12 is supported: {DIALECT}", "$schema")]
    jsonschema_rs = _library()
    problems = [_meta_detail(error) for error in _meta_validator().iter_errors(schema)]
    if problems:
        return problems[:MAX_ERRORS]
    try:
        _compile(schema)
    except jsonschema_rs.ValidationError as error:
        where = "schema" + pointer(error.instance_path)
        if error.kind.name == "$ref":
            where = "schema" + pointer(_reference_path(schema, str(error.message)))
        return [_detail(where, _compile_message(error), error.kind.name or "format")]
    return []


def settings_errors(schema: Mapping[str, Any], settings: Any, key: Hashable) -> List[Detail]:
    """How `settings` breaks the schema: one entry per error, `field` a pointer such as
    `settings/hero/title`, `message` for an editor, `type` the failing keyword.

    `key` names the schema's content for good, (site, layout, createdAt, version) for a
    stored one: its compiled validator is kept under it, and `schema` is compiled only
    when no validator is."""
    validator = _validator(key, schema)
    errors: List[Detail] = []
    for error in validator.iter_errors(settings):
        parts = list(error.instance_path)
        found = error.kind.as_dict()
        # Name the property itself, not the object that misses or must not have it.
        if error.kind.name == "required" and "property" in found:
            parts.append(found["property"])
        elif error.kind.name == "additionalProperties" and found.get("unexpected"):
            parts.append(found["unexpected"][0])
        errors.append(_detail("settings" + pointer(parts), error.message, error.kind.name))
        if len(errors) >= MAX_ERRORS:
            break
    return errors


def settings_problems(
    site: Optional[Site], layout: str, schema: Optional[LayoutSchema], settings: Dict[str, Any]
) -> List[Detail]:
    """Why a config's `settings` may not be stored with `layout`: the schema's errors, or
    the site's `requireSchemas` when the layout has none. Empty when they may."""
    if schema is None:
        if site is not None and site.requireSchemas:
            message = f"site '{site.site}' requires a schema for every layout, and layout '{layout}' has none"
            return [{"field": "layout", "message": message, "type": "schema_required"}]
        return []
    return settings_errors(schema.schema_, settings, (schema.site, schema.layout, schema.createdAt, schema.version))


# The library's messages quote the failing value, which may be the whole document.
MAX_MESSAGE_CHARS = 300


def _detail(field: str, message: str, kind: str) -> Detail:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return {"field": field, "message": message, "type": kind}


TYPES = ("string", "number", "integer", "object", "array", "boolean", "null")


def _meta_detail(error: Any) -> Detail:
    where = "schema" + pointer(error.instance_path)
    if where.endswith("/type") and error.kind.name == "anyOf":
        return _detail(where, f"a type is one of {', '.join(TYPES)} (or a list of them)", "type")
    return _detail(where, error.message, error.kind.name)


def _compile_message(error: Any) -> str:
    message = str(error.message)
    if 'is not a "regex"' in message:
        return f"{message}: {_pattern_problem(str(error.instance))}"
    if message.startswith("Unknown format"):
        known = "date-time, date, time, duration, email, hostname, ipv4, ipv6, uri, uri-reference, uuid, regex"
        return f"{message.split('.')[0]}; use a format JSON Schema 2020-12 defines ({known}, ...)"
    return message


# A counted repetition: `{3}`, `{2,}`, `{2,5}`.
COUNTED = re.compile(r"\{\d+(?:,\d*)?\}")


def _pattern_problem(pattern: str) -> str:
    """Why the linear-time engine refuses `pattern`, found by compiling it again: with the
    backtracking engine (look-around, back-references), and without its counted
    repetitions (too large once they are expanded)."""
    library = _library()
    backtracking, linear = library.FancyRegexOptions(), library.RegexOptions()
    uncounted = COUNTED.sub("", pattern)
    needs_backtracking = "patterns may not use look-around or back-references (they could not run in linear time)"
    if _pattern_compiles(pattern, backtracking):
        return needs_backtracking
    if _pattern_compiles(uncounted, linear):
        return "it is too large once its counted repetitions ({n}) are expanded: use smaller counts (or maxLength)"
    if _pattern_compiles(uncounted, backtracking):
        return needs_backtracking
    return "it is not a valid regular expression (check its brackets, quantifiers and escapes)"


def _pattern_compiles(pattern: str, options: Any) -> bool:
    try:
        _library().Draft202012Validator({"pattern": pattern}, validate_formats=True, pattern_options=options)
    except _library().ValidationError:
        return False
    return True


# What jsonschema-rs names when a reference does not resolve: a pointer, an anchor, or a
# document (`Resource`), with the base URI applied.
UNRESOLVED = re.compile(r"^(Pointer|Anchor|Resource) '(.*?)' (?:does not exist|is not present)")


def _reference_path(schema: Any, message: str) -> List[Any]:
    """Where in `schema` the `$ref` (or `$dynamicRef`) sits that `message` says does not
    resolve; the whole schema when that cannot be told."""
    found = UNRESOLVED.match(message)
    if found is None:
        return []
    kind, target = found.groups()
    for path, reference in _references(schema, []):
        base, _, fragment = reference.partition("#")
        if kind in ("Pointer", "Anchor") and target in (fragment, unquote(fragment)):
            return path
        if kind == "Resource" and base and target.partition("#")[0].endswith(base):
            return path
    return []


def _references(node: Any, path: List[Any]) -> Iterator[Tuple[List[Any], str]]:
    """Every `$ref` and `$dynamicRef` in `node` with its path, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                yield [*path, key], value
            else:
                yield from _references(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, [*path, index])


def _library() -> Any:
    import jsonschema_rs

    return jsonschema_rs


def _options() -> Dict[str, Any]:
    jsonschema_rs = _library()
    return {
        "offline": True,
        "validate_formats": True,
        "ignore_unknown_formats": False,
        "pattern_options": jsonschema_rs.RegexOptions(),
    }


def _compile(schema: Mapping[str, Any]) -> jsonschema_rs.Draft202012Validator:
    validator: jsonschema_rs.Draft202012Validator = _library().Draft202012Validator(schema, **_options())
    return validator


@lru_cache(maxsize=1)
def _meta_validator() -> Any:
    # The 2020-12 meta-schema ships inside the library: resolving it needs no network.
    return _library().validator_for({"$ref": DIALECT}, offline=True)


MAX_VALIDATORS = 256
_validators: OrderedDict[Hashable, jsonschema_rs.Draft202012Validator] = OrderedDict()
_validators_lock = threading.Lock()


def _validator(key: Hashable, schema: Mapping[str, Any]) -> jsonschema_rs.Draft202012Validator:
    with _validators_lock:
        found = _validators.get(key)
        if found is not None:
            _validators.move_to_end(key)
            return found
    compiled = _compile(schema)
    with _validators_lock:
        _validators[key] = compiled
        while len(_validators) > MAX_VALIDATORS:
            _validators.popitem(last=False)
    return compiled
