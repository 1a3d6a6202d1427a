"""The config lifecycle through the HTTP contract: create, read, update, versions, delete."""

from __future__ import annotations

from tests.conftest import Api
from tests.helpers import assert_error


def test_create_answers_202_with_an_operation_and_location(api: Api) -> None:
    api.create_site()
    body = {"site": "shop", "page": "home", "layout": "grid", "theme": "light"}
    response = api.request("POST", "/metadata", body, scope="write")
    assert response.status_code == 202
    accepted = response.json_body
    assert accepted["status"] == "pending"
    assert accepted["id"]
    assert response.headers["Location"] == f"/operations/{accepted['operationId']}"


def test_an_operation_is_pending_until_the_worker_applies_it(api: Api) -> None:
    api.create_site()
    body = {"site": "shop", "page": "home", "layout": "grid", "theme": "light"}
    accepted = api.request("POST", "/metadata", body, scope="write").json_body
    location = f"/operations/{accepted['operationId']}"

    pending = api.request("GET", location, scope="write").json_body
    assert pending["status"] == "pending"
    assert api.request("GET", f"/metadata/{accepted['id']}", scope=None).status_code == 404

    api.apply()
    done = api.request("GET", location, scope="write").json_body
    assert done["status"] == "succeeded"
    assert done["type"] == "config.create"
    assert done["resourceId"] == accepted["id"]
    assert done["version"] == 1


def test_a_created_config_reads_back_by_id_with_its_etag(api: Api) -> None:
    api.create_site()
    config = api.create_config(settings={"hero": {"title": "Hi", "ratio": 1.5}, "items": [1, 2]})
    response = api.request("GET", f"/metadata/{config['id']}", scope=None)
    assert response.status_code == 200
    assert response.json_body == {
        "id": config["id"],
        "site": "shop",
        "page": "home",
        "layout": "two-column",
        "theme": "dark",
        "settings": {"hero": {"title": "Hi", "ratio": 1.5}, "items": [1, 2]},
        "version": 1,
        "publishedVersion": 1,
        "createdAt": config["createdAt"],
        "updatedAt": config["updatedAt"],
    }
    assert response.headers["ETag"] == f'"{config["id"]}.1"'


