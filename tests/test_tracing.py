"""A write's X-Ray trace goes on through the write queue: in Lambda, the API's call to SQS
carries the function's trace header, which SQS keeps with the message (its AWSTraceHeader)
and Lambda links to the worker's invocation (README, "Tracing")."""

from __future__ import annotations

from typing import Any, List, Optional

import pytest

from chalicelib.services import get_services
from tests.conftest import Api

# The header Lambda gives a traced invocation in `_X_AMZN_TRACE_ID`.
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def sent_headers(api: Api) -> List[Optional[str]]:
    """The X-Amzn-Trace-Id of each SendMessage request the API makes."""
    seen: List[Optional[str]] = []

    def remember(request: Any, **_: Any) -> None:
        header = request.headers.get("X-Amzn-Trace-Id")  # botocore keeps prepared headers as bytes
        seen.append(header.decode() if header is not None else None)

    get_services().sqs.meta.events.register("before-send.sqs.SendMessage", remember)
    return seen


def test_in_a_traced_lambda_the_write_reaches_the_queue_with_the_apis_trace(
    api: Api, sent_headers: List[Optional[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "metadata-manager-prod")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    accepted = api.request("PUT", "/sites/shop", {"name": "Shop"}, scope="admin")
    assert accepted.status_code == 202
    assert sent_headers == [TRACE]


def test_outside_lambda_no_trace_is_sent(api: Api, sent_headers: List[Optional[str]]) -> None:
    api.request("PUT", "/sites/shop", {"name": "Shop"}, scope="admin")
    assert sent_headers == [None]
