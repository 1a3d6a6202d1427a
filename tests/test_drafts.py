"""Drafts, publishing, rollback and unpublishing, through HTTP and the worker: a site in
`review` mode keeps serving what was published while editors write drafts."""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from devstack.poller import lambda_sqs_event
from tests.conftest import REGION, Api
from tests.helpers import assert_error


def review_site(api: Api, site: str = "shop", **fields: Any) -> None:
    api.create_site(site, publishMode="review", **fields)


def draft(api: Api, config_id: str) -> Dict[str, Any]:
    response = api.request("GET", f"/metadata/{config_id}/draft", scope="read")
    assert response.status_code == 200, response.body
    assert response.headers["ETag"] == f'"{config_id}.{response.json_body["version"]}"'
    body: Dict[str, Any] = response.json_body
    return body


def create_draft(api: Api, **fields: Any) -> str:
    body = {"site": "shop", "page": "home", "layout": "hero", "theme": "dark", "settings": {"title": "v1"}, **fields}
    operation = api.write("POST", "/metadata", body, scope="write")
    assert operation["status"] == "succeeded", operation
    config_id: str = operation["resourceId"]
    return config_id


def update(api: Api, config_id: str, title: str, **headers: str) -> Dict[str, Any]:
    body = {"layout": "hero", "theme": "dark", "settings": {"title": title}}
    return api.write("PUT", f"/metadata/{config_id}", body, scope="write", headers=headers)


def publish(api: Api, config_id: str, version: int, **headers: str) -> Dict[str, Any]:
    return api.write("POST", f"/metadata/{config_id}/publish", {"version": version}, scope="write", headers=headers)


def served(api: Api, page: str = "home") -> Any:
    return api.request("GET", f"/sites/shop/pages/{page}", scope=None)


# --- site settings ----------------------------------------------------------------------


def test_a_site_without_the_new_settings_publishes_directly(api: Api) -> None:
    api.create_site()
    site = api.request("GET", "/sites/shop", scope="read").json_body
    assert (site["publishMode"], site["requiredApprovals"]) == ("direct", 0)


def test_a_site_keeps_its_publish_mode_and_approvals(api: Api) -> None:
    review_site(api, requiredApprovals=2)
    site = api.request("GET", "/sites/shop", scope="read").json_body
    assert (site["publishMode"], site["requiredApprovals"]) == ("review", 2)


def test_approvals_apply_only_to_sites_that_publish_by_review(api: Api) -> None:
    response = api.request("PUT", "/sites/shop", {"name": "Shop", "requiredApprovals": 1})
    assert_error(response, 422, "ValidationFailed")
    assert [detail["field"] for detail in response.json_body["details"]] == ["requiredApprovals"]
    assert api.queued() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("publishMode", "later"),
        ("publishMode", None),
        ("requiredApprovals", 4),
        ("requiredApprovals", -1),
        ("requiredApprovals", "1"),
        ("requiredApprovals", 1.0),
        ("requiredApprovals", True),
    ],
)
def test_invalid_publish_settings_are_422_naming_the_field(api: Api, field: str, value: Any) -> None:
    response = api.request("PUT", "/sites/shop", {"name": "Shop", field: value})
    assert_error(response, 422, "ValidationFailed")
    assert [detail["field"] for detail in response.json_body["details"]] == [field]


# --- drafts -----------------------------------------------------------------------------


def test_in_review_mode_a_new_config_is_a_draft_the_public_never_sees(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)

    assert_error(served(api), 404, "NotFound")
    assert_error(api.request("GET", f"/metadata/{config_id}", scope=None), 404, "NotFound")
    latest = draft(api, config_id)
    assert (latest["version"], latest["settings"], latest.get("publishedVersion")) == (1, {"title": "v1"}, None)
    listed = api.request("GET", "/metadata?site=shop", scope="read").json_body["items"]
    assert [(item["id"], item["version"], item.get("publishedVersion")) for item in listed] == [(config_id, 1, None)]


