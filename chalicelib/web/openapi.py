"""The OpenAPI 3.1 document of this API, generated from what each route declares.

Every view is wrapped by `chalicelib.web.endpoint`, which records an `EndpointSpec`
on it: scope, body model, answers, errors, query parameters and headers. This module
walks `app.routes`, turns those declarations into operations, and takes every request
and response schema from the pydantic models themselves, so the document cannot drift
from what the API validates and answers.

The document is built on the first call and kept for the life of the process: it costs
a few milliseconds that a Lambda cold start should not pay for a route nobody asked for.
"""

from __future__ import annotations

import functools
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Sequence, Set, Tuple, Type

from chalice.app import Chalice, RouteEntry
from pydantic.main import BaseModel

from chalicelib.access import SCOPES
from chalicelib.core import (
    ID_PATTERN,
    MAX_BODY_BYTES,
    MAX_SETTINGS_BYTES,
    MAX_SETTINGS_DEPTH,
    PAGE_PATTERN,
    SITE_PATTERN,
    TEMPLATE_PATTERN,
)
from chalicelib.web.endpoint import EndpointSpec, Param
from chalicelib.web.responses import REQUEST_ID_HEADER
from chalicelib.web.status import ANSWERS

TITLE = "Metadata Manager"
API_VERSION = "1"
SECURITY_SCHEME = "bearerAuth"
ERROR_SCHEMA = "ErrorBody"
FIELD_ERROR_SCHEMA = "FieldError"
REF = "#/components/schemas/{model}"

# Every view with a body can fail before it runs: the body is parsed by `endpoint`.
BODY_ERRORS = (400, 413, 415, 422)
SCOPE_ERRORS = (401, 403)
# `endpoint` turns anything unexpected into a 500, on every route.
INTERNAL_ERROR = 500
UNAVAILABLE = 503
# Views that reach no table, queue or token store, so they cannot answer 503. Listed by
# name because an EndpointSpec does not say what a view calls; a new route is assumed
# to reach a dependency, which errs on the side of documenting a 503 it never sends.
SELF_CONTAINED_VIEWS = frozenset({"health", "openapi_document"})

PATH_PARAMETERS: Mapping[str, Tuple[str, Mapping[str, Any]]] = {
    "site": ("A site's slug.", {"type": "string", "pattern": SITE_PATTERN}),
    "page": ("A page's slug, unique within its site.", {"type": "string", "pattern": PAGE_PATTERN}),
    "id": (
        "A config's id: the `id` of the 202 answer to `POST /metadata`, and of every config listed.",
        {"type": "string", "pattern": ID_PATTERN},
    ),
    "layout": (
        "A layout of the site: the name of a template in the site's code.",
        {"type": "string", "pattern": TEMPLATE_PATTERN},
    ),
    "operation_id": (
        "An operation's id: the `operationId` of a 202 answer, also the end of its `Location` header.",
        {"type": "string", "pattern": ID_PATTERN},
    ),
}

SUCCESS_DESCRIPTIONS: Mapping[int, str] = {
    202: "Accepted: the write is queued, validated completely; follow `Location` to see how it goes.",
    204: "No content.",
    304: "Not modified: the ETag sent in `If-None-Match` is current. No body.",
}
NO_CONTENT = frozenset({204, 304})

RESPONSE_HEADERS: Mapping[str, Tuple[str, Mapping[str, Any]]] = {
    REQUEST_ID_HEADER: (
        "The request's id, also in every error body and in the service's logs.",
        {"type": "string"},
    ),
    "ETag": (
        "The entity tag of what is answered (a config version, a schema version, or the versions a site serves, "
        "for its manifest and bundle alike): send it as `If-None-Match` to revalidate, or as `If-Match` to write "
        "a config or a schema.",
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
}
# What every answer of a private route (a preview) carries.
PRIVATE_HEADERS = ("Cache-Control", "X-Robots-Tag", "Referrer-Policy", "Vary")
CORS_HEADERS = ("Vary", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers")
PREFLIGHT_HEADERS = ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age")
# Which request headers a route declares decides the caching and CORS headers it answers.
CONDITIONAL_HEADER = "If-None-Match"
CORS_HEADER = "Origin"

if TYPE_CHECKING:
    from pydantic.json_schema import JsonSchemaMode


@functools.cache
def document(app: Chalice) -> Dict[str, Any]:
    """The document of `app`'s routes; built once per process. Callers must not change it."""
    operations = list(_operations(app))
    # Imported here: it is the largest part of pydantic, and only this route needs it.
    from pydantic.json_schema import models_json_schema

    refs, definitions = models_json_schema(_wanted_models([spec for *_, spec in operations]), ref_template=REF)
    meanings = _error_meanings()
    paths: Dict[str, Dict[str, Any]] = {}
    for path, method, route, spec in operations:
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, route, spec, refs, meanings)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": API_VERSION,
            "description": "Render configurations of websites' pages: managed by editors, fetched by frontends.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(definitions.get("$defs", {})),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token, `Authorization: Bearer <token>`. Its scope is one of "
                    + " < ".join(f"`{scope}`" for scope in SCOPES)
                    + "; a larger scope can do what a smaller one can.",
                }
            },
            "headers": {
                name: {"description": description, "schema": dict(schema)}
                for name, (description, schema) in RESPONSE_HEADERS.items()
            },
        },
    }


