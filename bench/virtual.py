"""A burst through the emulator's limits in virtual time: the service's own API and worker
(`chalice.test.Client`) against moto in this process, with the emulator's SQS send
limit, worker cap and partition write units (bench/emulator.py) on a virtual clock.

Nothing here waits for real: an AWS call of the worker takes `call_seconds` of virtual
time, a throttled partition makes the batch wait (in virtual time) until its units are
there, as the SDK's retries with backoff would. So the run is deterministic and fast,
and `tests/test_simulate.py` can hold `bench.simulate`'s arithmetic to it.

It must run inside moto (`mock_aws`) with the local stage's environment set, as
`tests/conftest.py` sets it up (`run` provisions the stage itself).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

import boto3
from botocore import handlers

from bench.emulator import Limits, PartitionThrottle, QueueThrottle, TokenBucket, write_units
from bench.simulate import WORKER_OPERATION, Burst

WORKER = "apply_writes"
STEP = 0.01  # seconds of virtual time between two looks at the lanes


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    """What the emulated run saw: the same measures as `bench.simulate.Outcome`."""

    burst: Burst
    accepted: int = 0
    throttled: int = 0  # 429 (the API's bucket)
    refused: int = 0  # 503 (SQS's send limit)
    samples: List[Tuple[float, int, float]] = field(default_factory=list)  # (t, depth, oldest age)
    drained_at: Optional[float] = None
    worker_calls: List[str] = field(default_factory=list)  # of every operation, in order
    operations: int = 0
    units: Dict[str, int] = field(default_factory=dict)  # write units per partition, granted
    most_lanes: int = 0

    @property
    def peak_depth(self) -> int:
        return max((depth for _, depth, _ in self.samples), default=0)

    @property
    def oldest(self) -> float:
        return max((age for _, _, age in self.samples), default=0.0)

    @property
    def drain_after_burst(self) -> Optional[float]:
        return None if self.drained_at is None else max(0.0, self.drained_at - self.burst.duration)


class _Calls:
    """Every AWS call made meanwhile (botocore's handler registry, as moto uses it), and
    the write units of each DynamoDB write."""

    def __init__(self) -> None:
        self.names: List[str] = []
        self.units: List[Dict[str, int]] = []

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        handler = ("before-call", self._count)
        handlers.BUILTIN_HANDLERS.append(handler)
        try:
            yield
        finally:
            handlers.BUILTIN_HANDLERS.remove(handler)

    def _count(self, model: Any, params: Any, **_: Any) -> None:
        self.names.append(model.name)
        if model.service_model.endpoint_prefix == "dynamodb":
            body = params.get("body") or b"{}"
            units = write_units(model.name, json.loads(body) if isinstance(body, (bytes, str)) else body)
            if units:
                self.units.append(units)

    def take(self) -> Tuple[List[str], List[Dict[str, int]]]:
        names, units = self.names, self.units
        self.names, self.units = [], []
        return names, units


@dataclass
class _Lane:
    free_at: float = 0.0
    messages: List[Dict[str, Any]] = field(default_factory=list)


def run(
    burst: Burst,
    limits: Limits,
    high_throughput: bool,
    call_seconds: float,
    api_rate: float = float("inf"),
    api_burst: float = 0.0,
) -> Run:
    """The burst: `rate` config creations a second for `duration` seconds, spread over
    `sites` sites (made first, outside the measure), through the API, the queue in the
    given mode and `limits.worker_cap` lanes of the worker."""
    from chalicelib.services import reset_services

    saved = dict(os.environ)
    calls = _Calls()
    try:
        # Counting from before the services' sessions are made: botocore gives a session
        # the handlers registered when it is made.
        with calls.counting():
            return _run(burst, limits, high_throughput, call_seconds, api_rate, api_burst, calls)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_services()


def _run(
    burst: Burst,
    limits: Limits,
    high_throughput: bool,
    call_seconds: float,
    api_rate: float,
    api_burst: float,
    calls: _Calls,
) -> Run:
    from chalice.test import Client

    from chalicelib import access as auth
    from chalicelib.services import get_services, reset_services
    from infra.resources import DEFAULT_FIFO, HIGH_THROUGHPUT_FIFO, PROJECT_DIR, StageResources, provision

    resources = StageResources.for_stage("local")
    provisioned = provision(boto3.session.Session(), resources)
    sqs: Any = boto3.client("sqs")
    mode = HIGH_THROUGHPUT_FIFO if high_throughput else DEFAULT_FIFO
    sqs.set_queue_attributes(QueueUrl=provisioned.queue_url, Attributes=dict(mode))
    os.environ.update(resources.environment())
    os.environ["QUEUE_URL"] = provisioned.queue_url
    reset_services()
    from app import app

    get_services().logger.setLevel(logging.CRITICAL)
    token = auth.issue_token(get_services().store.tokens, "virtual-burst", "admin")[0]
    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        emulated = _Emulated(client, token, sqs, provisioned, limits, calls)
        emulated.make_sites(burst.sites)
        api = TokenBucket(api_rate, api_burst, emulated.clock) if api_rate != float("inf") else None
        return emulated.burst(burst, high_throughput, call_seconds, api)


class _Emulated:
    """The API, the queue and `cap` lanes of the worker on one virtual clock."""

    def __init__(self, client: Any, token: str, sqs: Any, provisioned: Any, limits: Limits, calls: _Calls) -> None:
        self.client, self.token, self.sqs, self.provisioned = client, token, sqs, provisioned
        self.clock = VirtualClock()
        self.sends = QueueThrottle(limits, self.clock)
        self.partitions = PartitionThrottle(limits, self.clock)
        self.lanes = [_Lane() for _ in range(limits.worker_cap)]
        self.calls = calls
        self.sites: List[str] = []
        self.accepted_at: Dict[str, float] = {}  # operation id -> when it was accepted
        # Pages are new in each run (a second run in the same moto would find them).
        self.tag = uuid.uuid4().hex[:8]

    def request(self, method: str, path: str, body: Dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return self.client.http.request(method, path, headers=headers, body=json.dumps(body).encode())

    def receive(self) -> List[Dict[str, Any]]:
        found: List[Dict[str, Any]] = self.sqs.receive_message(
            QueueUrl=self.provisioned.queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=3600,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        return found

    def delete(self, messages: List[Dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.provisioned.queue_url, Entries=entries)

    def invoke(self, messages: List[Dict[str, Any]]) -> None:
        from devstack.poller import lambda_sqs_event

        self.client.lambda_.invoke(WORKER, lambda_sqs_event(messages, self.provisioned.queue_arn, "us-east-1"))

    def make_sites(self, count: int) -> None:
        """The sites, applied before the burst (outside its measure)."""
        self.sites = [f"site-{number:04d}" for number in range(count)]
        for site in self.sites:
            answer = self.request("PUT", f"/sites/{site}", {"name": site, "allowedOrigins": [], "cacheMaxAge": 60})
            assert answer.status_code == 202, answer.body
        while messages := self.receive():
            self.invoke(messages)
            self.delete(messages)

    def arrive(self, number: int, outcome: Run, high_throughput: bool, api: Optional[TokenBucket]) -> None:
        """One write of the burst, through the API's bucket and SQS's limit."""
        if api is not None and not api.take():
            outcome.throttled += 1
            return
        # Each page is its own message group (`config:<id>`): a group per send.
        if not self.sends.take(self.provisioned.queue_url, f"page-{number}", high_throughput):
            outcome.refused += 1
            return
        site = self.sites[number % len(self.sites)]
        page = f"p{self.tag}-{number:06d}"
        body = {"site": site, "page": page, "layout": "g", "theme": "t", "settings": {}}
        answer = self.request("POST", "/metadata", body)
        assert answer.status_code == 202, answer.body
        self.accepted_at[answer.json_body["operationId"]] = self.clock.now
        outcome.accepted += 1

    def work(self, lane: _Lane, outcome: Run, call_seconds: float) -> None:
        """A free lane: its batch done leaves the queue; then it takes the next batch, busy
        for its calls and for any wait of its writes' partitions."""
        if lane.messages:
            self.delete(lane.messages)
            for message in lane.messages:
                self.accepted_at.pop(json.loads(message["Body"])["meta"]["operationId"], None)
            lane.messages = []
        messages = self.receive()
        if not messages:
            return
        self.calls.take()  # the receives and deletes stand for the event source's
        self.invoke(messages)
        names, units = self.calls.take()
        now, busy = self.clock.now, 0.0
        for request in units:  # each write waits for its partitions' units
            wait = self.partitions.wait_for(request)
            self.clock.now += wait
            busy += wait
            self.partitions.spend(request)
        self.clock.now = now
        lane.free_at = now + busy + len(names) * call_seconds
        lane.messages = messages
        outcome.worker_calls += names
        outcome.operations += len(messages)

    def burst(self, burst: Burst, high_throughput: bool, call_seconds: float, api: Optional[TokenBucket]) -> Run:
        outcome = Run(burst)
        total = round(burst.rate * burst.duration)
        next_arrival, next_sample = 0, 0.0
        while True:
            while next_arrival < total and next_arrival / burst.rate <= self.clock.now:
                self.arrive(next_arrival, outcome, high_throughput, api)
                next_arrival += 1
            self.calls.take()  # the API's calls are not the worker's
            for lane in self.lanes:
                if lane.free_at <= self.clock.now:
                    self.work(lane, outcome, call_seconds)
            outcome.most_lanes = max(outcome.most_lanes, sum(lane.free_at > self.clock.now for lane in self.lanes))
            if self.clock.now + 1e-9 >= next_sample:
                oldest = self.clock.now - min(self.accepted_at.values()) if self.accepted_at else 0.0
                outcome.samples.append((round(self.clock.now, 6), len(self.accepted_at), oldest))
                next_sample += 1.0
            if next_arrival >= total and not self.accepted_at and all(not lane.messages for lane in self.lanes):
                outcome.drained_at = self.clock.now
                outcome.samples.append((round(self.clock.now, 6), 0, 0.0))
                outcome.units = dict(self.partitions.units)
                return outcome
            self.clock.now = round(self.clock.now + STEP, 9)


def calls_per_operation(outcome: Run) -> float:
    """The worker's AWS calls per operation in the run (against `make bench`'s
    `worker: config.create`)."""
    return len(outcome.worker_calls) / max(1, outcome.operations)


__all__ = ["WORKER_OPERATION", "Run", "VirtualClock", "calls_per_operation", "run"]
