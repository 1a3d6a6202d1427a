"""The scheduled backup and queue health check: what an operator needs to trust that the
table can be restored and that no write is stuck.

Each run checks point-in-time recovery, on-demand backups (creating and pruning them
when the stage allows), and the write queue and its dead-letter queue. A check that
cannot reach its service is itself a failing finding: the run never crashes silently.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Dict, List

from chalicelib.core import AWS_ERRORS, describe, isoformat, metric_fields, utc_now
from chalicelib.store import CheckResult, CheckStatus, Finding

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

_SEVERITY: Dict[str, int] = {"ok": 0, "warning": 1, "failing": 2}


@dataclass(frozen=True)
class BackupPolicy:
    """What a stage asks of its backups (environment variables, see .chalice/config.json)."""

    max_backup_age: timedelta = timedelta(hours=24)
    retention: timedelta = timedelta(days=35)
    create_backups: bool = True
    enable_pitr: bool = False
    max_restore_lag: timedelta = timedelta(minutes=30)
    backlog_warning: int = 1000


@dataclass(frozen=True)
class Targets:
    table_name: str
    queue_name: str
    dead_letter_queue_name: str
    # The webhook delivery queue and its dead-letter queue (checked when named).
    webhook_queue_name: str = ""
    webhook_dead_letter_queue_name: str = ""


class BackupChecker:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        sqs: SQSClient,
        targets: Targets,
        policy: BackupPolicy,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._dynamodb = dynamodb
        self._sqs = sqs
        self._targets = targets
        self._policy = policy
        self._clock = clock

    def run(self) -> CheckResult:
        now = self._clock()
        findings: List[Finding] = []
        actions: List[str] = []
        metrics: Dict[str, float] = {}
        checks: List[tuple[str, Callable[[datetime, List[str], Dict[str, float]], Finding]]] = [
            ("pointInTimeRecovery", self._check_pitr),
            ("onDemandBackups", self._check_backups),
            ("writeQueue", self._check_queue),
            ("deadLetterQueue", self._check_dead_letters),
        ]
        if self._targets.webhook_queue_name:
            checks.append(("webhookQueue", self._check_webhook_queue))
        if self._targets.webhook_dead_letter_queue_name:
            checks.append(("webhookDeadLetterQueue", self._check_webhook_dead_letters))
        for name, check in checks:
            try:
                findings.append(check(now, actions, metrics))
            except AWS_ERRORS as exc:
                findings.append(Finding(check=name, status="failing", reason=f"could not check: {describe(exc)}"))
        status = max((finding.status for finding in findings), key=_SEVERITY.__getitem__)
        metrics["BackupCheckFailing"] = 1.0 if status == "failing" else 0.0
        return CheckResult(
            runId=uuid.uuid4().hex,
            checkedAt=isoformat(now),
            status=status,
            findings=findings,
            actions=actions,
            metrics=metrics,
        )

    def _check_pitr(self, now: datetime, actions: List[str], metrics: Dict[str, float]) -> Finding:
        check = "pointInTimeRecovery"
        description = self._dynamodb.describe_continuous_backups(TableName=self._targets.table_name)
        pitr = description["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            metrics["PitrEnabled"] = 0.0
            if not self._policy.enable_pitr:
                return Finding(check=check, status="failing", reason="point-in-time recovery is off")
            self._dynamodb.update_continuous_backups(
                TableName=self._targets.table_name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
            actions.append("enabled point-in-time recovery")
            return Finding(check=check, status="warning", reason="point-in-time recovery was off; switched it on")
        metrics["PitrEnabled"] = 1.0
        latest = pitr.get("LatestRestorableDateTime")
        if latest is None:
            return Finding(check=check, status="warning", reason="on, but no restorable time yet")
        lag = now - _aware(latest)
        metrics["PitrLagMinutes"] = round(lag.total_seconds() / 60, 1)
        if lag > self._policy.max_restore_lag:
            return Finding(
                check=check, status="warning", reason=f"latest restorable time is {_age(lag)} old ({isoformat(latest)})"
            )
        return Finding(check=check, status="ok", reason=f"on; restorable to {isoformat(latest)}")

    def _check_backups(self, now: datetime, actions: List[str], metrics: Dict[str, float]) -> Finding:
        check = "onDemandBackups"
        backups = self._list_backups()
        usable = [b for b in backups if b["BackupStatus"] in ("AVAILABLE", "CREATING")]
        newest = max(usable, key=lambda b: b["BackupCreationDateTime"], default=None)
        reason = "no on-demand backup"
        if newest is not None:
            age = now - _aware(newest["BackupCreationDateTime"])
            metrics["NewestBackupAgeHours"] = round(age.total_seconds() / 3600, 2)
            reason = f"newest backup {newest['BackupName']} is {_age(age)} old"
        status: CheckStatus = "ok"
        if newest is None or now - _aware(newest["BackupCreationDateTime"]) > self._policy.max_backup_age:
            if self._policy.create_backups:
                name = self._create_backup(now)
                actions.append(f"created backup {name}")
                reason = f"{reason}; created {name}"
                metrics["NewestBackupAgeHours"] = 0.0
            else:
                status, reason = "failing", f"{reason}; this stage does not create them"
        for backup in self._expired(backups, now):
            self._dynamodb.delete_backup(BackupArn=backup["BackupArn"])
            actions.append(f"deleted backup {backup['BackupName']} (older than the retention)")
        metrics["OnDemandBackups"] = float(len(backups))
        return Finding(check=check, status=status, reason=reason)

    def _expired(self, backups: List[Dict[str, Any]], now: datetime) -> List[Dict[str, Any]]:
        """Available backups past the retention, never the newest one."""
        available = sorted(
            (b for b in backups if b["BackupStatus"] == "AVAILABLE"), key=lambda b: b["BackupCreationDateTime"]
        )
        return [b for b in available[:-1] if now - _aware(b["BackupCreationDateTime"]) > self._policy.retention]

    def _list_backups(self) -> List[Dict[str, Any]]:
        backups: List[Dict[str, Any]] = []
        params: Dict[str, Any] = {"TableName": self._targets.table_name, "BackupType": "USER"}
        while True:
            page = self._dynamodb.list_backups(**params)
            backups.extend(dict(summary) for summary in page.get("BackupSummaries", []))
            last = page.get("LastEvaluatedBackupArn")
            if not last:
                return backups
            params["ExclusiveStartBackupArn"] = last

    def _create_backup(self, now: datetime) -> str:
        # Named by time, so the names sort in the order the backups were taken.
        name = f"{self._targets.table_name}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        self._dynamodb.create_backup(TableName=self._targets.table_name, BackupName=name)
        return name

    def _queue_counts(self, name: str) -> Dict[str, int]:
        url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {
            "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        }

    def _check_queue(self, now: datetime, actions: List[str], metrics: Dict[str, float]) -> Finding:
        counts = self._queue_counts(self._targets.queue_name)
        metrics["QueueInFlightMessages"] = float(counts["inFlight"])
        return self._backlog("writeQueue", counts, metrics, "QueueVisibleMessages")

    def _check_dead_letters(self, now: datetime, actions: List[str], metrics: Dict[str, float]) -> Finding:
        what = "message(s) could not be applied; fix the cause, then redrive them"
        return self._dead("deadLetterQueue", self._targets.dead_letter_queue_name, metrics, "DeadLetterMessages", what)

    def _check_webhook_queue(self, now: datetime, actions: List[str], metrics: Dict[str, float]) -> Finding:
        counts = self._queue_counts(self._targets.webhook_queue_name)
        return self._backlog("webhookQueue", counts, metrics, "WebhookQueueVisibleMessages")

    def _check_webhook_dead_letters(self, now: datetime, actions: List[str], metrics: Dict[str, float]) -> Finding:
        what = (
            "webhook delivery(ies) failed for 24 hours; see each webhook's deliveries, fix the receiver, "
            "then redrive them (POST /admin/redrive?queue=webhooks)"
        )
        name = self._targets.webhook_dead_letter_queue_name
        return self._dead("webhookDeadLetterQueue", name, metrics, "WebhookDeadLetterMessages", what)

    def _backlog(self, check: str, counts: Dict[str, int], metrics: Dict[str, float], metric: str) -> Finding:
        metrics[metric] = float(counts["visible"])
        summary = f"{counts['visible']} waiting, {counts['inFlight']} in flight"
        if counts["visible"] > self._policy.backlog_warning:
            return Finding(check=check, status="warning", reason=f"backlog: {summary}")
        return Finding(check=check, status="ok", reason=summary)

    def _dead(self, check: str, queue_name: str, metrics: Dict[str, float], metric: str, what: str) -> Finding:
        counts = self._queue_counts(queue_name)
        dead = counts["visible"] + counts["inFlight"]
        metrics[metric] = float(dead)
        if dead:
            return Finding(check=check, status="failing", reason=f"{dead} {what}")
        return Finding(check=check, status="ok", reason="empty")


def emf_record(result: CheckResult, namespace: str, stage: str) -> Dict[str, Any]:
    """The run as CloudWatch Embedded Metric Format: a log line that CloudWatch turns into
    metrics (dimension Stage) without an extra API call, so alarms can be set on them."""
    return {
        "_aws": {
            "Timestamp": int(datetime.fromisoformat(result.checkedAt.replace("Z", "+00:00")).timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["Stage"]],
                    "Metrics": [
                        {"Name": name, "Unit": "Count" if name.endswith("Messages") else "None"}
                        for name in sorted(result.metrics)
                    ],
                }
            ],
        },
        "Stage": stage,
        **result.metrics,
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f} min"


def run_backup_check(
    checker: BackupChecker,
    record: Callable[[CheckResult], None],
    logger: logging.Logger,
    namespace: str,
    stage: str,
) -> CheckResult:
    """One scheduled run: check, log one line that also carries the metrics, record it."""
    result = checker.run()
    line = {"status": result.status, "findings": [f.model_dump() for f in result.findings], "actions": result.actions}
    log = logger.error if result.status == "failing" else logger.info
    log("backup check", extra={**line, **metric_fields(emf_record(result, namespace, stage))})
    # If the result cannot be stored, the run fails loudly (Lambda's Errors metric) after
    # the line above has already told what it found.
    record(result)
    return result
