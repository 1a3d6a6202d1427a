"""Provisioning for `chalice deploy` (`python -m infra provision`), against moto: the
stage's table, queues, log groups, alarms and dashboard as infra/ defines them,
idempotent; and what `make deploy` sets after `chalice deploy`: gateway responses, the
API's name, tracing and throttling, and the worker's cap."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import boto3
import pytest

from infra.__main__ import main
from infra.deploy import (
    NotDeployable,
    apply_api_settings,
    apply_gateway_responses,
    apply_worker_cap,
    deployable,
    deployed_rest_api,
    provision_stage,
)
from infra.functions import deployed_name, lambda_functions, load_app, log_group_name
from infra.gateway_responses import GATEWAY_ERRORS
from infra.monitoring import alarms
from infra.operations import PAGE_ROUTE, WRITE_METHODS, StageOperations, app_routes, method_settings
from infra.resources import LOG_RETENTION_DAYS, Provisioned, StageResources, dead_letter_queue_attributes, provision
from tests.conftest import REGION
from tests.helpers import Faults

APP_NAME = "metadata-manager"
FUNCTIONS = lambda_functions(load_app())
# Every AWS call that changes something starts with one of these.
MUTATING = ("Create", "Update", "Put", "Set", "Tag", "Untag", "Delete", "Enable", "Disable")
REST_API_RECORD = {
    "name": "rest_api",
    "resource_type": "rest_api",
    "rest_api_id": "abc123",
    "rest_api_url": "https://x",
}


def changes(calls: Faults) -> List[str]:
    return [name for name in calls.seen if name.startswith(MUTATING)]


@pytest.fixture
def session(aws: None) -> Any:
    return boto3.session.Session(region_name=REGION)


@pytest.fixture
def prod() -> StageResources:
    return StageResources.for_stage("prod")


@pytest.fixture
def provisioned(session: Any, prod: StageResources) -> Provisioned:
    return provision_stage(session, prod, APP_NAME, FUNCTIONS)


def test_provisioning_again_changes_nothing(session: Any, prod: StageResources, provisioned: Provisioned) -> None:
    calls = Faults(session)  # no rules: it only lists what the session's clients call
    again = provision_stage(session, prod, APP_NAME, FUNCTIONS)
    assert calls.seen, "the second run looked at what exists"
    assert changes(calls) == []
    assert again == provisioned


def test_the_table_is_the_defined_one(session: Any, prod: StageResources, provisioned: Provisioned) -> None:
    dynamodb = session.client("dynamodb")
    table = dynamodb.describe_table(TableName=prod.table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] is True
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["gsi1"]
    ttl = dynamodb.describe_time_to_live(TableName=prod.table_name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")
    backups = dynamodb.describe_continuous_backups(TableName=prod.table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_queue_outlasts_the_worker_and_dead_letters_after_the_receive_count(
    session: Any, prod: StageResources, provisioned: Provisioned
) -> None:
    attributes = session.client("sqs").get_queue_attributes(QueueUrl=provisioned.queue_url, AttributeNames=["All"])
    queue = attributes["Attributes"]
    assert int(queue["VisibilityTimeout"]) == 6 * prod.worker_timeout_seconds == 180
    assert queue["FifoQueue"] == "true"
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": provisioned.dead_letter_queue_arn,
        "maxReceiveCount": 5,
    }


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_the_write_queue_is_high_throughput_fifo_and_its_dead_letter_queue_is_not(aws: None, stage: str) -> None:
    """The local stack provisions with `provision` too (devstack.supervisor)."""
    session = boto3.session.Session(region_name=REGION)
    provisioned = provision(session, StageResources.for_stage(stage))
    sqs = session.client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=provisioned.queue_url, AttributeNames=["All"])["Attributes"]
    assert (queue["FifoQueue"], queue["DeduplicationScope"], queue["FifoThroughputLimit"]) == (
        "true",
        "messageGroup",
        "perMessageGroupId",
    )
    dlq = sqs.get_queue_attributes(QueueUrl=provisioned.dead_letter_queue_url, AttributeNames=["All"])["Attributes"]
    assert (dlq["FifoQueue"], dlq["DeduplicationScope"], dlq["FifoThroughputLimit"]) == ("true", "queue", "perQueue")


def test_a_write_queue_made_in_the_default_fifo_mode_is_switched_to_high_throughput(
    session: Any, prod: StageResources
) -> None:
    """A stage released before the change has its queue in SQS's default FIFO mode: the
    next provisioning switches it, with SetQueueAttributes, and keeps its messages."""
    sqs = session.client("sqs")
    dlq_url = sqs.create_queue(QueueName=prod.dead_letter_queue_name, Attributes=dead_letter_queue_attributes(prod))[
        "QueueUrl"
    ]
    url = sqs.create_queue(
        QueueName=prod.queue_name,
        Attributes={"FifoQueue": "true", "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="config:waiting", MessageDeduplicationId="op-1")
    calls = Faults(session)

    provisioned = provision_stage(session, prod, APP_NAME, FUNCTIONS)

    assert provisioned.queue_url == url
    assert provisioned.dead_letter_queue_url == dlq_url
    switched = [call for call in calls.seen if call == "SetQueueAttributes"]
    assert switched, "the existing queue was updated in place"
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (queue["DeduplicationScope"], queue["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")
    assert queue["ApproximateNumberOfMessages"] == "1"
    again = Faults(session)
    provision_stage(session, prod, APP_NAME, FUNCTIONS)
    assert changes(again) == [], "once switched, it stays as it is"


def test_every_function_gets_a_log_group_with_a_retention(session: Any, provisioned: Provisioned) -> None:
    groups: Dict[str, Any] = {
        group["logGroupName"]: group.get("retentionInDays")
        for group in session.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    }
    assert groups == {log_group_name(APP_NAME, "prod", function): LOG_RETENTION_DAYS for function in FUNCTIONS}
    assert "/aws/lambda/metadata-manager-prod" in groups  # the API handler's, as chalice deploy names it


def test_settings_changed_by_hand_are_brought_back(
    session: Any, prod: StageResources, provisioned: Provisioned
) -> None:
    dynamodb, sqs, logs = session.client("dynamodb"), session.client("sqs"), session.client("logs")
    dynamodb.update_table(TableName=prod.table_name, DeletionProtectionEnabled=False)
    dynamodb.update_continuous_backups(
        TableName=prod.table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    sqs.set_queue_attributes(QueueUrl=provisioned.queue_url, Attributes={"VisibilityTimeout": "30"})
    group = log_group_name(APP_NAME, "prod", "apply_writes")
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)

    provision_stage(session, prod, APP_NAME, FUNCTIONS)

    assert dynamodb.describe_table(TableName=prod.table_name)["Table"]["DeletionProtectionEnabled"] is True
    backups = dynamodb.describe_continuous_backups(TableName=prod.table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    queue = sqs.get_queue_attributes(QueueUrl=provisioned.queue_url, AttributeNames=["VisibilityTimeout"])
    assert queue["Attributes"]["VisibilityTimeout"] == "180"
    (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert found["retentionInDays"] == LOG_RETENTION_DAYS


def stage_alarms(session: Any, stage: str) -> Dict[str, Dict[str, Any]]:
    found = session.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{APP_NAME}-{stage}-")["MetricAlarms"]
    return {alarm["AlarmName"]: alarm for alarm in found}


def test_every_alarm_notifies_the_stages_topic(session: Any, prod: StageResources, provisioned: Provisioned) -> None:
    operations = StageOperations.for_stage(prod)
    topics = [t["TopicArn"] for t in session.client("sns").list_topics()["Topics"]]
    assert provisioned.alarm_topic_arn in topics
    assert provisioned.alarm_topic_arn.endswith(":metadata-manager-prod-alarms")
    found = stage_alarms(session, "prod")
    assert set(found) == {alarm.name(operations) for alarm in alarms(operations)}
    for alarm in found.values():
        assert alarm["AlarmActions"] == [provisioned.alarm_topic_arn], alarm["AlarmName"]
        assert alarm["OKActions"] == [provisioned.alarm_topic_arn], alarm["AlarmName"]
        assert "Runbook: README.md#" in alarm["AlarmDescription"]


def test_the_alarms_hold_the_stage_to_its_own_limits(
    session: Any, prod: StageResources, provisioned: Provisioned
) -> None:
    provision_stage(session, StageResources.for_stage("dev"), APP_NAME, FUNCTIONS)
    prod_alarms, dev_alarms = stage_alarms(session, "prod"), stage_alarms(session, "dev")
    age = prod_alarms["metadata-manager-prod-write-queue-age"]
    assert (age["Namespace"], age["MetricName"], age["Statistic"]) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
    )
    assert age["Dimensions"] == [{"Name": "QueueName", "Value": "metadata-manager-prod-writes.fifo"}]
    assert age["Threshold"] == 300
    assert dev_alarms["metadata-manager-dev-write-queue-age"]["Dimensions"] == [
        {"Name": "QueueName", "Value": "metadata-manager-dev-writes.fifo"}
    ]
    latency = prod_alarms["metadata-manager-prod-page-route-latency"]
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p99", 1500)
    assert {"Name": "ApiName", "Value": "metadata-manager-prod"} in latency["Dimensions"]
    assert dev_alarms["metadata-manager-dev-page-route-latency"]["Threshold"] == 3000
    throttles = prod_alarms["metadata-manager-prod-worker-throttles"]
    assert throttles["Dimensions"] == [{"Name": "FunctionName", "Value": "metadata-manager-prod-apply_writes"}]


def test_an_alarm_changed_by_hand_is_brought_back(session: Any, prod: StageResources, provisioned: Provisioned) -> None:
    cloudwatch = session.client("cloudwatch")
    changed = {**stage_alarms(session, "prod")["metadata-manager-prod-write-queue-age"], "Threshold": 3600.0}
    keys = ("AlarmName", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods")
    cloudwatch.put_metric_alarm(
        **{key: changed[key] for key in keys}, Threshold=3600, ComparisonOperator="LessThanThreshold"
    )
    provision_stage(session, prod, APP_NAME, FUNCTIONS)
    again = stage_alarms(session, "prod")["metadata-manager-prod-write-queue-age"]
    assert (again["Threshold"], again["ComparisonOperator"]) == (300, "GreaterThanThreshold")
    assert again["AlarmActions"] == [provisioned.alarm_topic_arn]


def test_the_dashboard_shows_the_alarms_routes_queues_and_worker(session: Any, provisioned: Provisioned) -> None:
    body = json.loads(
        session.client("cloudwatch").get_dashboard(DashboardName="metadata-manager-prod")["DashboardBody"]
    )
    widgets = body["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(
        alarm["AlarmArn"] for alarm in stage_alarms(session, "prod").values()
    )
    titles = [w["properties"]["title"] for w in widgets]
    for expected in (
        "Page route",
        "Write routes",
        "Queues",
        "Worker: duration",
        "Worker: errors",
        "Operations applied",
    ):
        assert any(title.startswith(expected) for title in titles), expected
    text = json.dumps(body)
    for name in ("metadata-manager-prod-writes.fifo", "metadata-manager-prod-apply_writes", PAGE_ROUTE):
        assert name in text
    assert all(w["properties"].get("region", REGION) == REGION for w in widgets)


def test_a_dev_table_can_be_deleted(session: Any) -> None:
    dev = StageResources.for_stage("dev")
    provision_stage(session, dev, APP_NAME, FUNCTIONS)
    assert (
        session.client("dynamodb").describe_table(TableName=dev.table_name)["Table"]["DeletionProtectionEnabled"]
        is False
    )


@pytest.fixture
def rest_api(session: Any) -> str:
    """A REST API with a deployed stage 'api', as chalice deploy leaves one."""
    apigateway = session.client("apigateway")
    api_id: str = apigateway.create_rest_api(name="metadata-manager")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="api")
    return api_id


def test_gateway_errors_of_a_chalice_deployed_api_get_the_contracts_shape(session: Any, rest_api: str) -> None:
    apigateway = session.client("apigateway")
    changed = apply_gateway_responses(apigateway, rest_api, "api")
    assert changed == [error.response_type for error in GATEWAY_ERRORS]
    missing_route = apigateway.get_gateway_response(restApiId=rest_api, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert missing_route["statusCode"] == "404"
    body = json.loads(missing_route["responseTemplates"]["application/json"].replace("$context.requestId", "r-1"))
    assert body == {"error": "NotFound", "message": "no such route", "requestId": "r-1"}
    assert len(apigateway.get_deployments(restApiId=rest_api)["items"]) == 2  # redeployed once


def test_the_deployed_api_is_named_for_its_stage_traced_and_throttled_lower_for_writes(
    session: Any, rest_api: str, prod: StageResources
) -> None:
    apigateway = session.client("apigateway")
    operations = StageOperations.for_stage(prod)
    routes = app_routes(load_app())

    changed = apply_api_settings(apigateway, rest_api, operations, method_settings(operations, routes))

    assert changed[:2] == ["name metadata-manager-prod", "tracing"]
    assert apigateway.get_rest_api(restApiId=rest_api)["name"] == "metadata-manager-prod"
    stage = apigateway.get_stage(restApiId=rest_api, stageName="api")
    assert stage["tracingEnabled"] is True
    settings = stage["methodSettings"]
    assert (settings["*/*"]["throttlingRateLimit"], settings["*/*"]["throttlingBurstLimit"]) == (500, 1000)
    writes = [(path, method) for path, methods in routes.items() for method in methods if method in WRITE_METHODS]
    assert len(writes) > 10
    for path, method in writes:
        setting = settings[f"{path.replace('/', '~1')}/{method}"]
        assert (setting["throttlingRateLimit"], setting["throttlingBurstLimit"]) == (25, 50), (method, path)
    page = settings["~1sites~1{site}~1pages~1{page}/GET"]
    assert (page["throttlingRateLimit"], page["throttlingBurstLimit"], page["metricsEnabled"]) == (500, 1000, True)
    assert settings["~1metadata/POST"]["metricsEnabled"] is True


def test_setting_the_api_again_changes_nothing(session: Any, rest_api: str, prod: StageResources) -> None:
    operations = StageOperations.for_stage(prod)
    settings = method_settings(operations, app_routes(load_app()))
    apply_api_settings(session.client("apigateway"), rest_api, operations, settings)
    calls = Faults(session)  # no rules: it only lists what the session's clients call
    assert apply_api_settings(session.client("apigateway"), rest_api, operations, settings) == []
    assert changes(calls) == []


@pytest.fixture
def worker_source(session: Any, provisioned: Provisioned) -> str:
    """The worker and its event source on the write queue, as chalice deploy leaves them."""
    role = session.client("iam").create_role(RoleName="apply_writes", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "")
    name = deployed_name(APP_NAME, "prod", "apply_writes")
    lambda_client = session.client("lambda")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.apply_writes",
        Code={"ZipFile": code.getvalue()},
    )
    lambda_client.create_event_source_mapping(EventSourceArn=provisioned.queue_arn, FunctionName=name, BatchSize=10)
    return name


def test_the_worker_is_started_no_more_than_the_stages_cap_at_once(
    session: Any, prod: StageResources, provisioned: Provisioned, worker_source: str
) -> None:
    lambda_client = session.client("lambda")
    cap = StageOperations.for_stage(prod).worker_concurrency
    assert cap == 5
    assert apply_worker_cap(lambda_client, worker_source, provisioned.queue_arn, cap) is True
    (mapping,) = lambda_client.list_event_source_mappings(FunctionName=worker_source)["EventSourceMappings"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}
    calls = Faults(session)
    assert apply_worker_cap(session.client("lambda"), worker_source, provisioned.queue_arn, cap) is False
    assert changes(calls) == []


def test_setting_gateway_responses_again_changes_nothing(session: Any, rest_api: str) -> None:
    apply_gateway_responses(session.client("apigateway"), rest_api, "api")
    calls = Faults(session)  # no rules: it only lists what the session's clients call
    assert apply_gateway_responses(session.client("apigateway"), rest_api, "api") == []
    assert changes(calls) == []


def test_the_deployed_api_is_found_in_chalices_record(tmp_path: Path) -> None:
    assert deployed_rest_api("prod", tmp_path) is None
    (tmp_path / ".chalice" / "deployed").mkdir(parents=True)
    record = {"resources": [{"name": "api_handler", "resource_type": "lambda_function"}, REST_API_RECORD]}
    (tmp_path / ".chalice" / "deployed" / "prod.json").write_text(json.dumps(record))
    assert deployed_rest_api("prod", tmp_path) == "abc123"


def test_the_local_stage_is_never_deployed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(NotDeployable):
        deployable(StageResources.for_stage("local"))
    assert main(["provision", "--stage", "local"]) == 2
    assert "runs only on this machine" in capsys.readouterr().err


def test_an_unknown_stage_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "--stage", "staging"]) == 2
    assert "no stage 'staging'" in capsys.readouterr().err


def test_the_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for command in ("policy", "package", "lint-templates", "provision", "deploy"):
        assert command in text
