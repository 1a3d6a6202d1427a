"""How the worker decides a transaction DynamoDB refuses, through its Lambda entry point.

A refused `TransactWriteItems` (TransactionCanceledException) is decided from its
`CancellationReasons`:

- `ConditionalCheckFailed`: the state moved between the worker's read and its write (a
  competing write, or a duplicate delivery of the same message, got there first). The
  operation is read again and decided in the same invocation: no message waits for its
  visibility timeout.
- `ValidationError` and the like: the write can never succeed. The operation ends
  `failed` with `Rejected`; the message is done, not retried.
- `ThrottlingError`, `TransactionConflict`, ...: not now. The message is left on the
  queue for a retry; the operation stays `pending`.

The refusals are DynamoDB's own answers: a competing write really applied in between (so
moto refuses the transaction), or an HTTP answer made up at `before-send`, which botocore
parses as it parses AWS's.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

from chalicelib.services import get_services
from chalicelib.writes import BatchIncomplete
from chalicelib.writes.apply import MAX_ATTEMPTS
from devstack.poller import lambda_sqs_event
from tests.conftest import REGION, Api, invoke, operation, submit
from tests.helpers import Faults


class Calls:
    """Watches (and may act on) the worker's TransactWriteItems calls, through botocore's
    event hooks on the functions' own DynamoDB client."""

    def __init__(self) -> None:
        self._events = get_services().table.meta.client.meta.events
        self._handlers: List[tuple[str, Callable[..., Any]]] = []
        self.transactions: List[Dict[str, Any]] = []
        self.refused: List[str] = []
        self._register("before-call.dynamodb.TransactWriteItems", self._record)

    def _register(self, event: str, handler: Callable[..., Any]) -> None:
        self._events.register(event, handler)
        self._handlers.append((event, handler))

    def _record(self, params: Dict[str, Any], **_: Any) -> None:
        self.transactions.append(params)

    def changes(self) -> List[Dict[str, Any]]:
        """The transactions that change a config (those that write a version), not the ones
        that only record an operation that failed."""
        return [params for params in self.transactions if "VERSION#" in json.dumps(params, default=str)]

    def before_first_change(self, action: Callable[[], None]) -> None:
        """Runs `action` once, just before the first transaction that changes a config is
        sent: whatever it writes lands between the worker's read and its write."""
        done: List[bool] = []

        def handler(params: Dict[str, Any], **_: Any) -> None:
            if not done and "VERSION#" in json.dumps(params, default=str):
                done.append(True)
                action()

        self._register("before-call.dynamodb.TransactWriteItems", handler)

    def refuse_changes(self, *reasons: Optional[str], times: Optional[int] = None) -> None:
        """DynamoDB answers TransactionCanceledException to the transactions that change a
        config (the first `times` of them, or all): the first item gets `reasons[0]`, and so
        on; items past the reasons given get `None`. The answer is parsed by botocore from
        the HTTP body DynamoDB sends, and nothing reaches the table."""

        def handler(model: Any, params: Dict[str, Any], **_: Any) -> Optional[tuple[AWSResponse, Dict[str, Any]]]:
            body = params["body"].decode() if isinstance(params["body"], bytes) else str(params["body"])
            if "VERSION#" not in body or (times is not None and len(self.refused) >= times):
                return None
            count = len(json.loads(body)["TransactItems"])
            given = list(reasons) + [None] * (count - len(reasons))
            self.refused.append(",".join(str(reason) for reason in given))
            return cancelled(model, params["url"], given)

        # At before-call, an answer replaces the request: moto (at before-send) never sees it.
        self._register("before-call.dynamodb.TransactWriteItems", handler)

    def close(self) -> None:
        for event, handler in self._handlers:
            self._events.unregister(event, handler)
        self._handlers.clear()


def cancelled(model: Any, url: str, reasons: List[Optional[str]]) -> tuple[AWSResponse, Dict[str, Any]]:
    """DynamoDB's answer to a transaction it cancelled, and botocore's parse of it."""
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": f"Transaction cancelled, please refer cancellation reasons for specific reasons {reasons}",
        "CancellationReasons": [
            {"Code": reason or "None", **({"Message": f"{reason} (made up)"} if reason else {})} for reason in reasons
        ],
    }
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "made-up"}
    response = {"status_code": 400, "headers": headers, "body": raw}
    # As botocore's endpoint does: the error, then the fields its modeled shape adds.
    parser = create_parser(model.service_model.resolved_protocol)
    parsed: Dict[str, Any] = parser.parse(response, model.output_shape)
    parsed.update(parser.parse(response, model.service_model.shape_for_error_code(parsed["Error"]["Code"])))
    http_headers = HTTPHeaders()
    for name, value in headers.items():
        http_headers[name] = value
    return AWSResponse(url, 400, http_headers, None), parsed


@pytest.fixture
def calls(api: Api) -> Iterator[Calls]:
    watched = Calls()
    yield watched
    watched.close()


