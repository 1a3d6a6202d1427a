"""The single table's stores against moto: keys, atomic writes, expiry, throttling, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Dict, Iterator, List

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.core.errors import BadRequest, DependencyUnavailable
from chalicelib.store import (
    ConditionFailed,
    Operation,
    Publication,
    Reads,
    Receipt,
    RenderConfig,
    Site,
    Store,
    keys,
    version_of,
)
from chalicelib.store.configs import ConfigStore
from chalicelib.store.sites import SiteStore
from infra.resources import Provisioned
from tests.helpers import Call, Clock, Faults, RequestTokens

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def table(stack: Provisioned) -> Any:
    return boto3.resource("dynamodb", region_name="us-east-1").Table(stack.table_name)


@pytest.fixture
def faults(table: Any) -> Iterator[Faults]:
    with Faults(table.meta.client) as faults:
        yield faults


@pytest.fixture
def request_tokens(table: Any) -> Iterator[RequestTokens]:
    """What DynamoDB does with a transaction's ClientRequestToken, which moto ignores."""
    tokens = RequestTokens(table.meta.client)
    yield tokens
    tokens.close()


@pytest.fixture
def store(table: Any, clock: Clock, request_tokens: RequestTokens) -> Store:
    return Store.over(table, operation_ttl_seconds=3600, clock=clock, sleep=lambda _: None)


def put_site(store: Store, new: Site, previous_version: Any, receipt: Receipt) -> None:
    transaction = store.table.transaction()
    SiteStore.add_put(transaction, new, previous_version)
    store.receipts.add(transaction, receipt)
    store.table.commit(transaction)


def create_config(store: Store, new: RenderConfig, receipt: Receipt) -> None:
    transaction = store.table.transaction()
    version = version_of(new, receipt.operation.operationId, receipt.actor)
    ConfigStore.add_create(transaction, new, version, Publication.of(new, new.updatedAt))
    store.receipts.add(transaction, receipt)
    store.table.commit(transaction)


def replace_config(store: Store, new: RenderConfig, receipt: Receipt) -> None:
    transaction = store.table.transaction()
    state = store.configs.state(new.id)
    assert state is not None
    version = version_of(new, receipt.operation.operationId, receipt.actor)
    ConfigStore.add_replace(transaction, new, version, state, Publication.of(new, new.updatedAt))
    store.receipts.add(transaction, receipt)
    store.table.commit(transaction)


def receipt(operation_id: str, resource: str = "shop") -> Receipt:
    operation = Operation(operationId=operation_id, status="succeeded", type="site.put", resourceId=resource)
    return Receipt(operation, actor="token:test")


def site(slug: str = "shop", version: int = 1) -> Site:
    return Site(
        site=slug, name="Shop", allowedOrigins=[], cacheMaxAge=60, version=version, createdAt="t", updatedAt="t"
    )


def config(version: int = 1, **fields: Any) -> RenderConfig:
    values: Dict[str, Any] = {
        "id": "c" * 26,
        "site": "shop",
        "page": "home",
        "layout": "grid",
        "theme": "dark",
        "settings": {"ratio": 0.1, "deep": [[[{"x": None}]]]},
        "version": version,
        "createdAt": "t",
        "updatedAt": "t",
    }
    values.update(fields)
    return RenderConfig(**values)


def all_items(table: Any) -> List[Dict[str, Any]]:
    return list(table.scan()["Items"])  # tests may look at the whole table; the service never scans


def test_a_config_is_stored_under_its_id_and_its_page(store: Store, table: Any) -> None:
    put_site(store, site(), None, receipt("op1"))
    create_config(store, config(), receipt("op2"))
    keys_stored = {(item["pk"], item["sk"]) for item in all_items(table)}
    assert keys_stored >= {
        (keys.site_pk("shop"), keys.SITE_SK),
        (keys.config_pk("c" * 26), keys.CURRENT_SK),
        (keys.site_pk("shop"), keys.page_sk("home")),
        (keys.config_pk("c" * 26), keys.version_sk(1)),
        (keys.operation_key("op2")[keys.PK], keys.OPERATION_SK),
    }
    snapshot = store.snapshots.read(Reads(site="shop", page=("shop", "home"), config_id="c" * 26))
    assert snapshot.config == config()
    assert snapshot.page == config(publishedVersion=1)


def test_settings_round_trip_exactly(store: Store) -> None:
    put_site(store, site(), None, receipt("op1"))
    stored = config(settings={"float": 0.1, "big": 10**30, "text": "é", "empty": {}, "list": [1.5, True, None]})
    create_config(store, stored, receipt("op2"))
    state = store.configs.state(stored.id)
    assert state is not None
    assert state.draft == stored.model_copy(update={"publishedVersion": 1})
    assert state.published() == state.draft


