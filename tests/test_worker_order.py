"""The last write accepted wins, whatever order the worker gets the writes in.

A resource's operations reach the worker in the order the API accepted them (FIFO,
grouped by resource), but a redriven one comes back after everything applied since. The
worker keeps, on the resource, which operation it applied last and when the API accepted
it; an update or deletion accepted before that one changes nothing and fails as
`Superseded`. Messages are taken from the real (moto) queue and delivered through
`client.lambda_.invoke`, in the order each test chooses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Dict, List

import pytest

from chalicelib.core import ids
from chalicelib.services import get_services
from chalicelib.writes import BatchIncomplete
from chalicelib.writes.desk import WriteDesk
from tests.conftest import Api, invoke, operation, submit
from tests.helpers import Faults, throttle, touching


def by_layout(messages: List[Any]) -> Dict[str, Any]:
    return {json.loads(m["Body"])["data"].get("layout") or json.loads(m["Body"])["operation"]: m for m in messages}


def stored(api: Api, config_id: str) -> Any:
    return api.request("GET", f"/metadata/{config_id}", scope=None)


def assert_superseded(api: Api, operation_id: str, by: str) -> None:
    failed = operation(api, operation_id)
    assert (failed["status"], failed["error"]["code"]) == ("failed", "Superseded"), failed
    assert by in failed["error"]["message"]
    assert "version" not in failed


def test_an_update_delivered_after_a_later_one_changes_nothing(api: Api, config: Dict[str, Any]) -> None:
    path = f"/metadata/{config['id']}"
    first = submit(api, "PUT", path, {"layout": "first", "theme": "t"})
    later = submit(api, "PUT", path, {"layout": "later", "theme": "t"})
    messages = by_layout(api.queue.receive_all())

    assert invoke(api, [messages["later"]]) is None
    assert invoke(api, [messages["first"]]) is None  # done with, not retried

    body = stored(api, config["id"]).json_body
    assert (body["layout"], body["version"]) == ("later", 2)
    assert operation(api, later["operationId"])["version"] == 2
    assert_superseded(api, first["operationId"], by=later["operationId"])
    versions = api.request("GET", f"{path}/versions", scope="read").json_body["items"]
    assert [item["layout"] for item in versions] == ["later", "two-column"]


def test_a_delete_delivered_after_a_later_update_changes_nothing(api: Api, config: Dict[str, Any]) -> None:
    path = f"/metadata/{config['id']}"
    deleted = submit(api, "DELETE", path)
    updated = submit(api, "PUT", path, {"layout": "kept", "theme": "t"})
    messages = by_layout(api.queue.receive_all())

    invoke(api, [messages["kept"]])
    invoke(api, [messages["config.delete"]])

    response = stored(api, config["id"])
    assert response.status_code == 200
    assert (response.json_body["layout"], response.json_body["version"]) == ("kept", 2)
    assert api.request("GET", "/sites/shop/pages/home", scope=None).json_body["layout"] == "kept"
    assert operation(api, updated["operationId"])["status"] == "succeeded"
    assert_superseded(api, deleted["operationId"], by=updated["operationId"])


def test_an_update_delivered_after_a_later_delete_finds_no_config(api: Api, config: Dict[str, Any]) -> None:
    path = f"/metadata/{config['id']}"
    updated = submit(api, "PUT", path, {"layout": "late", "theme": "t"})
    deleted = submit(api, "DELETE", path)
    messages = by_layout(api.queue.receive_all())

    invoke(api, [messages["config.delete"]])
    invoke(api, [messages["late"]])

    assert stored(api, config["id"]).status_code == 404
    assert operation(api, deleted["operationId"])["status"] == "succeeded"
    failed = operation(api, updated["operationId"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "NotFound")


def test_a_site_put_delivered_after_a_later_one_changes_nothing(api: Api) -> None:
    api.create_site(name="Shop")
    first = api.request("PUT", "/sites/shop", {"name": "First"}).json_body
    later = api.request("PUT", "/sites/shop", {"name": "Later", "cacheMaxAge": 5}).json_body
    messages = {json.loads(m["Body"])["data"]["name"]: m for m in api.queue.receive_all()}

    invoke(api, [messages["Later"]])
    invoke(api, [messages["First"]])

    site = api.request("GET", "/sites/shop", scope="read").json_body
    assert (site["name"], site["cacheMaxAge"], site["version"]) == ("Later", 5, 2)
    assert_superseded(api, first["operationId"], by=later["operationId"])


def test_the_marker_is_not_shown_to_clients(api: Api, config: Dict[str, Any]) -> None:
    submit(api, "PUT", f"/metadata/{config['id']}", {"layout": "x", "theme": "t"})
    api.apply()
    item: Dict[str, Any] = get_services().table.get_item(Key={"pk": f"CONFIG#{config['id']}", "sk": "CURRENT"})["Item"]
    assert item["lastApplied"]["operationId"]  # stored with the config...
    for path, scope in [
        (f"/metadata/{config['id']}", None),
        ("/sites/shop/pages/home", None),
        ("/metadata?site=shop", "read"),
        ("/sites/shop", "read"),
        ("/sites", "read"),
    ]:
        assert "lastApplied" not in json.dumps(api.request("GET", path, scope=scope).json_body), path  # ...not shown


@pytest.mark.parametrize("random_parts", [(b"\x00", b"\xff"), (b"\xff", b"\x00")])
def test_writes_accepted_in_the_same_millisecond_apply_in_the_queues_order(
    api: Api, config: Dict[str, Any], monkeypatch: pytest.MonkeyPatch, random_parts: tuple[bytes, bytes]
) -> None:
    """Operation ids are random within a millisecond: in one of these two cases the one
    accepted second sorts first. Within a millisecond the queue's order stands, and
    neither is superseded."""
    services = get_services()
    instant = datetime.now(UTC)  # after the config's creation; both writes in this millisecond
    randomness = iter(random_parts)
    desk = WriteDesk(
        services.store,
        services.queue,
        clock=lambda: instant,
        new_operation_id=lambda now: ids.new_operation_id(now, lambda size: next(randomness) * size),
    )
    monkeypatch.setattr(services, "desk", desk)
    path = f"/metadata/{config['id']}"
    first = submit(api, "PUT", path, {"layout": "first", "theme": "t"})
    second = submit(api, "PUT", path, {"layout": "second", "theme": "t"})

    api.apply()

    assert [operation(api, accepted["operationId"])["version"] for accepted in (first, second)] == [2, 3]
    assert stored(api, config["id"]).json_body["layout"] == "second"


def test_a_dead_lettered_update_redriven_after_a_later_one_was_applied_is_superseded(
    api: Api, config: Dict[str, Any], table_faults: Faults
) -> None:
    """The whole way: an update keeps failing until it is dead-lettered; a later update is
    applied; the cause is fixed and the dead letters are redriven through the API."""
    path = f"/metadata/{config['id']}"
    stuck = submit(api, "PUT", path, {"layout": "stuck", "theme": "t"})
    throttle(table_faults, touching('"stuck"'))
    for _ in range(get_services().settings.max_receive_count):
        messages = api.queue.receive_all()
        with pytest.raises(BatchIncomplete):
            invoke(api, messages)
        api.queue.release(messages)
    assert api.queue.receive_all() == []  # moved to the dead-letter queue
    assert operation(api, stuck["operationId"])["error"]["code"] == "DeliveryFailed"

    later = api.write("PUT", path, {"layout": "later", "theme": "t"}, scope="write")
    assert later["status"] == "succeeded"

    table_faults.heal()
    moved = api.request("POST", "/admin/redrive", scope="admin").json_body
    assert moved == {"moved": 1, "failed": 0, "remaining": 0}
    api.apply()

    assert stored(api, config["id"]).json_body["layout"] == "later"
    assert_superseded(api, stuck["operationId"], by=later["operationId"])
    assert api.queue.peek() == []
    assert api.dead_letters.peek() == []
