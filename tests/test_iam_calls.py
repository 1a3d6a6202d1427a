"""How tests/aws_calls.py holds each function's AWS calls to its IAM policy: what IAM
authorizes for a call, AccessDenied for a call outside the policy, unused permissions,
and which function a call belongs to."""

from __future__ import annotations

from datetime import UTC
from typing import Any, Dict, List

import boto3
import pytest
from botocore.exceptions import ClientError

import tests.aws_calls as aws_calls
from chalicelib.services import reset_services
from chalicelib.store import keys
from chalicelib.writes import BatchIncomplete
from devstack.poller import lambda_sqs_event
from infra.permissions import PERMISSIONS
from tests.aws_calls import IamRequest, Recorder, iam_requests
from tests.conftest import REGION, Api
from tests.helpers import sleep_until

TABLE = "metadata-manager-local"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{aws_calls.ACCOUNT}:table/{TABLE}"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{aws_calls.ACCOUNT}:metadata-manager-local-writes.fifo"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{aws_calls.ACCOUNT}/metadata-manager-local-writes.fifo"


def test_a_transaction_is_authorized_part_by_part() -> None:
    params = {
        "TransactItems": [
            {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": "SITE#shop", "sk": "SITE"}}},
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "CONFIG#c1"}, "sk": {"S": "CURRENT"}}}},
            {"Delete": {"TableName": TABLE, "Key": {"pk": "SITE#shop", "sk": "PAGE#home"}}},
        ]
    }
    assert iam_requests("dynamodb", "TransactWriteItems", params, REGION) == [
        IamRequest("dynamodb:ConditionCheckItem", TABLE_ARN, ("SITE#shop",)),
        IamRequest("dynamodb:PutItem", TABLE_ARN, ("CONFIG#c1",)),
        IamRequest("dynamodb:DeleteItem", TABLE_ARN, ("SITE#shop",)),
    ]


def test_a_query_on_an_index_is_authorized_on_the_index_and_its_key() -> None:
    params = {
        "TableName": TABLE,
        "IndexName": keys.GSI1,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": keys.GSI1_PK},
        "ExpressionAttributeValues": {":pk": keys.SITES_LIST},
    }
    assert iam_requests("dynamodb", "Query", params, REGION) == [
        IamRequest("dynamodb:Query", f"{TABLE_ARN}/index/{keys.GSI1}", (keys.SITES_LIST,))
    ]


def test_batch_reads_carry_every_partition_key_they_ask_for() -> None:
    params = {"RequestItems": {TABLE: {"Keys": [{"pk": "OP#1", "sk": "OP"}, {"pk": "SITE#a", "sk": "SITE"}]}}}
    assert iam_requests("dynamodb", "BatchGetItem", params, REGION) == [
        IamRequest("dynamodb:BatchGetItem", TABLE_ARN, ("OP#1", "SITE#a"))
    ]


def test_backups_are_authorized_by_their_own_arn_and_listing_them_on_any_resource() -> None:
    backup = f"{TABLE_ARN}/backup/01700000000000-abcdef"
    assert iam_requests("dynamodb", "DeleteBackup", {"BackupArn": backup}, REGION) == [
        IamRequest("dynamodb:DeleteBackup", backup)
    ]
    assert iam_requests("dynamodb", "ListBackups", {"TableName": TABLE}, REGION) == [
        IamRequest("dynamodb:ListBackups", "*")
    ]


def test_sqs_batches_are_authorized_as_their_single_message_actions() -> None:
    entries: List[Dict[str, Any]] = [{"Id": "0", "ReceiptHandle": "r"}]
    assert iam_requests("sqs", "DeleteMessageBatch", {"QueueUrl": QUEUE_URL, "Entries": entries}, REGION) == [
        IamRequest("sqs:DeleteMessage", QUEUE_ARN)
    ]
    assert iam_requests("sqs", "GetQueueUrl", {"QueueName": "metadata-manager-local-writes.fifo"}, REGION) == [
        IamRequest("sqs:GetQueueUrl", QUEUE_ARN)
    ]


def test_a_call_outside_the_policy_is_denied_as_iam_would_and_reported() -> None:
    recorder = Recorder()
    item = {"pk": keys.site_pk("shop"), "sk": "SITE"}
    with pytest.raises(ClientError) as raised:
        recorder.check("token_authorizer", "dynamodb", "PutItem", {"TableName": TABLE, "Item": item}, REGION)
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "not authorized to perform: dynamodb:PutItem" in raised.value.response["Error"]["Message"]
    assert recorder.denied() == [
        f"token_authorizer called dynamodb:PutItem on {TABLE_ARN} (1x), which its policy does not allow"
    ]


def test_a_condition_on_partition_keys_is_held_to_each_item() -> None:
    recorder = Recorder()
    own = {"pk": keys.backup_checks_pk(), "sk": "RUN#1"}
    recorder.check("check_backups", "dynamodb", "PutItem", {"TableName": TABLE, "Item": own}, REGION)
    other = keys.token_key("abc")
    with pytest.raises(ClientError):
        recorder.check("check_backups", "dynamodb", "PutItem", {"TableName": TABLE, "Item": other}, REGION)


def test_a_function_without_declared_permissions_may_call_nothing() -> None:
    recorder = Recorder()
    with pytest.raises(ClientError):
        recorder.check("send_newsletter", "dynamodb", "GetItem", {"TableName": TABLE, "Key": {"pk": "x"}}, REGION)


