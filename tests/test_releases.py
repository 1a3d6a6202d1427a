"""Releases: several pages of a site published together after approvals, now or on a
schedule, in one transaction or not at all, and reverted in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Dict, List

import pytest

from devstack.poller import lambda_sqs_event
from tests.conftest import REGION, Api
from tests.helpers import Crash, Faults, assert_error, sleep_until


def page_with_draft(api: Api, page: str, published: bool = True) -> str:
    """A config whose page serves version 1 (or nothing) and has a draft at version 2."""
    body = {"site": "shop", "page": page, "layout": "hero", "theme": "t", "settings": {"title": f"{page} v1"}}
    config_id: str = api.write("POST", "/metadata", body, scope="write")["resourceId"]
    if published:
        api.write("POST", f"/metadata/{config_id}/publish", {"version": 1}, scope="write")
    change = {"layout": "hero", "theme": "t", "settings": {"title": f"{page} v2"}}
    api.write("PUT", f"/metadata/{config_id}", change, scope="write")
    return config_id


@pytest.fixture
def pages(api: Api) -> Dict[str, str]:
    """A review site (no approvals yet) with a published home page and an unpublished new one."""
    api.create_site(publishMode="review")
    return {"home": page_with_draft(api, "home"), "new": page_with_draft(api, "new", published=False)}


def require_approvals(api: Api, count: int) -> None:
    api.create_site(publishMode="review", requiredApprovals=count)


def create(api: Api, pages: Dict[str, str], **fields: Any) -> str:
    body = {"title": "Spring", "items": [{"configId": config, "version": 2} for config in pages.values()], **fields}
    operation = api.write("POST", "/sites/shop/releases", body, scope="write")
    assert operation["status"] == "succeeded", operation
    release_id: str = operation["resourceId"]
    return release_id


def release(api: Api, release_id: str) -> Dict[str, Any]:
    response = api.request("GET", f"/sites/shop/releases/{release_id}", scope="read")
    assert response.status_code == 200, response.body
    body: Dict[str, Any] = response.json_body
    return body


def act(api: Api, release_id: str, action: str, scope: str = "write") -> Dict[str, Any]:
    return api.write("POST", f"/sites/shop/releases/{release_id}/{action}", scope=scope)


def served(api: Api, page: str) -> Any:
    response = api.request("GET", f"/sites/shop/pages/{page}", scope=None)
    return response.json_body["settings"]["title"] if response.status_code == 200 else response.status_code


def test_a_release_is_approved_published_and_reverted(api: Api, pages: Dict[str, str]) -> None:
    require_approvals(api, 1)
    release_id = create(api, pages)
    found = release(api, release_id)
    assert (found["status"], found["requiredApprovals"], found["approvals"]) == ("open", 1, [])
    assert found["createdBy"]["name"] == "write tests"
    items = {item["page"]: item for item in found["items"]}
    assert (items["home"]["liveVersion"], items["home"]["version"]) == (1, 2)
    assert items["home"]["changes"] == [
        {"field": "settings/title", "change": "changed", "before": "home v1", "after": "home v2"}
    ]
    assert "liveVersion" not in items["new"]
    assert_error(
        api.request("POST", f"/sites/shop/releases/{release_id}/publish", scope="write"), 409, "ApprovalRequired"
    )

    assert_error(api.request("POST", f"/sites/shop/releases/{release_id}/approve", scope="write"), 409, "SelfApproval")
    approved = act(api, release_id, "approve", scope="admin")
    assert approved["status"] == "succeeded", approved
    assert release(api, release_id)["status"] == "approved"
    again = api.request("POST", f"/sites/shop/releases/{release_id}/approve", scope="admin")
    assert_error(again, 409, "AlreadyApproved")
    assert (served(api, "home"), served(api, "new")) == ("home v1", 404)

    assert act(api, release_id, "publish")["status"] == "succeeded"

    assert (served(api, "home"), served(api, "new")) == ("home v2", "new v2")
    published = release(api, release_id)
    assert published["status"] == "published"
    assert {before["page"]: before.get("version") for before in published["servedBefore"]} == {"home": 1, "new": None}
    assert published["publishedAt"] >= published["createdAt"]

    assert act(api, release_id, "revert")["status"] == "succeeded"

    assert (served(api, "home"), served(api, "new")) == ("home v1", 404)
    assert release(api, release_id)["status"] == "reverted"
    types = [entry["type"] for entry in api.request("GET", "/sites/shop/audit?limit=4").json_body["items"]]
    assert types == ["release.revert", "release.publish", "release.approve", "release.create"]


def test_a_release_with_a_config_gone_fails_and_changes_no_page(api: Api, pages: Dict[str, str]) -> None:
    release_id = create(api, pages)
    api.write("DELETE", f"/metadata/{pages['new']}", scope="write")  # never published: deletable

    operation = act(api, release_id, "publish")

    assert (operation["status"], operation["error"]["code"]) == ("failed", "ReleaseFailed")
    assert [detail["field"] for detail in operation["error"]["details"]] == ["items.1"]  # the "new" page
    found = release(api, release_id)
    assert (found["status"], found["failure"]["code"]) == ("failed", "ReleaseFailed")
    assert "no page was changed" in found["failure"]["message"]
    assert served(api, "home") == "home v1"
    assert_error(
        api.request("POST", f"/sites/shop/releases/{release_id}/publish", scope="write"), 409, "ReleaseStateConflict"
    )


def test_a_page_changed_since_the_release_went_live_stops_its_revert(api: Api, pages: Dict[str, str]) -> None:
    release_id = create(api, pages)
    act(api, release_id, "publish")
    # Someone publishes home again: another version, then the release's own version anew.
    api.write("POST", f"/metadata/{pages['home']}/publish", {"version": 1}, scope="write")
    api.write("POST", f"/metadata/{pages['home']}/publish", {"version": 2}, scope="write")

    operation = act(api, release_id, "revert")

    assert (operation["status"], operation["error"]["code"]) == ("failed", "PageChangedSince")
    assert (served(api, "home"), served(api, "new")) == ("home v2", "new v2")  # nothing reverted
    assert release(api, release_id)["status"] == "published"


def test_a_scheduled_release_is_published_by_the_scheduler_once(api: Api, pages: Dict[str, str]) -> None:
    # Far enough ahead to be accepted and applied before it is due, on a busy machine too.
    publish_at = datetime.now(UTC) + timedelta(seconds=3)
    release_id = create(api, pages, publishAt=publish_at.isoformat())
    assert release(api, release_id)["status"] == "scheduled"
    assert run_scheduler(api) == 0  # not due yet
    sleep_until(publish_at)

    assert run_scheduler(api) == 1
    assert run_scheduler(api) == 1  # queued again before it is applied: the same operation
    api.apply()

    found = release(api, release_id)
    assert found["status"] == "published"
    assert found["publishedAt"] >= found["publishAt"]
    assert (served(api, "home"), served(api, "new")) == ("home v2", "new v2")
    assert run_scheduler(api) == 0
    entries = api.request("GET", "/sites/shop/audit?limit=2").json_body["items"]
    assert [entry["type"] for entry in entries] == ["release.publish", "release.create"]
    assert entries[0]["actor"] == {"name": "the release scheduler"}


def run_scheduler(api: Api) -> int:
    event = api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:rule/releases"]
    )
    queued: int = api.client.lambda_.invoke("publish_due_releases", event).payload["queued"]
    return queued


def test_a_cancelled_release_is_never_published(api: Api, pages: Dict[str, str]) -> None:
    release_id = create(api, pages)
    assert act(api, release_id, "cancel")["status"] == "succeeded"
    assert release(api, release_id)["status"] == "cancelled"
    for action in ("publish", "approve", "cancel", "revert"):
        response = api.request("POST", f"/sites/shop/releases/{release_id}/{action}", scope="admin")
        assert_error(response, 409, "ReleaseStateConflict")
    assert served(api, "home") == "home v1"


def test_releases_are_listed_newest_first_and_by_status(api: Api, pages: Dict[str, str]) -> None:
    first, second, third = (create(api, pages) for _ in range(3))
    act(api, second, "cancel")
    listed = api.request("GET", "/sites/shop/releases", scope="read").json_body
    assert [item["id"] for item in listed["items"]] == [third, second, first]
    cancelled = api.request("GET", "/sites/shop/releases?status=cancelled", scope="read").json_body
    assert [item["id"] for item in cancelled["items"]] == [second]
    one = api.request("GET", "/sites/shop/releases?status=approved&limit=1", scope="read").json_body
    more = api.request("GET", f"/sites/shop/releases?status=approved&limit=1&cursor={one['nextCursor']}", scope="read")
    assert [item["id"] for item in one["items"] + more.json_body["items"]] == [third, first]
    assert_error(api.request("GET", "/sites/shop/releases?status=done", scope="read"), 400, "BadRequest")


def invalid(api: Api, body: Dict[str, Any]) -> List[str]:
    response = api.request("POST", "/sites/shop/releases", body, scope="write")
    assert_error(response, 422, "ValidationFailed")
    return [detail["field"] for detail in response.json_body["details"]]


def test_an_invalid_release_is_422_naming_the_item(api: Api, pages: Dict[str, str]) -> None:
    home = {"configId": pages["home"], "version": 2}
    assert invalid(api, {"title": "x", "items": [home, home]}) == ["items.1.configId"]
    assert invalid(api, {"title": "x", "items": [{**home, "version": 9}]}) == ["items.0"]
    assert invalid(api, {"title": "x", "items": [{"configId": "a" * 26, "version": 1}]}) == ["items.0"]
    assert invalid(api, {"title": "x", "items": []}) == ["items"]
    assert invalid(api, {"title": "x", "items": [home] * 51}) == ["items"]
    assert invalid(api, {"title": "", "items": [home]}) == ["title"]
    assert invalid(api, {"title": "x", "items": [home], "publishAt": "2020-01-01T00:00:00Z"}) == ["publishAt"]
    assert invalid(api, {"title": "x", "items": [home], "publishAt": "tomorrow"}) == ["publishAt"]
    api.create_site("other")
    other = api.write("POST", "/metadata", {"site": "other", "page": "p", "layout": "l", "theme": "t"}, scope="write")
    assert invalid(api, {"title": "x", "items": [{"configId": other["resourceId"], "version": 1}]}) == ["items.0"]
    unknown = api.request("POST", "/sites/nowhere/releases", {"title": "x", "items": [home]}, scope="write")
    assert_error(unknown, 404, "NotFound")
    assert api.queued() == []


# --- under faults: crashes around the commit, redelivery, a race with a config write ----


@pytest.mark.parametrize("moment", ["before", "after"])
def test_a_crash_around_the_commit_never_publishes_half_a_release_or_twice(
    api: Api, pages: Dict[str, str], table_faults: Faults, moment: str
) -> None:
    release_id = create(api, pages)
    accepted = api.request("POST", f"/sites/shop/releases/{release_id}/publish", scope="write")
    messages = api.queue.receive_all()
    table_faults.throw(lambda call: Crash(moment), "TransactWriteItems", after=moment == "after", times=1)

    with pytest.raises(Crash):
        api.invoke_worker(lambda_sqs_event(messages, api.stack.queue_arn, REGION))
    # Before the commit nothing changed; after it, everything did, though the message is back.
    expected = ("home v1", 404) if moment == "before" else ("home v2", "new v2")
    assert (served(api, "home"), served(api, "new")) == expected

    # The message comes back, twice even: applied once, audited once.
    api.queue.release(messages)
    again = api.queue.receive_all()
    api.invoke_worker(lambda_sqs_event(again + again, api.stack.queue_arn, REGION))
    assert (served(api, "home"), served(api, "new")) == ("home v2", "new v2")
    operation = api.request("GET", f"/operations/{accepted.json_body['operationId']}").json_body
    assert operation["status"] == "succeeded", operation
    entries = api.request("GET", "/sites/shop/audit?limit=100").json_body["items"]
    assert [entry["type"] for entry in entries].count("release.publish") == 1


def test_a_config_write_racing_a_release_is_read_again_not_overwritten(
    api: Api, pages: Dict[str, str], table_faults: Faults
) -> None:
    """The release and a config write are in different queue groups, so they can be
    applied at the same time: the page's revision makes the later transaction read again."""
    release_id = create(api, pages)
    publishing = api.request("POST", f"/sites/shop/releases/{release_id}/publish", scope="write")
    change = {"layout": "hero", "theme": "t", "settings": {"title": "home v3"}}
    writing = api.request("PUT", f"/metadata/{pages['home']}", change, scope="write")
    assert (publishing.status_code, writing.status_code) == (202, 202)
    messages = api.queue.receive_all()
    # Deliver the config write between the release's read and its commit.
    write_message = next(m for m in messages if "config.update" in m["Body"])
    release_message = next(m for m in messages if "release.publish" in m["Body"])
    done: List[str] = []

    def interleave(call: Any) -> bool:
        if not done:
            done.append("write")
            api.invoke_worker(lambda_sqs_event([write_message], api.stack.queue_arn, REGION))
        return False

    table_faults.throw(lambda call: Crash("never"), "TransactWriteItems", when=interleave)
    api.invoke_worker(lambda_sqs_event([release_message], api.stack.queue_arn, REGION))

    assert done == ["write"]
    draft = api.request("GET", f"/metadata/{pages['home']}/draft", scope="read").json_body
    assert (draft["version"], draft["settings"]["title"], draft["publishedVersion"]) == (3, "home v3", 2)
    assert (served(api, "home"), served(api, "new")) == ("home v2", "new v2")


