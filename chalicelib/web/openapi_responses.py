"""The responses of each operation in the OpenAPI document: its statuses, with the error
body on each error and a `default` for any other, and the headers each answer carries,
required where every such answer has them.

A route declares its answers, its own errors and the request headers it reads
(`EndpointSpec`); the rest follows from how the API answers:
- `endpoint` turns anything unexpected into a 500, and a failing table or queue into a
  503 (unless the view reaches neither);
- a body is parsed by `endpoint` (400, 413, 415, 422); Chalice's router answers 415 to a
  request of any method that may carry a body when its `Content-Type` is not JSON;
- a protected route demands its scope (401, 403); the deployed API's gateway throttles
  any route (429), and answers its own errors without `X-Request-Id`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from chalice.app import RouteEntry

from chalicelib.core import MAX_BODY_BYTES, MAX_SETTINGS_BYTES, Accepted
from chalicelib.web.endpoint import EndpointSpec
from chalicelib.web.openapi_schemas import ERROR_SCHEMA, REF, ModelRefs
from chalicelib.web.responses import REQUEST_ID_HEADER
from chalicelib.web.status import ANSWERS

BODY_ERRORS = (400, 413, 415, 422)
SCOPE_ERRORS = (401, 403)
INTERNAL_ERROR = 500
UNAVAILABLE = 503
THROTTLED = 429
UNSUPPORTED_MEDIA_TYPE = 415
# Methods whose requests may carry a body, which Chalice checks is declared as JSON.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Views that reach no table, queue or token store, so they cannot answer 503. Listed by
# name because an EndpointSpec does not say what a view calls; a new route is assumed
# to reach a dependency, which errs on the side of documenting a 503 it never sends.
SELF_CONTAINED_VIEWS = frozenset({"health", "openapi_document"})
# Statuses the deployed API's gateway may answer itself, without `X-Request-Id`: to any
# request (too large for it, throttled), and to a protected route's (no token, an unknown
# one, the token table unreadable).
GATEWAY_STATUSES = frozenset({413, THROTTLED})
PROTECTED_GATEWAY_STATUSES = frozenset({401, UNAVAILABLE})

SUCCESS_DESCRIPTIONS: Mapping[int, str] = {
    202: "Accepted: the write is queued, validated completely; follow `Location` to see how it goes.",
    204: "No content.",
    304: "Not modified: the ETag sent in `If-None-Match` is current. No body.",
}
NO_CONTENT = frozenset({204, 304})
DEFAULT_DESCRIPTION = (
    "Any other error, with the error body: a method the path does not have (405; 404 from the "
    "deployed API's gateway), or another error the gateway answers itself."
)
PREFLIGHT_NOT_FOUND = (
    "The site or page slug cannot exist (it does not match its pattern): the GET's 404, with its headers. "
    "A preflight for a site that does not exist, or a page it does not have, is a 204 without a grant."
)
BODILESS_UNSUPPORTED = "A `Content-Type` other than JSON was sent: this route takes no body, so send none."

HEADERS: Mapping[str, Tuple[str, Mapping[str, Any]]] = {
    REQUEST_ID_HEADER: (
        "The request's id, also in every error body and in the service's logs.",
        {"type": "string"},
    ),
    "ETag": (
        "The entity tag of what is answered: send it as `If-None-Match` to revalidate, or as `If-Match` to write.",
        {"type": "string"},
    ),
    "Cache-Control": ("How long browsers and CDNs may keep the answer.", {"type": "string"}),
    "Location": ("Where the operation can be followed: `/operations/{operationId}`.", {"type": "string"}),
    "Vary": ("`Origin`: the CORS headers depend on it.", {"type": "string"}),
    "Access-Control-Allow-Origin": (
        "The request's `Origin`, only when the site lists it in `allowedOrigins`.",
        {"type": "string"},
    ),
    "Access-Control-Expose-Headers": ("Headers a browser script may read, with the grant.", {"type": "string"}),
    "Access-Control-Allow-Methods": ("The methods granted to an allowed origin.", {"type": "string"}),
    "Access-Control-Allow-Headers": ("The request headers granted to an allowed origin.", {"type": "string"}),
    "Access-Control-Max-Age": ("How many seconds a browser may keep the preflight answer.", {"type": "string"}),
    "X-Robots-Tag": ("`noindex`: a preview is never indexed.", {"type": "string"}),
    "Referrer-Policy": ("`no-referrer`: a preview link's token never leaves in a Referer.", {"type": "string"}),
    "Content-Security-Policy": (
        "What the console's page may load and run: only what this API serves (`default-src 'self'`).",
        {"type": "string"},
    ),
}
# What every answer of a private route (a preview) carries.
PRIVATE_HEADERS = ("Cache-Control", "X-Robots-Tag", "Referrer-Policy", "Vary")
GRANT_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Expose-Headers")
PREFLIGHT_HEADERS = ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age")
# Which request headers a route declares decides the caching and CORS headers it answers.
CONDITIONAL_HEADER = "If-None-Match"
CORS_HEADER = "Origin"

# A header of an answer, and whether every such answer has it.
Header = Tuple[str, bool]


def error_meanings() -> Dict[int, str]:
    """What each error status means, from the docstrings of the errors that answer it."""
    meanings: Dict[int, List[str]] = {}
    for cls, (status, _) in ANSWERS.items():
        text = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        if text and text not in meanings.setdefault(status, []):
            meanings[status].append(text)
    described = {status: " ".join(texts) for status, texts in meanings.items()}
    described[413] = (
        f"{described.get(413, '')} The body may be at most {MAX_BODY_BYTES} bytes, "
        f"and its `settings` at most {MAX_SETTINGS_BYTES} bytes as JSON."
    ).strip()
    described[INTERNAL_ERROR] = "Something went wrong on the service's side; never caused by what was sent."
    described[THROTTLED] = "Too many requests: the deployed API's gateway throttles them. Retry after a pause."
    return described


def responses(
    method: str, route: RouteEntry, spec: EndpointSpec, models: ModelRefs, meanings: Mapping[int, str]
) -> Dict[str, Any]:
    answers = spec.answers
    found: Dict[str, Any] = {}
    for status, model in sorted(answers.items()):
        response: Dict[str, Any] = {
            "description": SUCCESS_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "headers": header_objects(_headers(method, spec, status, model)),
        }
        if status not in NO_CONTENT and spec.media:
            response["content"] = {media: {"schema": {"type": "string"}} for media in spec.media}
        elif status not in NO_CONTENT:
            schema = dict(models[(model, "serialization")]) if model is not None else {"type": "object"}
            response["content"] = {"application/json": {"schema": schema}}
        found[str(status)] = response
    for status in _error_statuses(method, route, spec):
        description = _error_description(method, spec, status, meanings)
        found[str(status)] = _error_response(description, _headers(method, spec, status))
    found["default"] = _error_response(DEFAULT_DESCRIPTION, [(REQUEST_ID_HEADER, False)])
    return found


def _error_response(description: str, headers: List[Header]) -> Dict[str, Any]:
    return {
        "description": description,
        "headers": header_objects(headers),
        "content": {"application/json": {"schema": {"$ref": REF.format(model=ERROR_SCHEMA)}}},
    }


def _error_statuses(method: str, route: RouteEntry, spec: EndpointSpec) -> List[int]:
    statuses: Set[int] = set(spec.errors) | {INTERNAL_ERROR, THROTTLED}
    if spec.scope is not None:
        statuses.update(SCOPE_ERRORS)
    if spec.body is not None:
        statuses.update(BODY_ERRORS)
    if method in BODY_METHODS:
        statuses.add(UNSUPPORTED_MEDIA_TYPE)
    if route.view_name not in SELF_CONTAINED_VIEWS:
        statuses.add(UNAVAILABLE)
    return sorted(statuses)


def _error_description(method: str, spec: EndpointSpec, status: int, meanings: Mapping[int, str]) -> str:
    if method == "OPTIONS" and status == 404:
        return PREFLIGHT_NOT_FOUND
    if status == UNSUPPORTED_MEDIA_TYPE and spec.body is None:
        return BODILESS_UNSUPPORTED
    return meanings.get(status, HTTPStatus(status).phrase)


def header_objects(headers: List[Header]) -> Dict[str, Any]:
    """A header every such answer has is the shared component (`required`); one it may
    lack is written out, `required: false` (generators type a `$ref`'d header as present)."""
    objects: Dict[str, Any] = {}
    for name, required in headers:
        if required:
            objects[name] = {"$ref": f"#/components/headers/{name}"}
        else:
            description, schema = HEADERS[name]
            objects[name] = {"description": description, "required": False, "schema": dict(schema)}
    return objects


def header_components(names: Set[str]) -> Dict[str, Any]:
    """The shared headers the operations refer to: each required where it is used."""
    return {
        name: {"description": description, "required": True, "schema": dict(schema)}
        for name, (description, schema) in HEADERS.items()
        if name in names
    }


def _headers(method: str, spec: EndpointSpec, status: int, model: Optional[Any] = None) -> List[Header]:
    gateway = GATEWAY_STATUSES | (PROTECTED_GATEWAY_STATUSES if spec.scope is not None else frozenset())
    headers: List[Header] = [(REQUEST_ID_HEADER, status not in gateway)]
    if status >= 400 and status not in spec.errors:
        return headers  # answered by `endpoint`, Chalice or the gateway: nothing of the route's own
    if spec.private:
        return headers + _private_headers(method, status)
    if spec.media and status in (200, 304):
        headers.append(("Content-Security-Policy", True))
    if status == 202 and isinstance(model, type) and issubclass(model, Accepted):
        headers.append(("Location", True))
    declared = {param.name for param in spec.headers}
    conditional = CONDITIONAL_HEADER in declared and status in (200, 304)
    if conditional:
        headers.append(("ETag", True))
    if CORS_HEADER in declared:
        headers.extend(_cors_headers(method, status))
    elif conditional:
        headers.append(("Cache-Control", True))
    return headers


def _cors_headers(method: str, status: int) -> List[Header]:
    """The frontend read path: `Vary: Origin` always, a grant only for the site's origins.
    Its 404 has them too and a short cache, so a page's script can see it and a CDN can
    absorb a flood of misses; a preflight's 404 (a slug that cannot exist) is the GET's."""
    grant = [(name, False) for name in GRANT_HEADERS]
    if method == "OPTIONS" and status == 204:
        return [("Vary", True), *grant, *((name, False) for name in PREFLIGHT_HEADERS)]
    if method == "GET" and status in (200, 304, 404):
        return [("Vary", True), *grant, ("Cache-Control", True)]
    if method == "OPTIONS" and status == 404:
        return [("Vary", True), ("Cache-Control", True)]
    return []


def _private_headers(method: str, status: int) -> List[Header]:
    """A preview's answers: never cached or indexed; with the site's CORS once it is read."""
    headers = [(name, True) for name in PRIVATE_HEADERS]
    if status in (200, 204, 403, 404):
        headers.extend((name, False) for name in GRANT_HEADERS)
    if method == "OPTIONS" and status == 204:
        headers.extend((name, False) for name in PREFLIGHT_HEADERS)
    return headers
