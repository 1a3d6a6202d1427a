"""Webhooks as an admin and a receiver see them: set up through the API, secrets shown
once and stored sealed, each change event delivered signed (Standard Webhooks) to a real
receiver on 127.0.0.1, failed attempts retried with backoff and logged, 410 disabling,
a day of failures dead-lettered, checked and redriven, and no receiver holding up another."""

from __future__ import annotations

import base64
import itertools
import time
from datetime import timedelta
from typing import Any, Dict, Iterator, List

import boto3
import pytest
from standardwebhooks import Webhook as Verifier

from chalicelib.core import isoformat, utc_now
from chalicelib.events import DeliveryMessage
from chalicelib.services import get_services, reset_services
from chalicelib.store import keys
from devstack.poller import QueuePoller
from devstack.receiver import WebhookReceiver
from tests.conftest import Api
from tests.helpers import Faults, Queue, assert_error, scheduled_event, wait_for


class Hooks:
    """The API, and the delivery function fed from the delivery queue as Lambda would."""

    def __init__(self, api: Api) -> None:
        self.api = api
        sqs = boto3.client("sqs", region_name="us-east-1")
        self.poller = QueuePoller(sqs, api.stack.webhook_queue_url, self._invoke)
        self.queue = Queue(sqs, api.stack.webhook_queue_url)
        self.dead_letters = Queue(sqs, api.stack.webhook_dead_letter_queue_url)

    def _invoke(self, event: Dict[str, Any]) -> Any:
        return self.api.client.lambda_.invoke("deliver_webhooks", event).payload

    def deliver(self) -> int:
        return self.poller.drain()

    def put(self, name: str, url: str, site: str = "shop", **fields: Any) -> Dict[str, Any]:
        response = self.api.request("PUT", f"/sites/{site}/webhooks/{name}", {"url": url, **fields})
        assert response.status_code == 202, response.body
        self.api.apply()
        operation = self.api.request("GET", f"/operations/{response.json_body['operationId']}").json_body
        assert operation["status"] == "succeeded", operation
        return dict(response.json_body)

    def deliveries(self, name: str, site: str = "shop") -> List[Dict[str, Any]]:
        response = self.api.request("GET", f"/sites/{site}/webhooks/{name}/deliveries")
        assert response.status_code == 200, response.body
        return list(response.json_body["items"])

    def webhook(self, name: str, site: str = "shop") -> Dict[str, Any]:
        response = self.api.request("GET", f"/sites/{site}/webhooks/{name}")
        assert response.status_code == 200, response.body
        return dict(response.json_body)


@pytest.fixture
def hooks(shop: Api) -> Hooks:
    return Hooks(shop)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as started:
        yield started


def publish(api: Api, page: str = "home") -> Dict[str, Any]:
    return api.create_config(page=page)


def test_a_new_webhook_shows_its_secret_once_and_stores_it_sealed(hooks: Hooks, receiver: WebhookReceiver) -> None:
    created = hooks.put("cdn", receiver.url)
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    shown = hooks.webhook("cdn")
    assert shown["url"] == receiver.url
    assert shown["enabled"] is True
    assert shown["version"] == 1
    assert [set(s) for s in shown["secrets"]] == [{"createdAt"}]
    assert secret not in str(shown)
    # Replacing it keeps the secret, and shows none.
    replaced = hooks.put("cdn", receiver.url, events=["page.published"])
    assert "secret" not in replaced
    assert hooks.webhook("cdn")["secrets"] == shown["secrets"]
    # The table holds a KMS ciphertext bound to this site and webhook only.
    item: Any = get_services().table.get_item(Key=keys.webhook_key("shop", "cdn"))["Item"]
    sealed = base64.b64decode(item["secrets"][0]["sealed"])
    assert secret.encode() not in sealed
    kms = boto3.client("kms", region_name="us-east-1")
    assert kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"site": "shop", "webhook": "cdn"})["Plaintext"] == (
        secret.encode()
    )
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"site": "shop", "webhook": "other"})


