"""The audit trail: every applied operation writes its entry in the same transaction as
the change (actor, operation, resource, versions, RFC 6902 patch); tokens made and
revoked with mmctl are audited too; the entries are listed per site, newest first."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime, timedelta
from typing import Any, Dict, List

import boto3
import pytest

from chalicelib.services import get_services
from chalicelib.writes import BatchIncomplete
from devstack.poller import lambda_sqs_event
from mmctl.cli import main as mmctl
from tests.conftest import REGION, Api
from tests.helpers import Faults, assert_error


def audit(api: Api, path: str = "/sites/shop/audit", **query: Any) -> List[Dict[str, Any]]:
    suffix = "&".join(f"{name}={value}" for name, value in query.items())
    response = api.request("GET", f"{path}?{suffix}" if suffix else path)
    assert response.status_code == 200, response.body
    items: List[Dict[str, Any]] = response.json_body["items"]
    return items


def test_every_applied_operation_of_a_site_has_its_entry_newest_first(api: Api, tokens: Dict[str, str]) -> None:
    site = api.create_site()
    body = {"site": "shop", "page": "home", "layout": "hero", "theme": "t", "settings": {"a": 1}}
    created = api.write("POST", "/metadata", body, scope="write")
    config_id = created["resourceId"]
    updated = api.write(
        "PUT", f"/metadata/{config_id}", {"layout": "hero", "theme": "t", "settings": {"a": 2}}, scope="write"
    )
    schema = api.write("PUT", "/sites/shop/schemas/hero", {"schema": {"type": "object"}})
    deleted = api.write("DELETE", f"/metadata/{config_id}", scope="write")

    entries = audit(api)

    assert [entry["operationId"] for entry in entries] == [
        op["operationId"] for op in (deleted, schema, updated, created, site)
    ]
    assert [entry["type"] for entry in entries] == [
        "config.delete",
        "schema.put",
        "config.update",
        "config.create",
        "site.put",
    ]
    update_entry = entries[2]
    assert update_entry["resource"] == f"config/{config_id}"
    assert (update_entry["site"], update_entry["page"]) == ("shop", "home")
    assert (update_entry["fromVersion"], update_entry["toVersion"]) == (1, 2)
    assert update_entry["patch"] == [{"op": "replace", "path": "/settings/a", "value": 2}]
    write_token_id = next(token.tokenId for token in get_services().store.tokens.list() if token.name == "write tests")
    assert update_entry["actor"] == {"tokenId": write_token_id, "name": "write tests"}
    created_patch = sorted(entries[3]["patch"], key=lambda op: op["path"])
    assert created_patch == [
        {"op": "add", "path": "/layout", "value": "hero"},
        {"op": "add", "path": "/settings", "value": {"a": 1}},
        {"op": "add", "path": "/theme", "value": "t"},
    ]
    assert {op["path"] for op in entries[0]["patch"]} == {"/layout", "/theme", "/settings"}
    assert all(op["op"] == "remove" for op in entries[0]["patch"])
    assert entries[4]["actor"]["name"] == "admin tests"
    assert entries[4]["resource"] == "site/shop"


def test_a_failed_operation_writes_no_entry(api: Api) -> None:
    api.create_site()
    before = audit(api)
    # Two creates for one page, both accepted before either is applied: one wins, the
    # other fails as Conflict and changes nothing.
    racing = [
        api.request("POST", "/metadata", {"site": "shop", "page": "home", "layout": layout, "theme": "t"})
        for layout in ("x", "y")
    ]
    api.apply()
    outcomes = [api.request("GET", f"/operations/{r.json_body['operationId']}").json_body for r in racing]
    assert sorted(op["status"] for op in outcomes) == ["failed", "succeeded"]
    after = audit(api)
    assert len(after) == len(before) + 1
    assert after[0]["operationId"] == next(op["operationId"] for op in outcomes if op["status"] == "succeeded")


def test_a_change_and_its_entry_are_one_transaction(api: Api, table_faults: Faults) -> None:
    """When the transaction is refused, neither is written; when it goes through, both."""
    api.create_site()
    config = api.create_config()
    accepted = api.request("PUT", f"/metadata/{config['id']}", {"layout": "l", "theme": "t"}, scope="write")
    messages = api.queue.receive_all()
    table_faults.fail("ProvisionedThroughputExceededException", "TransactWriteItems", times=1)

    with pytest.raises(BatchIncomplete):
        api.invoke_worker(lambda_sqs_event(messages, api.stack.queue_arn, REGION))

    assert api.request("GET", f"/metadata/{config['id']}", scope=None).json_body["version"] == 1
    assert [entry["type"] for entry in audit(api)] == ["config.create", "site.put"]
    api.queue.release(messages)
    api.apply()
    assert api.request("GET", f"/operations/{accepted.json_body['operationId']}").json_body["version"] == 2
    assert [entry["type"] for entry in audit(api)] == ["config.update", "config.create", "site.put"]


def test_the_audit_is_listed_by_time_range_and_page(api: Api) -> None:
    api.create_site()
    for n in range(5):
        api.create_site(name=f"Shop {n}")
        time.sleep(0.002)
    everything = audit(api)
    assert len(everything) == 6
    middle = everything[2]["at"]
    assert [entry["at"] for entry in audit(api, since=middle)] == [entry["at"] for entry in everything[:3]]
    assert [entry["at"] for entry in audit(api, until=middle)] == [entry["at"] for entry in everything[3:]]

    first = api.request("GET", "/sites/shop/audit?limit=4").json_body
    second = api.request("GET", f"/sites/shop/audit?limit=4&cursor={first['nextCursor']}").json_body
    assert [entry["operationId"] for entry in first["items"] + second["items"]] == [
        entry["operationId"] for entry in everything
    ]
    assert second["nextCursor"] is None
    other = api.request("GET", f"/sites/other/audit?cursor={first['nextCursor']}")
    assert_error(other, 400, "BadRequest")
    # A cursor whose position lies outside its range (edited by hand) is refused as well.
    import base64

    position = everything[0]["at"] + "#" + everything[0]["operationId"]
    forged = {"l": f"audit:shop:{middle}:", "p": position.replace(position[:4], "1999")}
    cursor = base64.urlsafe_b64encode(json.dumps(forged, separators=(",", ":")).encode()).decode().rstrip("=")
    assert_error(api.request("GET", f"/sites/shop/audit?since={middle}&cursor={cursor}"), 400, "BadRequest")


@pytest.mark.parametrize(
    "query",
    [
        "since=yesterday",
        "until=2026-01-01T00:00:00",
        "since=2026-13-01T00:00:00Z",
        "since=0001-01-01T00:00:00%2B01:00",  # before year 1 in UTC
        "until=9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
        "since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z",
    ],
)
def test_a_time_that_is_not_iso_8601_with_a_zone_is_400(api: Api, query: str) -> None:
    assert_error(api.request("GET", f"/sites/shop/audit?{query}"), 400, "BadRequest")


def test_entries_expire_after_the_retention(api: Api) -> None:
    api.create_site()
    table = boto3.resource("dynamodb", region_name=REGION).Table(get_services().settings.table_name)
    item = table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "AUDIT#SITE#shop"})[
        "Items"
    ][0]
    at = datetime.fromisoformat(str(item["at"]))
    kept = datetime.fromtimestamp(int(str(item["expiresAt"])), at.tzinfo) - at
    assert timedelta(days=400) - timedelta(seconds=1) < kept <= timedelta(days=400)


def test_the_audit_needs_the_admin_scope(api: Api) -> None:
    assert_error(api.request("GET", "/sites/shop/audit", scope="write"), 403, "Forbidden")
    assert_error(api.request("GET", "/admin/audit", scope="write"), 403, "Forbidden")


def test_tokens_made_and_revoked_with_mmctl_are_audited(api: Api) -> None:
    out = io.StringIO()
    assert mmctl(["tokens", "create", "--name", "ci bot", "--scope", "write"], out=out) == 0
    token_id = json.loads(out.getvalue())["tokenId"]
    assert mmctl(["tokens", "revoke", token_id], out=io.StringIO()) == 0

    entries = [entry for entry in audit(api, "/admin/audit") if entry["resource"] == f"token/{token_id}"]

    assert [entry["type"] for entry in entries] == ["token.revoke", "token.create"]
    assert entries[1]["patch"] == [
        {"op": "add", "path": "/name", "value": "ci bot"},
        {"op": "add", "path": "/scope", "value": "write"},
    ]
    assert entries[0]["actor"]["name"].startswith("mmctl (")
    assert "mmt_" not in json.dumps(entries)  # never the token itself
