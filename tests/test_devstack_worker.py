"""The worker process's parts with a tiny app: a poller per queue the app listens to, the
scheduler, `fire`, and a poller that keeps going when the queue cannot be reached."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Dict, List

import boto3
import pytest
from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent

from devstack import state
from devstack.fire import fire
from devstack.poller import QueuePoller
from devstack.worker import start
from tests.conftest import REGION
from tests.helpers import Call, Faults, Queue, wait_for


def tiny_app(seen: List[str]) -> Chalice:
    app = Chalice(app_name="tiny")

    @app.on_sqs_message(queue="tiny-jobs", batch_size=5)
    def jobs(event: SQSEvent) -> None:
        seen.extend(record.body for record in event)

    @app.schedule(Rate(1, unit=Rate.DAYS))
    def daily(event: CloudWatchEvent) -> Dict[str, str]:
        seen.append(f"daily:{event.detail_type}")
        return {"checked": event.time}

    @app.schedule("rate(1 hour)")
    def failing(event: CloudWatchEvent) -> None:
        raise RuntimeError("the check failed")

    return app


def test_each_queue_the_app_listens_to_is_delivered_to_its_function(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="tiny-jobs")["QueueUrl"]
    seen: List[str] = []
    stop = threading.Event()
    threads = start(tiny_app(seen), "local", sqs, REGION, stop)
    try:
        for body in ("one", "two"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        wait_for(lambda: sorted(seen) == ["one", "two"], 10, "both messages", interval=0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert Queue(sqs, url).receive() == []


def test_a_poller_keeps_going_when_the_queue_cannot_be_reached(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="tiny-jobs")["QueueUrl"]
    poller = QueuePoller(sqs, url, lambda event: None)  # it looks its queue up while it can
    stop = threading.Event()
    with Faults(sqs) as faults:

        def third(call: Call) -> bool:
            if call.number == 3:
                stop.set()  # the loop ends after this receive: it kept going past two failures
            return True

        faults.unreachable("ReceiveMessage", when=third)
        poller.run(stop, retry_seconds=0.01)
    assert faults.refused == ["ReceiveMessage"] * 3


@pytest.fixture
def running_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state file as a running stack leaves it, using the environment's AWS."""
    monkeypatch.setattr(os, "environ", dict(os.environ))  # fire points this process at the stack
    info = state.StackState(
        pid=os.getpid(),
        stage="local",
        api_url="http://127.0.0.1:8000",
        region=REGION,
        queue_url="http://127.0.0.1:1/q",
        dead_letter_queue_url="http://127.0.0.1:1/dlq",
        aws_endpoint=None,
    )
    monkeypatch.setenv("DEVSTACK_STATE_DIR", str(tmp_path))
    state.write(8000, info)
    return tmp_path


def test_fire_runs_a_scheduled_function_now(running_stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen: List[str] = []
    assert fire(8000, "daily", running_stack, lambda: tiny_app(seen)) == 0
    assert seen == ["daily:Scheduled Event"]
    assert "checked" in json.loads(capsys.readouterr().out)


def test_fire_says_what_went_wrong(running_stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fire(8000, "failing", running_stack, lambda: tiny_app([])) == 1
    assert "the check failed" in capsys.readouterr().err
    assert fire(8000, "nope", running_stack, lambda: tiny_app([])) == 2
    assert "scheduled functions: daily, failing" in capsys.readouterr().err
    assert fire(8001, "daily", running_stack, lambda: tiny_app([])) == 2
    assert "no local stack on port 8001" in capsys.readouterr().err
