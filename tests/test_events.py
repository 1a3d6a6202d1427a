"""Change events: what each applied change sends to EventBridge, only once the change is
readable, and what a crash, a duplicate or an outage between commit and send does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, Iterator, List

import boto3
import pytest

from chalicelib.core.clock import utc_now
from chalicelib.services import get_services
from devstack.poller import lambda_sqs_event
from tests.conftest import REGION, Api
from tests.helpers import Call, Crash, EventTap, Faults, scheduled_event

SOURCE = "metadata-manager.local"


@pytest.fixture
def tap(api: Api) -> EventTap:
    return EventTap(SOURCE, region=REGION)


@pytest.fixture
def bridge_faults(api: Api) -> Iterator[Faults]:
    """Faults for the EventBridge client the functions call."""
    with Faults(get_services().event_bridge) as faults:
        yield faults


def page_events(tap: EventTap) -> List[Dict[str, Any]]:
    return [event for event in tap.events() if event["type"].startswith("page.")]


def outbox(api: Api) -> List[Dict[str, Any]]:
    """What the outbox holds now (events not yet sent)."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(api.stack.table_name)
    items: List[Dict[str, Any]] = table.scan()["Items"]
    return [item for item in items if str(item["pk"]).startswith("OUTBOX#")]


def test_a_direct_write_sends_a_page_published_event_a_consumer_can_use(shop: Api, tap: EventTap) -> None:
    config = shop.create_config(settings={"title": "Hello"})
    [envelope] = [e for e in tap.envelopes() if e["detail"]["type"] == "page.published"]
    assert (envelope["source"], envelope["detail-type"]) == (SOURCE, "page.published")
    event = envelope["detail"]
    page = shop.request("GET", "/sites/shop/pages/home", scope=None)
    assert event["site"] == "shop"
    assert event["page"] == "home"
    assert event["configId"] == config["id"]
    assert event["version"] == 1
    # The ETag is the page route's: a receiver can revalidate with it at once.
    assert event["etag"] == page.headers["ETag"]
    assert event["sequence"] == 1
    assert event["occurredAt"].endswith("Z")
    assert event["id"].startswith(event["operationId"])

    shop.write("PUT", f"/metadata/{config['id']}", {"layout": "l", "theme": "t", "settings": {"title": "Bye"}})
    second = page_events(tap)[-1]
    assert (second["type"], second["version"], second["sequence"]) == ("page.published", 2, 2)
    assert second["id"] != event["id"]
    assert outbox(shop) == []


def test_drafts_send_nothing_publishing_and_unpublishing_do(api: Api, tap: EventTap) -> None:
    api.create_site(publishMode="review")
    created = api.write("POST", "/metadata", {"site": "shop", "page": "home", "layout": "l", "theme": "t"})
    config_id = created["resourceId"]
    api.write("PUT", f"/metadata/{config_id}", {"layout": "l", "theme": "t", "settings": {"n": 2}})
    assert page_events(tap) == []  # drafts: the site serves nothing new

    api.write("POST", f"/metadata/{config_id}/publish", {"version": 2})
    api.write("POST", f"/metadata/{config_id}/publish", {"version": 1})  # a rollback
    api.write("POST", f"/metadata/{config_id}/unpublish")
    sent = [(event["type"], event.get("version"), event["sequence"]) for event in page_events(tap)]
    # The rollback goes down in version; the sequence still orders the page's events.
    assert sent == [("page.published", 2, 3), ("page.published", 1, 4), ("page.unpublished", None, 5)]


def test_deleting_a_served_page_sends_page_deleted(shop: Api, tap: EventTap) -> None:
    config = shop.create_config()
    shop.write("DELETE", f"/metadata/{config['id']}")
    deleted = page_events(tap)[-1]
    assert (deleted["type"], deleted["page"], deleted["configId"]) == ("page.deleted", "home", config["id"])
    assert "etag" not in deleted


