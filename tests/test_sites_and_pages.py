"""Sites, and the public page route frontends fetch their render config from."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.helpers import assert_error


def test_a_put_site_is_readable_once_applied(api: Api) -> None:
    operation = api.create_site("shop", name="The Shop", allowedOrigins=["https://shop.example"], cacheMaxAge=300)
    assert operation["type"] == "site.put"
    assert operation["resourceId"] == "shop"
    site = api.request("GET", "/sites/shop", scope="read").json_body
    assert site["site"] == "shop"
    assert site["name"] == "The Shop"
    assert site["allowedOrigins"] == ["https://shop.example"]
    assert site["cacheMaxAge"] == 300
    assert site["version"] == 1


def test_put_site_again_replaces_it_and_keeps_created_at(api: Api) -> None:
    api.create_site("shop", name="Old")
    first = api.request("GET", "/sites/shop", scope="read").json_body
    operation = api.create_site("shop", name="New", cacheMaxAge=5)
    assert operation["version"] == 2
    site = api.request("GET", "/sites/shop", scope="read").json_body
    assert (site["name"], site["cacheMaxAge"], site["version"]) == ("New", 5, 2)
    assert site["createdAt"] == first["createdAt"]


def test_sites_are_listed_by_slug_a_page_at_a_time(api: Api) -> None:
    for slug in ("delta", "alpha", "charlie", "bravo"):
        api.create_site(slug, name=slug.title())
    first = api.request("GET", "/sites?limit=3", scope="read").json_body
    assert [site["site"] for site in first["items"]] == ["alpha", "bravo", "charlie"]
    rest = api.request("GET", f"/sites?cursor={first['nextCursor']}", scope="read").json_body
    assert [site["site"] for site in rest["items"]] == ["delta"]
    assert rest["nextCursor"] is None


def test_an_unknown_site_is_404(api: Api) -> None:
    assert_error(api.request("GET", "/sites/nowhere", scope="read"), 404, "NotFound")
    assert_error(api.request("GET", "/sites/NOT_A_SLUG", scope="read"), 404, "NotFound")


@pytest.mark.parametrize(
    ("listing", "scope"),
    [("schemas", "read"), ("releases?status=cancelled", "read"), ("audit?until=2001-01-01T00:00:00Z", "admin")],
)
def test_a_listing_of_an_unknown_site_is_404_and_of_a_known_one_may_be_empty(
    api: Api, listing: str, scope: str
) -> None:
    # As the site itself and its items are: a typo in the site is not an empty listing.
    assert_error(api.request("GET", f"/sites/nowhere/{listing}", scope=scope), 404, "NotFound")
    api.create_site("quiet")
    found = api.request("GET", f"/sites/quiet/{listing}", scope=scope)
    assert (found.status_code, found.json_body) == (200, {"items": [], "nextCursor": None})


def test_a_site_slug_that_breaks_the_pattern_is_refused(api: Api) -> None:
    response = api.request("PUT", "/sites/Bad_Slug", {"name": "x"})
    assert_error(response, 400, "BadRequest")


def test_the_page_route_answers_the_render_config_without_internals(api: Api) -> None:
    api.create_site(cacheMaxAge=120)
    config = api.create_config(settings={"hero": "big"})
    response = api.request("GET", "/sites/shop/pages/home", scope=None)
    assert response.status_code == 200
    assert response.json_body == {
        "site": "shop",
        "page": "home",
        "layout": "two-column",
        "theme": "dark",
        "settings": {"hero": "big"},
        "version": 1,
        "updatedAt": config["updatedAt"],
    }
    assert response.headers["ETag"] == f'"{config["id"]}.1"'
    assert response.headers["Cache-Control"].startswith("public, max-age=120, stale-while-revalidate=")
    assert response.headers["Vary"] == "Origin"


def test_the_page_route_answers_304_to_a_current_etag(api: Api) -> None:
    api.create_site()
    api.create_config()
    etag = api.request("GET", "/sites/shop/pages/home", scope=None).headers["ETag"]
    response = api.request("GET", "/sites/shop/pages/home", scope=None, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["ETag"] == etag
    assert "max-age=120" in response.headers["Cache-Control"]


def test_the_page_route_follows_an_update(api: Api) -> None:
    api.create_site()
    config = api.create_config()
    old = api.request("GET", "/sites/shop/pages/home", scope=None).headers["ETag"]
    api.write("PUT", f"/metadata/{config['id']}", {"layout": "hero", "theme": "light"}, scope="write")
    response = api.request("GET", "/sites/shop/pages/home", scope=None, headers={"If-None-Match": old})
    assert response.status_code == 200
    assert response.json_body["layout"] == "hero"
    assert response.headers["ETag"] != old


def test_cors_is_granted_only_to_the_sites_own_origins(api: Api) -> None:
    api.create_site(allowedOrigins=["https://shop.example", "http://localhost:3000"])
    api.create_config()
    allowed = api.request("GET", "/sites/shop/pages/home", scope=None, headers={"Origin": "http://localhost:3000"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"

    for origin in ("https://evil.example", "http://shop.example", "https://shop.example:8443"):
        denied = api.request("GET", "/sites/shop/pages/home", scope=None, headers={"Origin": origin})
        assert denied.status_code == 200
        assert "Access-Control-Allow-Origin" not in denied.headers


def test_a_preflight_is_answered_per_site(api: Api) -> None:
    api.create_site(allowedOrigins=["https://shop.example"])
    headers = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    granted = api.request("OPTIONS", "/sites/shop/pages/home", scope=None, headers=headers)
    assert granted.status_code == 204
    assert granted.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "GET" in granted.headers["Access-Control-Allow-Methods"]

    other = {**headers, "Origin": "https://evil.example"}
    refused = api.request("OPTIONS", "/sites/shop/pages/home", scope=None, headers=other)
    assert refused.status_code == 204  # answered, without a grant: the browser refuses
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_an_unknown_page_is_a_short_cacheable_404(api: Api) -> None:
    api.create_site()
    for path in ("/sites/shop/pages/nothing-here", "/sites/nowhere/pages/home", "/sites/shop/pages/Bad%20Page"):
        response = api.request("GET", path, scope=None)
        assert_error(response, 404, "NotFound")
        assert response.headers["Cache-Control"] == "public, max-age=10"
        assert response.headers["Vary"] == "Origin"


def test_health_is_public_and_cheap(api: Api) -> None:
    response = api.request("GET", "/health", scope=None)
    assert response.status_code == 200
    assert response.json_body["status"] == "ok"
    assert "X-Request-Id" in response.headers


def test_a_preflight_for_a_malformed_page_is_a_404(api: Api) -> None:
    api.create_site(allowedOrigins=["https://shop.example"])
    headers = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    response = api.request("OPTIONS", "/sites/shop/pages/Bad%20Page", scope=None, headers=headers)
    assert_error(response, 404, "NotFound")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_preflight_for_an_impossible_slug_carries_the_same_headers_as_the_gets_404(api: Api) -> None:
    api.create_site(allowedOrigins=["https://shop.example"])
    headers = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    for path in ("/sites/shop/pages/Bad%20Page", "/sites/Bad_Site/pages/home", "/sites/shop%0A/pages/home"):
        got = api.request("GET", path, scope=None, headers={"Origin": "https://shop.example"})
        preflight = api.request("OPTIONS", path, scope=None, headers=headers)
        assert_error(got, 404, "NotFound")
        assert_error(preflight, 404, "NotFound")
        for name in ("Vary", "Cache-Control"):
            assert preflight.headers.get(name) == got.headers[name], (path, name)
        assert preflight.headers["Cache-Control"] == "public, max-age=10"
        assert "Access-Control-Allow-Origin" not in preflight.headers


def test_a_preflight_for_an_unknown_but_valid_site_is_a_204_without_a_grant(api: Api) -> None:
    headers = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    response = api.request("OPTIONS", "/sites/nowhere/pages/home", scope=None, headers=headers)
    assert response.status_code == 204
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in response.headers
