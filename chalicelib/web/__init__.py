"""The HTTP edge: the view wrapper (`endpoint`), request bodies, answers, the one table
of error statuses (`status`), the middleware, and the OpenAPI document."""

from chalicelib.web.endpoint import Call, Param, endpoint
from chalicelib.web.middleware import http_middleware
from chalicelib.web.responses import empty_response, error_response, json_response

__all__ = [
    "Call",
    "Param",
    "empty_response",
    "endpoint",
    "error_response",
    "http_middleware",
    "json_response",
]
