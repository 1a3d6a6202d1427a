"""The worker through its Lambda entry point, with SQS events built from the real (moto)
queue: duplicates, reordering, a batch with one failure, poison messages, conflicts."""

from __future__ import annotations

import json
from typing import Any, Dict

import boto3
import pytest

from chalicelib.services import get_services
from chalicelib.writes import BatchIncomplete
from devstack.poller import lambda_sqs_event
from tests.conftest import REGION, Api, invoke, operation, submit
from tests.helpers import Faults, throttle, touching


def test_a_duplicate_delivery_applies_once(api: Api, config: Dict[str, Any]) -> None:
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "once", "theme": "t"})
    messages = api.queue.receive_all()
    assert invoke(api, messages + messages) is None  # the same message twice in a batch
    assert invoke(api, messages) is None  # and again later
    stored = api.request("GET", f"/metadata/{config['id']}", scope=None).json_body
    assert stored["version"] == 2
    versions = api.request("GET", f"/metadata/{config['id']}/versions", scope="read").json_body["items"]
    assert [item["version"] for item in versions] == [2, 1]
    assert operation(api, accepted["operationId"])["status"] == "succeeded"


def test_messages_of_different_configs_apply_in_any_order(api: Api) -> None:
    api.create_site()
    first, second = api.create_config(page="one"), api.create_config(page="two")
    submit(api, "PUT", f"/metadata/{first['id']}", {"layout": "first", "theme": "t"})
    submit(api, "PUT", f"/metadata/{second['id']}", {"layout": "second", "theme": "t"})
    messages = api.queue.receive_all()
    assert len(messages) == 2
    invoke(api, list(reversed(messages)))
    assert api.request("GET", f"/metadata/{first['id']}", scope=None).json_body["layout"] == "first"
    assert api.request("GET", f"/metadata/{second['id']}", scope=None).json_body["layout"] == "second"


def test_writes_to_one_config_end_in_the_order_they_were_accepted(api: Api, config: Dict[str, Any]) -> None:
    for layout in ("a", "b", "c"):
        submit(api, "PUT", f"/metadata/{config['id']}", {"layout": layout, "theme": "t"})
    api.apply()
    stored = api.request("GET", f"/metadata/{config['id']}", scope=None).json_body
    assert (stored["layout"], stored["version"]) == ("c", 4)
    versions = api.request("GET", f"/metadata/{config['id']}/versions", scope="read").json_body["items"]
    assert [item["layout"] for item in versions] == ["c", "b", "a", "two-column"]


def test_a_failed_write_holds_back_later_writes_to_the_same_config(
    api: Api, config: Dict[str, Any], table_faults: Faults
) -> None:
    for layout in ("first", "second"):
        submit(api, "PUT", f"/metadata/{config['id']}", {"layout": layout, "theme": "t"})
    messages = api.queue.receive_all()
    assert len(messages) == 2  # one FIFO group, in order, in one batch
    throttle(table_faults, touching('"first"'))

    with pytest.raises(BatchIncomplete):
        invoke(api, messages)
    # "second" was not applied ahead of "first": the config is untouched.
    assert api.request("GET", f"/metadata/{config['id']}", scope=None).json_body["version"] == 1


def test_a_batch_with_one_failure_keeps_that_message_and_deletes_the_others(api: Api, table_faults: Faults) -> None:
    api.create_site()
    configs = [api.create_config(page=f"p{number}") for number in range(3)]
    accepted = [
        submit(api, "PUT", f"/metadata/{c['id']}", {"layout": f"new{n}", "theme": "t"}) for n, c in enumerate(configs)
    ]
    throttle(table_faults, touching('"new1"'))
    messages = api.queue.receive_all()
    assert len(messages) == 3

    with pytest.raises(BatchIncomplete, match="1 of 3"):
        invoke(api, messages)
    api.queue.release(messages)
    left = api.queue.receive_all()
    assert [json.loads(m["Body"])["data"]["layout"] for m in left] == ["new1"]
    assert [operation(api, a["operationId"])["status"] for a in accepted] == ["succeeded", "pending", "succeeded"]
    assert [api.request("GET", f"/metadata/{c['id']}", scope=None).json_body["version"] for c in configs] == [2, 1, 2]


def test_a_retried_batch_does_not_apply_the_others_again(api: Api, table_faults: Faults) -> None:
    api.create_site()
    configs = [api.create_config(page=f"p{number}") for number in range(2)]
    for n, c in enumerate(configs):
        submit(api, "PUT", f"/metadata/{c['id']}", {"layout": f"new{n}", "theme": "t"})
    messages = api.queue.receive_all()
    throttle(table_faults, touching('"new1"'))
    with pytest.raises(BatchIncomplete):
        invoke(api, messages)

    # Suppose the deletes were lost: Lambda delivers the whole batch again.
    table_faults.heal()
    invoke_again = lambda_sqs_event(messages, api.stack.queue_arn, REGION)
    for record in invoke_again["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = "2"
    api.client.lambda_.invoke("apply_writes", invoke_again)
    versions = [api.request("GET", f"/metadata/{c['id']}", scope=None).json_body["version"] for c in configs]
    assert versions == [2, 2]


def test_a_poison_message_goes_to_the_dead_letter_queue_without_blocking_others(
    api: Api, config: Dict[str, Any]
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(
        QueueUrl=api.stack.queue_url, MessageBody="{not json", MessageGroupId="poison", MessageDeduplicationId="p1"
    )
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "fine", "theme": "t"})

    for _ in range(api_max_receive_count()):
        messages = api.queue.receive_all()
        with pytest.raises(BatchIncomplete):
            invoke(api, messages)
        api.queue.release(messages)
    assert api.queue.receive_all() == []  # past maxReceiveCount, SQS moved it on

    dead = api.dead_letters.receive_all()
    assert [message["Body"] for message in dead] == ["{not json"]
    assert operation(api, accepted["operationId"])["status"] == "succeeded"