def reporting_batch_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """As with an event source that has ReportBatchItemFailures on: the worker names the
    messages it leaves for a retry instead of raising."""
    services = get_services()
    monkeypatch.setattr(
        services, "settings", services.settings.model_copy(update={"worker_reports_batch_failures": True})
    )


def stored(api: Api, config_id: str) -> Dict[str, Any]:
    body: Dict[str, Any] = api.request("GET", f"/metadata/{config_id}", scope=None).json_body
    return body


def versions(api: Api, config_id: str) -> List[Any]:
    items = api.request("GET", f"/metadata/{config_id}/versions", scope="read").json_body["items"]
    return [(item["version"], item.get("layout")) for item in items]


def dead_letters(api: Api) -> List[Any]:
    return api.dead_letters.receive_all()


# --- a lost race: read again, decide at once --------------------------------------------------


@pytest.mark.parametrize("report_failures", [False, True])
def test_a_write_that_lost_a_race_is_read_again_and_applied_in_the_same_invocation(
    api: Api, config: Dict[str, Any], calls: Calls, monkeypatch: pytest.MonkeyPatch, report_failures: bool
) -> None:
    if report_failures:
        reporting_batch_failures(monkeypatch)
    path = f"/metadata/{config['id']}"
    earlier = submit(api, "PUT", path, {"layout": "earlier", "theme": "t"})
    mine = submit(api, "PUT", path, {"layout": "mine", "theme": "t"})
    first, second = api.queue.receive_all()
    # The earlier write is applied (by another invocation) between this one's read and write.
    calls.before_first_change(lambda: invoke(api, [first]))

    answer = invoke(api, [second])

    # Finished in this invocation: nothing left for the visibility timeout to bring back.
    assert answer == ({"batchItemFailures": []} if report_failures else None)
    assert len(calls.changes()) == 3  # the earlier write; mine, refused; mine again, after a new read
    assert operation(api, earlier["operationId"])["version"] == 2
    applied = operation(api, mine["operationId"])
    assert (applied["status"], applied["version"]) == ("succeeded", 3)
    assert (stored(api, config["id"])["layout"], stored(api, config["id"])["version"]) == ("mine", 3)
    assert versions(api, config["id"]) == [(3, "mine"), (2, "earlier"), (1, "two-column")]


def test_a_write_whose_if_match_a_racing_write_made_stale_fails_at_once(
    api: Api, config: Dict[str, Any], calls: Calls
) -> None:
    path = f"/metadata/{config['id']}"
    etag = api.request("GET", path, scope=None).headers["ETag"]
    earlier = submit(api, "PUT", path, {"layout": "earlier", "theme": "t"})
    mine = submit(api, "PUT", path, {"layout": "mine", "theme": "t"}, headers={"If-Match": etag})
    first, second = api.queue.receive_all()
    calls.before_first_change(lambda: invoke(api, [first]))

    assert invoke(api, [second]) is None  # done: failed for good, not retried

    assert operation(api, earlier["operationId"])["status"] == "succeeded"
    failed = operation(api, mine["operationId"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "PreconditionFailed")
    assert "version 1" in failed["error"]["message"]
    assert (stored(api, config["id"])["layout"], stored(api, config["id"])["version"]) == ("earlier", 2)


def test_the_refusal_the_worker_reads_again_after_is_dynamodbs_conditional_check_failed(
    api: Api, config: Dict[str, Any], calls: Calls
) -> None:
    """The same decision for DynamoDB's answer as it comes over the wire: the first item's
    condition failed, the others have no reason."""
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "again", "theme": "t"})
    calls.refuse_changes("ConditionalCheckFailed", times=1)

    assert invoke(api, api.queue.receive_all()) is None

    # Six items: the config, its page, the version, the audit entry, the change events
    # (the outbox) and the operation record.
    assert calls.refused == ["ConditionalCheckFailed,None,None,None,None,None"]
    assert len(calls.changes()) == 2
    assert operation(api, accepted["operationId"])["version"] == 2
    assert api.queued() == []


def test_a_write_that_keeps_losing_races_waits_for_its_next_receive(
    api: Api, config: Dict[str, Any], calls: Calls
) -> None:
    """After MAX_ATTEMPTS reads and refusals in one invocation the message is left for
    a retry (the state keeps moving: it will be decided on a later receive)."""
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "busy", "theme": "t"})
    calls.refuse_changes("ConditionalCheckFailed")
    messages = api.queue.receive_all()

    with pytest.raises(BatchIncomplete):
        invoke(api, messages)

    assert len(calls.refused) == MAX_ATTEMPTS
    assert operation(api, accepted["operationId"])["status"] == "pending"
    api.queue.release(messages)
    assert [m["MessageId"] for m in api.queue.receive_all()] == [messages[0]["MessageId"]]

    calls.close()  # the state settles: the next receive applies it
    api.queue.release(messages)
    assert invoke(api, api.queue.receive_all()) is None
    assert operation(api, accepted["operationId"])["status"] == "succeeded"