def test_a_repeat_with_the_same_idempotency_key_does_not_show_the_secret_again(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    headers = {"Idempotency-Key": "make-cdn-hook"}
    first = hooks.api.request("PUT", "/sites/shop/webhooks/cdn", {"url": receiver.url}, headers=headers)
    again = hooks.api.request("PUT", "/sites/shop/webhooks/cdn", {"url": receiver.url}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json_body["secret"].startswith("whsec_")
    assert again.json_body["operationId"] == first.json_body["operationId"]
    assert "secret" not in again.json_body


def test_a_publish_reaches_the_receiver_signed_and_the_attempt_is_logged(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    secret = hooks.put("cdn", receiver.url)["secret"]
    config = publish(hooks.api)
    assert hooks.deliver() == 1
    (got,) = receiver.received
    event = Verifier(secret).verify(got.body, got.headers)
    assert event["type"] == "page.published"
    assert event["configId"] == config["id"]
    assert (event["site"], event["page"], event["version"]) == ("shop", "home", 1)
    assert event["etag"] == f'"{config["id"]}.1"'
    assert got.headers["webhook-id"] == event["id"]
    assert got.headers["content-type"] == "application/json"
    (attempt,) = hooks.deliveries("cdn")
    assert attempt["status"] == "delivered"
    assert attempt["statusCode"] == 200
    assert attempt["attempt"] == 1
    assert attempt["eventId"] == event["id"]
    assert attempt["eventType"] == "page.published"


def test_a_webhook_gets_only_the_event_types_it_subscribes_to(hooks: Hooks, receiver: WebhookReceiver) -> None:
    hooks.put("sites-only", receiver.url, events=["site.changed"])
    publish(hooks.api)
    hooks.deliver()
    assert receiver.received == []
    hooks.api.create_site(allowedOrigins=["https://other.example"])
    hooks.deliver()
    assert [event["type"] for event in receiver.events()] == ["site.changed"]


def test_a_receiver_failing_three_times_gets_the_event_once_delivered_after_four_attempts(
    hooks: Hooks,
) -> None:
    with WebhookReceiver(fail_first=3, status=503) as receiver:
        hooks.put("cdn", receiver.url)
        publish(hooks.api)

        def delivered() -> bool:
            hooks.deliver()
            return bool(receiver.events())

        # The local stage retries after about 1, 2 and 4 seconds (WEBHOOK_RETRY_BASE_SECONDS=1).
        wait_for(delivered, 30, "the fourth attempt")
    assert len(receiver.events()) == 1
    attempts = sorted(hooks.deliveries("cdn"), key=lambda attempt: attempt["attempt"])
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert [a["status"] for a in attempts] == ["failed", "failed", "failed", "delivered"]
    assert [a["statusCode"] for a in attempts] == [503, 503, 503, 200]
    assert len({a["eventId"] for a in attempts}) == 1
    assert all(a["nextAttemptAt"] > a["attemptedAt"] for a in attempts[:3])
    # Backoff: each wait is at least half of twice the one before.
    gaps = [got.at for got in receiver.received]
    waits = [later - earlier for earlier, later in itertools.pairwise(gaps)]
    assert waits[2] > waits[0]


def test_a_redirect_is_not_followed(hooks: Hooks) -> None:
    with WebhookReceiver(fail_first=1, status=302) as receiver:
        hooks.put("cdn", receiver.url)
        publish(hooks.api)
        hooks.deliver()
        assert len(receiver.received) == 1
        (attempt,) = hooks.deliveries("cdn")
        assert attempt["status"] == "failed"
        assert attempt["statusCode"] == 302
        assert attempt["nextAttemptAt"]


def test_410_gone_disables_the_webhook_and_a_put_enables_it_again(hooks: Hooks) -> None:
    with WebhookReceiver(fail_first=1, status=410) as receiver:
        hooks.put("cdn", receiver.url)
        publish(hooks.api)
        hooks.deliver()
        hooks.api.apply()  # the webhook.disable operation the delivery queued
        shown = hooks.webhook("cdn")
        assert shown["enabled"] is False
        assert "410" in shown["disabledReason"]
        assert shown["version"] == 2
        (attempt,) = hooks.deliveries("cdn")
        assert attempt["status"] == "gone"
        assert attempt["statusCode"] == 410
        assert "nextAttemptAt" not in attempt
        audit = hooks.api.request("GET", "/sites/shop/audit").json_body["items"]
        assert audit[0]["type"] == "webhook.disable"
        assert audit[0]["actor"]["name"] == "webhook delivery"
        publish(hooks.api, page="about")
        hooks.deliver()
        assert len(receiver.received) == 1  # nothing more for a disabled webhook
        assert_error(hooks.api.request("POST", "/sites/shop/webhooks/cdn/test"), 409, "Conflict")
        hooks.put("cdn", receiver.url)
        assert hooks.webhook("cdn")["enabled"] is True
        publish(hooks.api, page="contact")
        hooks.deliver()
        assert [event["page"] for event in receiver.events()] == ["contact"]


def test_a_day_of_failures_dead_letters_the_delivery_the_check_says_so_and_redrive_brings_it_back(
    hooks: Hooks,
) -> None:
    with WebhookReceiver(fail_first=1, status=500) as receiver:
        hooks.put("cdn", receiver.url)
        day_ago = utc_now() - timedelta(hours=24, minutes=1)
        event = {"id": "OLD.00", "type": "page.published", "site": "shop", "page": "home", "occurredAt": "x"}
        message = DeliveryMessage(site="shop", webhook="cdn", event=event, attempt=9, firstQueuedAt=isoformat(day_ago))
        get_services().deliveries.send([(message, 0)])
        hooks.deliver()
        (attempt,) = hooks.deliveries("cdn")
        assert attempt["status"] == "failed"
        assert attempt["deadLettered"] is True
        assert attempt["attempt"] == 9
        (dead,) = hooks.dead_letters.peek()
        assert "OLD.00" in dead["Body"]
        hooks.api.client.lambda_.invoke("check_backups", scheduled_event(hooks.api))
        report = hooks.api.request("GET", "/admin/backups").json_body["latest"]
        finding = next(f for f in report["findings"] if f["check"] == "webhookDeadLetterQueue")
        assert finding["status"] == "failing"
        assert "redrive" in finding["reason"]
        moved = hooks.api.request("POST", "/admin/redrive?queue=webhooks")
        assert moved.status_code == 200, moved.body
        assert moved.json_body["moved"] == 1
        hooks.deliver()
        assert [e["id"] for e in receiver.events()] == ["OLD.00"]
        assert hooks.dead_letters.peek() == []


def test_a_slow_receiver_does_not_hold_up_another(hooks: Hooks) -> None:
    hooks.api.create_site("blog")
    with WebhookReceiver(delay=3.0) as slow, WebhookReceiver() as fast:
        hooks.put("slow", slow.url)
        hooks.put("fast", fast.url, site="blog")
        publish(hooks.api)
        hooks.api.create_config(site="blog", page="home")
        started = time.monotonic()
        hooks.deliver()
        assert len(slow.received) == len(fast.received) == 1
        assert fast.received[0].at - started < 1.5
        assert slow.received[0].at - started < 1.5  # both were posted at once


def test_rotation_signs_with_both_secrets_until_the_overlap_ends(hooks: Hooks, receiver: WebhookReceiver) -> None:
    old = hooks.put("cdn", receiver.url)["secret"]
    rotated = hooks.api.request("POST", "/sites/shop/webhooks/cdn/rotate-secret")
    assert rotated.status_code == 202, rotated.body
    new = rotated.json_body["secret"]
    assert new.startswith("whsec_")
    assert new != old
    hooks.api.apply()
    secrets = hooks.webhook("cdn")["secrets"]
    assert len(secrets) == 2
    assert "expiresAt" in secrets[0]
    assert "expiresAt" not in secrets[1]
    assert secrets[0]["expiresAt"] > isoformat(utc_now() + timedelta(hours=23))
    publish(hooks.api)
    hooks.deliver()
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert Verifier(old).verify(got.body, got.headers) == Verifier(new).verify(got.body, got.headers)


def test_the_test_route_sends_a_signed_test_event(hooks: Hooks, receiver: WebhookReceiver) -> None:
    secret = hooks.put("cdn", receiver.url, events=["schema.changed"])["secret"]
    queued = hooks.api.request("POST", "/sites/shop/webhooks/cdn/test")
    assert queued.status_code == 202, queued.body
    assert queued.json_body["type"] == "webhook.test"
    hooks.deliver()
    (got,) = receiver.received
    assert Verifier(secret).verify(got.body, got.headers)["id"] == queued.json_body["eventId"]
    assert hooks.deliveries("cdn")[0]["eventType"] == "webhook.test"


def test_a_deleted_webhook_gets_nothing_more_and_answers_404(hooks: Hooks, receiver: WebhookReceiver) -> None:
    hooks.put("cdn", receiver.url)
    publish(hooks.api)
    operation = hooks.api.write("DELETE", "/sites/shop/webhooks/cdn")
    assert operation["status"] == "succeeded", operation
    hooks.deliver()  # the delivery queued before the deletion is dropped
    assert receiver.received == []
    assert_error(hooks.api.request("GET", "/sites/shop/webhooks/cdn"), 404, "NotFound")
    assert_error(hooks.api.request("DELETE", "/sites/shop/webhooks/cdn"), 404, "NotFound")
    assert hooks.api.request("GET", "/sites/shop/webhooks").json_body == {"items": [], "nextCursor": None}


def test_webhooks_are_listed_by_name_a_page_at_a_time(hooks: Hooks, receiver: WebhookReceiver) -> None:
    for name in ("c", "a", "b"):
        hooks.put(name, receiver.url)
    first = hooks.api.request("GET", "/sites/shop/webhooks?limit=2").json_body
    assert [w["name"] for w in first["items"]] == ["a", "b"]
    rest = hooks.api.request("GET", f"/sites/shop/webhooks?limit=2&cursor={first['nextCursor']}").json_body
    assert [w["name"] for w in rest["items"]] == ["c"]
    assert rest["nextCursor"] is None


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/sites/shop/webhooks/Bad_Name", {"url": "http://127.0.0.1:9/"}, 400, "BadRequest"),
        ("/sites/nosuch/webhooks/cdn", {"url": "http://127.0.0.1:9/"}, 404, "NotFound"),
        ("/sites/shop/webhooks/cdn", {"url": "http://10.0.0.8/hooks"}, 422, "ValidationFailed"),
        ("/sites/shop/webhooks/cdn", {"url": "ftp://127.0.0.1/"}, 422, "ValidationFailed"),
        (
            "/sites/shop/webhooks/cdn",
            {"url": "http://127.0.0.1:9/", "events": ["page.viewed"]},
            422,
            "ValidationFailed",
        ),
        ("/sites/shop/webhooks/cdn", {"url": "http://127.0.0.1:9/", "events": []}, 422, "ValidationFailed"),
        ("/sites/shop/webhooks/cdn", {"url": "http://127.0.0.1:9/", "secret": "mine"}, 422, "ValidationFailed"),
        ("/sites/shop/webhooks/cdn", {"url": "x" * 3000}, 422, "ValidationFailed"),
    ],
)
def test_a_bad_webhook_is_refused_and_nothing_is_queued(
    hooks: Hooks, path: str, body: Dict[str, Any], status: int, code: str
) -> None:
    assert_error(hooks.api.request("PUT", path, body), status, code)
    assert hooks.api.queued() == []


def test_the_local_stage_refuses_a_url_that_is_not_loopback_even_when_resolved(hooks: Hooks) -> None:
    error = assert_error(
        hooks.api.request("PUT", "/sites/shop/webhooks/cdn", {"url": "https://hooks.example/x"}),
        422,
        "ValidationFailed",
    )
    assert "127.0.0.1" in error["message"]


def test_a_site_has_at_most_ten_webhooks(hooks: Hooks, receiver: WebhookReceiver) -> None:
    for number in range(10):
        hooks.put(f"hook-{number}", receiver.url)
    assert_error(hooks.api.request("PUT", "/sites/shop/webhooks/one-more", {"url": receiver.url}), 409, "Conflict")
    hooks.put("hook-3", receiver.url)  # replacing one is fine


def test_a_delivery_queue_outage_leaves_the_events_in_the_outbox_for_the_sweeper(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    hooks.put("cdn", receiver.url)
    with Faults(get_services().sqs) as faults:
        faults.unreachable("SendMessageBatch")
        publish(hooks.api)
    hooks.deliver()
    assert receiver.received == []
    later = utc_now() + timedelta(minutes=2)
    unsent = get_services().store.outbox.unsent(later)
    assert [[event.type for event in events] for events in unsent] == [["page.published"]]
    # The sweeper, a minute on, in a new container (it looks the delivery queue up by name).
    reset_services()
    get_services().clock = lambda: later
    swept = hooks.api.client.lambda_.invoke("send_unsent_events", scheduled_event(hooks.api)).payload
    assert swept == {"sent": 1}
    hooks.deliver()
    assert [event["type"] for event in receiver.events()] == ["page.published"]


def test_a_cold_delivery_function_finds_its_queues_by_name(hooks: Hooks) -> None:
    """A new container (no queue URL given, as `chalice deploy` leaves it) looks up the
    delivery queue for a retry and the write queue for a 410's webhook.disable."""
    with WebhookReceiver(fail_first=1, status=500) as failing, WebhookReceiver(fail_first=1, status=410) as gone:
        hooks.put("failing", failing.url)
        hooks.put("gone", gone.url)
        publish(hooks.api)
        reset_services()
        assert hooks.deliver() == 2
        assert len(hooks.api.queued()) == 1  # the webhook.disable operation
        # The failed delivery's next attempt, held back by SQS for a second or two.
        assert len(wait_for(hooks.queue.peek, 5, "the next attempt")) == 1


def test_a_dry_run_checks_the_webhook_without_making_a_secret(hooks: Hooks, receiver: WebhookReceiver) -> None:
    with Faults(get_services().kms) as kms:
        checked = hooks.api.request("PUT", "/sites/shop/webhooks/cdn?dryRun=true", {"url": receiver.url})
        assert checked.status_code == 200, checked.body
        assert checked.json_body == {"valid": True}
        rotated = hooks.api.request("POST", "/sites/shop/webhooks/cdn/rotate-secret?dryRun=true")
        assert_error(rotated, 404, "NotFound")
        assert kms.seen == []
    assert hooks.api.queued() == []
    assert_error(hooks.api.request("GET", "/sites/shop/webhooks/cdn"), 404, "NotFound")
