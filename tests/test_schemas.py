"""Settings schemas per layout: uploading, checking and listing them; config writes
validated against them at accept and again when applied; dry runs; impact reports."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.schemas import dialect
from devstack.poller import lambda_sqs_event
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
def shop(api: Api) -> Api:
    api.create_site()
    return api


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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(settings_value=st.dictionaries(st.sampled_from(["hero", "columns", "colour"]), SETTINGS, max_size=3))
def test_a_dry_run_and_the_real_write_agree(hero: Api, settings_value: Dict[str, Any]) -> None:
    body = config(page="probe", settings=settings_value)
    dry = hero.request("POST", "/metadata?dryRun=true", body, scope="write")
    real = hero.request("POST", "/metadata", body, scope="write")
    assert dry.status_code in (200, 422), dry.body
    if dry.status_code == 200:
        assert real.status_code == 202, real.body
        for message in hero.queue.receive_all():  # leave the page free for the next example
            hero.queue.sqs.delete_message(QueueUrl=hero.queue.url, ReceiptHandle=message["ReceiptHandle"])
    else:
        assert real.status_code == 422
        assert real.json_body["details"] == dry.json_body["details"]


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
