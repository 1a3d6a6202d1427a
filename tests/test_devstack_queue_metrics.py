"""The local stack publishes what SQS publishes to CloudWatch (the age of each queue's
oldest message), so the scheduled check sees a write waiting as it would in AWS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List

import boto3
import pytest

from chalicelib.core.clock import utc_now
from chalicelib.services import get_services
from devstack.queue_metrics import QueueMetrics
from tests.conftest import REGION, Api
from tests.helpers import Clock, scheduled_event


@pytest.fixture
def clock(api: Api, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(utc_now())
    monkeypatch.setattr(get_services(), "clock", clock)
    return clock


def test_a_write_left_waiting_is_seen_by_the_check_as_it_would_be_in_aws(api: Api, clock: Clock) -> None:
    settings = get_services().settings
    api.request("PUT", "/sites/shop", {"name": "Shop"}, scope="admin")  # no worker runs: it waits
    clock.advance(timedelta(minutes=7))
    names = [settings.queue_name, settings.dead_letter_queue_name]

    ages = QueueMetrics(boto3.client("cloudwatch", region_name=REGION), names, REGION).publish(clock.now)

    assert 6 * 60 < ages[settings.queue_name] <= 7 * 60
    assert ages[settings.dead_letter_queue_name] == 0
    result: Dict[str, Any] = api.client.lambda_.invoke("check_backups", scheduled_event(api)).payload
    writes = next(item for item in result["findings"] if item["check"] == "writeQueue")
    assert writes["status"] == "warning"
    assert writes["reason"].startswith("the oldest write has waited 7 min (more than 5 min)")


class Recording:
    """A CloudWatch client that only keeps what it was asked to put."""

    def __init__(self) -> None:
        self.puts: List[Dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.puts.append(kwargs)


def test_it_publishes_once_a_minute_for_the_queues_that_exist(aws: None) -> None:
    boto3.client("sqs", region_name=REGION).create_queue(QueueName="q")
    cloudwatch = Recording()
    metrics = QueueMetrics(cloudwatch, ["q", "not-made"], REGION)
    start = utc_now()
    for seconds in (0, 20, 59, 60, 61, 125):
        metrics.publish_if_due(start + timedelta(seconds=seconds))
    assert len(cloudwatch.puts) == 3  # at 0, 60 and 125 s
    first = cloudwatch.puts[0]
    assert first["Namespace"] == "AWS/SQS"
    assert [(d["MetricName"], d["Dimensions"], d["Value"]) for d in first["MetricData"]] == [
        ("ApproximateAgeOfOldestMessage", [{"Name": "QueueName", "Value": "q"}], 0.0)
    ]
