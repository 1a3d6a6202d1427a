"""Chalice's local API Gateway, with its own errors answered in the contract's error body.

API Gateway answers some requests before the function runs: 401 when a protected route
gets no Authorization header, 403 "Missing Authentication Token" for a route that does
not exist, 403 when the authorizer denies the token, and 500 when the authorizer fails.
Chalice's local gateway imitates those bodies (`{"message": ...}`, or lets the
authorizer's exception escape); here they become `{"error", "message", "requestId"}`
with the status the contract names (an unknown route is a 404, a denied token a 401, an
authorizer that could not check the token a 503), so a client of the local stack sees
one error shape. The answers come from `infra.gateway_responses`, the table the deployed
API's gateway responses are made from. Like Chalice's, this gateway caches no
authorizer answer; API Gateway keeps each policy the authorizer returns for its TTL.

The server reads a request's body by its framing (`devstack.framing`): a Content-Length
that is not a length, a body that stalls or ends early, or a bad chunk is answered with
the contract's 400 (413 past API Gateway's 10 MB) and the connection closed, where
Chalice's own server would drop it without an answer or hang.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, Optional, Tuple

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    InvalidAuthorizerError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
    NotAuthorizedError,
    ThreadedHTTPServer,
)

from devstack.framing import FramingError, bad_framing, read_body, request_framing
from infra.gateway_responses import GatewayError
from infra.gateway_responses import gateway_error as gateway_response

log = logging.getLogger("devstack.gateway")

# Chalice's local gateway marks "no such route" with this error type, as API Gateway does.
_NO_ROUTE_ERROR_TYPE = "UnauthorizedException"


def contract_error(error: GatewayError, request_id: str, status: Optional[int] = None) -> Dict[str, Any]:
    """A Lambda-proxy style response carrying the contract's error body."""
    return {
        "statusCode": status or error.status or 500,
        "headers": {"Content-Type": "application/json", "X-Request-Id": request_id},
        "multiValueHeaders": {},
        "body": json.dumps(error.body(request_id)),
    }


class AuthorizerFailedError(LocalGatewayException):
    """The authorizer raised: API Gateway answers 500 (AuthorizerConfigurationException)
    and caches nothing. Chalice's local gateway would let the exception through."""

    CODE = 500


def gateway_error(error: LocalGatewayException, method: str, path: str) -> Dict[str, Any]:
    """The answer the deployed API's gateway responses give (infra.gateway_responses)."""
    request_id = str(error.headers.get("x-amzn-RequestId", ""))
    if isinstance(error, NotAuthorizedError):
        return contract_error(gateway_response("UNAUTHORIZED"), request_id)
    if isinstance(error, ForbiddenError) and error.headers.get("x-amzn-ErrorType") == _NO_ROUTE_ERROR_TYPE:
        return contract_error(gateway_response("MISSING_AUTHENTICATION_TOKEN"), request_id)
    if isinstance(error, ForbiddenError):
        # The authorizer denied the token (unknown, revoked or malformed).
        return contract_error(gateway_response("ACCESS_DENIED"), request_id)
    if isinstance(error, (AuthorizerFailedError, InvalidAuthorizerError)):
        # The authorizer raised, or answered no policy: the token could not be checked now.
        return contract_error(gateway_response("AUTHORIZER_CONFIGURATION_ERROR"), request_id)
    log.error("unexpected gateway error %s at %s %s", type(error).__name__, method, path)
    return contract_error(gateway_response("DEFAULT_5XX"), request_id, status=500)


class ContractAuthorizer(LocalGatewayAuthorizer):
    """Runs a route's authorizer as API Gateway does: when it raises, the request is
    answered by the gateway (AuthorizerFailedError), not by an exception escaping the server."""

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except LocalGatewayException:
            raise
        except Exception as error:
            # As Lambda would log the authorizer's failure.
            log.warning("the authorizer raised %s: %s", type(error).__name__, error, exc_info=True)
            headers = {
                "x-amzn-RequestId": lambda_context.aws_request_id,
                "x-amzn-ErrorType": "AuthorizerConfigurationException",
            }
            raise AuthorizerFailedError(headers, b'{"message": null}') from error


class ContractGateway(LocalGateway):
    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self._authorizer = ContractAuthorizer(app_object)

    def handle_request(self, method: str, path: str, headers: Dict[str, Any], body: Optional[bytes]) -> Dict[str, Any]:
        try:
            response: Dict[str, Any] = super().handle_request(method, path, headers, body)
        except LocalGatewayException as error:
            return gateway_error(error, method, path)
        return response


