"""Previews: a page's draft for editors (a read token) and for whoever holds a preview
link, never cached or indexed; links expire, are revocable, hashed, and listed per config."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Tuple

import boto3
import pytest

from chalicelib.services import get_services
from tests.conftest import REGION, Api
from tests.helpers import assert_error


@pytest.fixture
def drafted(api: Api) -> str:
    """A review site whose home page serves version 1 and has a draft at version 2."""
    api.create_site(publishMode="review")
    body = {"site": "shop", "page": "home", "layout": "hero", "theme": "dark", "settings": {"title": "v1"}}
    config_id: str = api.write("POST", "/metadata", body, scope="write")["resourceId"]
    api.write("POST", f"/metadata/{config_id}/publish", {"version": 1}, scope="write")
    api.write(
        "PUT", f"/metadata/{config_id}", {"layout": "hero", "theme": "dark", "settings": {"title": "v2"}}, scope="write"
    )
    return config_id


def create_link(api: Api, config_id: str, **body: Any) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The answer (with the token) and the operation, applied."""
    response = api.request("POST", f"/metadata/{config_id}/preview-links", body, scope="write")
    assert response.status_code == 202, response.body
    api.apply()
    operation = api.request("GET", f"/operations/{response.json_body['operationId']}").json_body
    return response.json_body, operation


def open_link(api: Api, url: str, **headers: str) -> Any:
    return api.request("GET", url, scope=None, headers=headers)


def test_a_preview_link_shows_the_draft_privately(api: Api, drafted: str) -> None:
    answer, operation = create_link(api, drafted, expiresIn=3600)

    assert operation["status"] == "succeeded", operation
    assert answer["token"].startswith("mmp_")
    assert answer["url"] == f"/preview/sites/shop/pages/home?token={answer['token']}"
    response = open_link(api, answer["url"], Origin="https://shop.example")
    assert response.status_code == 200, response.body
    assert (response.json_body["settings"], response.json_body["version"]) == ({"title": "v2"}, 2)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Access-Control-Allow-Origin" not in open_link(api, answer["url"], Origin="https://evil.example").headers
    # The public page still serves what is published.
    assert api.request("GET", "/sites/shop/pages/home", scope=None).json_body["settings"] == {"title": "v1"}


def test_a_link_to_a_version_keeps_showing_that_version(api: Api, drafted: str) -> None:
    answer, _ = create_link(api, drafted, version=1)
    body = {"layout": "hero", "theme": "dark", "settings": {"title": "v3"}}
    api.write("PUT", f"/metadata/{drafted}", body, scope="write")
    assert open_link(api, answer["url"]).json_body["settings"] == {"title": "v1"}


def test_editors_preview_with_a_read_token(api: Api, drafted: str) -> None:
    for scope in ("read", "write", "admin"):
        response = api.request("GET", "/preview/sites/shop/pages/home", scope=scope)
        assert response.status_code == 200, (scope, response.body)
        assert response.json_body["settings"] == {"title": "v2"}
        assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {}),
        ("?token=mmp_nothing", {}),
        ("?token=" + "x" * 5000, {}),
        ("", {"Authorization": "Bearer mmt_unknown"}),
        ("", {"Authorization": "Basic abc"}),
    ],
)
def test_a_preview_without_a_valid_token_is_401(api: Api, drafted: str, query: str, headers: Dict[str, str]) -> None:
    response = open_link(api, f"/preview/sites/shop/pages/home{query}", **headers)
    assert_error(response, 401, "Unauthorized")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_link_opens_only_its_own_page(api: Api, drafted: str) -> None:
    answer, _ = create_link(api, drafted)
    api.write("POST", "/metadata", {"site": "shop", "page": "about", "layout": "a", "theme": "t"}, scope="write")
    other = open_link(api, f"/preview/sites/shop/pages/about?token={answer['token']}")
    assert_error(other, 403, "Forbidden")
    assert_error(open_link(api, f"/preview/sites/shop/pages/nothing?token={answer['token']}"), 404, "NotFound")


