"""The view wrapper: every route's scope, parsed body and error answers in one place.

`endpoint` demands the route's scope, parses and validates the body declared in the
view's signature, and renders any domain error (and anything unexpected) as the
contract's error body. It also records what the route promises, for the OpenAPI document.

A route names its body and answer models (by name, as the view's `body` annotation does
under `from __future__ import annotations`): they are looked up in `chalicelib.web.models`
when first needed, so that declaring the routes builds no model at cold start.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, NamedTuple, Optional, Sequence, Type, TypeVar, Union

from botocore.exceptions import BotoCoreError
from chalice.app import Chalice, Request, Response
from pydantic.main import BaseModel

from chalicelib.core import BadRequest, DependencyUnavailable, DomainError, isoformat, set_up_hint, unreachable
from chalicelib.web.bodies import parse_body
from chalicelib.web.responses import error_response, internal_error_response, request_id_of

if TYPE_CHECKING:
    from chalicelib.access import Scope

Model = TypeVar("Model", bound=BaseModel)
View = Callable[..., Response]
# A model of the HTTP contract: the class, or its name in `chalicelib.web.models`.
ModelRef = Union[str, Type[BaseModel]]


@functools.cache
def resolve_model(ref: ModelRef) -> Type[BaseModel]:
    """The model a route names; by name, it loads `chalicelib.web.models` on first use."""
    if not isinstance(ref, str):
        return ref
    from chalicelib.web import models

    found = getattr(models, ref, None)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise TypeError(f"chalicelib.web.models names no model {ref!r}")
    return found


# The classes defined here are plain classes and named tuples, not dataclasses: app.py
# imports this module at cold start, and each dataclass costs most of a millisecond to define.


class Call:
    """One request as a view sees it."""

    def __init__(self, request: Request, request_id: str, actor: str = "", actor_name: str = "") -> None:
        self.request = request
        self.request_id = request_id
        self.actor = actor
        # The name of the actor's token (for the audit trail).
        self.actor_name = actor_name

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
        # ASCII digits only: str.isdigit() also takes "²" and Arabic-Indic digits, which int() refuses or reads.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not low <= int(raw) <= high:
            raise BadRequest(f"query parameter '{name}' must be a whole number from {low} to {high}")
        return int(raw)

    def query_time(self, name: str) -> Optional[str]:
        """An ISO 8601 time with a time zone, as the service writes times (UTC, milliseconds)."""
        raw = self.query(name)
        if raw is None:
            return None
        written = None
        try:
            moment = datetime.fromisoformat(raw) if len(raw) <= 40 else None
            if moment is not None and moment.tzinfo is not None:
                written = isoformat(moment)
        except (ValueError, OverflowError):  # year 1 at +01:00 is before year 1 in UTC
            written = None
        if written is None:
            raise BadRequest(
                f"query parameter '{name}' must be an ISO 8601 time with a time zone, like 2026-01-31T09:00:00Z"
            )
        return written

    def query_flag(self, name: str) -> bool:
        """`?name=true` or `?name=false` (absent is false)."""
        raw = self.query(name)
        if raw not in (None, "true", "false"):
            raise BadRequest(f"query parameter '{name}' must be true or false")
        return raw == "true"

    def idempotency_key(self) -> Optional[str]:
        key = self.header("Idempotency-Key")
        if key is not None and not (1 <= len(key) <= 255 and key.isprintable()):
            raise BadRequest("Idempotency-Key must be 1 to 255 printable characters")
        return key

    def parse(self, model: Type[Model]) -> Model:
        body = self.request.raw_body or b""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        return parse_body(raw, self.header("Content-Type"), model)


class Param(NamedTuple):
    """A query parameter or request header a route reads."""

    name: str
    description: str
    required: bool = False
    schema: Mapping[str, Any] = MappingProxyType({"type": "string"})


LIMIT = Param("limit", "Items per page.", schema={"type": "integer", "minimum": 1, "maximum": 100, "default": 20})
CURSOR = Param("cursor", "The `nextCursor` of the previous page, exactly as received.")
IF_MATCH = Param(
    "If-Match", "Apply only if the resource's ETag (the config's, or the schema's) is still this one; else 412."
)
IF_NONE_MATCH = Param("If-None-Match", "An ETag the client holds; 304 with no body when it is current.")
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "Sending the same key again with the same request gives back the same operation; with another request, 409.",
    schema={"type": "string", "minLength": 1, "maxLength": 255},
)
ORIGIN = Param("Origin", "The page's origin; CORS is granted when the site lists it.")
FORCE = Param(
    "force",
    "`true`: store the schema even though it rejects published configs (they stay as they are).",
    schema={"type": "boolean", "default": False},
)
DRY_RUN = Param(
    "dryRun",
    "`true`: check the write completely and answer what it would get, queueing nothing.",
    schema={"type": "boolean", "default": False},
)


class EndpointSpec(NamedTuple):
    """What a route promises, for the OpenAPI document: its scope, inputs and answers."""

    scope: Optional[Scope]
    body_ref: Optional[ModelRef]
    answer_refs: Mapping[int, Optional[ModelRef]]
    errors: Sequence[int] = ()
    query: Sequence[Param] = ()
    headers: Sequence[Param] = ()
    summary: str = ""
    description: str = ""
    # Never cached or indexed: every answer says so (a preview).
    private: bool = False
    # The media types of a success that is not JSON (the console's page and assets).
    media: Sequence[str] = ()

    @property
    def body(self) -> Optional[Type[BaseModel]]:
        return None if self.body_ref is None else resolve_model(self.body_ref)

    @property
    def answers(self) -> Dict[int, Optional[Type[BaseModel]]]:
        return {status: None if ref is None else resolve_model(ref) for status, ref in self.answer_refs.items()}


def endpoint(
    app: Chalice,
    logger: logging.Logger,
    *,
    scope: Optional[Scope],
    answers: Mapping[int, Optional[ModelRef]],
    errors: Sequence[int] = (),
    query: Sequence[Param] = (),
    headers: Sequence[Param] = (),
    private: bool = False,
    media: Sequence[str] = (),
) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        body_ref: Optional[ModelRef] = view.__annotations__.get("body")

        @functools.wraps(view)
        def wrapped(**path_params: str) -> Response:
            request = app.current_request
            assert request is not None
            call = Call(request, request_id_of(request, app.lambda_context))
            try:
                if scope is not None:
                    from chalicelib.access import Principal  # with the first protected request

                    authorizer = (request.context or {}).get("authorizer") or {}
                    principal = Principal.from_context(authorizer)
                    call.actor = principal.demand(scope)
                    call.actor_name = principal.name
                if body_ref is not None:
                    return view(call, body=call.parse(resolve_model(body_ref)), **path_params)
                return view(call, **path_params)
            except DomainError as error:
                if isinstance(error, DependencyUnavailable):
                    logger.warning("dependency unavailable", extra={"reason": error.message})
                return error_response(error, call.request_id)
            except BotoCoreError as exc:  # the SDK itself, outside any call: no region, say
                unavailable = unreachable(exc, set_up_hint())
                logger.warning("AWS unreachable", extra={"reason": unavailable.message})
                return error_response(unavailable, call.request_id)
            except Exception:
                logger.exception("unhandled error")
                return internal_error_response(call.request_id)

        doc = (view.__doc__ or "").strip()
        wrapped.endpoint = EndpointSpec(  # type: ignore[attr-defined]
            scope=scope,
            body_ref=body_ref,
            answer_refs=answers,
            errors=tuple(errors),
            query=tuple(query),
            headers=tuple(headers),
            summary=doc.split("\n")[0],
            description=doc,
            private=private,
            media=tuple(media),
        )
        return wrapped

    return decorate
