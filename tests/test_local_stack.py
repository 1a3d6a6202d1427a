"""The local stack end to end: `python -m devstack` as a subprocess, driven over real HTTP.

One stack serves the whole module (started with the example seed); the last test stops
it and checks that nothing is left running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

from devstack import state
from devstack.receiver import WebhookReceiver
from devstack.schedule import scheduled_functions
from infra.resources import PROJECT_DIR
from tests.helpers import assert_error, wait_for
from tests.stack import (
    Http,
    LocalStack,
    alive,
    children_of,
    exchange,
    free_port,
    mmctl_token,
    port_open,
    raw_request,
    running_stack,
)

pytestmark = pytest.mark.e2e

ADMIN_TOKEN = f"e2e-admin-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("local-stack"), ADMIN_TOKEN, seed="examples/seed.json") as local:
        yield local


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Http:
    return Http(stack, ADMIN_TOKEN)


def config_body(site: str, page: str, **fields: Any) -> Dict[str, Any]:
    return {"site": site, "page": page, "layout": "two-column", "theme": "dark", "settings": {"n": 1}, **fields}


def test_start_prints_the_api_the_token_and_the_moto_endpoint(stack: LocalStack) -> None:
    assert stack.info is not None
    output = stack.output()
    assert f"API            {stack.url}" in output
    assert f"admin token    {ADMIN_TOKEN}" in output
    assert f"moto endpoint  {stack.info.aws_endpoint}" in output
    assert f"export AWS_ENDPOINT_URL={stack.info.aws_endpoint} " in output
    assert requests.get(f"{stack.url}/health", timeout=5).json()["stage"] == "local"


def test_the_example_seed_went_in_through_the_api(stack: LocalStack, http: Http) -> None:
    sites = http.request("GET", "/sites").json()["items"]
    assert {site["site"] for site in sites} >= {"acme-store", "acme-blog"}
    origin = "https://store.acme.example"
    page = requests.get(f"{stack.url}/sites/acme-store/pages/home", headers={"Origin": origin}, timeout=5)
    assert page.status_code == 200, page.text
    assert page.json()["layout"] == "hero-grid"
    assert page.headers["ETag"]
    assert page.headers["Access-Control-Allow-Origin"] == origin


def test_a_config_is_created_read_updated_and_deleted_over_http(stack: LocalStack, http: Http) -> None:
    http.applied("PUT", "/sites/e2e-life", {"name": "Life", "allowedOrigins": [], "cacheMaxAge": 30})
    created = http.applied("POST", "/metadata", config_body("e2e-life", "home"))
    config_id = created["resourceId"]

    by_id = requests.get(f"{stack.url}/metadata/{config_id}", timeout=5)
    assert by_id.status_code == 200
    assert by_id.json()["version"] == 1
    etag = by_id.headers["ETag"]
    by_page = requests.get(f"{stack.url}/sites/e2e-life/pages/home", timeout=5)
    assert by_page.status_code == 200
    assert by_page.json()["layout"] == "two-column"
    assert (
        requests.get(f"{stack.url}/metadata/{config_id}", headers={"If-None-Match": etag}, timeout=5).status_code == 304
    )

    change = {"layout": "one-column", "theme": "light", "settings": {"n": 2}}
    http.applied("PUT", f"/metadata/{config_id}", change, headers={"If-Match": etag})
    updated = requests.get(f"{stack.url}/metadata/{config_id}", timeout=5)
    assert updated.json()["version"] == 2
    assert updated.json()["theme"] == "light"
    stale = http.request("PUT", f"/metadata/{config_id}", json=change, headers={"If-Match": etag})
    assert_error(stale, 412, "PreconditionFailed")

    versions = http.request("GET", f"/metadata/{config_id}/versions").json()["items"]
    assert [version["version"] for version in versions] == [2, 1]

    http.applied("DELETE", f"/metadata/{config_id}", headers={"If-Match": updated.headers["ETag"]})
    assert_error(requests.get(f"{stack.url}/metadata/{config_id}", timeout=5), 404, "NotFound")
    assert_error(requests.get(f"{stack.url}/sites/e2e-life/pages/home", timeout=5), 404, "NotFound")


def test_errors_the_gateway_answers_have_the_contract_body(stack: LocalStack, http: Http) -> None:
    missing = http.request("GET", "/sites", token=None)
    assert_error(missing, 401, "Unauthorized")
    assert_error(http.request("GET", "/no/such/route", token=None), 404, "NotFound")
    assert_error(http.request("GET", "/no/such/route"), 404, "NotFound")
    assert_error(http.request("GET", "/sites", token="not-a-token"), 401, "Unauthorized")
    for method in ("TRACE", "QUERY"):  # methods the server itself has no handler for
        assert_error(requests.request(method, f"{stack.url}/health", timeout=5), 405, "MethodNotAllowed")


def test_bad_requests_get_their_codes(stack: LocalStack, http: Http) -> None:
    assert stack.info is not None
    malformed = http.request("POST", "/metadata", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(malformed, 400, "BadRequest")

    invalid = http.request("POST", "/metadata", json=config_body("acme-store", "Not A Slug", layout=""))
    details = assert_error(invalid, 422, "ValidationFailed")["details"]
    assert {detail["field"] for detail in details} >= {"page", "layout"}

    read_token = mmctl_token(stack, "read")
    forbidden = http.request("POST", "/metadata", token=read_token, json=config_body("acme-store", "e2e-forbidden"))
    assert_error(forbidden, 403, "Forbidden")
    assert http.request("GET", "/sites/acme-store", token=read_token).status_code == 200

    assert_error(requests.get(f"{stack.url}/metadata/{'a' * 26}", timeout=5), 404, "NotFound")
    assert_error(http.request("GET", "/sites/no-such-site"), 404, "NotFound")


def test_a_body_whose_framing_is_broken_is_answered_not_dropped(stack: LocalStack) -> None:
    # Over a raw socket: an HTTP client would not send these. Every case is in
    # tests/test_devstack_http_framing.py; here, that `python -m devstack` serves with them.
    not_a_length = raw_request("POST", "/metadata", [("Content-Length", "abc")])
    body = exchange(stack.port, not_a_length + b"hello").contract_error(400, "BadRequest")
    assert "Content-Length" in body["message"]
    too_long = raw_request("POST", "/metadata", [("Content-Length", "9" * 20)])
    exchange(stack.port, too_long + b"hello").contract_error(413, "PayloadTooLarge")
    bad_chunk = raw_request("POST", "/metadata", [("Transfer-Encoding", "chunked")])
    exchange(stack.port, bad_chunk + b"zz\r\nhello\r\n0\r\n\r\n").contract_error(400, "BadRequest")


def test_twenty_concurrent_writes_all_apply(stack: LocalStack, http: Http) -> None:
    http.applied("PUT", "/sites/e2e-burst", {"name": "Burst"})

    def create(index: int) -> str:
        return str(http.accepted("POST", "/metadata", config_body("e2e-burst", f"page-{index}"))["operationId"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        operation_ids = list(pool.map(create, range(20)))
    operations = [http.operation(operation_id) for operation_id in operation_ids]
    assert [operation["status"] for operation in operations] == ["succeeded"] * 20
    listed = http.request("GET", "/metadata", params={"site": "e2e-burst", "limit": 100}).json()["items"]
    assert sorted(item["page"] for item in listed) == sorted(f"page-{index}" for index in range(20))


def test_a_sites_manifest_and_bundle_over_http(stack: LocalStack) -> None:
    origin = {"Origin": "https://store.acme.example"}
    manifest = requests.get(f"{stack.url}/sites/acme-store/manifest", headers=origin, timeout=5)
    assert manifest.status_code == 200, manifest.text
    assert manifest.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    assert {"checkout", "home"} <= {entry["page"] for entry in manifest.json()["pages"]}
    bundle = requests.get(f"{stack.url}/sites/acme-store/bundle", headers=origin, timeout=5)
    assert bundle.headers["ETag"] == manifest.headers["ETag"]
    for entry in bundle.json()["pages"]:
        page = requests.get(f"{stack.url}/sites/acme-store/pages/{entry['page']}", timeout=5)
        assert (entry["config"], entry["etag"]) == (page.json(), page.headers["ETag"])
    cached = requests.get(
        f"{stack.url}/sites/acme-store/bundle", headers={**origin, "If-None-Match": manifest.headers["ETag"]}, timeout=5
    )
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["Cache-Control"] == "public, max-age=60, stale-while-revalidate=60, stale-if-error=86400"


def test_the_static_build_example_writes_every_page_then_fetches_only_what_changed(
    stack: LocalStack, http: Http, tmp_path: Path
) -> None:
    http.applied("PUT", "/sites/e2e-build", {"name": "Build", "allowedOrigins": [], "cacheMaxAge": 30})
    ids = {page: http.applied("POST", "/metadata", config_body("e2e-build", page))["resourceId"] for page in ("a", "b")}
    out = tmp_path / "build"

    def run(site: str) -> subprocess.CompletedProcess[str]:
        node = shutil.which("node")
        assert node, "make test needs Node.js"
        command = [node, "examples/static-build/build.mjs", "--api", stack.url, "--site", site, "--out", str(out)]
        return subprocess.run(  # noqa: S603 (node and our own example)
            command, cwd=PROJECT_DIR, capture_output=True, text=True, check=False, timeout=60
        )

    def build() -> str:
        result = run("e2e-build")
        assert result.returncode == 0, result.stderr
        return result.stdout

    def written() -> Dict[str, Any]:
        pages = sorted(path for path in out.glob("*.json") if not path.name.startswith("."))
        return {path.stem: json.loads(path.read_text()) for path in pages}

    def served(page: str) -> Any:
        return requests.get(f"{stack.url}/sites/e2e-build/pages/{page}", timeout=5).json()

    assert "2 page(s)" in build()
    assert written() == {"a": served("a"), "b": served("b")}
    assert "unchanged, 0 fetched, 1 request(s)" in build()  # one 304
    http.applied("PUT", f"/metadata/{ids['a']}", {"layout": "single", "theme": "light", "settings": {"n": 2}})
    http.applied("DELETE", f"/metadata/{ids['b']}")
    assert "revalidated, 1 fetched, 2 request(s)" in build()  # the manifest, then page a
    assert written() == {"a": served("a")}
    assert written()["a"]["layout"] == "single"
    unknown = run("nowhere")
    assert unknown.returncode == 1
    assert "nowhere: NotFound: no site 'nowhere'" in unknown.stderr


@pytest.mark.parametrize("clients", [50, 200])
def test_every_connection_of_a_burst_of_clients_is_answered(stack: LocalStack, http: Http, clients: int) -> None:
    """Clients that keep connections (requests) and ask for each to be closed, reading
    pages and writing at once: none is refused, none is left without an answer."""
    from bench.connections import burst

    site = f"e2e-burst-{clients}"
    http.applied("PUT", f"/sites/{site}", {"name": "Burst", "allowedOrigins": [], "cacheMaxAge": 30})
    http.applied("POST", "/metadata", config_body(site, "home"))
    found = burst(stack.url, ADMIN_TOKEN, site, clients, clients * 2)
    assert (found.refused, found.dropped) == (0, 0), found.reasons
    assert sum(found.answers.values()) == clients * 2
    assert set(found.answers) <= {200, 202, 503}, found.answers  # 503: moto was too slow to answer in time

    # The writes it queued are applied before the next test writes (and waits for its own).
    assert stack.info is not None
    sqs, queue = stack.aws("sqs"), stack.info.queue_url
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]

    def drained() -> bool:
        counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
        return all(counts.get(name) == "0" for name in names)

    wait_for(drained, 180, "the burst's writes to be applied", interval=0.5)


def test_parallel_repeats_of_a_keyed_write_name_one_operation(stack: LocalStack, http: Http) -> None:
    http.applied("PUT", "/sites/e2e-keyed", {"name": "Keyed"})
    body = config_body("e2e-keyed", "home")
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}

    def create(_: int) -> Dict[str, Any]:
        return http.accepted("POST", "/metadata", body, headers=key)

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(create, range(5)))
    assert len({(answer["operationId"], answer["id"]) for answer in answers}) == 1, answers
    operation = http.operation(answers[0]["operationId"])
    assert (operation["status"], operation["resourceId"], operation["version"]) == ("succeeded", answers[0]["id"], 1)
    assert http.request("GET", f"/metadata/{answers[0]['id']}", token=None).status_code == 200
    listed = http.request("GET", "/metadata", params={"site": "e2e-keyed"}).json()["items"]
    assert [item["id"] for item in listed] == [answers[0]["id"]]


def test_a_schema_guards_a_layout_over_http(stack: LocalStack, http: Http) -> None:
    http.applied("PUT", "/sites/e2e-schema", {"name": "Schema"})
    schema = {
        "type": "object",
        "required": ["hero"],
        "properties": {"hero": {"type": "object", "properties": {"title": {"type": "string", "maxLength": 10}}}},
    }
    http.applied("PUT", "/sites/e2e-schema/schemas/hero", {"schema": schema})
    body = {**config_body("e2e-schema", "home"), "layout": "hero", "settings": {"hero": {"title": 7}}}
    refused = http.request("POST", "/metadata", json=body)
    assert_error(refused, 422, "ValidationFailed")
    assert refused.json()["details"][0]["field"] == "settings/hero/title"
    fine = {**body, "settings": {"hero": {"title": "Hello"}}}
    assert http.request("POST", "/metadata?dryRun=true", json=fine).json() == {"valid": True}
    created = http.applied("POST", "/metadata", fine)
    stricter = {**schema, "properties": {"hero": {"properties": {"title": {"maxLength": 3}}}}}
    report = http.request("PUT", "/sites/e2e-schema/schemas/hero?dryRun=true", json={"schema": stricter}).json()
    assert [item["id"] for item in report["rejected"]] == [created["resourceId"]]
    assert_error(
        http.request("PUT", "/sites/e2e-schema/schemas/hero", json={"schema": stricter}), 409, "SchemaBreaksPublished"
    )


def test_a_poison_message_reaches_the_dead_letter_queue_while_other_writes_apply(stack: LocalStack, http: Http) -> None:
    info = stack.info
    assert info is not None
    sqs = stack.aws("sqs")
    poison = f"not an operation {uuid.uuid4()}"
    sqs.send_message(
        QueueUrl=info.queue_url,
        MessageBody=poison,
        MessageGroupId=f"poison-{uuid.uuid4()}",
        MessageDeduplicationId=str(uuid.uuid4()),
    )
    http.applied("PUT", "/sites/e2e-poison", {"name": "Still applied"})
    http.applied("POST", "/metadata", config_body("e2e-poison", "home"))

    def dead_lettered() -> bool:
        received = sqs.receive_message(
            QueueUrl=info.dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        return any(message["Body"] == poison for message in received)

    # maxReceiveCount receives, each after a visibility timeout (6 x the worker's timeout).
    wait_for(dead_lettered, 60, "the poison message in the dead-letter queue", interval=0.5)
    left = sqs.get_queue_attributes(
        QueueUrl=info.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert left == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_devstack_events_prints_each_change_event_once_the_page_serves_it(stack: LocalStack, http: Http) -> None:
    """What a consumer of the bus experiences: an event arrives, the page route already
    answers with the version (and ETag) it names."""
    watcher = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "devstack", "events", "--port", str(stack.port)],
        cwd=PROJECT_DIR,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stderr is not None
        assert "change events of metadata-manager.local" in watcher.stderr.readline()
        http.applied("PUT", "/sites/e2e-events", {"name": "Events"})
        created = http.applied("POST", "/metadata", config_body("e2e-events", "home"))
        assert watcher.stdout is not None
        events = [json.loads(watcher.stdout.readline()) for _ in range(2)]
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=10)
    assert [event["type"] for event in events] == ["site.changed", "page.published"]
    published = events[1]
    assert published["configId"] == created["resourceId"]
    page = http.request("GET", "/sites/e2e-events/pages/home", token=None)
    assert (page.status_code, page.headers["ETag"]) == (200, published["etag"])


def hooked_site(http: Http, site: str, url: str, name: str = "hook", **fields: Any) -> str:
    """A site with a webhook; answers the webhook's secret."""
    http.applied("PUT", f"/sites/{site}", {"name": site})
    accepted = http.accepted("PUT", f"/sites/{site}/webhooks/{name}", {"url": url, **fields})
    http.operation(accepted["operationId"])
    return str(accepted["secret"])


