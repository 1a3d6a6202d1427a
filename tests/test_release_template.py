"""`chalice package` of stage prod with the merge template (as `make package STAGE=prod`
runs it): the stage's resources, wired by reference, and nothing of another stage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import pytest

from infra.functions import deployed_name, lambda_functions, load_app
from infra.gateway_responses import GATEWAY_ERRORS, REQUEST_ID_VARIABLE
from infra.monitoring import alarms
from infra.operations import PAGE_ROUTE, WRITE_METHODS, StageOperations, app_routes
from infra.package import package, transform_sam
from infra.policies import policy_document
from infra.resources import PROJECT_DIR, StageResources
from infra.template import (
    ALARM_TOPIC,
    DASHBOARD,
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
ROUTES = app_routes(load_app())
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


def merge(stage: str) -> Dict[str, Any]:
    return merge_template(
        StageResources.for_stage(stage), "metadata-manager", FUNCTIONS, sqs_functions(load_app()), ROUTES
    )


def of_type(template: Dict[str, Any], kind: str) -> List[Dict[str, Any]]:
    return [resource for resource in template["Resources"].values() if resource.get("Type") == kind]


def properties(resources: Dict[str, Any], logical_id: str) -> Dict[str, Any]:
    found: Dict[str, Any] = resources[logical_id]["Properties"]
    return found


def test_every_merged_key_lands_on_a_resource_chalice_made(resources: Dict[str, Any]) -> None:
    merged_template = merge(STAGE)
    for logical_id, merged in merged_template["Resources"].items():
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


# What IAM cannot limit to a resource: listing backups, sending traces, reading metrics.
UNNARROWABLE = (
    ["dynamodb:ListBackups"],
    ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
    ["cloudwatch:GetMetricStatistics"],
)


def test_no_permission_allows_any_resource_but_what_iam_cannot_narrow(resources: Dict[str, Any]) -> None:
    for function in FUNCTIONS:
        (policy,) = properties(resources, role_id(function))["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]:
            if "*" in statement["Resource"]:
                assert statement["Action"] in UNNARROWABLE, (function, statement)


def test_the_table_is_protected_and_recoverable_in_prod(resources: Dict[str, Any]) -> None:
    table = resources[TABLE]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_a_dev_table_goes_with_its_stack() -> None:
    table = merge("dev")["Resources"][TABLE]
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


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_write_queue_is_high_throughput_fifo_in_each_stage(stage: str) -> None:
    resources = merge(stage)["Resources"]
    queue = properties(resources, QUEUE)
    assert (queue["FifoQueue"], queue["DeduplicationScope"], queue["FifoThroughputLimit"]) == (
        True,
        "messageGroup",
        "perMessageGroupId",
    )
    assert queue["QueueName"] == StageResources.for_stage(stage).queue_name
    dead_letters = properties(resources, DEAD_LETTER_QUEUE)
    assert dead_letters["FifoQueue"] is True
    assert "FifoThroughputLimit" not in dead_letters
    assert "DeduplicationScope" not in dead_letters


def test_the_packaged_write_queue_is_high_throughput_fifo(resources: Dict[str, Any]) -> None:
    queue = properties(resources, QUEUE)
    assert (queue["DeduplicationScope"], queue["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")


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
    # A client over the stage's throttle.
    assert responses["THROTTLED"]["statusCode"] == "429"


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


def test_the_package_carries_the_built_console(package_dir: Path) -> None:
    """`make package` builds the console first; its assets travel in chalicelib/."""
    built = PROJECT_DIR / "chalicelib" / "console" / "assets"
    manifest = json.loads((built / "manifest.json").read_text())
    with zipfile.ZipFile(package_dir / "deployment.zip") as deployment:
        names = set(deployment.namelist())
        for name in ("manifest.json", manifest["script"], manifest["style"]):
            assert f"chalicelib/console/assets/{name}" in names, name
        assert (
            deployment.read(f"chalicelib/console/assets/{manifest['script']}")
            == (built / manifest["script"]).read_bytes()
        )


# --- capacity, throttling, alarms, dashboard, tracing ------------------------------------


def test_the_worker_is_capped_by_reserved_and_maximum_concurrency(
    resources: Dict[str, Any], transformed: Dict[str, Any]
) -> None:
    worker = properties(resources, function_id("apply_writes"))
    (event,) = worker["Events"].values()
    assert worker["ReservedConcurrentExecutions"] == 5  # Chalice's, from .chalice/config.json
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 5}
    (mapping,) = [
        m["Properties"]
        for m in of_type(transformed, "AWS::Lambda::EventSourceMapping")
        if m["Properties"]["FunctionName"] == {"Ref": function_id("apply_writes")}
    ]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}
    dev = merge("dev")["Resources"][function_id("apply_writes")]["Properties"]["Events"]
    assert next(iter(dev.values()))["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 2}
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    assert config["stages"]["dev"]["lambda_functions"]["apply_writes"]["reserved_concurrency"] == 2


def method_settings_of(template: Dict[str, Any]) -> Dict[tuple[str, str], Dict[str, Any]]:
    (stage,) = of_type(template, "AWS::ApiGateway::Stage")
    return {(m["ResourcePath"], m["HttpMethod"]): m for m in stage["Properties"]["MethodSettings"]}


def test_the_api_is_throttled_for_the_stage_with_every_write_route_lower(transformed: Dict[str, Any]) -> None:
    settings = method_settings_of(transformed)
    default = settings[("/*", "*")]
    assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (500, 1000)
    writes = [(path, method) for path, methods in ROUTES.items() for method in methods if method in WRITE_METHODS]
    assert ("/metadata", "POST") in writes
    assert ("/sites/{site}", "PUT") in writes
    for path, method in writes:
        setting = settings[("/" + path.replace("/", "~1"), method)]
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (25, 50), (method, path)
    page = settings[("/~1sites~1{site}~1pages~1{page}", "GET")]
    assert (page["ThrottlingRateLimit"], page["ThrottlingBurstLimit"], page["MetricsEnabled"]) == (500, 1000, True)
    dev = {
        (m["ResourcePath"], m["HttpMethod"]): m
        for m in merge("dev")["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    }
    assert (dev[("/*", "*")]["ThrottlingRateLimit"], dev[("/~1metadata", "POST")]["ThrottlingRateLimit"]) == (50, 10)


def test_the_api_is_named_for_its_stage_and_every_function_and_the_api_are_traced(
    resources: Dict[str, Any], transformed: Dict[str, Any]
) -> None:
    (api,) = of_type(transformed, "AWS::ApiGateway::RestApi")
    assert api["Properties"]["Name"] == "metadata-manager-prod"
    assert api["Properties"]["Body"]["info"]["title"] == "metadata-manager-prod"
    (stage,) = of_type(transformed, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] is True
    for function in FUNCTIONS:
        assert properties(resources, function_id(function))["Tracing"] == "Active", function


def test_every_alarm_is_in_the_template_with_the_stages_values_and_notifies_its_topic(
    resources: Dict[str, Any], packaged: Dict[str, Any]
) -> None:
    operations = StageOperations.for_stage(StageResources.for_stage(STAGE))
    assert properties(resources, ALARM_TOPIC) == {"TopicName": "metadata-manager-prod-alarms"}
    assert packaged["Outputs"]["AlarmTopicArn"] == {"Value": {"Ref": ALARM_TOPIC}}
    defined = alarms(operations)
    assert len(of_type(packaged, "AWS::CloudWatch::Alarm")) == len(defined) >= 14
    for alarm in defined:
        assert properties(resources, alarm.logical_id) == alarm.arguments(operations, {"Ref": ALARM_TOPIC})
    by_key = {alarm.key: properties(resources, alarm.logical_id) for alarm in defined}
    assert by_key["write-queue-age"]["Threshold"] == 300
    assert by_key["write-queue-age"]["Dimensions"] == [
        {"Name": "QueueName", "Value": "metadata-manager-prod-writes.fifo"}
    ]
    assert by_key["write-dead-letters"]["Dimensions"][0]["Value"] == "metadata-manager-prod-writes-dlq.fifo"
    assert by_key["webhook-dead-letters"]["Dimensions"][0]["Value"] == "metadata-manager-prod-webhooks-dlq"
    assert by_key["webhook-queue-age"]["Threshold"] == 1800
    assert by_key["worker-errors"]["Dimensions"][0]["Value"] == "metadata-manager-prod-apply_writes"
    assert by_key["worker-throttles"]["MetricName"] == "Throttles"
    assert by_key["webhook-delivery-errors"]["Dimensions"][0]["Value"] == "metadata-manager-prod-deliver_webhooks"
    assert by_key["event-sweeper-errors"]["Dimensions"][0]["Value"] == "metadata-manager-prod-send_unsent_events"
    assert (by_key["backup-check-failing"]["Namespace"], by_key["backup-check-failing"]["Period"]) == (
        "MetadataManager",
        3600,
    )
    silent = by_key["backup-check-silent"]
    assert (silent["Statistic"], silent["ComparisonOperator"], silent["TreatMissingData"]) == (
        "SampleCount",
        "LessThanThreshold",
        "breaching",
    )
    assert by_key["worker-errors"]["TreatMissingData"] == "notBreaching"
    assert by_key["api-5xx-rate"]["Threshold"] == 0.01
    assert {"Name": "Resource", "Value": PAGE_ROUTE} in by_key["page-route-latency"]["Dimensions"]
    assert (by_key["page-route-latency"]["ExtendedStatistic"], by_key["page-route-latency"]["Threshold"]) == (
        "p99",
        1500,
    )
    dev = {r["Properties"]["AlarmName"]: r["Properties"] for r in of_type(merge("dev"), "AWS::CloudWatch::Alarm")}
    assert dev["metadata-manager-dev-page-route-latency"]["Threshold"] == 3000
    assert dev["metadata-manager-dev-api-5xx-rate"]["Threshold"] == 0.05


def test_each_alarm_says_what_to_do_and_its_runbook_section_is_in_the_readme() -> None:
    readme = (PROJECT_DIR / "README.md").read_text().splitlines()
    for alarm in alarms(StageOperations.for_stage(StageResources.for_stage(STAGE))):
        assert alarm.description.endswith(f"Runbook: README.md#{alarm.key}"), alarm.key
        assert len(alarm.description) <= 1024  # CloudWatch's limit
        assert f"#### {alarm.key}" in readme, f"README.md has no runbook section for {alarm.key}"


def test_the_dashboard_shows_the_routes_queues_worker_and_alarms_of_the_stage(resources: Dict[str, Any]) -> None:
    dashboard = properties(resources, DASHBOARD)
    assert dashboard["DashboardName"] == "metadata-manager-prod"
    text = dashboard["DashboardBody"]["Fn::Sub"]
    body = json.loads(
        text.replace("${AWS::Region}", "eu-west-1")
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::AccountId}", "1")
    )
    widgets = body["widgets"]
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
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    operations = StageOperations.for_stage(StageResources.for_stage(STAGE))
    names = [f"arn:aws:cloudwatch:eu-west-1:1:alarm:{alarm.name(operations)}" for alarm in alarms(operations)]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(names)
    assert "metadata-manager-dev" not in text


def clean_environment() -> Dict[str, str]:
    """What a shell on a release machine has: no variable of any stage, no AWS account."""
    stage_variables = {
        name for stage in ("local", "dev", "prod") for name in StageResources.for_stage(stage).environment()
    }
    return {name: value for name, value in packaging_environment().items() if name not in stage_variables}


def test_a_plain_chalice_package_wires_the_stages_own_queues(tmp_path: Path) -> None:
    """Chalice applies the stage's environment from .chalice/config.json before it imports
    app.py: `chalice package --stage prod` (and `chalice deploy`) in a shell with no
    variable set wires prod's queues and prod's backup schedule, not the local stage's."""
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "--project-dir", str(PROJECT_DIR), "package", "--stage", "prod", str(tmp_path)]
    completed = subprocess.run(command, env=clean_environment(), capture_output=True, text=True, check=False)  # noqa: S603
    assert completed.returncode == 0, completed.stdout + completed.stderr
    functions = json.loads((tmp_path / "sam.json").read_text())["Resources"]
    queues = {
        name: next(iter(functions[function_id(name)]["Properties"]["Events"].values()))["Properties"]["Queue"]
        for name in ("apply_writes", "deliver_webhooks")
    }
    assert "metadata-manager-prod-writes.fifo" in json.dumps(queues["apply_writes"])
    assert "metadata-manager-prod-webhooks" in json.dumps(queues["deliver_webhooks"])
    (schedule,) = functions[function_id("check_backups")]["Properties"]["Events"].values()
    assert schedule["Properties"]["Schedule"] == "rate(60 minutes)"  # prod's; the local stage runs it every 5
