"""The API when DynamoDB or SQS is unavailable: a 503 with the contract's error body, and
no operation reported as accepted that is not on the queue.

Outages are made with botocore's event hooks on the service's own clients (tests.helpers.Faults). Most tests
fail a call at once, as the SDK does once its retries are spent; one lets AWS's answer
go through the SDK's retries (`before-send`), as a throttling table would.
"""

from __future__ import annotations

import json
import random
from typing import Any, Dict, Iterator, List

import pytest

from chalicelib.services import get_services
from tests.conftest import Api
from tests.helpers import Call, Faults, assert_error

VALID_CONFIG = {"site": "shop", "page": "home", "layout": "grid", "theme": "light", "settings": {}}
UPDATE = {"layout": "single", "theme": "dark", "settings": {"n": 1}}


@pytest.fixture
def queue_faults(shop: Api) -> Iterator[Faults]:
    with Faults(get_services().sqs) as faults:
        yield faults


def queued_operation_ids(api: Api) -> List[str]:
    """Every operation on the write queue (received, then made visible again)."""
    return [json.loads(message["Body"])["meta"]["operationId"] for message in api.queue.peek()]


def assert_unavailable(response: Any) -> Dict[str, Any]:
    body = assert_error(response, 503, "ServiceUnavailable")
    assert "operationId" not in body
    assert "Location" not in response.headers
    return body


def not_the_token(call: Call) -> bool:
    """Every call but the authorizer's token lookup."""
    return "TOKEN#" not in call.text


# --- DynamoDB ------------------------------------------------------------------------------


def test_a_throttling_table_is_retried_by_the_sdk_then_the_read_is_a_503(shop: Api, table_faults: Faults) -> None:
    config = shop.create_config()
    table_faults.answer("ProvisionedThroughputExceededException", 400)
    assert_unavailable(shop.request("GET", f"/metadata/{config['id']}", scope=None))
    assert table_faults.refused.count("GetItem") > 1


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "InternalServerError"],
)
def test_a_table_refusing_for_now_makes_the_public_reads_a_503(shop: Api, table_faults: Faults, code: str) -> None:
    config = shop.create_config()
    table_faults.fail(code)
    assert_unavailable(shop.request("GET", f"/metadata/{config['id']}", scope=None))
    assert_unavailable(shop.request("GET", "/sites/shop/pages/home", scope=None))


def test_an_unreachable_table_makes_every_kind_of_read_a_503(shop: Api, table_faults: Faults) -> None:
    config = shop.create_config()
    table_faults.unreachable()
    for path, scope in [
        (f"/metadata/{config['id']}", None),
        ("/sites/shop/pages/home", None),
        ("/sites/shop", "read"),
        ("/sites", "read"),
        ("/metadata?site=shop", "read"),
        (f"/metadata/{config['id']}/versions", "read"),
    ]:
        body = assert_unavailable(shop.request("GET", path, scope=scope))
        assert "try again" in body["message"], (path, body)


def test_when_tokens_cannot_be_checked_a_protected_route_is_a_503_not_a_401(shop: Api, table_faults: Faults) -> None:
    table_faults.unreachable()
    body = assert_unavailable(shop.request("GET", "/sites/shop", scope="read"))
    assert "token" in body["message"]


class AuthorizerCache:
    """API Gateway's cache of the authorizer's answers (`ttl_seconds`): the policy it
    returns for a token, an Allow or a Deny, is answered again for the TTL without calling
    it; when it fails, nothing is kept and the next request calls it again."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from app import token_authorizer

        self.ttl = float(token_authorizer.config.ttl_seconds)
        self.now = 0.0  # no time passes unless a test says so
        self.kept: Dict[str, tuple[float, Any]] = {}
        self.calls = 0
        original = token_authorizer.func

        def cached(request: Any) -> Any:
            hit = self.kept.get(request.token)
            if hit is not None and self.now - hit[0] < self.ttl:
                return hit[1]
            self.calls += 1
            answer = original(request)  # raises: nothing is kept
            self.kept[request.token] = (self.now, answer)
            return answer

        monkeypatch.setattr(token_authorizer, "func", cached)


def token_lookups(call: Call) -> bool:
    """The authorizer's token lookups, and nothing else."""
    return "TOKEN#" in call.text


