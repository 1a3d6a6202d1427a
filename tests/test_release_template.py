"""`chalice package` of stage prod with the merge template (as `make package STAGE=prod`
runs it): the stage's resources, wired by reference, and nothing of another stage."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from infra.functions import deployed_name, lambda_functions, load_app
from infra.gateway_responses import GATEWAY_ERRORS, REQUEST_ID_VARIABLE
from infra.package import package, transform_sam
from infra.policies import policy_document
from infra.resources import StageResources
from infra.template import (
    DEAD_LETTER_QUEUE,
    QUEUE,
    TABLE,
    TemplateArns,
    function_id,
    log_group_id,
    merge_template,
    role_id,
    sqs_functions,
)

STAGE = "prod"
FUNCTIONS = lambda_functions(load_app())
QUEUE_BY_REFERENCE = {"Fn::Sub": f"${{{QUEUE}.Arn}}"}


def packaging_environment() -> Dict[str, str]:
    """No real account can be reached: fake credentials, no config files, and an endpoint
    nothing listens on, so a call made by mistake fails instead of reaching AWS."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {
        **kept,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out: Path = tmp_path_factory.mktemp("package-prod")
    package(StageResources.for_stage(STAGE), out, packaging_environment())
    return out


@pytest.fixture(scope="module")
def packaged(package_dir: Path) -> Dict[str, Any]:
    template: Dict[str, Any] = json.loads((package_dir / "sam.json").read_text())
    return template


@pytest.fixture(scope="module")
def resources(packaged: Dict[str, Any]) -> Dict[str, Any]:
    found: Dict[str, Any] = packaged["Resources"]
    return found


@pytest.fixture(scope="module")
def transformed(packaged: Dict[str, Any]) -> Dict[str, Any]:
    return transform_sam(packaged)


def properties(resources: Dict[str, Any], logical_id: str) -> Dict[str, Any]:
    found: Dict[str, Any] = resources[logical_id]["Properties"]
    return found


def test_every_merged_key_lands_on_a_resource_chalice_made(resources: Dict[str, Any]) -> None:
    merge = merge_template(StageResources.for_stage(STAGE), "metadata-manager", FUNCTIONS, sqs_functions(load_app()))
    for logical_id, merged in merge["Resources"].items():
        if "Type" not in merged:
            assert "Type" in resources[logical_id], f"{logical_id}: no such resource in Chalice's template"
    for function in FUNCTIONS:
        assert properties(resources, function_id(function))["Handler"].startswith("app.")


def test_the_worker_is_fed_by_the_stages_queue_by_reference_and_reports_failed_items(
    resources: Dict[str, Any], transformed: Dict[str, Any]
) -> None:
    assert sorted(sqs_functions(load_app())) == ["apply_writes", "deliver_webhooks"]
    worker = "apply_writes"
    events = list(properties(resources, function_id(worker))["Events"].values())
    assert len(events) == 1
    assert events[0]["Type"] == "SQS"
    assert events[0]["Properties"]["Queue"] == QUEUE_BY_REFERENCE
    assert events[0]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties(resources, function_id(worker))["Environment"]["Variables"]["WORKER_REPORTS_BATCH_FAILURES"] == (
        "true"
    )
    mappings = {
        m["Properties"]["FunctionName"]["Ref"]: m["Properties"]
        for m in transformed["Resources"].values()
        if m["Type"] == "AWS::Lambda::EventSourceMapping"
    }
    assert mappings[function_id(worker)]["EventSourceArn"] == QUEUE_BY_REFERENCE
    assert mappings[function_id(worker)]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_delivery_function_is_fed_by_the_webhook_queue_and_uses_the_stacks_key(
    resources: Dict[str, Any], transformed: Dict[str, Any]
) -> None:
    delivery = function_id("deliver_webhooks")
    (event,) = properties(resources, delivery)["Events"].values()
    assert event["Properties"]["Queue"] == {"Fn::Sub": "${WebhookQueue.Arn}"}
    assert "FunctionResponseTypes" not in event["Properties"]
    assert "WORKER_REPORTS_BATCH_FAILURES" not in properties(resources, delivery)["Environment"]["Variables"]
    stage = StageResources.for_stage(STAGE)
    assert properties(resources, "WebhookQueue")["QueueName"] == stage.webhook_queue_name
    assert properties(resources, "WebhookQueue")["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]
    }
    assert properties(resources, "WebhookKeyAlias")["AliasName"] == stage.webhook_key_alias
    assert resources["WebhookKey"]["DeletionPolicy"] == "Retain"
    policy = properties(resources, role_id("deliver_webhooks"))["Policies"][0]["PolicyDocument"]
    decrypt = [s for s in policy["Statement"] if s["Action"] == ["kms:Decrypt"]]
    assert decrypt == [
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [{"Fn::GetAtt": ["WebhookKey", "Arn"]}]}
    ]


def test_every_function_finds_the_stages_resources_by_reference(resources: Dict[str, Any]) -> None:
    for function in FUNCTIONS:
        variables = properties(resources, function_id(function))["Environment"]["Variables"]
        assert variables["APP_STAGE"] == STAGE
        assert variables["TABLE_NAME"] == {"Ref": TABLE}
        assert variables["QUEUE_URL"] == {"Ref": QUEUE}
        assert variables["WRITE_QUEUE_NAME"] == {"Fn::GetAtt": [QUEUE, "QueueName"]}
        assert variables["DEAD_LETTER_QUEUE_NAME"] == {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "QueueName"]}
        assert properties(resources, function_id(function))["FunctionName"] == deployed_name(
            "metadata-manager", STAGE, function
        )


