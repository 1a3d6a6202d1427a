"""The emulated AWS of the burst benchmark: moto's server in this process, behind the
limits that decide how a burst fares in AWS, which moto does not enforce:

- the table: a token bucket of write calls (PutItem, UpdateItem, DeleteItem,
  BatchWriteItem, TransactWriteItems); past it, ProvisionedThroughputExceededException;
- DynamoDB's partitions: a token bucket of write units per partition key (of the table,
  and of the index for the items it lists), each write counted as DynamoDB counts it (one
  unit per KB of the item, two in a transaction); past it, the same refusal;
- SQS: a token bucket of SendMessage calls per queue in the default FIFO mode, or per
  message group (and a much larger one per queue) in high-throughput mode, as the queue's
  `FifoThroughputLimit` says; past it, ThrottlingException;
- the worker's cap: at most `cap` batches of the write queue in flight at once (received,
  neither deleted nor returned by their visibility timeout); a receive past it waits, as
  Lambda's event source with a maximum concurrency does not poll.

`Limits` holds AWS's documented figures (docs/capacity.md) divided by a scale, so that a
burst this machine can send meets them. Reads are never throttled.

Each limit is a plain object with its own clock, so `bench.virtual` runs the same limits
in virtual time.

Two changes to moto, for this process only, so that the emulator measures the service
rather than itself: DynamoDB requests are served one at a time (moto's transactions are
not safe against concurrent writes: "dictionary changed size during iteration"), and a
transaction keeps a copy of the tables' item maps for its rollback instead of a deep copy
of every table (~0.3 s per transaction at 8,000 items; a transaction of this service only
puts, deletes and checks items, so copying the maps is enough).
"""

from __future__ import annotations

import copy
import io
import json
import logging
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
THROTTLED_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
).encode()
SQS_THROTTLED_BODY = json.dumps(
    {"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded (emulated FIFO throughput limit)"}
).encode()
SENDS = frozenset({"SendMessage", "SendMessageBatch"})
# The queue attribute that says a FIFO queue's mode, and its high-throughput value.
PER_GROUP = "perMessageGroupId"
KB = 1024


