"""The one definition of the service's AWS resources: the table, the write queue and its
dead-letter queue, the webhook delivery queue and its dead-letter queue, and the KMS key
that seals webhook secrets. Tests, the local stack and the deploy path all build from here, with
names and limits taken from the stage in `.chalice/config.json`.

Not packaged into the Lambda: functions only read names from their environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from botocore.exceptions import ClientError

from chalicelib.store import keys

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKER_FUNCTION = "apply_writes"
DELIVERY_FUNCTION = "deliver_webhooks"
# A delivery message is re-sent for each retry, so it never waits long in the queue.
WEBHOOK_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
# AWS asks for a visibility timeout of at least six times the function's timeout, so a
# batch still running is never handed to a second worker.
VISIBILITY_TIMEOUT_FACTOR = 6
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# Operation records and idempotency keys expire through DynamoDB's TTL on this attribute.
TIME_TO_LIVE = {"AttributeName": keys.TTL_ATTRIBUTE, "Enabled": True}
# Deployed functions' log groups (the deploy path creates them; functions may not).
LOG_RETENTION_DAYS = 30
# The write queue in SQS's high-throughput FIFO mode: its throughput limit counts per
# message group (a resource: `OperationKind.group`) instead of per queue, and a
# deduplication id is remembered within its group. Every operation keeps one group for
# good (the group is a function of its envelope, and a repeat of an operation sends the
# same envelope), so deduplicating within the group drops every repeat it dropped before.
# docs/capacity.md says what it changes.
HIGH_THROUGHPUT_FIFO = {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
# SQS's default for a FIFO queue: one throughput limit and one deduplication scope for the
# whole queue. The write queue's dead-letter queue keeps it (only SQS's own moves and the
# redrive's batches of 10 reach it); `make bench-burst` compares the write queue in both.
DEFAULT_FIFO = {"DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"}


@dataclass(frozen=True)
class StageResources:
    stage: str
    table_name: str
    queue_name: str
    dead_letter_queue_name: str
    max_receive_count: int
    queue_retention_seconds: int
    worker_timeout_seconds: int
    event_bus_name: str = "default"
    webhook_queue_name: str = ""
    webhook_dead_letter_queue_name: str = ""
    # The alias of the KMS key that seals webhook signing secrets (`alias/...`).
    webhook_key_alias: str = ""
    delivery_timeout_seconds: int = 30

    def event_bus_arn(self, prefix: str) -> str:
        """The bus's ARN: EVENT_BUS_NAME as given when it is an ARN (a bus of another
        account or region), else the named bus under `prefix` (`arn:...:event-bus`)."""
        name = self.event_bus_name
        return name if name.startswith("arn:") else f"{prefix}/{name}"

    @property
    def visibility_timeout_seconds(self) -> int:
        return VISIBILITY_TIMEOUT_FACTOR * self.worker_timeout_seconds

    @property
    def delivery_visibility_timeout_seconds(self) -> int:
        return VISIBILITY_TIMEOUT_FACTOR * self.delivery_timeout_seconds

    @classmethod
    def for_stage(cls, stage: str, project_dir: Path = PROJECT_DIR) -> StageResources:
        config = json.loads((project_dir / ".chalice" / "config.json").read_text())
        if stage not in config["stages"]:
            raise ValueError(f"no stage '{stage}' in .chalice/config.json (stages: {', '.join(config['stages'])})")
        stage_config = config["stages"][stage]
        env = {**config.get("environment_variables", {}), **stage_config.get("environment_variables", {})}
        functions = stage_config.get("lambda_functions", {})
        default_timeout = stage_config.get("lambda_timeout", config.get("lambda_timeout", 60))
        timeout = functions.get(WORKER_FUNCTION, {}).get("lambda_timeout", default_timeout)
        delivery_timeout = functions.get(DELIVERY_FUNCTION, {}).get("lambda_timeout", default_timeout)
        return cls(
            stage=stage,
            table_name=env["TABLE_NAME"],
            queue_name=env["WRITE_QUEUE_NAME"],
            dead_letter_queue_name=env["DEAD_LETTER_QUEUE_NAME"],
            max_receive_count=int(env.get("MAX_RECEIVE_COUNT", 5)),
            queue_retention_seconds=int(env.get("QUEUE_RETENTION_SECONDS", 345600)),
            worker_timeout_seconds=int(timeout),
            event_bus_name=env.get("EVENT_BUS_NAME", "default"),
            webhook_queue_name=env["WEBHOOK_QUEUE_NAME"],
            webhook_dead_letter_queue_name=env["WEBHOOK_DEAD_LETTER_QUEUE_NAME"],
            webhook_key_alias=env["WEBHOOK_KEY_ID"],
            delivery_timeout_seconds=int(delivery_timeout),
        )

    def environment(self) -> Dict[str, str]:
        """The environment a function of this stage runs with (as in config.json)."""
        config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
        return {
            **config.get("environment_variables", {}),
            **config["stages"][self.stage].get("environment_variables", {}),
        }


def table_definition(resources: StageResources) -> Dict[str, Any]:
    """CreateTable arguments: one table, one index, on-demand billing."""
    string = "S"
    return {
        "TableName": resources.table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": keys.PK, "KeyType": "HASH"},
            {"AttributeName": keys.SK, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": string} for name in (keys.PK, keys.SK, keys.GSI1_PK, keys.GSI1_SK)
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": keys.GSI1,
                "KeySchema": [
                    {"AttributeName": keys.GSI1_PK, "KeyType": "HASH"},
                    {"AttributeName": keys.GSI1_SK, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "SSESpecification": {"Enabled": True},
        "DeletionProtectionEnabled": resources.stage == "prod",
    }


def table_properties(resources: StageResources) -> Dict[str, Any]:
    """The same table as `table_definition`, with TTL and PITR, as CloudFormation
    `AWS::DynamoDB::Table` properties."""
    definition = table_definition(resources)
    properties = {name: value for name, value in definition.items() if name != "SSESpecification"}
    return {
        **properties,
        "SSESpecification": {"SSEEnabled": definition["SSESpecification"]["Enabled"]},
        "TimeToLiveSpecification": dict(TIME_TO_LIVE),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }


def queue_properties(name: str, attributes: Dict[str, str], dead_letter_queue_arn: Any = None) -> Dict[str, Any]:
    """SQS queue attributes (as `create_queue` takes them) as CloudFormation
    `AWS::SQS::Queue` properties; `dead_letter_queue_arn` may be an intrinsic function."""
    properties: Dict[str, Any] = {"QueueName": name}
    for attribute, value in attributes.items():
        if attribute == "RedrivePolicy":
            policy = json.loads(value)
            properties[attribute] = {**policy, "deadLetterTargetArn": dead_letter_queue_arn}
        elif value in ("true", "false"):
            properties[attribute] = value == "true"
        elif value.isdigit():
            properties[attribute] = int(value)
        else:
            properties[attribute] = value
    return properties


def dead_letter_queue_attributes(resources: StageResources) -> Dict[str, str]:
    return {
        "FifoQueue": "true",
        "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
    }


def queue_attributes(resources: StageResources, dead_letter_queue_arn: str) -> Dict[str, str]:
    """The write queue: FIFO, grouped by resource, in high-throughput mode."""
    return {
        "FifoQueue": "true",
        **HIGH_THROUGHPUT_FIFO,
        "VisibilityTimeout": str(resources.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(resources.queue_retention_seconds),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dead_letter_queue_arn, "maxReceiveCount": resources.max_receive_count}
        ),
    }


def webhook_dead_letter_queue_attributes(resources: StageResources) -> Dict[str, str]:
    return {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS), "SqsManagedSseEnabled": "true"}


def webhook_queue_attributes(resources: StageResources, dead_letter_queue_arn: str) -> Dict[str, str]:
    """A standard queue: deliveries to one receiver wait behind no other's. A message comes
    back after the visibility timeout only when the delivery function failed as a whole;
    after a few such returns it is dead-lettered (a failed attempt is re-sent instead)."""
    return {
        "VisibilityTimeout": str(resources.delivery_visibility_timeout_seconds),
        "MessageRetentionPeriod": str(WEBHOOK_QUEUE_RETENTION_SECONDS),
        "SqsManagedSseEnabled": "true",
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dead_letter_queue_arn, "maxReceiveCount": resources.max_receive_count}
        ),
    }


def webhook_key_description(resources: StageResources) -> str:
    return f"Seals the webhook signing secrets of metadata-manager ({resources.stage})"


@dataclass(frozen=True)
class Provisioned:
    table_name: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    webhook_queue_url: str = ""
    webhook_dead_letter_queue_url: str = ""
    webhook_key_arn: str = ""
    # Deployed stages only (infra.deploy.provision_stage).
    alarm_topic_arn: str = ""
    dashboard_name: str = ""


def provision(session: Any, resources: StageResources) -> Provisioned:
    """Creates what is missing and updates what differs; running it twice changes nothing."""
    dynamodb = session.client("dynamodb")
    sqs = session.client("sqs")
    _ensure_table(dynamodb, resources)
    dlq_url = _ensure_queue(sqs, resources.dead_letter_queue_name, dead_letter_queue_attributes(resources))
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = _ensure_queue(sqs, resources.queue_name, queue_attributes(resources, dlq_arn))
    webhook_dlq_url = _ensure_queue(
        sqs, resources.webhook_dead_letter_queue_name, webhook_dead_letter_queue_attributes(resources)
    )
    webhook_queue_url = _ensure_queue(
        sqs, resources.webhook_queue_name, webhook_queue_attributes(resources, _queue_arn(sqs, webhook_dlq_url))
    )
    key_arn = _ensure_key(session.client("kms"), resources)
    return Provisioned(
        resources.table_name,
        queue_url,
        _queue_arn(sqs, queue_url),
        dlq_url,
        dlq_arn,
        webhook_queue_url,
        webhook_dlq_url,
        key_arn,
    )


def _ensure_key(kms: Any, resources: StageResources) -> str:
    """The stage's key for webhook secrets, found by its alias, or made (with yearly rotation)."""
    try:
        key = kms.describe_key(KeyId=resources.webhook_key_alias)["KeyMetadata"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NotFoundException":
            raise
        key = kms.create_key(Description=webhook_key_description(resources), KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
        kms.create_alias(AliasName=resources.webhook_key_alias, TargetKeyId=key["KeyId"])
    if not kms.get_key_rotation_status(KeyId=key["KeyId"]).get("KeyRotationEnabled"):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    return str(key["Arn"])


def _ensure_table(dynamodb: Any, resources: StageResources) -> None:
    definition = table_definition(resources)
    try:
        table = dynamodb.describe_table(TableName=resources.table_name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        dynamodb.create_table(**definition)
        dynamodb.get_waiter("table_exists").wait(TableName=resources.table_name)
    else:
        _update_table_settings(dynamodb, table, definition)
    ttl = dynamodb.describe_time_to_live(TableName=resources.table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        dynamodb.update_time_to_live(TableName=resources.table_name, TimeToLiveSpecification=dict(TIME_TO_LIVE))
    backups = dynamodb.describe_continuous_backups(TableName=resources.table_name)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    if pitr != "ENABLED":
        dynamodb.update_continuous_backups(
            TableName=resources.table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )


def _update_table_settings(dynamodb: Any, table: Dict[str, Any], definition: Dict[str, Any]) -> None:
    """Brings an existing table's billing, encryption and deletion protection in line
    with the definition. Keys and indexes are not changed here: that needs a migration."""
    changes: Dict[str, Any] = {}
    if table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") != definition["BillingMode"]:
        changes["BillingMode"] = definition["BillingMode"]
    if bool(table.get("DeletionProtectionEnabled", False)) != definition["DeletionProtectionEnabled"]:
        changes["DeletionProtectionEnabled"] = definition["DeletionProtectionEnabled"]
    if table.get("SSEDescription", {}).get("Status") not in ("ENABLED", "ENABLING"):
        changes["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
    if changes:
        dynamodb.update_table(TableName=definition["TableName"], **changes)
        dynamodb.get_waiter("table_exists").wait(TableName=definition["TableName"])


def _ensure_queue(sqs: Any, name: str, attributes: Dict[str, str]) -> str:
    url: Optional[str]
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        url = None
    if url is None:
        return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    # FifoQueue cannot change after creation; everything else is brought in line (a FIFO
    # queue made in SQS's default mode is switched to high throughput here).
    changed = {key: value for key, value in attributes.items() if key != "FifoQueue" and current.get(key) != value}
    if changed:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
    return str(url)


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
