"""The IAM policies generated from infra/permissions.py: committed as generated, one per
function, naming the stage's own resources, and as narrow as each function's job."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import cfnlint  # type: ignore[import-untyped]
import pytest

from chalicelib.store import keys
from infra import policies
from infra.functions import lambda_functions, load_app
from infra.permissions import PERMISSIONS, Target
from infra.resources import PROJECT_DIR, StageResources
from tests.aws_calls import IamRequest, allowing_statements

DEPLOYED = ("dev", "prod")
FUNCTIONS = lambda_functions(load_app())
# IAM's own list of actions and the resource types each can be limited to, as cfn-lint ships it.
IAM_ACTIONS = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"
RESOURCE_TYPES = {
    Target.TABLE: "table",
    Target.INDEXES: "index",
    Target.BACKUPS: "backup",
    Target.QUEUE: "queue",
    Target.DEAD_LETTER_QUEUE: "queue",
}


@lru_cache(maxsize=1)
def iam_actions() -> Dict[str, Any]:
    actions: Dict[str, Any] = json.loads(IAM_ACTIONS.read_text())
    return actions


def committed(stage: str, function: str) -> Dict[str, Any]:
    document: Dict[str, Any] = json.loads((PROJECT_DIR / ".chalice" / f"policy-{stage}-{function}.json").read_text())
    return document


def allows(stage: str, function: str, action: str, resource: str, *leading_keys: str) -> bool:
    request = IamRequest(action, resource, leading_keys or None)
    return bool(allowing_statements(committed(stage, function), request))


def table(stage: str) -> str:
    return f"arn:aws:dynamodb:eu-west-1:111122223333:table/metadata-manager-{stage}"


def queue(stage: str, dead_letters: bool = False) -> str:
    return f"arn:aws:sqs:eu-west-1:111122223333:metadata-manager-{stage}-writes{'-dlq' if dead_letters else ''}.fifo"


def test_the_committed_policy_files_and_config_are_what_the_generator_makes() -> None:
    expected, _ = policies.generate(DEPLOYED, FUNCTIONS)
    assert policies.differences(DEPLOYED, expected) == []


def test_every_function_of_the_app_has_declared_permissions() -> None:
    assert set(FUNCTIONS) <= set(PERMISSIONS), "add the new function to infra/permissions.py"


def test_a_function_without_declared_permissions_is_refused_by_the_generator() -> None:
    with pytest.raises(policies.MissingDeclaration, match="no permissions declared for send_newsletter"):
        policies.generate(DEPLOYED, [*FUNCTIONS, "send_newsletter"])


def test_each_function_of_each_stage_has_its_own_role_and_policy_file() -> None:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    for stage in DEPLOYED:
        functions = config["stages"][stage]["lambda_functions"]
        assert {name: functions[name]["iam_policy_file"] for name in FUNCTIONS} == {
            name: f"policy-{stage}-{name}.json" for name in FUNCTIONS
        }


@pytest.mark.parametrize("stage", DEPLOYED)
def test_policies_name_only_their_own_stage(stage: str) -> None:
    other_stages = [other for other in ("local", *DEPLOYED) if other != stage]
    for function in FUNCTIONS:
        text = json.dumps(committed(stage, function))
        assert f"metadata-manager-{stage}" in text
        assert not any(f"metadata-manager-{other}" in text for other in other_stages), (function, text)


def test_no_dynamodb_or_sqs_statement_allows_every_resource_unless_iam_cannot_narrow_the_action() -> None:
    for function in FUNCTIONS:
        for statement in committed("prod", function)["Statement"]:
            if "*" not in statement["Resource"]:
                continue
            assert statement["Resource"] == ["*"]
            for action in statement["Action"]:
                service, name = action.split(":")
                assert iam_actions()[service]["Actions"][name.lower()].get("Resources") is None, action


def test_every_declared_action_exists_and_can_be_limited_to_its_target() -> None:
    for function, grants in PERMISSIONS.items():
        for grant in grants:
            for action in grant.actions:
                service, name = action.split(":")
                known = iam_actions()[service]["Actions"].get(name.lower())
                assert known is not None, f"{function}: {action} is not an IAM action"
                for target in grant.targets:
                    if target in RESOURCE_TYPES:
                        assert RESOURCE_TYPES[target] in known["Resources"], (function, action, target)


def test_leading_keys_are_the_backup_checks_own_partition() -> None:
    conditions: List[Any] = [
        statement["Condition"]
        for statement in committed("prod", "check_backups")["Statement"]
        if "Condition" in statement
    ]
    assert conditions == [{"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [keys.backup_checks_pk()]}}]


def test_the_api_handler_reads_the_table_and_writes_only_idempotency_claims() -> None:
    for action in ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"):
        assert allows("prod", "api_handler", action, table("prod"))
    assert allows("prod", "api_handler", "dynamodb:Query", f"{table('prod')}/index/{keys.GSI1}")
    claim = keys.idempotency_key("0" * 64)[keys.PK]
    assert allows("prod", "api_handler", "dynamodb:PutItem", table("prod"), claim)
    for other in (keys.site_pk("shop"), keys.config_pk("c" * 26), keys.token_key("0" * 64)[keys.PK]):
        assert not allows("prod", "api_handler", "dynamodb:PutItem", table("prod"), other)
    assert not allows("prod", "api_handler", "dynamodb:PutItem", table("prod"), claim, keys.site_pk("shop"))
    for action in ("dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
        assert not allows("prod", "api_handler", action, table("prod"))
    assert not allows("prod", "api_handler", "dynamodb:Scan", table("prod"))


def test_the_api_handler_sends_to_the_queue_and_redrives_only_from_the_dead_letter_queue() -> None:
    assert allows("prod", "api_handler", "sqs:SendMessage", queue("prod"))
    assert not allows("prod", "api_handler", "sqs:ReceiveMessage", queue("prod"))
    assert not allows("prod", "api_handler", "sqs:DeleteMessage", queue("prod"))
    assert allows("prod", "api_handler", "sqs:ReceiveMessage", queue("prod", dead_letters=True))
    assert not allows("prod", "api_handler", "sqs:SendMessage", queue("prod", dead_letters=True))


def test_the_worker_writes_the_table_but_cannot_send_to_the_queue() -> None:
    for action in ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"):
        assert allows("prod", "apply_writes", action, table("prod"))
    assert allows("prod", "apply_writes", "sqs:ReceiveMessage", queue("prod"))
    assert not allows("prod", "apply_writes", "sqs:SendMessage", queue("prod"))
    assert not allows("prod", "apply_writes", "sqs:ReceiveMessage", queue("prod", dead_letters=True))


def test_the_authorizer_only_reads_items() -> None:
    statements = committed("prod", "token_authorizer")["Statement"]
    assert [statement["Action"] for statement in statements] == [
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        ["dynamodb:GetItem"],
    ]


def test_the_backup_check_backs_up_but_writes_no_item_but_its_own() -> None:
    assert allows("prod", "check_backups", "dynamodb:CreateBackup", table("prod"))
    assert allows("prod", "check_backups", "dynamodb:DeleteBackup", f"{table('prod')}/backup/01700000000000-abc")
    assert allows("prod", "check_backups", "dynamodb:PutItem", table("prod"), keys.backup_checks_pk())
    assert not allows("prod", "check_backups", "dynamodb:PutItem", table("prod"), keys.site_pk("shop"))
    assert not allows("prod", "check_backups", "dynamodb:DeleteItem", table("prod"), keys.backup_checks_pk())
    assert not allows("prod", "check_backups", "dynamodb:DeleteTable", table("prod"))
    assert not allows("prod", "check_backups", "sqs:ReceiveMessage", queue("prod", dead_letters=True))


def test_functions_write_only_their_own_log_group() -> None:
    group = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/metadata-manager-prod-apply_writes:log-stream:x"
    assert allows("prod", "apply_writes", "logs:PutLogEvents", group)
    assert not allows("prod", "check_backups", "logs:PutLogEvents", group)
    assert not allows("prod", "apply_writes", "logs:CreateLogGroup", group)


def test_a_policy_for_another_stage_is_generated_from_that_stages_names() -> None:
    names = policies.StageArns(StageResources.for_stage("local"), "metadata-manager")
    document = policies.policy_document("token_authorizer", names)
    assert document["Statement"][1]["Resource"] == ["arn:aws:dynamodb:*:*:table/metadata-manager-local"]


def test_an_event_bus_given_as_an_arn_is_named_as_it_is() -> None:
    from dataclasses import replace

    from infra.permissions import Target
    from infra.policies import StageArns
    from infra.resources import StageResources

    arn = "arn:aws:events:eu-west-1:210987654321:event-bus/central"
    resources = replace(StageResources.for_stage("dev"), event_bus_name=arn)
    assert StageArns(resources, "metadata-manager").arns(Target.EVENT_BUS, "apply_writes") == [arn]
    named = StageArns(StageResources.for_stage("dev"), "metadata-manager").arns(Target.EVENT_BUS, "apply_writes")
    assert named == ["arn:aws:events:*:*:event-bus/default"]
