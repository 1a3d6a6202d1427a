"""Fixtures: fake credentials, then moto, then the stage's resources built from the same
definition the deploy path uses, then the app through `chalice.test.Client`."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Callable, Dict, Iterator, List, Optional

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import access as auth
from chalicelib.services import get_services, reset_services
from devstack.gateway import ContractGateway
from devstack.poller import QueuePoller, lambda_sqs_event
from infra.resources import PROJECT_DIR, Provisioned, StageResources, provision
from tests.helpers import Faults, Queue

STAGE = "local"
REGION = "us-east-1"
pytest_plugins = ["tests.aws_calls"]


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a real account: fake credentials, a fixed region, no profile."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def resources() -> StageResources:
    return StageResources.for_stage(STAGE)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def stack(aws: None, resources: StageResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Provisioned]:
    provisioned = provision(boto3.session.Session(), resources)
    for name, value in resources.environment().items():
        monkeypatch.setenv(name, value)
    reset_services()
    yield provisioned
    reset_services()


@pytest.fixture
def client(stack: Provisioned) -> Iterator[Client]:
    with Client(_app(), stage_name=STAGE, project_dir=str(PROJECT_DIR)) as test_client:
        # API Gateway's own answers (no token, a denied or failed authorizer, no such
        # route) as the deployed API's gateway responses and the local stack give them.
        http = test_client.http
        http._local_gateway = ContractGateway(http._app, http._config)
        yield test_client


def _app() -> Any:
    from app import app

    return app


@pytest.fixture
def tokens(stack: Provisioned) -> Dict[str, str]:
    """A token for each scope."""
    store = get_services().store.tokens
    return {scope: auth.issue_token(store, f"{scope} tests", scope)[0] for scope in auth.SCOPES}


class Api:
    """The HTTP contract as a client sees it, through `chalice.test.Client`."""

    def __init__(self, client: Client, tokens: Dict[str, str], stack: Provisioned) -> None:
        self.client = client
        self.tokens = tokens
        self.stack = stack
        sqs = boto3.client("sqs", region_name=REGION)
        self.poller = QueuePoller(sqs, stack.queue_url, self.invoke_worker)
        self.queue = Queue(sqs, stack.queue_url)
        self.dead_letters = Queue(sqs, stack.dead_letter_queue_url)

    def invoke_worker(self, event: Dict[str, Any]) -> Any:
        return self.client.lambda_.invoke("apply_writes", event).payload

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        scope: Optional[str] = "admin",
        headers: Optional[Dict[str, str]] = None,
    ) -> Any:
        all_headers = {"Content-Type": "application/json"} if body is not None else {}
        if scope:
            all_headers["Authorization"] = f"Bearer {self.tokens[scope]}"
        all_headers.update(headers or {})
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        return self.client.http.request(method, path, headers=all_headers, body=raw)

    def apply(self) -> int:
        """Lets the worker apply everything queued, as Lambda's event source would."""
        return self.poller.drain()

    def write(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Dict[str, Any]:
        """A write that must be accepted; applies it and answers its operation."""
        response = self.request(method, path, body, **kwargs)
        assert response.status_code == 202, response.body
        self.apply()
        operation_id = response.json_body["operationId"]
        operation: Dict[str, Any] = self.request("GET", f"/operations/{operation_id}").json_body
        return operation

    def create_site(self, site: str = "shop", **fields: Any) -> Dict[str, Any]:
        body = {"name": "Shop", "allowedOrigins": ["https://shop.example"], "cacheMaxAge": 120, **fields}
        operation = self.write("PUT", f"/sites/{site}", body)
        assert operation["status"] == "succeeded", operation
        return operation

    def create_config(self, site: str = "shop", page: str = "home", **fields: Any) -> Dict[str, Any]:
        body = {"site": site, "page": page, "layout": "two-column", "theme": "dark", "settings": {"hero": True}}
        body.update(fields)
        operation = self.write("POST", "/metadata", body)
        assert operation["status"] == "succeeded", operation
        config: Dict[str, Any] = self.request("GET", f"/metadata/{operation['resourceId']}").json_body
        return config

    def queued(self) -> List[Dict[str, Any]]:
        """What is on the write queue now (received, then made visible again)."""
        return self.queue.peek()


@pytest.fixture
def api(client: Client, tokens: Dict[str, str], stack: Provisioned) -> Api:
    return Api(client, tokens, stack)


@pytest.fixture
def shop(api: Api) -> Api:
    """The API with the site `shop` in place."""
    api.create_site()
    return api


@pytest.fixture
def config(api: Api) -> Dict[str, Any]:
    """The site `shop` with one config, applied."""
    api.create_site()
    return api.create_config()


def invoke(api: Api, messages: List[Dict[str, Any]]) -> Any:
    """Delivers `messages` (as received from the queue) to the worker, as Lambda would."""
    return api.client.lambda_.invoke("apply_writes", lambda_sqs_event(messages, api.stack.queue_arn, REGION)).payload


def operation(api: Api, operation_id: str) -> Dict[str, Any]:
    result: Dict[str, Any] = api.request("GET", f"/operations/{operation_id}", scope="write").json_body
    return result


def submit(api: Api, method: str, path: str, body: Any = None, **kwargs: Any) -> Dict[str, Any]:
    """A write that must be accepted (not applied yet); answers its 202 body."""
    response = api.request(method, path, body, scope="write", **kwargs)
    assert response.status_code == 202, response.json_body
    accepted: Dict[str, Any] = response.json_body
    return accepted


@pytest.fixture
def table_faults(api: Api) -> Iterator[Faults]:
    """Faults for the table client the functions themselves call (the repository's)."""
    with Faults(get_services().table.meta.client) as faults:
        yield faults


@pytest.fixture
def quiet_service_logs(api: Api) -> Iterator[None]:
    """The service logs errors only: pytest keeps what a test prints, and hundreds of
    generated examples' JSON lines would take gigabytes."""
    logger = get_services().logger
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


RequestFactory = Callable[..., Any]
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