# --- a write that can never succeed -------------------------------------------------------------


@pytest.mark.parametrize("reason", ["ValidationError", "ItemCollectionSizeLimitExceeded"])
def test_a_write_dynamodb_refuses_as_invalid_fails_as_rejected_and_is_not_retried(
    api: Api, config: Dict[str, Any], calls: Calls, reason: str
) -> None:
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "huge", "theme": "t"})
    # As for an item over 400 KB: DynamoDB names the item and refuses the transaction.
    calls.refuse_changes(reason)

    assert invoke(api, api.queue.receive_all()) is None  # done with: deleted, not left for a retry

    failed = operation(api, accepted["operationId"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "Rejected")
    assert reason in failed["error"]["message"]
    assert len(calls.refused) == 1  # not read again, not tried again
    assert stored(api, config["id"])["version"] == 1
    assert api.queued() == []
    assert dead_letters(api) == []


def test_an_invalid_write_is_rejected_even_when_another_item_lost_a_race(
    api: Api, config: Dict[str, Any], calls: Calls
) -> None:
    """A write that can never succeed is not read again because some other item's
    condition failed too: reading again would not make it valid."""
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "huge", "theme": "t"})
    calls.refuse_changes("ConditionalCheckFailed", "ValidationError")
    assert invoke(api, api.queue.receive_all()) is None
    failed = operation(api, accepted["operationId"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "Rejected")
    assert len(calls.refused) == 1


# --- not now: the message is retried ----------------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded", "RequestLimitExceeded"]
)
def test_a_write_refused_for_now_is_left_on_the_queue_and_stays_pending(
    api: Api, config: Dict[str, Any], calls: Calls, reason: str
) -> None:
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "later", "theme": "t"})
    calls.refuse_changes(None, reason)
    messages = api.queue.receive_all()

    with pytest.raises(BatchIncomplete):
        invoke(api, messages)

    assert len(calls.refused) == 1  # not read again in this invocation: it waits
    assert operation(api, accepted["operationId"])["status"] == "pending"
    api.queue.release(messages)
    assert [m["MessageId"] for m in api.queue.receive_all()] == [messages[0]["MessageId"]]
    assert dead_letters(api) == []

    calls.close()  # the table has capacity again
    api.queue.release(messages)
    assert invoke(api, api.queue.receive_all()) is None
    assert operation(api, accepted["operationId"])["status"] == "succeeded"
    assert stored(api, config["id"])["layout"] == "later"


def test_with_report_batch_item_failures_a_write_refused_for_now_is_named_for_a_retry(
    api: Api, config: Dict[str, Any], calls: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    reporting_batch_failures(monkeypatch)
    submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "later", "theme": "t"})
    calls.refuse_changes("TransactionConflict")
    messages = api.queue.receive_all()
    assert invoke(api, messages) == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}


# --- a duplicate delivery racing the first ------------------------------------------------------


def test_a_duplicate_delivery_racing_the_first_applies_the_operation_once(
    api: Api, config: Dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "once", "theme": "t"})
    messages = api.queue.receive_all()
    event = lambda_sqs_event(messages, api.stack.queue_arn, REGION)
    duplicate: List[Any] = []
    # A second delivery of the same message (its visibility timed out while the first was
    # still running) reads before the first commits, and commits first.
    calls.before_first_change(lambda: duplicate.append(api.client.lambda_.invoke("apply_writes", event).payload))
    capsys.readouterr()

    first = api.client.lambda_.invoke("apply_writes", event).payload

    assert (first, duplicate) == (None, [None])  # both finished, neither waits for a retry
    finished = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and '"operation finished"' in line
    ]
    assert [(line["status"], line["version"]) for line in finished] == [("succeeded", 2), ("succeeded", 2)]
    # The first delivery's transaction was refused (the operation's record was there) and
    # its new read found the operation applied: one change, one version.
    assert len(calls.changes()) == 2
    assert versions(api, config["id"]) == [(2, "once"), (1, "two-column")]
    recorded = operation(api, accepted["operationId"])
    assert (recorded["status"], recorded["version"]) == ("succeeded", 2)
    assert api.queued() == []


def test_a_transaction_dynamodb_refuses_as_a_whole_fails_as_rejected_and_is_not_retried(
    api: Api, config: Dict[str, Any], table_faults: Faults
) -> None:
    """DynamoDB answers a transaction over 4 MB with a plain ValidationException (no
    cancellation reasons): the same transaction can never succeed."""
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "big", "theme": "t"})
    message = "Transaction request cannot be larger than 4 MB"
    table_faults.throw(
        lambda call: ClientError({"Error": {"Code": "ValidationException", "Message": message}}, call.operation),
        "TransactWriteItems",
        times=1,
    )

    assert invoke(api, api.queue.receive_all()) is None

    failed = operation(api, accepted["operationId"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "Rejected")
    assert "4 MB" in failed["error"]["message"]
    assert stored(api, config["id"])["version"] == 1
    assert api.queued() == []
