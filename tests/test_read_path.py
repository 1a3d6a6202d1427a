"""The public read paths cost one DynamoDB call each, counted through botocore's hooks."""

from __future__ import annotations

from typing import List

import pytest

from tests.conftest import Api
from tests.helpers import Faults


@pytest.fixture
def dynamodb_calls(api: Api, table_faults: Faults) -> List[str]:
    """The table calls the functions make from here on (no faults: only what it sees)."""
    api.create_site()
    api.create_config()
    table_faults.seen.clear()
    return table_faults.seen


def test_the_page_route_makes_one_read(api: Api, dynamodb_calls: List[str]) -> None:
    response = api.request("GET", "/sites/shop/pages/home", scope=None, headers={"Origin": "https://shop.example"})
    assert response.status_code == 200
    assert dynamodb_calls == ["BatchGetItem"]


def test_a_revalidation_makes_one_read(api: Api, dynamodb_calls: List[str]) -> None:
    etag = api.request("GET", "/sites/shop/pages/home", scope=None).headers["ETag"]
    dynamodb_calls.clear()
    response = api.request("GET", "/sites/shop/pages/home", scope=None, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert dynamodb_calls == ["BatchGetItem"]


def test_get_by_id_reads_the_config_then_its_page(api: Api, dynamodb_calls: List[str]) -> None:
    """The config's item names its page; the page's item holds what the page serves."""
    config_id = api.request("GET", "/metadata?site=shop", scope="read").json_body["items"][0]["id"]
    dynamodb_calls.clear()
    assert api.request("GET", f"/metadata/{config_id}", scope=None).status_code == 200
    assert dynamodb_calls == ["GetItem", "GetItem"]


def test_an_unknown_page_makes_one_read(api: Api, dynamodb_calls: List[str]) -> None:
    assert api.request("GET", "/sites/shop/pages/nothing", scope=None).status_code == 404
    assert dynamodb_calls == ["BatchGetItem"]


def test_an_update_reads_its_config_then_site_and_schema(api: Api, dynamodb_calls: List[str]) -> None:
    config_id = api.request("GET", "/metadata?site=shop", scope="read").json_body["items"][0]["id"]
    dynamodb_calls.clear()
    response = api.request(
        "PUT", f"/metadata/{config_id}", {"layout": "a", "theme": "b"}, scope="write", headers={"Idempotency-Key": "k"}
    )
    assert response.status_code == 202
    # The authorizer's GetItem of the token; the config (and the key's record), which
    # names its site; the site and the layout's schema; and the claim of the key.
    assert dynamodb_calls == ["GetItem", "BatchGetItem", "BatchGetItem", "PutItem"]
