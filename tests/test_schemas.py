"""Settings schemas per layout: uploading, checking and listing them; config writes
validated against them at accept and again when applied; dry runs; impact reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.core.limits import MAX_BODY_BYTES
from chalicelib.schemas import dialect
from chalicelib.services import get_services
from devstack.poller import lambda_sqs_event
from infra.resources import PROJECT_DIR
from tests.conftest import REGION, Api
from tests.helpers import assert_error

HERO: Dict[str, Any] = {
    "type": "object",
    "properties": {
        "hero": {
            "type": "object",
            "properties": {"title": {"type": "string", "maxLength": 80}},
            "required": ["title"],
        },
        "columns": {"type": "integer", "minimum": 1, "maximum": 6},
    },
    "required": ["hero"],
    "additionalProperties": False,
}
GOOD = {"hero": {"title": "Welcome"}, "columns": 3}


def put_schema(api: Api, schema: Any, layout: str = "hero-grid", query: str = "", **headers: str) -> Any:
    return api.request("PUT", f"/sites/shop/schemas/{layout}{query}", {"schema": schema}, headers=headers)


def config(page: str = "home", layout: str = "hero-grid", settings: Any = None) -> Dict[str, Any]:
    return {"site": "shop", "page": page, "layout": layout, "theme": "light", "settings": settings or {}}


def applied(api: Api, response: Any) -> Dict[str, Any]:
    assert response.status_code == 202, response.body
    api.apply()
    operation: Dict[str, Any] = api.request("GET", f"/operations/{response.json_body['operationId']}").json_body
    return operation


@pytest.fixture
def hero(shop: Api) -> Api:
    assert applied(shop, put_schema(shop, HERO))["status"] == "succeeded"
    return shop


def test_a_schema_is_stored_versioned_and_listed(hero: Api) -> None:
    one = hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read")
    assert one.status_code == 200
    assert one.json_body["schema"] == HERO
    assert one.json_body["version"] == 1
    created = "".join(character for character in one.json_body["createdAt"] if character.isdigit())
    assert one.headers["ETag"] == f'"shop/hero-grid@{created}.1"'
    assert applied(hero, put_schema(hero, {**HERO, "description": "x"}))["version"] == 2
    listing = hero.request("GET", "/sites/shop/schemas", scope="read").json_body
    assert [(item["layout"], item["version"]) for item in listing["items"]] == [("hero-grid", 2)]
    assert listing["nextCursor"] is None


def test_a_schema_for_an_unknown_site_is_a_404(api: Api) -> None:
    assert_error(put_schema(api, HERO), 404, "NotFound")


@pytest.mark.parametrize(
    ("schema", "field", "words"),
    [
        ({"type": "strng"}, "schema/type", "a type is one of"),
        ({"properties": {"x": {"minimum": "a"}}}, "schema/properties/x/minimum", "not of type"),
        (
            {"properties": {"x": {"$ref": "https://example.com/x.json"}}},
            "schema/properties/x/$ref",
            "Retrieval is disabled",
        ),
        (
            {"properties": {"x": {"pattern": "(?<=a)b"}}},
            "schema/properties/x/pattern",
            "look-around or back-references",
        ),
        ({"properties": {"x": {"pattern": "(a{1000}){1000}"}}}, "schema/properties/x/pattern", "too large"),
        ({"patternProperties": {"(a": {}}}, "schema/patternProperties/(a", "not a valid regular expression"),
        ({"properties": {"x": {"format": "emial"}}}, "schema/properties/x/format", "Unknown format"),
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, "schema/$schema", "2020-12"),
        ({"$ref": "#/$defs/missing"}, "schema/$ref", "does not exist"),
        (
            {"$defs": {"a": {}}, "items": {"prefixItems": [{}, {"$ref": "#/$defs/b"}]}},
            "schema/items/prefixItems/1/$ref",
            "/$defs/b",
        ),
        (
            {"$id": "https://shop.example/s", "properties": {"x": {"$ref": "other.json"}}},
            "schema/properties/x/$ref",
            "Retrieval",
        ),
        ({"properties": {"x": {"$dynamicRef": "#nowhere"}}}, "schema/properties/x/$dynamicRef", "does not exist"),
        ([1, 2], "schema", "valid dictionary"),
    ],
)
def test_a_schema_that_is_not_one_is_a_422_saying_what_is_wrong(shop: Api, schema: Any, field: str, words: str) -> None:
    body = assert_error(put_schema(shop, schema), 422, "ValidationFailed")
    assert body["details"][0]["field"] == field, body
    assert words in body["details"][0]["message"], body
    assert shop.queued() == []


def test_a_schema_over_64_kib_is_refused(shop: Api) -> None:
    huge = {"type": "object", "properties": {f"p{i:05}": {"type": "string", "maxLength": 10} for i in range(2500)}}
    body = assert_error(put_schema(shop, huge), 422, "ValidationFailed")
    assert "at most 65536" in body["details"][0]["message"]


def test_a_config_that_breaks_the_schema_is_a_422_with_a_pointer_per_error(hero: Api) -> None:
    bad = {"hero": {"title": 5}, "columns": 9, "colour": "red"}
    body = assert_error(hero.request("POST", "/metadata", config(settings=bad), scope="write"), 422, "ValidationFailed")
    found = {(detail["field"], detail["type"]) for detail in body["details"]}
    assert found == {
        ("settings/hero/title", "type"),
        ("settings/columns", "maximum"),
        ("settings/colour", "additionalProperties"),
    }
    assert all(detail["message"] for detail in body["details"])
    missing = assert_error(
        hero.request("POST", "/metadata", config(settings={}), scope="write"), 422, "ValidationFailed"
    )
    assert missing["details"] == [
        {"field": "settings/hero", "message": '"hero" is a required property', "type": "required"}
    ]
    assert hero.queued() == []


def test_an_update_is_checked_against_the_schema_of_its_new_layout(hero: Api) -> None:
    created = hero.create_config(layout="plain", settings={"anything": True})
    path = f"/metadata/{created['id']}"
    response = hero.request("PUT", path, {"layout": "hero-grid", "theme": "t", "settings": {}}, scope="write")
    body = assert_error(response, 422, "ValidationFailed")
    assert body["details"][0]["field"] == "settings/hero"
    ok = hero.request("PUT", path, {"layout": "hero-grid", "theme": "t", "settings": GOOD}, scope="write")
    assert applied(hero, ok)["status"] == "succeeded"


def test_layouts_without_a_schema_stay_free(hero: Api) -> None:
    created = hero.create_config(layout="no-schema-yet", settings={"free": [1, {"form": True}]})
    assert created["settings"] == {"free": [1, {"form": True}]}


def test_a_site_that_requires_schemas_refuses_a_layout_without_one(hero: Api) -> None:
    hero.create_site(requireSchemas=True)
    body = assert_error(
        hero.request("POST", "/metadata", config(layout="unknown"), scope="write"), 422, "ValidationFailed"
    )
    assert body["details"] == [
        {
            "field": "layout",
            "message": "site 'shop' requires a schema for every layout, and layout 'unknown' has none",
            "type": "schema_required",
        }
    ]
    assert applied(hero, hero.request("POST", "/metadata", config(settings=GOOD), scope="write"))["version"] == 1


def test_require_schemas_must_be_a_boolean(shop: Api) -> None:
    body = {"name": "Shop", "requireSchemas": "yes"}
    error = assert_error(shop.request("PUT", "/sites/shop", body), 422, "ValidationFailed")
    assert error["details"][0]["field"] == "requireSchemas"


def test_a_dry_run_answers_what_the_write_would_get_and_queues_nothing(hero: Api) -> None:
    ok = hero.request("POST", "/metadata?dryRun=true", config(settings=GOOD), scope="write")
    assert (ok.status_code, ok.json_body) == (200, {"valid": True})
    bad = hero.request("POST", "/metadata?dryRun=true", config(settings={"hero": {}}), scope="write")
    assert assert_error(bad, 422, "ValidationFailed")["details"][0]["field"] == "settings/hero/title"
    created = hero.create_config(layout="hero-grid", settings=GOOD)
    update = hero.request(
        "PUT", f"/metadata/{created['id']}?dryRun=true", {"layout": "hero-grid", "theme": "x", "settings": GOOD}
    )
    assert (update.status_code, update.json_body) == (200, {"valid": True})
    assert_error(hero.request("POST", "/metadata?dryRun=maybe", config(), scope="write"), 400, "BadRequest")
    assert hero.queued() == []
    assert hero.request("GET", f"/metadata/{created['id']}", scope=None).json_body["version"] == 1


def test_a_schema_dry_run_reports_the_configs_it_would_reject(hero: Api) -> None:
    good = hero.create_config(page="home", layout="hero-grid", settings=GOOD)
    narrow = hero.create_config(page="narrow", layout="hero-grid", settings={"hero": {"title": "x" * 50}})
    hero.create_config(page="other", layout="plain", settings={"hero": 1})
    stricter = {
        **HERO,
        "properties": {
            **HERO["properties"],
            "hero": {"type": "object", "properties": {"title": {"type": "string", "maxLength": 20}}},
        },
    }
    report = put_schema(hero, stricter, query="?dryRun=true")
    assert report.status_code == 200, report.body
    body = report.json_body
    assert (body["valid"], body["checked"]) == (False, 2)
    assert [(item["id"], item["page"], item["published"]) for item in body["rejected"]] == [
        (narrow["id"], "narrow", True)
    ]
    assert body["rejected"][0]["errors"][0]["field"] == "settings/hero/title"
    assert good["id"] not in {item["id"] for item in body["rejected"]}
    assert hero.queued() == []


def test_a_schema_that_breaks_a_published_config_is_a_409_unless_forced(hero: Api) -> None:
    narrow = hero.create_config(page="narrow", layout="hero-grid", settings={"hero": {"title": "x" * 50}})
    stricter = {**HERO, "properties": {"hero": {"type": "object", "properties": {"title": {"maxLength": 20}}}}}
    body = assert_error(put_schema(hero, stricter), 409, "SchemaBreaksPublished")
    assert [item["id"] for item in body["details"]] == [narrow["id"]]
    assert hero.queued() == []
    forced = applied(hero, put_schema(hero, stricter, query="?force=true"))
    assert (forced["status"], forced["version"]) == ("succeeded", 2)
    # The config stays as it was, and is served; its next write must fit the new schema.
    assert hero.request("GET", f"/metadata/{narrow['id']}", scope=None).json_body["version"] == 1


def test_if_match_guards_a_schema_against_a_lost_update(hero: Api) -> None:
    tag = hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read").headers["ETag"]
    assert_error(put_schema(hero, HERO, **{"If-Match": tag.replace('.1"', '.9"')}), 412, "PreconditionFailed")
    assert applied(hero, put_schema(hero, HERO, **{"If-Match": tag}))["version"] == 2
    assert_error(put_schema(hero, HERO, layout="fresh", **{"If-Match": '"shop/fresh.1"'}), 412, "PreconditionFailed")


def test_a_schema_set_again_after_a_delete_does_not_match_the_old_etag(hero: Api) -> None:
    old = hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read").headers["ETag"]
    assert applied(hero, hero.request("DELETE", "/sites/shop/schemas/hero-grid"))["status"] == "succeeded"
    assert applied(hero, put_schema(hero, HERO))["version"] == 1
    assert_error(put_schema(hero, HERO, **{"If-Match": old}), 412, "PreconditionFailed")


def schema_tag(api: Api) -> str:
    tag: str = api.request("GET", "/sites/shop/schemas/hero-grid", scope="read").headers["ETag"]
    return tag


def outcome(api: Api, response: Any) -> Any:
    """The status and error code of an accepted operation, once the worker has seen it."""
    assert response.status_code == 202, response.body
    found = api.request("GET", f"/operations/{response.json_body['operationId']}").json_body
    return (found["status"], found.get("error", {}).get("code"))


def test_an_old_etag_does_not_match_a_schema_deleted_and_set_again_while_queued(hero: Api) -> None:
    # All three are accepted while version 1 is stored; the worker applies them in order.
    old = schema_tag(hero)
    deleted = hero.request("DELETE", "/sites/shop/schemas/hero-grid")
    again = hero.request("PUT", "/sites/shop/schemas/hero-grid", {"schema": HERO, "description": "again"})
    stale = hero.request(
        "PUT", "/sites/shop/schemas/hero-grid", {"schema": {}, "description": "stale"}, headers={"If-Match": old}
    )
    hero.apply()
    assert outcome(hero, deleted) == ("succeeded", None)
    assert outcome(hero, again) == ("succeeded", None)
    assert outcome(hero, stale) == ("failed", "PreconditionFailed")
    now = hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read").json_body
    assert (now["version"], now["description"], now["schema"]) == (1, "again", HERO)


def test_a_delete_with_a_stale_etag_is_a_412_at_accept_and_fails_when_applied(hero: Api) -> None:
    old = schema_tag(hero)
    assert applied(hero, put_schema(hero, HERO))["version"] == 2
    stale = hero.request("DELETE", "/sites/shop/schemas/hero-grid", headers={"If-Match": old})
    assert_error(stale, 412, "PreconditionFailed")
    assert hero.queued() == []
    # Accepted while its tag was current, applied after a change: the schema stays.
    current = schema_tag(hero)
    changed = put_schema(hero, HERO)
    late = hero.request("DELETE", "/sites/shop/schemas/hero-grid", headers={"If-Match": current})
    hero.apply()
    assert outcome(hero, changed) == ("succeeded", None)
    assert outcome(hero, late) == ("failed", "PreconditionFailed")
    assert hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read").json_body["version"] == 3


def test_a_delete_with_an_old_etag_spares_a_schema_deleted_and_set_again_while_queued(hero: Api) -> None:
    old = schema_tag(hero)
    deleted = hero.request("DELETE", "/sites/shop/schemas/hero-grid")
    again = put_schema(hero, HERO)
    stale = hero.request("DELETE", "/sites/shop/schemas/hero-grid", headers={"If-Match": old})
    hero.apply()
    assert [outcome(hero, r) for r in (deleted, again)] == [("succeeded", None)] * 2
    assert outcome(hero, stale) == ("failed", "PreconditionFailed")
    assert hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read").json_body["version"] == 1


def test_an_operation_from_before_the_created_at_check_is_still_applied(hero: Api) -> None:
    """A message queued by an API that did not send expectedCreatedAt yet: its version is
    all it is checked against."""
    accepted = put_schema(hero, HERO, **{"If-Match": schema_tag(hero)})
    (message,) = hero.queue.receive_all()
    envelope = json.loads(message["Body"])
    assert envelope["meta"].pop("expectedCreatedAt")
    assert envelope["meta"]["expectedVersion"] == 1
    deliver(hero, [{**message, "Body": json.dumps(envelope)}])
    assert outcome(hero, accepted) == ("succeeded", None)


def test_a_deleted_schema_frees_its_layout(hero: Api) -> None:
    assert applied(hero, hero.request("DELETE", "/sites/shop/schemas/hero-grid"))["status"] == "succeeded"
    assert_error(hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read"), 404, "NotFound")
    assert_error(hero.request("DELETE", "/sites/shop/schemas/hero-grid"), 404, "NotFound")
    assert hero.create_config(settings={"anything": "goes"})["version"] == 1


def test_schema_routes_need_the_admin_scope_to_write(hero: Api) -> None:
    assert_error(put_schema_as(hero, "write"), 403, "Forbidden")
    assert_error(hero.request("DELETE", "/sites/shop/schemas/hero-grid", scope="write"), 403, "Forbidden")
    assert hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read").status_code == 200


def put_schema_as(api: Api, scope: str) -> Any:
    return api.request("PUT", "/sites/shop/schemas/hero-grid", {"schema": HERO}, scope=scope)


def deliver(api: Api, messages: List[Dict[str, Any]]) -> None:
    """Hands these messages to the worker, in this order, as Lambda's event source would."""
    for message in messages:
        api.invoke_worker(lambda_sqs_event([message], api.stack.queue_arn, REGION))
        api.queue.sqs.delete_message(QueueUrl=api.queue.url, ReceiptHandle=message["ReceiptHandle"])


