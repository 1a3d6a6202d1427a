"""The composition root: the objects a function works with, built on first use from the
stage's settings and one boto3 session.

Nothing here runs at import: Lambda's cold start stays short, and tests (with moto) set
up the environment before the first AWS client exists. `get_services()` is what the
functions use: built from the stage's settings and a new boto3 session. Whoever needs
another session passes it to `Services`. There is no test hook here: the test suite and
`bench` watch every AWS call through botocore's own handler registry, as moto does.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Type, TypeVar

import boto3
from botocore.config import Config

from chalicelib import upkeep
from chalicelib.core import get_logger, utc_now
from chalicelib.store import Store

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_sqs import SQSClient

    from chalicelib.core import StageSettings
    from chalicelib.events import DeliveryQueue, EventSender, SecretSealer, WebhookDeliverer
    from chalicelib.upkeep import BackupChecker, Redrive, TimeLeft
    from chalicelib.writes import (
        Desk,
        PreviewDesk,
        ReleaseDesk,
        SchemaDesk,
        WebhookDesk,
        Worker,
        WriteDesk,
        WriteQueue,
    )

D = TypeVar("D", bound="Desk")

# Short timeouts and SDK retries with backoff: a throttled call is retried a few times
# before the API answers 503 or the worker leaves the message for later.
AWS_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
# EventBridge from the worker: one quick try each time (the sender tries refused entries
# again itself, and leaves the rest to the sweeper).
EVENTS_CONFIG = Config(connect_timeout=1, read_timeout=3, retries={"mode": "standard", "max_attempts": 1})


class Services:
    def __init__(
        self,
        settings: StageSettings,
        session: Optional[boto3.session.Session] = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        # A session makes no AWS client until asked: the clients below are built on first use.
        self._session = session or boto3.session.Session()
        self.clock = clock

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
    def store(self) -> Store:
        return Store.over(
            self.table,
            operation_ttl_seconds=self.settings.operation_ttl_seconds,
            audit_retention=timedelta(days=self.settings.audit_retention_days),
        )

    @cached_property
    def queue(self) -> WriteQueue:
        # The write machinery loads with the first write: a page view never needs it.
        from chalicelib.writes import WriteQueue

        url = self.settings.queue_url or self.sqs.get_queue_url(QueueName=self.settings.queue_name)["QueueUrl"]
        return WriteQueue(self.sqs, url)

    @cached_property
    def desk(self) -> WriteDesk:
        from chalicelib.writes import WriteDesk

        return self._desk(WriteDesk)

    @cached_property
    def schema_desk(self) -> SchemaDesk:
        from chalicelib.writes import SchemaDesk

        return self._desk(SchemaDesk)

    @cached_property
    def preview_desk(self) -> PreviewDesk:
        from chalicelib.writes import PreviewDesk

        return self._desk(PreviewDesk)

    @cached_property
    def release_desk(self) -> ReleaseDesk:
        from chalicelib.writes import ReleaseDesk

        return self._desk(ReleaseDesk)

    @cached_property
    def webhook_desk(self) -> WebhookDesk:
        from chalicelib.writes import WebhookDesk

        return self._desk(WebhookDesk, sealer=self.sealer, local=self.settings.local)

    def _desk(self, desk: Type[D], **more: Any) -> D:
        """A desk of the write machinery (which loads with the first write)."""
        retention = timedelta(seconds=self.settings.queue_retention_seconds)
        return desk(self.store, self.queue, queue_retention=retention, **more)

    @cached_property
    def backup_checker(self) -> BackupChecker:
        settings = self.settings
        policy = upkeep.BackupPolicy(
            max_backup_age=timedelta(hours=settings.backup_max_age_hours),
            retention=timedelta(days=settings.backup_retention_days),
            create_backups=settings.backup_create,
            enable_pitr=settings.pitr_remediate,
            write_age_warning=timedelta(seconds=settings.write_queue_age_warning_seconds),
            webhook_age_warning=timedelta(seconds=settings.webhook_queue_age_warning_seconds),
        )
        targets = upkeep.Targets(
            settings.table_name,
            settings.queue_name,
            settings.dead_letter_queue_name,
            settings.webhook_queue_name,
            settings.webhook_dead_letter_queue_name,
        )
        # CloudWatch tells the age of a queue's oldest message (SQS publishes it there).
        ages = upkeep.QueueAges(self.cloudwatch)
        return upkeep.BackupChecker(self.dynamodb, self.sqs, targets, policy, clock=self.clock, ages=ages)

    @cached_property
    def cloudwatch(self) -> Any:
        return self._session.client("cloudwatch", config=AWS_CONFIG)

    @cached_property
    def event_bridge(self) -> EventBridgeClient:
        # Short: a change is applied already, and what does not go now the sweeper sends.
        return self._session.client("events", config=EVENTS_CONFIG)

    @cached_property
    def events(self) -> EventSender:
        """EventBridge first, then each webhook's message on the delivery queue."""
        from chalicelib.events import EventBridgeSink, EventSender, WebhookFanout

        bridge = EventBridgeSink(self.event_bridge, self.settings.event_bus_name, self.settings.event_source)
        fanout = WebhookFanout(self.store.webhooks, self.deliveries, self.clock)
        return EventSender(self.store.outbox, [bridge, fanout], self.logger)

    @cached_property
    def kms(self) -> KMSClient:
        return self._session.client("kms", config=AWS_CONFIG)

    @cached_property
    def sealer(self) -> SecretSealer:
        from chalicelib.events import SecretSealer

        return SecretSealer(self.kms, self.settings.webhook_key_id)

    @cached_property
    def deliveries(self) -> DeliveryQueue:
        """The webhook delivery queue (its URL looked up once, on first send, unless given)."""
        from chalicelib.events import DeliveryQueue

        settings = self.settings
        return DeliveryQueue(self.sqs, self._queue_url(settings.webhook_queue_url, settings.webhook_queue_name))

    @cached_property
    def delivery_dead_letters(self) -> DeliveryQueue:
        from chalicelib.events import DeliveryQueue

        return DeliveryQueue(self.sqs, self._queue_url("", self.settings.webhook_dead_letter_queue_name))

    def _queue_url(self, given: str, name: str) -> Callable[[], str]:
        found: List[str] = [given] if given else []

        def url() -> str:
            if not found:
                found.append(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
            return found[0]

        return url

    @cached_property
    def deliverer(self) -> WebhookDeliverer:
        from chalicelib import events

        settings = self.settings
        return events.WebhookDeliverer(
            self.store.webhooks,
            self.store.deliveries,
            self.deliveries,
            self.delivery_dead_letters,
            self.sealer,
            events.PinnedPoster(),
            self.webhook_desk.disable_gone,
            local=settings.local,
            policy=events.RetryPolicy(base_seconds=settings.webhook_retry_base_seconds),
            clock=self.clock,
            logger=self.logger,
        )

    def redrive(self, time_left: Optional[TimeLeft], queue: str = "writes") -> Redrive:
        """Back from the write queue's dead-letter queue, or (`webhooks`) the delivery queue's."""
        if queue == "webhooks":
            from chalicelib.events import redrive_deliveries

            dead_letters = self.sqs.get_queue_url(QueueName=self.settings.webhook_dead_letter_queue_name)["QueueUrl"]
            return redrive_deliveries(self.sqs, dead_letters, self.deliveries.url, time_left, self.clock)
        dead_letter_url = self.sqs.get_queue_url(QueueName=self.settings.dead_letter_queue_name)["QueueUrl"]
        return upkeep.Redrive(self.sqs, dead_letter_url, self.queue.url, time_left)

    @cached_property
    def worker(self) -> Worker:
        from chalicelib import writes

        applier = writes.Applier(self.store, events=self.events)
        return writes.Worker(
            applier.apply, applier.record_delivery_failure, self.logger, self.settings.max_receive_count
        )


@lru_cache(maxsize=1)
def get_services() -> Services:
    """The functions' services: the stage's settings and a new boto3 session."""
    from chalicelib.core import get_settings  # validated with the first request

    return Services(get_settings())


def reset_services() -> None:
    """Forget built objects and settings (tests, and the local stack after set-up)."""
    from chalicelib.core import get_settings

    get_services.cache_clear()
    get_settings.cache_clear()
