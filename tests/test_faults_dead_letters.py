"""What a client sees of an operation whose message ends in the dead-letter queue.

The contract: an accepted operation is applied, or its message is in the dead-letter
queue and `GET /operations/{id}` says `failed` with `DeliveryFailed`. These tests hold
the two ways a message reaches the dead-letter queue without its last receive going
through the worker's own error handling: the worker marks an operation on its last
receive before it tries it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from tests.conftest import Api
from tests.helpers import Crash, Faults
from tests.test_faults import THROTTLED, Delivery


def failure_code(api: Api, operation_id: str) -> Any:
    body: Dict[str, Any] = api.request("GET", f"/operations/{operation_id}", scope="write").json_body
    return (body.get("error") or {}).get("code", body["status"])


def dead_operation_ids(api: Api) -> List[str]:
    return [json.loads(message["Body"])["meta"]["operationId"] for message in api.dead_letters.peek()]


def test_a_write_held_back_behind_a_failing_one_is_marked_failed_when_both_are_dead_lettered(
    api: Api, table_faults: Faults
) -> None:
    api.create_site()
    config = api.create_config()
    path = f"/metadata/{config['id']}"
    stuck = api.request("PUT", path, {"layout": "stuck", "theme": "t"}, scope="write").json_body["operationId"]
    behind = api.request("PUT", path, {"layout": "behind", "theme": "t"}, scope="write").json_body["operationId"]
    # The first write's transaction is refused on every receive.
    table_faults.fail(THROTTLED, "TransactWriteItems", when=lambda call: '"stuck"' in call.text)

    Delivery(api).drain(None)  # both are received together, in order, every time

    assert dead_operation_ids(api) == [stuck, behind]
    assert failure_code(api, stuck) == "DeliveryFailed"
    assert failure_code(api, behind) == "DeliveryFailed"


def test_an_operation_whose_last_attempt_times_out_is_marked_failed(api: Api, table_faults: Faults) -> None:
    api.create_site()
    config = api.create_config()
    accepted = api.request("PUT", f"/metadata/{config['id']}", {"layout": "slow", "theme": "t"}, scope="write")
    operation_id = accepted.json_body["operationId"]
    # Every invocation dies at its read, as when each one times out while it applies (a
    # read is an apply's first call).
    table_faults.throw(lambda call: Crash("the function timed out"), "BatchGetItem")

    Delivery(api).drain(None)  # every receive, the last one included, times out while it applies
    table_faults.heal()

    assert dead_operation_ids(api) == [operation_id]
    assert failure_code(api, operation_id) == "DeliveryFailed"