def test_the_worker_checks_again_when_the_schema_changed_after_accept(hero: Api) -> None:
    accepted = hero.request("POST", "/metadata", config(settings={"hero": {"title": "x" * 50}}), scope="write")
    assert accepted.status_code == 202
    stricter = {**HERO, "properties": {"hero": {"type": "object", "properties": {"title": {"maxLength": 20}}}}}
    assert put_schema(hero, stricter).status_code == 202
    config_message, schema_message = hero.queue.receive_all()
    deliver(hero, [schema_message, config_message])  # the schema's group reaches the worker first
    operation = hero.request("GET", f"/operations/{accepted.json_body['operationId']}").json_body
    assert (operation["status"], operation["error"]["code"]) == ("failed", "SchemaViolation")
    assert operation["error"]["details"][0]["field"] == "settings/hero/title"
    assert "as it is now" in operation["error"]["message"]
    assert_error(hero.request("GET", f"/metadata/{accepted.json_body['id']}", scope=None), 404, "NotFound")


def test_an_update_is_checked_again_when_applied(hero: Api) -> None:
    created = hero.create_config(layout="hero-grid", settings=GOOD)
    path = f"/metadata/{created['id']}"
    update = hero.request("PUT", path, {"layout": "hero-grid", "theme": "t", "settings": {"hero": {"title": "x" * 50}}})
    assert update.status_code == 202
    stricter = {**HERO, "properties": {"hero": {"type": "object", "properties": {"title": {"maxLength": 20}}}}}
    assert put_schema(hero, stricter, query="?force=true").status_code == 202
    update_message, schema_message = hero.queue.receive_all()
    deliver(hero, [schema_message, update_message])
    operation = hero.request("GET", f"/operations/{update.json_body['operationId']}").json_body
    assert (operation["status"], operation["error"]["code"]) == ("failed", "SchemaViolation")
    assert hero.request("GET", path, scope=None).json_body["version"] == 1