def test_a_release_sends_one_event_per_page_and_one_for_itself(api: Api, tap: EventTap) -> None:
    api.create_site(publishMode="review")
    ids = {}
    for page in ("home", "sale"):
        ids[page] = api.write("POST", "/metadata", {"site": "shop", "page": page, "layout": "l", "theme": "t"})[
            "resourceId"
        ]
    items = [{"configId": config_id, "version": 1} for config_id in ids.values()]
    release_id = api.write("POST", "/sites/shop/releases", {"title": "Spring", "items": items}, scope="write")[
        "resourceId"
    ]
    api.write("POST", f"/sites/shop/releases/{release_id}/publish", scope="write")
    published = tap.events()
    assert sorted(event["page"] for event in published if event["type"] == "page.published") == ["home", "sale"]
    assert {event.get("releaseId") for event in published if event["type"] == "page.published"} == {release_id}
    [release_event] = [event for event in published if event["type"] == "release.published"]
    assert release_event["releaseId"] == release_id

    api.write("POST", f"/sites/shop/releases/{release_id}/revert", scope="write")
    reverted = tap.events()[len(published) :]
    assert sorted((event["type"], event.get("page")) for event in reverted) == [
        ("page.unpublished", "home"),
        ("page.unpublished", "sale"),
        ("release.reverted", None),
    ]


def test_site_and_schema_changes_send_events_when_what_is_served_changes(api: Api, tap: EventTap) -> None:
    shop = api
    shop.create_site()
    assert [event["type"] for event in tap.events()] == ["site.changed"]  # created
    site = {"name": "Renamed", "allowedOrigins": ["https://shop.example"], "cacheMaxAge": 120}
    shop.write("PUT", "/sites/shop", site)
    assert len(tap.events()) == 1  # the name is not served: no event
    shop.write("PUT", "/sites/shop", {**site, "cacheMaxAge": 30})
    assert [(event["type"], event["version"]) for event in tap.events()[1:]] == [("site.changed", 3)]

    schema = {"schema": {"type": "object"}}
    shop.write("PUT", "/sites/shop/schemas/hero", schema)
    shop.write("DELETE", "/sites/shop/schemas/hero")
    changes = [(event["type"], event["layout"], event["version"]) for event in tap.events()[2:]]
    assert changes == [("schema.changed", "hero", 1), ("schema.deleted", "hero", 2)]


def test_an_event_leaves_only_once_its_change_is_readable(shop: Api, tap: EventTap, bridge_faults: Faults) -> None:
    """When PutEvents is called, the page route already serves what the event names."""
    served: List[Any] = []

    def read_page(call: Call) -> bool:
        response = shop.request("GET", "/sites/shop/pages/home", scope=None)
        served.append((response.status_code, response.headers.get("ETag")))
        return False  # only looks

    bridge_faults.fail("unused", "PutEvents", when=read_page)
    shop.create_config()
    [event] = page_events(tap)
    assert served == [(200, event["etag"])]


def test_a_crash_between_commit_and_send_sends_the_event_when_the_message_comes_back(
    shop: Api, tap: EventTap, bridge_faults: Faults, quiet_service_logs: None
) -> None:
    before = len(tap.events())
    bridge_faults.throw(lambda call: Crash("after commit, before PutEvents"), "PutEvents", times=1)
    response = shop.request(
        "POST", "/metadata", {"site": "shop", "page": "home", "layout": "l", "theme": "t"}, scope="write"
    )
    with pytest.raises(Crash):
        deliver(shop)
    assert shop.request("GET", "/sites/shop/pages/home", scope=None).status_code == 200  # committed
    assert tap.events()[before:] == []
    assert len(outbox(shop)) == 1  # committed with the change, not sent

    deliver(shop)  # the message comes back
    [event] = tap.events()[before:]
    assert event["operationId"] == response.json_body["operationId"]
    assert outbox(shop) == []


def test_a_crash_after_send_sends_the_same_event_again_and_nothing_else(
    shop: Api, tap: EventTap, bridge_faults: Faults, quiet_service_logs: None
) -> None:
    before = len(tap.events())
    bridge_faults.throw(lambda call: Crash("after PutEvents"), "PutEvents", after=True, times=1)
    shop.request("POST", "/metadata", {"site": "shop", "page": "home", "layout": "l", "theme": "t"}, scope="write")
    with pytest.raises(Crash):
        deliver(shop)
    deliver(shop)  # the message comes back
    sent = tap.events()[before:]
    # At least once: the same event (same id) twice; receivers dedupe by id.
    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert outbox(shop) == []


