"""GET /openapi.json: a valid OpenAPI document of exactly the routes the app serves, whose
security, schemas and headers say what the API really demands and answers: required
headers are sent, optional fields may be absent, codes are the ones there are.
(tests/test_openapi_clients.py: what linters and client generators make of it.)"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest
from chalice.test import Client

# No stubs for jsonschema in requirements-dev.txt (types-jsonschema would give them).
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from openapi_spec_validator import validate

from chalicelib import access as auth
from chalicelib.core.limits import PAGE_PATTERN, SITE_PATTERN
from tests.conftest import Api

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Path parameters that reach a view's own checks rather than the router's.
SAMPLE_PATH_VALUES = {
    "site": "shop",
    "page": "home",
    "id": "a" * 26,
    "operation_id": "a" * 26,
    "layout": "hero",
    "link": "a" * 26,
    "release": "0" * 26,
    "name": "cdn-purge",
    "asset": "console-AAAAAAAA.js",
}
NEXT_SMALLER_SCOPE = {"read": None, "write": "read", "admin": "write"}

# What each operation answers, on a stack with tokens and nothing else, to a request with
# its own scope (or none), the sample path values and an empty body where it takes one:
# the route's own answer, past the authorizer, and never a 500 (documented for all).
ANSWERS = {
    ("/health", "get"): 200,
    ("/openapi.json", "get"): 200,
    ("/console", "get"): 200,
    ("/console/assets/{asset}", "get"): 404,  # the made-up asset name
    ("/sites/{site}/pages/{page}", "get"): 404,
    ("/sites/{site}/pages/{page}", "options"): 204,
    ("/sites/{site}/manifest", "get"): 404,  # no site
    ("/sites/{site}/manifest", "options"): 204,
    ("/sites/{site}/bundle", "get"): 404,
    ("/sites/{site}/bundle", "options"): 204,
    ("/metadata/{id}", "get"): 404,
    ("/metadata/{id}", "put"): 422,  # the empty body lacks its fields
    ("/metadata/{id}", "delete"): 404,
    ("/sites/{site}", "put"): 422,
    ("/sites/{site}", "get"): 404,
    ("/sites", "get"): 200,
    ("/metadata", "post"): 422,
    ("/metadata", "get"): 400,  # no ?site=
    ("/metadata/{id}/versions", "get"): 404,
    ("/operations/{operation_id}", "get"): 404,
    ("/admin/backups", "get"): 200,
    ("/admin/redrive", "post"): 200,
    ("/sites/{site}/schemas/{layout}", "put"): 422,
    ("/sites/{site}/schemas/{layout}", "get"): 404,
    ("/sites/{site}/schemas/{layout}", "delete"): 404,
    ("/sites/{site}/schemas", "get"): 404,  # no site: the listings under a site say so
    ("/metadata/{id}/draft", "get"): 404,
    ("/metadata/{id}/publish", "post"): 422,  # the empty body lacks its version
    ("/metadata/{id}/unpublish", "post"): 404,
    ("/metadata/{id}/diff", "get"): 404,
    ("/sites/{site}/audit", "get"): 404,
    ("/admin/audit", "get"): 200,
    ("/metadata/{id}/preview-links", "post"): 404,
    ("/metadata/{id}/preview-links", "get"): 404,
    ("/metadata/{id}/preview-links/{link}", "delete"): 404,
    ("/preview/sites/{site}/pages/{page}", "get"): 401,
    ("/preview/sites/{site}/pages/{page}", "options"): 204,
    ("/sites/{site}/releases", "post"): 422,  # the empty body lacks its fields
    ("/sites/{site}/releases", "get"): 404,
    ("/sites/{site}/releases/{release}", "get"): 404,
    ("/sites/{site}/releases/{release}/approve", "post"): 404,
    ("/sites/{site}/releases/{release}/publish", "post"): 404,
    ("/sites/{site}/releases/{release}/cancel", "post"): 404,
    ("/sites/{site}/releases/{release}/revert", "post"): 404,
    ("/sites/{site}/webhooks/{name}", "put"): 422,  # the empty body lacks its url
    ("/sites/{site}/webhooks/{name}", "get"): 404,
    ("/sites/{site}/webhooks/{name}", "delete"): 404,
    ("/sites/{site}/webhooks", "get"): 404,
    ("/sites/{site}/webhooks/{name}/rotate-secret", "post"): 404,
    ("/sites/{site}/webhooks/{name}/deliveries", "get"): 404,
    ("/sites/{site}/webhooks/{name}/test", "post"): 404,
}

VALID_CONFIG = {"site": "shop", "page": "home", "layout": "two-column", "theme": "dark", "settings": {"hero": True}}
VALID_SITE = {"name": "Shop", "allowedOrigins": ["https://shop.example"], "cacheMaxAge": 120}


@pytest.fixture
def spec(client: Client) -> Dict[str, Any]:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/json"
    document: Dict[str, Any] = json.loads(response.body)
    return document


def app_routes() -> Iterator[Tuple[str, str, Any]]:
    from app import app

    for path, methods in app.routes.items():
        for method, route in methods.items():
            yield path, method.lower(), route


def operations(spec: Dict[str, Any]) -> Iterator[Tuple[str, str, Dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def schema_validator(spec: Dict[str, Any], schema: Dict[str, Any]) -> Draft202012Validator:
    """A validator for a schema of the document, its `#/components/...` refs resolved in it."""
    return Draft202012Validator({**schema, "components": spec["components"]})


def body_schema(spec: Dict[str, Any], method: str, path: str) -> Draft202012Validator:
    return schema_validator(spec, spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])


def known_headers(spec: Dict[str, Any]) -> Set[str]:
    """Every response header the document names, anywhere."""
    return {
        name.lower()
        for item in spec["paths"].values()
        for operation in item.values()
        for answer in operation["responses"].values()
        for name in answer.get("headers", {})
    }


def header_object(spec: Dict[str, Any], header: Dict[str, Any]) -> Dict[str, Any]:
    if "$ref" in header:
        found: Dict[str, Any] = spec["components"]["headers"][header["$ref"].rsplit("/", 1)[-1]]
        return found
    return header


def assert_documented(spec: Dict[str, Any], method: str, path: str, response: Any, default: bool = False) -> None:
    """The answer's status is documented (or, with `default`, falls to the `default`
    answer), its body fits the documented schema, each of its headers the document knows
    of is documented for that status, and each header documented as required is sent."""
    documented = spec["paths"][path][method]["responses"]
    status = str(response.status_code)
    if default:
        assert status not in documented, (method, path, status)
        status = "default"
    assert status in documented, (method, path, status, sorted(documented))
    answer = documented[status]
    media = {name.lower(): value for name, value in response.headers.items()}.get("content-type", "")
    media = media.split(";")[0].strip()
    if "content" in answer and media != "application/json":
        assert media in answer["content"], (method, path, status, media, sorted(answer["content"]))
        assert response.body, (method, path, status)
    elif "content" in answer:
        schema = answer["content"]["application/json"]["schema"]
        body = json.loads(response.body)
        errors = [error.message for error in schema_validator(spec, schema).iter_errors(body)]
        assert not errors, (method, path, status, errors, body)
    else:
        assert not response.body, (method, path, status, response.body)
    declared = {name.lower() for name in answer.get("headers", {})}
    sent = {name.lower() for name in response.headers}
    assert (sent & known_headers(spec)) <= declared, (
        method,
        path,
        status,
        sorted((sent & known_headers(spec)) - declared),
    )
    required = {
        name.lower() for name, header in answer.get("headers", {}).items() if header_object(spec, header)["required"]
    }
    assert required <= sent, (method, path, status, sorted(required - sent))


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: SAMPLE_PATH_VALUES[match.group(1)], path)


def test_the_document_is_valid_openapi_3_1(spec: Dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1.")


def test_every_route_and_method_is_documented_and_nothing_else(spec: Dict[str, Any]) -> None:
    served = {(path, method) for path, method, _ in app_routes()}
    documented = {(path, method) for path, method, _ in operations(spec)}
    assert documented == served
    assert set(ANSWERS) == served
    assert all(set(item) <= HTTP_METHODS for item in spec["paths"].values())


def test_operation_ids_are_the_view_names_and_summaries_their_docstrings(spec: Dict[str, Any]) -> None:
    for path, method, route in app_routes():
        operation = spec["paths"][path][method]
        assert operation["operationId"] == route.view_name
        assert operation["summary"] == route.view_function.__doc__.strip().split("\n")[0]
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))


def test_protected_operations_declare_bearer_security_and_their_scope(spec: Dict[str, Any]) -> None:
    scheme_name, scheme = next(iter(spec["components"]["securitySchemes"].items()))
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    for path, method, route in app_routes():
        operation = spec["paths"][path][method]
        if route.authorizer is None:
            assert operation["security"] == [], (method, path)
            assert "x-scope" not in operation
            continue
        scope = operation["x-scope"]
        assert scope in auth.SCOPES, (method, path)
        # The scope is in `x-scope`: the requirement's list is for OAuth scopes only.
        assert operation["security"] == [{scheme_name: []}], (method, path)
        assert f"`{scope}` scope" in operation["description"]
        assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_each_protected_operation_demands_exactly_its_documented_scope(spec: Dict[str, Any], api: Api) -> None:
    protected = [(path, method, op) for path, method, op in operations(spec) if op["security"]]
    assert protected
    for path, method, operation in protected:
        url, scope = concrete(path), operation["x-scope"]
        body: Optional[Dict[str, Any]] = {} if "requestBody" in operation else None
        allowed = api.request(method.upper(), url, body, scope=scope)
        assert allowed.status_code == ANSWERS[(path, method)], (method, path, scope, allowed.body)
        smaller = NEXT_SMALLER_SCOPE[scope]
        if smaller is None:
            denied = api.request(method.upper(), url, body, scope=None, headers={"Authorization": "Bearer mmt_nope"})
            expected = 401
        else:
            denied = api.request(method.upper(), url, body, scope=smaller)
            expected = 403
        assert denied.status_code == expected, (method, path, smaller, denied.body)
        assert_documented(spec, method, path, denied)


def test_public_operations_answer_without_a_token(spec: Dict[str, Any], api: Api) -> None:
    for path, method, operation in operations(spec):
        if not operation["security"]:
            response = api.request(method.upper(), concrete(path), scope=None)
            assert response.status_code == ANSWERS[(path, method)], (method, path, response.body)
            assert_documented(spec, method, path, response)


def test_every_error_is_documented_with_the_error_body(spec: Dict[str, Any]) -> None:
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        assert {"429", "500", "default"} <= set(responses), (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= set(responses), (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert "415" in responses, (method, path)  # Chalice refuses a body not declared as JSON
        for status, answer in responses.items():
            if status == "default" or int(status) >= 400:
                assert answer["content"]["application/json"]["schema"] == error_ref, (method, path, status)
                assert answer["description"], (method, path, status)


def test_slug_parameters_and_bodies_carry_the_slug_patterns(spec: Dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["ConfigCreateInput"]["properties"]["site"]["pattern"] == SITE_PATTERN
    assert schemas["ConfigCreateInput"]["properties"]["page"]["pattern"] == PAGE_PATTERN
    parameters = spec["paths"]["/sites/{site}/pages/{page}"]["get"]["parameters"]
    patterns = {p["name"]: p["schema"].get("pattern") for p in parameters if p["in"] == "path"}
    assert patterns == {"site": SITE_PATTERN, "page": PAGE_PATTERN}


INVALID_BODIES: List[Tuple[str, str, Any]] = [
    ("post", "/metadata", {**VALID_CONFIG, "site": "Shop!"}),
    ("post", "/metadata", {**VALID_CONFIG, "page": "-home"}),
    ("post", "/metadata", {key: value for key, value in VALID_CONFIG.items() if key != "layout"}),
    ("post", "/metadata", {**VALID_CONFIG, "colour": "red"}),
    ("post", "/metadata", {**VALID_CONFIG, "theme": "dark mode"}),
    ("post", "/metadata", {**VALID_CONFIG, "settings": [1, 2]}),
    ("put", "/sites/{site}", {**VALID_SITE, "cacheMaxAge": -1}),
    ("put", "/sites/{site}", {**VALID_SITE, "cacheMaxAge": "60"}),
    ("put", "/sites/{site}", {**VALID_SITE, "name": ""}),
    ("put", "/sites/{site}", {**VALID_SITE, "allowedOrigins": ["https://shop.example"] * 51}),
    ("put", "/metadata/{id}", {"layout": "two-column"}),
]


@pytest.mark.parametrize(("method", "path", "body"), INVALID_BODIES)
def test_request_schemas_reject_what_the_api_rejects(
    spec: Dict[str, Any], api: Api, method: str, path: str, body: Any
) -> None:
    response = api.request(method.upper(), concrete(path), body)
    assert response.status_code == 422, response.body
    assert_documented(spec, method, path, response)
    assert not body_schema(spec, method, path).is_valid(body)


def test_request_schemas_accept_what_the_api_accepts(spec: Dict[str, Any], api: Api) -> None:
    assert body_schema(spec, "put", "/sites/{site}").is_valid(VALID_SITE)
    site = api.request("PUT", "/sites/shop", VALID_SITE)
    assert site.status_code == 202, site.body
    assert_documented(spec, "put", "/sites/{site}", site)
    api.apply()
    assert body_schema(spec, "post", "/metadata").is_valid(VALID_CONFIG)
    created = api.request("POST", "/metadata", VALID_CONFIG)
    assert created.status_code == 202, created.body
    assert_documented(spec, "post", "/metadata", created)


def test_config_answers_match_their_documented_schemas_and_headers(spec: Dict[str, Any], api: Api) -> None:
    api.create_site()
    config = api.create_config()
    path = "/metadata/{id}"
    fresh = api.request("GET", f"/metadata/{config['id']}", scope=None)
    assert fresh.status_code == 200
    assert_documented(spec, "get", path, fresh)
    assert "ETag" in spec["paths"][path]["get"]["responses"]["200"]["headers"]
    etag = fresh.headers["ETag"]
    cached = api.request("GET", f"/metadata/{config['id']}", scope=None, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert_documented(spec, "get", path, cached)
    reads = [
        ("/metadata?site=shop", "/metadata"),
        (f"/metadata/{config['id']}/versions", "/metadata/{id}/versions"),
        ("/sites", "/sites"),
        ("/sites/shop", "/sites/{site}"),
    ]
    for url, template in reads:
        response = api.request("GET", url, scope="read")
        assert response.status_code == 200, (url, response.body)
        assert_documented(spec, "get", template, response)


def test_the_page_route_documents_its_cache_and_cors_headers(spec: Dict[str, Any], api: Api) -> None:
    api.create_site()
    api.create_config()
    path = "/sites/{site}/pages/{page}"
    origin = {"Origin": "https://shop.example"}
    page = api.request("GET", "/sites/shop/pages/home", scope=None, headers=origin)
    assert page.status_code == 200
    assert page.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert_documented(spec, "get", path, page)
    documented = spec["paths"][path]["get"]["responses"]["200"]["headers"]
    assert {"ETag", "Cache-Control", "Access-Control-Allow-Origin", "Vary"} <= set(documented)
    missing = api.request("GET", "/sites/shop/pages/nowhere", scope=None, headers=origin)
    assert missing.status_code == 404
    assert_documented(spec, "get", path, missing)
    preflight = api.request("OPTIONS", "/sites/shop/pages/home", scope=None, headers=origin)
    assert preflight.status_code == 204
    assert_documented(spec, "options", path, preflight)
    impossible = api.request("OPTIONS", "/sites/shop/pages/Bad%20Page", scope=None, headers=origin)
    assert impossible.status_code == 404
    assert_documented(spec, "options", path, impossible)


def test_an_accepted_write_is_documented_with_its_location(spec: Dict[str, Any], api: Api) -> None:
    api.create_site()
    accepted = api.request("POST", "/metadata", VALID_CONFIG)
    assert accepted.status_code == 202
    assert_documented(spec, "post", "/metadata", accepted)
    assert {"Location", "X-Request-Id"} <= set(spec["paths"]["/metadata"]["post"]["responses"]["202"]["headers"])
    assert accepted.headers["Location"] == f"/operations/{json.loads(accepted.body)['operationId']}"


def test_the_document_is_built_once_per_process() -> None:
    from app import app
    from chalicelib.web import openapi

    assert openapi.document(app) is openapi.document(app)


def test_the_server_is_where_the_document_is_served_from(spec: Dict[str, Any]) -> None:
    # Relative to the document's own URL: the deployed API's stage prefix (`/api`) stays.
    assert [server["url"] for server in spec["servers"]] == ["."]


def test_every_operation_is_tagged_with_its_area_and_every_area_is_described(spec: Dict[str, Any]) -> None:
    described = {tag["name"]: tag["description"] for tag in spec["tags"]}
    tagged = {(path, method): operation["tags"] for path, method, operation in operations(spec)}
    assert all(len(tags) == 1 and described.get(tags[0]) for tags in tagged.values()), tagged
    assert set(described) == {tags[0] for tags in tagged.values()}
    assert tagged[("/health", "get")] == tagged[("/openapi.json", "get")] == ["service"]
    assert tagged[("/sites/{site}/releases/{release}/approve", "post")] == ["releases"]
    assert tagged[("/metadata/{id}/versions", "get")] == tagged[("/metadata", "post")] == ["configs"]
    assert tagged[("/metadata/{id}/preview-links", "post")] == tagged[("/preview/sites/{site}/pages/{page}", "get")]
    assert tagged[("/admin/audit", "get")] == tagged[("/sites/{site}/audit", "get")] == ["audit"]


def test_a_sites_own_collection_is_an_area_of_its_own_without_being_listed() -> None:
    from chalicelib.web.openapi import area

    assert area("/sites/{site}/webhooks/{name}/deliveries") == "webhooks"
    assert area("/sites/{site}/schemas") == "schemas"
    assert area("/sites/{site}") == area("/sites") == "sites"


def property_schemas(schema: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    for name, found in schema.get("properties", {}).items():
        yield name, found
        for alternative in found.get("anyOf", []):
            yield name, alternative


def test_every_timestamp_is_a_date_time(spec: Dict[str, Any]) -> None:
    """The service names its times `...At` (and `at`); each is RFC 3339, and says so."""
    timestamps = [
        (model, name, found)
        for model, schema in spec["components"]["schemas"].items()
        for name, found in property_schemas(schema)
        if re.fullmatch(r"at|\w+At", name) and found.get("type") == "string"
    ]
    assert len(timestamps) > 10
    assert all(found.get("format") == "date-time" for _, _, found in timestamps), [
        (model, name) for model, name, found in timestamps if found.get("format") != "date-time"
    ]


def test_error_codes_are_every_code_the_service_and_its_gateway_answer(spec: Dict[str, Any]) -> None:
    from chalicelib.web.status import ANSWERS
    from infra.gateway_responses import GATEWAY_ERRORS

    codes = set(spec["components"]["schemas"]["ErrorBody"]["properties"]["error"]["enum"])
    assert {code for _, code in ANSWERS.values()} | {"InternalError"} <= codes
    assert {error.code for error in GATEWAY_ERRORS} <= codes


def test_a_method_the_path_does_not_have_is_the_default_answer(spec: Dict[str, Any], api: Api) -> None:
    response = api.request("PATCH", "/health", scope=None)
    assert response.status_code == 405, response.body
    assert json.loads(response.body)["error"] == "MethodNotAllowed"
    assert_documented(spec, "get", "/health", response, default=True)


def test_a_body_sent_to_a_route_that_takes_none_is_a_documented_415(spec: Dict[str, Any], api: Api) -> None:
    api.create_site()
    config = api.create_config()
    response = api.request("DELETE", f"/metadata/{config['id']}", b"please", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415, response.body
    assert_documented(spec, "delete", "/metadata/{id}", response)


def test_a_site_with_only_a_name_is_what_the_request_schema_asks_for(spec: Dict[str, Any], api: Api) -> None:
    body = {"name": "The Shop"}
    assert body_schema(spec, "put", "/sites/{site}").is_valid(body)
    site_input = spec["paths"]["/sites/{site}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    properties = spec["components"]["schemas"][site_input["$ref"].rsplit("/", 1)[-1]]["properties"]
    # Said, not given as `default`: generators would make the field required.
    assert "default" not in properties["cacheMaxAge"]
    assert "Default: `60`" in properties["cacheMaxAge"]["description"]
    response = api.request("PUT", "/sites/shop", body)
    assert response.status_code == 202, response.body
    assert_documented(spec, "put", "/sites/{site}", response)
    api.apply()
    site = api.request("GET", "/sites/shop", scope="read")
    assert site.json_body["cacheMaxAge"] == 60
    assert_documented(spec, "get", "/sites/{site}", site)  # a default is sent: required in the answer


def test_an_operation_read_before_it_is_applied_has_no_version_as_documented(spec: Dict[str, Any], api: Api) -> None:
    api.create_site()
    accepted = api.request("POST", "/metadata", VALID_CONFIG).json_body
    pending = api.request("GET", f"/operations/{accepted['operationId']}", scope="write")
    assert pending.json_body["status"] == "pending"
    assert "version" not in pending.json_body
    assert "error" not in pending.json_body
    assert_documented(spec, "get", "/operations/{operation_id}", pending)
    schema = spec["components"]["schemas"]["Operation"]
    assert not {"version", "error", "completedAt"} & set(schema["required"])
    assert schema["properties"]["version"] == {"type": "integer"}  # absent, never null


def test_a_deleted_version_without_content_is_as_documented(spec: Dict[str, Any], api: Api) -> None:
    api.create_site()
    config = api.create_config()
    api.write("DELETE", f"/metadata/{config['id']}")
    versions = api.request("GET", f"/metadata/{config['id']}/versions", scope="read")
    deleted = versions.json_body["items"][0]
    assert deleted["deleted"] is True
    assert "layout" not in deleted
    assert_documented(spec, "get", "/metadata/{id}/versions", versions)


@pytest.mark.parametrize("path", ["/sites/{site}/pages/{page}", "/preview/sites/{site}/pages/{page}"])
def test_a_preflight_for_a_site_that_does_not_exist_is_the_documented_204(
    spec: Dict[str, Any], api: Api, path: str
) -> None:
    headers = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    response = api.request("OPTIONS", path.format(site="nowhere", page="home"), scope=None, headers=headers)
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert_documented(spec, "options", path, response)
    assert "a 204 without a grant" in spec["paths"][path]["options"]["responses"]["404"]["description"]