SETTINGS = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["hero", "title", "columns", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def forget_queued(api: Api) -> None:
    """Drops what is queued, unapplied: the next example finds things as they were."""
    for message in api.queue.receive_all():
        api.queue.sqs.delete_message(QueueUrl=api.queue.url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def existing(hero: Api) -> str:
    """A config of the schema's layout, for updates (dry run, then accepted, never applied)."""
    created: str = hero.create_config(page="existing", layout="hero-grid", settings=GOOD)["id"]
    return created


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["POST", "PUT"]),
    layout=st.sampled_from(["hero-grid", "hero-grid", "free"]),
    settings_value=st.dictionaries(st.sampled_from(["hero", "columns", "colour"]), SETTINGS, max_size=3),
)
@example(method="POST", layout="hero-grid", settings_value=GOOD)
@example(method="PUT", layout="hero-grid", settings_value=GOOD)
@example(method="PUT", layout="hero-grid", settings_value={"hero": {}})
def test_a_dry_run_and_the_real_write_agree(
    hero: Api, existing: str, method: str, layout: str, settings_value: Dict[str, Any]
) -> None:
    if method == "POST":
        path, body = "/metadata", config(page="probe", layout=layout, settings=settings_value)
    else:
        path, body = f"/metadata/{existing}", {"layout": layout, "theme": "t", "settings": settings_value}
    dry = hero.request(method, f"{path}?dryRun=true", body, scope="write")
    real = hero.request(method, path, body, scope="write")
    assert dry.status_code in (200, 422), dry.body
    if dry.status_code == 200:
        assert dry.json_body == {"valid": True}
        assert real.status_code == 202, real.body
        forget_queued(hero)  # leave the page free, and the config at version 1
    else:
        assert real.status_code == 422
        assert real.json_body["details"] == dry.json_body["details"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=st.integers(0, 50), columns=st.integers(0, 7), require_columns=st.booleans())