class TokenBucket:
    """`rate` tokens a second, at most `capacity` saved up."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._last = clock()
        self._lock = threading.Lock()
        self.granted = 0
        self.refused = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + max(0.0, now - self._last) * self.rate)
        self._last = max(self._last, now)

    def take(self, tokens: float = 1) -> bool:
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                self.granted += 1
                return True
            self.refused += 1
            return False

    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def wait_for(self, tokens: float) -> float:
        """Seconds from now until `tokens` are there (0 when they are)."""
        return max(0.0, tokens - self.available()) / self.rate

    def spend(self, tokens: float) -> None:
        """Takes `tokens` whether or not they are there (a debt is paid back by the refill)."""
        with self._lock:
            self._refill()
            self._tokens -= tokens
            self.granted += 1

    def reset(self) -> None:
        with self._lock:
            self._tokens, self._last, self.granted, self.refused = self.capacity, self._clock(), 0, 0


@dataclass(frozen=True)
class Limits:
    """The limits the emulator enforces. The defaults are AWS's documented figures
    (docs/capacity.md has them with their sources); `scaled` divides the rates."""

    # SQS FIFO, default mode: SendMessage calls a second per queue.
    fifo_queue_sends: float = 300.0
    # SQS FIFO, high-throughput mode: SendMessage calls a second per message group, and per
    # queue (us-east-1, us-west-2, eu-west-1; other regions have less).
    fifo_group_sends: float = 300.0
    high_throughput_queue_sends: float = 70_000.0
    # DynamoDB: write units a second one partition serves, and an on-demand table (the
    # account's default table-level quota).
    partition_write_units: float = 1_000.0
    table_write_units: float = 40_000.0
    # The worker's cap: batches of the write queue running at once (`reserved_concurrency`).
    worker_cap: int = 2
    # A batch's visibility timeout: when a batch whose messages were not all deleted frees
    # its place under the cap.
    visibility_seconds: float = 6.0

    def scaled(self, scale: float) -> Limits:
        """The rates divided by `scale` (the cap and the timeout stay)."""
        return replace(
            self,
            fifo_queue_sends=self.fifo_queue_sends / scale,
            fifo_group_sends=self.fifo_group_sends / scale,
            high_throughput_queue_sends=self.high_throughput_queue_sends / scale,
            partition_write_units=self.partition_write_units / scale,
            table_write_units=self.table_write_units / scale,
        )


class QueueThrottle:
    """SendMessage's limits of SQS FIFO queues: a bucket per queue in the default mode; a
    bucket per message group and one per queue in high-throughput mode. A SendMessageBatch
    is one call (its messages share one group here, as SQS advises)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: Dict[Tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()
        self.refused = 0
        self.granted = 0

    def _bucket(self, key: Tuple[str, str], rate: float) -> TokenBucket:
        with self._lock:
            if key not in self._buckets:
                self._buckets[key] = TokenBucket(rate, rate, self._clock)
            return self._buckets[key]

    def take(self, queue: str, group: str, high_throughput: bool) -> bool:
        if high_throughput:
            group_bucket = self._bucket(("group", f"{queue}/{group}"), self.limits.fifo_group_sends)
            queue_bucket = self._bucket(("high-throughput queue", queue), self.limits.high_throughput_queue_sends)
            allowed = group_bucket.take() and queue_bucket.take()
        else:
            allowed = self._bucket(("queue", queue), self.limits.fifo_queue_sends).take()
        with self._lock:
            if allowed:
                self.granted += 1
            else:
                self.refused += 1
        return allowed


def item_units(item: Mapping[str, Any]) -> int:
    """Write units of one item: one per KB (rounded up) of its attributes, as DynamoDB's
    JSON carries them (names and values; close to DynamoDB's own sizing)."""
    return max(1, math.ceil(len(json.dumps(item, separators=(",", ":"))) / KB))


def _partitions(item: Mapping[str, Any], key_only: bool) -> List[str]:
    """The partitions a write of `item` touches: its table partition, and the index's when
    the item carries the index key (a key alone does not say: deletes count the table only)."""
    found = [f"table:{_value(item.get('pk'))}"]
    if not key_only and "gsi1pk" in item:
        found.append(f"gsi1:{_value(item.get('gsi1pk'))}")
    return found


def _value(attribute: Any) -> str:
    if isinstance(attribute, Mapping):
        return str(next(iter(attribute.values()), ""))
    return str(attribute)


Write = Tuple[Mapping[str, Any], bool, int]


def _transaction_writes(params: Mapping[str, Any]) -> Iterable[Write]:
    for entry in params.get("TransactItems", []):
        if "Put" in entry:
            yield entry["Put"].get("Item", {}), False, 2
        for kind in ("Update", "Delete"):
            if kind in entry:
                yield entry[kind].get("Key", {}), True, 2


def _batch_writes(params: Mapping[str, Any]) -> Iterable[Write]:
    for requests in params.get("RequestItems", {}).values():
        for request in requests:
            if "PutRequest" in request:
                yield request["PutRequest"].get("Item", {}), False, 1
            if "DeleteRequest" in request:
                yield request["DeleteRequest"].get("Key", {}), True, 1


def _writes(operation: str, params: Mapping[str, Any]) -> Iterable[Write]:
    """(item or key, whether only the key is known, units per KB) of each write of a request."""
    if operation == "TransactWriteItems":
        return _transaction_writes(params)
    if operation == "BatchWriteItem":
        return _batch_writes(params)
    if operation == "PutItem":
        return [(params.get("Item", {}), False, 1)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params.get("Key", {}), True, 1)]
    return []


