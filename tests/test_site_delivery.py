"""A whole site at once, for static builds and server-side renderers: the manifest (every
page the site serves, with its version, ETag and updatedAt) and the bundle (every such
page's render config, as the page route serves it). Public, published versions only, one
Query each (a cursor past 1 MB), ETag and 304, and the page route's CORS and cache
headers."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from chalicelib.services import get_services
from chalicelib.store import keys
from tests.conftest import Api
from tests.helpers import Faults, assert_error

ORIGIN = "https://shop.example"


def publish(api: Api, config_id: str, version: int) -> None:
    operation = api.write("POST", f"/metadata/{config_id}/publish", {"version": version}, scope="write")
    assert operation["status"] == "succeeded", operation


def write(api: Api, method: str, path: str, body: Any) -> Dict[str, Any]:
    operation = api.write(method, path, body, scope="write")
    assert operation["status"] == "succeeded", operation
    return operation


def manifest(api: Api, site: str = "shop", **headers: str) -> Any:
    return api.request("GET", f"/sites/{site}/manifest", scope=None, headers=headers)


def bundle(api: Api, site: str = "shop", **headers: str) -> Any:
    return api.request("GET", f"/sites/{site}/bundle", scope=None, headers=headers)


@pytest.fixture
def review(api: Api) -> Dict[str, str]:
    """A `review` site: `home` published at version 1 with a draft 2 on top, `about`
    published, `draft` never published."""
    api.create_site(publishMode="review", cacheMaxAge=300)
    ids = {}
    for page in ("home", "about", "draft"):
        body = {"site": "shop", "page": page, "layout": "hero", "theme": "dark", "settings": {"title": f"{page} v1"}}
        ids[page] = write(api, "POST", "/metadata", body)["resourceId"]
    publish(api, ids["home"], 1)
    publish(api, ids["about"], 1)
    change = {"layout": "hero", "theme": "light", "settings": {"title": "home v2"}}
    write(api, "PUT", f"/metadata/{ids['home']}", change)
    return ids


def test_the_manifest_lists_every_page_the_site_serves_with_the_page_routes_etag(
    api: Api, review: Dict[str, str]
) -> None:
    answer = manifest(api)
    assert answer.status_code == 200, answer.body
    body = answer.json_body
    assert body["site"] == "shop"
    assert body["nextCursor"] is None
    assert [entry["page"] for entry in body["pages"]] == ["about", "home"]  # never the unpublished draft
    for entry in body["pages"]:
        page = api.request("GET", f"/sites/shop/pages/{entry['page']}", scope=None)
        assert entry["etag"] == page.headers["ETag"]
        assert (entry["version"], entry["updatedAt"]) == (page.json_body["version"], page.json_body["updatedAt"])
    assert body["pages"][1]["version"] == 1  # what home serves, not its draft 2


def test_the_bundle_holds_each_page_as_the_page_route_serves_it(api: Api, review: Dict[str, str]) -> None:
    answer = bundle(api)
    assert answer.status_code == 200, answer.body
    entries = answer.json_body["pages"]
    assert [entry["page"] for entry in entries] == ["about", "home"]
    for entry in entries:
        page = api.request("GET", f"/sites/shop/pages/{entry['page']}", scope=None)
        assert entry["config"] == page.json_body
        assert entry["etag"] == page.headers["ETag"]
    assert entries[1]["config"]["settings"] == {"title": "home v1"}


def test_both_answer_with_the_page_routes_cors_and_cache_headers(api: Api, review: Dict[str, str]) -> None:
    for read in (manifest, bundle):
        allowed = read(api, Origin=ORIGIN)
        assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
        assert allowed.headers["Vary"] == "Origin"
        assert (
            allowed.headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=60, stale-if-error=86400"
        )
        other = read(api, Origin="https://elsewhere.example")
        assert other.status_code == 200
        assert "Access-Control-Allow-Origin" not in other.headers
        preflight = api.request("OPTIONS", f"/sites/shop/{read.__name__}", scope=None, headers={"Origin": ORIGIN})
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]


def test_a_current_etag_gets_a_304_and_both_share_it(api: Api, review: Dict[str, str]) -> None:
    tag = manifest(api).headers["ETag"]
    assert bundle(api).headers["ETag"] == tag  # they name the same versions
    for read in (manifest, bundle):
        for held in (tag, f"W/{tag}", f'"other", {tag}'):
            cached = read(api, **{"If-None-Match": held, "Origin": ORIGIN})
            assert cached.status_code == 304
            assert not cached.body
            assert cached.headers["ETag"] == tag
            assert cached.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert cached.headers["Cache-Control"].startswith("public, max-age=300")
        assert read(api, **{"If-None-Match": '"other"'}).status_code == 200


def test_the_etag_changes_with_what_the_site_serves_and_not_with_drafts(api: Api, review: Dict[str, str]) -> None:
    tag = manifest(api).headers["ETag"]
    write(api, "PUT", f"/metadata/{review['about']}", {"layout": "hero", "theme": "dark", "settings": {"t": 2}})
    assert manifest(api).headers["ETag"] == tag  # a draft changes nothing served
    publish(api, review["home"], 2)
    published = manifest(api)
    assert published.headers["ETag"] != tag
    assert bundle(api, **{"If-None-Match": tag}).status_code == 200
    assert [entry["version"] for entry in published.json_body["pages"]] == [1, 2]
    write(api, "POST", f"/metadata/{review['about']}/unpublish", None)
    assert [entry["page"] for entry in manifest(api).json_body["pages"]] == ["home"]


def test_a_site_that_serves_nothing_yet_has_an_empty_manifest(api: Api) -> None:
    api.create_site()
    answer = bundle(api, Origin=ORIGIN)
    assert answer.status_code == 200
    assert answer.json_body == {"site": "shop", "pages": [], "nextCursor": None}
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_an_unknown_site_is_a_short_lived_404_on_both(api: Api) -> None:
    api.create_site()
    for path in ("/sites/nowhere/manifest", "/sites/nowhere/bundle", "/sites/Not%20A%20Slug/bundle"):
        missing = api.request("GET", path, scope=None, headers={"Origin": ORIGIN})
        assert_error(missing, 404, "NotFound")
        assert missing.headers["Cache-Control"] == "public, max-age=10"
        assert missing.headers["Vary"] == "Origin"
        assert "Access-Control-Allow-Origin" not in missing.headers


def test_each_is_one_query(api: Api, review: Dict[str, str], table_faults: Faults) -> None:
    table_faults.seen.clear()
    assert manifest(api).status_code == 200
    assert bundle(api, **{"If-None-Match": manifest(api).headers["ETag"]}).status_code == 304
    assert table_faults.seen == ["Query", "Query", "Query"]


def test_a_site_written_before_its_settings_were_kept_beside_its_pages_is_served(
    api: Api, review: Dict[str, str], table_faults: Faults
) -> None:
    get_services().table.delete_item(Key=keys.site_pages_key("shop"))
    table_faults.seen.clear()
    answer = manifest(api, Origin=ORIGIN)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert [entry["page"] for entry in answer.json_body["pages"]] == ["about", "home"]
    assert table_faults.seen == ["Query", "GetItem"]  # the site's own item, once more
    api.create_site(publishMode="review", cacheMaxAge=300)  # the next write of the site puts them back
    table_faults.seen.clear()
    assert manifest(api).status_code == 200
    assert table_faults.seen == ["Query"]


def test_a_site_over_1_mb_comes_in_parts_each_page_once(api: Api, table_faults: Faults) -> None:
    api.create_site()
    # Each page's item holds its latest and its published settings: 2 x ~90 KB.
    big = {"text": "x" * 90_000}
    pages = [f"p{n:02d}" for n in range(8)]
    for page in pages:
        body = {"site": "shop", "page": page, "layout": "l", "theme": "t", "settings": big}
        write(api, "POST", "/metadata", body)
    seen: List[str] = []
    tags = set()
    cursor = ""
    parts = 0
    while True:
        table_faults.seen.clear()
        answer = api.request("GET", f"/sites/shop/bundle{cursor}", scope=None, headers={"Origin": ORIGIN})
        assert answer.status_code == 200, answer.body
        assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN  # every part
        # A part after the first reads the site's item too: its settings sort before the pages.
        assert table_faults.seen == (["Query"] if parts == 0 else ["Query", "GetItem"])
        parts += 1
        seen += [entry["page"] for entry in answer.json_body["pages"]]
        tags.add(answer.headers["ETag"])
        if answer.json_body["nextCursor"] is None:
            break
        cursor = f"?cursor={answer.json_body['nextCursor']}"
    assert seen == pages
    assert parts >= 2
    assert len(tags) == parts


def test_a_cursor_from_elsewhere_is_a_400(api: Api, review: Dict[str, str]) -> None:
    listing = api.request("GET", "/metadata?site=shop&limit=1", scope="read").json_body["nextCursor"]
    assert listing  # GET /metadata's, for the same site and page names
    for cursor in ("garbled!", listing):
        assert_error(api.request("GET", f"/sites/shop/manifest?cursor={cursor}", scope=None), 400, "BadRequest")


def test_the_documented_schemas_fit_the_answers(api: Api, review: Dict[str, str]) -> None:
    document = json.loads(api.request("GET", "/openapi.json", scope=None).body)
    for path in ("/sites/{site}/manifest", "/sites/{site}/bundle"):
        operation = document["paths"][path]["get"]
        assert operation["security"] == []
        assert {"ETag", "Cache-Control", "Access-Control-Allow-Origin"} <= set(operation["responses"]["200"]["headers"])
        assert "304" in operation["responses"]
