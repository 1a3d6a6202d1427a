"""Chalice's local API Gateway, with its own errors answered in the contract's error body.

API Gateway answers some requests before the function runs: 401 when a protected route
gets no Authorization header, and 403 "Missing Authentication Token" for a route that
does not exist. Chalice's local gateway imitates those bodies (`{"message": ...}`); here
they become `{"error", "message", "requestId"}` with the status the contract names
(an unknown route is a 404), so a client of the local stack sees one error shape.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
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
    LocalGatewayException,
    NotAuthorizedError,
    ThreadedHTTPServer,
)

log = logging.getLogger("devstack.gateway")

# Chalice's local gateway marks "no such route" with this error type, as API Gateway does.
_NO_ROUTE_ERROR_TYPE = "UnauthorizedException"


def contract_error(status: int, code: str, message: str, request_id: str) -> Dict[str, Any]:
    """A Lambda-proxy style response carrying the contract's error body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "X-Request-Id": request_id},
        "multiValueHeaders": {},
        "body": json.dumps({"error": code, "message": message, "requestId": request_id}),
    }


def gateway_error(error: LocalGatewayException, method: str, path: str) -> Dict[str, Any]:
    request_id = str(error.headers.get("x-amzn-RequestId", ""))
    if isinstance(error, NotAuthorizedError):
        return contract_error(
            401, "Unauthorized", "a valid bearer token is required: send 'Authorization: Bearer <token>'", request_id
        )
    if isinstance(error, ForbiddenError) and error.headers.get("x-amzn-ErrorType") == _NO_ROUTE_ERROR_TYPE:
        route = path.split("?")[0]
        return contract_error(404, "NotFound", f"no route {method} {route}", request_id)
    if isinstance(error, ForbiddenError):
        return contract_error(403, "Forbidden", "this token may not call this route", request_id)
    if not isinstance(error, InvalidAuthorizerError):
        log.error("unexpected gateway error %s", type(error).__name__)
    return contract_error(500, "InternalError", "something went wrong on our side", request_id)


class ContractGateway(LocalGateway):
    def handle_request(self, method: str, path: str, headers: Dict[str, Any], body: Optional[bytes]) -> Dict[str, Any]:
        try:
            response: Dict[str, Any] = super().handle_request(method, path, headers, body)
        except LocalGatewayException as error:
            return gateway_error(error, method, path)
        return response


class ContractRequestHandler(ChaliceRequestHandler):
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
