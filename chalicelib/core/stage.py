"""Run-time settings, read from the environment once and validated (with the first
request: those app.py needs when it is imported are `chalicelib.core.environment`)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Mapping

from pydantic.config import ConfigDict
from pydantic.fields import Field
from pydantic.main import BaseModel


class StageSettings(BaseModel):
    """What a function needs to know about its stage, from `.chalice/config.json`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    stage: str = Field(default="local", alias="APP_STAGE")
    table_name: str = Field(alias="TABLE_NAME")
    queue_name: str = Field(alias="WRITE_QUEUE_NAME")
    # Given by infrastructure as code; when empty, looked up once by name.
    queue_url: str = Field(default="", alias="QUEUE_URL")
    # Without ReportBatchItemFailures on the event source, the worker deletes the
    # messages it finished itself and raises for the rest (see chalicelib.writes.worker).
    worker_reports_batch_failures: bool = Field(default=False, alias="WORKER_REPORTS_BATCH_FAILURES")
    # How long the worker keeps an operation's record (and so its Idempotency-Key).
    operation_ttl_seconds: int = Field(default=7 * 24 * 3600, alias="OPERATION_TTL_SECONDS", gt=0)
    # The write queue's MessageRetentionPeriod: an unrecorded operation older than
    # this can no longer be waiting in the queue.
    queue_retention_seconds: int = Field(default=4 * 24 * 3600, alias="QUEUE_RETENTION_SECONDS", gt=0)
    # The maxReceiveCount of the write queue's redrive policy.
    max_receive_count: int = Field(default=5, alias="MAX_RECEIVE_COUNT", gt=0)
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # How long audit entries are kept (a TTL on each).
    audit_retention_days: float = Field(default=400, alias="AUDIT_RETENTION_DAYS", gt=0)

    # The scheduled backup check (chalicelib.upkeep.backups).
    dead_letter_queue_name: str = Field(default="", alias="DEAD_LETTER_QUEUE_NAME")
    backup_max_age_hours: float = Field(default=24, alias="BACKUP_MAX_AGE_HOURS", gt=0)
    backup_retention_days: float = Field(default=35, alias="BACKUP_RETENTION_DAYS", gt=0)
    backup_create: bool = Field(default=True, alias="BACKUP_CREATE")
    pitr_remediate: bool = Field(default=False, alias="PITR_REMEDIATE")
    backup_check_keep_days: float = Field(default=30, alias="BACKUP_CHECK_KEEP_DAYS", gt=0)
    # Past these ages of a queue's oldest message the check says `warning` (the stage's
    # CloudWatch alarms use the same thresholds, infra/monitoring.py).
    write_queue_age_warning_seconds: int = Field(default=300, alias="WRITE_QUEUE_AGE_WARNING_SECONDS", gt=0)
    webhook_queue_age_warning_seconds: int = Field(default=1800, alias="WEBHOOK_QUEUE_AGE_WARNING_SECONDS", gt=0)
    metrics_namespace: str = Field(default="MetadataManager", alias="METRICS_NAMESPACE")
    # Change events go to this EventBridge bus ("default": the account's default bus),
    # with source metadata-manager.<stage>.
    event_bus_name: str = Field(default="default", alias="EVENT_BUS_NAME")
    # Webhooks (chalicelib.events): the delivery queue and its dead-letter queue (by name;
    # the URL when infrastructure as code gives it), and the KMS key (an alias or ARN) that
    # seals signing secrets.
    webhook_queue_name: str = Field(default="", alias="WEBHOOK_QUEUE_NAME")
    webhook_queue_url: str = Field(default="", alias="WEBHOOK_QUEUE_URL")
    webhook_dead_letter_queue_name: str = Field(default="", alias="WEBHOOK_DEAD_LETTER_QUEUE_NAME")
    webhook_key_id: str = Field(default="", alias="WEBHOOK_KEY_ID")
    # The first retry of a failed delivery waits about this long; each next one twice as long.
    webhook_retry_base_seconds: float = Field(default=30, alias="WEBHOOK_RETRY_BASE_SECONDS", gt=0)

    @property
    def local(self) -> bool:
        """The stage that runs only on a developer's machine (it delivers to 127.0.0.1)."""
        return self.stage == "local"

    @property
    def event_source(self) -> str:
        return f"metadata-manager.{self.stage}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StageSettings:
        known = {field.alias for field in cls.model_fields.values() if field.alias}
        return cls.model_validate({key: value for key, value in environ.items() if key in known})


@lru_cache(maxsize=1)
def get_settings() -> StageSettings:
    """The settings of this process; tests that change the environment call `cache_clear()`."""
    return StageSettings.from_env(os.environ)
