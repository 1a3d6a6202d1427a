"""The OpenAPI 3.1 document of this API, generated from what each route declares.

Every view is wrapped by `chalicelib.web.endpoint`, which records an `EndpointSpec`
on it: scope, body model, answers, errors, query parameters and headers. This module
walks `app.routes`, turns those declarations into operations, tagged by the area their
path is in, and takes every request and response schema from the pydantic models
themselves (`openapi_schemas`), so the document cannot drift from what the API validates
and answers; `openapi_responses` says which statuses and headers each answer has.

The document is built on the first call and kept for the life of the process: it costs
a few milliseconds that a Lambda cold start should not pay for a route nobody asked for.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Dict, Iterator, List, Mapping, Set, Tuple

from chalice.app import Chalice, RouteEntry

from chalicelib.access import SCOPES
from chalicelib.console import ASSET_PATTERN
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
from chalicelib.web.openapi_responses import error_meanings, header_components, responses
from chalicelib.web.openapi_schemas import ModelRefs, model_schemas

TITLE = "Metadata Manager"
API_VERSION = "1"
SECURITY_SCHEME = "bearerAuth"
# Relative to where the document is served from: the API's base URL, with the stage's
# prefix when deployed (`/api`), which "/" would lose.
SERVER = {
    "url": ".",
    "description": "Where this document is served from, without `/openapi.json`: the API's base URL.",
}

# The area of each path, for the operations' tags: the longest listed prefix, matched by
# whole segments. A site's own collections (`/sites/{site}/schemas`, ...) not listed here
# are an area each, named by their segment, so a new route needs no entry to be tagged.
AREAS: Tuple[Tuple[str, str], ...] = (
    ("/health", "service"),
    ("/openapi.json", "service"),
    ("/sites", "sites"),
    ("/sites/{site}/manifest", "pages"),
    ("/sites/{site}/bundle", "pages"),
    ("/metadata", "configs"),
    ("/metadata/{id}/preview-links", "previews"),
    ("/preview", "previews"),
    ("/operations", "operations"),
    ("/admin", "admin"),
    ("/admin/audit", "audit"),
    ("/console", "console"),
)
SITE_AREAS = "/sites/{site}"
TAG_DESCRIPTIONS: Mapping[str, str] = {
    "service": "The service itself: whether it is up, and this document.",
    "sites": "Sites: their names, allowed origins, caching and publishing settings.",
    "pages": "What frontends fetch: a page's published render config, cacheable, with CORS for the site; and every "
    "page of a site at once (its manifest and its bundle), for builds and server-side renderers.",
    "configs": "Render configs of pages: writes, drafts, publishing, versions and differences.",
    "previews": "Drafts shown before they are published: preview links and the preview route.",
    "schemas": "Settings schemas: which `settings` each layout of a site accepts.",
    "releases": "Several pages of a site published together: approved, scheduled, reverted.",
    "audit": "Who changed what, and how, newest first.",
    "operations": "How an accepted write is going.",
    "admin": "For operators: the backup check's reports and the dead-letter redrive.",
    "console": "The console, an admin web application for editors: its HTML page and the scripts and styles it "
    "loads. These are not API routes: the console itself uses the routes above, with a token.",
}

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
    "asset": (
        "A built asset of the console, named with a hash of its content (the page names the current ones).",
        {"type": "string", "pattern": ASSET_PATTERN},
    ),
    "operation_id": (
        "An operation's id: the `operationId` of a 202 answer, also the end of its `Location` header.",
        {"type": "string", "pattern": ID_PATTERN},
    ),
}


@functools.cache
def document(app: Chalice) -> Dict[str, Any]:
    """The document of `app`'s routes; built once per process. Callers must not change it."""
    operations = list(_operations(app))
    specs = [spec for *_, spec in operations]
    refs, schemas = model_schemas(
        [spec.body for spec in specs if spec.body is not None],
        [model for spec in specs for model in spec.answers.values() if model is not None],
    )
    meanings = error_meanings()
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
        "servers": [SERVER],
        "tags": _tags(paths),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token, `Authorization: Bearer <token>`. Its scope is one of "
                    + " < ".join(f"`{scope}`" for scope in SCOPES)
                    + "; a larger scope can do what a smaller one can. Each operation names the scope "
                    "it needs in its description and in `x-scope`.",
                }
            },
            "headers": header_components(_shared_headers(paths)),
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


def area(path: str) -> str:
    """The tag of a path's operations (see AREAS)."""
    segments = path.strip("/").split("/")
    listed = [(len(prefix.strip("/").split("/")), tag) for prefix, tag in AREAS if _under(segments, prefix)]
    site = SITE_AREAS.strip("/").split("/")
    deepest = max(listed, default=(0, segments[0]))
    if deepest[0] <= len(site) and _under(segments, SITE_AREAS) and len(segments) > len(site):
        return segments[len(site)]
    return deepest[1]


def _under(segments: List[str], prefix: str) -> bool:
    wanted = prefix.strip("/").split("/")
    return segments[: len(wanted)] == wanted


def _tags(paths: Mapping[str, Any]) -> List[Dict[str, str]]:
    used = {operation["tags"][0] for item in paths.values() for operation in item.values()}
    known = [tag for tag in TAG_DESCRIPTIONS if tag in used]
    named = sorted(used - set(known))
    return [{"name": tag, "description": TAG_DESCRIPTIONS[tag]} for tag in known] + [
        {"name": tag, "description": f"A site's {tag}: the routes under `/sites/{{site}}/{tag}`."} for tag in named
    ]


def _shared_headers(paths: Mapping[str, Any]) -> Set[str]:
    ref = "#/components/headers/"
    return {
        header["$ref"][len(ref) :]
        for item in paths.values()
        for operation in item.values()
        for response in operation["responses"].values()
        for header in response.get("headers", {}).values()
        if "$ref" in header
    }


def _operation(
    path: str, method: str, route: RouteEntry, spec: EndpointSpec, models: ModelRefs, meanings: Mapping[int, str]
) -> Dict[str, Any]:
    operation: Dict[str, Any] = {"operationId": route.view_name, "tags": [area(path)]}
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
    operation["responses"] = responses(method, route, spec, models, meanings)
    if spec.scope is None:
        operation["security"] = []
    else:
        # The scope is not listed on the requirement: OpenAPI keeps that list for OAuth
        # scopes, and linters refuse it on an http scheme. It is in `x-scope` instead.
        operation["security"] = [{SECURITY_SCHEME: []}]
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