def write_units(operation: str, params: Mapping[str, Any]) -> Dict[str, int]:
    """Write units per partition of one DynamoDB write request (DynamoDB's JSON, as the
    wire and botocore's parameters both carry it). A transaction's writes count twice;
    its condition checks are reads."""
    units: Dict[str, int] = defaultdict(int)
    for item, key_only, factor in _writes(operation, params):
        for partition in _partitions(item, key_only):
            units[partition] += factor * item_units(item)
    return dict(units)


class PartitionThrottle:
    """Write units a second per partition: a request is served whole or refused whole."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = limits.partition_write_units
        self._clock = clock
        self._buckets: Dict[str, TokenBucket] = {}
        self._lock = threading.RLock()
        self.refused = 0
        self.units: Dict[str, int] = defaultdict(int)  # granted, per partition

    def bucket(self, partition: str) -> TokenBucket:
        with self._lock:
            if partition not in self._buckets:
                self._buckets[partition] = TokenBucket(self.rate, self.rate, self._clock)
            return self._buckets[partition]

    def take(self, units: Mapping[str, int]) -> bool:
        buckets = {partition: self.bucket(partition) for partition in units}
        with self._lock:
            if any(buckets[partition].available() < count for partition, count in units.items()):
                self.refused += 1
                return False
            for partition, count in units.items():
                buckets[partition].spend(count)
                self.units[partition] += count
            return True

    def wait_for(self, units: Mapping[str, int]) -> float:
        """Seconds until every partition has its units (what a retry that waits needs)."""
        return max((self.bucket(partition).wait_for(count) for partition, count in units.items()), default=0.0)

    def spend(self, units: Mapping[str, int]) -> None:
        with self._lock:
            for partition, count in units.items():
                self.bucket(partition).spend(count)
                self.units[partition] += count


class WorkerCap:
    """At most `cap` batches in flight: a batch holds its place from its receipt until
    every message of it is deleted, or until its visibility timeout returns the rest."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = limits.worker_cap
        self.visibility_seconds = limits.visibility_seconds
        self._clock = clock
        self._batches: Dict[int, Tuple[set[str], float]] = {}
        self._next = 0
        self._changed = threading.Condition()
        self.most = 0  # the most batches seen in flight at once

    def _expire(self) -> None:
        now = self._clock()
        for number, (_, deadline) in list(self._batches.items()):
            if deadline <= now:
                del self._batches[number]

    def running(self) -> int:
        with self._changed:
            self._expire()
            return len(self._batches)

    def wait_for_place(self, timeout: float) -> bool:
        """Waits (up to `timeout` seconds) until a batch may be received."""
        deadline = self._clock() + timeout
        with self._changed:
            while True:
                self._expire()
                if len(self._batches) < self.cap:
                    return True
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))

    def received(self, handles: Iterable[str]) -> None:
        handles = set(handles)
        if not handles:
            return
        with self._changed:
            self._batches[self._next] = (handles, self._clock() + self.visibility_seconds)
            self._next += 1
            self.most = max(self.most, len(self._batches))

    def deleted(self, handles: Iterable[str]) -> None:
        gone = set(handles)
        with self._changed:
            for number, (held, _) in list(self._batches.items()):
                held -= gone
                if not held:
                    del self._batches[number]
            self._changed.notify_all()


