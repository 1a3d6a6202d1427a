"""What SQS publishes to CloudWatch, for the local stack's queues: the age of each
queue's oldest message (`ApproximateAgeOfOldestMessage`, namespace `AWS/SQS`), once a
minute. moto keeps the messages but publishes no metric; the scheduled check reads the
age from CloudWatch, as in AWS, so without this it would never see a write waiting.

It reads moto's own record of the messages (the supervisor runs moto's server in its
own process): receiving them to look would count as a receive, and move them towards
the dead-letter queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Dict, Iterable, List, Optional, Sequence

NAMESPACE = "AWS/SQS"
METRIC = "ApproximateAgeOfOldestMessage"
PERIOD_SECONDS = 60


def oldest_ages(queue_names: Iterable[str], region: str, now: datetime) -> Dict[str, float]:
    """Seconds since the oldest message still in each queue (in flight included) was sent;
    0 for an empty queue. Queues moto does not have are left out."""
    from moto.core.models import DEFAULT_ACCOUNT_ID  # moto loads only where it runs
    from moto.sqs.models import sqs_backends

    queues = sqs_backends[DEFAULT_ACCOUNT_ID][region].queues
    now_ms = now.timestamp() * 1000
    ages: Dict[str, float] = {}
    for name in queue_names:
        queue = queues.get(name)
        if queue is None:
            continue
        # moto sets each message's sent_timestamp (epoch milliseconds) when it is sent.
        stamps: List[Any] = [message.sent_timestamp for message in list(queue._messages)]
        sent = [float(stamp) for stamp in stamps if stamp]
        ages[name] = round(max(0.0, now_ms - min(sent)) / 1000, 1) if sent else 0.0
    return ages


def metric_data(ages: Dict[str, float], now: datetime) -> Sequence[Dict[str, Any]]:
    """`PutMetricData` entries, stamped at the start of the minute as SQS's are."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    return [
        {
            "MetricName": METRIC,
            "Dimensions": [{"Name": "QueueName", "Value": name}],
            "Timestamp": minute,
            "Value": age,
            "Unit": "Seconds",
        }
        for name, age in sorted(ages.items())
    ]


class QueueMetrics:
    """Publishes the queues' ages when a minute has passed since it last did."""

    def __init__(self, cloudwatch: Any, queue_names: Sequence[str], region: str) -> None:
        self._cloudwatch = cloudwatch
        self._queue_names = list(queue_names)
        self._region = region
        self._last: Optional[datetime] = None

    def publish(self, now: datetime) -> Dict[str, float]:
        ages = oldest_ages(self._queue_names, self._region, now)
        if ages:
            self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=list(metric_data(ages, now)))
        self._last = now
        return ages

    def publish_if_due(self, now: datetime) -> None:
        if self._last is None or (now - self._last).total_seconds() >= PERIOD_SECONDS:
            self.publish(now)
