"""The objects a function works with, built on first use from the settings.

Nothing here runs at import: Lambda's cold start stays short, and tests (with moto) set
up the environment before the first AWS client exists.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Callable, List

import boto3
from botocore.config import Config

from chalicelib.backups import BackupChecker, BackupPolicy, Targets
from chalicelib.logs import get_logger
from chalicelib.models import Envelope, Operation, utc_now
from chalicelib.operations import WriteDesk, apply_operation, record_delivery_failure
from chalicelib.queue import WriteQueue
from chalicelib.redrive import Redrive
from chalicelib.repository import Repository
from chalicelib.settings import Settings, get_settings
from chalicelib.worker import Worker

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_sqs import SQSClient

# Short timeouts and SDK retries with backoff: a throttled call is retried a few times
# before the API answers 503 or the worker leaves the message for later.
AWS_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})

# Called with each new session, before any client exists: the test suite hooks botocore's
# events there to hold every call a function makes to its IAM policy. Empty in Lambda.
SESSION_HOOKS: List[Callable[[Any], None]] = []


class Services:
    def __init__(self, settings: Settings, session: Any = None, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self._session = session or boto3.session.Session()
        self.clock = clock
        for hook in SESSION_HOOKS:
            hook(self._session)

    @cached_property
    def logger(self) -> logging.Logger:
        return get_logger(self.settings.log_level)

    @cached_property
    def table(self) -> Table:
        return self._session.resource("dynamodb", config=AWS_CONFIG).Table(self.settings.table_name)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self._session.client("dynamodb", config=AWS_CONFIG)

    @cached_property
    def sqs(self) -> SQSClient:
        return self._session.client("sqs", config=AWS_CONFIG)

    @cached_property
    def repository(self) -> Repository:
        return Repository(self.table, operation_ttl_seconds=self.settings.operation_ttl_seconds)

    @cached_property
    def queue(self) -> WriteQueue:
        url = self.settings.queue_url or self.sqs.get_queue_url(QueueName=self.settings.queue_name)["QueueUrl"]
        return WriteQueue(self.sqs, url)

    @cached_property
    def desk(self) -> WriteDesk:
        return WriteDesk(
            self.repository, self.queue, queue_retention=timedelta(seconds=self.settings.queue_retention_seconds)
        )

    @cached_property
    def backup_checker(self) -> BackupChecker:
        settings = self.settings
        policy = BackupPolicy(
            max_backup_age=timedelta(hours=settings.backup_max_age_hours),
            retention=timedelta(days=settings.backup_retention_days),
            create_backups=settings.backup_create,
            enable_pitr=settings.pitr_remediate,
        )
        targets = Targets(settings.table_name, settings.queue_name, settings.dead_letter_queue_name)
        return BackupChecker(self.dynamodb, self.sqs, targets, policy, clock=self.clock)

    def redrive(self) -> Redrive:
        dead_letter_url = self.sqs.get_queue_url(QueueName=self.settings.dead_letter_queue_name)["QueueUrl"]
        return Redrive(self.sqs, dead_letter_url, self.queue.url)

    @cached_property
    def worker(self) -> Worker:
        def apply(envelope: Envelope) -> Operation:
            return apply_operation(envelope, self.repository)

        def dead_letter(envelope: Envelope, reason: str) -> None:
            record_delivery_failure(envelope, self.repository, reason)

        return Worker(apply, dead_letter, self.logger, self.settings.max_receive_count)


@lru_cache(maxsize=1)
def get_services() -> Services:
    return Services(get_settings())


def reset_services() -> None:
    """Forget built objects and settings (tests, and the local stack after set-up)."""
    get_services.cache_clear()
    get_settings.cache_clear()