def test_a_write_whose_condition_fails_leaves_nothing_behind(store: Store, table: Any) -> None:
    put_site(store, site(), None, receipt("op1"))
    create_config(store, config(), receipt("op2"))
    before = all_items(table)
    with pytest.raises(ConditionFailed):
        # The version moved meanwhile: the whole transaction is refused.
        replace_config(store, config(version=5, layout="new"), receipt("op3"))
    assert all_items(table) == before


def test_an_operation_is_recorded_once(store: Store) -> None:
    put_site(store, site(), None, receipt("op1"))
    with pytest.raises(ConditionFailed) as refused:
        put_site(store, site(version=2), 1, receipt("op1"))
    assert refused.value.failed_items == [2]  # the operation's record, not the site (nor its delivery settings)
    assert store.sites.get("shop") == site()


def test_versions_sort_by_number_past_nine(store: Store) -> None:
    put_site(store, site(), None, receipt("op0"))
    create_config(store, config(), receipt("op1"))
    for version in range(2, 13):
        replace_config(store, config(version=version), receipt(f"op{version}"))
    listing = store.configs.versions("c" * 26, limit=100, cursor=None)
    assert [item.version for item in listing.items] == list(range(12, 0, -1))


def test_an_expired_operation_counts_as_gone_before_ttl_deletes_it(store: Store, clock: Clock) -> None:
    put_site(store, site(), None, receipt("op1"))
    assert store.receipts.get_operation("op1") is not None
    clock.advance(timedelta(hours=2))
    assert store.receipts.get_operation("op1") is None


def test_a_cursor_for_another_listing_is_refused(store: Store) -> None:
    put_site(store, site("alpha"), None, receipt("op1", "alpha"))
    put_site(store, site("beta"), None, receipt("op2", "beta"))
    cursor = store.sites.list(limit=1, cursor=None).next_cursor
    assert cursor is not None
    with pytest.raises(BadRequest):
        store.configs.list("alpha", None, 10, cursor)
    with pytest.raises(BadRequest):
        store.configs.versions("c" * 26, 10, "eyJsIjoidmVyc2lvbnM6Y2NjIiwicCI6Im5vdC1hLW51bWJlciJ9")


def unprocessed(call: Call, answer: Dict[str, Any]) -> None:
    """Every key asked for comes back unprocessed, as DynamoDB answers when it throttles."""
    answer["Responses"] = {name: [] for name in call.params["RequestItems"]}
    answer["UnprocessedKeys"] = dict(call.params["RequestItems"])


def test_unprocessed_keys_are_asked_for_again(store: Store, faults: Faults) -> None:
    put_site(store, site(), None, receipt("op1"))
    faults.rewrite("BatchGetItem", unprocessed, times=2)
    snapshot = store.snapshots.read(Reads(site="shop", operation_id="op1"))
    assert faults.seen.count("BatchGetItem") == 3
    assert snapshot.operation is not None


@pytest.mark.parametrize(
    ("code", "raised"),
    [
        # "Not now": the API answers 503, the worker retries.
        ("ProvisionedThroughputExceededException", DependencyUnavailable),
        ("InternalServerError", DependencyUnavailable),
        # A bug or a missing permission is not hidden behind a 503.
        ("AccessDeniedException", ClientError),
    ],
)
def test_aws_errors_become_domain_errors_only_when_transient(
    store: Store, faults: Faults, code: str, raised: type[Exception]
) -> None:
    faults.fail(code, "GetItem")
    with pytest.raises(raised) as caught:
        store.configs.state("c" * 26)
    assert type(caught.value) is raised


def test_request_tokens_repeat_only_for_the_same_transaction(
    store: Store, table: Any, request_tokens: RequestTokens
) -> None:
    """A token lets the SDK retry one call safely: DynamoDB answers the same transaction
    sent again within ten minutes as a success without applying it twice, and refuses
    the token with other items (IdempotentParameterMismatchException, which would fail
    this test). So a failure record and a later apply of one operation need distinct
    tokens, and a repeat of one transaction the same."""
    failed = Operation(operationId="op1", status="failed", type="site.put", resourceId="shop")
    store.receipts.record(Receipt(failed, actor="token:test", final=False))
    put_site(store, site(), None, receipt("op1"))
    applied = all_items(table)
    put_site(store, site(), None, receipt("op1"))  # as the SDK's retry of a lost answer
    assert all_items(table) == applied
    tokens = request_tokens.sent
    assert len(tokens) == 3
    assert tokens[0] != tokens[1]
    assert tokens[1] == tokens[2]
    assert all(len(token) <= 36 for token in tokens)
    assert request_tokens.replayed == 1
