"""The template merged into `chalice package` output (`--merge-template`), per stage.

Chalice makes the functions, their roles, the API and the event sources. This adds what
it cannot: the table, the write queue and its dead-letter queue (from the same
definitions the tests and `python -m infra provision` use), a log group per function
with a retention, each role's policy from `infra.permissions` with references to these
resources, the worker's event source pointed at the queue resource with
`ReportBatchItemFailures`, the resources' names and the queue's URL in every function's
environment, and API Gateway's own error answers in the contract's error shape.

The names of Chalice's resources (`APIHandler`, `ApplyWritesRole`, ...) follow Chalice's
own rules; `tests/test_release_template.py` checks that each merged key lands on one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from chalice.app import SQSEventConfig
from chalice.utils import to_cfn_resource_name

from infra.functions import API_HANDLER, deployed_name
from infra.gateway_responses import sam_gateway_responses
from infra.permissions import Target
from infra.policies import event_source_condition, index_names, policy_document
from infra.resources import (
    DELIVERY_FUNCTION,
    LOG_RETENTION_DAYS,
    StageResources,
    dead_letter_queue_attributes,
    queue_attributes,
    queue_properties,
    table_properties,
    webhook_dead_letter_queue_attributes,
    webhook_key_description,
    webhook_queue_attributes,
)

TABLE = "MetadataTable"
QUEUE = "WriteQueue"
DEAD_LETTER_QUEUE = "WriteDeadLetterQueue"
WEBHOOK_QUEUE = "WebhookQueue"
WEBHOOK_DEAD_LETTER_QUEUE = "WebhookDeadLetterQueue"
WEBHOOK_KEY = "WebhookKey"
WEBHOOK_KEY_ALIAS = "WebhookKeyAlias"
REST_API = "RestAPI"
# The only stage whose table outlives its stack and refuses to be deleted.
PROTECTED_STAGE = "prod"
WORKER_ENVIRONMENT = {"WORKER_REPORTS_BATCH_FAILURES": "true"}


def function_id(function: str) -> str:
    """Chalice's logical id of a function's `AWS::Serverless::Function`."""
    return "APIHandler" if function == API_HANDLER else to_cfn_resource_name(function)


def role_id(function: str) -> str:
    """Chalice's logical id of a function's role (one per function without autogen_policy)."""
    return to_cfn_resource_name(f"{function}_role")


def sqs_event_id(function: str) -> str:
    """Chalice's name of an `@app.on_sqs_message` function's event in its `Events`."""
    return to_cfn_resource_name(f"{function}-sqs-event-source")


EVENT_BUS_ARN_PREFIX = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus"


def log_group_id(function: str) -> str:
    return f"{function_id(function)}LogGroup"


@dataclass(frozen=True)
class TemplateArns:
    """The stage's resources as references to this stack's own resources."""

    resources: StageResources

    def arns(self, target: Target, function: str) -> List[Any]:
        table_arn = f"${{{TABLE}.Arn}}"
        by_target: Dict[Target, List[Any]] = {
            Target.TABLE: [{"Fn::GetAtt": [TABLE, "Arn"]}],
            Target.INDEXES: [{"Fn::Sub": f"{table_arn}/index/{name}"} for name in index_names(self.resources)],
            Target.BACKUPS: [{"Fn::Sub": f"{table_arn}/backup/*"}],
            Target.QUEUE: [{"Fn::GetAtt": [QUEUE, "Arn"]}],
            Target.DEAD_LETTER_QUEUE: [{"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]}],
            # A log group's Arn attribute ends in ":*", so it covers the group's streams.
            Target.LOG_GROUP: [{"Fn::GetAtt": [log_group_id(function), "Arn"]}],
            Target.EVENT_BUS: [{"Fn::Sub": self.resources.event_bus_arn(EVENT_BUS_ARN_PREFIX)}],
            Target.WEBHOOK_QUEUE: [{"Fn::GetAtt": [WEBHOOK_QUEUE, "Arn"]}],
            Target.WEBHOOK_DEAD_LETTER_QUEUE: [{"Fn::GetAtt": [WEBHOOK_DEAD_LETTER_QUEUE, "Arn"]}],
            Target.WEBHOOK_KEY: [{"Fn::GetAtt": [WEBHOOK_KEY, "Arn"]}],
            Target.ANY: ["*"],
        }
        return by_target[target]

    def condition(self, target: Target) -> Dict[str, Any]:
        return event_source_condition(self.resources, target)


def merge_template(
    resources: StageResources, app_name: str, functions: Sequence[str], sqs_functions: Sequence[str]
) -> Dict[str, Any]:
    """What `chalice package --merge-template` adds to and changes in Chalice's template."""
    retention = "Retain" if resources.stage == PROTECTED_STAGE else "Delete"
    template: Dict[str, Any] = {
        "Resources": {
            TABLE: {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": retention,
                "UpdateReplacePolicy": retention,
                "Properties": table_properties(resources),
            },
            DEAD_LETTER_QUEUE: {
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": queue_properties(
                    resources.dead_letter_queue_name, dead_letter_queue_attributes(resources)
                ),
            },
            QUEUE: {
                "Type": "AWS::SQS::Queue",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": queue_properties(
                    resources.queue_name,
                    queue_attributes(resources, dead_letter_queue_arn=""),
                    {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]},
                ),
            },
            **_webhook_resources(resources),
            REST_API: {"Properties": {"GatewayResponses": sam_gateway_responses()}},
        },
        "Outputs": {
            "TableName": {"Value": {"Ref": TABLE}},
            "WriteQueueUrl": {"Value": {"Ref": QUEUE}},
            "DeadLetterQueueUrl": {"Value": {"Ref": DEAD_LETTER_QUEUE}},
            "WebhookQueueUrl": {"Value": {"Ref": WEBHOOK_QUEUE}},
            "WebhookDeadLetterQueueUrl": {"Value": {"Ref": WEBHOOK_DEAD_LETTER_QUEUE}},
        },
    }
    names = TemplateArns(resources)
    for function in functions:
        queue = (WEBHOOK_QUEUE if function == DELIVERY_FUNCTION else QUEUE) if function in sqs_functions else None
        template["Resources"].update(_function_resources(resources, app_name, function, names, queue))
    return template


