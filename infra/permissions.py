"""Which AWS actions each Lambda function may use, on which of its stage's resources.

This is the one declaration the IAM policies are generated from (`python -m infra
policy`, into `.chalice/policy-<stage>-<function>.json` and the packaged template), and
the test suite holds the code to it: every AWS call a function makes in a test must be
allowed here, and every action declared as the function's own call must be seen in a
test (`tests/aws_calls.py`). Adding or narrowing a permission is one line below.

Each function also gets, without a line here, what every Lambda function needs: to write
its own log group (created by the deploy path, with a retention, so no function may
create log groups).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Dict, Tuple, Union

from chalicelib.store import keys


class Target(Enum):
    """A resource of the stage, named in a policy by its ARN."""

    TABLE = "the table"
    INDEXES = "the table's global secondary indexes"
    BACKUPS = "the table's on-demand backups"
    QUEUE = "the write queue"
    DEAD_LETTER_QUEUE = "the write queue's dead-letter queue"
    LOG_GROUP = "the function's own log group"
    EVENT_BUS = "the EventBridge bus change events go to"
    WEBHOOK_QUEUE = "the webhook delivery queue"
    WEBHOOK_DEAD_LETTER_QUEUE = "the webhook delivery queue's dead-letter queue"
    WEBHOOK_KEY = "the KMS key that seals webhook secrets"
    # Only for actions IAM cannot limit to a resource (checked against IAM's own list).
    ANY = "any resource ('*')"


TABLE = Target.TABLE
INDEXES = Target.INDEXES
BACKUPS = Target.BACKUPS
QUEUE = Target.QUEUE
DEAD_LETTER_QUEUE = Target.DEAD_LETTER_QUEUE
EVENT_BUS = Target.EVENT_BUS
WEBHOOK_QUEUE = Target.WEBHOOK_QUEUE
WEBHOOK_DEAD_LETTER_QUEUE = Target.WEBHOOK_DEAD_LETTER_QUEUE
WEBHOOK_KEY = Target.WEBHOOK_KEY
ANY = Target.ANY


@dataclass(frozen=True)
class Grant:
    """Actions allowed on targets: one statement of the function's policy."""

    targets: Tuple[Target, ...]
    actions: Tuple[str, ...]
    # Items the actions may touch, by partition key (the `dynamodb:LeadingKeys` condition).
    leading_keys: Tuple[str, ...] = ()
    # False for what AWS does with the function's role on its behalf (Lambda polling an
    # event source, writing logs): no test sees those calls, so none is expected.
    by_code: bool = True


def calls(targets: Union[Target, Tuple[Target, ...]], *actions: str, leading_keys: Tuple[str, ...] = ()) -> Grant:
    """Actions the function's code calls on the targets."""
    return Grant(targets if isinstance(targets, tuple) else (targets,), tuple(actions), leading_keys)