def test_publishing_then_editing_keeps_the_page_on_the_published_version(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)
    assert publish(api, config_id, 1) == {**publish_result(api, config_id), "version": 1}
    update(api, config_id, "v2")

    page = served(api)
    assert page.status_code == 200
    assert (page.json_body["settings"], page.json_body["version"]) == ({"title": "v1"}, 1)
    assert page.headers["ETag"] == f'"{config_id}.1"'
    by_id = api.request("GET", f"/metadata/{config_id}", scope=None)
    assert (by_id.json_body["settings"], by_id.json_body["publishedVersion"]) == ({"title": "v1"}, 1)
    assert by_id.headers["ETag"] == f'"{config_id}.1"'
    latest = draft(api, config_id)
    assert (latest["version"], latest["settings"], latest["publishedVersion"]) == (2, {"title": "v2"}, 1)

    publish(api, config_id, 2)
    assert served(api).json_body["settings"] == {"title": "v2"}
    assert draft(api, config_id)["publishedVersion"] == 2


def publish_result(api: Api, config_id: str) -> Dict[str, Any]:
    """The last publish operation's record, for comparing the fields that vary."""
    operations = api.request("GET", "/sites/shop/audit?limit=1").json_body["items"]
    found: Dict[str, Any] = api.request("GET", f"/operations/{operations[0]['operationId']}").json_body
    assert found["type"] == "config.publish"
    assert found["resourceId"] == config_id
    return found


def test_publishing_an_older_version_rolls_the_page_back(api: Api) -> None:
    api.create_site()  # direct mode: every write is live, and a rollback is a publish
    config_id = create_draft(api)
    update(api, config_id, "v2")
    update(api, config_id, "v3")
    assert served(api).json_body["settings"] == {"title": "v3"}

    operation = publish(api, config_id, 1)

    assert (operation["status"], operation["version"]) == ("succeeded", 1)
    page = served(api).json_body
    assert (page["settings"], page["version"]) == ({"title": "v1"}, 1)
    latest = draft(api, config_id)
    assert (latest["version"], latest["publishedVersion"]) == (3, 1)
    # The next write in direct mode is live again.
    update(api, config_id, "v4")
    assert served(api).json_body == {**served(api).json_body, "settings": {"title": "v4"}, "version": 4}


def test_if_match_guards_a_publish_against_publishing_over_someone(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)
    publish(api, config_id, 1)
    update(api, config_id, "v2")
    published_tag = api.request("GET", f"/metadata/{config_id}", scope=None).headers["ETag"]
    draft_tag = f'"{config_id}.2"'

    stale = api.request(
        "POST", f"/metadata/{config_id}/publish", {"version": 2}, scope="write", headers={"If-Match": draft_tag}
    )
    assert_error(stale, 412, "PreconditionFailed")

    # Someone else's change of the page is accepted first and applied first: this one,
    # accepted while its If-Match still held, fails when applied.
    assert api.request("POST", f"/metadata/{config_id}/unpublish", scope="write").status_code == 202
    accepted = api.request(
        "POST", f"/metadata/{config_id}/publish", {"version": 2}, scope="write", headers={"If-Match": published_tag}
    )
    assert accepted.status_code == 202, accepted.body
    api.apply()
    first = api.request("GET", f"/operations/{accepted.json_body['operationId']}").json_body
    assert (first["status"], first["error"]["code"]) == ("failed", "PreconditionFailed")
    assert_error(served(api), 404, "NotFound")


def test_a_version_that_does_not_exist_cannot_be_published(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)
    for version in (2, 0, "1", None):
        response = api.request("POST", f"/metadata/{config_id}/publish", {"version": version}, scope="write")
        assert_error(response, 422, "ValidationFailed")
        assert response.json_body["details"][0]["field"] == "version"
    assert_error(api.request("POST", f"/metadata/{'z' * 26}/publish", {"version": 1}, scope="write"), 404, "NotFound")
    assert api.queued() == []


def test_a_site_that_requires_approvals_refuses_a_single_publish(api: Api) -> None:
    review_site(api, requiredApprovals=1)
    config_id = create_draft(api)
    response = api.request("POST", f"/metadata/{config_id}/publish", {"version": 1}, scope="write")
    assert_error(response, 409, "ApprovalRequired")
    assert_error(api.request("POST", f"/metadata/{config_id}/unpublish", scope="write"), 409, "ApprovalRequired")
    assert api.queued() == []