@example(title=50, columns=7, require_columns=False)  # valid: 202
@example(title=40, columns=7, require_columns=False)  # rejects a draft only: 202
@example(title=20, columns=7, require_columns=False)  # rejects a published config: 409
def test_a_schema_dry_run_and_the_real_put_agree(
    api: Api, review: Dict[str, str], title: int, columns: int, require_columns: bool
) -> None:
    """The impact report says what the real PUT does: a 409 listing exactly the published
    configs it rejects, else a 202 (a valid report always is one)."""
    candidate = at_most(title, columns, require_columns)
    dry = put_schema(api, candidate, query="?dryRun=true")
    real = put_schema(api, candidate)
    assert dry.status_code == 200, dry.body
    report = dry.json_body
    assert report["valid"] == (report["rejected"] == [])
    live = [(item["id"], item["version"], item["errors"]) for item in report["rejected"] if item["published"]]
    if live:
        body = assert_error(real, 409, "SchemaBreaksPublished")
        assert [(item["id"], item["version"], item["errors"]) for item in body["details"]] == live
    else:
        assert real.status_code == 202, real.body
        forget_queued(api)


def counting_compiles(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """Every schema compiled from now on, with no validator kept from before."""
    compiled: List[Any] = []
    compile_schema = dialect._compile

    def compile_counted(schema: Any) -> Any:
        compiled.append(schema)
        return compile_schema(schema)

    monkeypatch.setattr(dialect, "_compile", compile_counted)
    monkeypatch.setattr(dialect, "_validators", type(dialect._validators)())
    return compiled


def test_a_schema_version_is_compiled_once_however_many_writes_check_against_it(
    hero: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = counting_compiles(monkeypatch)
    body = config(settings=GOOD)
    assert hero.request("POST", "/metadata?dryRun=true", body, scope="write").status_code == 200
    created = applied(hero, hero.request("POST", "/metadata", body, scope="write"))  # accept, then the worker
    update = {"layout": "hero-grid", "theme": "t", "settings": GOOD}
    assert applied(hero, hero.request("PUT", f"/metadata/{created['resourceId']}", update))["version"] == 2
    assert compiled == [HERO]

    def dry_runs_compile() -> int:
        before = len(compiled)
        for _ in range(3):
            dry = hero.request("POST", "/metadata?dryRun=true", config("other", settings=GOOD), scope="write")
            assert dry.status_code == 200
        return len(compiled) - before

    # A new version of the schema is compiled once more; so is a schema set again after a
    # delete, though its version is 1 again.
    assert applied(hero, put_schema(hero, HERO))["version"] == 2
    assert dry_runs_compile() == 1
    assert applied(hero, hero.request("DELETE", "/sites/shop/schemas/hero-grid"))["status"] == "succeeded"
    assert applied(hero, put_schema(hero, HERO))["version"] == 1
    assert dry_runs_compile() == 1


def test_the_compiled_validators_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = counting_compiles(monkeypatch)
    monkeypatch.setattr(dialect, "MAX_VALIDATORS", 2)
    schema = {"type": "object"}
    for version in (1, 2, 1, 3):  # 1 is used again before 3 comes: 2 is the one to go
        assert dialect.settings_errors(schema, {}, ("shop", "l", "t", version)) == []
    assert len(compiled) == 3
    assert list(dialect._validators) == [("shop", "l", "t", 1), ("shop", "l", "t", 3)]
    assert dialect.settings_errors(schema, [], ("shop", "l", "t", 2))[0]["type"] == "type"
    assert len(compiled) == 4


def test_schema_messages_are_short_however_large_the_failing_value(hero: Api) -> None:
    huge = {"hero": {"title": "x" * 50_000}}
    body = assert_error(
        hero.request("POST", "/metadata", config(settings=huge), scope="write"), 422, "ValidationFailed"
    )
    assert body["details"][0]["field"] == "settings/hero/title"
    assert len(body["details"][0]["message"]) <= 300


def test_a_schema_409_lists_each_config_as_a_field_error_too(hero: Api) -> None:
    narrow = hero.create_config(page="narrow", layout="hero-grid", settings={"hero": {"title": "x" * 50}})
    stricter = {**HERO, "properties": {"hero": {"type": "object", "properties": {"title": {"maxLength": 20}}}}}
    detail = assert_error(put_schema(hero, stricter), 409, "SchemaBreaksPublished")["details"][0]
    assert detail["field"] == f"configs/{narrow['id']}"
    assert detail["type"] == "SchemaBreaksPublished"
    assert "page 'narrow', version 1" in detail["message"]
    assert (detail["page"], detail["version"], detail["errors"][0]["field"]) == ("narrow", 1, "settings/hero/title")


def test_a_schema_is_revalidated_with_its_etag(hero: Api) -> None:
    first = hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read")
    again = hero.request(
        "GET", "/sites/shop/schemas/hero-grid", scope="read", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert (again.status_code, again.headers["ETag"], again.body) == (304, first.headers["ETag"], b"")


def test_the_schema_field_is_spelled_schema(shop: Api) -> None:
    response = shop.request("PUT", "/sites/shop/schemas/hero-grid", {"schema_": HERO})
    fields = {detail["field"] for detail in assert_error(response, 422, "ValidationFailed")["details"]}
    assert fields == {"schema", "schema_"}


def test_a_schema_delete_can_be_a_dry_run(hero: Api) -> None:
    response = hero.request("DELETE", "/sites/shop/schemas/hero-grid?dryRun=true")
    assert (response.status_code, response.json_body) == (200, {"valid": True})
    assert hero.queued() == []


def test_a_long_site_and_layout_still_make_a_valid_message_group(api: Api) -> None:
    site, layout = "s" * 63, "L" * 100
    api.create_site(site)
    assert put_schema_to(api, site, layout).status_code == 202
    (message,) = api.queued()
    assert len(message["Attributes"]["MessageGroupId"]) <= 128  # SQS's limit (moto does not check it)
    api.apply()
    assert api.request("GET", f"/sites/{site}/schemas/{layout}", scope="read").status_code == 200


def put_schema_to(api: Api, site: str, layout: str) -> Any:
    return api.request("PUT", f"/sites/{site}/schemas/{layout}", {"schema": HERO})


# --- the statuses of the schema routes --------------------------------------------------


@pytest.mark.parametrize("layout", ["-starts-with-a-dash", "has%20space", "x" * 101])
def test_a_layout_name_that_cannot_be_one_is_a_400(shop: Api, layout: str) -> None:
    assert_error(put_schema(shop, HERO, layout=layout), 400, "BadRequest")
    assert_error(shop.request("DELETE", f"/sites/shop/schemas/{layout}"), 400, "BadRequest")
    assert shop.queued() == []


def test_a_schema_body_over_the_limit_is_a_413(shop: Api) -> None:
    huge = json.dumps({"schema": {"description": "x" * MAX_BODY_BYTES}}).encode()
    assert_error(shop.request("PUT", "/sites/shop/schemas/hero-grid", huge), 413, "PayloadTooLarge")
    assert shop.queued() == []


def test_a_schema_body_that_is_not_json_is_a_415(shop: Api) -> None:
    response = shop.request(
        "PUT",
        "/sites/shop/schemas/hero-grid",
        b"schema=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415, "UnsupportedMediaType")
    assert shop.queued() == []


def test_an_idempotency_key_replays_a_schema_write_and_refuses_another(shop: Api) -> None:
    first = put_schema(shop, HERO, **{"Idempotency-Key": "schema-1"})
    assert first.status_code == 202
    again = put_schema(shop, HERO, **{"Idempotency-Key": "schema-1"})
    assert (again.status_code, again.json_body["operationId"]) == (202, first.json_body["operationId"])
    other = put_schema(shop, {**HERO, "required": []}, **{"Idempotency-Key": "schema-1"})
    assert "Idempotency-Key" in assert_error(other, 409, "IdempotencyKeyReused")["message"]
    shop.apply()
    forced = put_schema(shop, HERO, query="?force=true", **{"Idempotency-Key": "schema-1"})
    assert_error(forced, 409, "IdempotencyKeyReused")  # ?force=true is part of the request
    deleted = shop.request("DELETE", "/sites/shop/schemas/hero-grid", headers={"Idempotency-Key": "schema-1"})
    assert_error(deleted, 409, "IdempotencyKeyReused")
    assert shop.request("GET", "/sites/shop/schemas/hero-grid", scope="read").json_body["version"] == 1


def test_schemas_are_listed_by_layout_a_page_at_a_time(shop: Api) -> None:
    for layout in ("delta", "alpha", "charlie"):
        assert applied(shop, put_schema(shop, {"type": "object"}, layout=layout))["status"] == "succeeded"
    first = shop.request("GET", "/sites/shop/schemas?limit=2", scope="read").json_body
    assert [item["layout"] for item in first["items"]] == ["alpha", "charlie"]
    rest = shop.request("GET", f"/sites/shop/schemas?limit=2&cursor={first['nextCursor']}", scope="read").json_body
    assert ([item["layout"] for item in rest["items"]], rest["nextCursor"]) == (["delta"], None)


@pytest.mark.parametrize("query", ["cursor=not-a-cursor", "limit=0", "limit=x", "limit=1001"])
def test_a_bad_schema_listing_query_is_a_400(hero: Api, query: str) -> None:
    assert_error(hero.request("GET", f"/sites/shop/schemas?{query}", scope="read"), 400, "BadRequest")


def test_a_cursor_of_another_sites_schemas_is_a_400(hero: Api) -> None:
    assert applied(hero, put_schema(hero, {"type": "object"}, layout="zz"))["status"] == "succeeded"
    cursor = hero.request("GET", "/sites/shop/schemas?limit=1", scope="read").json_body["nextCursor"]
    hero.create_site("other")
    assert_error(hero.request("GET", f"/sites/other/schemas?cursor={cursor}", scope="read"), 400, "BadRequest")


# --- what the worker refuses ------------------------------------------------------------


def test_a_schema_deleted_meanwhile_fails_a_second_delete_as_not_found(hero: Api) -> None:
    first = hero.request("DELETE", "/sites/shop/schemas/hero-grid")
    second = hero.request("DELETE", "/sites/shop/schemas/hero-grid")  # accepted: the schema is still there
    hero.apply()
    assert outcome(hero, first) == ("succeeded", None)
    assert outcome(hero, second) == ("failed", "NotFound")


def test_a_schema_for_a_site_that_vanished_fails_as_unknown_site(shop: Api) -> None:
    accepted = put_schema(shop, HERO)
    get_services().table.delete_item(Key={"pk": "SITE#shop", "sk": "SITE"})
    shop.apply()
    assert outcome(shop, accepted) == ("failed", "UnknownSite")
    assert_error(shop.request("GET", "/sites/shop/schemas/hero-grid", scope="read"), 404, "NotFound")


def test_a_put_applied_after_another_fails_its_if_match(hero: Api) -> None:
    tag = schema_tag(hero)
    first = put_schema(hero, HERO, **{"If-Match": tag})
    second = put_schema(hero, {**HERO, "required": []}, **{"If-Match": tag})  # both accepted at version 1
    hero.apply()
    assert outcome(hero, first) == ("succeeded", None)
    assert outcome(hero, second) == ("failed", "PreconditionFailed")
    assert hero.request("GET", "/sites/shop/schemas/hero-grid", scope="read").json_body["schema"] == HERO


# --- drafts in the impact report --------------------------------------------------------


def succeeded(api: Api, method: str, path: str, body: Any) -> str:
    operation = api.write(method, path, body, scope="write")
    assert operation["status"] == "succeeded", operation
    resource: str = operation["resourceId"]
    return resource


def titled(length: int, **more: Any) -> Dict[str, Any]:
    return {"hero": {"title": "x" * length}, **more}


def at_most(title: int, columns: int = 6, require_columns: bool = False) -> Dict[str, Any]:
    """HERO with a shorter title, fewer columns, and columns required, perhaps."""
    hero = {"type": "object", "properties": {"title": {"type": "string", "maxLength": title}}, "required": ["title"]}
    columns_schema = {"type": "integer", "minimum": 1, "maximum": columns}
    required = ["hero", "columns"] if require_columns else ["hero"]
    return {"type": "object", "properties": {"hero": hero, "columns": columns_schema}, "required": required}


@pytest.fixture
def review(api: Api) -> Dict[str, str]:
    """A review-mode site with the HERO schema and four pages: `live` serves version 1,
    `edited` serves version 1 and has a draft 2, `unpublished` is a draft only, and `other`
    has another layout. Answers each page's config id."""
    api.create_site(publishMode="review")
    assert applied(api, put_schema(api, HERO))["status"] == "succeeded"
    ids: Dict[str, str] = {}
    for page, settings_value in [("live", titled(5, columns=2)), ("edited", titled(30)), ("unpublished", titled(45))]:
        ids[page] = succeeded(api, "POST", "/metadata", config(page=page, settings=settings_value))
    ids["other"] = succeeded(api, "POST", "/metadata", config(page="other", layout="plain", settings={"a": 1}))
    for page in ("live", "edited", "other"):
        succeeded(api, "POST", f"/metadata/{ids[page]}/publish", {"version": 1})
    update = {"layout": "hero-grid", "theme": "t", "settings": titled(10, columns=6)}
    succeeded(api, "PUT", f"/metadata/{ids['edited']}", update)
    return ids


def test_in_review_mode_the_impact_report_lists_drafts_and_only_published_configs_refuse(
    api: Api, review: Dict[str, str]
) -> None:
    # Titles of at most 20 characters: the published `edited` (30) fits no more, nor the
    # draft `unpublished` (45); `edited`'s draft (10) and `live` (5) fit.
    report = put_schema(api, at_most(20), query="?dryRun=true").json_body
    assert (report["valid"], report["checked"]) == (False, 4)
    rejected = {(item["id"], item["version"], item["published"]) for item in report["rejected"]}
    assert rejected == {(review["edited"], 1, True), (review["unpublished"], 1, False)}
    # Stored, it would break a live page: a 409 that lists that page, not the draft.
    body = assert_error(put_schema(api, at_most(20)), 409, "SchemaBreaksPublished")
    assert [(item["id"], item["version"], item["published"]) for item in body["details"]] == [
        (review["edited"], 1, True)
    ]

    # Titles of at most 40: only a draft breaks. Drafts are reported, not protected (their
    # next write must fit): the schema is stored (PRODUCT.md; README, "Breaking a live page").
    report = put_schema(api, at_most(40), query="?dryRun=true").json_body
    assert [(item["id"], item["published"]) for item in report["rejected"]] == [(review["unpublished"], False)]
    assert report["rejected"][0]["errors"][0]["field"] == "settings/hero/title"
    assert applied(api, put_schema(api, at_most(40)))["status"] == "succeeded"
    assert api.request("GET", f"/metadata/{review['unpublished']}/draft", scope="read").json_body["version"] == 1


# --- the public read path does not load the library -------------------------------------

READ_WITHOUT_THE_LIBRARY = """
import json, os, sys

import boto3
from chalice.test import Client
from moto import mock_aws

from chalicelib import access
from devstack.poller import QueuePoller
from infra.resources import PROJECT_DIR, StageResources, provision

loaded = {}
resources = StageResources.for_stage("local")
with mock_aws():
    provisioned = provision(boto3.session.Session(), resources)
    os.environ.update(resources.environment())
    from app import app
    from chalicelib.services import get_services

    loaded["import app"] = "jsonschema_rs" in sys.modules
    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        token = access.issue_token(get_services().store.tokens, "t", "admin")[0]
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        worker = QueuePoller(
            boto3.client("sqs"), provisioned.queue_url, lambda event: client.lambda_.invoke("apply_writes", event)
        )
        site = {"name": "Shop", "allowedOrigins": ["https://shop.example"]}
        client.http.request("PUT", "/sites/shop", headers=auth, body=json.dumps(site).encode())
        worker.drain()
        page = {"site": "shop", "page": "home", "layout": "free", "theme": "t", "settings": {"a": 1}}
        client.http.request("POST", "/metadata", headers=auth, body=json.dumps(page).encode())
        worker.drain()
        loaded["writes to layouts without a schema"] = "jsonschema_rs" in sys.modules
        read = client.http.request("GET", "/sites/shop/pages/home", headers={"Origin": "https://shop.example"})
        loaded["public read"] = "jsonschema_rs" in sys.modules
print(json.dumps({"status": read.status_code, "loaded": loaded}))
"""


def test_the_public_read_path_never_imports_the_schema_library() -> None:
    """In a fresh interpreter: import app, write a site and a config with no schema to
    check against, and serve the page: jsonschema-rs is never imported."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", READ_WITHOUT_THE_LIBRARY],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {
        "status": 200,
        "loaded": {"import app": False, "writes to layouts without a schema": False, "public read": False},
    }
