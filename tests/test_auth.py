"""Bearer tokens and scopes: every route by no token / unknown token / too small a scope / enough;
and the authorizer as API Gateway invokes it."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest

from chalicelib import access as auth
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import token_hash
from chalicelib.services import get_services
from tests.conftest import Api
from tests.helpers import Faults, assert_error

CONFIG_ID = "a" * 26
OPERATION_ID = "b" * 26
RELEASE_ID = "0" * 26

# (method, path, body, the scope the contract asks for)
PROTECTED = [
    ("PUT", "/sites/shop", {"name": "Shop"}, "admin"),
    ("GET", "/sites/shop", None, "read"),
    ("GET", "/sites", None, "read"),
    ("POST", "/metadata", {"site": "shop", "page": "p", "layout": "a", "theme": "b"}, "write"),
    ("PUT", f"/metadata/{CONFIG_ID}", {"layout": "a", "theme": "b"}, "write"),
    ("DELETE", f"/metadata/{CONFIG_ID}", None, "write"),
    ("GET", "/metadata?site=shop", None, "read"),
    ("GET", f"/metadata/{CONFIG_ID}/versions", None, "read"),
    ("GET", f"/operations/{OPERATION_ID}", None, "write"),
    ("GET", "/admin/backups", None, "admin"),
    ("POST", "/admin/redrive", None, "admin"),
    ("PUT", "/sites/shop/schemas/hero", {"schema": {"type": "object"}}, "admin"),
    ("GET", "/sites/shop/schemas/hero", None, "read"),
    ("GET", "/sites/shop/schemas", None, "read"),
    ("DELETE", "/sites/shop/schemas/hero", None, "admin"),
    ("GET", f"/metadata/{CONFIG_ID}/draft", None, "read"),
    ("POST", f"/metadata/{CONFIG_ID}/publish", {"version": 1}, "write"),
    ("POST", f"/metadata/{CONFIG_ID}/unpublish", None, "write"),
    ("GET", f"/metadata/{CONFIG_ID}/diff", None, "read"),
    ("GET", "/sites/shop/audit", None, "admin"),
    ("GET", "/admin/audit", None, "admin"),
    ("POST", f"/metadata/{CONFIG_ID}/preview-links", {}, "write"),
    ("GET", f"/metadata/{CONFIG_ID}/preview-links", None, "read"),
    ("DELETE", f"/metadata/{CONFIG_ID}/preview-links/{CONFIG_ID}", None, "write"),
    ("POST", "/sites/shop/releases", {"title": "t", "items": [{"configId": CONFIG_ID, "version": 1}]}, "write"),
    ("GET", "/sites/shop/releases", None, "read"),
    ("GET", f"/sites/shop/releases/{RELEASE_ID}", None, "read"),
    ("POST", f"/sites/shop/releases/{RELEASE_ID}/approve", None, "write"),
    ("POST", f"/sites/shop/releases/{RELEASE_ID}/publish", None, "write"),
    ("POST", f"/sites/shop/releases/{RELEASE_ID}/cancel", None, "write"),
    ("POST", f"/sites/shop/releases/{RELEASE_ID}/revert", None, "write"),
    ("PUT", "/sites/shop/webhooks/cdn", {"url": "http://127.0.0.1:9/"}, "admin"),
    ("GET", "/sites/shop/webhooks/cdn", None, "admin"),
    ("GET", "/sites/shop/webhooks", None, "admin"),
    ("DELETE", "/sites/shop/webhooks/cdn", None, "admin"),
    ("POST", "/sites/shop/webhooks/cdn/rotate-secret", None, "admin"),
    ("GET", "/sites/shop/webhooks/cdn/deliveries", None, "admin"),
    ("POST", "/sites/shop/webhooks/cdn/test", None, "admin"),
]
PUBLIC = [
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    # The console's page and assets: the console asks for a token itself, for the API.
    ("GET", "/console"),
    ("GET", "/console/assets/console-AAAAAAAA.js"),
    ("GET", f"/metadata/{CONFIG_ID}"),
    ("GET", "/sites/shop/pages/home"),
    ("OPTIONS", "/sites/shop/pages/home"),
    ("GET", "/sites/shop/manifest"),
    ("OPTIONS", "/sites/shop/manifest"),
    ("GET", "/sites/shop/bundle"),
    ("OPTIONS", "/sites/shop/bundle"),
    # Checks its own credentials: a read token, or a preview link's ?token= (tests/test_previews.py).
    ("GET", "/preview/sites/shop/pages/home"),
    ("OPTIONS", "/preview/sites/shop/pages/home"),
]
SMALLER: Dict[str, Optional[str]] = {"read": None, "write": "read", "admin": "write"}
# What each route answers a token it admits, on a stack with tokens and nothing else:
# (status, the contract's error code, or None for a success). A 404 or 422 in the
# contract's body comes from the route itself, past the authorizer; a 500 is never right.
ADMITTED: Dict[Tuple[str, str], Tuple[int, Optional[str]]] = {
    ("PUT", "/sites/shop"): (202, None),
    ("GET", "/sites/shop"): (404, "NotFound"),
    ("GET", "/sites"): (200, None),
    ("POST", "/metadata"): (422, "ValidationFailed"),  # site 'shop' does not exist
    ("PUT", f"/metadata/{CONFIG_ID}"): (404, "NotFound"),
    ("DELETE", f"/metadata/{CONFIG_ID}"): (404, "NotFound"),
    ("GET", "/metadata?site=shop"): (200, None),
    ("GET", f"/metadata/{CONFIG_ID}/versions"): (404, "NotFound"),
    ("GET", f"/operations/{OPERATION_ID}"): (404, "NotFound"),
    ("GET", "/admin/backups"): (200, None),
    ("POST", "/admin/redrive"): (200, None),
    ("PUT", "/sites/shop/schemas/hero"): (404, "NotFound"),  # site 'shop' does not exist
    ("GET", "/sites/shop/schemas/hero"): (404, "NotFound"),
    ("GET", "/sites/shop/schemas"): (404, "NotFound"),  # site 'shop' does not exist
    ("DELETE", "/sites/shop/schemas/hero"): (404, "NotFound"),
    ("GET", f"/metadata/{CONFIG_ID}/draft"): (404, "NotFound"),
    ("POST", f"/metadata/{CONFIG_ID}/publish"): (404, "NotFound"),
    ("POST", f"/metadata/{CONFIG_ID}/unpublish"): (404, "NotFound"),
    ("GET", f"/metadata/{CONFIG_ID}/diff"): (404, "NotFound"),
    ("GET", "/sites/shop/audit"): (404, "NotFound"),
    ("GET", "/admin/audit"): (200, None),
    ("POST", f"/metadata/{CONFIG_ID}/preview-links"): (404, "NotFound"),
    ("GET", f"/metadata/{CONFIG_ID}/preview-links"): (404, "NotFound"),
    ("DELETE", f"/metadata/{CONFIG_ID}/preview-links/{CONFIG_ID}"): (404, "NotFound"),
    ("POST", "/sites/shop/releases"): (404, "NotFound"),  # site 'shop' does not exist
    ("GET", "/sites/shop/releases"): (404, "NotFound"),
    ("GET", f"/sites/shop/releases/{RELEASE_ID}"): (404, "NotFound"),
    ("POST", f"/sites/shop/releases/{RELEASE_ID}/approve"): (404, "NotFound"),
    ("POST", f"/sites/shop/releases/{RELEASE_ID}/publish"): (404, "NotFound"),
    ("POST", f"/sites/shop/releases/{RELEASE_ID}/cancel"): (404, "NotFound"),
    ("POST", f"/sites/shop/releases/{RELEASE_ID}/revert"): (404, "NotFound"),
    ("PUT", "/sites/shop/webhooks/cdn"): (404, "NotFound"),  # site 'shop' does not exist
    ("GET", "/sites/shop/webhooks/cdn"): (404, "NotFound"),
    ("GET", "/sites/shop/webhooks"): (404, "NotFound"),
    ("DELETE", "/sites/shop/webhooks/cdn"): (404, "NotFound"),
    ("POST", "/sites/shop/webhooks/cdn/rotate-secret"): (404, "NotFound"),
    ("GET", "/sites/shop/webhooks/cdn/deliveries"): (404, "NotFound"),
    ("POST", "/sites/shop/webhooks/cdn/test"): (404, "NotFound"),
}
ANSWERED_WITHOUT_A_TOKEN: Dict[Tuple[str, str], Tuple[int, Optional[str]]] = {
    ("GET", "/health"): (200, None),
    ("GET", "/openapi.json"): (200, None),
    ("GET", "/console"): (200, None),
    ("GET", "/console/assets/console-AAAAAAAA.js"): (404, "NotFound"),  # no such build
    ("GET", f"/metadata/{CONFIG_ID}"): (404, "NotFound"),
    ("GET", "/sites/shop/pages/home"): (404, "NotFound"),
    ("OPTIONS", "/sites/shop/pages/home"): (204, None),  # a preflight, answered without an Origin
    ("GET", "/sites/shop/manifest"): (404, "NotFound"),
    ("OPTIONS", "/sites/shop/manifest"): (204, None),
    ("GET", "/sites/shop/bundle"): (404, "NotFound"),
    ("OPTIONS", "/sites/shop/bundle"): (204, None),
    ("GET", "/preview/sites/shop/pages/home"): (401, "Unauthorized"),
    ("OPTIONS", "/preview/sites/shop/pages/home"): (204, None),
}


def _route(path: str) -> str:
    from app import app

    bare = path.split("?")[0]
    for route in app.routes:
        parts, actual = route.split("/"), bare.split("/")
        if len(parts) == len(actual) and all(p.startswith("{") or p == a for p, a in zip(parts, actual, strict=True)):
            return route
    raise AssertionError(f"no route for {path}")


def test_the_matrix_covers_every_route() -> None:
    from app import app

    covered = {(method, _route(path)) for method, path, _, _ in PROTECTED} | {
        (method, _route(path)) for method, path in PUBLIC
    }
    assert covered == {(method, route) for route, methods in app.routes.items() for method in methods}
    assert set(ADMITTED) == {(method, path) for method, path, _, _ in PROTECTED}
    assert set(ANSWERED_WITHOUT_A_TOKEN) == set(PUBLIC)


def assert_answer(response: Any, expected: Tuple[int, Optional[str]]) -> None:
    status, code = expected
    if code is None:
        assert response.status_code == status, (response.status_code, response.body)
    else:
        assert_error(response, status, code)


@pytest.mark.parametrize(("method", "path", "body", "scope"), PROTECTED)
def test_protected_routes_refuse_a_request_without_a_token(
    api: Api, method: str, path: str, body: Optional[Dict[str, Any]], scope: str
) -> None:
    response = api.request(method, path, body, scope=None)
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "body", "scope"), PROTECTED)
def test_protected_routes_refuse_an_unknown_token_with_401(
    api: Api, method: str, path: str, body: Optional[Dict[str, Any]], scope: str
) -> None:
    response = api.request(method, path, body, scope=None, headers={"Authorization": "Bearer mmt_not-a-real-token"})
    assert_error(response, 401, "Unauthorized")


@pytest.mark.parametrize(("method", "path", "body", "scope"), [row for row in PROTECTED if SMALLER[row[3]]])
def test_protected_routes_refuse_a_smaller_scope_with_403(
    api: Api, method: str, path: str, body: Optional[Dict[str, Any]], scope: str
) -> None:
    error = assert_error(api.request(method, path, body, scope=SMALLER[scope]), 403, "Forbidden")
    assert f"'{scope}'" in error["message"]


@pytest.mark.parametrize(("method", "path", "body", "scope"), PROTECTED)
def test_protected_routes_admit_their_scope_and_larger_ones(
    api: Api, method: str, path: str, body: Optional[Dict[str, Any]], scope: str
) -> None:
    for granted in auth.SCOPES[auth.SCOPES.index(scope) :]:
        assert_answer(api.request(method, path, body, scope=granted), ADMITTED[(method, path)])


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_public_routes_need_no_token(api: Api, method: str, path: str) -> None:
    assert_answer(api.request(method, path, scope=None), ANSWERED_WITHOUT_A_TOKEN[(method, path)])


def test_a_header_that_is_not_bearer_is_refused(api: Api) -> None:
    token = api.tokens["admin"]
    response = api.request("GET", "/sites", scope=None, headers={"Authorization": f"Basic {token}"})
    assert_error(response, 401, "Unauthorized")


def test_tokens_are_stored_only_as_hashes(api: Api) -> None:
    tokens = get_services().store.tokens
    token = api.tokens["write"]
    stored = tokens.get(token_hash(token))
    assert stored is not None
    assert stored.scope == "write"
    items = get_services().table.scan()["Items"]  # a test may look at the whole table
    assert not any(token in str(item) for item in items)


def test_a_revoked_token_is_refused(api: Api) -> None:
    tokens = get_services().store.tokens
    secret, record = auth.issue_token(tokens, "short-lived", "read")
    assert api.request("GET", "/sites", scope=None, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert tokens.delete(record.tokenId)
    response = api.request("GET", "/sites", scope=None, headers={"Authorization": f"Bearer {secret}"})
    assert_error(response, 401, "Unauthorized")


# --- the authorizer, as API Gateway invokes it ---------------------------------------------

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/GET/sites"


def authorize(api: Api, authorization: str) -> Dict[str, Any]:
    event = {"type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN}
    policy: Dict[str, Any] = api.client.lambda_.invoke("token_authorizer", event).payload
    return policy


def allowed_resources(policy: Dict[str, Any]) -> List[str]:
    return [
        resource
        for statement in policy["policyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
        for resource in statement["Resource"]
    ]


def test_the_authorizer_allows_a_known_token_everywhere_with_its_scope(api: Api) -> None:
    policy = authorize(api, f"Bearer {api.tokens['write']}")
    assert allowed_resources(policy) == ["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/*/*"]
    assert policy["context"]["scope"] == "write"
    assert policy["principalId"] == policy["context"]["tokenId"]


@pytest.mark.parametrize("authorization", ["Bearer mmt_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "token"])
def test_the_authorizer_itself_denies_a_token_nobody_holds(api: Api, authorization: str) -> None:
    """A denial API Gateway may cache: it is what the token table says."""
    policy = authorize(api, authorization)
    assert allowed_resources(policy) == []
    assert policy["principalId"] == "anonymous"
    assert "scope" not in policy["context"]


def test_the_authorizer_denies_a_revoked_token(api: Api) -> None:
    tokens = get_services().store.tokens
    secret, record = auth.issue_token(tokens, "revoked", "admin")
    assert allowed_resources(authorize(api, f"Bearer {secret}"))
    assert tokens.delete(record.tokenId)
    assert allowed_resources(authorize(api, f"Bearer {secret}")) == []


def test_when_the_token_table_cannot_be_read_the_authorizer_fails_instead_of_answering(api: Api) -> None:
    """No policy at all, so API Gateway has nothing to cache: it answers a 503 (its
    AUTHORIZER_CONFIGURATION_ERROR gateway response) for this request only."""
    with Faults(get_services().table.meta.client) as faults:
        faults.unreachable("GetItem")
        with pytest.raises(DependencyUnavailable):
            authorize(api, f"Bearer {api.tokens['read']}")
    assert allowed_resources(authorize(api, f"Bearer {api.tokens['read']}"))