class _ItemMapCopy:
    """Stands in for the `copy` module inside moto's DynamoDB backend."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Optional[Dict[int, Any]] = None) -> Any:
        if isinstance(value, Table):
            clone = copy.copy(value)
            clone.items = defaultdict(
                dict, {key: dict(items) if isinstance(items, dict) else items for key, items in value.items.items()}
            )
            return clone
        return copy.deepcopy(value, memo)


class LimitedAws:
    """WSGI middleware in front of moto's app: the table's bucket, the partitions', the
    queues' and the worker's cap (`worker_queue`: the queue whose receives it caps)."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        bucket: TokenBucket,
        limits: Limits,
        worker_queue: str = "",
        high_throughput: Callable[[str], bool] = lambda queue: True,
    ) -> None:
        self._app = app
        self.bucket = bucket
        self.partitions = PartitionThrottle(limits)
        self.queues = QueueThrottle(limits)
        self.worker = WorkerCap(limits)
        self.worker_queue = worker_queue
        self._high_throughput = high_throughput
        self._serial = threading.Lock()

    def reset(self, limits: Limits) -> None:
        """Fresh buckets and counts (between two runs of a benchmark)."""
        self.bucket.reset()
        self.partitions = PartitionThrottle(limits)
        self.queues = QueueThrottle(limits)
        self.worker = WorkerCap(limits)

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target.startswith("DynamoDB_"):
            return self._dynamodb(target.rsplit(".", 1)[-1], environ, start_response)
        if target.startswith("AmazonSQS."):
            return self._sqs(target.rsplit(".", 1)[-1], environ, start_response)
        return self._app(environ, start_response)

    def _dynamodb(self, operation: str, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if operation in WRITES:
            units = write_units(operation, _body(environ))
            if not self.bucket.take() or not self.partitions.take(units):
                return _refuse(start_response, THROTTLED_BODY)
        with self._serial:
            return list(self._app(environ, start_response))

    def _sqs(self, operation: str, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _body(environ)
        queue = str(body.get("QueueUrl", "")).rsplit("/", 1)[-1]
        if operation in SENDS and queue.endswith(".fifo"):
            entries = body.get("Entries") or [body]
            group = str(entries[0].get("MessageGroupId", ""))
            if not self.queues.take(queue, group, self._high_throughput(queue)):
                return _refuse(start_response, SQS_THROTTLED_BODY)
        capped = queue == self.worker_queue
        if capped and operation == "ReceiveMessage":
            if not self.worker.wait_for_place(float(body.get("WaitTimeSeconds") or 0)):
                return _answer(start_response, {})
            answer = list(self._app(environ, start_response))
            received = json.loads(b"".join(answer) or b"{}").get("Messages", [])
            self.worker.received(message["ReceiptHandle"] for message in received)
            return answer
        if capped and operation in ("DeleteMessage", "DeleteMessageBatch"):
            entries = body.get("Entries") or [body]
            answer = list(self._app(environ, start_response))
            self.worker.deleted(str(entry.get("ReceiptHandle", "")) for entry in entries)
            return answer
        return self._app(environ, start_response)


def _body(environ: Dict[str, Any]) -> Dict[str, Any]:
    """The request's JSON body; the stream is put back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        found = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _refuse(start_response: Callable[..., Any], body: bytes) -> List[bytes]:
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _answer(start_response: Callable[..., Any], value: Dict[str, Any]) -> List[bytes]:
    body = json.dumps(value).encode()
    start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))])
    return [body]


def high_throughput_in_moto(queue: str) -> bool:
    """Whether moto's queue of that name (any account, any region of this process) is in
    high-throughput mode, as its attributes say; a queue not found counts as one."""
    from moto.sqs.models import sqs_backends

    for regions in sqs_backends.values():
        for backend in regions.values():
            found = backend.queues.get(queue)
            if found is not None:
                return bool(getattr(found, "fifo_throughput_limit", PER_GROUP) == PER_GROUP)
    return True


class Emulator:
    """moto on 127.0.0.1, behind `LimitedAws`."""

    def __init__(self, bucket: TokenBucket, limits: Optional[Limits] = None, worker_queue: str = "") -> None:
        self.bucket = bucket
        self.limits = limits or Limits()
        self.aws = LimitedAws(lambda environ, start: [], bucket, self.limits, worker_queue, high_throughput_in_moto)
        self._server: Optional[BaseWSGIServer] = None
        self._thread: Optional[threading.Thread] = None
        self.endpoint = ""

    def start(self) -> str:
        vars(dynamodb_models)["copy"] = _ItemMapCopy()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
        self.aws._app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", 0, self.aws, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.port}"
        return self.endpoint

    def reset(self) -> None:
        self.aws.reset(self.limits)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        vars(dynamodb_models)["copy"] = copy