def test_a_webhook_receiver_gets_a_signed_event_and_the_page_already_serves_it(http: Http) -> None:
    """The "only once readable" promise, as a receiver experiences it: on receiving the
    event, it fetches the page route and sees the version the event names."""
    seen: List[Dict[str, Any]] = []

    def fetch(event: Dict[str, Any]) -> None:
        page = http.request("GET", f"/sites/{event['site']}/pages/{event['page']}", token=None)
        seen.append({"status": page.status_code, "etag": page.headers.get("ETag"), "event": event})

    with WebhookReceiver(on_event=fetch, secret=None) as receiver:
        receiver.secret = hooked_site(http, "e2e-hooks", receiver.url, events=["page.published"])
        created = http.applied("POST", "/metadata", config_body("e2e-hooks", "home"))
        http.applied("PUT", f"/metadata/{created['resourceId']}", {"layout": "l", "theme": "t", "settings": {"n": 2}})
        wait_for(lambda: len(seen) == 2, 20, "two signed deliveries")
    assert all(r.verified for r in receiver.received)
    for fetched in seen:
        assert fetched["status"] == 200
        assert fetched["etag"] == fetched["event"]["etag"]
    assert sorted(fetched["event"]["version"] for fetched in seen) == [1, 2]


def test_a_receiver_failing_three_times_gets_the_event_once_and_four_attempts_are_logged(http: Http) -> None:
    with WebhookReceiver(fail_first=3, status=500) as receiver:
        receiver.secret = hooked_site(http, "e2e-retries", receiver.url, events=["page.published"])
        http.applied("POST", "/metadata", config_body("e2e-retries", "home"))
        wait_for(lambda: receiver.events(), 30, "the delivery after three failures")

        def logged() -> List[Dict[str, Any]]:
            items = http.request("GET", "/sites/e2e-retries/webhooks/hook/deliveries").json()["items"]
            return list(items) if len(items) == 4 else []

        attempts = wait_for(logged, 10, "four logged attempts")
    assert len(receiver.events()) == 1
    assert [a["status"] for a in sorted(attempts, key=lambda a: a["attempt"])] == ["failed"] * 3 + ["delivered"]