def test_an_expired_link_opens_nothing(api: Api, drafted: str) -> None:
    answer, _ = create_link(api, drafted, expiresIn=60)
    # DynamoDB deletes expired items within days: the service treats them as gone at once.
    table = boto3.resource("dynamodb", region_name=REGION).Table(get_services().settings.table_name)
    for item in table.scan()["Items"]:
        if str(item["pk"]).startswith("PREVIEW#"):
            table.update_item(
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET expiresAt = :past",
                ExpressionAttributeValues={":past": int(time.time()) - 1},
            )
    assert_error(open_link(api, answer["url"]), 401, "Unauthorized")


def test_a_revoked_link_opens_nothing_and_is_no_longer_listed(api: Api, drafted: str) -> None:
    kept, _ = create_link(api, drafted)
    revoked, _ = create_link(api, drafted, version=1, expiresIn=600)
    listed = api.request("GET", f"/metadata/{drafted}/preview-links", scope="read").json_body["items"]
    assert [link["id"] for link in listed] == [revoked["id"], kept["id"]]
    assert listed[0]["version"] == 1
    assert "token" not in json.dumps(listed).replace("tokenId", "")

    operation = api.write("DELETE", f"/metadata/{drafted}/preview-links/{revoked['id']}", scope="write")

    assert operation["status"] == "succeeded", operation
    assert_error(open_link(api, revoked["url"]), 401, "Unauthorized")
    assert open_link(api, kept["url"]).status_code == 200
    listed = api.request("GET", f"/metadata/{drafted}/preview-links", scope="read").json_body["items"]
    assert [link["id"] for link in listed] == [kept["id"]]
    again = api.request("DELETE", f"/metadata/{drafted}/preview-links/{revoked['id']}", scope="write")
    assert_error(again, 404, "NotFound")
    entries = api.request("GET", "/sites/shop/audit?limit=3").json_body["items"]
    assert [entry["type"] for entry in entries] == ["preview.revoke", "preview.create", "preview.create"]


def test_the_token_is_stored_only_as_a_hash(api: Api, drafted: str) -> None:
    answer, _ = create_link(api, drafted)
    table = boto3.resource("dynamodb", region_name=REGION).Table(get_services().settings.table_name)
    assert answer["token"] not in json.dumps(table.scan()["Items"], default=str)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expiresIn": 7 * 24 * 3600 + 1}, "expiresIn"),
        ({"expiresIn": 59}, "expiresIn"),
        ({"expiresIn": "3600"}, "expiresIn"),
        ({"version": 3}, "version"),
        ({"version": 0}, "version"),
        ({"url": "x"}, "url"),
    ],
)
def test_an_invalid_link_is_422_naming_the_field(api: Api, drafted: str, body: Dict[str, Any], field: str) -> None:
    response = api.request("POST", f"/metadata/{drafted}/preview-links", body, scope="write")
    assert_error(response, 422, "ValidationFailed")
    assert [detail["field"] for detail in response.json_body["details"]] == [field]
    assert api.queued() == []


def test_a_link_for_an_unknown_config_is_404(api: Api) -> None:
    assert_error(api.request("POST", f"/metadata/{'a' * 26}/preview-links", {}, scope="write"), 404, "NotFound")


def test_a_repeated_keyed_request_names_the_same_link_without_its_token(api: Api, drafted: str) -> None:
    headers = {"Idempotency-Key": "link-1"}
    first = api.request("POST", f"/metadata/{drafted}/preview-links", {}, scope="write", headers=headers)
    again = api.request("POST", f"/metadata/{drafted}/preview-links", {}, scope="write", headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert (again.json_body["operationId"], again.json_body["id"]) == (
        first.json_body["operationId"],
        first.json_body["id"],
    )
    assert "token" not in again.json_body


def test_a_link_whose_config_was_deleted_opens_nothing_even_when_the_page_has_a_new_one(api: Api) -> None:
    api.create_site()  # direct: the config can be deleted at once
    body = {"site": "shop", "page": "home", "layout": "hero", "theme": "dark", "settings": {"title": "old"}}
    old = api.write("POST", "/metadata", body, scope="write")["resourceId"]
    answer, _ = create_link(api, old)
    api.write("DELETE", f"/metadata/{old}", scope="write")
    api.write("POST", "/metadata", {**body, "settings": {"title": "new"}}, scope="write")

    assert_error(open_link(api, answer["url"]), 404, "NotFound")
    assert_error(api.request("GET", f"/metadata/{'a' * 26}/preview-links", scope="read"), 404, "NotFound")
