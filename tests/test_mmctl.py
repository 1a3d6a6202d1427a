"""The operator CLI against moto: tokens made with it work against the API."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import boto3

from infra.resources import PROJECT_DIR
from mmctl.cli import main
from tests.conftest import Api
from tests.helpers import Queue, assert_error


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), boto3.session.Session, out)
    return code, out.getvalue()


def test_a_created_token_works_with_its_scope(api: Api) -> None:
    code, output = run("tokens", "create", "--name", "ci", "--scope", "read")
    assert code == 0
    created = json.loads(output)
    header = {"Authorization": f"Bearer {created['token']}"}
    assert api.request("GET", "/sites", scope=None, headers=header).status_code == 200
    assert_error(api.request("PUT", "/sites/shop", {"name": "x"}, scope=None, headers=header), 403, "Forbidden")


def test_tokens_are_listed_without_their_secret(api: Api) -> None:
    _, output = run("tokens", "create", "--name", "editor", "--scope", "write")
    created = json.loads(output)
    code, listing = run("tokens", "list")
    assert code == 0
    assert created["tokenId"] in listing
    assert "editor" in listing
    assert created["token"] not in listing


def test_a_revoked_token_stops_working(api: Api) -> None:
    _, output = run("tokens", "create", "--name", "temp", "--scope", "admin")
    created = json.loads(output)
    assert run("tokens", "revoke", created["tokenId"]) == (0, f"revoked {created['tokenId']}\n")
    header = {"Authorization": f"Bearer {created['token']}"}
    assert_error(api.request("GET", "/sites", scope=None, headers=header), 401, "Unauthorized")
    assert run("tokens", "revoke", created["tokenId"])[0] == 1


def test_help_names_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mmctl", "tokens", "--help"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    for word in ("create", "list", "revoke"):
        assert word in result.stdout


def test_redrive_moves_every_dead_letter_back(api: Api) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    for number in range(12):
        sqs.send_message(
            QueueUrl=api.stack.dead_letter_queue_url,
            MessageBody=json.dumps({"n": number}),
            MessageGroupId=f"g{number}",
            MessageDeduplicationId=f"d{number}",
        )
    code, output = run("redrive")
    assert code == 0
    assert json.loads(output) == {"moved": 12, "failed": 0, "remaining": 0}
    bodies = {message["Body"] for message in api.queue.receive_all()}
    assert bodies == {json.dumps({"n": number}) for number in range(12)}


def test_redrive_with_a_time_limit_starts_no_round_it_has_no_time_for(api: Api) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    for number in range(3):
        sqs.send_message(
            QueueUrl=api.stack.dead_letter_queue_url,
            MessageBody=json.dumps({"n": number}),
            MessageGroupId=f"g{number}",
            MessageDeduplicationId=f"d{number}",
        )
    code, output = run("redrive", "--max-seconds", "1")  # less than the safety margin
    assert (code, json.loads(output)) == (0, {"moved": 0, "failed": 0, "remaining": 3})
    code, output = run("redrive", "--max-seconds", "60")
    assert (code, json.loads(output)) == (0, {"moved": 3, "failed": 0, "remaining": 0})


def test_redrive_of_webhook_deliveries_gives_each_another_day(api: Api) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    old = {"v": 1, "site": "shop", "webhook": "cdn", "event": {"id": "e.00"}, "attempt": 12}
    message = {**old, "firstQueuedAt": "2026-01-01T00:00:00.000Z", "lastError": "the receiver answered 500"}
    sqs.send_message(QueueUrl=api.stack.webhook_dead_letter_queue_url, MessageBody=json.dumps(message))
    code, output = run("redrive", "--queue", "webhooks")
    assert code == 0
    assert json.loads(output) == {"moved": 1, "failed": 0, "remaining": 0}
    (back,) = Queue(sqs, api.stack.webhook_queue_url).receive_all()
    body = json.loads(back["Body"])
    assert body["attempt"] == 12
    assert body["firstQueuedAt"] > "2026-01-01T00:00:00.000Z"
    assert "lastError" not in body
