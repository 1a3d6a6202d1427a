"""Moving messages from the dead-letter queue back to the write queue, after a fix.

Each message is sent to the write queue first and deleted from the dead-letter queue
only once the send succeeded: an interrupted redrive leaves a message in both queues at
worst, never in neither, and the worker applies an operation once however often it
arrives. A redriven operation joins the back of its resource's group, so it is applied
after everything accepted for that resource since.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List

from chalicelib.core.fields import Model

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class RedriveResult(Model):
    moved: int
    failed: int
    # Messages still in the dead-letter queue when the redrive stopped (approximate).
    remaining: int


@dataclass(frozen=True)
class Redrive:
    sqs: SQSClient
    dead_letter_queue_url: str
    queue_url: str
    # A call from the API must finish well within API Gateway's 29 seconds.
    time_budget_seconds: float = 20.0
    clock: Callable[[], float] = time.monotonic

    def run(self, max_messages: int = 1000) -> RedriveResult:
        started = self.clock()
        moved = failed = 0
        while moved + failed < max_messages and self.clock() - started < self.time_budget_seconds:
            messages = self.sqs.receive_message(
                QueueUrl=self.dead_letter_queue_url,
                MaxNumberOfMessages=min(10, max_messages - moved - failed),
                MessageSystemAttributeNames=["MessageGroupId"],
            ).get("Messages", [])
            if not messages:
                break
            sent = self._send(messages)
            failed += len(messages) - len(sent)
            if sent:
                self.sqs.delete_message_batch(
                    QueueUrl=self.dead_letter_queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)],
                )
                moved += len(sent)
        return RedriveResult(moved=moved, failed=failed, remaining=self._remaining())

    def _send(self, messages: List[Any]) -> List[Any]:
        entries: List[Dict[str, Any]] = []
        for index, message in enumerate(messages):
            entries.append(
                {
                    "Id": str(index),
                    "MessageBody": message["Body"],
                    "MessageGroupId": message.get("Attributes", {}).get("MessageGroupId") or "redriven",
                    # Not the original id: SQS would drop a resend within five minutes of it.
                    # A repeated redrive of the same message is dropped, which is what we want.
                    "MessageDeduplicationId": f"redrive-{message['MessageId']}",
                }
            )
        response = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
        return [messages[int(entry["Id"])] for entry in response.get("Successful", [])]

    def _remaining(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))
