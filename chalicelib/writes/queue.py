"""The write queue: where the API puts operation envelopes for the worker."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, List

from chalicelib.core import AWS_ERRORS, queue_error
from chalicelib.writes.envelopes import OperationEnvelope
from chalicelib.writes.registry import kind_of

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def message_body(envelope: OperationEnvelope) -> str:
    """The envelope as ASCII JSON: SQS refuses a body with some characters JSON allows in
    strings (U+FFFE, U+FFFF), so every non-ASCII character travels as a \\u escape."""
    return json.dumps(envelope.model_dump(mode="json", exclude_none=True), ensure_ascii=True, separators=(",", ":"))


class WriteQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    @property
    def url(self) -> str:
        return self._queue_url

    def send(self, envelope: OperationEnvelope) -> None:
        """Enqueues the operation, or raises DependencyUnavailable: a 202 is only ever given
        for an operation that is on the queue."""
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=message_body(envelope),
                MessageGroupId=kind_of(envelope).group(envelope),
                # SQS drops a second send of the same operation within five minutes.
                MessageDeduplicationId=envelope.meta.operationId,
            )
        except AWS_ERRORS as exc:
            raise queue_error(exc) from exc

    def delete(self, receipt_handles: List[str]) -> List[str]:
        """Deletes received messages; answers the receipt handles that were not deleted."""
        failed: List[str] = []
        # A redelivered duplicate can share a handle with its twin in one batch; SQS
        # refuses a whole batch that names a handle twice.
        unique = list(dict.fromkeys(receipt_handles))
        for start in range(0, len(unique), 10):
            chunk = unique[start : start + 10]
            try:
                response = self._client.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[{"Id": str(index), "ReceiptHandle": handle} for index, handle in enumerate(chunk)],
                )
            except AWS_ERRORS:
                failed.extend(chunk)
                continue
            failed.extend(chunk[int(entry["Id"])] for entry in response.get("Failed", []))
        return failed
