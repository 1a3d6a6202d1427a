"""The console as the API serves it (`chalice.test.Client`): the page with its strict
Content-Security-Policy, revalidated on every load; the content-hashed assets it names,
kept for a year; an asset that is not there, a 404 in the contract's error body; and a
console that was never built, a 503 saying what to run.

These read the build `make console` makes (`make test` runs it first)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from chalice.test import Client

from bench import console_size
from chalicelib import console
from infra.resources import PROJECT_DIR
from tests.helpers import assert_error

ASSETS = PROJECT_DIR / "chalicelib" / "console" / "assets"


@pytest.fixture(scope="module")
def built() -> Dict[str, str]:
    manifest = ASSETS / "manifest.json"
    if not manifest.is_file():
        pytest.fail("the console is not built: `make console` builds it (`make test` does, first)")
    found: Dict[str, str] = json.loads(manifest.read_text())
    return found


@pytest.fixture
def http(client: Client) -> Any:
    return client.http


def page_assets(body: bytes) -> List[str]:
    return re.findall(r'(?:src|href)="console/assets/([^"]+)"', body.decode())


def test_the_page_is_html_that_names_the_built_script_and_stylesheet(http: Any, built: Dict[str, str]) -> None:
    answer = http.get("/console")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert sorted(page_assets(answer.body)) == sorted([built["script"], built["style"]])
    assert b'<html lang="en">' in answer.body
    assert b"<title>Metadata Manager console</title>" in answer.body


def test_the_page_allows_only_what_the_api_serves_and_no_inline_code(http: Any, built: Dict[str, str]) -> None:
    answer = http.get("/console")
    policy = dict(part.strip().split(" ", 1) for part in answer.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]
    # Nothing inline that the policy would have to allow.
    assert b"<style" not in answer.body
    assert re.findall(rb"<script[^>]*>", answer.body) == [
        f'<script type="module" src="console/assets/{built["script"]}">'.encode()
    ]
    assert b"style=" not in answer.body
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_is_revalidated_every_time_and_answers_304_to_its_etag(http: Any) -> None:
    first = http.get("/console")
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]
    again = http.get("/console", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag
    assert http.get("/console", headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_each_hashed_asset_is_served_with_its_type_and_kept_for_a_year(http: Any, built: Dict[str, str]) -> None:
    for name, media in (
        (built["script"], "text/javascript; charset=utf-8"),
        (built["style"], "text/css; charset=utf-8"),
    ):
        answer = http.get(f"/console/assets/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["Content-Type"] == media
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.body == (ASSETS / name).read_bytes()
        assert http.get(f"/console/assets/{name}", headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304


def test_an_asset_name_holds_a_hash_of_its_content(built: Dict[str, str]) -> None:
    for name in (built["script"], built["style"]):
        assert re.fullmatch(r"console-[A-Z0-9]{8}\.(js|css)", name), name


@pytest.mark.parametrize(
    "name",
    ["console-AAAAAAAA.js", "manifest.json", "console.js", "..%2Fserving.py", "console-AAAAAAAA.exe", "x" * 300],
)
def test_an_asset_that_is_not_there_is_a_404_in_the_contracts_error_body(http: Any, name: str) -> None:
    body = assert_error(http.get(f"/console/assets/{name}"), 404, "NotFound")
    assert "the console has no asset" in body["message"]


def test_a_console_that_was_never_built_is_a_503_saying_what_to_run(tmp_path: Path) -> None:
    from chalicelib.core import DependencyUnavailable

    with pytest.raises(DependencyUnavailable, match="make console"):
        console.page_response(None, folder=tmp_path)
    (tmp_path / "manifest.json").write_text('{"script": "console-AAAAAAAA.js", "style": "console-BBBBBBBB.css"}')
    with pytest.raises(DependencyUnavailable, match="incomplete"):
        console.asset_response("console-AAAAAAAA.js", None, folder=tmp_path)


def test_the_first_load_fits_the_budget_compressed(built: Dict[str, str]) -> None:
    first = console_size.measure(ASSETS)
    assert [name for name, _, _ in first.files] == ["console (HTML)", built["script"], built["style"]]
    script = (ASSETS / built["script"]).read_bytes()
    assert first.files[1] == (built["script"], len(script), len(gzip.compress(script, 9)))
    assert first.within_budget, f"{first.compressed} bytes gzipped, budget {console_size.BUDGET_COMPRESSED}"
    assert first.compressed < first.raw / 2


def test_the_openapi_document_lists_the_console_as_html_and_assets_only(http: Any) -> None:
    document = json.loads(http.get("/openapi.json").body)
    page = document["paths"]["/console"]["get"]
    asset = document["paths"]["/console/assets/{asset}"]["get"]
    assert page["tags"] == asset["tags"] == ["console"]
    assert list(page["responses"]["200"]["content"]) == ["text/html"]
    assert sorted(asset["responses"]["200"]["content"]) == ["text/css", "text/javascript"]
    assert page["security"] == asset["security"] == []
    assert "Content-Security-Policy" in page["responses"]["200"]["headers"]
    assert asset["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
