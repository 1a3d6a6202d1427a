"""The local server answers a request whose body framing is broken (a Content-Length that
is not a length, two that disagree, a body that stalls or ends early, a bad chunk) with
the contract's error body, instead of dropping the connection or reading the leftovers as
a second request. Driven over a real socket against the server `python -m devstack.api`
runs, here in a thread of the test process."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Iterator, List, Tuple

import pytest
from chalice.cli.factory import CLIFactory

from chalicelib.access import issue_token
from chalicelib.services import get_services
from devstack.gateway import ContractRequestHandler, local_server
from infra.resources import PROJECT_DIR, Provisioned
from tests.stack import RAW_TIMEOUT, chunked, exchange, raw_request

SITE_BODY = json.dumps({"name": "Shop", "allowedOrigins": ["https://shop.example"], "cacheMaxAge": 120}).encode()


@pytest.fixture
def port(stack: Provisioned) -> Iterator[int]:
    from app import app

    config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name="local")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = local_server(app, config, sock)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.shutdown()
        thread.join(10)
        sock.close()


@pytest.mark.parametrize("value", ["abc", "", "-1", "+5", "1_0", "5, 6", "0x5", "5.0"])
def test_a_content_length_that_is_not_a_length_is_a_contract_400(port: int, value: str) -> None:
    head = raw_request("POST", "/metadata", [("Content-Type", "application/json"), ("Content-Length", value)])
    body = exchange(port, head + b"hello").contract_error(400, "BadRequest")
    assert "Content-Length" in body["message"]


def test_two_content_lengths_that_disagree_are_a_contract_400(port: int) -> None:
    head = raw_request("POST", "/metadata", [("Content-Length", "5"), ("Content-Length", "6")])
    exchange(port, head + b"hello!").contract_error(400, "BadRequest")
    # The same length twice is one length (RFC 9112, 6.3): the request goes on.
    head = raw_request("POST", "/metadata", [("Content-Length", "5"), ("Content-Length", "5"), ("Connection", "close")])
    exchange(port, head + b"hello").contract_error(401, "Unauthorized")


@pytest.mark.parametrize("value", ["9" * 20, str(10 * 1024 * 1024 + 1)])
def test_a_content_length_beyond_what_api_gateway_takes_is_a_413_at_once(port: int, value: str) -> None:
    # Nothing of the body is sent: the answer must not wait for it.
    head = raw_request("POST", "/metadata", [("Content-Type", "application/json"), ("Content-Length", value)])
    exchange(port, head + b"{}").contract_error(413, "PayloadTooLarge")


def test_a_client_still_sending_when_refused_can_read_the_answer(port: int) -> None:
    # Refused on its headers, the request's body keeps coming: the server reads and drops
    # it for a moment instead of closing at once, which would reset the connection and
    # break the client's send before it reads the 413.
    head = raw_request("POST", "/metadata", [("Content-Length", str(11 * 1024 * 1024))])
    answer = exchange(port, head, b"x" * 200_000, b"y" * 1000, pause=0.2)
    answer.contract_error(413, "PayloadTooLarge")


def test_a_413_comes_before_100_continue(port: int) -> None:
    headers = [("Content-Length", str(50 * 1024 * 1024)), ("Expect", "100-continue")]
    answer = exchange(port, raw_request("POST", "/metadata", headers))
    answer.contract_error(413, "PayloadTooLarge")


def test_a_body_that_stalls_before_its_length_is_a_contract_400(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ContractRequestHandler, "body_timeout", 0.5)
    head = raw_request("POST", "/metadata", [("Content-Type", "application/json"), ("Content-Length", "100")])
    started = time.monotonic()
    body = exchange(port, head + b'{"a": 1').contract_error(400, "BadRequest")
    assert time.monotonic() - started < RAW_TIMEOUT
    assert "100" in body["message"]


def test_a_body_that_ends_before_its_length_is_a_contract_400(port: int) -> None:
    head = raw_request("POST", "/metadata", [("Content-Type", "application/json"), ("Content-Length", "100")])
    exchange(port, head + b'{"a": 1', shut_write=True).contract_error(400, "BadRequest")


def test_a_chunked_body_reaches_the_app(port: int, stack: Provisioned) -> None:
    token, _ = issue_token(get_services().store.tokens, "framing test", "admin")
    headers = [
        ("Authorization", f"Bearer {token}"),
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "close"),
    ]
    body = chunked(SITE_BODY[:10], SITE_BODY[10:])
    answer = exchange(port, raw_request("PUT", "/sites/shop", headers), body[:7], body[7:], pause=0.05)
    assert answer.status == 202, answer
    assert answer.json()["operationId"]
    assert answer.rest == b""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"zz\r\nhello\r\n0\r\n\r\n", id="size-not-hex"),
        pytest.param(b"-5\r\nhello\r\n0\r\n\r\n", id="size-negative"),
        pytest.param(b"\r\nhello\r\n0\r\n\r\n", id="size-missing"),
        pytest.param(b"5\r\nhelloXX0\r\n\r\n", id="no-crlf-after-data"),
        pytest.param(b"5;" + b"x" * 70000 + b"\r\nhello\r\n0\r\n\r\n", id="extension-too-long"),
        pytest.param(b"5\r\nhello\r\n0\r\n" + b"X-T: 1\r\n" * 200 + b"\r\n", id="too-many-trailers"),
    ],
)
def test_a_bad_chunk_is_a_contract_400(port: int, body: bytes) -> None:
    headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    exchange(port, raw_request("POST", "/metadata", headers) + body).contract_error(400, "BadRequest")


def test_chunks_that_end_early_are_a_contract_400(port: int) -> None:
    headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    answer = exchange(port, raw_request("POST", "/metadata", headers) + b"a\r\nhello", shut_write=True)
    answer.contract_error(400, "BadRequest")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"%x\r\n" % (11 * 1024 * 1024), id="one-chunk"),
        pytest.param(b"1" * 40 + b"\r\nhello\r\n0\r\n\r\n", id="forty-hex-digits"),
        pytest.param(b"%x\r\n%s\r\n%x\r\n" % (1024 * 1024, b"x" * 1024 * 1024, 10 * 1024 * 1024), id="added-up"),
    ],
)
def test_chunks_beyond_what_api_gateway_takes_are_a_413(port: int, body: bytes) -> None:
    headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    answer = exchange(port, raw_request("POST", "/metadata", headers) + body)
    answer.contract_error(413, "PayloadTooLarge")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("Transfer-Encoding", "gzip")], id="unknown-coding"),
        pytest.param([("Transfer-Encoding", "gzip, chunked")], id="coding-before-chunked"),
        pytest.param([("Transfer-Encoding", "chunked, gzip")], id="chunked-not-last"),
        pytest.param([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], id="chunked-twice"),
        pytest.param([("Transfer-Encoding", "chunked"), ("Content-Length", "16")], id="with-content-length"),
    ],
)
def test_transfer_codings_other_than_chunked_alone_are_a_contract_400(
    port: int, headers: List[Tuple[str, str]]
) -> None:
    answer = exchange(port, raw_request("POST", "/metadata", headers) + chunked(b"hello"))
    body = answer.contract_error(400, "BadRequest")
    assert "Transfer-Encoding" in body["message"]


@pytest.mark.parametrize(
    ("request_line", "headers"),
    [("GET /health HTTP/1.1", [("Connection", "close")]), ("GET /health HTTP/1.0", [])],
)
def test_an_answer_after_which_the_connection_closes_says_so(
    port: int, request_line: str, headers: List[Tuple[str, str]]
) -> None:
    # Without it, a client that keeps connections may send its next request on this one.
    method, path, version = request_line.split()
    head = raw_request(method, path, headers).replace(b"HTTP/1.1", version.encode(), 1)
    answer = exchange(port, head)
    assert answer.status == 200
    assert answer.headers["connection"] == "close"


def test_a_kept_connection_is_not_said_to_close(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=RAW_TIMEOUT) as conn:
        for _ in range(2):
            conn.sendall(raw_request("GET", "/health", []))
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(1)
            assert b"connection:" not in head.lower()
            length = int(
                next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
            )
            body = b""
            while len(body) < length:
                body += conn.recv(length - len(body))
            assert json.loads(body)["status"] == "ok"
