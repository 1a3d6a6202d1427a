"""Provisioning for `chalice deploy` (`python -m infra provision`), against moto: the
stage's table, queues and log groups as infra/resources.py defines them, idempotent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import boto3
import pytest

from infra.__main__ import main
from infra.deploy import NotDeployable, apply_gateway_responses, deployable, deployed_rest_api, provision_stage
from infra.functions import lambda_functions, load_app, log_group_name
from infra.gateway_responses import GATEWAY_ERRORS
from infra.resources import LOG_RETENTION_DAYS, Provisioned, StageResources
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