def polls(queue: Target) -> Grant:
    """What Lambda's poller needs to feed the function from an SQS event source."""
    return Grant((queue,), ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"), by_code=False)


# What every function needs to write its logs (the log group itself is infrastructure).
LOGS = Grant((Target.LOG_GROUP,), ("logs:CreateLogStream", "logs:PutLogEvents"), by_code=False)

PERMISSIONS: Dict[str, Tuple[Grant, ...]] = {
    # Reads for every route; writes as messages on the queue, and to the table only the
    # claim of an Idempotency-Key (one conditional PutItem on a key's own item).
    "api_handler": (
        calls(TABLE, "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"),
        calls(TABLE, "dynamodb:PutItem", leading_keys=(f"{keys.IDEMPOTENCY_PREFIX}*",)),
        calls(INDEXES, "dynamodb:Query"),
        calls(QUEUE, "sqs:GetQueueUrl", "sqs:SendMessage"),
        # POST /admin/redrive: from the dead-letter queue back to the write queue.
        calls(DEAD_LETTER_QUEUE, "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"),
        calls(DEAD_LETTER_QUEUE, "sqs:GetQueueAttributes"),
        # A new webhook secret is sealed here (and shown once); the test route queues a
        # delivery; redrive moves dead-lettered deliveries back.
        calls(WEBHOOK_KEY, "kms:Encrypt"),
        calls(WEBHOOK_QUEUE, "sqs:GetQueueUrl", "sqs:SendMessage"),
        calls(WEBHOOK_DEAD_LETTER_QUEUE, "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"),
        calls(WEBHOOK_DEAD_LETTER_QUEUE, "sqs:GetQueueAttributes"),
    ),
    # Resolves a bearer token: one GetItem.
    "token_authorizer": (calls(TABLE, "dynamodb:GetItem"),),
    # Applies operations: reads, then one transaction of puts, deletes and condition checks.
    "apply_writes": (
        polls(QUEUE),
        # Every read of an operation is one BatchGetItem (the operation's record and more).
        calls(TABLE, "dynamodb:BatchGetItem"),
        calls(TABLE, "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"),
        # Deletes the messages of a batch it finished when the rest must come back (and,
        # without QUEUE_URL, looks the queue up by name first).
        calls(QUEUE, "sqs:GetQueueUrl", "sqs:DeleteMessage"),
        # Sends an applied change's events once committed, then deletes them from the
        # outbox (an operation delivered again reads what a crash left there).
        calls(EVENT_BUS, "events:PutEvents"),
        calls(TABLE, "dynamodb:GetItem", "dynamodb:BatchWriteItem", leading_keys=(f"{keys.OUTBOX_PREFIX}*",)),
        # ... and queues one delivery per webhook of the site (a Query of its webhooks).
        calls(TABLE, "dynamodb:Query", leading_keys=("SITE#*",)),
        calls(WEBHOOK_QUEUE, "sqs:GetQueueUrl", "sqs:SendMessage"),
    ),
    # Every minute: sends the change events left unsent for a while (a Query of GSI1 per
    # shard), then deletes them from the outbox.
    "send_unsent_events": (
        calls(INDEXES, "dynamodb:Query"),
        calls(EVENT_BUS, "events:PutEvents"),
        calls(TABLE, "dynamodb:BatchWriteItem", leading_keys=(f"{keys.OUTBOX_PREFIX}*",)),
        calls(TABLE, "dynamodb:Query", leading_keys=("SITE#*",)),
        calls(WEBHOOK_QUEUE, "sqs:GetQueueUrl", "sqs:SendMessage"),
    ),
    # Posts each queued delivery: reads the webhook, opens its secrets, logs the attempt,
    # queues the next attempt or dead-letters it, and queues `webhook.disable` on a 410.
    "deliver_webhooks": (
        polls(WEBHOOK_QUEUE),
        calls(TABLE, "dynamodb:GetItem", leading_keys=("SITE#*",)),
        calls(TABLE, "dynamodb:PutItem", leading_keys=(f"{keys.DELIVERIES_PREFIX}*",)),
        calls(WEBHOOK_KEY, "kms:Decrypt"),
        calls(WEBHOOK_QUEUE, "sqs:GetQueueUrl", "sqs:SendMessage"),
        calls(WEBHOOK_DEAD_LETTER_QUEUE, "sqs:GetQueueUrl", "sqs:SendMessage"),
        calls(QUEUE, "sqs:GetQueueUrl", "sqs:SendMessage"),
    ),
    # Every minute: finds the scheduled releases that are due (a Query of GSI1) and queues
    # their publication; the worker applies it.
    "publish_due_releases": (
        calls(INDEXES, "dynamodb:Query"),
        calls(QUEUE, "sqs:GetQueueUrl", "sqs:SendMessage"),
    ),
    # The scheduled backup check: backs the table up, never writes its items but its own.
    "check_backups": (
        calls(TABLE, "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups"),
        calls(TABLE, "dynamodb:CreateBackup"),
        calls(ANY, "dynamodb:ListBackups"),  # IAM cannot limit ListBackups to a table
        calls(BACKUPS, "dynamodb:DeleteBackup"),
        calls(TABLE, "dynamodb:PutItem", leading_keys=(keys.backup_checks_pk(),)),
        calls(
            (QUEUE, DEAD_LETTER_QUEUE, WEBHOOK_QUEUE, WEBHOOK_DEAD_LETTER_QUEUE),
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes",
        ),
    ),
}
