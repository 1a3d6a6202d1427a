"""The burst emulator's limits (bench/emulator.py), each on a clock the test moves, and
through the emulator's server as botocore sees them; and the local stack's pollers of
the write queue (devstack.worker), which the burst benchmark sets to the worker's cap."""

from __future__ import annotations

import os
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bench.emulator import (
    Emulator,
    Limits,
    PartitionThrottle,
    QueueThrottle,
    TokenBucket,
    WorkerCap,
    write_units,
)
from devstack.worker import FIFO_POLLERS_VARIABLE, fifo_pollers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_default_fifo_queue_limits_sends_per_queue_and_a_high_throughput_one_per_group() -> None:
    clock = Clock()
    throttle = QueueThrottle(Limits(fifo_queue_sends=2, fifo_group_sends=2, high_throughput_queue_sends=100), clock)
    assert [throttle.take("q.fifo", f"g{n}", high_throughput=False) for n in range(3)] == [True, True, False]
    assert [throttle.take("h.fifo", f"g{n}", high_throughput=True) for n in range(50)] == [True] * 50
    assert [throttle.take("h.fifo", "one", high_throughput=True) for _ in range(3)] == [True, True, False]
    clock.now = 0.5  # one more token for the group a second at 2 a second
    assert throttle.take("h.fifo", "one", high_throughput=True)
    assert throttle.refused == 2


def test_a_transactions_writes_count_two_units_a_kb_on_each_partition_and_index() -> None:
    small = {"pk": {"S": "SITE#shop"}, "sk": {"S": "PAGE#home"}}
    listed = {"pk": {"S": "SITE#shop"}, "sk": {"S": "SITE"}, "gsi1pk": {"S": "SITES"}}
    large = {"pk": {"S": "CONFIG#a"}, "sk": {"S": "VERSION#1"}, "settings": {"S": "x" * 1500}}
    units = write_units(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"Item": small}},
                {"Put": {"Item": listed}},
                {"Put": {"Item": large}},
                {"ConditionCheck": {"Key": {"pk": {"S": "SITE#shop"}, "sk": {"S": "SCHEMA#x"}}}},
            ]
        },
    )
    assert units == {"table:SITE#shop": 4, "gsi1:SITES": 2, "table:CONFIG#a": 4}
    deletes = write_units("BatchWriteItem", {"RequestItems": {"t": [{"DeleteRequest": {"Key": small}}]}})
    assert deletes == {"table:SITE#shop": 1}
    assert write_units("GetItem", {"Key": small}) == {}


def test_a_partition_serves_its_units_a_second_and_refuses_a_request_whole() -> None:
    clock = Clock()
    partitions = PartitionThrottle(Limits(partition_write_units=10), clock)
    assert partitions.take({"table:A": 6, "table:B": 2})
    assert not partitions.take({"table:A": 6, "table:B": 2})  # A has 4 left
    assert partitions.units == {"table:A": 6, "table:B": 2}  # the refused one took nothing
    assert partitions.wait_for({"table:A": 6}) == pytest.approx(0.2)
    clock.now = 0.2
    assert partitions.take({"table:A": 6})


def test_the_worker_cap_holds_a_batch_until_deleted_or_returned() -> None:
    clock = Clock()
    cap = WorkerCap(Limits(worker_cap=2, visibility_seconds=30), clock)
    cap.received(["a1", "a2"])
    cap.received(["b1"])
    assert not cap.wait_for_place(0)
    cap.deleted(["a1"])
    assert not cap.wait_for_place(0)  # a2 is still in flight
    cap.deleted(["a2"])
    assert cap.wait_for_place(0)
    cap.received(["c1"])
    clock.now = 31  # b1 and c1 came back after their visibility timeout: their batches ended
    assert cap.running() == 0
    assert cap.most == 2


def test_a_token_bucket_in_debt_refills_first() -> None:
    clock = Clock()
    bucket = TokenBucket(10, 10, clock)
    bucket.spend(15)
    assert not bucket.take()
    assert bucket.wait_for(1) == pytest.approx(0.6)
    clock.now = 0.6
    assert bucket.take()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    found = Emulator(TokenBucket(1000, 1000), Limits(fifo_queue_sends=2, fifo_group_sends=2), "capped.fifo")
    found.start()
    yield found
    found.stop()


def client(emulator: Emulator, service: str) -> Any:
    once = Config(retries={"mode": "standard", "total_max_attempts": 1})  # no retry: a refusal shows
    return boto3.client(service, endpoint_url=emulator.endpoint, region_name="us-east-1", config=once)  # type: ignore[call-overload]


def test_a_default_fifo_queue_answers_throttling_exception_and_switching_it_lifts_the_limit(
    emulator: Emulator,
) -> None:
    sqs = client(emulator, "sqs")
    name = f"burst-{os.getpid()}.fifo"
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"FifoQueue": "true", "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"},
    )["QueueUrl"]

    def send(number: int) -> None:
        sqs.send_message(
            QueueUrl=url, MessageBody="{}", MessageGroupId=f"g{number}", MessageDeduplicationId=f"d{number}"
        )

    send(0)
    send(1)
    with pytest.raises(ClientError) as refused:
        send(2)
    assert refused.value.response["Error"]["Code"] == "ThrottlingException"
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    )
    for number in range(3, 13):
        send(number)  # each its own group: none refused
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"] == {
        "ApproximateNumberOfMessages": "12"
    }


def test_a_receive_past_the_workers_cap_waits_and_gets_nothing(emulator: Emulator) -> None:
    sqs = client(emulator, "sqs")
    attributes = {"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    url = sqs.create_queue(QueueName="capped.fifo", Attributes=attributes)["QueueUrl"]
    for number in range(3):
        sqs.send_message(
            QueueUrl=url, MessageBody="{}", MessageGroupId=f"g{number}", MessageDeduplicationId=f"d{number}"
        )
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", []) == []  # cap: 2
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]) == 1
    assert second


def test_a_partitions_limit_answers_provisioned_throughput_exceeded(emulator: Emulator) -> None:
    emulator.limits = Limits(partition_write_units=3)
    emulator.reset()
    dynamodb = client(emulator, "dynamodb")
    dynamodb.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    for _ in range(3):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "hot"}})
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "hot"}})
    assert refused.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "cold"}})  # another partition


def test_the_local_stack_polls_the_write_queue_once_unless_told() -> None:
    assert fifo_pollers({}) == 1
    assert fifo_pollers({FIFO_POLLERS_VARIABLE: "3"}) == 3
    for wrong in ("0", "two", "-1"):
        with pytest.raises(ValueError, match=FIFO_POLLERS_VARIABLE):
            fifo_pollers({FIFO_POLLERS_VARIABLE: wrong})