def test_declared_calls_no_test_made_are_reported_for_functions_the_app_has() -> None:
    recorder = Recorder()
    recorder.check("token_authorizer", "dynamodb", "GetItem", {"TableName": TABLE, "Key": {"pk": "TOKEN#x"}}, REGION)
    assert recorder.unused(["token_authorizer"]) == []
    unused = recorder.unused(["api_handler", "not_in_the_app_yet"])
    assert "api_handler may call dynamodb:Query on the table's global secondary indexes, but no test saw it do so" in (
        unused
    )
    assert len(unused) == sum(len(grant.actions) for grant in PERMISSIONS["api_handler"])


def test_what_a_worker_process_saw_reaches_the_controller() -> None:
    worker, controller = Recorder(), Recorder()
    worker.check("token_authorizer", "dynamodb", "GetItem", {"TableName": TABLE, "Key": {"pk": "TOKEN#x"}}, REGION)
    controller.merge(worker.to_output())
    assert controller.calls == worker.calls
    assert controller.used == worker.used


def test_each_call_is_counted_for_the_function_that_made_it(api: Api) -> None:
    api.create_site()
    authorizer = ("token_authorizer", "dynamodb:GetItem", TABLE_ARN, True)
    handler = ("api_handler", "dynamodb:GetItem", TABLE_ARN, True)
    before = (aws_calls.RECORDER.calls[authorizer], aws_calls.RECORDER.calls[handler])
    assert api.request("GET", "/sites/shop", scope="read").status_code == 200
    # One GetItem for the token (the authorizer), one for the site (the route).
    assert (aws_calls.RECORDER.calls[authorizer], aws_calls.RECORDER.calls[handler]) == (before[0] + 1, before[1] + 1)


def test_a_route_whose_call_the_policy_does_not_allow_fails_as_it_would_in_aws(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_reads = {"Version": "2012-10-17", "Statement": []}
    recorder = Recorder(documents=lambda function: no_reads)
    monkeypatch.setattr(aws_calls, "RECORDER", recorder)
    response = api.request("GET", "/sites/shop/pages/home", scope=None)
    assert response.status_code == 500
    assert [problem.split(" on ")[0] for problem in recorder.denied()] == ["api_handler called dynamodb:BatchGetItem"]


def test_a_cold_worker_looks_its_queue_up_by_name_to_delete_what_it_finished(api: Api) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    site = {"name": "Shop", "allowedOrigins": [], "cacheMaxAge": 60}
    assert api.request("PUT", "/sites/shop", site).status_code == 202
    sqs.send_message(
        QueueUrl=api.stack.queue_url, MessageBody="{not json", MessageGroupId="poison", MessageDeduplicationId="p1"
    )
    messages = api.queue.receive()
    assert len(messages) == 2
    lookup = ("apply_writes", "sqs:GetQueueUrl", QUEUE_ARN, True)
    before = aws_calls.RECORDER.calls[lookup]

    reset_services()  # a new Lambda container, QUEUE_URL unset: nothing looked up yet
    with pytest.raises(BatchIncomplete, match="1 of 2"):
        api.client.lambda_.invoke("apply_writes", lambda_sqs_event(messages, api.stack.queue_arn, REGION))

    assert aws_calls.RECORDER.calls[lookup] == before + 1
    assert api.request("GET", "/sites/shop", scope="read").status_code == 200


def test_a_cold_release_scheduler_looks_its_queue_up_by_name(api: Api) -> None:
    from datetime import datetime, timedelta

    api.create_site(publishMode="review")
    config = api.write(
        "POST", "/metadata", {"site": "shop", "page": "home", "layout": "l", "theme": "t"}, scope="write"
    )
    publish_at = datetime.now(UTC) + timedelta(seconds=2)
    body = {
        "title": "Soon",
        "items": [{"configId": config["resourceId"], "version": 1}],
        "publishAt": publish_at.isoformat(),
    }
    assert api.write("POST", "/sites/shop/releases", body, scope="write")["status"] == "succeeded"
    sleep_until(publish_at)
    lookup = ("publish_due_releases", "sqs:GetQueueUrl", QUEUE_ARN, True)
    before = aws_calls.RECORDER.calls[lookup]

    reset_services()  # a new Lambda container, QUEUE_URL unset: nothing looked up yet
    event = api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:rule/releases"]
    )
    assert api.client.lambda_.invoke("publish_due_releases", event).payload == {"queued": 1}

    assert aws_calls.RECORDER.calls[lookup] == before + 1
    api.apply()
    assert api.request("GET", "/sites/shop/pages/home", scope=None).status_code == 200


def test_putevents_is_authorized_per_bus_and_source_and_only_the_stages_source_is_allowed() -> None:
    params = {"Entries": [{"Source": "metadata-manager.local", "DetailType": "x", "Detail": "{}"}]}
    (request,) = iam_requests("events", "PutEvents", params, REGION)
    assert request == IamRequest(
        "events:PutEvents",
        f"arn:aws:events:{REGION}:{aws_calls.ACCOUNT}:event-bus/default",
        source="metadata-manager.local",
    )
    document = aws_calls._document("apply_writes")
    assert aws_calls.allowing_statements(document, request)
    other = IamRequest(request.action, request.resource, source="someone-else")
    assert aws_calls.allowing_statements(document, other) == []


def test_kms_use_is_authorized_on_the_key_named_by_the_stages_alias() -> None:
    params = {"KeyId": "alias/metadata-manager-local-webhooks", "Plaintext": b"x"}
    (request,) = iam_requests("kms", "Encrypt", params, REGION)
    assert aws_calls.allowing_statements(aws_calls._document("api_handler"), request)
    assert aws_calls.allowing_statements(aws_calls._document("deliver_webhooks"), request) == []
    another = iam_requests("kms", "Encrypt", {**params, "KeyId": "alias/someone-elses"}, REGION)[0]
    assert aws_calls.allowing_statements(aws_calls._document("api_handler"), another) == []