class ContractRequestHandler(ChaliceRequestHandler):
    # Chalice writes an answer's headers and body separately; with Nagle's algorithm on,
    # a keep-alive client waits ~40 ms for each body.
    disable_nagle_algorithm = True
    # Seconds a body may stall before the request is refused (Chalice would wait forever).
    body_timeout = 10.0
    # After refusing a request part of which is unread: how long, and how much, of what the
    # client still sends is read and dropped before the connection is closed.
    linger_seconds = 2.0
    linger_bytes = 1024 * 1024

    def __init__(
        self,
        request: Any,
        client_address: Tuple[str, int],
        server: Any,
        app_object: Chalice,
        config: Config,
    ) -> None:
        # BaseHTTPRequestHandler serves the request inside __init__, so the gateway must
        # be in place before it runs; Chalice's __init__ would install its own.
        self.local_gateway = ContractGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _parse_payload(self) -> Tuple[Dict[str, Any], Optional[bytes]]:
        """The request's headers and body, its framing checked (devstack.framing) instead
        of Chalice's bare `int(Content-Length)`."""
        framing = request_framing(self.headers, self.request_version)
        self.connection.settimeout(self.body_timeout)
        try:
            body = read_body(self.rfile, framing)
        except TimeoutError:
            raise bad_framing(
                f"the body stalled: nothing arrived for {self.body_timeout:g}s before {framing.describe()}"
            ) from None
        self.connection.settimeout(self.timeout)
        return dict(self.headers), body

    def _generic_handle(self) -> None:
        try:
            super()._generic_handle()
        except FramingError as error:
            self.refuse(error.status, error.code, error.message)

    # Chalice binds its own _generic_handle to these names.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def end_headers(self) -> None:
        """An answer after which the server closes the connection says so (RFC 9112, 9.6):
        a request that asked to close it, or HTTP/1.0. Without it, a client that keeps
        connections (requests, urllib3) may send its next request on this one while the
        server is closing it, and get no answer."""
        sent = b"".join(getattr(self, "_headers_buffer", []))
        if self.close_connection and b"\r\nconnection:" not in sent.lower():
            self.send_header("Connection", "close")
        super().end_headers()

    def handle_expect_100(self) -> bool:
        """A request that will be refused is refused before the client is told to send its body."""
        try:
            request_framing(self.headers, self.request_version)
        except FramingError as error:
            self.refuse(error.status, error.code, error.message)
            return False
        return bool(super().handle_expect_100())

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """Errors the HTTP server answers before any route is looked up (a method it has no
        handler for, a malformed request line) get the contract's body too."""
        if code == HTTPStatus.NOT_IMPLEMENTED:
            # API Gateway does not know the method either: an unsupported method.
            code, error, text = HTTPStatus.METHOD_NOT_ALLOWED, "MethodNotAllowed", f"unsupported method {self.command}"
        else:
            error, text = "BadRequest", message or HTTPStatus(code).phrase
        self.refuse(code, error, text)

    def refuse(self, code: int, error: str, text: str) -> None:
        """Answers `code` with the contract's error body and closes the connection, which
        may still hold an unread part of the request."""
        request_id = str(uuid.uuid4())
        body = json.dumps({"error": error, "message": text, "requestId": request_id}).encode("utf-8")
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Request-Id", request_id)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= HTTPStatus.OK:
                self.wfile.write(body)
        except OSError:  # the client is gone
            self.close_connection = True
            return
        self._linger()

    def _linger(self) -> None:
        """Closing a socket with unread data in it resets the connection, and a reset can
        discard the answer before the client reads it. So: end the answer (FIN), then read
        and drop what the client still sends, for a bounded time, before closing."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + self.linger_seconds
            dropped = 0
            while dropped < self.linger_bytes and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                data = self.connection.recv(65536)
                if not data:
                    break
                dropped += len(data)
        except OSError:  # a timeout, or the client is gone
            pass


class InheritedSocketServer(ThreadedHTTPServer):
    """Serves on a socket that is already bound and listening. The supervisor keeps the
    socket across reloads, so a request sent while the code restarts waits in the
    backlog instead of being refused."""

    def __init__(self, sock: socket.socket, handler: Callable[..., Any]) -> None:
        host, port = sock.getsockname()[:2]
        # BaseServer, not TCPServer: TCPServer would open a socket of its own.
        socketserver.BaseServer.__init__(self, (host, port), handler)
        self.socket = sock
        self.server_name, self.server_port = host, port


def local_server(app: Chalice, config: Config, sock: socket.socket) -> LocalDevServer:
    """Chalice's local dev server for `app`, on `sock`, answering gateway errors per the contract."""
    # What chalice.local.create_local_server does: a per-thread current_request, so
    # concurrent requests do not see each other's.
    if not isinstance(app, LocalChalice):
        local_class = type("LocalApp", (LocalChalice, app.__class__), {})
        app.__class__ = local_class
    host, port = sock.getsockname()[:2]
    return LocalDevServer(
        app,
        config,
        host,
        port,
        handler_cls=ContractRequestHandler,
        server_cls=lambda _address, handler: InheritedSocketServer(sock, handler),
    )