def test_a_receiver_that_times_out_does_not_hold_up_another(http: Http) -> None:
    with WebhookReceiver(delay=8.0) as slow, WebhookReceiver() as fast:
        hooked_site(http, "e2e-slow", slow.url, events=["page.published"])
        hooked_site(http, "e2e-fast", fast.url, events=["page.published"])
        http.accepted("POST", "/metadata", config_body("e2e-slow", "home"))
        wait_for(lambda: slow.received, 10, "the slow receiver's first delivery")
        started = time.monotonic()
        http.accepted("POST", "/metadata", config_body("e2e-fast", "home"))
        wait_for(lambda: fast.received, 4, "the fast receiver's delivery while the slow one hangs")
        assert time.monotonic() - started < 4


def test_devstack_webhook_receiver_verifies_and_prints_each_delivery(stack: LocalStack, http: Http) -> None:
    port = free_port()
    secret = hooked_site(http, "e2e-cli", f"http://127.0.0.1:{port}/hooks", events=["page.published"])
    receiver = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "devstack", "webhook-receiver", "--port", str(port), "--secret", secret],
        cwd=PROJECT_DIR,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stderr is not None
        assert receiver.stdout is not None
        assert f"webhook receiver at http://127.0.0.1:{port}/hooks" in receiver.stderr.readline()
        created = http.applied("POST", "/metadata", config_body("e2e-cli", "home"))
        line = receiver.stdout.readline()
    finally:
        receiver.send_signal(signal.SIGINT)
        receiver.wait(timeout=10)
    assert line.startswith("200 verified ")
    event = json.loads(line.split(" ", 3)[3])
    assert (event["type"], event["configId"]) == ("page.published", created["resourceId"])


