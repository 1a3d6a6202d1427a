"""The worker fed arbitrary message bodies beside real operations: whatever a body holds,
the invocation ends as the worker means it to (done, or `BatchIncomplete` for what is to
be retried), and the real operations in the batch are applied in that same invocation.

An exception escaping the batch loop would be worse than one bad message: Lambda would
return every message of the batch to the queue, and each receive brings the innocent
ones closer to the dead-letter queue.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from typing import Any, Dict, List

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.core import ids
from chalicelib.core.clock import isoformat, utc_now
from chalicelib.writes import BatchIncomplete, OperationMeta
from chalicelib.writes.configs import ConfigUpdate, ConfigUpdateData
from devstack.poller import lambda_sqs_event
from tests.conftest import REGION, Api

EXAMPLES = int(os.environ.get("FUZZ_WORKER_EXAMPLES", "60"))
_counter = itertools.count()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
ENVELOPE_FIELDS = ["v", "operation", "data", "meta", "data.id", "data.site", "data.page", "data.layout"]
ENVELOPE_FIELDS += ["data.settings", "meta.operationId", "meta.expectedVersion", "meta.idempotencyKey", "meta.actor"]


# A well-formed envelope, but of another operation on a config that does not exist: one
# that still parses after bending must not pass for the real ones.
TEMPLATE = ConfigUpdate(
    data=ConfigUpdateData(id=ids.new_config_id(utc_now()), layout="fuzz", theme="t", settings={"a": 1}),
    meta=OperationMeta(
        operationId=ids.new_operation_id(utc_now()),
        requestId="fuzz",
        submittedAt=isoformat(utc_now()),
        actor="token:fuzz",
        expectedVersion=1,
    ),
).model_dump(mode="json")


@st.composite
def bent_envelopes(draw: st.DrawFn, template: Dict[str, Any]) -> str:
    """A real envelope with some fields removed or replaced by anything."""
    envelope = json.loads(json.dumps(template))
    for path in draw(st.lists(st.sampled_from(ENVELOPE_FIELDS), min_size=1, max_size=3, unique=True)):
        *parents, leaf = path.split(".")
        node = envelope
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if draw(st.booleans()):
            node.pop(leaf, None)
        else:
            node[leaf] = draw(
                json_values
                | st.sampled_from(["config.update", "config.delete", "config.create", "site.put", "x" * 300])
                | st.integers(min_value=-(10**40), max_value=10**40)
            )
    return json.dumps(envelope)


def junk_bodies(template: Dict[str, Any]) -> st.SearchStrategy[str]:
    depth = st.integers(1, 3000)
    return st.one_of(
        st.text(),
        st.binary().map(lambda raw: raw.decode("latin-1")),
        json_values.map(json.dumps),
        bent_envelopes(template),
        depth.map(lambda n: "[" * n + "]" * n),
        depth.map(lambda n: '{"a":' * n + "1" + "}" * n),
        st.just(""),
    )


class Batch:
    """Real operations on one config, received from the moto queue."""

    def __init__(self, api: Api, config_id: str) -> None:
        self.api = api
        self.config_id = config_id
        self.sqs = api.queue.sqs

    def submit(self, layouts: List[str]) -> List[Dict[str, Any]]:
        for layout in layouts:
            body = {"layout": layout, "theme": "t", "settings": {}}
            assert self.api.request("PUT", f"/metadata/{self.config_id}", body, scope="write").status_code == 202
        messages = self.api.queue.receive_all()
        assert len(messages) == len(layouts)
        return messages

    def delete(self, messages: List[Dict[str, Any]]) -> None:
        for message in messages:
            with contextlib.suppress(ClientError):  # the worker deleted it already
                self.sqs.delete_message(QueueUrl=self.api.stack.queue_url, ReceiptHandle=message["ReceiptHandle"])


def junk_message(body: str, group: str) -> Dict[str, Any]:
    number = next(_counter)
    return {
        "MessageId": f"junk-{number}",
        "ReceiptHandle": f"junk-handle-{number}",
        "Body": body,
        "Attributes": {"MessageGroupId": group, "ApproximateReceiveCount": "1", "SentTimestamp": "0"},
    }


@pytest.fixture
def batch(api: Api, quiet_service_logs: None) -> Batch:
    api.create_site()
    return Batch(api, api.create_config()["id"])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arbitrary_bodies_never_cost_the_real_operations_of_their_batch(
    api: Api, batch: Batch, data: st.DataObject
) -> None:
    # Every draw comes before the queue is touched: hypothesis may end an example at any
    # draw, and what it had received would then stay in flight into the next one.
    count = data.draw(st.integers(1, 3), label="real operations")
    bodies = data.draw(st.lists(junk_bodies(TEMPLATE), min_size=1, max_size=10 - count), label="bodies")
    # Junk in groups of its own, or behind the real operations in their group: nothing
    # is ahead of them, so nothing may hold them back.
    behind = [data.draw(st.booleans(), label="behind") for _ in bodies]
    order = data.draw(st.permutations(range(count + len(bodies))), label="order")

    layouts = [f"fuzz{next(_counter)}" for _ in range(count)]
    real = batch.submit(layouts)
    group = real[0]["Attributes"]["MessageGroupId"]
    junk = [
        junk_message(body, group if after else f"junk-{n}")
        for n, (body, after) in enumerate(zip(bodies, behind, strict=True))
    ]
    records = _arrange(real, junk, order)

    with contextlib.suppress(BatchIncomplete):  # raised for the junk it will not finish
        api.client.lambda_.invoke("apply_writes", lambda_sqs_event(records, api.stack.queue_arn, REGION))
    batch.delete(real)  # finished: the next example starts with an empty queue

    stored = api.request("GET", f"/metadata/{batch.config_id}", scope=None).json_body
    assert stored["layout"] == layouts[-1]
    for message in real:
        operation_id = json.loads(message["Body"])["meta"]["operationId"]
        found = api.request("GET", f"/operations/{operation_id}", scope="write").json_body
        assert found["status"] == "succeeded", found


def _arrange(real: List[Dict[str, Any]], junk: List[Dict[str, Any]], order: List[int]) -> List[Dict[str, Any]]:
    """Shuffled by `order`, but the real operations keep their own order, and the junk of
    their group comes right after the last of them."""
    group = real[0]["Attributes"]["MessageGroupId"]
    behind = [message for message in junk if message["Attributes"]["MessageGroupId"] == group]
    pool = real + [message for message in junk if message not in behind]
    shuffled = [pool[index] for index in order if index < len(pool)]
    slots = [position for position, message in enumerate(shuffled) if message in real]
    for position, message in zip(slots, real, strict=True):
        shuffled[position] = message
    last = slots[-1] + 1
    return shuffled[:last] + behind + shuffled[last:]
