"""Idempotency-Key: the same key with the same body gives back the same operation;
with a different body, 409."""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from chalicelib.services import get_services
from tests.conftest import Api
from tests.helpers import Faults, assert_error

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


def test_a_key_repeated_before_the_first_write_applies_names_the_same_operation(api: Api) -> None:
    api.create_site()
    first = post(api, BODY, "racing").json_body
    second = post(api, BODY, "racing").json_body  # the worker has not run yet
    assert second == first  # the same operation, the same config id, still pending
    assert first["status"] == "pending"
    api.apply()

    listing = api.request("GET", "/metadata?site=shop", scope="read").json_body
    assert [item["id"] for item in listing["items"]] == [first["id"]]
    operation = api.request("GET", f"/operations/{first['operationId']}", scope="write").json_body
    assert operation["status"] == "succeeded"
    assert operation["resourceId"] == first["id"]
    assert operation["version"] == 1
    assert api.request("GET", f"/metadata/{first['id']}", scope=None).status_code == 200


def during_the_key_claim(api: Api, action: Callable[[], Any]) -> List[Any]:
    """Runs `action` once, just before the first request's claim of its key reaches the
    table: a repeat sent in parallel, which reads before the claim and claims first."""
    events = get_services().table.meta.client.meta.events
    results: List[Any] = []
    started: List[bool] = []

    def interleave(params: Dict[str, Any], **_: Any) -> None:
        if not started and params.get("ReturnValuesOnConditionCheckFailure"):
            started.append(True)  # the repeat's own claim passes through
            results.append(action())

    events.register("before-parameter-build.dynamodb.PutItem", interleave)
    return results


def test_parallel_repeats_of_a_keyed_create_name_one_operation_and_one_config(api: Api) -> None:
    api.create_site()
    parallel = during_the_key_claim(api, lambda: post(api, BODY, "parallel"))
    first = post(api, BODY, "parallel")
    assert first.status_code == 202
    assert parallel[0].status_code == 202
    # The repeat read before the first request's claim, so it claimed the key itself: the
    # first request learns of it from its refused claim and answers the same operation.
    assert first.json_body == parallel[0].json_body
    assert len(api.queued()) == 1
    api.apply()
    config = api.request("GET", f"/metadata/{first.json_body['id']}", scope=None)
    assert config.status_code == 200
    assert api.request("GET", "/metadata?site=shop", scope="read").json_body["items"] == [config.json_body]


def test_parallel_repeats_of_a_keyed_update_apply_once(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    path = f"/metadata/{config['id']}"

    def put() -> Any:
        return api.request("PUT", path, {"layout": "b", "theme": "c"}, scope="write", headers={"Idempotency-Key": "u"})

    parallel = during_the_key_claim(api, put)
    first = put()
    assert first.json_body == parallel[0].json_body
    api.apply()
    operation = api.request("GET", f"/operations/{first.json_body['operationId']}", scope="write").json_body
    assert (operation["status"], operation["version"]) == ("succeeded", 2)
    versions = api.request("GET", f"{path}/versions", scope="read").json_body["items"]
    assert [version["version"] for version in versions] == [2, 1]


def test_a_repeat_enqueues_the_operation_its_first_request_could_not(api: Api) -> None:
    api.create_site()
    with Faults(get_services().sqs) as faults:
        faults.fail("ServiceUnavailable", "SendMessage")
        assert_error(post(api, BODY, "unlucky"), 503, "ServiceUnavailable")
    assert api.queued() == []
    again = post(api, BODY, "unlucky")
    assert again.status_code == 202
    assert again.json_body["status"] == "pending"
    api.apply()
    operation = api.request("GET", f"/operations/{again.json_body['operationId']}", scope="write").json_body
    assert (operation["status"], operation["resourceId"]) == ("succeeded", again.json_body["id"])
    assert post(api, BODY, "unlucky").json_body == {**again.json_body, "status": "succeeded"}


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


def test_a_repeat_is_sent_in_the_first_sends_group_with_its_deduplication_id(api: Api) -> None:
    """The write queue deduplicates within a message group (high-throughput FIFO): a repeat
    sent again while pending is dropped by SQS only if it travels in the same group with
    the same deduplication id as the first send."""
    api.create_site()
    sent: List[Dict[str, Any]] = []

    def capture(params: Dict[str, Any], **_: Any) -> None:
        sent.append({name: params[name] for name in ("MessageGroupId", "MessageDeduplicationId")})

    get_services().sqs.meta.events.register("before-parameter-build.sqs.SendMessage", capture)
    first = post(api, BODY, "twice").json_body
    again = post(api, BODY, "twice").json_body  # pending: the envelope is sent again
    assert again["operationId"] == first["operationId"]
    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert sent[0] == {"MessageGroupId": f"config:{first['id']}", "MessageDeduplicationId": first["operationId"]}
    assert len(api.queued()) == 1  # SQS dropped the second
