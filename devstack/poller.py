"""Delivers queue messages to the worker the way Lambda's SQS event source does.

It receives a batch from the (emulated) queue, builds the Lambda SQS event, invokes the
app's handler, and deletes what succeeded: everything when the handler returns, only
what is not in `batchItemFailures` when the event source reports item failures, and
nothing when it raises, so the visibility timeout returns those messages and the
redrive policy moves one that keeps failing to the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any, Callable, Dict, List, Mapping, Sequence

from botocore.exceptions import BotoCoreError, ClientError

Invoke = Callable[[Dict[str, Any]], Any]
log = logging.getLogger("devstack.poller")


def lambda_sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> Dict[str, Any]:
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def lambda_sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> Dict[str, Any]:
    return {"Records": [lambda_sqs_record(message, queue_arn, region) for message in messages]}


class QueuePoller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        invoke: Invoke,
        batch_size: int = 10,
        report_batch_item_failures: bool = False,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._invoke = invoke
        self._batch_size = batch_size
        self._report_failures = report_batch_item_failures
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self._queue_arn = attributes["QueueArn"]
        self._region = self._queue_arn.split(":")[3]

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One receive and one invocation; answers how many messages were received."""
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
        )
        messages: List[Mapping[str, Any]] = response.get("Messages", [])
        if not messages:
            return 0
        event = lambda_sqs_event(messages, self._queue_arn, self._region)
        try:
            result = self._invoke(event)
        except Exception as exc:  # as Lambda: the whole batch returns after the visibility timeout
            log.info("worker raised; %d message(s) will return to the queue: %s", len(messages), exc)
            return len(messages)
        failed = set()
        if self._report_failures and isinstance(result, dict):
            failed = {item.get("itemIdentifier") for item in result.get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)

    def drain(self, max_batches: int = 1000) -> int:
        """Polls until a receive comes back empty; answers how many messages it saw."""
        seen = 0
        for _ in range(max_batches):
            received = self.poll_once()
            if not received:
                return seen
            seen += received
        return seen

    def run(self, stop: threading.Event, wait_seconds: int = 1, retry_seconds: float = 1.0) -> None:
        """Polls until `stop` is set, with short long-polls so a stop is noticed quickly.

        An unreachable queue (the emulator stopping, a network blip) is retried, as
        Lambda's pollers do, rather than ending the loop.
        """
        while not stop.is_set():
            try:
                self.poll_once(wait_seconds)
            except (BotoCoreError, ClientError) as exc:
                log.warning("cannot receive from %s, retrying: %s", self._queue_url, exc)
                stop.wait(retry_seconds)
