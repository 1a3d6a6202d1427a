"""The burst benchmark: a burst of writes from many concurrent clients against AWS's limits
scaled down to this machine (bench/emulator.py: the table's write calls, each partition's
write units, SQS's send limit, the worker's cap), through the decoupled path (the local
stack: API, SQS, worker) with the write queue in high-throughput FIFO mode and in the
default FIFO mode, and through a direct-write variant of the same endpoint
(bench/direct_write.py), in the same run, against the same emulator and the same limits.

Per variant: the share of requests a client sees fail, the latency of accepted requests
(p50, p99), the time from the first request until every write is in the table (and from
the last request: the time to drain), and the writes lost (sent, but not in the table once
everything settled, for a client that does not retry; and, apart, any acknowledged but not
applied).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import boto3
import requests

from bench.connections import REFUSED, classify
from bench.emulator import Emulator, Limits, TokenBucket
from devstack import state
from devstack.worker import FIFO_POLLERS_VARIABLE
from infra.resources import DEFAULT_FIFO, HIGH_THROUGHPUT_FIFO, PROJECT_DIR, StageResources
from tests.stack import LocalStack, free_port, wait_for

REGION = "us-east-1"
TOKEN = f"bench-{uuid.uuid4().hex[:12]}"
# Long enough on a busy machine: 2,000 writes at 25 a second settle in about 7 minutes on
# two idle cores, and took over 12 on a loaded one.
SETTLE_TIMEOUT = 1800.0
# What a request that got no answer counts as, in place of a status: its connection was
# refused, or it was opened and then dropped without an answer (bench/connections.py).
NO_CONNECTION = -1
NO_ANSWER = 0


@dataclass(frozen=True)
class Load:
    requests: int = 600
    clients: int = 50
    # Write calls a second the table accepts: below what the API accepts here (about 10
    # to 40 requests a second on 2 cores), so that the burst meets the limit.
    write_rate: float = 25.0
    write_burst: float = 25.0  # saved-up capacity, in calls
    # AWS's documented limits divided by this: default FIFO's 300 sends a second become 3,
    # below the API's pace here, and a partition's 1,000 write units 10; high-throughput
    # FIFO's 300 a group and 70,000 a queue stay above it.
    scale: float = 100.0
    # The worker's cap (dev's `reserved_concurrency`): batches of the queue at once.
    worker_cap: int = 2

    def limits(self) -> Limits:
        visibility = StageResources.for_stage("local").visibility_timeout_seconds
        return Limits(worker_cap=self.worker_cap, visibility_seconds=visibility).scaled(self.scale)


@dataclass
class Outcome:
    variant: str
    sent: int
    accepted: int
    errors: Dict[int, int]
    latencies: List[float]  # of accepted requests, seconds
    burst_seconds: float  # first request to last answer
    applied_seconds: float  # first request until every accepted write is in the table
    in_table: int
    acknowledged_not_applied: int
    dead_letters: int = 0
    throttled_calls: int = 0
    sqs_throttled: int = 0  # sends SQS refused (the SDK retries some)
    partition_throttled: int = 0  # table writes a partition refused
    most_batches: int = 0  # the most worker batches in flight at once

    @property
    def drain_seconds(self) -> float:
        """From the last answer until every accepted write is in the table."""
        return max(0.0, self.applied_seconds - self.burst_seconds)

    @property
    def error_rate(self) -> float:
        return 1 - self.accepted / self.sent

    @property
    def lost(self) -> int:
        return self.sent - self.in_table

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _aws(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (the emulator's)
    )


def _environment(endpoint: str) -> Dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 (the emulator's)
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        LOCAL_ADMIN_TOKEN=TOKEN,
        PYTHONUNBUFFERED="1",
    )
    return env


def _start(command: List[str], env: Dict[str, str], log_path: Path, port: int) -> LocalStack:
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
            command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return LocalStack(process, port, log_path, env)


def _site(url: str, site: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body: Dict[str, Any] = {"name": site, "allowedOrigins": [], "cacheMaxAge": 60}
    response = requests.put(f"{url}/sites/{site}", json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    operation = response.json()["operationId"]

    def applied() -> bool:
        answer = requests.get(f"{url}/operations/{operation}", headers=headers, timeout=30)
        return bool(answer.json()["status"] == "succeeded")

    wait_for(applied, 60, f"site {site}")


def _burst(url: str, site: str, load: Load) -> Tuple[List[Tuple[int, float, Dict[str, Any]]], float, float]:
    """Sends the burst; answers (status, seconds, body) per request, and when it started
    and ended (time.monotonic)."""
    local = threading.local()

    def one(number: int) -> Tuple[int, float, Dict[str, Any]]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        body = {"site": site, "page": f"p{number:05d}", "layout": "grid", "theme": "t", "settings": {"n": number}}
        # A new connection per request: Chalice's local server holds a keep-alive answer's
        # body back for the client's delayed ACK (see the Read path section).
        headers = {"Authorization": f"Bearer {TOKEN}", "Connection": "close"}
        started = time.monotonic()
        try:
            response = local.session.post(f"{url}/metadata", json=body, headers=headers, timeout=60)
        except requests.RequestException as exc:
            failed = NO_CONNECTION if classify(exc) == REFUSED else NO_ANSWER
            return failed, time.monotonic() - started, {}
        elapsed = time.monotonic() - started
        try:
            answer: Dict[str, Any] = response.json()
        except ValueError:
            answer = {}
        return response.status_code, elapsed, answer

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=load.clients) as pool:
        results = list(pool.map(one, range(load.requests)))
    return results, started, time.monotonic()


def _pages(table: Any, site: str) -> int:
    count, start = 0, None
    while True:
        params: Dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
            "ExpressionAttributeValues": {":pk": {"S": f"SITE#{site}"}, ":sk": {"S": "PAGE#"}},
            "Select": "COUNT",
        }
        if start:
            params["ExclusiveStartKey"] = start
        response = table.query(TableName=StageResources.for_stage("local").table_name, **params)
        count += int(response["Count"])
        start = response.get("LastEvaluatedKey")
        if not start:
            return count


def _statuses(dynamodb: Any, operation_ids: List[str]) -> Dict[str, str]:
    table = StageResources.for_stage("local").table_name
    found: Dict[str, str] = {}
    for start in range(0, len(operation_ids), 100):
        keys = [{"pk": {"S": f"OP#{op}"}, "sk": {"S": "OP"}} for op in operation_ids[start : start + 100]]
        request: Dict[str, Any] = {table: {"Keys": keys}}
        while request:
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table, []):
                found[item["pk"]["S"][3:]] = item["status"]["S"]
            request = response.get("UnprocessedKeys") or {}
    return found


def run_decoupled(emulator: Emulator, folder: Path, load: Load, high_throughput: bool = True) -> Outcome:
    port = free_port()
    env = _environment(emulator.endpoint)
    env["DEVSTACK_STATE_DIR"] = str(folder)
    env[FIFO_POLLERS_VARIABLE] = str(load.worker_cap)
    mode = "high-throughput" if high_throughput else "default"
    command = [sys.executable, "-m", "devstack", "--aws", "--no-reload", "--port", str(port)]
    stack = _start(command, env, folder / f"decoupled-{mode}.log", port)
    try:
        stack.wait_output("Ctrl-C stops everything.")
        stack.info = state.read(port, folder)
        site = f"burst-{mode}"
        _site(stack.url, site)
        queue = stack.info.queue_url if stack.info else ""
        attributes = HIGH_THROUGHPUT_FIFO if high_throughput else DEFAULT_FIFO
        _aws(emulator.endpoint, "sqs").set_queue_attributes(QueueUrl=queue, Attributes=dict(attributes))
        emulator.reset()
        results, started, ended = _burst(stack.url, site, load)
        accepted = [body["operationId"] for status, _, body in results if status == 202]
        dynamodb = _aws(emulator.endpoint, "dynamodb")
        # Cheap to ask, and it leaves the emulator to the worker: the queue is empty (none
        # waiting, none in flight) once every accepted operation has been dealt with.
        wait_for(lambda: _queue_empty(emulator.endpoint, queue), SETTLE_TIMEOUT, "the write queue to drain", 0.25)
        applied = time.monotonic()
        statuses = _statuses(dynamodb, accepted)
        in_table = _pages(dynamodb, site)
        dlq = stack.info.dead_letter_queue_url if stack.info else ""
        dead = _aws(emulator.endpoint, "sqs").get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return Outcome(
            variant=f"decoupled, {mode} FIFO (API → SQS → worker)",
            sent=load.requests,
            accepted=len(accepted),
            errors=_errors(results, 202),
            latencies=[seconds for status, seconds, _ in results if status == 202],
            burst_seconds=ended - started,
            applied_seconds=applied - started,
            in_table=in_table,
            acknowledged_not_applied=sum(statuses.get(op) != "succeeded" for op in accepted),
            dead_letters=int(dead.get("ApproximateNumberOfMessages", 0)),
            throttled_calls=emulator.bucket.refused,
            sqs_throttled=emulator.aws.queues.refused,
            partition_throttled=emulator.aws.partitions.refused,
            most_batches=emulator.aws.worker.most,
        )
    finally:
        stack.stop()


def run_direct(emulator: Emulator, folder: Path, load: Load) -> Outcome:
    port = free_port()
    env = {**_environment(emulator.endpoint), **StageResources.for_stage("local").environment()}
    stack = _start([sys.executable, "-m", "bench.direct_write", "--port", str(port)], env, folder / "direct.log", port)
    try:
        wait_for(lambda: _listening(port), 30, "the direct-write server")
        site = "burst-direct"
        dynamodb = _aws(emulator.endpoint, "dynamodb")
        _put_site_directly(dynamodb, site)
        emulator.reset()
        results, started, ended = _burst(stack.url, site, load)
        in_table = _pages(dynamodb, site)
        accepted = sum(status == 201 for status, _, _ in results)
        return Outcome(
            variant="direct write (API → DynamoDB)",
            sent=load.requests,
            accepted=accepted,
            errors=_errors(results, 201),
            latencies=[seconds for status, seconds, _ in results if status == 201],
            burst_seconds=ended - started,
            applied_seconds=ended - started,
            in_table=in_table,
            acknowledged_not_applied=max(0, accepted - in_table),
            throttled_calls=emulator.bucket.refused,
            partition_throttled=emulator.aws.partitions.refused,
        )
    finally:
        stack.stop()


def _queue_empty(endpoint: str, queue_url: str) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = _aws(endpoint, "sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return all(attributes.get(name) == "0" for name in names)


def _listening(port: int) -> bool:
    try:
        requests.post(f"http://127.0.0.1:{port}/metadata", timeout=2)
    except requests.RequestException:
        return False
    return True


def _put_site_directly(dynamodb: Any, site: str) -> None:
    """The site the direct variant's configs belong to (it has no site route)."""
    item = {
        "pk": {"S": f"SITE#{site}"},
        "sk": {"S": "SITE"},
        "site": {"S": site},
        "name": {"S": site},
        "allowedOrigins": {"L": []},
        "cacheMaxAge": {"N": "60"},
        "version": {"N": "1"},
        "createdAt": {"S": "2026-01-01T00:00:00.000Z"},
        "updatedAt": {"S": "2026-01-01T00:00:00.000Z"},
    }
    dynamodb.put_item(TableName=StageResources.for_stage("local").table_name, Item=item)