def _webhook_resources(resources: StageResources) -> Dict[str, Any]:
    """The delivery queue, its dead-letter queue, and the key that seals webhook secrets."""
    return {
        WEBHOOK_DEAD_LETTER_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": queue_properties(
                resources.webhook_dead_letter_queue_name, webhook_dead_letter_queue_attributes(resources)
            ),
        },
        WEBHOOK_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": queue_properties(
                resources.webhook_queue_name,
                webhook_queue_attributes(resources, dead_letter_queue_arn=""),
                {"Fn::GetAtt": [WEBHOOK_DEAD_LETTER_QUEUE, "Arn"]},
            ),
        },
        WEBHOOK_KEY: {
            "Type": "AWS::KMS::Key",
            # Without the key, the stored secrets open no more: it outlives the stack.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": webhook_key_description(resources),
                "EnableKeyRotation": True,
                # The account administers the key; the functions' roles use it as their
                # policies allow (kms:Encrypt for the API, kms:Decrypt for the delivery).
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
            },
        },
        WEBHOOK_KEY_ALIAS: {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": resources.webhook_key_alias, "TargetKeyId": {"Ref": WEBHOOK_KEY}},
        },
    }


def _function_resources(
    resources: StageResources, app_name: str, function: str, names: TemplateArns, queue: Optional[str]
) -> Dict[str, Any]:
    name = deployed_name(app_name, resources.stage, function)
    environment: Dict[str, Any] = {
        "TABLE_NAME": {"Ref": TABLE},
        "WRITE_QUEUE_NAME": {"Fn::GetAtt": [QUEUE, "QueueName"]},
        "DEAD_LETTER_QUEUE_NAME": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "QueueName"]},
        # `Ref` of a queue is its URL: no lookup by name at run time.
        "QUEUE_URL": {"Ref": QUEUE},
        "WEBHOOK_QUEUE_NAME": {"Fn::GetAtt": [WEBHOOK_QUEUE, "QueueName"]},
        "WEBHOOK_DEAD_LETTER_QUEUE_NAME": {"Fn::GetAtt": [WEBHOOK_DEAD_LETTER_QUEUE, "QueueName"]},
        "WEBHOOK_QUEUE_URL": {"Ref": WEBHOOK_QUEUE},
        "WEBHOOK_KEY_ID": {"Fn::GetAtt": [WEBHOOK_KEY, "Arn"]},
    }
    properties: Dict[str, Any] = {
        # The names `chalice deploy` gives, so the log group is known before the function.
        "FunctionName": name,
        "Environment": {"Variables": environment},
    }
    if queue == QUEUE:
        environment.update(WORKER_ENVIRONMENT)
        properties["Events"] = {
            sqs_event_id(function): {
                "Properties": {
                    # Chalice names the queue in an Fn::Sub; the merge keeps that key, so
                    # this one must be an Fn::Sub too to replace it.
                    "Queue": {"Fn::Sub": f"${{{QUEUE}.Arn}}"},
                    # Lambda retries only the messages the worker names, not the whole batch.
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                }
            }
        }
    elif queue is not None:
        # The delivery function re-sends what failed itself; a batch comes back whole only
        # when the function failed as a whole.
        properties["Events"] = {sqs_event_id(function): {"Properties": {"Queue": {"Fn::Sub": f"${{{queue}.Arn}}"}}}}
    return {
        function_id(function): {
            # Logs from the first invocation on go to a group with a retention.
            "DependsOn": [log_group_id(function)],
            "Properties": properties,
        },
        log_group_id(function): {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": LOG_RETENTION_DAYS},
        },
        role_id(function): {
            "Properties": {
                "Policies": [
                    {"PolicyName": f"{role_id(function)}Policy", "PolicyDocument": policy_document(function, names)}
                ]
            }
        },
    }


def sqs_functions(app: Any) -> List[str]:
    """The app's functions fed by an SQS queue (`@app.on_sqs_message`)."""
    return [source.name for source in app.event_sources if isinstance(source, SQSEventConfig)]
