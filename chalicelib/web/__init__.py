"""The HTTP edge: the view wrapper (`endpoint`), request bodies, answers, the one table
of error statuses (`status`), the middleware, and the OpenAPI document."""

from chalicelib.web.endpoint import (
    CURSOR,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    IF_NONE_MATCH,
    LIMIT,
    ORIGIN,
    Call,
    Param,
    endpoint,
)
from chalicelib.web.middleware import http_middleware
from chalicelib.web.responses import empty_response, error_response, json_response

__all__ = [
    "CURSOR",
    "IDEMPOTENCY_KEY",
    "IF_MATCH",
    "IF_NONE_MATCH",
    "LIMIT",
    "ORIGIN",
    "Call",
    "Param",
    "empty_response",
    "endpoint",
    "error_response",
    "http_middleware",
    "json_response",
]