RouteOperation = Tuple[str, str, RouteEntry, EndpointSpec]


def _operations(app: Chalice) -> Iterator[RouteOperation]:
    for path, methods in app.routes.items():
        for method, route in methods.items():
            spec = getattr(route.view_function, "endpoint", None)
            if not isinstance(spec, EndpointSpec):
                raise TypeError(f"{method} {path} is not wrapped by chalicelib.http.endpoint; it cannot be documented")
            yield path, method, route, spec


# Keyed by (model, mode); pydantic types the model as "a model or a pydantic dataclass".
ModelRefs = Mapping[Tuple[Any, "JsonSchemaMode"], Mapping[str, Any]]


def _wanted_models(specs: Sequence[EndpointSpec]) -> List[Tuple[Type[BaseModel], JsonSchemaMode]]:
    # Bodies are what the API validates; answers are what it serializes. For models with
    # defaults or validators the two schemas differ, and pydantic names them apart.
    wanted: Dict[Tuple[Type[BaseModel], JsonSchemaMode], None] = {}
    for spec in specs:
        if spec.body is not None:
            wanted[(spec.body, "validation")] = None
        for model in spec.answers.values():
            if model is not None:
                wanted[(model, "serialization")] = None
    return list(wanted)


def _schemas(definitions: Mapping[str, Any]) -> Dict[str, Any]:
    schemas = dict(definitions)
    for name, schema in _error_schemas().items():
        if name in schemas:
            raise ValueError(f"a model is named {name}, which the document keeps for the error body")
        schemas[name] = schema
    return _with_operation_types(schemas)


def _with_operation_types(schemas: Dict[str, Any]) -> Dict[str, Any]:
    """An operation's `type` is stored as a string; the document names the types there
    are, from the registry of operation types (which loads with this route only)."""
    from chalicelib.writes import operation_types

    operation = schemas.get("Operation")
    if operation is None:
        return schemas
    named = {"enum": list(operation_types()), "type": "string"}
    types = {**operation["properties"]["type"], "anyOf": [named, {"type": "null"}]}
    schemas["Operation"] = {**operation, "properties": {**operation["properties"], "type": types}}
    return schemas


def _error_schemas() -> Dict[str, Any]:
    codes = sorted({code for codes in _error_codes().values() for code in codes} | {"InternalError"})
    return {
        ERROR_SCHEMA: {
            "title": ERROR_SCHEMA,
            "description": "Every error the API answers has this body.",
            "type": "object",
            "properties": {
                "error": {
                    "type": "string",
                    "description": "A stable code to branch on, such as " + ", ".join(f"`{c}`" for c in codes) + ".",
                },
                "message": {"type": "string", "description": "What went wrong, for people."},
                "requestId": {"type": "string", "description": f"The same as the `{REQUEST_ID_HEADER}` header."},
                "details": {
                    "type": "array",
                    "description": "With 422: one entry per invalid field. With 409 `SchemaBreaksPublished`: "
                    "one per published config the schema would reject, with its `id`, `page`, `version` "
                    "and `errors` besides.",
                    "items": {"$ref": REF.format(model=FIELD_ERROR_SCHEMA)},
                },
            },
            "required": ["error", "message", "requestId"],
        },
        FIELD_ERROR_SCHEMA: {
            "title": FIELD_ERROR_SCHEMA,
            "type": "object",
            "properties": {
                "field": {
                    "type": "string",
                    "description": "Where: a body field, dotted (`settings.x`); or, for a settings schema's "
                    "errors, a JSON Pointer (`settings/hero/title`, `schema/properties/x/type`).",
                },
                "message": {"type": "string", "description": "What is wrong with it."},
                "type": {"type": "string", "description": "A stable kind of error, such as `string_pattern_mismatch`."},
            },
            "required": ["field", "message", "type"],
        },
    }


def _error_codes() -> Dict[int, List[str]]:
    codes: Dict[int, List[str]] = {}
    for status, code in ANSWERS.values():
        if code not in codes.setdefault(status, []):
            codes[status].append(code)
    return codes


def _error_meanings() -> Dict[int, str]:
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
    return described


def _error_statuses(route: RouteEntry, spec: EndpointSpec) -> List[int]:
    statuses: Set[int] = set(spec.errors) | {INTERNAL_ERROR}
    if spec.scope is not None:
        statuses.update(SCOPE_ERRORS)
    if spec.body is not None:
        statuses.update(BODY_ERRORS)
    if route.view_name not in SELF_CONTAINED_VIEWS:
        statuses.add(UNAVAILABLE)
    return sorted(statuses)