def api_max_receive_count() -> int:
    return get_services().settings.max_receive_count


def test_a_conflicting_create_fails_its_operation_with_a_reason(api: Api) -> None:
    api.create_site()
    body = {"site": "shop", "page": "home", "layout": "grid", "theme": "t"}
    first = submit(api, "POST", "/metadata", body)
    second = submit(api, "POST", "/metadata", {**body, "layout": "other"})  # both accepted: neither applied yet
    api.apply()

    assert operation(api, first["operationId"])["status"] == "succeeded"
    failed = operation(api, second["operationId"])
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "Conflict"
    assert "home" in failed["error"]["message"]
    assert api.queued() == []  # a permanent failure is done with, not retried


def test_an_update_racing_a_delete_fails_as_not_found(api: Api, config: Dict[str, Any]) -> None:
    deleted = submit(api, "DELETE", f"/metadata/{config['id']}")
    updated = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "late", "theme": "t"})
    api.apply()
    assert operation(api, deleted["operationId"])["status"] == "succeeded"
    failed = operation(api, updated["operationId"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "NotFound")


def test_two_updates_with_the_same_if_match_let_only_the_first_win(api: Api, config: Dict[str, Any]) -> None:
    etag = api.request("GET", f"/metadata/{config['id']}", scope=None).headers["ETag"]
    first = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "a", "theme": "t"}, headers={"If-Match": etag})
    second = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "b", "theme": "t"}, headers={"If-Match": etag})
    api.apply()
    assert operation(api, first["operationId"])["status"] == "succeeded"
    lost = operation(api, second["operationId"])
    assert (lost["status"], lost["error"]["code"]) == ("failed", "PreconditionFailed")
    assert api.request("GET", f"/metadata/{config['id']}", scope=None).json_body["layout"] == "a"


def test_a_create_for_a_site_that_vanished_fails_as_unknown_site(api: Api) -> None:
    api.create_site()
    accepted = submit(api, "POST", "/metadata", {"site": "shop", "page": "home", "layout": "a", "theme": "t"})
    get_services().table.delete_item(Key={"pk": "SITE#shop", "sk": "SITE"})
    api.apply()
    failed = operation(api, accepted["operationId"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "UnknownSite")


def test_the_last_attempt_marks_the_operation_failed_and_a_redrive_still_applies_it(
    api: Api, config: Dict[str, Any], table_faults: Faults
) -> None:
    accepted = submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "stuck", "theme": "t"})
    throttle(table_faults, touching('"stuck"'))
    messages = api.queue.receive_all()
    event = lambda_sqs_event(messages, api.stack.queue_arn, REGION)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(api_max_receive_count())
    with pytest.raises(BatchIncomplete):
        api.client.lambda_.invoke("apply_writes", event)
    failed = operation(api, accepted["operationId"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "DeliveryFailed")

    table_faults.heal()
    invoke(api, messages)  # redriven from the dead-letter queue after the fix
    assert operation(api, accepted["operationId"])["status"] == "succeeded"
    assert api.request("GET", f"/metadata/{config['id']}", scope=None).json_body["layout"] == "stuck"


def test_with_report_batch_item_failures_the_worker_names_the_failed_messages(
    api: Api,
    table_faults: Faults,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api.create_site()
    configs = [api.create_config(page=f"p{number}") for number in range(2)]
    for n, c in enumerate(configs):
        submit(api, "PUT", f"/metadata/{c['id']}", {"layout": f"new{n}", "theme": "t"})
    settings = get_services().settings
    monkeypatch.setattr(get_services(), "settings", settings.model_copy(update={"worker_reports_batch_failures": True}))
    throttle(table_faults, touching('"new0"'))
    messages = api.queue.receive_all()
    answer = invoke(api, messages)
    failed_body = next(m for m in messages if '"new0"' in m["Body"])
    assert answer == {"batchItemFailures": [{"itemIdentifier": failed_body["MessageId"]}]}


def test_one_write_can_be_followed_from_the_api_into_the_worker_logs(
    api: Api, config: Dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    response = api.request("PUT", f"/metadata/{config['id']}", {"layout": "x", "theme": "t"}, scope="write")
    request_id = response.headers["X-Request-Id"]
    capsys.readouterr()
    api.apply()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    worker_lines = [line for line in lines if line.get("message") == "operation finished"]
    assert worker_lines
    assert worker_lines[0]["requestId"] == request_id
    assert worker_lines[0]["operationId"] == response.json_body["operationId"]


def test_a_batch_naming_one_message_twice_still_deletes_what_it_finished(
    api: Api, config: Dict[str, Any], table_faults: Faults
) -> None:
    api.create_config(page="other")
    other = api.request("GET", "/metadata?site=shop&page=other", scope="read").json_body["items"][0]
    submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "ok", "theme": "t"})
    submit(api, "PUT", f"/metadata/{other['id']}", {"layout": "stuck", "theme": "t"})
    messages = api.queue.receive_all()
    throttle(table_faults, touching('"stuck"'))
    fine = next(m for m in messages if '"ok"' in m["Body"])
    with pytest.raises(BatchIncomplete):
        invoke(api, [fine, fine, *messages])  # the same message twice, as a redelivery can
    api.queue.release(messages)
    assert [json.loads(m["Body"])["data"]["layout"] for m in api.queue.receive_all()] == ["stuck"]
