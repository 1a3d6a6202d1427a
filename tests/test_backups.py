"""The scheduled backup check and the dead-letter redrive, through their entry points."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Dict, Iterator, List

import boto3
import pytest
from chalice.local import LambdaContext

from chalicelib.core.clock import utc_now
from chalicelib.services import Services, get_services
from chalicelib.upkeep import Redrive, time_budget
from tests.conftest import REGION, Api
from tests.helpers import Clock, Faults, assert_error


@pytest.fixture
def clock(api: Api, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(utc_now())
    monkeypatch.setattr(get_services(), "clock", clock)
    return clock


def stage_settings(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    services: Services = get_services()
    monkeypatch.setattr(services, "settings", services.settings.model_copy(update=changes))


def run_check(api: Api) -> Dict[str, Any]:
    event = api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:rule/check"]
    )
    result: Dict[str, Any] = api.client.lambda_.invoke("check_backups", event).payload
    return result


def finding(result: Dict[str, Any], check: str) -> Dict[str, Any]:
    found: Dict[str, Any] = next(item for item in result["findings"] if item["check"] == check)
    return found


def backups(api: Api) -> List[Dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    return [dict(summary) for summary in dynamodb.list_backups(TableName=api.stack.table_name)["BackupSummaries"]]


def set_pitr(api: Api, enabled: bool) -> None:
    boto3.client("dynamodb", region_name=REGION).update_continuous_backups(
        TableName=api.stack.table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled}
    )


def test_a_first_run_creates_a_backup_and_is_ok(api: Api, clock: Clock) -> None:
    result = run_check(api)
    assert result["status"] == "ok", result
    names = [backup["BackupName"] for backup in backups(api)]
    assert names == [f"{api.stack.table_name}-{clock.now:%Y%m%dT%H%M%SZ}"]
    assert result["actions"] == [f"created backup {names[0]}"]
    assert finding(result, "pointInTimeRecovery")["status"] == "ok"
    assert finding(result, "deadLetterQueue")["status"] == "ok"


def test_pitr_off_is_failing_when_the_stage_does_not_remediate(
    api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_settings(monkeypatch, pitr_remediate=False)
    set_pitr(api, False)
    result = run_check(api)
    assert result["status"] == "failing"
    assert finding(result, "pointInTimeRecovery") == {
        "check": "pointInTimeRecovery",
        "status": "failing",
        "reason": "point-in-time recovery is off",
    }


def test_pitr_off_is_switched_on_when_the_stage_remediates(
    api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_settings(monkeypatch, pitr_remediate=True)
    set_pitr(api, False)
    result = run_check(api)
    assert finding(result, "pointInTimeRecovery")["status"] == "warning"
    assert "enabled point-in-time recovery" in result["actions"]
    description = boto3.client("dynamodb", region_name=REGION).describe_continuous_backups(
        TableName=api.stack.table_name
    )
    status = description["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert status["PointInTimeRecoveryStatus"] == "ENABLED"


def test_a_stale_backup_is_replaced_by_a_new_one(api: Api, clock: Clock) -> None:
    run_check(api)
    clock.advance(timedelta(hours=25))
    result = run_check(api)
    assert len(backups(api)) == 2
    assert "25.0 h old; created" in finding(result, "onDemandBackups")["reason"]


def test_a_recent_backup_is_enough(api: Api, clock: Clock) -> None:
    run_check(api)
    clock.advance(timedelta(hours=3))
    result = run_check(api)
    assert len(backups(api)) == 1
    assert result["actions"] == []


def test_a_stage_that_does_not_create_backups_fails_without_one(
    api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_settings(monkeypatch, backup_create=False)
    result = run_check(api)
    assert result["status"] == "failing"
    assert "does not create them" in finding(result, "onDemandBackups")["reason"]
    assert backups(api) == []


def test_pruning_deletes_backups_past_retention_but_never_the_newest(
    api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_settings(monkeypatch, backup_create=False, backup_retention_days=7)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for name in ("old-1", "old-2", "old-3"):
        dynamodb.create_backup(TableName=api.stack.table_name, BackupName=name)
    newest = max(backups(api), key=lambda backup: backup["BackupCreationDateTime"])["BackupName"]
    clock.advance(timedelta(days=30))

    result = run_check(api)
    assert [backup["BackupName"] for backup in backups(api)] == [newest]
    assert len([action for action in result["actions"] if action.startswith("deleted backup")]) == 2


def test_a_message_in_the_dead_letter_queue_is_failing(api: Api, clock: Clock) -> None:
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=api.stack.dead_letter_queue_url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d"
    )
    result = run_check(api)
    assert result["status"] == "failing"
    assert finding(result, "deadLetterQueue")["reason"].startswith("1 message(s) could not be applied")
    assert result["metrics"]["DeadLetterMessages"] == 1


# --- how long the oldest message has waited ----------------------------------------------


def queue_a_write(api: Api) -> None:
    """A write waiting in the queue (no worker runs in these tests)."""
    api.request("PUT", "/sites/shop", {"name": "Shop"}, scope="admin")


def sqs_publishes_age(queue_name: str, seconds: float, at: datetime) -> None:
    """What SQS publishes to CloudWatch each minute for an active queue."""
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateAgeOfOldestMessage",
                "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                "Timestamp": at,
                "Value": seconds,
                "Unit": "Seconds",
            }
        ],
    )


def test_a_write_waiting_longer_than_the_stages_limit_is_a_warning_saying_how_long(api: Api, clock: Clock) -> None:
    queue_a_write(api)
    sqs_publishes_age(get_services().settings.queue_name, 30, clock.now - timedelta(minutes=8))
    sqs_publishes_age(get_services().settings.queue_name, 420, clock.now - timedelta(minutes=1))

    result = run_check(api)

    assert result["status"] == "warning"
    assert finding(result, "writeQueue") == {
        "check": "writeQueue",
        "status": "warning",
        "reason": "the oldest write has waited 7 min (more than 5 min): 1 waiting, 0 in flight",
    }
    assert result["metrics"]["QueueOldestMessageAgeSeconds"] == 420
    report = api.request("GET", "/admin/backups", scope="admin").json_body
    assert finding(report["latest"], "writeQueue")["status"] == "warning"


def test_a_write_younger_than_the_limit_is_ok_and_its_age_is_told(api: Api, clock: Clock) -> None:
    queue_a_write(api)
    sqs_publishes_age(get_services().settings.queue_name, 42, clock.now - timedelta(minutes=1))
    result = run_check(api)
    assert finding(result, "writeQueue") == {
        "check": "writeQueue",
        "status": "ok",
        "reason": "1 waiting, 0 in flight; the oldest has waited 42 s",
    }


def test_the_limit_is_the_stages_setting(api: Api, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    stage_settings(monkeypatch, write_queue_age_warning_seconds=30)
    queue_a_write(api)
    sqs_publishes_age(get_services().settings.queue_name, 42, clock.now - timedelta(minutes=1))
    assert finding(run_check(api), "writeQueue")["reason"].startswith(
        "the oldest write has waited 42 s (more than 30 s)"
    )


def test_an_empty_queue_has_waited_for_nothing(api: Api, clock: Clock) -> None:
    result = run_check(api)
    assert finding(result, "writeQueue") == {"check": "writeQueue", "status": "ok", "reason": "0 waiting, 0 in flight"}
    assert result["metrics"]["QueueOldestMessageAgeSeconds"] == 0


def test_a_waiting_write_whose_age_sqs_has_not_published_yet_is_ok_and_says_so(api: Api, clock: Clock) -> None:
    queue_a_write(api)
    result = run_check(api)
    assert finding(result, "writeQueue") == {
        "check": "writeQueue",
        "status": "ok",
        "reason": "1 waiting, 0 in flight; no age reported for it yet",
    }
    assert "QueueOldestMessageAgeSeconds" not in result["metrics"]


def test_webhook_deliveries_waiting_past_their_own_limit_are_a_warning(api: Api, clock: Clock) -> None:
    settings = get_services().settings
    boto3.client("sqs", region_name=REGION).send_message(QueueUrl=api.stack.webhook_queue_url, MessageBody="{}")
    sqs_publishes_age(settings.webhook_queue_name, 20 * 60, clock.now - timedelta(minutes=1))
    assert finding(run_check(api), "webhookQueue")["status"] == "ok"  # retries wait up to 15 minutes each
    sqs_publishes_age(settings.webhook_queue_name, 45 * 60, clock.now)
    clock.advance(timedelta(seconds=30))
    result = run_check(api)
    assert finding(result, "webhookQueue") == {
        "check": "webhookQueue",
        "status": "warning",
        "reason": "the oldest delivery has waited 45 min (more than 30 min): 1 waiting, 0 in flight",
    }
    assert result["metrics"]["WebhookQueueOldestMessageAgeSeconds"] == 45 * 60


@pytest.fixture
def unreachable_metrics(api: Api) -> Iterator[None]:
    with Faults(get_services().cloudwatch) as faults:
        faults.unreachable("GetMetricStatistics")
        yield


def test_an_age_cloudwatch_cannot_tell_now_is_a_warning_and_the_counts_still_show(
    api: Api, clock: Clock, unreachable_metrics: None
) -> None:
    queue_a_write(api)
    result = run_check(api)
    assert finding(result, "writeQueue") == {
        "check": "writeQueue",
        "status": "warning",
        "reason": "1 waiting, 0 in flight; the oldest message's age could not be read: EndpointConnectionError",
    }


@pytest.fixture
def unreachable_backups(api: Api) -> Iterator[None]:
    with Faults(get_services().dynamodb) as faults:
        faults.unreachable("ListBackups")
        yield


def test_a_service_that_cannot_be_reached_is_a_recorded_failing_finding(
    api: Api, clock: Clock, unreachable_backups: None
) -> None:
    result = run_check(api)
    assert result["status"] == "failing"
    assert finding(result, "onDemandBackups") == {
        "check": "onDemandBackups",
        "status": "failing",
        "reason": "could not check: EndpointConnectionError",
    }
    assert finding(result, "pointInTimeRecovery")["status"] == "ok"  # the other checks still ran
    report = api.request("GET", "/admin/backups", scope="admin").json_body
    assert report["latest"]["runId"] == result["runId"]
    assert report["latest"]["status"] == "failing"


def test_each_run_logs_one_line_with_embedded_metrics(
    api: Api, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    run_check(api)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line.get("message") == "backup check"]
    metrics = line["_aws"]["CloudWatchMetrics"][0]
    assert metrics["Namespace"] == "MetadataManager"
    assert metrics["Dimensions"] == [["Stage"]]
    names = {metric["Name"] for metric in metrics["Metrics"]}
    assert {"BackupCheckFailing", "DeadLetterMessages", "NewestBackupAgeHours", "PitrEnabled"} <= names
    assert all(name in line for name in names)  # each metric's value sits at the top level
    assert line["Stage"] == "local"
    assert line["BackupCheckFailing"] == 0


def test_the_report_shows_the_latest_run_and_the_history_newest_first(api: Api, clock: Clock) -> None:
    assert api.request("GET", "/admin/backups", scope="admin").json_body == {"latest": None, "history": []}
    first = run_check(api)
    clock.advance(timedelta(minutes=60))
    second = run_check(api)
    report = api.request("GET", "/admin/backups", scope="admin").json_body
    assert report["latest"]["runId"] == second["runId"]
    assert [run["runId"] for run in report["history"]] == [second["runId"], first["runId"]]
    assert_error(api.request("GET", "/admin/backups", scope="write"), 403, "Forbidden")


def test_health_stays_cheap_and_says_nothing_about_backups(api: Api, clock: Clock) -> None:
    run_check(api)
    body = api.request("GET", "/health", scope=None).json_body
    assert set(body) == {"status", "service", "stage"}


# --- redrive ----------------------------------------------------------------------------


def test_redrive_moves_dead_letters_back_and_they_are_applied(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    sqs = boto3.client("sqs", region_name=REGION)
    accepted = api.request("PUT", f"/metadata/{config['id']}", {"layout": "late", "theme": "t"}, scope="write")
    queued = api.queue.receive()[0]
    # As if it had failed too often: the message sits in the dead-letter queue.
    sqs.send_message(
        QueueUrl=api.stack.dead_letter_queue_url,
        MessageBody=queued["Body"],
        MessageGroupId=queued["Attributes"]["MessageGroupId"],
        MessageDeduplicationId="dead-1",
    )
    sqs.delete_message(QueueUrl=api.stack.queue_url, ReceiptHandle=queued["ReceiptHandle"])

    moved = api.request("POST", "/admin/redrive", scope="admin")
    assert moved.status_code == 200
    assert moved.json_body == {"moved": 1, "failed": 0, "remaining": 0}
    api.apply()
    operation = api.request("GET", f"/operations/{accepted.json_body['operationId']}", scope="write").json_body
    assert operation["status"] == "succeeded"
    assert api.request("GET", f"/metadata/{config['id']}", scope=None).json_body["layout"] == "late"


def test_redrive_is_admin_only_and_bounded(api: Api) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    for number in range(3):
        sqs.send_message(
            QueueUrl=api.stack.dead_letter_queue_url,
            MessageBody="{}",
            MessageGroupId=f"g{number}",
            MessageDeduplicationId=f"d{number}",
        )
    assert_error(api.request("POST", "/admin/redrive", scope="write"), 403, "Forbidden")
    assert_error(api.request("POST", "/admin/redrive?limit=0", scope="admin"), 400, "BadRequest")
    moved = api.request("POST", "/admin/redrive?limit=2", scope="admin").json_body
    assert moved["moved"] == 2
    assert moved["remaining"] == 1


def dead_letters(api: Api, count: int) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    for number in range(count):
        sqs.send_message(
            QueueUrl=api.stack.dead_letter_queue_url,
            MessageBody=json.dumps({"n": number}),
            MessageGroupId=f"g{number}",
            MessageDeduplicationId=f"budget-{number}",
        )


class SlowQueue:
    """Each SQS call of the running functions takes `seconds` of a made-up clock."""

    def __init__(self, client: Any, seconds: float) -> None:
        self.now = 0.0
        self.calls: List[str] = []
        self._seconds = seconds
        self._events = client.meta.events
        self._events.register("before-call.sqs", self._tick)

    def _tick(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        self.now += self._seconds

    def close(self) -> None:
        self._events.unregister("before-call.sqs", self._tick)


@pytest.fixture
def slow_queue(api: Api) -> Iterator[SlowQueue]:
    slow = SlowQueue(get_services().sqs, seconds=1.0)
    yield slow
    slow.close()


def test_redrive_from_the_api_stops_in_time_to_answer_before_the_function_times_out(
    api: Api, slow_queue: SlowQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route's time comes from its Lambda context: here a function with a 10 s timeout
    whose every SQS call takes a second. It stops with time to spare and says what is left."""
    timeout = 10.0
    monkeypatch.setattr(LambdaContext, "get_remaining_time_in_millis", lambda _: int((timeout - slow_queue.now) * 1000))
    dead_letters(api, 35)

    response = api.request("POST", "/admin/redrive", scope="admin")

    assert response.status_code == 200, response.json_body
    result = response.json_body
    assert timeout - slow_queue.now > 0, slow_queue.calls  # answered before the timeout
    assert 0 < result["moved"] < 35
    assert result["moved"] + result["remaining"] == 35
    assert result["failed"] == 0

    # The next call picks up where this one stopped.
    slow_queue.now = 0.0
    again = api.request("POST", "/admin/redrive", scope="admin").json_body
    assert again["moved"] > 0
    assert again["remaining"] == result["remaining"] - again["moved"]