def test_a_scheduled_release_the_site_wants_more_approvals_for_waits_then_goes_live(
    api: Api, pages: Dict[str, str]
) -> None:
    publish_at = datetime.now(UTC) + timedelta(seconds=3)
    release_id = create(api, pages, publishAt=publish_at.isoformat())
    require_approvals(api, 1)
    sleep_until(publish_at)

    assert run_scheduler(api) == 1
    api.apply()
    assert release(api, release_id)["status"] == "open"  # back to waiting for its approval
    assert served(api, "home") == "home v1"
    assert run_scheduler(api) == 0

    act(api, release_id, "approve", scope="admin")
    assert release(api, release_id)["status"] == "scheduled"
    assert run_scheduler(api) == 1  # a new operation: the first one is done
    api.apply()
    assert release(api, release_id)["status"] == "published"
    assert served(api, "home") == "home v2"


def test_a_release_too_large_for_one_transaction_fails_and_changes_nothing(
    api: Api, pages: Dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.writes import releases

    monkeypatch.setattr(releases, "MAX_TRANSACTION_BYTES", 1000)  # as pages of large settings would be
    release_id = create(api, pages)

    operation = act(api, release_id, "publish")

    assert (operation["status"], operation["error"]["code"]) == ("failed", "ReleaseTooLarge")
    found = release(api, release_id)
    assert (found["status"], found["failure"]["code"]) == ("failed", "ReleaseTooLarge")
    assert (served(api, "home"), served(api, "new")) == ("home v1", 404)