def test_the_resources_are_the_stages_own(resources: Dict[str, Any]) -> None:
    stage = StageResources.for_stage(STAGE)
    assert properties(resources, TABLE)["TableName"] == stage.table_name
    assert properties(resources, QUEUE)["QueueName"] == stage.queue_name
    assert properties(resources, DEAD_LETTER_QUEUE)["QueueName"] == stage.dead_letter_queue_name


def test_nothing_in_the_template_names_another_stage(packaged: Dict[str, Any]) -> None:
    text = json.dumps(packaged)
    for other in ("local", "dev"):
        assert f"metadata-manager-{other}" not in text


def test_each_function_has_its_own_role_with_the_policy_generated_for_it(resources: Dict[str, Any]) -> None:
    names = TemplateArns(StageResources.for_stage(STAGE))
    roles: List[str] = []
    for function in FUNCTIONS:
        role = properties(resources, function_id(function))["Role"]
        assert role == {"Fn::GetAtt": [role_id(function), "Arn"]}
        roles.append(role_id(function))
        (policy,) = properties(resources, role_id(function))["Policies"]
        assert policy["PolicyDocument"] == policy_document(function, names)
    assert len(set(roles)) == len(FUNCTIONS)


def test_no_dynamodb_or_sqs_permission_allows_any_resource_but_listing_backups(resources: Dict[str, Any]) -> None:
    for function in FUNCTIONS:
        (policy,) = properties(resources, role_id(function))["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]:
            if "*" in statement["Resource"]:
                assert statement["Action"] == ["dynamodb:ListBackups"], (function, statement)


def test_the_table_is_protected_and_recoverable_in_prod(resources: Dict[str, Any]) -> None:
    table = resources[TABLE]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_a_dev_table_goes_with_its_stack() -> None:
    merge = merge_template(StageResources.for_stage("dev"), "metadata-manager", FUNCTIONS, sqs_functions(load_app()))
    table = merge["Resources"][TABLE]
    assert (table["DeletionPolicy"], table["Properties"]["DeletionProtectionEnabled"]) == ("Delete", False)


def test_the_queue_outlasts_a_running_batch_and_sends_failures_to_its_dead_letter_queue(
    resources: Dict[str, Any],
) -> None:
    queue = properties(resources, QUEUE)
    assert queue["VisibilityTimeout"] >= 6 * properties(resources, function_id("apply_writes"))["Timeout"]
    assert queue["FifoQueue"] is True
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]},
        "maxReceiveCount": 5,
    }
    deliveries = properties(resources, "WebhookQueue")
    assert deliveries["VisibilityTimeout"] >= 6 * properties(resources, function_id("deliver_webhooks"))["Timeout"]
    assert "FifoQueue" not in deliveries  # standard: no receiver waits behind another


def test_each_function_logs_to_a_group_with_a_retention_made_before_it(resources: Dict[str, Any]) -> None:
    for function in FUNCTIONS:
        name = properties(resources, function_id(function))["FunctionName"]
        assert properties(resources, log_group_id(function)) == {
            "LogGroupName": f"/aws/lambda/{name}",
            "RetentionInDays": 30,
        }
        assert resources[function_id(function)]["DependsOn"] == [log_group_id(function)]


def test_gateway_errors_answer_in_the_contracts_error_shape(transformed: Dict[str, Any]) -> None:
    apis = [r for r in transformed["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    (api,) = apis
    responses = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    for error in GATEWAY_ERRORS:
        response = responses[error.response_type]
        assert response.get("statusCode") == (str(error.status) if error.status else None)
        body = json.loads(response["responseTemplates"]["application/json"].replace(REQUEST_ID_VARIABLE, "abc-123"))
        assert body == {"error": error.code, "message": error.message, "requestId": "abc-123"}
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"
    assert responses["UNAUTHORIZED"]["statusCode"] == "401"
    # The authorizer denies only tokens nobody holds (401), and fails (not cached) when it
    # cannot check one now (503).
    assert responses["ACCESS_DENIED"]["statusCode"] == "401"
    assert responses["AUTHORIZER_CONFIGURATION_ERROR"]["statusCode"] == "503"
    assert responses["AUTHORIZER_FAILURE"]["statusCode"] == "503"


def test_the_package_carries_bytecode_a_cold_start_can_use_as_is(package_dir: Path) -> None:
    with zipfile.ZipFile(package_dir / "deployment.zip") as deployment:
        names = set(deployment.namelist())
        tag = sys.implementation.cache_tag
        modules = [name for name in names if name.endswith(".py")]
        assert "chalicelib/web/models.py" in modules
        assert "pydantic/main.py" in modules
        for module in modules:
            folder, _, file = module.rpartition("/")
            pyc = f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc".lstrip("/")
            assert pyc in names, module
            # PEP 552 flags: hash-based (bit 0) and not checked against the source (bit 1
            # clear), so the zip's timestamps do not matter.
            flags = int.from_bytes(deployment.read(pyc)[4:8], "little")
            assert flags == 0b01, module
