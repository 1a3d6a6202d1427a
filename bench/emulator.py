"""The emulated AWS of the burst benchmark: moto's server in this process, with DynamoDB
behind a token bucket, so writes past a set rate are refused with
ProvisionedThroughputExceededException, as a table of limited write capacity refuses them.

The bucket counts write calls (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
TransactWriteItems): in both variants of the benchmark a config's creation is one
transaction, so a call is a fair unit. Reads are never throttled.

Two changes to moto, for this process only, so that the emulator measures the service
rather than itself: DynamoDB requests are served one at a time (moto's transactions are
not safe against concurrent writes: "dictionary changed size during iteration"), and a
transaction keeps a copy of the tables' item maps for its rollback instead of a deep copy
of every table (~0.3 s per transaction at 8,000 items; a transaction of this service only
puts, deletes and checks items, so copying the maps is enough).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, Optional

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

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                self.granted += 1
                return True
            self.refused += 1
            return False

    def reset(self) -> None:
        with self._lock:
            self._tokens, self._last, self.granted, self.refused = self.capacity, self._clock(), 0, 0


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


class ThrottledDynamoDB:
    """WSGI middleware in front of moto's app."""

    def __init__(self, app: Callable[..., Iterable[bytes]], bucket: TokenBucket) -> None:
        self._app = app
        self.bucket = bucket
        self._serial = threading.Lock()

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("DynamoDB_"):
            return self._app(environ, start_response)
        if target.rsplit(".", 1)[-1] in WRITES and not self.bucket.take():
            start_response(
                "400 Bad Request",
                [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(THROTTLED_BODY)))],
            )
            return [THROTTLED_BODY]
        with self._serial:
            return list(self._app(environ, start_response))


class Emulator:
    """moto on 127.0.0.1, DynamoDB throttled by `bucket`."""

    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket
        self._server: Optional[BaseWSGIServer] = None
        self._thread: Optional[threading.Thread] = None
        self.endpoint = ""

    def start(self) -> str:
        vars(dynamodb_models)["copy"] = _ItemMapCopy()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
        app = ThrottledDynamoDB(DomainDispatcherApplication(create_backend_app), self.bucket)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.port}"
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        vars(dynamodb_models)["copy"] = copy
