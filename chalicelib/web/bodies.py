"""Request bodies: size, media type and strict JSON, then the route's model."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Type, TypeVar

from pydantic.main import BaseModel
from pydantic_core import ValidationError

from chalicelib.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from chalicelib.core.fields import MAX_BODY_BYTES, MAX_SETTINGS_BYTES, settings_size

Model = TypeVar("Model", bound=BaseModel)


def parse_body(raw: bytes, content_type: Optional[str], model: Type[Model]) -> Model:
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted")
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("send the body as JSON, with Content-Type: application/json")
    data = strict_json(raw)
    if isinstance(data, dict) and isinstance(data.get("settings"), dict):
        size = settings_size(data["settings"])
        if size > MAX_SETTINGS_BYTES:
            raise PayloadTooLarge(f"settings are {size} bytes as JSON; at most {MAX_SETTINGS_BYTES} are accepted")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("the body has invalid fields", field_errors(exc)) from exc


def strict_json(raw: bytes) -> Any:
    """JSON as RFC 8259 has it: what is stored must be served back as valid JSON."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        data = json.loads(raw or b"null", parse_constant=no_constants)
        # Lone surrogates ("\ud800") parse, but cannot be encoded as UTF-8 again.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except RecursionError as exc:
        raise BadRequest("the body is nested too deeply") from exc
    except UnicodeEncodeError as exc:
        raise BadRequest("the body has a string that is not valid Unicode (a lone surrogate)") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    return data


def field_errors(exc: ValidationError) -> List[Dict[str, Any]]:
    details = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "body"
        details.append({"field": location, "message": error["msg"], "type": error["type"]})
    return details
