"""The write queue: where the API puts operation envelopes for the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, List

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ServiceUnavailable
from chalicelib.models import ConfigCreate, ConfigDelete, ConfigUpdate, Envelope, SitePut

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


def message_group(envelope: Envelope) -> str:
    """A resource's operations share a FIFO group, so SQS hands them to the worker one at
    a time and in the order the API accepted them; different resources run in parallel."""
    if isinstance(envelope, SitePut):
        return f"site:{envelope.data.site}"
    assert isinstance(envelope, (ConfigCreate, ConfigUpdate, ConfigDelete))
    return f"config:{envelope.data.id}"


class WriteQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    @property
    def url(self) -> str:
        return self._queue_url

    def send(self, envelope: Envelope) -> None:
        """Enqueues the operation, or raises ServiceUnavailable: a 202 is only ever given
        for an operation that is on the queue."""
        try:
            self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=envelope.model_dump_json(exclude_none=True),
                MessageGroupId=message_group(envelope),
                # SQS drops a second send of the same operation within five minutes.
                MessageDeduplicationId=envelope.meta.operationId,
            )
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable("the write queue cannot be reached; nothing was accepted, try again") from exc

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
            except (ClientError, BotoCoreError):
                failed.extend(chunk)
                continue
            failed.extend(chunk[int(entry["Id"])] for entry in response.get("Failed", []))
        return failed