def _errors(results: List[Tuple[int, float, Dict[str, Any]]], ok: int) -> Dict[int, int]:
    counted: Dict[int, int] = {}
    for status, _, _ in results:
        if status != ok:
            counted[status] = counted.get(status, 0) + 1
    return counted


VARIANTS = ("high-throughput", "default", "direct")


def measure(load: Load, variants: Tuple[str, ...] = VARIANTS) -> Tuple[Load, List[Outcome]]:
    bucket = TokenBucket(load.write_rate, load.write_burst)
    emulator = Emulator(bucket, load.limits(), StageResources.for_stage("local").queue_name)
    emulator.start()
    outcomes: List[Outcome] = []
    try:
        with tempfile.TemporaryDirectory(prefix="mm-burst-") as folder:
            for variant in variants:
                print(f"bench: burst, {variant}...", file=sys.stderr, flush=True)
                if variant == "direct":
                    outcomes.append(run_direct(emulator, Path(folder), load))
                else:
                    outcomes.append(run_decoupled(emulator, Path(folder), load, variant == "high-throughput"))
            return load, outcomes
    finally:
        emulator.stop()


def describe_errors(errors: Dict[int, int]) -> str:
    if not errors:
        return "none"
    names = {NO_CONNECTION: "refused", NO_ANSWER: "dropped (no answer)"}
    return ", ".join(f"{count} x {names.get(status, status)}" for status, count in sorted(errors.items()))


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def as_json(outcomes: List[Outcome]) -> str:
    return json.dumps([{**vars(o), "latencies": len(o.latencies)} for o in outcomes], indent=2)


def main(argv: Optional[List[str]] = None) -> int:
    _, outcomes = measure(Load())
    print(as_json(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
