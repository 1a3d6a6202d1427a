"""Moving messages from a dead-letter queue back to its queue, after a fix: the write
queue's, and the webhook delivery queue's.

Each message is sent to the write queue first and deleted from the dead-letter queue
only once the send succeeded: an interrupted redrive leaves a message in both queues at
worst, never in neither, and the worker applies an operation once however often it
arrives. A redriven operation joins the back of its resource's group, so it is applied
after everything applied to that resource since; an update or deletion accepted before
the last one applied is not applied at all (it ends `failed`, `Superseded`: the last
write accepted wins).

A run stops in time: from the API, before the Lambda function's timeout (the context's
remaining time, less a margin and the slowest round); from `mmctl`, when it is done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from chalicelib.upkeep.reports import RedriveResult

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# What a run keeps in hand beyond its slowest round, for the last count of the
# dead-letter queue and the answer: a Lambda function is killed at its timeout.
SAFETY_MARGIN_SECONDS = 2.0
# API Gateway gives up on an integration after 29 seconds, whatever the function's timeout.
API_GATEWAY_TIMEOUT_SECONDS = 29.0

TimeLeft = Callable[[], float]


def time_left_in(context: Any, clock: Callable[[], float] = time.monotonic) -> TimeLeft:
    """Seconds a Lambda invocation behind API Gateway may still run: its context's
    remaining time, and never past API Gateway's own timeout (counted from now)."""
    started = clock()

    def left() -> float:
        gateway = API_GATEWAY_TIMEOUT_SECONDS - (clock() - started)
        if context is None:  # not in Lambda: only API Gateway's limit
            return gateway
        return min(float(context.get_remaining_time_in_millis()) / 1000, gateway)

    return left


def time_budget(seconds: float, clock: Callable[[], float] = time.monotonic) -> TimeLeft:
    """Seconds left of a fixed budget that starts now (for callers with no Lambda context)."""
    started = clock()
    return lambda: seconds - (clock() - started)


@dataclass(frozen=True)
class Redrive:
    sqs: SQSClient
    dead_letter_queue_url: str
    queue_url: str
    # Seconds the caller may still run (`time_left_in` a Lambda context, or a
    # `time_budget`); None: no limit, until the queue is empty or the count is reached.
    time_left: Optional[TimeLeft] = None
    # False for a standard queue (webhook deliveries): no message group, no deduplication.
    fifo: bool = True
    # What a message's body becomes on its way back (webhook deliveries start their day of
    # retries anew); None: the body as it is.
    rewrite: Optional[Callable[[str], str]] = None

    def run(self, max_messages: int = 1000) -> RedriveResult:
        """Moves up to `max_messages`, a round of up to ten at a time, and starts a round
        only while the time left, less a safety margin, exceeds the slowest round so far."""
        moved = failed = 0
        slowest = 0.0
        while moved + failed < max_messages:
            before = self._left()
            if before - SAFETY_MARGIN_SECONDS <= slowest:
                break
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
            slowest = max(slowest, before - self._left())
        return RedriveResult(moved=moved, failed=failed, remaining=self._remaining())

    def _left(self) -> float:
        return float("inf") if self.time_left is None else self.time_left()

    def _send(self, messages: List[Any]) -> List[Any]:
        entries: List[Dict[str, Any]] = []
        for index, message in enumerate(messages):
            body = self.rewrite(message["Body"]) if self.rewrite else message["Body"]
            entry: Dict[str, Any] = {"Id": str(index), "MessageBody": body}
            if self.fifo:
                entry["MessageGroupId"] = message.get("Attributes", {}).get("MessageGroupId") or "redriven"
                # Not the original id: SQS would drop a resend within five minutes of it.
                # A repeated redrive of the same message is dropped, which is what we want.
                entry["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
            entries.append(entry)
        response = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
        return [messages[int(entry["Id"])] for entry in response.get("Successful", [])]

    def _remaining(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))
