"""The `http` middleware: every answer gets a request id and one access-log line, and
Chalice's own errors (405, 415) get the contract's error body."""

from __future__ import annotations

import logging
import time
from typing import Callable

from chalice.app import Chalice, Request, Response

from chalicelib.core import log_context
from chalicelib.web.responses import REQUEST_ID_HEADER, error_body, request_id_of

_CHALICE_ERROR_CODES = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 415: "UnsupportedMediaType"}


def http_middleware(
    app: Chalice, logger: logging.Logger
) -> Callable[[Request, Callable[[Request], Response]], Response]:
    def middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
        request_id = request_id_of(request, app.lambda_context)
        started = time.perf_counter()
        with log_context(requestId=request_id):
            response = _contract_error(get_response(request), request_id)
            response.headers[REQUEST_ID_HEADER] = request_id
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.to_original_event().get("path") or request.path,
                    "route": request.path,
                    "status": response.status_code,
                    "durationMs": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return response

    return middleware


def _contract_error(response: Response, request_id: str) -> Response:
    """Chalice answers some errors itself ({"Code", "Message"}); give them the contract's body."""
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "Message" in body:
        code = _CHALICE_ERROR_CODES.get(response.status_code, "InternalError")
        message = str(body["Message"]) if response.status_code < 500 else "something went wrong on our side"
        response.body = error_body(code, message, request_id)
        response.headers["Content-Type"] = "application/json"
    return response