def test_get_by_id_answers_304_when_the_etag_is_current(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    etag = api.request("GET", f"/metadata/{config['id']}", scope=None).headers["ETag"]
    response = api.request("GET", f"/metadata/{config['id']}", scope=None, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.body in (b"", "", None)


def test_update_with_if_match_creates_a_new_version(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    etag = api.request("GET", f"/metadata/{config['id']}", scope=None).headers["ETag"]

    operation = api.write(
        "PUT",
        f"/metadata/{config['id']}",
        {"layout": "single", "theme": "light", "settings": {"banner": "sale"}},
        scope="write",
        headers={"If-Match": etag},
    )
    assert operation["status"] == "succeeded"
    assert operation["version"] == 2

    updated = api.request("GET", f"/metadata/{config['id']}", scope=None)
    assert updated.json_body["layout"] == "single"
    assert updated.json_body["settings"] == {"banner": "sale"}
    assert updated.json_body["version"] == 2
    assert updated.json_body["createdAt"] == config["createdAt"]
    assert updated.headers["ETag"] == f'"{config["id"]}.2"'


def test_update_with_a_stale_if_match_is_refused_at_once_with_412(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    api.write("PUT", f"/metadata/{config['id']}", {"layout": "a", "theme": "b"}, scope="write")

    stale = f'"{config["id"]}.1"'
    response = api.request(
        "PUT", f"/metadata/{config['id']}", {"layout": "c", "theme": "d"}, scope="write", headers={"If-Match": stale}
    )
    body = assert_error(response, 412, "PreconditionFailed")
    assert f'"{config["id"]}.2"' in body["message"]
    assert api.queued() == []


def test_a_weak_if_match_never_matches(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    etag = api.request("GET", f"/metadata/{config['id']}", scope=None).headers["ETag"]
    for header in (f"W/{etag}", f'"other", W/{etag}'):
        update = api.request(
            "PUT",
            f"/metadata/{config['id']}",
            {"layout": "c", "theme": "d"},
            scope="write",
            headers={"If-Match": header},
        )
        assert_error(update, 412, "PreconditionFailed")
        delete = api.request("DELETE", f"/metadata/{config['id']}", scope="write", headers={"If-Match": header})
        assert_error(delete, 412, "PreconditionFailed")
    assert api.queued() == []
    stored = api.request("GET", f"/metadata/{config['id']}", scope=None)
    assert (stored.json_body["layout"], stored.json_body["version"]) == ("two-column", 1)
    # The strong tag itself, in a list or as `*`, still matches.
    for header in (f'"other", {etag}', "*"):
        response = api.request(
            "PUT",
            f"/metadata/{config['id']}",
            {"layout": "c", "theme": "d"},
            scope="write",
            headers={"If-Match": header},
        )
        assert response.status_code == 202, response.body


def test_a_weak_if_none_match_still_revalidates(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    etag = api.request("GET", f"/metadata/{config['id']}", scope=None).headers["ETag"]
    for path in (f"/metadata/{config['id']}", "/sites/shop/pages/home"):
        assert api.request("GET", path, scope=None, headers={"If-None-Match": f"W/{etag}"}).status_code == 304


def test_update_without_if_match_replaces_the_config(api: Api) -> None:
    api.create_site()
    config = api.create_config(settings={"old": 1})
    operation = api.write("PUT", f"/metadata/{config['id']}", {"layout": "x", "theme": "y"}, scope="write")
    assert operation["status"] == "succeeded"
    stored = api.request("GET", f"/metadata/{config['id']}", scope=None).json_body
    assert (stored["layout"], stored["theme"], stored["settings"]) == ("x", "y", {})


def test_versions_list_every_change_newest_first(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    for theme in ("blue", "green"):
        api.write("PUT", f"/metadata/{config['id']}", {"layout": "grid", "theme": theme}, scope="write")

    versions = api.request("GET", f"/metadata/{config['id']}/versions", scope="read").json_body
    assert [item["version"] for item in versions["items"]] == [3, 2, 1]
    assert [item["theme"] for item in versions["items"]] == ["green", "blue", "dark"]
    assert versions["nextCursor"] is None
    assert all(item["actor"].startswith("token:") and item["operationId"] for item in versions["items"])


def test_versions_are_paginated_with_an_opaque_cursor(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    for number in range(4):
        api.write("PUT", f"/metadata/{config['id']}", {"layout": "grid", "theme": f"t{number}"}, scope="write")

    seen: list[int] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.request("GET", f"/metadata/{config['id']}/versions{query}", scope="read").json_body
        seen.extend(item["version"] for item in page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]


def test_delete_removes_the_config_and_frees_its_page(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    operation = api.write("DELETE", f"/metadata/{config['id']}", scope="write")
    assert operation["status"] == "succeeded"
    assert operation["type"] == "config.delete"

    assert_error(api.request("GET", f"/metadata/{config['id']}", scope=None), 404, "NotFound")
    assert_error(api.request("GET", "/sites/shop/pages/home", scope=None), 404, "NotFound")
    again = api.create_config()
    assert again["id"] != config["id"]


def test_history_of_a_deleted_config_ends_with_its_deletion(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    api.write("DELETE", f"/metadata/{config['id']}", scope="write")
    versions = api.request("GET", f"/metadata/{config['id']}/versions", scope="read").json_body["items"]
    assert versions[0]["deleted"] is True
    assert versions[0]["version"] == 2
    assert versions[1]["layout"] == "two-column"


def test_delete_with_a_stale_if_match_is_refused_with_412(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    response = api.request("DELETE", f"/metadata/{config['id']}", scope="write", headers={"If-Match": '"x.9"'})
    assert_error(response, 412, "PreconditionFailed")


def test_writes_to_a_missing_config_are_404_at_once(api: Api) -> None:
    missing = "a" * 26
    update = api.request("PUT", f"/metadata/{missing}", {"layout": "a", "theme": "b"}, scope="write")
    assert_error(update, 404, "NotFound")
    assert_error(api.request("DELETE", f"/metadata/{missing}", scope="write"), 404, "NotFound")
    assert_error(api.request("GET", f"/metadata/{missing}/versions", scope="read"), 404, "NotFound")
    assert_error(api.request("GET", "/metadata/not-an-id", scope=None), 404, "NotFound")


def test_a_second_config_for_the_same_page_is_a_409(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    body = {"site": "shop", "page": "home", "layout": "grid", "theme": "light"}
    error = assert_error(api.request("POST", "/metadata", body, scope="write"), 409, "Conflict")
    assert config["id"] in error["message"]


def test_a_config_for_an_unknown_site_is_a_422_naming_the_field(api: Api) -> None:
    body = {"site": "nowhere", "page": "home", "layout": "grid", "theme": "light"}
    error = assert_error(api.request("POST", "/metadata", body, scope="write"), 422, "ValidationFailed")
    assert error["details"] == [{"field": "site", "message": "no site 'nowhere'", "type": "not_found"}]


def test_list_configs_of_a_site_by_page_with_pagination(api: Api) -> None:
    api.create_site()
    api.create_site("blog", name="Blog")
    pages = ["about", "contact", "home", "pricing", "team"]
    for page in reversed(pages):
        api.create_config(page=page)
    api.create_config(site="blog", page="home")

    first = api.request("GET", "/metadata?site=shop&limit=2", scope="read").json_body
    assert [item["page"] for item in first["items"]] == ["about", "contact"]
    rest = api.request("GET", f"/metadata?site=shop&limit=10&cursor={first['nextCursor']}", scope="read").json_body
    assert [item["page"] for item in rest["items"]] == ["home", "pricing", "team"]
    assert rest["nextCursor"] is None


def test_list_configs_narrowed_to_one_page(api: Api) -> None:
    api.create_site()
    api.create_config(page="home")
    api.create_config(page="about")
    listing = api.request("GET", "/metadata?site=shop&page=home", scope="read").json_body
    assert [item["page"] for item in listing["items"]] == ["home"]
    assert listing["nextCursor"] is None
    empty = api.request("GET", "/metadata?site=shop&page=missing", scope="read").json_body
    assert empty == {"items": [], "nextCursor": None}


def test_list_configs_rejects_bad_parameters_with_400(api: Api) -> None:
    assert_error(api.request("GET", "/metadata", scope="read"), 400, "BadRequest")
    assert_error(api.request("GET", "/metadata?site=Bad_Slug", scope="read"), 400, "BadRequest")
    assert_error(api.request("GET", "/metadata?site=shop&limit=0", scope="read"), 400, "BadRequest")
    assert_error(api.request("GET", "/metadata?site=shop&limit=abc", scope="read"), 400, "BadRequest")
    assert_error(api.request("GET", "/metadata?site=shop&limit=101", scope="read"), 400, "BadRequest")


def test_a_garbled_or_foreign_cursor_is_a_400(api: Api) -> None:
    api.create_site()
    api.create_site("blog", name="Blog")
    for page in ("a", "b", "c"):
        api.create_config(page=page)
    cursor = api.request("GET", "/metadata?site=shop&limit=1", scope="read").json_body["nextCursor"]

    for bad in ("not-base64!!", "eyJ4IjoxfQ", cursor[:-3], "%00"):
        response = api.request("GET", f"/metadata?site=shop&cursor={bad}", scope="read")
        assert_error(response, 400, "BadRequest")
    foreign = api.request("GET", f"/metadata?site=blog&cursor={cursor}", scope="read")
    assert_error(foreign, 400, "BadRequest")