def test_after_the_token_table_comes_back_the_very_next_request_is_served(
    shop: Api, table_faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = AuthorizerCache(monkeypatch)
    table_faults.unreachable(when=token_lookups)
    # A token API Gateway has no answer for yet: the authorizer fails, and nothing is cached.
    assert "token" in assert_unavailable(shop.request("GET", "/sites", scope="write"))["message"]
    assert_unavailable(shop.request("GET", "/sites", scope="write"))
    assert cache.calls == 2
    assert cache.kept == {}

    table_faults.heal()
    response = shop.request("GET", "/sites", scope="write")
    assert response.status_code == 200, response.json_body
    assert cache.calls == 3


def test_during_a_token_table_outage_an_answer_api_gateway_cached_still_serves(
    shop: Api, table_faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = AuthorizerCache(monkeypatch)
    assert shop.request("GET", "/sites", scope="read").status_code == 200
    table_faults.unreachable(when=token_lookups)
    assert shop.request("GET", "/sites", scope="read").status_code == 200  # from the cache
    assert_unavailable(shop.request("GET", "/sites", scope="write"))  # not in it
    cache.now += cache.ttl  # the cached answer expires: the token is checked again
    assert_unavailable(shop.request("GET", "/sites", scope="read"))


def test_an_unknown_token_is_denied_by_the_authorizer_and_the_denial_is_cached(
    shop: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = AuthorizerCache(monkeypatch)
    for _ in range(2):
        response = shop.request("GET", "/sites", scope=None, headers={"Authorization": "Bearer mmt_nobody"})
        assert_error(response, 401, "Unauthorized")
    assert cache.calls == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/metadata", {**VALID_CONFIG, "page": "other"}),
        ("PUT", "/metadata/{id}", UPDATE),
        ("DELETE", "/metadata/{id}", None),
        ("PUT", "/sites/shop", {"name": "Shop"}),
    ],
)
def test_a_write_whose_validating_read_fails_is_a_503_and_nothing_is_queued(
    shop: Api, table_faults: Faults, method: str, path: str, body: Any
) -> None:
    config = shop.create_config()
    table_faults.fail("ProvisionedThroughputExceededException", when=not_the_token)
    # PUT /sites reads only to check an Idempotency-Key: send one so it has a read to fail.
    response = shop.request(
        method, path.format(id=config["id"]), body, scope="admin", headers={"Idempotency-Key": "k1"}
    )
    assert_unavailable(response)
    assert queued_operation_ids(shop) == []


def test_the_table_coming_back_lets_the_same_write_through(shop: Api, table_faults: Faults) -> None:
    table_faults.unreachable(when=not_the_token)
    assert_unavailable(shop.request("POST", "/metadata", VALID_CONFIG, scope="write"))
    table_faults.heal()
    response = shop.request("POST", "/metadata", VALID_CONFIG, scope="write")
    assert response.status_code == 202, response.json_body
    assert queued_operation_ids(shop) == [response.json_body["operationId"]]


# --- SQS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["throttled", "unreachable"])
def test_a_queue_that_refuses_the_send_is_a_503_and_nothing_is_accepted(
    shop: Api, queue_faults: Faults, failure: str
) -> None:
    if failure == "throttled":
        queue_faults.fail("RequestThrottled", "SendMessage")
    else:
        queue_faults.unreachable("SendMessage")
    response = shop.request("POST", "/metadata", VALID_CONFIG, scope="write")
    body = assert_unavailable(response)
    assert "nothing was accepted" in body["message"]
    queue_faults.heal()
    assert queued_operation_ids(shop) == []
    assert shop.request("GET", "/sites/shop/pages/home", scope=None).status_code == 404


def test_under_a_flaky_queue_every_202_is_on_the_queue_and_every_503_is_not(shop: Api, queue_faults: Faults) -> None:
    chance = random.Random(7)
    queue_faults.unreachable("SendMessage", when=lambda call: chance.random() < 0.5)
    accepted: List[str] = []
    refused = 0
    for number in range(24):
        response = shop.request("POST", "/metadata", {**VALID_CONFIG, "page": f"p{number}"}, scope="write")
        if response.status_code == 202:
            accepted.append(response.json_body["operationId"])
        else:
            assert_unavailable(response)
            refused += 1
    queue_faults.heal()
    assert accepted
    assert refused
    assert sorted(queued_operation_ids(shop)) == sorted(accepted)
    shop.apply()
    for operation_id in accepted:
        assert shop.request("GET", f"/operations/{operation_id}").json_body["status"] == "succeeded"