def test_approvals_required_after_a_publish_was_accepted_fail_it_when_applied(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)
    accepted = api.request("POST", f"/metadata/{config_id}/publish", {"version": 1}, scope="write")
    assert accepted.status_code == 202
    api.request("PUT", "/sites/shop", {"name": "Shop", "publishMode": "review", "requiredApprovals": 1})
    # Different resources: the site's change may well be applied first.
    publishing, site_change = api.queue.receive_all()
    api.invoke_worker(lambda_sqs_event([site_change, publishing], api.stack.queue_arn, REGION))
    found = api.request("GET", f"/operations/{accepted.json_body['operationId']}").json_body
    assert (found["status"], found["error"]["code"]) == ("failed", "ApprovalRequired")
    assert_error(served(api), 404, "NotFound")


# --- unpublishing and deleting ----------------------------------------------------------


def test_unpublishing_takes_the_page_off_the_site_and_keeps_its_history(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)
    publish(api, config_id, 1)
    update(api, config_id, "v2")

    operation = api.write("POST", f"/metadata/{config_id}/unpublish", scope="write")

    assert operation["status"] == "succeeded", operation
    assert_error(served(api), 404, "NotFound")
    assert_error(api.request("GET", f"/metadata/{config_id}", scope=None), 404, "NotFound")
    assert draft(api, config_id).get("publishedVersion") is None
    versions = api.request("GET", f"/metadata/{config_id}/versions", scope="read").json_body["items"]
    assert [item["version"] for item in versions] == [2, 1]
    again = api.request("POST", f"/metadata/{config_id}/unpublish", scope="write")
    assert_error(again, 409, "NotPublished")
    publish(api, config_id, 2)  # and back on the site
    assert served(api).json_body["settings"] == {"title": "v2"}


def test_in_review_mode_a_published_config_is_unpublished_before_it_is_deleted(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)
    publish(api, config_id, 1)

    assert_error(api.request("DELETE", f"/metadata/{config_id}", scope="write"), 409, "StillPublished")
    api.write("POST", f"/metadata/{config_id}/unpublish", scope="write")
    deleted = api.write("DELETE", f"/metadata/{config_id}", scope="write")

    assert deleted["status"] == "succeeded", deleted
    assert_error(api.request("GET", f"/metadata/{config_id}/draft", scope="read"), 404, "NotFound")
    assert api.request("GET", "/metadata?site=shop", scope="read").json_body["items"] == []
    # The page is free for a new config.
    assert create_draft(api) != config_id


def test_a_delete_accepted_before_a_publish_fails_when_applied_after_it(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)
    deleting = api.request("DELETE", f"/metadata/{config_id}", scope="write")
    publishing = api.request("POST", f"/metadata/{config_id}/publish", {"version": 1}, scope="write")
    assert (deleting.status_code, publishing.status_code) == (202, 202)
    api.apply()
    # Same config, same queue group: the delete is applied first, then the publish finds nothing.
    ops = [api.request("GET", f"/operations/{r.json_body['operationId']}").json_body for r in (deleting, publishing)]
    assert [(op["status"], (op.get("error") or {}).get("code")) for op in ops] == [
        ("succeeded", None),
        ("failed", "NotFound"),
    ]


def test_a_direct_site_switched_to_review_keeps_serving_what_it_served(api: Api) -> None:
    api.create_site()
    config_id = create_draft(api)
    review_site(api)
    update(api, config_id, "v2")
    assert served(api).json_body["settings"] == {"title": "v1"}
    assert draft(api, config_id)["publishedVersion"] == 1


# --- differences between versions -------------------------------------------------------


def test_the_diff_of_the_draft_against_what_is_published(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api, settings={"title": "v1", "columns": [1, 2, 3], "hero": {"image": "a.png"}})
    publish(api, config_id, 1)
    body = {"layout": "grid", "theme": "dark", "settings": {"title": "v2", "columns": [1, 3], "hero": {}, "new": True}}
    api.write("PUT", f"/metadata/{config_id}", body, scope="write")

    response = api.request("GET", f"/metadata/{config_id}/diff", scope="read")

    assert response.status_code == 200, response.body
    found = response.json_body
    assert (found["id"], found["from"], found["to"]) == (config_id, 1, 2)
    changes = {change["field"]: change for change in found["changes"]}
    assert changes["layout"] == {"field": "layout", "change": "changed", "before": "hero", "after": "grid"}
    assert changes["settings/title"]["change"] == "changed"
    assert changes["settings/hero/image"] == {"field": "settings/hero/image", "change": "removed", "before": "a.png"}
    assert changes["settings/new"] == {"field": "settings/new", "change": "added", "after": True}
    # The patch is RFC 6902: applied to version 1 it gives version 2.
    assert apply_patch(version_content(api, config_id, 1), found["patch"]) == version_content(api, config_id, 2)


