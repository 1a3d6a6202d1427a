"""The stage's CloudWatch alarms and dashboard, and the SNS topic the alarms notify.

Each alarm watches one metric AWS already publishes (SQS, Lambda, API Gateway) or the
backup check's own (Embedded Metric Format, namespace `MetadataManager`), and its
description says what it means and what to do, with the README's runbook section for it
(README.md, "Runbook"; `tests/test_release_template.py` checks each has one). The
packaged template and `make deploy` make the same alarms with the same names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

from infra.functions import API_HANDLER, deployed_name
from infra.operations import MEASURED, PAGE_ROUTE, StageOperations

LAMBDA = "AWS/Lambda"
SQS = "AWS/SQS"
API_GATEWAY = "AWS/ApiGateway"
FIVE_MINUTES = 300


@dataclass(frozen=True)
class Alarm:
    """One CloudWatch metric alarm of the stage, named `<app>-<stage>-<key>`."""

    key: str
    description: str
    namespace: str
    metric: str
    dimensions: Tuple[Tuple[str, str], ...]
    # "Maximum", "Sum", "Average", or a percentile ("p99").
    statistic: str
    threshold: float
    comparison: str = "GreaterThanOrEqualToThreshold"
    period: int = FIVE_MINUTES
    # Alarms when `datapoints` of the last `evaluation_periods` periods breach.
    evaluation_periods: int = 1
    datapoints: int = 1
    # What no datapoint means: no trouble (an idle queue, a function nobody called), or,
    # for a metric that must keep coming, trouble ("breaching").
    missing: str = "notBreaching"

    def name(self, operations: StageOperations) -> str:
        return f"{operations.app_name}-{operations.stage}-{self.key}"

    @property
    def logical_id(self) -> str:
        """Its resource in the packaged template: `Alarm` and the key in CamelCase."""
        return "Alarm" + "".join(part.capitalize() for part in self.key.replace("_", "-").split("-"))

    def _statistic(self) -> Dict[str, Any]:
        if self.statistic.startswith("p"):
            return {"ExtendedStatistic": self.statistic}
        return {"Statistic": self.statistic}

    def arguments(self, operations: StageOperations, topic_arn: Any) -> Dict[str, Any]:
        """`PutMetricAlarm`'s arguments; the alarm notifies the topic when it fires and ends
        (`topic_arn` may be a template's reference to it)."""
        return {
            "AlarmName": self.name(operations),
            "AlarmDescription": self.description,
            "ActionsEnabled": True,
            "AlarmActions": [topic_arn],
            "OKActions": [topic_arn],
            "Namespace": self.namespace,
            "MetricName": self.metric,
            "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions],
            **self._statistic(),
            "Period": self.period,
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints,
            "Threshold": float(self.threshold),
            "ComparisonOperator": self.comparison,
            "TreatMissingData": self.missing,
        }

    def template(self, operations: StageOperations, topic: Any) -> Dict[str, Any]:
        """As an `AWS::CloudWatch::Alarm`; `topic` is the topic's ARN or a reference to it."""
        return {"Type": "AWS::CloudWatch::Alarm", "Properties": self.arguments(operations, topic)}


RUNBOOK = "Runbook: README.md#{key}"


def _described(key: str, text: str) -> str:
    return f"{text} {RUNBOOK.format(key=key)}"


def alarms(operations: StageOperations) -> List[Alarm]:
    """Every alarm of the stage."""
    resources = operations.resources

    def function(name: str) -> Tuple[Tuple[str, str], ...]:
        return (("FunctionName", deployed_name(operations.app_name, operations.stage, name)),)

    def queue(name: str) -> Tuple[Tuple[str, str], ...]:
        return (("QueueName", name),)

    api = (("ApiName", operations.api_name), ("Stage", operations.api_stage))
    page = (
        ("ApiName", operations.api_name),
        ("Method", "GET"),
        ("Resource", PAGE_ROUTE),
        ("Stage", operations.api_stage),
    )
    write_age, webhook_age = operations.write_age_seconds, operations.webhook_age_seconds
    check_period = max(60, operations.backup_check_minutes * 60)
    found: List[Alarm] = []

    def add(key: str, text: str, **fields: Any) -> None:
        found.append(Alarm(key=key, description=_described(key, text), **fields))

    add(
        "write-queue-age",
        f"A write has waited more than {write_age} s in the write queue: the worker is paused, failing, throttled "
        "or too few for the load. Look at worker-errors and worker-throttles and the dashboard's queue and worker "
        "graphs; the writes wait, none is lost.",
        namespace=SQS,
        metric="ApproximateAgeOfOldestMessage",
        dimensions=queue(resources.queue_name),
        statistic="Maximum",
        threshold=write_age,
        comparison="GreaterThanThreshold",
        period=60,
    )
    add(
        "write-dead-letters",
        "A write could not be applied after MAX_RECEIVE_COUNT tries and is in the dead-letter queue (its "
        "operation reads failed, DeliveryFailed). Find why in apply_writes' logs (by operationId), fix it, then "
        "POST /admin/redrive.",
        namespace=SQS,
        metric="ApproximateNumberOfMessagesVisible",
        dimensions=queue(resources.dead_letter_queue_name),
        statistic="Maximum",
        threshold=1,
    )
    add(
        "worker-errors",
        "apply_writes failed in each of the last three 5-minute periods (one failure alone is a retry: the "
        "worker raises for the messages that must come back). Read its logs for the error; writes wait in the "
        "queue meanwhile.",
        namespace=LAMBDA,
        metric="Errors",
        dimensions=function("apply_writes"),
        statistic="Sum",
        threshold=1,
        evaluation_periods=3,
        datapoints=3,
    )
    add(
        "worker-throttles",
        "Lambda refused to run apply_writes: its reserved concurrency is below the event source's maximum "
        "concurrency, or the account ran out. A throttled batch counts as a receive and can end in the "
        "dead-letter queue. Check both settings (make deploy sets them).",
        namespace=LAMBDA,
        metric="Throttles",
        dimensions=function("apply_writes"),
        statistic="Sum",
        threshold=1,
    )
    add(
        "webhook-queue-age",
        f"A webhook delivery has waited more than {webhook_age} s in the delivery queue (retries wait up to 15 "
        "minutes each): deliver_webhooks is failing or cannot keep up. Look at webhook-delivery-errors and its logs.",
        namespace=SQS,
        metric="ApproximateAgeOfOldestMessage",
        dimensions=queue(resources.webhook_queue_name),
        statistic="Maximum",
        threshold=webhook_age,
        comparison="GreaterThanThreshold",
        period=60,
    )
    add(
        "webhook-dead-letters",
        "A webhook delivery failed for 24 hours and is in the delivery queue's dead-letter queue. See the "
        "webhook's deliveries for why, have the receiver fixed, then POST /admin/redrive?queue=webhooks.",
        namespace=SQS,
        metric="ApproximateNumberOfMessagesVisible",
        dimensions=queue(resources.webhook_dead_letter_queue_name),
        statistic="Maximum",
        threshold=1,
    )
    for key, name, what in (
        ("webhook-delivery-errors", "deliver_webhooks", "webhook deliveries come back and may be dead-lettered"),
        ("event-sweeper-errors", "send_unsent_events", "change events left unsent are not sent"),
        ("release-scheduler-errors", "publish_due_releases", "scheduled releases are not published"),
    ):
        add(
            key,
            f"{name} failed in each of the last three 5-minute periods: {what}. Read its logs for the error, fix "
            "it and release; nothing is lost (the function catches up).",
            namespace=LAMBDA,
            metric="Errors",
            dimensions=function(name),
            statistic="Sum",
            threshold=1,
            evaluation_periods=3,
            datapoints=3,
        )
    add(
        "backup-check-failing",
        "The scheduled check found something failing: point-in-time recovery off, no recent backup, or messages "
        "in a dead-letter queue. GET /admin/backups says which and why.",
        namespace=operations.metrics_namespace,
        metric="BackupCheckFailing",
        dimensions=(("Stage", operations.stage),),
        statistic="Maximum",
        threshold=1,
        period=check_period,
    )
    add(
        "backup-check-silent",
        "The scheduled check has recorded no result for two of its periods: check_backups is not running (its "
        "schedule disabled or deleted, the function throttled or failing before it logs). Backups and queues go "
        "unchecked. Look at the function's schedule rule and its logs.",
        namespace=operations.metrics_namespace,
        metric="BackupCheckFailing",
        dimensions=(("Stage", operations.stage),),
        statistic="SampleCount",
        threshold=1,
        comparison="LessThanThreshold",
        period=check_period,
        evaluation_periods=2,
        datapoints=2,
        missing="breaching",
    )
    add(
        "backup-check-errors",
        "check_backups itself failed (it could not record its result): backups and queues go unchecked. Read its "
        "logs; its last line still says what it found.",
        namespace=LAMBDA,
        metric="Errors",
        dimensions=function("check_backups"),
        statistic="Sum",
        threshold=1,
        period=check_period,
    )
    add(
        "api-5xx-rate",
        f"More than {operations.limits.api_5xx_rate:.0%} of the API's answers were 5xx in two 5-minute periods in "
        "a row: the API handler or the authorizer fails, or AWS refuses it (503s say which). Read the API "
        "handler's logs by requestId.",
        namespace=API_GATEWAY,
        metric="5XXError",
        dimensions=api,
        statistic="Average",
        threshold=operations.limits.api_5xx_rate,
        comparison="GreaterThanThreshold",
        evaluation_periods=2,
        datapoints=2,
    )
    add(
        "page-route-latency",
        f"The page route's p99 latency was over {operations.limits.page_p99_ms:.0f} ms in three 5-minute periods "
        "in a row: frontends wait. Compare Latency with IntegrationLatency and the API handler's duration; "
        "DynamoDB throttling or cold starts are the usual causes.",
        namespace=API_GATEWAY,
        metric="Latency",
        dimensions=page,
        statistic="p99",
        threshold=operations.limits.page_p99_ms,
        comparison="GreaterThanThreshold",
        evaluation_periods=3,
        datapoints=3,
    )
    return found


# --- the dashboard ----------------------------------------------------------------------


def _graph(title: str, metrics: List[List[Any]], region: str, stat: str = "Sum", **more: Any) -> Dict[str, Any]:
    properties = {
        "title": title,
        "view": "timeSeries",
        "region": region,
        "stat": stat,
        "period": 60,
        "metrics": metrics,
        **more,
    }
    return {"type": "metric", "width": 12, "height": 6, "properties": properties}


def dashboard(operations: StageOperations, region: str, alarm_arn: Callable[[str], str]) -> Dict[str, Any]:
    """The dashboard's body: the alarms, then the page route, the write routes, the queues
    and the worker, the change events, the API and the backup check."""
    resources = operations.resources
    app, stage, api, api_stage = operations.app_name, operations.stage, operations.api_name, operations.api_stage

    def function(name: str) -> str:
        return deployed_name(app, stage, name)

    def route(metric: str, method: str, path: str, **options: Any) -> List[Any]:
        line: List[Any] = [API_GATEWAY, metric, "ApiName", api, "Method", method, "Resource", path, "Stage", api_stage]
        return line + ([options] if options else [])

    writes = [(method, path) for method, path in MEASURED if path != PAGE_ROUTE]
    worker = function("apply_writes")
    queues = [(resources.queue_name, "writes"), (resources.webhook_queue_name, "webhooks")]
    widgets = [
        {
            "type": "alarm",
            "width": 24,
            "height": 4,
            "properties": {
                "title": "Alarms",
                "alarms": sorted(alarm_arn(alarm.name(operations)) for alarm in alarms(operations)),
            },
        },
        _graph("Page route: requests a minute", [route("Count", "GET", PAGE_ROUTE)], region),
        _graph(
            "Page route: latency (ms)",
            [
                route("Latency", "GET", PAGE_ROUTE, stat="p50", label="p50"),
                route("Latency", "GET", PAGE_ROUTE, stat="p99", label="p99"),
                route("IntegrationLatency", "GET", PAGE_ROUTE, stat="p99", label="p99 in the function"),
            ],
            region,
            stat="p99",
        ),
        _graph("Write routes: requests a minute", [route("Count", m, p, label=f"{m} {p}") for m, p in writes], region),
        _graph(
            "Write routes: p99 latency (ms)",
            [route("Latency", m, p, label=f"{m} {p}") for m, p in writes],
            region,
            stat="p99",
        ),
        _graph(
            "Queues: messages waiting and in flight",
            [
                [SQS, metric, "QueueName", name, {"label": f"{label} {what}"}]
                for name, label in queues
                for metric, what in (
                    ("ApproximateNumberOfMessagesVisible", "waiting"),
                    ("ApproximateNumberOfMessagesNotVisible", "in flight"),
                )
            ],
            region,
            stat="Maximum",
        ),
        _graph(
            "Queues: age of the oldest message (s)",
            [[SQS, "ApproximateAgeOfOldestMessage", "QueueName", name, {"label": label}] for name, label in queues],
            region,
            stat="Maximum",
            annotations={
                "horizontal": [
                    {"label": "writes alarm", "value": operations.write_age_seconds},
                    {"label": "webhooks alarm", "value": operations.webhook_age_seconds},
                ]
            },
        ),
        _graph(
            "Operations applied a minute (messages the worker finished)",
            [[SQS, "NumberOfMessagesDeleted", "QueueName", resources.queue_name, {"label": "operations"}]],
            region,
        ),
        _graph(
            "Dead-letter queues",
            [
                [SQS, "ApproximateNumberOfMessagesVisible", "QueueName", name, {"label": label}]
                for name, label in (
                    (resources.dead_letter_queue_name, "writes"),
                    (resources.webhook_dead_letter_queue_name, "webhooks"),
                )
            ],
            region,
            stat="Maximum",
        ),
        _graph(
            "Worker: duration (ms)",
            [
                [LAMBDA, "Duration", "FunctionName", worker, {"stat": "Average", "label": "average"}],
                [LAMBDA, "Duration", "FunctionName", worker, {"stat": "p99", "label": "p99"}],
            ],
            region,
            stat="Average",
        ),
        _graph(
            "Worker: errors, throttles and concurrency",
            [
                [LAMBDA, "Errors", "FunctionName", worker, {"label": "errors"}],
                [LAMBDA, "Throttles", "FunctionName", worker, {"label": "throttles"}],
                [LAMBDA, "ConcurrentExecutions", "FunctionName", worker, {"stat": "Maximum", "label": "running"}],
            ],
            region,
            annotations={"horizontal": [{"label": "cap", "value": operations.worker_concurrency}]},
        ),
        _graph(
            "Change events and schedules: errors",
            [
                [LAMBDA, "Errors", "FunctionName", function(name), {"label": name}]
                for name in ("deliver_webhooks", "send_unsent_events", "publish_due_releases", "check_backups")
            ],
            region,
        ),
        _graph(
            "API: requests, 4xx and 5xx a minute",
            [
                [API_GATEWAY, "Count", "ApiName", api, "Stage", api_stage, {"label": "requests"}],
                [API_GATEWAY, "4XXError", "ApiName", api, "Stage", api_stage, {"label": "4xx"}],
                [API_GATEWAY, "5XXError", "ApiName", api, "Stage", api_stage, {"label": "5xx"}],
                [LAMBDA, "Throttles", "FunctionName", function(API_HANDLER), {"label": "handler throttles"}],
            ],
            region,
        ),
        _graph(
            "Backup check",
            [
                [operations.metrics_namespace, metric, "Stage", stage, {"label": metric}]
                for metric in ("BackupCheckFailing", "DeadLetterMessages", "WebhookDeadLetterMessages")
            ],
            region,
            stat="Maximum",
            period=max(60, operations.backup_check_minutes * 60),
        ),
    ]
    return {"widgets": widgets}


def dashboard_text(operations: StageOperations, region: str, alarm_arn: Callable[[str], str]) -> str:
    return json.dumps(dashboard(operations, region, alarm_arn), sort_keys=True, separators=(",", ":"))