def _operation(
    path: str, method: str, route: RouteEntry, spec: EndpointSpec, models: ModelRefs, meanings: Mapping[int, str]
) -> Dict[str, Any]:
    operation: Dict[str, Any] = {"operationId": route.view_name}
    if spec.summary:
        operation["summary"] = spec.summary
    operation["description"] = "\n\n".join(part for part in (spec.description, _access(spec)) if part)
    parameters = _parameters(path, spec)
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "description": f"JSON in UTF-8, at most {MAX_BODY_BYTES} bytes; `settings`, where there is one, at most "
            f"{MAX_SETTINGS_BYTES} bytes as JSON and {MAX_SETTINGS_DEPTH} levels deep. Numbers a double cannot "
            "hold (such as 1e400) are refused; integers are kept exactly.",
            "content": {"application/json": {"schema": dict(models[(spec.body, "validation")])}},
        }
    operation["responses"] = _responses(method, route, spec, models, meanings)
    if spec.scope is None:
        operation["security"] = []
    else:
        # OpenAPI 3.1 lets a non-OAuth requirement name roles: here, the scope needed.
        operation["security"] = [{SECURITY_SCHEME: [spec.scope]}]
        operation["x-scope"] = spec.scope
    return operation


def _access(spec: EndpointSpec) -> str:
    if spec.scope is None:
        return "Public: no token needed."
    larger = SCOPES[SCOPES.index(spec.scope) + 1 :]
    also = f" (or {' or '.join(f'`{scope}`' for scope in larger)})" if larger else ""
    return f"Needs a bearer token with the `{spec.scope}` scope{also}."


def _parameters(path: str, spec: EndpointSpec) -> List[Dict[str, Any]]:
    parameters = []
    for name in re.findall(r"\{(\w+)\}", path):
        description, schema = PATH_PARAMETERS.get(name, (f"The {name}.", {"type": "string"}))
        parameters.append(
            {"name": name, "in": "path", "required": True, "description": description, "schema": dict(schema)}
        )
    parameters.extend(_parameter(param, "query") for param in spec.query)
    parameters.extend(_parameter(param, "header") for param in spec.headers)
    return parameters


def _parameter(param: Param, location: str) -> Dict[str, Any]:
    return {
        "name": param.name,
        "in": location,
        "required": param.required,
        "description": param.description,
        "schema": dict(param.schema),
    }


def _responses(
    method: str, route: RouteEntry, spec: EndpointSpec, models: ModelRefs, meanings: Mapping[int, str]
) -> Dict[str, Any]:
    responses: Dict[str, Any] = {}
    for status, model in sorted(spec.answers.items()):
        response: Dict[str, Any] = {
            "description": SUCCESS_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "headers": _headers(method, spec, status),
        }
        if status not in NO_CONTENT:
            schema = dict(models[(model, "serialization")]) if model is not None else {"type": "object"}
            response["content"] = {"application/json": {"schema": schema}}
        responses[str(status)] = response
    for status in _error_statuses(route, spec):
        responses[str(status)] = {
            "description": meanings.get(status, HTTPStatus(status).phrase),
            "headers": _headers(method, spec, status),
            "content": {"application/json": {"schema": {"$ref": REF.format(model=ERROR_SCHEMA)}}},
        }
    return responses


def _private_headers(method: str, status: int) -> Dict[str, Any]:
    """A preview's answers: never cached or indexed; with the site's CORS once it is read."""
    names = [REQUEST_ID_HEADER, *PRIVATE_HEADERS]
    if status in (200, 204, 403, 404):
        names.extend(("Access-Control-Allow-Origin", "Access-Control-Expose-Headers"))
    if method == "OPTIONS" and status == 204:
        names.extend(PREFLIGHT_HEADERS)
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _headers(method: str, spec: EndpointSpec, status: int) -> Dict[str, Any]:
    if spec.private:
        return _private_headers(method, status)
    names = [REQUEST_ID_HEADER]
    declared = {param.name for param in spec.headers}
    conditional = CONDITIONAL_HEADER in declared and status in (200, 304)
    if conditional:
        names.append("ETag")
    if status == 202:
        names.append("Location")
    if CORS_HEADER in declared:
        # The frontend read path answers its 404 with CORS and a short cache too, so a
        # page's script can see it and a CDN can absorb a flood of misses.
        if method == "OPTIONS" and status == 204:
            names.extend((*CORS_HEADERS, *PREFLIGHT_HEADERS))
        elif method == "GET" and status in (200, 304, 404):
            names.extend((*CORS_HEADERS, "Cache-Control"))
        elif method == "OPTIONS" and status == 404:
            # A page that cannot exist: the GET's 404 headers, never a grant.
            names.extend(("Vary", "Cache-Control"))
    elif conditional:
        names.append("Cache-Control")
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}
