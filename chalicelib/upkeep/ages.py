"""How long a queue's oldest message has waited, for the scheduled check.

SQS answers counts but not ages: the age of a queue's oldest message is the metric SQS
publishes to CloudWatch each minute (`ApproximateAgeOfOldestMessage`), the one the
stage's alarm watches; the local stack publishes it for moto (devstack/queue_metrics.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, Mapping, Optional, Protocol

from chalicelib.core import AWS_ERRORS, describe
from chalicelib.store import Finding

# SQS publishes a datapoint a minute while a queue is active; the newest of this window counts.
AGE_LOOKBACK = timedelta(minutes=10)
AGE_METRIC = "ApproximateAgeOfOldestMessage"


class MetricsSource(Protocol):
    """CloudWatch, as far as the check reads it (boto3's client)."""

    def get_metric_statistics(self, **kwargs: Any) -> Mapping[str, Any]: ...


class QueueAges:
    def __init__(self, cloudwatch: MetricsSource) -> None:
        self._cloudwatch = cloudwatch

    def oldest(self, queue_name: str, now: datetime) -> Optional[timedelta]:
        """The newest `ApproximateAgeOfOldestMessage` SQS published (None: none lately)."""
        answer = self._cloudwatch.get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName=AGE_METRIC,
            Dimensions=[{"Name": "QueueName", "Value": queue_name}],
            StartTime=now - AGE_LOOKBACK,
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        )
        points = list(answer.get("Datapoints", []))
        if not points:
            return None
        newest = max(points, key=lambda point: point["Timestamp"])
        return timedelta(seconds=float(newest["Maximum"]))

    def told(
        self,
        finding: Finding,
        queue_name: str,
        waiting: int,
        now: datetime,
        limit: timedelta,
        kind: str,
        metrics: Dict[str, float],
        metric: str,
    ) -> Finding:
        """`finding` (a queue's counts) with the age of its oldest message: `warning` past
        `limit`, or when the age cannot be read; `kind` names a message ("write")."""
        if not waiting:
            metrics[metric] = 0.0
            return finding
        try:
            age = self.oldest(queue_name, now)
        except AWS_ERRORS as exc:
            reason = f"{finding.reason}; the oldest message's age could not be read: {describe(exc)}"
            return Finding(check=finding.check, status="warning", reason=reason)
        if age is None:
            return finding.model_copy(update={"reason": f"{finding.reason}; no age reported for it yet"})
        metrics[metric] = round(age.total_seconds(), 1)
        if age > limit:
            reason = f"the oldest {kind} has waited {duration(age)} (more than {duration(limit)}): {finding.reason}"
            return Finding(check=finding.check, status="warning", reason=reason)
        return finding.model_copy(update={"reason": f"{finding.reason}; the oldest has waited {duration(age)}"})


def duration(delta: timedelta) -> str:
    """A wait as a person says it: seconds under two minutes, then minutes, then hours."""
    seconds = delta.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours >= 1 else f"{seconds / 60:.0f} min"