def test_redrive_with_a_lambda_contexts_full_time_moves_everything(api: Api) -> None:
    dead_letters(api, 35)
    assert api.request("POST", "/admin/redrive", scope="admin").json_body == {"moved": 35, "failed": 0, "remaining": 0}


@pytest.mark.parametrize(
    ("seconds", "moved"),
    [(None, 35), (100.0, 35), (10.0, 20), (9.0, 20), (8.0, 10), (5.0, 10), (2.0, 0)],
)
def test_redrive_starts_a_round_only_with_time_for_it_and_a_margin(
    api: Api, slow_queue: SlowQueue, seconds: float | None, moved: int
) -> None:
    """Each round of ten is three SQS calls (receive, send, delete): 3 s here. A round
    starts only while the time left exceeds the slowest round so far plus the margin
    (2 s): with 10 s, rounds start at 10 s and 7 s left, not at 4 s; with 8 s, at 8 s,
    not at 5 s. The count of what is left (one more call) always fits."""
    dead_letters(api, 35)
    services = get_services()
    dead_letter_queue = services.sqs.get_queue_url(QueueName=services.settings.dead_letter_queue_name)["QueueUrl"]
    slow_queue.now = 0.0
    time_left = None if seconds is None else time_budget(seconds, clock=lambda: slow_queue.now)
    result = Redrive(services.sqs, dead_letter_queue, api.stack.queue_url, time_left).run()
    assert (result.moved, result.remaining) == (moved, 35 - moved)
    if seconds is not None:
        assert slow_queue.now <= seconds
