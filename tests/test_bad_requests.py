"""Bad input always gets a clear 4xx with the contract's error body, and nothing is queued."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.limits import MAX_BODY_BYTES, MAX_SETTINGS_BYTES, MAX_SETTINGS_DEPTH
from tests.conftest import Api
from tests.helpers import assert_error

VALID = {"site": "shop", "page": "home", "layout": "grid", "theme": "light", "settings": {}}


def test_malformed_json_is_a_400(shop: Api) -> None:
    response = shop.request("POST", "/metadata", b'{"site": "shop",', scope="write")
    body = assert_error(response, 400, "BadRequest")
    assert "JSON" in body["message"]
    assert shop.queued() == []


def test_a_body_that_is_not_json_is_a_415(shop: Api) -> None:
    response = shop.request(
        "POST", "/metadata", b"site=shop", scope="write", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_error(response, 415, "UnsupportedMediaType")


def test_a_body_over_the_limit_is_a_413(shop: Api) -> None:
    huge = json.dumps({**VALID, "settings": {"blob": "x" * MAX_BODY_BYTES}}).encode()
    assert_error(shop.request("POST", "/metadata", huge, scope="write"), 413, "PayloadTooLarge")


def test_settings_over_the_limit_are_a_413(shop: Api) -> None:
    body = {**VALID, "settings": {"blob": "x" * (MAX_SETTINGS_BYTES + 1)}}
    error = assert_error(shop.request("POST", "/metadata", body, scope="write"), 413, "PayloadTooLarge")
    assert "settings" in error["message"]


def test_settings_nested_too_deep_are_a_422(shop: Api) -> None:
    settings: dict[str, object] = {}
    node = settings
    for _ in range(MAX_SETTINGS_DEPTH + 1):
        child: dict[str, object] = {}
        node["x"] = child
        node = child
    error = assert_error(
        shop.request("POST", "/metadata", {**VALID, "settings": settings}, scope="write"), 422, "ValidationFailed"
    )
    assert error["details"][0]["field"] == "settings"


def test_every_invalid_field_is_named(shop: Api) -> None:
    body = {"site": "Shop!", "page": "", "layout": "", "theme": 3, "settings": [], "colour": "red"}
    error = assert_error(shop.request("POST", "/metadata", body, scope="write"), 422, "ValidationFailed")
    fields = {detail["field"] for detail in error["details"]}
    assert fields == {"site", "page", "layout", "theme", "settings", "colour"}
    assert all(detail["message"] for detail in error["details"])


def test_missing_fields_are_named(shop: Api) -> None:
    error = assert_error(shop.request("POST", "/metadata", {"site": "shop"}, scope="write"), 422, "ValidationFailed")
    assert {detail["field"] for detail in error["details"]} == {"page", "layout", "theme"}


def test_a_body_that_is_not_an_object_is_a_422(shop: Api) -> None:
    error = assert_error(shop.request("POST", "/metadata", [1, 2], scope="write"), 422, "ValidationFailed")
    assert error["details"][0]["field"] == "body"


def test_update_cannot_move_a_config_to_another_site_or_page(shop: Api) -> None:
    config = shop.create_config()
    body = {"layout": "grid", "theme": "light", "site": "other", "page": "elsewhere"}
    error = assert_error(shop.request("PUT", f"/metadata/{config['id']}", body, scope="write"), 422, "ValidationFailed")
    assert {detail["field"] for detail in error["details"]} == {"site", "page"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"allowedOrigins": ["https://shop.example/path"]}, "allowedOrigins.0"),
        ({"allowedOrigins": ["ftp://shop.example"]}, "allowedOrigins.0"),
        ({"allowedOrigins": ["https://shop.example:99999"]}, "allowedOrigins.0"),
        ({"cacheMaxAge": -1}, "cacheMaxAge"),
        ({"cacheMaxAge": "60"}, "cacheMaxAge"),
        ({"name": "   "}, "name"),
    ],
)
def test_invalid_site_fields_are_named(api: Api, fields: dict[str, object], field: str) -> None:
    body = {"name": "Shop", **fields}
    error = assert_error(api.request("PUT", "/sites/shop", body), 422, "ValidationFailed")
    assert [detail["field"] for detail in error["details"]] == [field]


def test_an_unknown_route_is_the_contracts_404(api: Api) -> None:
    # API Gateway routes before any function runs: a path no route matches is its 403
    # "Missing Authentication Token", which its gateway response makes the contract's 404
    # (infra/gateway_responses.py). The tests' client answers through the same gateway
    # as the local stack (devstack/gateway.py; conftest's `client`).
    for headers in ({}, {"Authorization": "Bearer whatever"}):
        response = api.request("GET", "/nothing/here", scope=None, headers=headers)
        assert assert_error(response, 404, "NotFound")["message"] == "no such route"


def test_a_method_the_route_lacks_is_a_405_with_the_error_body(api: Api) -> None:
    response = api.request("PATCH", "/health", scope=None)
    assert_error(response, 405, "MethodNotAllowed")


def test_a_bad_idempotency_key_is_a_400(shop: Api) -> None:
    response = shop.request("POST", "/metadata", VALID, scope="write", headers={"Idempotency-Key": "x" * 300})
    assert_error(response, 400, "BadRequest")


def test_an_unreachable_queue_is_a_503_and_nothing_is_reported_accepted(shop: Api) -> None:
    import boto3

    boto3.client("sqs", region_name="us-east-1").delete_queue(QueueUrl=shop.stack.queue_url)
    response = shop.request("POST", "/metadata", VALID, scope="write")
    body = assert_error(response, 503, "ServiceUnavailable")
    assert "operationId" not in body


def test_json_nested_past_the_parsers_limit_is_a_422_naming_the_field(shop: Api) -> None:
    # Refused before any parser recurses into it, with the same answer as settings nested 17 deep.
    deep = b'{"site": "shop", "settings": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    error = assert_error(shop.request("POST", "/metadata", deep, scope="write"), 422, "ValidationFailed")
    assert [detail["field"] for detail in error["details"]] == ["settings"]


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_standard_json_numbers_are_a_400(shop: Api, constant: bytes) -> None:
    body = b'{"site": "shop", "page": "home", "layout": "a", "theme": "b", "settings": {"x": ' + constant + b"}}"
    error = assert_error(shop.request("POST", "/metadata", body, scope="write"), 400, "BadRequest")
    assert constant.decode() in error["message"]


def test_a_lone_surrogate_in_a_string_is_a_400(shop: Api) -> None:
    body = b'{"site": "shop", "page": "home", "layout": "a", "theme": "b", "settings": {"x": "\\ud800"}}'
    assert_error(shop.request("POST", "/metadata", body, scope="write"), 400, "BadRequest")


def test_unicode_settings_round_trip(shop: Api) -> None:
    config = shop.create_config(settings={"title": "Ünïcødé ✓ 日本", "emoji": "\U0001f600"})
    assert config["settings"] == {"title": "Ünïcødé ✓ 日本", "emoji": "\U0001f600"}
