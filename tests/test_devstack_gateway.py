"""The local gateway answers its own errors (no token, no such route) in the contract's body."""

from __future__ import annotations

import json
from typing import Dict

import pytest
from chalice.cli.factory import CLIFactory
from chalice.local import ForbiddenError, InvalidAuthorizerError

from chalicelib.access import issue_token
from chalicelib.services import get_services
from devstack.gateway import ContractGateway, gateway_error
from infra.resources import PROJECT_DIR, Provisioned
from tests.helpers import Faults, assert_error


@pytest.fixture
def gateway(stack: Provisioned) -> ContractGateway:
    from app import app

    config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name="local")
    return ContractGateway(app, config)


def test_a_protected_route_without_a_token_is_a_contract_401(gateway: ContractGateway) -> None:
    response = gateway.handle_request("GET", "/sites", {}, None)
    assert "Bearer" in assert_error(response, 401, "Unauthorized")["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer whatever"}])
def test_an_unknown_route_is_a_contract_404(gateway: ContractGateway, headers: Dict[str, str]) -> None:
    response = gateway.handle_request("GET", "/no/such/route?x=1", headers, None)
    assert assert_error(response, 404, "NotFound")["message"] == "no such route"


def test_what_reaches_the_app_is_left_as_the_app_answers(gateway: ContractGateway) -> None:
    token, _ = issue_token(get_services().store.tokens, "gateway test", "read")
    response = gateway.handle_request("GET", "/sites", {"authorization": f"Bearer {token}"}, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"items": [], "nextCursor": None}


def test_an_authorizer_denial_is_a_401_and_a_broken_authorizer_a_503() -> None:
    headers = {"x-amzn-RequestId": "r-1", "x-amzn-ErrorType": "AccessDeniedException"}
    denied = assert_error(gateway_error(ForbiddenError(headers, b"{}"), "GET", "/sites"), 401, "Unauthorized")
    assert "unknown, revoked" in denied["message"]
    broken = gateway_error(InvalidAuthorizerError({"x-amzn-RequestId": "r-2"}, b"{}"), "GET", "/sites")
    assert assert_error(broken, 503, "ServiceUnavailable")["requestId"] == "r-2"


@pytest.mark.parametrize("authorization", ["Bearer mmt_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer"])
def test_a_token_the_authorizer_denies_is_a_contract_401(gateway: ContractGateway, authorization: str) -> None:
    response = gateway.handle_request("GET", "/sites", {"authorization": authorization}, None)
    assert_error(response, 401, "Unauthorized")


def test_when_the_authorizer_cannot_read_the_tokens_it_is_a_contract_503_until_it_can(
    gateway: ContractGateway, caplog: pytest.LogCaptureFixture
) -> None:
    token, _ = issue_token(get_services().store.tokens, "gateway test", "read")
    headers = {"authorization": f"Bearer {token}"}
    with Faults(get_services().table.meta.client) as faults:
        faults.unreachable()
        response = gateway.handle_request("GET", "/sites", headers, None)
    assert "try again" in assert_error(response, 503, "ServiceUnavailable")["message"]
    assert "the authorizer raised DependencyUnavailable" in caplog.text

    assert gateway.handle_request("GET", "/sites", headers, None)["statusCode"] == 200
