"""Runs of the scheduled backup and queue check, kept for a while (TTL) and listed newest
first. The check itself is `chalicelib.upkeep.backups`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, Dict, List, Literal

from boto3.dynamodb.conditions import Key

from chalicelib.core import Model, Timestamp, epoch_seconds
from chalicelib.store import keys
from chalicelib.store.table import SingleTable

CheckStatus = Literal["ok", "warning", "failing"]


class Finding(Model):
    check: str
    status: CheckStatus
    reason: str


class CheckResult(Model):
    runId: str
    checkedAt: Timestamp
    status: CheckStatus
    findings: List[Finding]
    # What the run changed: backups created or deleted, PITR switched on.
    actions: List[str] = []
    # Figures for alarms and dashboards (also emitted as metrics).
    metrics: Dict[str, float] = {}


class CheckStore:
    def __init__(self, table: SingleTable) -> None:
        self._table = table

    def record(self, result: CheckResult, keep_for: timedelta) -> None:
        item = {
            **keys.backup_check_key(result.checkedAt, result.runId),
            **result.model_dump(),
            keys.TTL_ATTRIBUTE: epoch_seconds(self._table.now() + keep_for),
        }
        self._table.put(_decimals(item))

    def recent(self, limit: int) -> List[CheckResult]:
        """The latest runs, newest first."""
        condition = Key(keys.PK).eq(keys.backup_checks_pk()) & Key(keys.SK).begins_with(keys.CHECK_RUN_PREFIX)
        items, _ = self._table.query(condition, limit, newest_first=True)
        return [CheckResult.model_validate(item) for item in items]


def _decimals(value: Any) -> Any:
    """DynamoDB takes numbers as Decimal, never float."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decimals(item) for item in value]
    return value
