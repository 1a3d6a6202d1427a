"""Hostile input from a black-box probe (issue #10): whatever a client sends gets a 4xx with
the contract's error body, is never stored as something else than what was sent, and never
costs a 500 or a log line the size of the body."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

import pytest

from chalicelib.core.jsontext import MAX_INTEGER_DIGITS
from chalicelib.core.limits import MAX_BODY_BYTES, MAX_SETTINGS_DEPTH
from tests.conftest import Api
from tests.helpers import assert_error

CONFIG = {"site": "shop", "page": "home", "layout": "grid", "theme": "light"}
# A JSON body is at most this deep at its deepest legitimate point (the body, settings
# and 16 levels below); anything deeper is refused, however deep.
DEPTHS = (17, 330, 500, 999, 1000, 5000, 100_000)


def nested(depth: int, shape: str) -> bytes:
    """`depth` containers, each inside the one before: `[[[]]]` or `{"a":{"a":{}}}`."""
    if shape == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def raw_request(api: Api, method: str, path: str, body: bytes, headers: Dict[str, str]) -> Any:
    """A request exactly as given: no Content-Type unless `headers` has one."""
    all_headers = {"Authorization": f"Bearer {api.tokens['admin']}", **headers}
    return api.client.http.request(method, path, headers=all_headers, body=body)


def log_lines(capsys: pytest.CaptureFixture[str]) -> List[str]:
    return capsys.readouterr().out.splitlines()


def answer(response: Any) -> Tuple[int, Optional[List[str]]]:
    """The status and the fields an error names."""
    body = response.json_body or {}
    details = body.get("details")
    return response.status_code, None if details is None else [detail["field"] for detail in details]


# --- 1. deep JSON ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["array", "object"])
def test_settings_nested_at_any_depth_are_a_422_naming_settings(
    shop: Api, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    answers = {}
    for depth in DEPTHS:
        body = b'{"site":"shop","page":"home","layout":"grid","theme":"light","settings":{"a":' + nested(depth, shape)
        body += b"}}"
        response = shop.request("POST", "/metadata", body, scope="write")
        if len(body) > MAX_BODY_BYTES:
            assert_error(response, 413, "PayloadTooLarge")
            continue
        error = assert_error(response, 422, "ValidationFailed")
        assert f"at most {MAX_SETTINGS_DEPTH} levels" in error["details"][0]["message"], (depth, error)
        answers[depth] = answer(response)
    assert answers == {depth: (422, ["settings"]) for depth in answers}
    assert len(answers) >= len(DEPTHS) - 1
    assert shop.queued() == []
    # One short line per request: neither the body nor a traceback is logged.
    lines = log_lines(capsys)
    assert len(lines) >= len(DEPTHS)
    assert max(len(line) for line in lines) < 1000
    assert not any("Traceback" in line or "RecursionError" in line for line in lines)


@pytest.mark.parametrize("shape", ["array", "object"])
def test_a_whole_body_nested_at_any_depth_is_a_4xx(shop: Api, shape: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    answers = {}
    for depth in DEPTHS:
        body = nested(depth, shape)
        for method, path in (("POST", "/metadata"), ("PUT", "/sites/deep")):
            response = shop.request(method, path, body)
            if len(body) > MAX_BODY_BYTES:
                assert_error(response, 413, "PayloadTooLarge")
                continue
            assert_error(response, 422, "ValidationFailed")
            answers[(depth, method)] = answer(response)
    # A body that is not an object is the body's fault; an object's deep member is named.
    expected_field = "body" if shape == "array" else "a"
    assert all(expected_field in (fields or []) for _, fields in answers.values()), answers
    assert shop.queued() == []
    assert max(len(line) for line in log_lines(capsys)) < 1000


def test_another_field_nested_deep_is_a_422_naming_it(shop: Api) -> None:
    for depth in (20, 5000):
        body = b'{"site":' + nested(depth, "array") + b',"page":"home","layout":"grid","theme":"light"}'
        error = assert_error(shop.request("POST", "/metadata", body, scope="write"), 422, "ValidationFailed")
        assert "site" in [detail["field"] for detail in error["details"]], (depth, error)


def test_settings_as_deep_as_allowed_are_accepted(shop: Api) -> None:
    settings: Dict[str, Any] = {}
    node = settings
    for _ in range(MAX_SETTINGS_DEPTH - 1):
        node["a"] = {}
        node = node["a"]
    config = shop.create_config(settings=settings)
    assert config["settings"] == settings


def test_brackets_inside_strings_do_not_count_as_nesting(shop: Api) -> None:
    text = "[" * 5000 + "{" * 5000
    config = shop.create_config(settings={"text": text, "quoted": 'a "[[[" \\ ' + "]" * 100})
    assert config["settings"]["text"] == text


# --- 3. numbers a double cannot hold ---------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "field"),
    [
        (b'{"x": 1e400}', "settings.x"),
        (b'{"x": -1E400}', "settings.x"),
        (b'{"x": 1e-400}', "settings.x"),
        (b'{"a": {"b": [1, 2, -2.5e-999]}}', "settings.a.b.2"),
        (b'{"x": ' + b"9" * (MAX_INTEGER_DIGITS + 1) + b"}", "settings.x"),
        (b'{"x": -' + b"9" * 5000 + b"}", "settings.x"),
    ],
)
def test_a_number_that_would_be_stored_as_another_is_a_422(shop: Api, literal: bytes, field: str) -> None:
    body = b'{"site": "shop", "page": "home", "layout": "grid", "theme": "light", "settings": ' + literal + b"}"
    error = assert_error(shop.request("POST", "/metadata", body, scope="write"), 422, "ValidationFailed")
    assert [detail["field"] for detail in error["details"]] == [field]
    assert shop.queued() == []


def test_a_number_out_of_range_elsewhere_is_named_too(api: Api) -> None:
    error = assert_error(
        api.request("PUT", "/sites/shop", b'{"name": "Shop", "cacheMaxAge": 1e999}'), 422, "ValidationFailed"
    )
    assert [detail["field"] for detail in error["details"]] == ["cacheMaxAge"]


def test_big_integers_and_zero_underflows_are_kept_exactly(shop: Api) -> None:
    huge = int("9" * MAX_INTEGER_DIGITS)
    body = (
        b'{"site": "shop", "page": "home", "layout": "grid", "theme": "light", "settings": '
        b'{"big": 9007199254740993, "huge": ' + str(huge).encode() + b', "negative": -' + str(huge).encode() + b", "
        b'"zero": 0e-400, "tiny": 5e-324, "max": 1.7976931348623157e308}}'
    )
    response = shop.request("POST", "/metadata", body, scope="write")
    assert response.status_code == 202, response.body
    shop.apply()
    config_id = response.json_body["id"]
    expected = {
        "big": 2**53 + 1,
        "huge": huge,
        "negative": -huge,
        "zero": 0.0,
        "tiny": 5e-324,
        "max": 1.7976931348623157e308,
    }
    for path, scope in ((f"/metadata/{config_id}", None), ("/sites/shop/pages/home", None)):
        read = shop.request("GET", path, scope=scope)
        assert read.json_body["settings"] == expected
        assert str(huge).encode() in (read.body if isinstance(read.body, bytes) else read.body.encode())
    versions = shop.request("GET", f"/metadata/{config_id}/versions", scope="read").json_body["items"]
    assert versions[0]["settings"] == expected


def test_a_name_given_twice_in_one_object_is_a_422_naming_it(shop: Api) -> None:
    # The parser would keep only the last one: not what was sent.
    body = (
        b'{"site": "shop", "page": "home", "layout": "grid", "theme": "light", '
        b'"settings": {"hero": {"title": "A", "size": 1, "title": "B"}, "items": [{"x": 1, "x": 1}]}}'
    )
    error = assert_error(shop.request("POST", "/metadata", body, scope="write"), 422, "ValidationFailed")
    assert [detail["field"] for detail in error["details"]] == ["settings.hero.title", "settings.items.0.x"]
    top = b'{"site": "shop", "site": "shop", "page": "home", "layout": "grid", "theme": "light"}'
    error = assert_error(shop.request("POST", "/metadata", top, scope="write"), 422, "ValidationFailed")
    assert [detail["field"] for detail in error["details"]] == ["site"]
    assert shop.queued() == []


# --- 4. a trailing newline is not part of a slug, id or name ---------------------------


def test_a_slug_with_a_trailing_newline_is_refused_everywhere(shop: Api) -> None:
    shop.create_config()
    for query in ("site=shop%0A", "site=shop%0D%0A", "site=shop&page=home%0A"):
        assert_error(shop.request("GET", f"/metadata?{query}", scope="read"), 400, "BadRequest")
    assert_error(shop.request("PUT", "/sites/shop%0A", {"name": "Shop"}), 400, "BadRequest")
    shop.apply()
    assert [site["site"] for site in shop.request("GET", "/sites", scope="read").json_body["items"]] == ["shop"]
    assert_error(shop.request("GET", "/sites/shop%0A", scope="read"), 404, "NotFound")
    assert_error(shop.request("GET", "/sites/shop%0A/pages/home", scope=None), 404, "NotFound")
    assert_error(shop.request("GET", "/sites/shop/pages/home%0A", scope=None), 404, "NotFound")


@pytest.mark.parametrize("field", ["site", "page", "layout", "theme"])
def test_a_body_field_with_a_trailing_newline_is_a_422(shop: Api, field: str) -> None:
    body = {**CONFIG, field: CONFIG[field] + "\n"}
    error = assert_error(shop.request("POST", "/metadata", body, scope="write"), 422, "ValidationFailed")
    assert [detail["field"] for detail in error["details"]] == [field]
    assert shop.queued() == []


def test_an_id_with_a_trailing_newline_is_unknown(shop: Api) -> None:
    config = shop.create_config()
    assert_error(shop.request("GET", f"/metadata/{config['id']}%0A", scope=None), 404, "NotFound")
    update = shop.request("PUT", f"/metadata/{config['id']}%0A", {"layout": "a", "theme": "b"}, scope="write")
    assert_error(update, 404, "NotFound")
    response = shop.request("POST", "/metadata", CONFIG, scope="write", headers={"Idempotency-Key": "key\n"})
    assert_error(response, 400, "BadRequest")


# --- 7. an empty body ------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b" ", b"\r\n\t "])
@pytest.mark.parametrize(("method", "path"), [("POST", "/metadata"), ("PUT", "/sites/shop")])
def test_an_empty_or_blank_body_is_a_400(shop: Api, body: bytes, method: str, path: str) -> None:
    for headers in ({"Content-Type": "application/json"}, {}):
        error = assert_error(raw_request(shop, method, path, body, headers), 400, "BadRequest")
        assert "JSON object" in error["message"]
    assert shop.queued() == []


def test_a_delete_needs_no_body(shop: Api) -> None:
    config = shop.create_config()
    response = raw_request(shop, "DELETE", f"/metadata/{config['id']}", b"", {})
    assert response.status_code == 202, response.body


# --- 8. media type and encoding --------------------------------------------------------


def test_a_body_without_a_content_type_is_a_415(shop: Api) -> None:
    response = raw_request(shop, "POST", "/metadata", json.dumps(CONFIG).encode(), {})
    error = assert_error(response, 415, "UnsupportedMediaType")
    assert "application/json" in error["message"]
    assert shop.queued() == []


@pytest.mark.parametrize("charset", ["utf-16", "UTF-32", "latin-1"])
def test_a_charset_other_than_utf8_is_a_415(shop: Api, charset: str) -> None:
    headers = {"Content-Type": f"application/json; charset={charset}"}
    response = raw_request(shop, "POST", "/metadata", json.dumps(CONFIG).encode(charset), headers)
    assert_error(response, 415, "UnsupportedMediaType")
    assert shop.queued() == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", 'Application/JSON; Charset="UTF-8"'])
def test_utf8_may_be_declared(shop: Api, content_type: str) -> None:
    response = raw_request(shop, "POST", "/metadata", json.dumps(CONFIG).encode(), {"Content-Type": content_type})
    assert response.status_code == 202, response.body


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-8-sig"])
def test_json_that_is_not_plain_utf8_is_a_400(shop: Api, encoding: str) -> None:
    body = json.dumps(CONFIG).encode(encoding)
    response = raw_request(shop, "POST", "/metadata", body, {"Content-Type": "application/json"})
    error = assert_error(response, 400, "BadRequest")
    assert "UTF-8" in error["message"]
    assert shop.queued() == []


def test_bytes_that_are_not_utf8_are_a_400(shop: Api) -> None:
    body = b'{"site": "shop", "page": "home", "layout": "grid", "theme": "light", "settings": {"x": "\xff"}}'
    assert_error(shop.request("POST", "/metadata", body, scope="write"), 400, "BadRequest")


# --- 9. allowed origins are stored as browsers send them -------------------------------


def test_origins_are_stored_as_browsers_serialize_them(api: Api) -> None:
    origins = [
        "HTTPS://SHOP.EXAMPLE",
        "https://shop.example:443",
        "https://shop.example",
        "http://Shop.Example:80",
        "https://bücher.example",
        "https://a.example/",
        "http://localhost:3000",
        "http://[::1]:8080",
    ]
    api.create_site(allowedOrigins=origins)
    site = api.request("GET", "/sites/shop", scope="read").json_body
    assert site["allowedOrigins"] == [
        "https://shop.example",
        "http://shop.example",
        "https://xn--bcher-kva.example",
        "https://a.example",
        "http://localhost:3000",
        "http://[::1]:8080",
    ]
    api.create_config()
    for origin in ("https://shop.example", "https://xn--bcher-kva.example", "http://[::1]:8080"):
        response = api.request("GET", "/sites/shop/pages/home", scope=None, headers={"Origin": origin})
        assert response.headers.get("Access-Control-Allow-Origin") == origin


@pytest.mark.parametrize(
    ("origin", "words"),
    [
        ("https://*.example", "wildcard"),
        ("*", "wildcard"),
        ("https://shop.example/path", "path"),
        ("https://shop.example\n", "space or control"),
        ("https://shop .example", "space or control"),
        ("https://shop.example:99999", "port"),
        ("https://xn--.example", "host"),
        ("https://sh*p.example", "wildcard"),
        ("https://shop..example", "host"),
    ],
)
def test_an_origin_that_can_never_match_is_a_422_saying_why(api: Api, origin: str, words: str) -> None:
    body = {"name": "Shop", "allowedOrigins": ["https://ok.example", origin]}
    error = assert_error(api.request("PUT", "/sites/shop", body), 422, "ValidationFailed")
    assert [detail["field"] for detail in error["details"]] == ["allowedOrigins.1"]
    assert words in error["details"][0]["message"], error
    assert api.queued() == []


# --- 14. id aliases --------------------------------------------------------------------

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def alias(identifier: str) -> str:
    """The same 128 bits, spelled with the last character's two spare bits set."""
    return identifier[:-1] + _BASE32[_BASE32.index(identifier[-1]) | 3]


