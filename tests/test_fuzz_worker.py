"""The worker fed arbitrary message bodies beside real operations: whatever a body holds,
the invocation ends as the worker means it to (done, or `BatchIncomplete` for what is to
be retried), and the real operations in the batch are applied in that same invocation.

An exception escaping the batch loop would be worse than one bad message: Lambda would
return every message of the batch to the queue, and each receive brings the innocent
ones closer to the dead-letter queue.

The bodies (tests/strategies.py) reach past what the API would enqueue: JSON nested up
to the message limit (objects, arrays, mixed) and thousands wide, numbers no double
holds, repeated keys, a BOM, escaped lone surrogates, real envelopes with any of those
in any field. And a real operation whose settings are any of those: the worker never
crashes on it, and what it stores is exactly what its message says (or nothing).

`make test` runs a bounded number of examples; `make fuzz` many more
(FUZZ_WORKER_EXAMPLES).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from typing import Any, Dict, List, Tuple

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core import ids
from chalicelib.core.clock import isoformat, utc_now
from chalicelib.core.limits import MAX_SETTINGS_DEPTH
from chalicelib.writes import BatchIncomplete, OperationMeta
from chalicelib.writes.configs import ConfigUpdate, ConfigUpdateData
from devstack.poller import lambda_sqs_event
from tests import strategies
from tests.conftest import REGION, Api
from tests.strategies import difference, exact_json, in_lambda

EXAMPLES = int(os.environ.get("FUZZ_WORKER_EXAMPLES", "60"))
MAX_MESSAGE_BYTES = 256 * 1024  # SQS's limit
_counter = itertools.count()
FUZZ_SETTINGS = settings(
    deadline=None, suppress_health_check=strategies.FUZZ_HEALTH_CHECKS, phases=strategies.FUZZ_PHASES
)

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


SETTINGS_MARK = "\x00settings\x00"


def with_raw(envelope: Dict[str, Any], path: str, doc: strategies.Doc) -> str:
    """The envelope as JSON text, with `doc`'s text (anything: deep, huge numbers,
    repeated keys) as the value at `path` ("data.settings")."""
    copy = json.loads(json.dumps(envelope))
    *parents, leaf = path.split(".")
    node = copy
    for parent in parents:
        node = node.setdefault(parent, {}) if isinstance(node.get(parent), dict) else {}
    node[leaf] = SETTINGS_MARK
    return json.dumps(copy).replace(json.dumps(SETTINGS_MARK), doc.text, 1)


@st.composite
def raw_envelopes(draw: st.DrawFn, template: Dict[str, Any]) -> str:
    """A real envelope with one field's value replaced by raw JSON text of any kind, and
    maybe a BOM before it or a field given twice."""
    path = draw(st.sampled_from(ENVELOPE_FIELDS))
    text = with_raw(template, path, draw(strategies.settings_docs()))
    if draw(st.booleans()):
        field = json.dumps(draw(st.sampled_from(["v", "operation", "data", "meta"])))
        text = text[:-1] + f", {field}: {draw(strategies.trees(4)).text}}}"  # the field again, last
    return ("\ufeff" if draw(st.booleans()) else "") + text


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
        strategies.documents(MAX_MESSAGE_BYTES - 512).map(lambda doc: doc.text),
        strategies.raw_bodies(),
        raw_envelopes(template),
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


@settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
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

    event = lambda_sqs_event(records, api.stack.queue_arn, REGION)
    with contextlib.suppress(BatchIncomplete):  # raised for the junk it will not finish
        in_lambda(lambda: api.client.lambda_.invoke("apply_writes", event))
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


# --- what the worker stores --------------------------------------------------------------


SETTINGS = {
    "nesting and width": strategies.nested_settings() | strategies.wide_settings(),
    "numbers": strategies.number_settings(),
    "keys and strings": strategies.repeated_key_settings() | strategies.string_settings() | strategies.plain_settings(),
}


def update_message(config_id: str, settings: strategies.Doc) -> Tuple[Dict[str, Any], str]:
    """A real update of the config, as the API would enqueue it, but with `settings` as
    raw JSON text of any kind; and its operation id."""
    now = utc_now()
    operation_id = ids.new_operation_id(now)
    envelope = ConfigUpdate(
        data=ConfigUpdateData(id=config_id, layout="stored", theme="t", settings={}),
        meta=OperationMeta(operationId=operation_id, requestId="fuzz", submittedAt=isoformat(now), actor="token:fuzz"),
    ).model_dump(mode="json", exclude_none=True)
    return junk_message(with_raw(envelope, "data.settings", settings), f"config:{config_id}"), operation_id


@pytest.mark.parametrize("kind", sorted(SETTINGS))
@settings(FUZZ_SETTINGS, max_examples=max(EXAMPLES // 3, 5))
@given(data=st.data())
def test_the_worker_stores_exactly_what_its_message_says_or_nothing(
    api: Api, batch: Batch, kind: str, data: st.DataObject
) -> None:
    settings_doc = data.draw(SETTINGS[kind], label="settings")
    twice = data.draw(st.booleans(), label="delivered twice")
    before = api.request("GET", f"/metadata/{batch.config_id}", scope=None).json_body
    message, operation_id = update_message(batch.config_id, settings_doc)
    copy = {**message, "MessageId": f"{message['MessageId']}-again", "ReceiptHandle": f"{message['ReceiptHandle']}-2"}
    event = lambda_sqs_event([message, copy] if twice else [message], api.stack.queue_arn, REGION)

    with contextlib.suppress(BatchIncomplete):  # for a message it leaves to be retried
        in_lambda(lambda: api.client.lambda_.invoke("apply_writes", event))

    operation = api.request("GET", f"/operations/{operation_id}", scope="write").json_body
    stored = exact_json(api.request("GET", f"/metadata/{batch.config_id}", scope=None).body)
    if operation["status"] != "succeeded":
        assert stored["version"] == before["version"], f"not applied ({operation}), yet the config changed"
        return
    assert stored["version"] == before["version"] + 1, "applied more than once"
    assert settings_doc.depth <= MAX_SETTINGS_DEPTH, f"stored settings nested {settings_doc.depth} levels"
    try:  # raw control characters in strings read as themselves; nothing else that is not JSON
        says = exact_json(settings_doc.text, strict=False)
    except ValueError as exc:
        raise AssertionError(f"applied settings that are not JSON ({exc})") from None
    found = difference(says, stored["settings"], "settings")
    assert found is None, f"stored something else than its message says: {found}"