def version_content(api: Api, config_id: str, version: int) -> Dict[str, Any]:
    items = api.request("GET", f"/metadata/{config_id}/versions", scope="read").json_body["items"]
    item = next(item for item in items if item["version"] == version)
    return {"layout": item["layout"], "theme": item["theme"], "settings": item["settings"]}


def apply_patch(document: Dict[str, Any], patch: Any) -> Dict[str, Any]:
    import jsonpatch

    result: Dict[str, Any] = jsonpatch.apply_patch(document, patch)
    return result


def test_a_diff_between_numbered_versions_and_of_an_unchanged_config(api: Api) -> None:
    api.create_site()
    config_id = create_draft(api)
    update(api, config_id, "v2")
    backwards = api.request("GET", f"/metadata/{config_id}/diff?from=2&to=1", scope="read").json_body
    assert backwards["patch"] == [{"op": "replace", "path": "/settings/title", "value": "v1"}]
    same = api.request("GET", f"/metadata/{config_id}/diff", scope="read").json_body
    assert (same["from"], same["to"], same["patch"], same["changes"]) == (2, 2, [], [])


def test_a_diff_of_a_deleted_config_by_version_numbers(api: Api) -> None:
    api.create_site()
    config_id = create_draft(api)
    api.write("DELETE", f"/metadata/{config_id}", scope="write")
    gone = api.request("GET", f"/metadata/{config_id}/diff?from=1&to=2", scope="read").json_body
    assert [change["change"] for change in gone["changes"]] == ["removed", "removed", "removed"]
    assert_error(api.request("GET", f"/metadata/{config_id}/diff", scope="read"), 404, "NotFound")


@pytest.mark.parametrize("query", ["from=0", "to=-1", "from=draft2", "to=1.0", "from=" + "9" * 11, "to=%C2%B2"])
def test_a_diff_with_a_version_that_is_not_one_is_400(api: Api, query: str) -> None:
    assert_error(api.request("GET", f"/metadata/{'a' * 26}/diff?{query}", scope="read"), 400, "BadRequest")


def test_a_diff_with_a_version_the_config_does_not_have_is_404(api: Api) -> None:
    review_site(api)
    config_id = create_draft(api)
    assert_error(api.request("GET", f"/metadata/{config_id}/diff?to=7", scope="read"), 404, "NotFound")
    # Never published: from "published" is from nothing; to "published" has nothing to compare.
    found = api.request("GET", f"/metadata/{config_id}/diff", scope="read").json_body
    assert ("from" not in found, found["to"]) == (True, 1)
    assert_error(api.request("GET", f"/metadata/{config_id}/diff?to=published", scope="read"), 404, "NotFound")


def test_settings_at_the_size_limit_fit_a_page_that_keeps_a_draft_and_a_published_version(api: Api) -> None:
    """A page's item holds its latest and its published settings: two of the largest
    (100 KiB of UTF-8 JSON each, non-ASCII) still fit DynamoDB's 400 KB item."""
    review_site(api)
    largest = 102_400 - len(b'{"x":""}')
    first, second = {"x": "é" * (largest // 2)}, {"x": "ü" * (largest // 2)}
    created = {"site": "shop", "page": "home", "layout": "hero", "theme": "dark", "settings": first}
    config_id = api.write("POST", "/metadata", utf8(created), scope="write")["resourceId"]
    publish(api, config_id, 1)
    changed = {"layout": "hero", "theme": "dark", "settings": second}
    assert api.write("PUT", f"/metadata/{config_id}", utf8(changed), scope="write")["status"] == "succeeded"
    assert served(api).json_body["settings"] == first
    assert draft(api, config_id)["settings"] == second
    assert publish(api, config_id, 2)["status"] == "succeeded"
    assert served(api).json_body["settings"] == second


def utf8(body: Dict[str, Any]) -> bytes:
    """As a client sends JSON: UTF-8, not \\u escapes (which would be 6 bytes a character)."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