def test_an_alias_of_an_id_is_unknown(shop: Api) -> None:
    accepted = shop.request("POST", "/metadata", CONFIG, scope="write").json_body
    operation_id, config_id = accepted["operationId"], accepted["id"]
    assert alias(operation_id) != operation_id
    assert_error(shop.request("GET", f"/operations/{alias(operation_id)}", scope="write"), 404, "NotFound")
    shop.apply()
    assert shop.request("GET", f"/operations/{operation_id}", scope="write").json_body["status"] == "succeeded"
    assert_error(shop.request("GET", f"/operations/{alias(operation_id)}", scope="write"), 404, "NotFound")

    other = alias(config_id)
    assert_error(shop.request("GET", f"/metadata/{other}", scope=None), 404, "NotFound")
    assert_error(shop.request("GET", f"/metadata/{other}/versions", scope="read"), 404, "NotFound")
    update = shop.request("PUT", f"/metadata/{other}", {"layout": "a", "theme": "b"}, scope="write")
    assert_error(update, 404, "NotFound")
    assert_error(shop.request("DELETE", f"/metadata/{other}", scope="write"), 404, "NotFound")
    assert shop.queued() == []
    assert shop.request("GET", f"/metadata/{config_id}", scope=None).json_body["version"] == 1


# --- 15. forged cursors ----------------------------------------------------------------


