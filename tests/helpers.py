"""The test doubles every test module shares, each defined once: a clock the test moves,
the check of the contract's error body, AWS calls made to fail (botocore's event hooks),
DynamoDB's request tokens (which moto ignores), reading a queue, and waiting for a
condition."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import boto3
import requests
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError, EndpointConnectionError

# --- time ------------------------------------------------------------------------------


class Clock:
    """Stands still until the test moves it: hand it to code that takes a `clock`
    callable, then set `now` or `advance` it."""

    def __init__(self, now: Optional[datetime] = None) -> None:
        self.now = now if now is not None else datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Polls `condition` until it answers something true, and answers that; fails after
    `timeout` seconds naming `what` it waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def sleep_until(moment: datetime) -> None:
    """Sleeps until just past `moment` (real time: for what the service compares with its own clock)."""
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.05)


# --- the contract's error body ---------------------------------------------------------


def assert_error(response: Any, status: int, code: str) -> Dict[str, Any]:
    """The contract's error body, with the status and code expected; answers the body.

    `response` is an answer as some test sees it: chalice's test client, `requests`
    against a running stack, or the Lambda proxy dict the local gateway builds.
    """
    actual, headers, raw = _answer(response)
    assert actual == status, (actual, raw)
    assert headers.get("content-type") == "application/json", (headers, raw)
    body: Dict[str, Any] = json.loads(raw)
    assert body["error"] == code, body
    assert body["message"]
    assert body["requestId"] == headers["x-request-id"]
    return body


def _answer(response: Any) -> Tuple[int, Dict[str, str], Union[str, bytes]]:
    """Status, headers (by lower-case name: HTTP's are case-insensitive) and body."""
    if isinstance(response, dict):
        status, headers, body = response["statusCode"], response["headers"], response["body"]
    elif isinstance(response, requests.Response):
        status, headers, body = response.status_code, response.headers, response.content
    else:
        status, headers, body = response.status_code, response.headers, response.body
    return int(status), {str(name).lower(): str(value) for name, value in headers.items()}, body


# --- AWS calls made to fail ------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One API call, with its parameters as botocore sends them (for a boto3 resource's
    client, after the resource turned Python values into typed attribute values)."""

    operation: str
    params: Mapping[str, Any]
    number: int  # its place among the calls its `Faults` saw, from 1

    @property
    def text(self) -> str:
        """The parameters as JSON, for a test to look for a value in (`'"stuck"' in call.text`)."""
        return json.dumps(self.params, default=str)


Picks = Callable[[Call], bool]
MakeError = Callable[[Call], BaseException]
Rewrite = Callable[[Call, Dict[str, Any]], None]


@dataclass
class _Rule:
    operation: Optional[str]  # None: every operation
    when: Optional[Picks]
    times: Optional[int]  # None: every time; counts down as the rule strikes

    def picks(self, call: Call) -> bool:
        if self.times == 0 or self.operation not in (None, call.operation):
            return False
        if self.when is not None and not self.when(call):
            return False
        if self.times is not None:
            self.times -= 1
        return True


class Faults:
    """Makes the calls of one botocore client fail (or of every client a session makes
    from now on), through botocore's event hooks, and lists the calls it saw.

    Hook the very client the code under test calls (`get_services().table.meta.client`):
    the failure then reaches that code as the SDK raises it. Rules are tried in the order
    they were added, and the first that picks a call decides what becomes of it. `heal()`
    drops the rules; `close()`, or the end of a `with`, drops the hooks too.
    """

    def __init__(self, target: Any) -> None:
        meta = getattr(target, "meta", None)
        if meta is not None:  # a client: its own service's calls
            self._events = meta.events
            self._service = meta.service_model.service_id.hyphenize()
            self._endpoint = str(meta.endpoint_url)
        else:  # a session: the clients it makes later (they copy its hooks when made)
            self._events = target.events
            self._service = ""
            self._endpoint = "https://aws.invalid"
        self._context_key = f"tests.helpers.Faults.{id(self)}"
        self._before: List[Tuple[_Rule, MakeError]] = []
        self._after: List[Tuple[_Rule, MakeError]] = []
        self._rewrites: List[Tuple[_Rule, Rewrite]] = []
        self._sent: List[Tuple[_Rule, str, int]] = []
        self._hooks: List[Tuple[str, Callable[..., Any]]] = []
        self.seen: List[str] = []  # every call, by operation name, failed or not
        self.refused: List[str] = []  # every call (each attempt, for `answer`) a rule failed
        self.answered: List[Call] = []  # every call AWS answered with a success, in order
        for stage, handler in (
            ("before-parameter-build", self._remember_params),
            ("before-call", self._before_call),
            ("after-call", self._after_call),
            ("before-send", self._before_send),
        ):
            self._hook(f"{stage}.{self._service}" if self._service else stage, handler)

    def __enter__(self) -> Faults:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # the faults

    def fail(
        self, code: str, operation: Optional[str] = None, *, when: Optional[Picks] = None, times: Optional[int] = None
    ) -> None:
        """The call raises ClientError `code`, as the SDK does once its retries are spent."""

        def error(call: Call) -> BaseException:
            return ClientError({"Error": {"Code": code, "Message": "injected by the test"}}, call.operation)

        self.throw(error, operation, when=when, times=times)

    def unreachable(
        self, operation: Optional[str] = None, *, when: Optional[Picks] = None, times: Optional[int] = None
    ) -> None:
        """No connection at all, as when the endpoint is down or the network is cut."""
        self.throw(lambda call: EndpointConnectionError(endpoint_url=self._endpoint), operation, when=when, times=times)

    def throw(
        self,
        error: MakeError,
        operation: Optional[str] = None,
        *,
        after: bool = False,
        when: Optional[Picks] = None,
        times: Optional[int] = None,
    ) -> None:
        """The call raises what `error` makes of it: before it is sent or, with `after`, once
        AWS has answered (its effect stands, as when a function dies right after a call)."""
        rule = _Rule(operation, when, times)
        if after:
            self._after.append((rule, error))
        else:
            self._before.append((rule, error))

    def rewrite(
        self, operation: str, change: Rewrite, *, when: Optional[Picks] = None, times: Optional[int] = None
    ) -> None:
        """The call goes through, and `change` edits AWS's answer before the caller sees it,
        as when DynamoDB answers only in part (UnprocessedKeys). Both the call's `params`
        and the answer are as on the wire (DynamoDB's typed attribute values)."""
        assert self._service, "rewrite answers on a client's Faults, not a session's"
        if not any(rule.operation == operation for rule, _ in self._rewrites):
            # botocore calls an operation's own hooks before its service's: this one runs
            # before boto3's resource layer turns the answer into Python values.
            self._hook(f"after-call.{self._service}.{operation}", self._rewrite_answer)
        self._rewrites.append((_Rule(operation, when, times), change))

    def answer(self, code: str, status: int, operation: Optional[str] = None, *, times: Optional[int] = None) -> None:
        """AWS itself answers each attempt with `code` (a JSON-protocol error), so the SDK's
        own retries run before the caller sees the error, as with a throttling table."""
        self._sent.append((_Rule(operation, None, times), code, status))

    def heal(self) -> None:
        """Every call goes through again."""
        self._before.clear()
        self._after.clear()
        self._rewrites.clear()
        self._sent.clear()

    def close(self) -> None:
        self.heal()
        for event, handler in self._hooks:
            self._events.unregister(event, handler)
        self._hooks.clear()

    # botocore's hooks

    def _hook(self, event: str, handler: Callable[..., Any]) -> None:
        self._events.register(event, handler)
        self._hooks.append((event, handler))

    def _remember_params(self, params: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
        # before-call sees the request as bytes; the rules look at these parameters, which
        # boto3's resource hooks edit in place until the request is built.
        context[self._context_key] = params

    def _before_call(self, model: Any, context: Dict[str, Any], **_: Any) -> None:
        self.seen.append(model.name)
        call = Call(model.name, context.get(self._context_key, {}), len(self.seen))
        context[self._context_key] = call
        for rule, error in self._before:
            if rule.picks(call):
                self.refused.append(call.operation)
                raise error(call)

    def _after_call(self, context: Dict[str, Any], http_response: Any = None, **_: Any) -> None:
        call = context.get(self._context_key)
        if not isinstance(call, Call):
            return
        if http_response is not None and http_response.status_code < 300:
            self.answered.append(call)
        for rule, error in self._after:
            if rule.picks(call):
                self.refused.append(call.operation)
                raise error(call)

    def _rewrite_answer(self, parsed: Dict[str, Any], context: Dict[str, Any], **_: Any) -> None:
        call = context.get(self._context_key)
        if not isinstance(call, Call):
            return
        for rule, change in self._rewrites:
            if rule.picks(call):
                change(call, parsed)
                return

    def _before_send(self, request: Any, **_: Any) -> Optional[AWSResponse]:
        if not self._sent:
            return None
        # A JSON-protocol request names its operation in this header (DynamoDB, SQS).
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        try:
            params = json.loads(request.body or b"{}")
        except ValueError:
            params = {}
        call = Call(operation, params, len(self.seen))
        for rule, code, status in self._sent:
            if rule.picks(call):
                self.refused.append(operation)
                body = json.dumps({"__type": f"com.amazonaws.{self._service or 'aws'}#{code}", "message": "not now"})
                headers = HTTPHeaders()
                headers["Content-Type"] = "application/x-amz-json-1.0"
                return AWSResponse(request.url, status, headers, _RawBody(body.encode()))
        return None


def throttle(faults: Faults, picks: Picks) -> None:
    """The table throttles the worker's transactions that `picks` picks."""
    faults.fail("ProvisionedThroughputExceededException", "TransactWriteItems", when=picks)


def touching(text: str) -> Picks:
    """Picks the transactions whose items mention `text`."""
    return lambda call: text in json.dumps(call.params.get("TransactItems", []), default=str)


class _RawBody:
    """The raw body of a made-up HTTP response, as botocore reads one."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    def read(self) -> bytes:
        return self._data


class RequestTokens:
    """DynamoDB's rule for TransactWriteItems' ClientRequestToken, which moto does not keep.

    For ten minutes after a call completes, the same token with the same request is
    answered as a success without being applied again (when that call succeeded), and
    the same token with another request is refused with IdempotentParameterMismatchException.
    A test that repeats a transaction then sees what AWS would do, not moto's re-run of it.
    """

    WINDOW_SECONDS = 600.0
    OPERATION = "TransactWriteItems"

    def __init__(self, client: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._events = client.meta.events
        self._clock = clock
        # token -> (the request's body, when it completed, whether it succeeded)
        self._completed: Dict[str, Tuple[bytes, float, bool]] = {}
        self._context_key = f"tests.helpers.RequestTokens.{id(self)}"
        self.sent: List[str] = []  # every token, in order
        self.replayed = 0  # calls answered from an earlier success
        self._events.register(f"before-call.dynamodb.{self.OPERATION}", self._before_call)
        self._events.register(f"after-call.dynamodb.{self.OPERATION}", self._after_call)

    def close(self) -> None:
        self._events.unregister(f"before-call.dynamodb.{self.OPERATION}", self._before_call)
        self._events.unregister(f"after-call.dynamodb.{self.OPERATION}", self._after_call)

    def _before_call(
        self, params: Dict[str, Any], context: Dict[str, Any], **_: Any
    ) -> Optional[Tuple[AWSResponse, Dict[str, Any]]]:
        body = bytes(params["body"])
        token = json.loads(body).get("ClientRequestToken")
        if token is None:
            return None
        self.sent.append(token)
        context[self._context_key] = (token, body)
        earlier = self._completed.get(token)
        if earlier is None or self._clock() - earlier[1] > self.WINDOW_SECONDS:
            return None
        if earlier[0] != body:
            code, message = "IdempotentParameterMismatchException", "the token was used with other parameters"
            raise ClientError({"Error": {"Code": code, "Message": message}}, self.OPERATION)
        if not earlier[2]:
            return None
        self.replayed += 1
        answer = AWSResponse(params["url"], 200, HTTPHeaders(), _RawBody(b"{}"))
        return answer, {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def _after_call(self, http_response: Any, context: Dict[str, Any], **_: Any) -> None:
        sent = context.get(self._context_key)
        if sent is None:
            return
        token, body = sent
        earlier = self._completed.get(token)
        if earlier is None or self._clock() - earlier[1] > self.WINDOW_SECONDS:
            self._completed[token] = (body, self._clock(), http_response.status_code < 300)


# --- queues ----------------------------------------------------------------------------

# moto makes a released message visible once its time is strictly past, in milliseconds:
# a receive in the same millisecond would not see it yet, and a run would not repeat.
MOTO_CLOCK_TICK = 0.002


class Queue:
    """One SQS queue, read as a test reads it: what is receivable now, with its attributes."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs = sqs
        self.url = url

    def receive(self) -> List[Dict[str, Any]]:
        """One receive of up to ten messages, as Lambda's event source makes."""
        response = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )
        return [dict(message) for message in response.get("Messages", [])]

    def receive_all(self) -> List[Dict[str, Any]]:
        """Receives until a receive comes back empty; the messages stay in flight."""
        messages: List[Dict[str, Any]] = []
        while batch := self.receive():
            messages.extend(batch)
        return messages

    def release(self, messages: List[Dict[str, Any]]) -> None:
        """What the visibility timeout does, now: the messages can be received again."""
        for message in messages:
            with contextlib.suppress(ClientError):  # deleted meanwhile: nothing to release
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        time.sleep(MOTO_CLOCK_TICK)

    def peek(self) -> List[Dict[str, Any]]:
        """Everything receivable now, left on the queue."""
        messages = self.receive_all()
        self.release(messages)
        return messages


class AtomicCalls:
    """Makes moto apply each call of `client` whole, as AWS does: moto checks a write's
    condition and then writes, in two steps another thread can come between, so two
    conditional puts racing in threads could both succeed (DynamoDB lets exactly one).
    Calls of the client from several threads run one at a time while this is open."""

    def __init__(self, client: Any) -> None:
        self._events = client.meta.events
        self._service = client.meta.service_model.endpoint_prefix
        self._lock = threading.RLock()
        self._handlers = [
            (f"before-call.{self._service}", self._acquire),
            (f"after-call.{self._service}", self._release),
            (f"after-call-error.{self._service}", self._release),
        ]
        for event, handler in self._handlers:
            self._events.register(event, handler)

    def _acquire(self, **_: Any) -> None:
        self._lock.acquire()

    def _release(self, **_: Any) -> None:
        self._lock.release()

    def close(self) -> None:
        for event, handler in self._handlers:
            self._events.unregister(event, handler)

    def __enter__(self) -> AtomicCalls:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class EventTap:
    """What reaches an EventBridge bus, as a consumer sees it: a rule on the bus that
    targets a queue of the test's own, read back as EventBridge's envelopes."""

    def __init__(self, source: str, bus: str = "default", region: str = "us-east-1") -> None:
        self.sqs = boto3.client("sqs", region_name=region)
        events = boto3.client("events", region_name=region)
        self.url = self.sqs.create_queue(QueueName="event-tap")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="event-tap", EventBusName=bus, EventPattern=json.dumps({"source": [source]}))
        events.put_targets(Rule="event-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: List[Dict[str, Any]] = []

    def envelopes(self) -> List[Dict[str, Any]]:
        """Every envelope received so far (each read once from the queue, kept here)."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.seen
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def events(self) -> List[Dict[str, Any]]:
        """The events' details, in the order they arrived."""
        return [envelope["detail"] for envelope in self.envelopes()]


class Crash(BaseException):
    """The function dies where it stands, as on a Lambda timeout: nothing catches it."""


def scheduled_event(api: Any) -> Dict[str, Any]:
    """What EventBridge hands a scheduled function, as Chalice's test client makes it."""
    event: Dict[str, Any] = api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:rule/schedule"]
    )
    return event
