"""Idempotency-Key: the same key with the same body gives back the same operation;
with a different body, 409."""

from __future__ import annotations

from typing import Any, Dict

from tests.conftest import Api
from tests.helpers import assert_error

BODY = {"site": "shop", "page": "home", "layout": "grid", "theme": "light"}


def post(api: Api, body: Dict[str, Any], key: str, scope: str = "write") -> Any:
    return api.request("POST", "/metadata", body, scope=scope, headers={"Idempotency-Key": key})


def test_a_repeated_key_after_the_write_gives_back_the_same_operation(api: Api) -> None:
    api.create_site()
    first = post(api, BODY, "key-1")
    api.apply()
    again = post(api, BODY, "key-1")
    assert again.status_code == 202
    assert again.json_body["operationId"] == first.json_body["operationId"]
    assert again.json_body["id"] == first.json_body["id"]
    assert again.json_body["status"] == "succeeded"
    assert api.queued() == []  # nothing new was enqueued
    listing = api.request("GET", "/metadata?site=shop", scope="read").json_body
    assert len(listing["items"]) == 1


def test_a_repeated_key_with_another_body_is_a_409(api: Api) -> None:
    api.create_site()
    post(api, BODY, "key-2")
    api.apply()
    error = assert_error(post(api, {**BODY, "theme": "dark"}, "key-2"), 409, "IdempotencyKeyReused")
    assert "Idempotency-Key" in error["message"]


def test_a_key_reused_on_another_route_is_a_409(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    path = f"/metadata/{config['id']}"
    api.request("PUT", path, {"layout": "a", "theme": "b"}, scope="write", headers={"Idempotency-Key": "k"})
    api.apply()
    response = api.request("DELETE", path, scope="write", headers={"Idempotency-Key": "k"})
    assert_error(response, 409, "IdempotencyKeyReused")


def test_keys_belong_to_the_token_that_sent_them(api: Api) -> None:
    api.create_site()
    mine = post(api, BODY, "shared-key", scope="write")
    api.apply()
    theirs = post(api, {**BODY, "page": "other"}, "shared-key", scope="admin")
    assert theirs.status_code == 202
    assert theirs.json_body["operationId"] != mine.json_body["operationId"]


def test_a_key_repeated_before_the_first_write_applies_still_writes_once(api: Api) -> None:
    api.create_site()
    first = post(api, BODY, "racing").json_body
    second = post(api, BODY, "racing").json_body  # the worker has not run yet
    api.apply()

    listing = api.request("GET", "/metadata?site=shop", scope="read").json_body
    assert [item["id"] for item in listing["items"]] == [first["id"]]
    for accepted in (first, second):
        operation = api.request("GET", f"/operations/{accepted['operationId']}", scope="write").json_body
        assert operation["status"] == "succeeded"
        assert operation["resourceId"] == first["id"]


def test_a_key_used_with_a_write_that_failed_in_the_worker_replays_the_failure(api: Api) -> None:
    api.create_site()
    body = {**BODY, "page": "contested"}
    winner = api.request("POST", "/metadata", body, scope="write").json_body
    loser = post(api, {**body, "layout": "second"}, "loser-key").json_body
    api.apply()
    assert api.request("GET", f"/operations/{winner['operationId']}", scope="write").json_body["status"] == "succeeded"
    replay = post(api, {**body, "layout": "second"}, "loser-key")
    assert replay.status_code == 202
    assert replay.json_body["operationId"] == loser["operationId"]
    assert replay.json_body["status"] == "failed"