def forged(listing: str, position: Any) -> str:
    raw = json.dumps({"l": listing, "p": position}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_SLUGS = ["x" * 10_000, "Bad Slug", "shop\n", "", "-shop", "a/b", "²"]


def test_a_forged_sites_cursor_is_a_400(shop: Api) -> None:
    for position in BAD_SLUGS:
        response = shop.request("GET", f"/sites?cursor={forged('sites', position)}", scope="read")
        assert_error(response, 400, "BadRequest")
    # A well-formed position that names no site is just a place in the listing.
    assert shop.request("GET", f"/sites?cursor={forged('sites', 'zzz')}", scope="read").json_body["items"] == []


def test_a_forged_configs_cursor_is_a_400(shop: Api) -> None:
    for position in [*BAD_SLUGS, "home" + "x" * 200]:
        for query in ("site=shop", "site=shop&page=home"):
            listing = "configs:shop:" + ("home" if "page" in query else "")
            response = shop.request("GET", f"/metadata?{query}&cursor={forged(listing, position)}", scope="read")
            assert_error(response, 400, "BadRequest")


def test_a_forged_versions_cursor_is_a_400(shop: Api) -> None:
    config_id = shop.create_config()["id"]
    for position in ["99999999999", "1" * 10_000, "²", "-1", "1.5", "", " 1", "\u0661"]:
        cursor = forged(f"versions:{config_id}", position)
        response = shop.request("GET", f"/metadata/{config_id}/versions?cursor={cursor}", scope="read")
        assert_error(response, 400, "BadRequest")
    cursor = forged(f"versions:{config_id}", "9999999999")
    listed = shop.request("GET", f"/metadata/{config_id}/versions?cursor={cursor}", scope="read").json_body
    assert [item["version"] for item in listed["items"]] == [1]


def test_a_deep_cursor_is_a_400(shop: Api) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode().rstrip("=")
    assert_error(shop.request("GET", f"/sites?cursor={cursor}", scope="read"), 400, "BadRequest")


@pytest.mark.parametrize("limit", ["²", "\u0661", "1" * 5000, "+5", " 5"])
def test_a_limit_that_is_not_ascii_digits_is_a_400(shop: Api, limit: str) -> None:
    response = shop.request("GET", f"/sites?limit={quote(limit)}", scope="read")
    assert_error(response, 400, "BadRequest")


def test_an_unclosed_string_of_escaped_quotes_is_answered_at_once(shop: Api) -> None:
    """The depth scan skips strings; an unclosed one full of escaped quotes once made it
    quadratic (minutes for a body under the limit)."""
    body = b'{"site": "shop", "settings": {"a": "' + b'\\"' * 120_000
    response = shop.request("POST", "/metadata", body, scope="write")
    assert_error(response, 400, "BadRequest")


def test_characters_sqs_refuses_travel_escaped_and_are_stored_exactly(shop: Api) -> None:
    settings = {"odd": "\uffff\ufffe", "emoji": "\U0001f600", "accents": "é"}
    config = shop.create_config(settings=settings)
    assert config["settings"] == settings
    shop.request("PUT", f"/metadata/{config['id']}", {"layout": "a", "theme": "b", "settings": settings})
    (message,) = shop.queued()
    assert message["Body"].isascii()  # SQS refuses U+FFFE and U+FFFF in a body (moto does not check)
