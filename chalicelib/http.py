"""The HTTP edge: parsing requests, and the one place errors become HTTP answers.

`endpoint` wraps every view: it demands the route's scope, parses and validates the
body declared in the view's signature, and renders any `ServiceError` (and anything
unexpected) as the contract's error body. The `http` middleware gives every answer a
request id, logs it, and reshapes Chalice's own errors (405, 415) the same way.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Type, TypeVar, get_type_hints

from chalice.app import Chalice, Request, Response
from pydantic.main import BaseModel
from pydantic_core import ValidationError

from chalicelib.auth import Principal, Scope
from chalicelib.errors import BadRequest, PayloadTooLarge, ServiceError, UnsupportedMediaType, ValidationFailed
from chalicelib.logs import log_context
from chalicelib.models import MAX_BODY_BYTES, MAX_SETTINGS_BYTES, settings_size

Model = TypeVar("Model", bound=BaseModel)
View = Callable[..., Response]

JSON_CONTENT_TYPES = ["application/json"]
REQUEST_ID_HEADER = "X-Request-Id"
_CHALICE_ERROR_CODES = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 415: "UnsupportedMediaType"}


def error_body(
    code: str, message: str, request_id: str, details: Optional[List[Dict[str, Any]]] = None
) -> Dict[str, Any]:
    body: Dict[str, Any] = {"error": code, "message": message, "requestId": request_id}
    if details:
        body["details"] = details
    return body


def error_response(error: ServiceError, request_id: str, headers: Optional[Dict[str, str]] = None) -> Response:
    return Response(
        body=error_body(error.code, error.message, request_id, error.details),
        status_code=error.status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def request_id_of(request: Optional[Request], lambda_context: Any) -> str:
    """API Gateway's request id (the one in its access logs), else Lambda's."""
    context = getattr(request, "context", None) or {}
    return str(context.get("requestId") or getattr(lambda_context, "aws_request_id", None) or uuid.uuid4())


def empty_response(status: int, headers: Mapping[str, str]) -> Response:
    return Response(body="", status_code=status, headers={**headers})


def json_response(body: Any, status: int = 200, headers: Optional[Dict[str, str]] = None) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", exclude_none=True)
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json", **(headers or {})})


@dataclass
class Call:
    """One request as a view sees it."""

    request: Request
    request_id: str
    actor: str = ""

    @property
    def path(self) -> str:
        """The path as requested (`request.path` is the route's template)."""
        return str(self.request.to_original_event().get("path") or self.request.path)

    def header(self, name: str) -> Optional[str]:
        value = self.request.headers.get(name.lower())
        return None if value is None else str(value)

    def query(self, name: str) -> Optional[str]:
        params: Mapping[str, str] = self.request.query_params or {}
        return params.get(name)

    def query_int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise BadRequest(f"query parameter '{name}' must be a whole number from {low} to {high}")
        return int(raw)

    def idempotency_key(self) -> Optional[str]:
        key = self.header("Idempotency-Key")
        if key is not None and not (1 <= len(key) <= 255 and key.isprintable()):
            raise BadRequest("Idempotency-Key must be 1 to 255 printable characters")
        return key

    def parse(self, model: Type[Model]) -> Model:
        body = self.request.raw_body or b""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted")
        content_type = (self.header("Content-Type") or "application/json").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedMediaType("send the body as JSON, with Content-Type: application/json")
        data = _strict_json(raw)
        if isinstance(data, dict) and isinstance(data.get("settings"), dict):
            size = settings_size(data["settings"])
            if size > MAX_SETTINGS_BYTES:
                raise PayloadTooLarge(f"settings are {size} bytes as JSON; at most {MAX_SETTINGS_BYTES} are accepted")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed("the body has invalid fields", field_errors(exc)) from exc


def _strict_json(raw: bytes) -> Any:
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


@dataclass(frozen=True)
class Param:
    """A query parameter or request header a route reads."""

    name: str
    description: str
    required: bool = False
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


LIMIT = Param("limit", "Items per page.", schema={"type": "integer", "minimum": 1, "maximum": 100, "default": 20})
CURSOR = Param("cursor", "The `nextCursor` of the previous page, exactly as received.")
IF_MATCH = Param("If-Match", "Apply only if the config's ETag is still this one; else 412.")
IF_NONE_MATCH = Param("If-None-Match", "An ETag the client holds; 304 with no body when it is current.")
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "Sending the same key again with the same request gives back the same operation; with another request, 409.",
    schema={"type": "string", "minLength": 1, "maxLength": 255},
)
ORIGIN = Param("Origin", "The page's origin; CORS is granted when the site lists it.")


@dataclass(frozen=True)
class EndpointSpec:
    """What a route promises, for the OpenAPI document: its scope, inputs and answers."""

    scope: Optional[Scope]
    body: Optional[Type[BaseModel]]
    answers: Mapping[int, Optional[Type[BaseModel]]]
    errors: Sequence[int] = ()
    query: Sequence[Param] = ()
    headers: Sequence[Param] = ()
    summary: str = ""
    description: str = ""


def endpoint(
    app: Chalice,
    logger: logging.Logger,
    *,
    scope: Optional[Scope],
    answers: Mapping[int, Optional[Type[BaseModel]]],
    errors: Sequence[int] = (),
    query: Sequence[Param] = (),
    headers: Sequence[Param] = (),
) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        hints = get_type_hints(view)
        body_model = hints.get("body")

        @functools.wraps(view)
        def wrapped(**path_params: str) -> Response:
            request = app.current_request
            assert request is not None
            call = Call(request, request_id_of(request, app.lambda_context))
            try:
                if scope is not None:
                    authorizer = (request.context or {}).get("authorizer") or {}
                    call.actor = Principal.from_context(authorizer).demand(scope)
                if body_model is not None:
                    return view(call, body=call.parse(body_model), **path_params)
                return view(call, **path_params)
            except ServiceError as error:
                if error.status >= 500:
                    logger.warning("dependency unavailable", extra={"reason": error.message})
                return error_response(error, call.request_id)
            except Exception:
                logger.exception("unhandled error")
                return Response(
                    body=error_body("InternalError", "something went wrong on our side", call.request_id),
                    status_code=500,
                    headers={"Content-Type": "application/json"},
                )

        doc = (view.__doc__ or "").strip()
        wrapped.endpoint = EndpointSpec(  # type: ignore[attr-defined]
            scope=scope,
            body=body_model,
            answers=answers,
            errors=tuple(errors),
            query=tuple(query),
            headers=tuple(headers),
            summary=doc.split("\n")[0],
            description=doc,
        )
        return wrapped

    return decorate


def http_middleware(
    app: Chalice, logger: logging.Logger
) -> Callable[[Request, Callable[[Request], Response]], Response]:
    def middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
        request_id = request_id_of(request, app.lambda_context)
        started = time.perf_counter()
        with log_context(requestId=request_id):
            response = _contract_error(get_response(request), request_id)
            response.headers[REQUEST_ID_HEADER] = request_id
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.to_original_event().get("path") or request.path,
                    "route": request.path,
                    "status": response.status_code,
                    "durationMs": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return response

    return middleware


def _contract_error(response: Response, request_id: str) -> Response:
    """Chalice answers some errors itself ({"Code", "Message"}); give them the contract's body."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "Message" in body:
        code = _CHALICE_ERROR_CODES.get(response.status_code, "InternalError")
        message = str(body["Message"]) if response.status_code < 500 else "something went wrong on our side"
        response.body = error_body(code, message, request_id)
        response.headers["Content-Type"] = "application/json"
    return response
