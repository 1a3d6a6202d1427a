"""Request bodies: size, media type and strict JSON, then the route's model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Type, TypeVar

from pydantic.main import BaseModel
from pydantic_core import ValidationError

from chalicelib.core import (
    MAX_BODY_BYTES,
    MAX_SETTINGS_BYTES,
    MAX_SETTINGS_DEPTH,
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    json_depth,
    settings_size,
)

if TYPE_CHECKING:
    from chalicelib.core import jsontext

Model = TypeVar("Model", bound=BaseModel)

# Whitespace as JSON has it (RFC 8259): a body of only this is no body at all.
_JSON_WHITESPACE = b" \t\r\n"
SETTINGS_TOO_DEEP = f"Value error, settings must be nested at most {MAX_SETTINGS_DEPTH} levels deep"


def parse_body(raw: bytes, content_type: Optional[str], model: Type[Model]) -> Model:
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted")
    if not raw.strip(_JSON_WHITESPACE):
        raise BadRequest("the body is empty: a JSON object body is required, with Content-Type: application/json")
    check_media_type(content_type)
    parsed = strict_json(raw)
    data = parsed.value
    settings = data.get("settings") if isinstance(data, dict) else None
    # Measured only when nested as allowed: json.dumps recurses (the model says what is too deep).
    if isinstance(settings, dict) and not parsed.changes and json_depth(settings) <= MAX_SETTINGS_DEPTH:
        size = settings_size(settings)
        if size > MAX_SETTINGS_BYTES:
            raise PayloadTooLarge(f"settings are {size} bytes as JSON; at most {MAX_SETTINGS_BYTES} are accepted")
    if parsed.changes:
        details = [
            {"field": _dotted(change.path), "message": change.message, "type": change.kind} for change in parsed.changes
        ]
        raise ValidationFailed("the body has values that cannot be stored as they were sent", details)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("the body has invalid fields", field_errors(exc)) from exc


def check_media_type(content_type: Optional[str]) -> None:
    """A body is JSON, said so by its Content-Type, in UTF-8 (the only charset JSON has)."""
    if content_type is None:
        raise UnsupportedMediaType("the body has no Content-Type: send it as JSON, with Content-Type: application/json")
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != "application/json":
        raise UnsupportedMediaType("send the body as JSON, with Content-Type: application/json")
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"JSON is UTF-8 (RFC 8259); charset={charset} is not accepted")


def strict_json(raw: bytes) -> jsontext.Parsed:
    """JSON as RFC 8259 has it: UTF-8, and what is stored must be served back as valid
    JSON. A body nested deeper than any valid one is refused before it is parsed."""
    from chalicelib.core import jsontext  # loaded by the first request with a body

    try:
        return jsontext.loads(raw)
    except jsontext.TooDeep as exc:
        raise ValidationFailed("the body has invalid fields", [_too_deep(exc.member)]) from exc
    except (jsontext.NotUtf8, jsontext.LoneSurrogate) as exc:
        raise BadRequest(str(exc)) from exc
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc


def _too_deep(member: Optional[str]) -> Dict[str, Any]:
    from chalicelib.core import jsontext

    if member == "settings":
        return {"field": "settings", "message": SETTINGS_TOO_DEEP, "type": "value_error"}
    where = "the body" if member is None else member
    return {
        "field": member or "body",
        "message": f"{where} is nested more than {jsontext.MAX_DEPTH} levels deep",
        "type": "too_deep",
    }


def _dotted(path: jsontext.Path) -> str:
    return ".".join(str(part) for part in path) or "body"


def field_errors(exc: ValidationError) -> List[Dict[str, Any]]:
    details = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "body"
        details.append({"field": location, "message": error["msg"], "type": error["type"]})
    return details