def test_eventbridge_down_does_not_hold_writes_back_and_the_sweeper_sends_later(
    shop: Api, tap: EventTap, bridge_faults: Faults, monkeypatch: pytest.MonkeyPatch, quiet_service_logs: None
) -> None:
    before = len(tap.events())
    bridge_faults.fail("InternalException", "PutEvents")
    operation = shop.write("POST", "/metadata", {"site": "shop", "page": "home", "layout": "l", "theme": "t"})
    assert operation["status"] == "succeeded"
    assert shop.request("GET", "/sites/shop/pages/home", scope=None).status_code == 200
    assert len(outbox(shop)) == 1

    bridge_faults.heal()
    # A minute on, the sweeper finds it (younger events are the worker's to send).
    later = utc_now() + timedelta(minutes=2)
    monkeypatch.setattr(get_services(), "clock", lambda: later)
    sent = shop.client.lambda_.invoke("send_unsent_events", scheduled_event(shop)).payload
    assert sent == {"sent": 1}
    [event] = tap.events()[before:]
    assert event["operationId"] == operation["operationId"]
    assert outbox(shop) == []


def test_entries_eventbridge_refuses_are_sent_again(shop: Api, tap: EventTap, bridge_faults: Faults) -> None:
    before = len(tap.events())

    def refuse_first(call: Call, answer: Dict[str, Any]) -> None:
        answer["FailedEntryCount"] = 1
        answer["Entries"] = [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}]

    bridge_faults.rewrite("PutEvents", refuse_first, times=1)
    shop.create_config()
    # The refused entry was put again: two PutEvents. The first put's entry arrived as well
    # (the rewrite only changes the answer), so the receiver has it twice: it dedupes by id.
    assert bridge_faults.seen.count("PutEvents") == 2
    sent = tap.events()[before:]
    assert len(sent) == 2
    assert {event["id"] for event in sent} == {sent[-1]["id"]}
    assert outbox(shop) == []


def test_a_crash_before_the_commit_sends_nothing_until_the_change_is_applied(
    shop: Api, tap: EventTap, table_faults: Faults, quiet_service_logs: None
) -> None:
    before = len(tap.events())
    table_faults.throw(lambda call: Crash("before the commit"), "TransactWriteItems", times=1)
    shop.request("POST", "/metadata", {"site": "shop", "page": "home", "layout": "l", "theme": "t"}, scope="write")
    with pytest.raises(Crash):
        deliver(shop)
    assert shop.request("GET", "/sites/shop/pages/home", scope=None).status_code == 404
    assert tap.events()[before:] == []
    assert outbox(shop) == []

    deliver(shop)  # the message comes back: applied now, and its event sent once
    [event] = tap.events()[before:]
    assert event["type"] == "page.published"
    assert outbox(shop) == []


def deliver(api: Api) -> None:
    """One delivery of what is queued to the worker; what it leaves unfinished (it
    crashed) comes back, as after the visibility timeout."""
    messages = api.queue.receive_all()
    try:
        api.invoke_worker(lambda_sqs_event(messages, api.stack.queue_arn, REGION))
    except BaseException:
        api.queue.release(messages)
        raise
    for message in messages:  # what Lambda's event source does after a success
        api.queue.sqs.delete_message(QueueUrl=api.queue.url, ReceiptHandle=message["ReceiptHandle"])


def test_the_sweeper_stops_in_time_and_the_next_run_sends_the_rest(
    shop: Api, tap: EventTap, bridge_faults: Faults, quiet_service_logs: None
) -> None:
    bridge_faults.fail("InternalException", "PutEvents")
    for page in ("a", "b", "c"):
        shop.write("POST", "/metadata", {"site": "shop", "page": page, "layout": "l", "theme": "t"})
    bridge_faults.heal()
    before = len(tap.events())
    later = utc_now() + timedelta(minutes=2)
    left = iter([30.0, 30.0, 1.5])  # seconds left before each operation's events (the margin is 2)
    assert get_services().events.sweep(later, lambda: next(left)) == 2
    assert len(outbox(shop)) == 1
    assert get_services().events.sweep(later, lambda: 30.0) == 1
    assert outbox(shop) == []
    assert len(tap.events()) - before == 3