def fire(stack: LocalStack, name: str) -> subprocess.CompletedProcess[str]:
    """`python -m devstack fire NAME` against the module's stack."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "devstack", "fire", name, "--port", str(stack.port)],
        cwd=PROJECT_DIR,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_fire_names_the_scheduled_functions_when_asked_for_an_unknown_one(stack: LocalStack) -> None:
    result = fire(stack, "no_such_function")
    assert result.returncode == 2, result.stderr
    assert "no scheduled function 'no_such_function'" in result.stderr


def test_every_scheduled_function_is_announced_and_can_be_fired_now(stack: LocalStack) -> None:
    from app import app

    for schedule in scheduled_functions(app):
        assert f"devstack: schedule {schedule.name}: " in stack.output()
        result = fire(stack, schedule.name)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_backup_check_result_shows_at_admin_backups(stack: LocalStack, http: Http) -> None:
    fired = fire(stack, "check_backups")
    assert fired.returncode == 0, fired.stdout + fired.stderr
    report = http.request("GET", "/admin/backups").json()
    latest = report["latest"]
    assert {finding["check"] for finding in latest["findings"]} == {
        "pointInTimeRecovery",
        "onDemandBackups",
        "writeQueue",
        "deadLetterQueue",
        "webhookQueue",
        "webhookDeadLetterQueue",
    }
    backups = next(finding for finding in latest["findings"] if finding["check"] == "onDemandBackups")
    assert backups["status"] == "ok"
    assert "metadata-manager-local-" in backups["reason"]
    assert report["history"][0]["runId"] == latest["runId"]


def test_the_stack_publishes_each_queues_oldest_message_age_as_sqs_does(stack: LocalStack) -> None:
    """The scheduled check reads it from CloudWatch: moto keeps no such metric itself."""
    now = datetime.now(UTC)
    cloudwatch = stack.aws("cloudwatch")
    for queue in ("metadata-manager-local-writes.fifo", "metadata-manager-local-webhooks"):
        answer = cloudwatch.get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": queue}],
            StartTime=now - timedelta(minutes=10),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Maximum"],
        )
        assert answer["Datapoints"], queue


def test_a_second_stack_on_the_same_port_says_so_and_leaves_the_first_alone(stack: LocalStack) -> None:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "devstack", "--port", str(stack.port)],
        cwd=PROJECT_DIR,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"127.0.0.1:{stack.port} is taken" in result.stderr
    assert state.read(stack.port, Path(stack.env["DEVSTACK_STATE_DIR"])).pid == stack.process.pid
    assert requests.get(f"{stack.url}/health", timeout=5).status_code == 200


def test_a_code_change_restarts_the_api_and_the_worker(stack: LocalStack, http: Http) -> None:
    before = set(children_of(stack.process.pid))
    assert len(before) == 2
    reloads = stack.output().count("devstack: reloaded")
    # A new modification time, the same content: what saving the file in an editor does.
    os.utime(PROJECT_DIR / "app.py")
    stack.wait_output("devstack: reloaded", timeout=30, count=reloads + 1)
    after = set(children_of(stack.process.pid))
    assert len(after) == 2
    assert not before & after
    assert not any(alive(pid) for pid in before)
    http.applied("PUT", "/sites/e2e-after-reload", {"name": "After reload"})


def test_stopping_leaves_nothing_behind(stack: LocalStack) -> None:
    assert stack.info is not None
    assert stack.info.aws_endpoint is not None
    children = children_of(stack.process.pid)
    moto_port = int(stack.info.aws_endpoint.rsplit(":", 1)[1])
    assert children
    assert port_open(stack.port)
    assert port_open(moto_port)

    assert stack.stop(signal.SIGINT) == 0  # what Ctrl-C sends

    assert not [pid for pid in children if alive(pid)]
    assert not port_open(stack.port)
    assert not port_open(moto_port)
    assert not state.state_path(stack.port, Path(stack.env["DEVSTACK_STATE_DIR"])).exists()
    assert stack.output().rstrip().endswith("devstack: stopped")
